"""Attention heatmaps: valid PNGs, layout, annotations, link summaries, threads, memory."""
from __future__ import annotations

import gc
import io
import logging
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.font_manager import findfont, get_font
from PIL import Image

from core.render import heatmap as hm
from core.render import links
from core.render.cache import PerThreadCache
from core.render.labels import label
from core.render.links import Link
from core.render.style import NOOP_COLOUR, TEXT_COLOUR

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SENTENCE = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "very", "tired",
            "[SEP]"]  # 13 tokens


def attention(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=shape)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def tokens(n: int) -> list[str]:
    return [f"tok{i}" for i in range(n)]


def decode(png: bytes) -> np.ndarray:
    assert png[:8] == PNG_MAGIC
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        assert img.format == "PNG"
        return np.asarray(img)


def value_collection(fig):
    colls = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "cell-values"]
    assert len(colls) <= 1
    return colls[0] if colls else None


def token_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() != "panel-title"]


def all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_visible()]


def assert_texts_inside(fig, slack_px: float = 1.0) -> None:
    """Every visible, non-empty text lies inside the canvas (nothing clipped)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    for t in fig.findobj(lambda a: hasattr(a, "get_window_extent") and hasattr(a, "get_text")):
        if not t.get_visible() or not t.get_text():
            continue
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= -slack_px and bb.y0 >= -slack_px, (t.get_text(), bb)
        assert bb.x1 <= width + slack_px and bb.y1 <= height + slack_px, (t.get_text(), bb)


# --------------------------------------------------------------------------- PNGs


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40, 128])
def test_render_head_valid_png_sized_to_n(n):
    png = hm.render_head(tokens(n), attention((n, n), n), title=f"layer 0, head {n}")
    img = decode(png)
    h, w = img.shape[:2]
    assert 250 <= w <= 1400 and 200 <= h <= 1400
    if n >= 13:  # bigger maps give bigger pictures, up to the cap
        small = decode(hm.render_head(tokens(6), attention((6, 6)), title="t"))
        assert w > small.shape[1] and h > small.shape[0]


def test_render_grid_and_overview_valid_pngs():
    grid = decode(hm.render_grid(SENTENCE, attention((12, 13, 13)), title="layer 3"))
    assert 600 <= grid.shape[1] <= 2000 and 400 <= grid.shape[0] <= 2000
    assert grid.shape[1] > grid.shape[0]  # 3 rows x 4 columns: wider than tall
    over = decode(hm.render_overview(SENTENCE, attention((12, 12, 13, 13)), title="bert-base"))
    assert 600 <= over.shape[1] <= 2000 and 600 <= over.shape[0] <= 2000
    one = decode(hm.render_overview(["hi"], attention((1, 1, 1, 1)), title="tiny"))
    assert one.shape[0] > 50 and one.shape[1] > 50
    big = decode(hm.render_grid(tokens(128), attention((4, 128, 128)), title="long"))
    assert big.shape[1] <= 2000


def test_reused_figure_gives_same_pixels_as_fresh_one():
    """render_head reuses a per-thread figure from the cache; nothing may leak from the previous call."""
    w1, w2 = attention((13, 13), 1), attention((13, 13), 2)
    figures = PerThreadCache(4)
    fresh = decode(hm.figure_to_png(hm.build_head_figure(SENTENCE, w1, title="first")))
    hm.render_head(list("abcdefghijklm"), w2 * 3, title="something else entirely, and longer", figures=figures)
    again = decode(hm.render_head(SENTENCE, w1, title="first", figures=figures))
    assert fresh.shape == again.shape
    assert np.array_equal(fresh, again)


def test_no_pyplot_figures_created():
    import matplotlib.pyplot as plt  # seaborn imports it; we must never use it

    before = plt.get_fignums()
    hm.render_head(SENTENCE, attention((13, 13)), title="t")
    hm.render_grid(SENTENCE, attention((3, 13, 13)), title="t")
    assert plt.get_fignums() == before


# --------------------------------------------------------------------------- figure content


def test_cell_values_written_for_small_maps_only():
    w = attention((13, 13))
    fig = hm.build_head_figure(SENTENCE, w, title="t")
    coll = value_collection(fig)
    assert coll is not None
    assert len(coll.get_paths()) == 13 * 13
    written = coll.get_label().split("\x1f")
    assert written == [f"{v:.2f}" for v in w.ravel()]
    # Text contrasts with the cell: dark text on the brightest cell, light on the darkest.
    colours = coll.get_facecolors()
    brightest, darkest = int(np.argmax(w)), int(np.argmin(w))
    assert colours[brightest][:3].sum() < 1.0
    assert colours[darkest][:3].sum() > 2.0

    n = hm.ANNOTATE_MAX_TOKENS + 1
    assert value_collection(hm.build_head_figure(tokens(n), attention((n, n)), title="t")) is None
    assert value_collection(hm.build_grid_figure(tokens(4), attention((2, 4, 4)), title="t")) is None
    # Values are not written as Text artists either.
    texts = all_text(hm.build_grid_figure(tokens(4), attention((2, 4, 4), 3), title="t"))
    assert not any(t.startswith("0.") and len(t) == 4 for t in texts)


def test_token_labels_kept_truncated_and_not_mathtext():
    toks = ["[CLS]", "un", "##believ", "##able", "$x$", "a" * 40, "[SEP]"]
    fig = hm.build_head_figure(toks, attention((7, 7)), title="costs $5 and $6")
    texts = all_text(fig)
    assert "##believ" in texts and "##able" in texts and "$x$" in texts
    long_label = "a" * (hm.MAX_LABEL_CHARS - 1) + "\u2026"
    assert texts.count(long_label) == 2  # row and column
    assert not any("a" * hm.MAX_LABEL_CHARS in t for t in texts)
    assert "costs $5 and $6" in texts
    dollar = [t for t in fig.findobj(lambda a: hasattr(a, "get_parse_math")) if "$" in t.get_text()]
    assert len(dollar) == 3 and all(not t.get_parse_math() for t in dollar)
    fig.canvas.draw()  # mathtext would fail or mangle here


def test_large_n_thins_labels_and_skips_values():
    n = 128
    fig = hm.build_head_figure(tokens(n), attention((n, n)), title="t")
    ax = fig.axes[0]
    labels = token_texts(ax)
    assert 0 < len(labels) < 2 * n  # thinned, both axes together
    assert "tok0" in labels
    assert value_collection(fig) is None


@pytest.mark.parametrize(
    "build, toks, shape",
    [
        (hm.build_head_figure, ["only"], (1, 1)),
        (hm.build_head_figure, ["[CLS]", "W" * 30, "x", "[SEP]"], (4, 4)),
        (hm.build_head_figure, SENTENCE, (13, 13)),
        (hm.build_head_figure, [f"tok{i}" for i in range(128)], (128, 128)),
        (hm.build_grid_figure, SENTENCE, (12, 13, 13)),
        (hm.build_grid_figure, ["M" * 20] * 3, (5, 3, 3)),
        (hm.build_grid_figure, ["x"], (1, 1, 1)),
        (hm.build_overview_figure, SENTENCE, (12, 12, 13, 13)),
        (hm.build_overview_figure, ["[CLS]", "hello", "world", "[SEP]"], (2, 3, 4, 4)),
    ],
)
def test_labels_not_clipped(build, toks, shape):
    fig = build(toks, attention(shape), title="A fairly long title that may need to wrap " * 2)
    assert_texts_inside(fig)


def test_grid_has_one_axes_per_head_plus_colorbar():
    fig = hm.build_grid_figure(SENTENCE, attention((12, 13, 13)), title="layer 0")
    cbars = [ax for ax in fig.axes if ax.get_gid() == "colorbar"]
    heads = [ax for ax in fig.axes if ax.get_gid() != "colorbar"]
    assert len(cbars) == 1 and len(heads) == 12
    titles = [[t.get_text() for t in ax.texts if t.get_gid() == "panel-title"] for ax in heads]
    assert titles == [[f"head {i}"] for i in range(12)]
    # near-square: 3 rows x 4 columns
    xs = sorted({round(ax.get_position().x0, 4) for ax in heads})
    ys = sorted({round(ax.get_position().y0, 4) for ax in heads})
    assert (len(ys), len(xs)) == (3, 4)
    # one shared colour scale
    clims = {ax.images[0].get_clim() for ax in heads}
    assert len(clims) == 1


def test_overview_has_layers_times_heads_axes():
    layers, heads = 3, 4
    fig = hm.build_overview_figure(tokens(5), attention((layers, heads, 5, 5)), title="model")
    panels = [ax for ax in fig.axes if ax.get_gid() != "colorbar"]
    assert len(panels) == layers * heads
    assert len(fig.axes) == layers * heads + 1
    texts = all_text(fig)
    assert all(f"layer {i}" in texts for i in range(layers))
    assert all(f"head {j}" in texts for j in range(heads))
    # token labels only on the edges: left column and bottom row
    labelled = [ax for ax in panels if token_texts(ax)]
    assert len(labelled) == layers + heads - 1


def test_overview_omits_tokens_when_too_many():
    fig = hm.build_overview_figure(tokens(64), attention((4, 4, 64, 64)), title="t")
    assert not any(token_texts(ax) for ax in fig.axes if ax.get_gid() != "colorbar")
    assert any("labels omitted" in t for t in all_text(fig))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fn, toks, shape",
    [
        (hm.render_head, tokens(3), (3, 4)),
        (hm.render_head, tokens(3), (4, 4)),
        (hm.render_head, tokens(3), (1, 3, 3)),
        (hm.render_grid, tokens(3), (3, 3)),
        (hm.render_grid, tokens(3), (2, 3, 2)),
        (hm.render_grid, tokens(3), (0, 3, 3)),
        (hm.render_overview, tokens(3), (2, 3, 3)),
        (hm.render_overview, tokens(3), (2, 2, 4, 4)),
        (hm.render_head, [], (0, 0)),
    ],
)
def test_shape_mismatch_raises_value_error(fn, toks, shape):
    with pytest.raises(ValueError):
        fn(toks, np.ones(shape) / max(1, shape[-1]), title="bad")


def test_other_bad_input_raises_a_clear_error():
    w = attention((3, 3))
    with pytest.raises(ValueError):
        hm.alt_text(tokens(2), w, what="two tokens, three rows")
    with pytest.raises(ValueError):
        hm.alt_text(tokens(3), np.ones(3), what="x")
    with pytest.raises(TypeError):
        hm.render_head("abc", w, title="a string is not a token list")
    with pytest.raises(ValueError):
        hm.render_head(tokens(3), w, title="t", noop=[True, False])
    bad = w.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError):
        hm.render_head(tokens(3), bad, title="nan")


# --------------------------------------------------------------------------- links and alt text


def hand_made() -> tuple[list[str], list[bool], np.ndarray]:
    toks = ["[CLS]", "the", "cat", "sat", "down", "[SEP]"]
    noop = [True, False, False, False, False, True]
    w = np.full((6, 6), 0.01)
    w[2, 4] = 0.9  # cat -> down
    w[3, 2] = 0.7  # sat -> cat
    w[1, 2] = 0.5  # the -> cat
    w[4, 4] = 0.95  # down -> down: a token may look most at itself
    w[3, 0] = 0.99  # sat -> [CLS]: a no-op target, stronger than all
    w[5, 1] = 0.98  # [SEP] -> the: a no-op source
    return toks, noop, w


def named(toks: list[str], found: list[Link]) -> list[tuple[str, str, float]]:
    return [(toks[link.source], toks[link.target], pytest.approx(link.weight)) for link in found]


def test_focus_per_token_leaves_out_noops_as_rows_and_columns():
    toks, noop, w = hand_made()
    assert named(toks, links.focus_per_token(w, noop)) == [
        ("the", "cat", 0.5), ("cat", "down", 0.9), ("sat", "cat", 0.7), ("down", "down", 0.95)]
    assert named(toks, links.focus_per_token(w))[3] == ("sat", "[CLS]", 0.99)  # no mask: every token counts


def test_strongest_links_are_the_heaviest_rows_of_the_table():
    toks, noop, w = hand_made()
    w[2, 3] = 0.85  # cat's second link, heavier than sat -> cat, but not cat's focus: not a table row
    assert named(toks, links.strongest_links(w, noop, 3)) == [
        ("down", "down", 0.95), ("cat", "down", 0.9), ("sat", "cat", 0.7)]
    assert links.strongest_link(w, noop) == links.strongest_links(w, noop, 1)[0]
    assert links.strongest_links(w, noop, 0) == []
    assert len(links.strongest_links(w, noop, 100)) == 4  # one per real token


def test_strongest_link_of_each_map_agrees_with_an_argmax_over_real_cells():
    _, noop, _ = hand_made()
    stack = attention((5, 6, 6), 3)
    real = ~np.array(noop)
    for m, link in enumerate(links.strongest_per_map(stack, noop)):
        masked = np.where(real[:, None] & real[None, :], stack[m], -1.0)
        assert (link.source, link.target) == np.unravel_index(np.argmax(masked), masked.shape)
    assert links.heaviest(links.strongest_per_map(stack, noop), 2) == list(
        np.argsort([-links.strongest_link(m, noop).weight for m in stack], kind="stable")[:2])


def test_ties_go_to_the_earlier_row_then_column_and_only_noops_are_ranked_whole():
    tie = np.full((3, 3), 0.2)
    assert [(x.source, x.target) for x in links.strongest_links(tie, None, 3)] == [(0, 0), (1, 0), (2, 0)]
    only = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert [(x.source, x.target) for x in links.focus_per_token(only, [True, True])] == [(0, 1), (1, 0)]
    with pytest.raises(ValueError):
        links.focus_per_token(only, [True])


def test_alt_text_names_the_same_links_as_the_table():
    toks, noop, w = hand_made()
    text = hm.alt_text(toks, w, what="layer 0, head 3", noop=noop)
    assert text.startswith("Heatmap of layer 0, head 3 attention over 6 tokens")
    assert "rows are the token attending" in text
    assert text.endswith("strongest: 'down' -> 'down' (0.9500), 'cat' -> 'down' (0.9000), 'sat' -> 'cat' (0.7000).")
    assert "[CLS]" not in text and "[SEP]" not in text
    assert "'sat' -> '[CLS]' (0.9900)" in hm.alt_text(toks, w, what="no mask")
    assert len(text) <= hm.ALT_TEXT_MAX


def test_alt_text_grid_overview_and_limits():
    w = attention((2, 3, 13, 13))
    noop = [t in ("[CLS]", "[SEP]") for t in SENTENCE]
    grid = hm.alt_text(SENTENCE, w[0], what="layer 0", noop=noop)
    per_head = links.strongest_per_map(w[0], noop)
    top = links.heaviest(per_head, 3)
    assert "3 attention heatmaps" in grid
    assert grid.endswith(", ".join(f"head {h} '{SENTENCE[per_head[h].source]}' -> '{SENTENCE[per_head[h].target]}' "
                                   f"({per_head[h].weight:.4f})" for h in top) + ".")
    over = hm.alt_text(SENTENCE, w, what="bert-base-uncased", noop=noop)
    assert "2 layers x 3 heads" in over and "strongest: layer " in over
    long_toks = ["x" * 500, "y" * 500, "z" * 500]
    text = hm.alt_text(long_toks, attention((3, 3)), what="w" * 1000)
    assert len(text) <= hm.ALT_TEXT_MAX
    assert "1 token;" in hm.alt_text(["only"], np.ones((1, 1)), what="a")
    only_noops = hm.alt_text(["[CLS]", "[SEP]"], np.array([[0.2, 0.8], [0.6, 0.4]]), what="h", noop=[True, True])
    assert "'[CLS]' -> '[SEP]' (0.8000)" in only_noops


def test_noop_labels_are_grey_in_every_picture():
    toks, noop, w = hand_made()
    fig = hm.build_head_figure(toks, w, title="t", noop=noop)
    colours = {t.get_text(): to_hex(t.get_color()) for t in label_artists(fig)}
    assert colours["[CLS]"] == colours["[SEP]"] == NOOP_COLOUR
    assert {colours[t] for t in toks[1:-1]} == {TEXT_COLOUR}
    grid = hm.build_grid_figure(toks, np.stack([w, w]), title="t", noop=noop)
    over = hm.build_overview_figure(toks, w[None, None], title="t", noop=noop)
    for figure in (grid, over):
        labelled = [t for ax in figure.axes for t in ax.texts if t.get_text() in toks]
        assert {to_hex(t.get_color()) for t in labelled if t.get_text() in ("[CLS]", "[SEP]")} == {NOOP_COLOUR}
        assert {to_hex(t.get_color()) for t in labelled if t.get_text() == "cat"} == {TEXT_COLOUR}
    plain = hm.build_head_figure(toks, w, title="t")
    assert {to_hex(t.get_color()) for t in label_artists(plain)} == {TEXT_COLOUR}


def test_a_reused_figure_forgets_the_previous_noop_labels():
    toks, noop, w = hand_made()
    figures = PerThreadCache(1)
    hm.render_head(toks, w, title="t", figures=figures, noop=[True] * 6)
    again = decode(hm.render_head(toks, w, title="t", figures=figures, noop=noop))
    assert np.array_equal(again, decode(hm.figure_to_png(hm.build_head_figure(toks, w, title="t", noop=noop))))


# --------------------------------------------------------------------------- threads and memory


def test_concurrent_renders_match_sequential():
    figures = PerThreadCache(2)  # small: figures are also evicted and rebuilt while threads race

    def cached_head(t, w, *, title):
        return hm.render_head(t, w, title=title, figures=figures)

    jobs = [
        (cached_head, SENTENCE, attention((13, 13), 10)),
        (cached_head, tokens(7), attention((7, 7), 11)),
        (hm.render_grid, SENTENCE, attention((4, 13, 13), 12)),
        (cached_head, tokens(40), attention((40, 40), 13)),
        (hm.render_overview, tokens(5), attention((2, 2, 5, 5), 14)),
        (hm.render_head, SENTENCE, attention((13, 13), 15)),
        (hm.render_grid, tokens(6), attention((3, 6, 6), 16)),
        (hm.render_head, tokens(7), attention((7, 7), 17)),
    ]
    expected = [decode(fn(t, w, title=f"job {i}")) for i, (fn, t, w) in enumerate(jobs)]

    def work(i):
        fn, t, w = jobs[i % len(jobs)]
        return i % len(jobs), fn(t, w, title=f"job {i % len(jobs)}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(3 * len(jobs))))
    for i, png in results:
        assert np.array_equal(decode(png), expected[i])


LEAK_RENDERS = 10
"""Renders measured under tracemalloc (each is slow there): ten at 26 KB each is the budget below."""


def test_memory_flat_over_repeated_renders():
    w = attention((13, 13))
    figures = PerThreadCache(4)
    for _ in range(2):  # fonts, the figure cache and the grid's figure: made once, before anything is traced
        hm.render_head(SENTENCE, w, title="warm-up", figures=figures)
        hm.render_grid(tokens(5), attention((2, 5, 5)), title="warm-up")
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(4):  # the title and value strings of the measured renders, laid out once (text caches)
            hm.render_head(SENTENCE, attention((13, 13), 100 + i), title="layer 0, head 0", figures=figures)
        gc.collect()
        start, _ = tracemalloc.get_traced_memory()
        for i in range(LEAK_RENDERS):
            hm.render_head(SENTENCE, attention((13, 13), i), title="layer 0, head 0", figures=figures)
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A leaked figure would be megabytes (a 700x700 RGBA canvas alone is ~2 MB): the budget catches a leak of
    # anything over 26 KB a render. Without one, ten renders grow by about 55 KB (matplotlib's bounded text caches).
    assert end - start < LEAK_RENDERS * 26 * 1024, (start, end)


# --------------------------------------------------------------------------- characters the font lacks

CJK = ["[CLS]", "我", "爱", "你", "##好", "[SEP]"]  # BERT splits CJK text into single characters


def drawable(text) -> set[int]:
    """Code points the fonts of a Text artist (its family list, fallbacks included) can draw."""
    cover: set[int] = set()
    for family in text.get_fontproperties().get_family():
        prop = text.get_fontproperties().copy()
        prop.set_family([family])
        cover.update(get_font(findfont(prop)).get_charmap())
    return cover


def label_artists(fig) -> list:
    """The token label Text artists of a single-head figure (x labels, then y labels)."""
    return [t for t in fig.axes[0].texts if t.get_gid() != "panel-title"]


def missing_glyph_messages(warned, records) -> list[str]:
    messages = [str(w.message) for w in warned] + [r.getMessage() for r in records]
    return [m for m in messages if "missing from font" in m]


def test_cjk_labels_drawn_with_a_font_that_has_them_or_as_code_points(caplog):
    fig = hm.build_head_figure(CJK, attention((6, 6)), title="t")
    artists = label_artists(fig)
    assert len(artists) == 2 * len(CJK)
    cover = drawable(artists[0])
    expected = ["".join(c if ord(c) in cover else f"U+{ord(c):04X}" for c in t) for t in CJK]
    assert [t.get_text() for t in artists] == expected * 2
    for t in artists:
        assert all(ord(c) in drawable(t) for c in t.get_text()), t.get_text()
    if 0x4F60 not in cover:  # no CJK font here: readable markers, prefix kept
        assert "U+4F60" in expected and "##U+597D" in expected

    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("always")
        hm.figure_to_png(fig)
        hm.render_head(CJK, attention((6, 6)), title="t", figures=PerThreadCache(1))
        hm.render_grid(CJK, attention((3, 6, 6)), title="t")
        hm.render_overview(CJK, attention((2, 2, 6, 6)), title="t")
    assert missing_glyph_messages(warned, caplog.records) == []


def test_missing_glyph_check_detects_tofu(caplog):
    """The warning check above can fail: drawing a CJK character with the default font warns."""
    fig = hm.build_head_figure(["x"], np.ones((1, 1)), title="t")
    fig.texts[0].set_text("\u4f60")  # an axis title, drawn with the default font only
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("always")
        hm.figure_to_png(fig)
    if 0x4F60 not in drawable(fig.texts[0]):
        assert missing_glyph_messages(warned, caplog.records)


def test_missing_glyph_markers_keep_subword_prefix_and_are_never_cut():
    ascii_only = frozenset(range(128))
    assert label("\u4f60", glyphs=ascii_only) == "U+4F60"
    assert label("##\u597d", glyphs=ascii_only) == "##U+597D"
    assert label("ab\u4f60", glyphs=ascii_only) == "abU+4F60"
    assert label("$\u4f60$", glyphs=ascii_only) == "$U+4F60$"
    assert label("\U0001f600", 10, ascii_only) == "U+1F600"
    assert label("a\t\u4f60", glyphs=ascii_only) == "a\\tU+4F60"  # control chars still escaped
    cut = label("\u6211\u7231\u4f60", glyphs=ascii_only)
    assert cut == "U+6211\u2026" and len(cut) <= hm.MAX_LABEL_CHARS
    for token in ["\u4f60", "##\u4f60", "\U0001f600", "##\U0001f600"]:  # one missing glyph fits uncut
        assert "\u2026" not in label(token, 10, ascii_only)
    # Without a glyph set (the summaries' quoting) the text is kept as it is.
    assert label("\u6211\u7231\u4f60") == "\u6211\u7231\u4f60"


def test_substituted_labels_are_measured_and_not_clipped():
    w = attention((6, 6))
    fig = hm.build_head_figure(CJK, w, title="t")
    drawn = [t.get_text() for t in label_artists(fig)][: len(CJK)]
    same = hm.build_head_figure(drawn, w, title="t")  # the drawn labels as plain tokens
    assert fig.get_size_inches() == pytest.approx(same.get_size_inches())
    assert fig.axes[0].get_position().bounds == pytest.approx(same.axes[0].get_position().bounds)
    assert_texts_inside(fig)
    assert_texts_inside(hm.build_grid_figure(CJK, attention((4, 6, 6)), title="t"))
    assert_texts_inside(hm.build_overview_figure(CJK, attention((2, 3, 6, 6)), title="t"))


def test_summaries_keep_original_cjk_text():
    w = np.full((6, 6), 0.01)
    w[1, 2] = 0.9  # 我 -> 爱
    w[3, 4] = 0.6  # 你 -> ##好
    noop = [True, False, False, False, False, True]
    assert named(CJK, links.strongest_links(w, noop, 2)) == [("\u6211", "\u7231", 0.9), ("\u4f60", "##\u597d", 0.6)]
    text = hm.alt_text(CJK, w, what="layer 0, head 0", noop=noop)
    assert "'\u6211' -> '\u7231' (0.9000)" in text and "'\u4f60' -> '##\u597d' (0.6000)" in text
    grid = hm.alt_text(CJK, np.stack([w * 0.5, w]), what="layer 0", noop=noop)
    assert "head 1 '\u6211' -> '\u7231' (0.9000)" in grid
    assert "U+" not in text + grid


def test_latin_accented_and_subword_labels_unchanged():
    toks = ["[CLS]", "caf\u00e9", "\u00fcber", "na\u00efve", "##ing", "\u0120the", "[SEP]"]
    fig = hm.build_head_figure(toks, attention((7, 7)), title="t")
    assert [t.get_text() for t in label_artists(fig)] == toks * 2
    grid = hm.build_grid_figure(toks, attention((2, 7, 7)), title="t")
    assert set(toks) <= set(all_text(grid))
    long_accented = hm.build_head_figure(["\u00e9" * 40], np.ones((1, 1)), title="t")
    assert "\u00e9" * (hm.MAX_LABEL_CHARS - 1) + "\u2026" in all_text(long_accented)
