"""The console adapter: `tutor ask`, `tutor chat` and `tutor tour`, on the one request policy.

A terminal has one learner and no buttons, so an answer's actions are numbered under it and typing
the number chooses one (an `Ask` first prompts for its text); a choice labelled with a letter (a quiz
answer, `A: ...`) may also be chosen by that letter, `A` or `a`. Pictures are written to an output
folder and their paths printed, one per line. Errors go to stderr, prefixed `Error:`. On a terminal,
answers are drawn by bot/console/render.py (wrapped to its width, each token on its own background,
NO_COLOR respected); down a pipe they are the plain text of `render_text`, and rich is never imported.
"""
from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.console.history import History
from bot.console.render import TOUR_RULE, rule, show_result, show_text, terminal
from bot.console.signals import Stopped, StopSignals
from bot.filenames import free_name
from core.actions import Action, Ask, Menu
from core.markup import code as code_span
from core.markup import sections, spans
from core.policy import Outcome, Policy, Request, Verdict
from core.results import Result

TOUR = (
    "/tokenize I'm learning transformers!",
    "/attention The cat sat on the mat because it was tired. layer=1 head=all",
    "/zeroshot I love pizza with extra cheese | food, sports, politics",
    "/generate The best way to learn a new language is max_new_tokens=25",
)
QUIT = ("/quit", "/exit", "quit", "exit")
USER = "local"
"""The console's one learner (their progress is theirs alone, on their own machine)."""

Numbered = Action | Ask


def to_terminal(markup: str) -> str:
    """The core's markup as plain text: bold marks dropped, code spans kept as code spans."""
    return "".join(code_span(span.text) if span.code else span.text for span in spans(markup))


def render_text(result: Result) -> str:
    """The answer's sections in the shared order, with their shared labels, as plain text: what a pipe
    gets (a terminal gets the same sections drawn by bot/console/render.py)."""
    parts = []
    for label, body in sections(result):
        if label == "table":
            parts.append(body)
        elif label in ("Note", "Model"):
            parts.append(f"{label}: {to_terminal(body)}")
        elif label:
            parts.append(f"{label}\n{body if label == 'Try it yourself' else to_terminal(body)}")
        else:
            parts.append(to_terminal(body))
    return "\n\n".join(parts)


YES, NO = ("y", "yes"), ("n", "no")
LETTER = re.compile(r"[A-Z]: ")


def confirmation(choices: list[Numbered]) -> tuple[Action, Action] | None:
    """(do it, keep everything) when the choices ask to confirm something that cannot be undone: a
    danger action and one other, as /forget asks. The terminal asks that the usual way: y/N."""
    if len(choices) != 2:
        return None
    first, second = choices
    if isinstance(first, Action) and isinstance(second, Action) and first.style == "danger" != second.style:
        return first, second
    return None


def named_choices(result: Result) -> str:
    """An answer's choices in one line, for `tutor ask` (its process ends, so nothing is numbered); a
    select's options follow its placeholder, as `tutor chat` lists them."""
    named = [f"{c.placeholder}: {', '.join(o.label for o in c.options)}" if isinstance(c, Menu) else c.label
             for c in result.actions]
    return "; ".join(named)


def number_choices(result: Result) -> tuple[list[Numbered], list[str]]:
    """An answer's actions as numbered choices, and the lines that show them (a confirmation as y/N)."""
    numbered: list[Numbered] = []
    lines: list[str] = []
    for choice in result.actions:
        if isinstance(choice, Menu):
            lines.append(f"  {choice.placeholder}:")
            for option in choice.options:
                numbered.append(option)
                lines.append(f"    {len(numbered)}. {option.label}")
        else:
            numbered.append(choice)
            hint = " (you type it next)" if isinstance(choice, Ask) else ""
            lines.append(f"  {len(numbered)}. {choice.label}{hint}")
    confirm = confirmation(numbered)
    if confirm is not None:
        return numbered, [f"{confirm[0].label}? Type y to confirm; n, or just Enter, for {confirm[1].label} (y/N)."]
    how = "type a number, or the letter of your answer" if any(lettered(c) for c in numbered) else "type a number"
    return numbered, ([f"Next ({how}):", *lines] if lines else [])


