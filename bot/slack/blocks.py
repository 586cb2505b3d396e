"""An answer's actions as Block Kit, and the modal an `Ask` opens; pure functions.

* A button's `action_id` is the action's encoded id (`tt1:think:run=ab12&step=1`, at most 100 of
  Slack's 255 characters), so a click is self-contained: it works after a restart, and the app
  routes every `^tt1:` action to one listener. A select has the fixed `action_id` `tt1:menu`;
  each of its options carries an action id as its `value` (at most 150 characters).
* An `Ask` is a button whose `value` holds what the modal needs (JSON: the option, title,
  placeholder and length); the click opens the modal instead of running anything.
* The actions blocks' `block_id` names who asked the question the message answers
  (`tt1:b:U123:0`): Slack returns it with every click, so the adapter can tell the asker's click
  (which updates the message) from anyone else's (a private copy) without keeping any state.
* A danger button asks Slack's own confirmation dialog first (e.g. /forget).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.actions import Action, Ask, Choice, Menu
from core.text import clean_text

PREFIX = "tt1"
MENU_ID = "tt1:menu"
ASK_CALLBACK = "tt1:ask"
INPUT_BLOCK = "tt1:in"
INPUT_ACTION = "text"
MAX_ELEMENTS = 25
"""Slack: at most 25 elements in one actions block."""
MAX_TEXT = 75
"""Button text, option text and option description."""
MODAL_TITLE = 24
MAX_INPUT = 3000


def _plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object (never mrkdwn: a label with `<!channel>` cannot ping); never empty."""
    shown = clean_text(text).text.strip()
    shown = shown if len(shown) <= limit else shown[: limit - 1] + "…"
    return {"type": "plain_text", "text": shown or "?", "emoji": True}


def button(choice: Action | Ask) -> dict[str, Any]:
    action = choice.action if isinstance(choice, Ask) else choice
    element: dict[str, Any] = {"type": "button", "text": _plain(choice.label, MAX_TEXT), "action_id": action.id}
    if isinstance(choice, Ask):
        element["value"] = json.dumps({"ask": choice.option, "title": choice.title,
                                       "placeholder": choice.placeholder, "max": choice.max_length})
    if action.style in ("primary", "danger"):
        element["style"] = action.style
    if action.style == "danger":
        element["confirm"] = {"title": _plain("Are you sure?", 100), "text": _plain(action.label, 300),
                              "confirm": _plain(action.label, 30), "deny": _plain("Cancel", 30), "style": "danger"}
    return element


def select(menu: Menu) -> dict[str, Any]:
    options, seen = [], set()
    for action in menu.options:
        if action.id in seen:
            continue
        seen.add(action.id)
        option: dict[str, Any] = {"text": _plain(action.label, MAX_TEXT), "value": action.id}
        if action.description.strip():
            option["description"] = _plain(action.description, MAX_TEXT)
        options.append(option)
    return {"type": "static_select", "action_id": MENU_ID, "placeholder": _plain(menu.placeholder, 150),
            "options": options}


def action_blocks(choices: Sequence[Choice], owner: str) -> list[dict[str, Any]]:
    """Buttons in actions blocks of at most 25, then each select in a block of its own."""
    buttons, seen = [], set()
    for choice in choices:
        if isinstance(choice, Menu):
            continue
        element = button(choice)
        if element["action_id"] not in seen:  # Slack refuses a message with two equal action_ids
            seen.add(element["action_id"])
            buttons.append(element)
    rows = [buttons[i:i + MAX_ELEMENTS] for i in range(0, len(buttons), MAX_ELEMENTS)]
    rows += [[select(c)] for c in choices if isinstance(c, Menu)]
    return [{"type": "actions", "block_id": f"{PREFIX}:b:{owner}:{n}", "elements": row} for n, row in enumerate(rows)]


def owner_of(block_id: Any) -> str:
    """Who asked the question of the message an actions block belongs to; "" when not ours."""
    if not isinstance(block_id, str):
        return ""
    parts = block_id.split(":")
    return clean_text(parts[2]).text if len(parts) == 4 and parts[:2] == [PREFIX, "b"] else ""


@dataclass(frozen=True)
class AskSpec:
    option: str
    title: str
    placeholder: str
    max_length: int


def ask_of(value: Any) -> AskSpec | None:
    """The modal a button asks for (its `value`), or None for an ordinary button."""
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        data = json.loads(value)
        option, title = str(data["ask"]), str(data.get("title") or "Your text")
        return AskSpec(option, title, str(data.get("placeholder") or ""),
                       max(1, min(MAX_INPUT, int(data.get("max") or MAX_INPUT))))
    except (ValueError, TypeError, KeyError):
        return None


def modal(ask: AskSpec, metadata: str) -> dict[str, Any]:
    """One plain_text_input; `metadata` (at most 3000 characters) comes back with the submission."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION, "max_length": ask.max_length,
                               "multiline": ask.max_length > 150}
    if ask.placeholder.strip():
        element["placeholder"] = _plain(ask.placeholder, 150)
    return {"type": "modal", "callback_id": ASK_CALLBACK, "title": _plain(ask.title, MODAL_TITLE),
            "submit": _plain("Run", 24), "close": _plain("Cancel", 24), "private_metadata": metadata,
            "blocks": [{"type": "input", "block_id": INPUT_BLOCK, "label": _plain(ask.title, 2000),
                        "element": element}]}


def submitted_text(view: Any) -> str | None:
    """The text typed into the modal, or None when the view is not of our shape."""
    try:
        value = view["state"]["values"][INPUT_BLOCK][INPUT_ACTION]["value"]
    except (TypeError, KeyError):
        return None
    return value if isinstance(value, str) else None
