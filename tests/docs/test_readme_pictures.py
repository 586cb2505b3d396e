"""The README's explored answer and quiz round (docs/make_pictures.py) are drawn from real runs on the tiny pack."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.actions import Action, Menu
from core.policy import Policy
from docs.make_pictures import LEARNERS, Picture, explored, heatmap_of, policy_for, quiz_round
from tests.support.paths import TEST_CACHE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 250_000


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Policy]:
    made = policy_for("tiny", TEST_CACHE, tmp_path_factory.mktemp("pictures"))
    yield made
    made.engine.close()


def _checked_png(picture: Picture) -> Image.Image:
    data = picture.path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) <= MAX_BYTES, (picture.path, len(data))
    with Image.open(picture.path) as image:
        image.verify()
    image = Image.open(picture.path).convert("RGB")
    assert image.size == picture.size and image.width >= 700 and image.height >= 500
    return image


def _drawn_as_actions(picture: Picture) -> None:
    """The buttons drawn are the answer's own buttons, in order, and the select is its own menu."""
    choices = picture.result.actions
    assert [c.label for c in picture.components if c.widget == "button"] == \
        [c.label for c in choices if isinstance(c, Action)]
    assert [c.label for c in picture.components if c.widget == "select"] == \
        [c.placeholder for c in choices if isinstance(c, Menu)]


async def test_the_explored_answer_draws_the_real_picture_and_buttons_before_and_after_a_click(
        policy: Policy, tmp_path: Path):
    before, after = await explored(policy, tmp_path)
    assert "head 0" in before.result.answer and "head 1" in after.result.answer
    for picture in (before, after):
        image = _checked_png(picture)
        _drawn_as_actions(picture)
        heatmap = heatmap_of(picture.result)
        x, y = picture.image_at
        assert image.crop((x, y, x + heatmap.width, y + heatmap.height)).tobytes() == heatmap.tobytes()
    assert any(c.label.startswith("Head 1") for c in before.components)
    assert any(c.label.startswith("Head 2") for c in after.components)
    assert before.result.images[0].png != after.result.images[0].png


async def test_the_quiz_transcript_holds_question_options_each_answer_and_the_reveal(policy: Policy):
    transcript = await quiz_round(policy, "tiny")
    assert "**Quiz: tokenizers.**" in transcript
    options = re.findall(r"^> \*\*([A-D])\.\*\* ", transcript, flags=re.M)
    assert options == list("ABCD") * 2, "four options asked, the same four revealed"
    assert re.search(r"^> \*\*Answer: [A-D]\. ", transcript, flags=re.M)
    for learner in LEARNERS:
        assert re.search(rf"\*\*{learner}\*\* clicks .*\n\n> You chose", transcript)
    assert "already answered this one" in transcript
    assert f"{len(LEARNERS)} answers, 2 right." in transcript
    assert "```python" in transcript and "# It prints:" in transcript
