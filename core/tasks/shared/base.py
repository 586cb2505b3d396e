"""The plumbing every model-backed task shares, so that no task repeats it.

transformers' `Pipeline.forward` is the model: a task prepares its inputs and reads the outputs; only
`forward` and `generate` here turn gradients off (`torch.no_grad()`), move the inputs to the model's
device and bring the outputs back to the CPU, floating-point tensors as float32 (a half-precision
model on a GPU gives the same numbers to read, and numpy takes them). `one` is the handler for a
single request of a task that answers batches.

Pipelines built by `Loaded.pipeline` (/ner, /fillmask, NLI /zeroshot) do the same inside transformers.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from core.context import TaskContext
    from core.models import Loaded

T = TypeVar("T")


def forward(loaded: Loaded, inputs: Mapping[str, Any], **options: Any) -> Any:
    """`loaded.model(**inputs, **options)`: on the model's device, without gradients; the output
    (a `ModelOutput`, tuples of tensors) comes back on the CPU. `inputs` is left as it was."""
    return _on_device(loaded, loaded.model, inputs, options)


def generate(loaded: Loaded, inputs: Mapping[str, Any], **options: Any) -> torch.Tensor:
    """`loaded.model.generate(**inputs, **options)` the same way: the token ids come back on the CPU."""
    return _on_device(loaded, loaded.model.generate, inputs, options)


def next_token_logits(loaded: Loaded, input_ids: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
    """One step of a decoding loop: the next token's logits (float32, on the CPU) and the model's cache,
    which stays on the model's device for the next step (only the logits cross to the CPU)."""
    import torch
    with torch.no_grad():
        out = loaded.model(input_ids=input_ids.to(loaded.device), cache=cache, use_cache=True)
    return out.logits[0, -1].detach().to("cpu", torch.float32), out.cache


def _on_device(loaded: Loaded, call: Callable[..., Any], inputs: Mapping[str, Any], options: dict[str, Any]) -> Any:
    import torch
    with torch.no_grad():
        return to_cpu(call(**to_device(dict(inputs), loaded.device), **options))


def to_device(value: Any, device: str | torch.device) -> Any:
    """Every tensor in `value` (nested in dicts, lists and tuples) on `device`; a new container."""
    import torch
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, Mapping):
        return {name: to_device(item, device) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item, device) for item in value)
    return value


def to_cpu(value: Any) -> Any:
    """Every tensor in `value` on the CPU, floating-point ones as float32. A `ModelOutput` keeps its
    class and fields (it is a dict, updated in place); other containers are rebuilt."""
    import torch
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float32) if value.is_floating_point() else value.detach().cpu()
    if isinstance(value, dict) and hasattr(value, "to_tuple"):  # a ModelOutput: keep attribute access
        for name, item in list(value.items()):
            value[name] = to_cpu(item)
        return value
    if isinstance(value, Mapping):
        return {name: to_cpu(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(item) for item in value)
    return value


BatchRun = Callable[["TaskContext", Sequence[dict[str, Any]]], list[T]]
OneRun = Callable[["TaskContext", dict[str, Any]], T]


def one(run_batch: BatchRun[T]) -> OneRun[T]:
    """The handler of one request for a task that answers batches: its batch of one."""
    def run(ctx: TaskContext, args: dict[str, Any]) -> T:
        return run_batch(ctx, [args])[0]

    run.__doc__ = f"One request of `{run_batch.__module__}.{run_batch.__name__}`: a batch of one."
    return run