def lettered(choice: Numbered) -> str | None:
    """The letter a choice is labelled with (`A: Paris`), as a quiz labels its answers; else None."""
    label = choice.label if isinstance(choice, Action) else ""
    return label[0] if LETTER.match(label) else None


def out_dir_problem(out_dir: Path) -> str | None:
    """Why `--out` cannot hold pictures (a file where a folder should be), before any work is done."""
    for folder in (out_dir.absolute(), *out_dir.absolute().parents):
        if folder.exists():
            if folder.is_dir():
                return None
            what = "is a file" if folder == out_dir.absolute() else f"lies inside a file ({folder})"
            return f"--out {out_dir} {what}, not a folder: choose a folder for the pictures, e.g. --out tutor-out."
    return None


def save_images(result: Result, out_dir: Path) -> list[Path]:
    if not result.images:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in result.images:
        path = out_dir / free_name(image.filename, lambda name: (out_dir / name).exists())
        path.write_bytes(image.png)
        paths.append(path.resolve())
    return paths


class Console:
    """One learner at a terminal: every line goes through the policy, like a message on a platform."""

    def __init__(self, policy: Policy, out_dir: Path, stream: TextIO = sys.stdout, errors: TextIO | None = None,
                 *, prompt: Callable[[str], str] = input, user: str = USER, one_shot: bool = False) -> None:
        """`one_shot`: `tutor ask`, whose process ends with the answer, so its choices cannot be taken:
        they are named as what `tutor chat` offers, not numbered."""
        self.policy, self.out_dir, self.stream = policy, out_dir, stream
        self.errors = errors or (sys.stderr if stream is sys.stdout else stream)
        self.prompt, self.user, self.one_shot = prompt, user, one_shot
        self.choices: list[Numbered] = []
        self.view, self.error_view = terminal(self.stream), terminal(self.errors)
        """rich consoles for the streams that are terminals (bot/console/render.py); None: plain text."""

    def say(self, text: str) -> None:
        """A line or lines of plain text: wrapped to a terminal's width, as they are down a pipe."""
        if self.view is None:
            print(text, file=self.stream)
        else:
            show_text(self.view, text)

    def error(self, message: str) -> None:
        if self.error_view is None:
            print(f"Error: {message}", file=self.errors)
        else:
            show_text(self.error_view, f"Error: {message}")

    async def send(self, line: str) -> Outcome:
        """A typed line: a command, the number of one of the last answer's choices (or the letter it is
        labelled with, for a quiz's answers), or y / n (or an empty line: N) when the last answer asked
        to confirm."""
        text = line.strip()
        confirm = confirmation(self.choices)
        if confirm is not None and (text.lower() in YES or text.lower() in NO or not text):
            return await self.choose(1 if text.lower() in YES else 2)
        if confirm is not None and not text.startswith("/") and not text.isdigit():
            return self._deliver(Outcome(Verdict.USER_ERROR, message=f"Type y for {confirm[0].label}, or n (or just "
                                                                  f"Enter) for {confirm[1].label}; a command starts "
                                                                  "with /."))
        if text.isdigit() and self.choices:
            return await self.choose(int(text))
        letters = [lettered(c) for c in self.choices]
        if len(text) == 1 and text.upper() in letters:
            return await self.choose(letters.index(text.upper()) + 1)
        if text.isdigit():  # a number answers the last answer's choices, never names a command
            return self._deliver(Outcome(Verdict.USER_ERROR, message="The last answer has no numbered choices; type a "
                                                                  "command (`/help` lists them, `/learn` resumes "
                                                                  "the lesson)."))
        return await self._handle(self._request(line=text))

    @property
    def confirming(self) -> bool:
        return confirmation(self.choices) is not None

    async def choose(self, number: int) -> Outcome:
        if not 1 <= number <= len(self.choices):
            return self._deliver(Outcome(Verdict.USER_ERROR, message=f"Choose a number from 1 to {len(self.choices)}, "
                                                                  "or type a command."))
        choice = self.choices[number - 1]
        if isinstance(choice, Ask):
            typed = self.prompt(f"{choice.title}> ")
            request = self._request(action=choice.action.id, args={choice.option: typed})
        else:
            request = self._request(action=choice.id)
        return await self._handle(request)

    def _request(self, **what: Any) -> Request:
        """The console is one learner's own: a direct conversation (a quiz reveals at once) and its own
        study group, whose admin is the person at the keyboard (so /board works here too, for one)."""
        return Request("console", self.user, place="console", group="console", direct=True, admin=True, **what)

    async def _handle(self, request: Request) -> Outcome:
        return self._deliver(await self.policy.handle(request))

    def _deliver(self, outcome: Outcome) -> Outcome:
        if outcome.silent:
            return outcome
        if outcome.result is None:
            self.error(outcome.message)
            return outcome
        self.choices, lines = number_choices(outcome.result)
        if self.view is None:
            print(render_text(outcome.result), file=self.stream)
        else:
            show_result(self.view, outcome.result)
        try:
            paths = save_images(outcome.result, self.out_dir)
        except OSError as exc:  # --out cannot be written (read-only, full, a file): the answer, then one line
            message = (f"The picture could not be saved in --out {self.out_dir}: {exc.strerror or exc}. "
                       "Choose a folder you can write to with --out.")
            self.error(message)
            return Outcome(Verdict.USER_ERROR, outcome.command, message=message)
        if paths:
            shown = [f"{path}\n  Shows: {image.alt}" for path, image in zip(paths, outcome.result.images, strict=True)]
            self.say("\nImages:\n" + "\n".join(shown))
        if lines and self.one_shot:
            self.say(f"\nIn `tutor chat`, this answer goes on with: {named_choices(outcome.result)}.")
        elif lines:
            self.say("\n" + "\n".join(lines))
        return outcome


