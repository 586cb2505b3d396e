"""The GPU check of issue 14: the tiny pack's model commands answered on the GPU and on the CPU, compared
as the learner sees them.

Every example of every model command in the registry (personal ones aside: a quiz draws its question at
random), plus a few lines that batch, truncate or fail, is answered by two engines in this process,
`TUTOR_DEVICE=cuda` and `TUTOR_DEVICE=cpu`, concurrently per command (so the batched path runs too). The
answers are compared as the console shows them (every section's text, each picture's alt text) and,
for a refused line, by the message. One line per input; exit 1 on any difference or failure.

Run on a machine with a GPU through `scripts/gpu-check.sh` (docs/scale.md, "GPU check"). `--device cpu`
compares the CPU with itself: a dry run of this script where there is no GPU.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.console import render_text  # noqa: E402 - after the path above
from core.commands import build_registry  # noqa: E402
from core.engine import Engine  # noqa: E402
from core.errors import UserError  # noqa: E402
from core.settings import Settings  # noqa: E402

MORE = ["/generate Once upon a time max_new_tokens=12", "/generate " + "long " * 400,
        "/fillmask there is no mask here", "/attention The cat sat on the mat. head=mean",
        "/sentiment " + "é" * 900, "/zeroshot I love pizza | food, sports multi_label=true"]


def lines() -> list[str]:
    registry = build_registry()
    return [example for c in registry if c.needs_model and not c.personal for example in c.examples] + MORE


async def shown(engine: Engine, line: str) -> str:
    """The answer as the learner sees it in the console, or the refusal's message."""
    try:
        result = await engine.run_text(line)
    except UserError as exc:
        return f"refused: {exc.message}"
    alts = [f"picture: {image.alt}" for image in result.images]
    return "\n".join([render_text(result), *alts])


async def compare(device: str, cache: str) -> int:
    asked = lines()
    engines = {side: Engine(Settings(pack="tiny", cache_dir=cache, device=name, cooldown_s=0.0))
               for side, name in (("checked", device), ("cpu", "cpu"))}
    failures = 0
    try:
        started = time.perf_counter()
        answers = {name: await asyncio.gather(*(shown(e, line) for line in asked)) for name, e in engines.items()}
        print(f"{len(asked)} lines on {device} and on cpu in {time.perf_counter() - started:.1f} s")
        loaded = {m.command: m.device for m in engines["checked"].models.loaded()}
        print(f"models on {device}: {sorted(set(loaded.values()))} for {sorted(loaded)}")
        for line, got, want in zip(asked, answers["checked"], answers["cpu"], strict=True):
            if got == want:
                print(f"same       {line[:70]}")
                continue
            failures += 1
            first = next((a, b) for a, b in zip_longest(got.splitlines(), want.splitlines(), fillvalue="")
                         if a != b)
            print(f"DIFFERENT  {line[:70]}\n  {device}: {first[0][:160]}\n  cpu:  {first[1][:160]}")
    finally:
        for engine in engines.values():
            engine.close()
    print(f"{len(asked) - failures} of {len(asked)} answers the same on {device} as on cpu")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--cache", default=os.environ.get("TUTOR_CACHE_DIR", str(ROOT / ".tutor-cache" / "gpu")))
    args = parser.parse_args()
    return asyncio.run(compare(args.device, args.cache))


if __name__ == "__main__":
    sys.exit(main())
