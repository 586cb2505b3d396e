"""Ray backend (issue 14): throughput of 32 concurrent requests against the local backend, and per replica.

A real local Ray cluster is started here as the tests start one (`tests/core/backends/test_ray_backend.py`: 127.0.0.1,
`num_cpus=2`, workers importing this checkout), and the offline pack's `/generate` (SmolLM2, 8 new
tokens) and `/zeroshot` (all-MiniLM-L6-v2, a batched embedding) are deployed with `core.backends.ray_serve`.

- **Ray vs local**: 32 learners' requests at once through an `Engine` with `TUTOR_BACKEND=ray` (one replica,
  torch threads as the local engine's), against the same 32 through the local backend in this process,
  in turns. Throughput ratio = local time / Ray time; target at least 0.8x.
- **Replicas**: /generate redeployed with 1 and then 2 replicas of one torch thread each, the same crowd;
  from the measured throughput of one replica T1 and the efficiency e = T(2) / (2 T1), the model is
  T(n) = e * n * T1 while n * threads <= the cores the cluster may use, flat beyond.
- **Diagnosis**: the batch sizes the bot sent (`RemoteBatcher`: the bot gathers a crowd into one call;
  before it, requests reached a replica one RPC at a time, `@serve.batch` closed its batch after the first
  few, and the crowd ran at 0.22-0.33x the local backend).

Starting the cluster and deploying takes a few minutes on 2 shared cores: `--scale` only.
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import bench_cache, environment, format_table, interleaved, speedup_row, write_results
from core.engine import Engine
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CROWD = 32
CPUS = 2
ASKS = {
    "generate": [{"prompt": f"Learner {i} asks about attention", "max_new_tokens": 8} for i in range(CROWD)],
    "zeroshot": [{"text": f"Learner {i} loved the lesson on attention heads", "labels": "education, sports, food"}
                 for i in range(CROWD)],
}


def _settings(**extra: Any) -> Settings:
    return Settings(pack="offline", cache_dir=bench_cache(), cooldown_s=0.0, request_timeout_s=600.0,
                    max_queue=256, **extra)


def crowd(engine: Engine, loop: asyncio.AbstractEventLoop, command: str) -> None:
    async def all_at_once() -> None:
        await asyncio.gather(*(engine.run(command, a) for a in ASKS[command]))

    loop.run_until_complete(all_at_once())


def alone(engine: Engine, loop: asyncio.AbstractEventLoop, command: str) -> None:
    loop.run_until_complete(engine.run(command, ASKS[command][0]))


def measure(repeats: int) -> dict[str, Any]:
    import ray
    from ray import serve

    from core.backends import ray_serve

    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # as the replicas run (ray_serve.REPLICA_ENV), for a fair local
    temp = tempfile.mkdtemp(prefix="tutor-ray-")  # short: Ray's socket paths have a length limit
    ray.init(address="local", num_cpus=CPUS, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    loop = asyncio.new_event_loop()
    out: dict[str, Any] = {}
    try:
        ray_serve.deploy(_settings(), ["generate", "zeroshot"], replicas=1, cpus=0)
        local, remote = Engine(_settings()), Engine(_settings(backend="ray"))
        try:
            assert set(remote.backend.remote) >= {"generate", "zeroshot"}, remote.backend.remote
            for command in ASKS:
                crowd(local, loop, command)  # untimed: the local model loads
                t = interleaved({"local": lambda c=command: crowd(local, loop, c),
                                 "ray": lambda c=command: crowd(remote, loop, c),
                                 "local_one": lambda c=command: alone(local, loop, c),
                                 "ray_one": lambda c=command: alone(remote, loop, c)}, repeats)
                for key, seconds in t.items():
                    out[f"{command}_{key}_s"] = seconds
            out["bot_batch_sizes"] = {c: list(remote.backend.batchers[c].batch_sizes) for c in ASKS}
        finally:
            local.close()
            remote.close()
        for replicas in (1, 2):
            serve.delete(ray_serve.app_name("generate"))
            ray_serve.deploy(_settings(torch_threads=1), ["generate"], replicas=replicas, cpus=0)
            remote = Engine(_settings(backend="ray"))
            try:
                crowd(remote, loop, "generate")  # untimed: the routers learn the replicas
                t = interleaved({"ray": lambda e=remote: crowd(e, loop, "generate")}, repeats)
                out[f"generate_{replicas}_replicas_s"] = t["ray"]
            finally:
                remote.close()
    finally:
        loop.close()
        serve.shutdown()
        ray.shutdown()
    t1 = CROWD / out["generate_1_replicas_s"]
    t2 = CROWD / out["generate_2_replicas_s"]
    out.update({"replica_throughput_rps": t1, "two_replicas_rps": t2, "efficiency": t2 / (2 * t1)})
    return out


def run(quick: bool = False) -> dict[str, Any]:
    numbers = measure(repeats=2 if quick else 5)
    return {"numbers": numbers, "rows": rows(numbers)}


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        speedup_row(f"ray vs local: {CROWD} concurrent /generate", n["generate_local_s"], n["generate_ray_s"], 0.8),
        speedup_row(f"ray vs local: {CROWD} concurrent /zeroshot", n["zeroshot_local_s"], n["zeroshot_ray_s"], 0.8),
    ]


def describe(n: dict[str, Any]) -> list[str]:
    t1, e = n["replica_throughput_rps"], n["efficiency"]
    growth = ("a second replica on the same cores raises throughput" if 2 * e > 1 else
              "a second replica on the same cores LOWERS throughput: replicas pay only with cores of their own")
    sizes = n.get("bot_batch_sizes", {})
    return [
        "batches the bot sent to the replicas: " + ", ".join(f"/{c} {sizes[c]}" for c in sizes),
        "lone request, ray vs local: " + ", ".join(
            f"/{c} {n[f'{c}_ray_one_s'] * 1000:.0f} ms vs {n[f'{c}_local_one_s'] * 1000:.0f} ms" for c in ASKS),
        f"replicas (1 torch thread each, /generate x{CROWD}, 8 tokens): one replica {t1:.2f} req/s, "
        f"two {n['two_replicas_rps']:.2f} req/s, so e = T(2) / (2 T1) = {e:.2f}; model: T(n) = {e:.2f} x n x "
        f"{t1:.2f} req/s while n x threads <= cores ({CPUS} here), flat beyond; {growth}",
    ]


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    print(format_table(results["rows"]))
    print("\n".join(describe(results["numbers"])))
    print(f"wrote {write_results('ray', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if all(r["ok"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
