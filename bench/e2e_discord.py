"""End to end (issue 14): a burst of 30 learners' mixed commands through Discord, against the engine alone.

The real `DiscordAdapter` (discord.py) serves against the local fake Discord of the tests
(`tests/support/fake_discord.py`, driven as `tests/conformance/discord.py` drives it): each of 30 learners sends
one slash command at once in a server channel (`/tokenize`, `/compare`, `/zeroshot`, `/attention` with
its picture, `/generate` of 5 tokens; offline pack). A learner's latency runs from the interaction's
injection to the last request the bot made for it (the answer filling the deferred message).
The baseline is the same 30 lines through `Engine.run_text` at once, each timed from its call to its
result. Bursts alternate (engine, Discord, engine...) after one untimed burst of each; the p95 is over
every learner of every burst. Target: Discord p95 at most 1.2x the engine's.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bench_cache, cost_row, environment, format_table, percentile, write_results
from core.engine import Engine
from core.policy import Policy
from core.settings import Settings
from core.store import Database, RunStore

LEARNERS = 30


def burst_lines() -> list[str]:
    kinds = [
        "/tokenize Learner {i} wonders how unbelievably long words split",
        "/compare Learner {i} compares tokenizers",
        "/zeroshot Learner {i} loved the lesson on attention | education, sports, food",
        "/attention The cat of learner {i} sat on the mat",
        "/generate Learner {i} asks about attention max_new_tokens=5",
    ]
    return [kinds[i % len(kinds)].format(i=i) for i in range(LEARNERS)]


async def engine_burst(engine: Engine, lines: list[str]) -> list[float]:
    async def one(line: str) -> float:
        start = time.perf_counter()
        await engine.run_text(line)
        return time.perf_counter() - start

    return list(await asyncio.gather(*(one(line) for line in lines)))


async def discord_burst(driver: Any, lines: list[str], round_: int) -> list[float]:
    from tests.conformance.discord import slash_command

    fake = driver.fake
    sent = []
    for i, line in enumerate(lines):
        name, options = slash_command(driver.registry, line)
        sent.append(await fake.send_command(name, options, guild=True,
                                            user_id=driver.user_id(f"learner-{round_}-{i}")))
    await asyncio.gather(*(fake.answered(interaction, timeout=300) for interaction in sent))
    latencies = []
    for interaction in sent:
        answers = [s.at for s in (*interaction.callbacks, *interaction.followups, *interaction.edits)]
        latencies.append(max(answers) - interaction.sent_at)
    return latencies


async def _measure(work: Path, rounds: int) -> dict[str, Any]:
    from tests.conformance.discord import discord_driver

    engine = Engine(Settings(pack="offline", cache_dir=bench_cache(), cooldown_s=0.0, max_queue=256))
    policy = Policy(engine, runs=RunStore(Database(f"sqlite:///{work / 'runs.db'}")), cooldown_s=0.0)
    lines = burst_lines()
    engine_s: list[float] = []
    discord_s: list[float] = []
    try:
        async with discord_driver(policy) as driver:
            await engine_burst(engine, lines)  # untimed: models load, caches fill
            await discord_burst(driver, lines, -1)
            for round_ in range(rounds):
                engine_s += await engine_burst(engine, lines)
                discord_s += await discord_burst(driver, lines, round_)
    finally:
        engine.close()
    return {"engine_p95_s": percentile(engine_s, 0.95), "discord_p95_s": percentile(discord_s, 0.95),
            "engine_median_s": percentile(engine_s, 0.5), "discord_median_s": percentile(discord_s, 0.5),
            "bursts": rounds, "learners": LEARNERS}


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        numbers = asyncio.run(_measure(Path(tmp), rounds=2 if quick else 6))
    return {"numbers": numbers, "rows": rows(numbers)}


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [cost_row(f"{n['learners']} learners via Discord p95 vs engine p95", n["engine_p95_s"],
                     n["discord_p95_s"], 1.2)]


def describe(n: dict[str, Any]) -> str:
    return (f"end to end over {n['bursts']} bursts of {n['learners']}: median {n['discord_median_s'] * 1000:.0f} ms "
            f"via Discord vs {n['engine_median_s'] * 1000:.0f} ms engine only")


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    print(format_table(results["rows"]))
    print(describe(results["numbers"]))
    print(f"wrote {write_results('e2e_discord', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if all(r["ok"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
