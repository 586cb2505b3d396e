"""What a command handler receives: the settings, the active pack and the model store."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.models import ModelStore
    from core.packs import Pack
    from core.registry import Registry
    from core.render.cache import PerThreadCache
    from core.settings import Settings


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    pack: Pack
    models: ModelStore
    registry: Registry
    figures: PerThreadCache
    """Reusable matplotlib figures, per worker thread (see core/render/heatmap.py)."""


@dataclass(frozen=True)
class Caller:
    """Who asked, and where: given to personal commands (quizzes, lessons, progress) as `args["caller"]`.

    `user` is the platform's raw id: a personal command keys its records by a keyed hash of it
    (never the raw id), so the store holds no platform identity."""

    platform: str
    user: str
    place: str = ""
    group: str = ""
    direct: bool = False
    admin: bool = False
