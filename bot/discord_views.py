"""An answer's actions as Discord components: buttons, one select, and modals for `Ask`.

Every component is a `discord.ui.DynamicItem` whose `custom_id` holds the whole state: a
button's id is the action's encoded id (core/actions.py, at most 100 characters, Discord's
limit), a select's options carry the action ids as their values, and a button that asks for a
text first is `?<option>:<action id>`. The three classes are registered once at start-up
(`client.add_dynamic_items(*DYNAMIC_ITEMS)`), so a click on a message sent before a restart
is parsed from its `custom_id` alone and keeps working.

discord.py is never asked to store one of our views or modals: each is stopped before it is
sent (`View.stop()`; discord.py stores only unfinished ones). A view of dynamic items needs no
per-message state anyway, and a stored one would start the 15-minute timer discord.py gives
ephemeral views; a stored modal would stay in memory until it is submitted, and most are
closed instead. Modal submits are read from the interaction itself (`submitted_text`, called
from the client's `on_interaction`), so a modal opened before a restart is answered too.

A select runs only one of its own options: its value must be one the message offers (the policy
then checks the action's seal, core/actions.py, as for any click).

Layout: at most 20 buttons in rows of five (rows 0-3) and one select in the row after them,
within Discord's five rows; a select has at most 25 options (core.actions.check keeps tasks
within these limits, so anything past them is a task's bug, dropped here with a warning).
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import discord

from core.actions import MAX_BUTTONS, MAX_ID, MAX_MENU_OPTIONS, Action, Ask, Choice, Menu, decode, unseal
from core.policy import FOREIGN

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import Registry

log = logging.getLogger("tutor.discord")

BUTTONS_PER_ROW = 5
MENU_ID = "tt-menu"
"""The select's own custom_id (one select per message); its options' values are the action ids."""
TITLE_LIMIT = 45
"""A modal's title and a text input's label."""
LABEL_LIMIT = 80
OPTION_TEXT_LIMIT = 100
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000
STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
          "danger": discord.ButtonStyle.danger}
ACTION_ID = re.compile(r"tt\d+:.+")
"""Any versioned action id (`tt1:...`): one from an older version reaches the policy, which says so."""
_ASK_ID = re.compile(r"\?(?P<option>[A-Za-z_][A-Za-z0-9_]*):(?P<action>.+)")


class Chooser(Protocol):
    """What a click is handed to (bot.discord_tutor.DiscordTutor)."""

    async def on_choice(self, interaction: discord.Interaction, action_id: str) -> None: ...

    async def on_ask(self, interaction: discord.Interaction, custom_id: str, label: str | None) -> None: ...


def chooser(interaction: discord.Interaction) -> Chooser:
    """The tutor behind the client that received this interaction."""
    return interaction.client.tutor  # type: ignore[attr-defined]


class ActionButton(discord.ui.DynamicItem[discord.ui.Button], template=ACTION_ID):
    """A button that runs one action; any `ttN:` id is routed, so an id from an older version is
    answered by the policy's own words rather than ignored."""

    def __init__(self, action_id: str, label: str = "…", style: discord.ButtonStyle = discord.ButtonStyle.secondary,
                 row: int | None = None) -> None:
        super().__init__(discord.ui.Button(label=label[:LABEL_LIMIT], style=style, custom_id=action_id), row=row)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionButton:
        return cls(match.group(0), _label(item), getattr(item, "style", discord.ButtonStyle.secondary))

    async def callback(self, interaction: discord.Interaction) -> None:
        await chooser(interaction).on_choice(interaction, self.custom_id)


class AskButton(discord.ui.DynamicItem[discord.ui.Button], template=_ASK_ID):
    """A button that opens a modal for one text, then runs its action with that text."""

    def __init__(self, custom_id: str, label: str = "…", style: discord.ButtonStyle = discord.ButtonStyle.secondary,
                 row: int | None = None) -> None:
        super().__init__(discord.ui.Button(label=label[:LABEL_LIMIT], style=style, custom_id=custom_id), row=row)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> AskButton:
        return cls(match.group(0), _label(item), getattr(item, "style", discord.ButtonStyle.secondary))

    async def callback(self, interaction: discord.Interaction) -> None:
        await chooser(interaction).on_ask(interaction, self.custom_id, self.item.label)


