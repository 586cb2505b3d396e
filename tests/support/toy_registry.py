"""A small registry of model-free commands, for tests of the policy and every adapter.

`needs_model=True` on `think` makes it spend the cooldown like a model command, without a model.
"""
from __future__ import annotations

import io
import time
from typing import Any

from PIL import Image as PILImage

from core.actions import THIS_RUN, Action
from core.errors import UserError
from core.registry import Command, Option, Registry
from core.results import Image, Result, Table

SLOW_S = 3.0


def png(width: int = 32, height: int = 16) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _echo(_ctx: Any, args: dict[str, Any]) -> Result:
    if args["text"] == "please fail":
        raise UserError("That text is not allowed here: pick another one.")
    return Result("echo", f"You said: {args['text']} (x{args['times']})", "We echoed your text.",
                  "print('echo')", "toy/echo")


def _think(_ctx: Any, args: dict[str, Any]) -> Result:
    step = args["step"]
    return Result("think", f"Thought about {args['text']} at step {step}.", "We thought.", "print('think')",
                  "toy/think", images=(Image(png(), f"think-{step}.png", f"Step {step} of thinking"),),
                  actions=(Action.to("Next step", "think", run=THIS_RUN, step=step + 1),
                           Action.to("Back to 0", "think", run=THIS_RUN, step=0)))


def _slow(_ctx: Any, _args: dict[str, Any]) -> Result:
    time.sleep(SLOW_S)  # stands in for a long model call in the worker thread
    return Result("slow", "Done after a long think.", "We waited.", "import time", "toy/slow")


def _boom(_ctx: Any, _args: dict[str, Any]) -> Result:
    raise RuntimeError("internal detail that must not reach the chat")


def _picture(_ctx: Any, _args: dict[str, Any]) -> Result:
    return Result("picture", "Here is a picture.", "We drew it.", "import PIL", "toy/picture",
                  images=(Image(png(), "picture.png", "A blue rectangle"),))


def _long(_ctx: Any, args: dict[str, Any]) -> Result:
    words = " ".join(f"word{i}" for i in range(args["words"]))
    rows = tuple((str(i), f"row {i} " + "x" * 40) for i in range(args["words"] // 10))
    return Result("long", words, "A long explanation. " * (args["words"] // 4), "print('long')\n" * 50, "toy/long",
                  table=Table(("n", "text"), rows))


TOY_REGISTRY = Registry([
    Command("echo", "Repeat a text back.",
            (Option("text", "The text to repeat", "text", required=True, positional="main", max_length=200),
             Option("times", "How loud (1-5)", "int", min_value=1, max_value=5, default=1),
             Option("shout", "Upper case?", "bool", default=False),
             Option("head", "A head number, `all` or `mean`", "head", min_value=0, max_value=3, default="all")),
            ("/echo hello",), _echo, needs_model=False),
    Command("think", "Think about a text, one step at a time (spends the cooldown).",
            (Option("text", "What to think about", "text", required=True, positional="main", max_length=200),
             Option("step", "Which step (0-9)", "int", min_value=0, max_value=9, default=0)),
            ("/think cats",), _think),
    Command("slow", "Think for a while in a worker thread.", (), ("/slow",), _slow, needs_model=False),
    Command("boom", "Fail on purpose.", (), ("/boom",), _boom),
    Command("picture", "Draw a picture.", (), ("/picture",), _picture, needs_model=False),
    Command("long", "A very long answer, to test splitting.",
            (Option("words", "How many words (10-2000)", "int", min_value=10, max_value=2000, default=1500),),
            ("/long",), _long, needs_model=False),
])