async def ask(policy: Policy, line: str, out_dir: Path, stream: TextIO = sys.stdout) -> Outcome:
    """`tutor ask`: one line, answered in full."""
    return await Console(policy, out_dir, stream, one_shot=True).send(line)


async def tour(policy: Policy, out_dir: Path, stream: TextIO = sys.stdout) -> bool:
    """A short guided tour: a few commands, each answered in full."""
    console = Console(policy, out_dir, stream)
    bar = "=" * TOUR_RULE if console.view is None else rule(console.view)
    ok = True
    for line in TOUR:
        console.say(f"\n{bar}\n>>> {line}\n{bar}")
        ok = (await console.send(line)).ok and ok
    console.say("\nNext: `tutor chat` to ask your own questions, or `tutor ask \"/help\"`.")
    return ok


def chat(policy: Policy, out_dir: Path) -> int:
    """A prompt loop with line editing and history (up arrow), until `/quit`, Ctrl-D or SIGTERM.

    Returns the exit code: 0, or 128 + the signal's number after SIGTERM/SIGHUP. The lines typed at
    a terminal are merged into the shared history file on the way out, whichever way that is."""
    history = History(Path(policy.engine.settings.cache_dir) / "chat-history")
    interactive = sys.stdin.isatty()
    if interactive:
        _load_readline(history.load())
        if history.notice:  # a damaged file, set aside
            print(history.notice, file=sys.stderr)
    print("Transformers Tutor. Type /help for the commands, /quit to leave.")
    loop = asyncio.new_event_loop()
    code = 0
    try:
        with StopSignals():
            _prompt_loop(Console(policy, out_dir), loop, history, record=interactive)
    except Stopped as stop:
        print()
        code = 128 + stop.signum
    finally:
        loop.close()
        problem = history.save()
        if problem:
            print(problem, file=sys.stderr)
    return code


def _prompt_loop(console: Console, loop: asyncio.AbstractEventLoop, history: History, *, record: bool) -> None:
    """`record`: keep the lines typed (a terminal's, not a pipe's) in the history."""
    while True:
        try:
            line = input("tutor> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if line in QUIT:
            return
        if record:
            history.add(line)
        if line or console.confirming:  # Enter after a y/N question is its N
            outcome = loop.run_until_complete(console.send(line))
            if outcome.result is not None and outcome.result.forgot:
                _forget_history(history)


def _forget_history(history: History) -> None:
    """/forget deleted the learner's records: the lines they typed go too, from the file and readline."""
    problem = history.forget()
    if problem:
        print(problem, file=sys.stderr)
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    readline.clear_history()


def _load_readline(lines: list[str]) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    readline.clear_history()
    for line in lines:
        readline.add_history(line)
