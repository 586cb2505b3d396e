"""Reading a GGUF file once per de-quantising, not three times.

transformers' GGUF loader (transformers/modeling_gguf_pytorch_utils.py) opens the file with a new
`gguf.GGUFReader` on each of its three reads (the tokenizer, the config, the weights), and each opening parses
every field in Python: for the offline pack's chat model, a 49,152-entry vocabulary and its merges, about 2.3 s
each on this project's 2-core machines. It also builds gguf-py's tensor name map for the architecture once per
submodule of the model (397 times for SmolLM2-135M, about 4 s). Both are pure reads of the same file and the same
tables, so while `reading_each_gguf_once()` lasts, a file is parsed once and a name map built once per
architecture and depth: the de-quantising takes about half as long and writes the same bytes
(tests/core/test_gguf_reads.py).
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_ONE_AT_A_TIME = threading.Lock()
"""The loader finds `gguf.GGUFReader` and `gguf.get_tensor_name_map` on the gguf module when it runs, so the
shared versions are put there for the time of one de-quantising; two at once in one process take turns, so each
puts back what it found."""


@contextmanager
def reading_each_gguf_once() -> Iterator[None]:
    """While it lasts, opening the same GGUF file again gives the reader already made (a reader is a read-only
    view of the file), and a tensor name map is built once per architecture and number of blocks."""
    import gguf

    with _ONE_AT_A_TIME:
        open_reader, build_name_map = gguf.GGUFReader, gguf.get_tensor_name_map
        readers: dict[tuple[str, str], Any] = {}

        def reader(path: str | Path, mode: str = "r") -> Any:
            key = (str(Path(path).resolve()), mode)
            if key not in readers:
                readers[key] = open_reader(path, mode)
            return readers[key]

        gguf.GGUFReader, gguf.get_tensor_name_map = reader, functools.cache(build_name_map)
        try:
            yield
        finally:
            gguf.GGUFReader, gguf.get_tensor_name_map = open_reader, build_name_map
