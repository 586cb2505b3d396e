"""The console adapter: `tutor ask`, `tutor chat` and `tutor tour`.

Images are written to an output folder and their paths printed, one per line.
"""
from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import TextIO

from core.engine import Engine
from core.results import Result
from core.service import Outcome, answer

TOUR = (
    "/tokenize I'm learning transformers!",
    "/attention The cat sat on the mat because it was tired. layer=1 head=all",
    "/zeroshot I love pizza with extra cheese | food, sports, politics",
    "/generate The best way to learn a new language is max_new_tokens=25",
)

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def render(result: Result, out_dir: Path, *, color: bool = False) -> str:
    """The result as terminal text; images saved under `out_dir`, their paths on the last lines."""
    text = result.as_text()
    text = _BOLD.sub(lambda m: f"\033[1m{m.group(1)}\033[0m" if color else m.group(1), text)
    paths = save_images(result, out_dir)
    return text + ("\n\nImages:\n" + "\n".join(str(p) for p in paths) if paths else "")


def save_images(result: Result, out_dir: Path) -> list[Path]:
    if not result.images:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in result.images:
        path = _free_name(out_dir / image.filename)
        path.write_bytes(image.png)
        paths.append(path.resolve())
    return paths


def _free_name(path: Path) -> Path:
    """Never overwrite an earlier answer's picture: add -2, -3... to the name."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


async def ask(engine: Engine, line: str, out_dir: Path, stream: TextIO = sys.stdout) -> Outcome:
    outcome = await answer(engine, platform="console", user_id="console", line=line)
    if outcome.result is not None:
        print(render(outcome.result, out_dir, color=stream.isatty()), file=stream)
    else:
        print(f"Error: {outcome.error}", file=sys.stderr if stream is sys.stdout else stream)
    return outcome


async def tour(engine: Engine, out_dir: Path, stream: TextIO = sys.stdout) -> bool:
    """A short guided tour: a few commands, each answered in full."""
    ok = True
    for line in TOUR:
        print(f"\n{'=' * 72}\n>>> {line}\n{'=' * 72}", file=stream)
        ok = (await ask(engine, line, out_dir, stream)).ok and ok
    print("\nNext: `tutor chat` to ask your own questions, or `tutor ask \"/help\"`.", file=stream)
    return ok


def chat(engine: Engine, out_dir: Path) -> None:
    """A prompt loop with line editing and history (up arrow), until `/quit` or Ctrl-D."""
    history = Path(engine.settings.cache_dir) / "chat-history"
    _read_history(history)
    print("Transformers Tutor. Type /help for the commands, /quit to leave.")
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                line = input("tutor> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if line in ("/quit", "/exit", "quit", "exit"):
                break
            if line:
                loop.run_until_complete(ask(engine, line, out_dir))
    finally:
        loop.close()
        _write_history(history)


def _read_history(path: Path) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    if path.exists():
        readline.read_history_file(path)


def _write_history(path: Path) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    readline.set_history_length(1000)
    readline.write_history_file(path)