class MenuSelect(discord.ui.DynamicItem[discord.ui.Select], template=re.escape(MENU_ID)):
    """The select: the chosen option's value is the action id."""

    def __init__(self, placeholder: str = "", options: list[discord.SelectOption] | None = None,
                 row: int | None = None) -> None:
        select: discord.ui.Select = discord.ui.Select(custom_id=MENU_ID, placeholder=placeholder[:150] or None,
                                                      options=options or [], min_values=1, max_values=1)
        super().__init__(select, row=row)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> MenuSelect:
        return cls(getattr(item, "placeholder", None) or "", list(getattr(item, "options", [])))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Runs the chosen option only when it is one this select offers (its message's own options):
        a value sent in their place is refused here, before the policy checks the action's seal."""
        if not self.item.values:
            return
        chosen = self.item.values[0]
        if chosen not in {option.value for option in self.item.options}:
            log.warning("refused a select value its message does not offer")
            await refuse(interaction)
            return
        await chooser(interaction).on_choice(interaction, chosen)


async def refuse(interaction: discord.Interaction) -> None:
    """The policy's words for a choice not made here, to the clicker alone."""
    try:
        await interaction.response.send_message(FOREIGN, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not refuse a choice: %s", exc)


DYNAMIC_ITEMS = (ActionButton, AskButton, MenuSelect)


def _label(item: discord.ui.Item[Any]) -> str:
    return getattr(item, "label", None) or "…"


def ask_id(ask: Ask) -> str:
    """The custom_id of the button that opens `ask`'s modal; ValueError past Discord's 100 characters."""
    custom_id = f"?{ask.option}:{ask.action.id}"
    if len(custom_id) > MAX_ID or not _ASK_ID.fullmatch(custom_id):
        raise ValueError(f"the button for {ask.label!r} needs a custom_id of {len(custom_id)} characters")
    return custom_id


def asked_action(custom_id: str) -> str:
    """The action id inside an ask button's custom_id."""
    match = _ASK_ID.fullmatch(custom_id)
    return match.group("action") if match else custom_id


def rebuilt_ask(registry: Registry, custom_id: str, label: str | None) -> Ask:
    """An `Ask` read back from its button alone (after a restart): the action and the option from the
    custom_id, the title from the button's label, the hint and the length from the registry.
    `UserError` when the action is not one this version knows (the policy's words say so)."""
    match = _ASK_ID.fullmatch(custom_id)
    if match is None:
        raise ValueError(f"not an ask button's id: {custom_id!r}")
    option_name = match.group("option")
    command, args = decode(match.group("action"))
    option = next((o for o in registry.get(command).options if o.name == option_name), None)
    action = Action(label or "…", command, tuple(args.items()), seal=unseal(match.group("action"))[1])
    if option is None:
        return Ask(action, option_name, label or "Your text")
    return Ask(action, option_name, label or option.description, option.description,
               option.max_length or TEXT_INPUT_LIMIT)


def ask_modal(ask: Ask) -> discord.ui.Modal:
    """One text input whose custom_id is the option, in a modal whose custom_id is the action's id."""
    modal = discord.ui.Modal(title=ask.title[:TITLE_LIMIT] or "Your text", custom_id=ask.action.id, timeout=None)
    length = max(1, min(TEXT_INPUT_LIMIT, ask.max_length))
    style = discord.TextStyle.paragraph if length > 200 else discord.TextStyle.short
    text = discord.ui.TextInput(custom_id=ask.option, style=style, max_length=length, required=True,
                                placeholder=ask.placeholder[:PLACEHOLDER_LIMIT] or None)
    modal.add_item(discord.ui.Label(text=ask.title[:TITLE_LIMIT] or ask.option, component=text))
    modal.stop()  # not stored by discord.py: the submit is read from the interaction (see the module docstring)
    return modal


def submitted_text(data: Any) -> dict[str, str]:
    """The modal's text inputs from a modal submit's `data`: {input custom_id: value}."""
    found: dict[str, str] = {}
    for component in _walk((data or {}).get("components") or []):
        if component.get("type") == discord.ComponentType.text_input.value and "custom_id" in component:
            found[str(component["custom_id"])] = str(component.get("value") or "")
    return found


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        inner = component.get("component")  # a Label holds one component
        if isinstance(inner, dict):
            yield from _walk([inner])


def build_view(choices: tuple[Choice, ...], asks: dict[str, Ask] | None = None) -> discord.ui.View | None:
    """The components for an answer's choices, or None when it has none. Call it inside the event loop
    (a view made outside one cannot be stopped). Each `Ask` is recorded in `asks` by its button's id."""
    items = list(_items(choices, asks if asks is not None else {}))
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()  # not stored by discord.py: clicks come through the registered dynamic items
    return view


def _items(choices: tuple[Choice, ...], asks: dict[str, Ask]) -> Iterator[discord.ui.Item[Any]]:
    used: set[str] = set()
    buttons = [c for c in choices if isinstance(c, (Action, Ask))][:MAX_BUTTONS]
    shown = 0
    for choice in buttons:
        button = _button(choice, used, asks, shown // BUTTONS_PER_ROW)
        if button is not None:
            shown += 1
            yield button
    menus = [c for c in choices if isinstance(c, Menu) and c.options]
    if menus:
        yield _select(menus[0], math.ceil(shown / BUTTONS_PER_ROW))
    if len(menus) > 1 or len(buttons) < sum(isinstance(c, (Action, Ask)) for c in choices):
        log.warning("an answer had more choices than Discord can show; the extra ones were left out")


def _button(choice: Action | Ask, used: set[str], asks: dict[str, Ask], row: int) -> discord.ui.Item[Any] | None:
    style = STYLES.get(choice.style if isinstance(choice, Action) else choice.action.style,
                       discord.ButtonStyle.secondary)
    try:
        custom_id = ask_id(choice) if isinstance(choice, Ask) else choice.id
    except ValueError as exc:
        log.warning("left out a button: %s", exc)
        return None
    if custom_id in used:
        log.warning("left out a second button with the id %r", custom_id)
        return None
    used.add(custom_id)
    if isinstance(choice, Ask):
        asks[custom_id] = choice
        return AskButton(custom_id, choice.label, style, row=row)
    return ActionButton(custom_id, choice.label, style, row=row)


def _select(menu: Menu, row: int) -> MenuSelect:
    options: list[discord.SelectOption] = []
    values: set[str] = set()
    for action in menu.options[:MAX_MENU_OPTIONS]:
        if action.id in values:
            continue
        values.add(action.id)
        options.append(discord.SelectOption(label=action.label[:OPTION_TEXT_LIMIT], value=action.id,
                                            description=action.description[:OPTION_TEXT_LIMIT] or None))
    return MenuSelect(menu.placeholder, options, row=row)
