"""Where model work runs: the engine's backend seam.

`local` (the default): worker threads in the bot process, with micro-batching (`core.batching`).
`ray` (`TUTOR_BACKEND=ray`, `RAY_ADDRESS`): each model's commands run in a Ray Serve deployment
(`core.backends.ray_serve`); adapters, the policy and rendering stay in the bot process. Both give the
same answers: the replicas run the very handlers the local backend runs.
"""
from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from core.batching import MicroBatcher
    from core.context import TaskContext
    from core.registry import Command
    from core.results import Result

class Backend(Protocol):
    """Runs one validated command; the engine keeps the queue limit and the time-out."""

    batchers: dict[str, MicroBatcher]
    """The local micro-batchers by command (empty where another process batches)."""

    def submit(self, command: Command, args: dict[str, Any]) -> Awaitable[Result]: ...

    def warm(self, model_key: str) -> bool:
        """Start loading one model in the background; False when this backend does not hold it."""
        ...

    def close(self) -> None: ...


def build_backend(context: TaskContext) -> Backend:
    from core.backends.local import LocalBackend

    local = LocalBackend(context)
    if context.settings.backend == "ray":
        from core.backends.ray_serve import RayBackend

        return RayBackend(context, local)
    return local
