"""Helpers for the explore tests: a policy on a real engine, typing a command and clicking a button.

Clicks go through `core.policy.Policy` exactly as an adapter sends them (`Request(action=id)`),
so each one is validated, cooled down and answered by the engine like a typed command.
"""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image as PILImage

from core.actions import Action, Menu, flatten
from core.engine import Engine
from core.policy import Outcome, Policy, Request, Verdict
from core.results import Result
from core.store import Database, RunStore
from tests.support import Clock


def policy_on(engine: Engine, folder: Path, clock: Clock | None = None) -> Policy:
    runs = RunStore(Database(f"sqlite:///{folder / 'runs.db'}"), clock=clock or Clock())
    return Policy(engine, runs=runs)


async def typed(policy: Policy, line: str, user: str = "learner") -> Result:
    outcome = await policy.handle(Request("test", user, line=line))
    assert outcome.verdict is Verdict.ANSWER, outcome.message
    assert outcome.result is not None
    return outcome.result


async def click(policy: Policy, result: Result, label: str, user: str = "learner") -> Outcome:
    """Choose the button or select option labelled `label` (a prefix is enough) on `result`."""
    return await policy.handle(Request("test", user, action=action(result, label).id))


async def clicked(policy: Policy, result: Result, label: str, user: str = "learner") -> Result:
    outcome = await click(policy, result, label, user)
    assert outcome.verdict is Verdict.ANSWER, outcome.message
    assert outcome.result is not None
    return outcome.result


def action(result: Result, label: str) -> Action:
    found = [a for a in flatten(result.actions) if a.label.startswith(label)]
    assert found, f"no action {label!r} among {labels(result)}"
    return found[0]


def labels(result: Result) -> list[str]:
    return [a.label for a in flatten(result.actions)]


def menu(result: Result) -> Menu:
    menus = [c for c in result.actions if isinstance(c, Menu)]
    assert len(menus) == 1, result.actions
    return menus[0]


def is_png(data: bytes) -> bool:
    return PILImage.open(io.BytesIO(data)).format == "PNG"
