"""core/gguf_reads.py: while it lasts, a GGUF file is parsed once and a tensor name map built once; after it, gguf
is as it was. (That a de-quantised copy answers as a model loaded from the GGUF file itself is proved by the offline
snippet tests: each snippet loads the file directly and prints what the bot, on the copy, answered.)"""
from __future__ import annotations

import threading
from pathlib import Path

import gguf
import numpy as np
import pytest

from core.gguf_reads import reading_each_gguf_once


@pytest.fixture
def small_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "small.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("small")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """gguf's own reader and name map, counting what they are asked to build."""
    counts = {"readers": 0, "name maps": 0}
    open_reader, build_name_map = gguf.GGUFReader, gguf.get_tensor_name_map

    def reader(path, mode="r"):
        counts["readers"] += 1
        return open_reader(path, mode)

    def name_map(arch, blocks):
        counts["name maps"] += 1
        return build_name_map(arch, blocks)

    monkeypatch.setattr(gguf, "GGUFReader", reader)
    monkeypatch.setattr(gguf, "get_tensor_name_map", name_map)
    return counts


def test_a_file_opened_three_times_is_parsed_once(small_gguf: Path, counted: dict[str, int]) -> None:
    with reading_each_gguf_once():
        readers = [gguf.GGUFReader(small_gguf), gguf.GGUFReader(str(small_gguf)),
                   gguf.GGUFReader(small_gguf.parent / ".." / small_gguf.parent.name / small_gguf.name)]
    assert counted["readers"] == 1
    assert readers[0] is readers[1] is readers[2]
    assert readers[0].get_field("general.name").contents() == "small"
    assert readers[0].tensors[0].data.tolist() == np.arange(12, dtype=np.float32).reshape(3, 4).tolist()


def test_another_file_gets_its_own_reader(small_gguf: Path, tmp_path: Path, counted: dict[str, int]) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(small_gguf.read_bytes())
    with reading_each_gguf_once():
        assert gguf.GGUFReader(small_gguf) is not gguf.GGUFReader(other)
    assert counted["readers"] == 2


def test_a_name_map_is_built_once_per_architecture_and_depth(counted: dict[str, int]) -> None:
    with reading_each_gguf_once():
        first = [gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 30) for _ in range(5)]
        gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
    assert counted["name maps"] == 2
    assert all(m is first[0] for m in first)
    assert first[0].get_name("model.layers.3.self_attn.q_proj") == "blk.3.attn_q"


def test_afterwards_each_opening_parses_the_file_again(small_gguf: Path, counted: dict[str, int]) -> None:
    with reading_each_gguf_once():
        gguf.GGUFReader(small_gguf)
    assert gguf.GGUFReader(small_gguf) is not gguf.GGUFReader(small_gguf)
    assert counted["readers"] == 3


def test_two_threads_at_once_each_leave_gguf_as_they_found_it(small_gguf: Path, counted: dict[str, int]) -> None:
    before = (gguf.GGUFReader, gguf.get_tensor_name_map)
    inside = threading.Event()

    def read() -> None:
        with reading_each_gguf_once():
            inside.set()
            gguf.GGUFReader(small_gguf)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert inside.is_set()
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == before
    assert counted["readers"] == 4  # one per de-quantising: what one keeps is not another's
