"""/mydata is complete on every platform, however much is kept: 40 quizzes' worth (about 130,000
characters of JSON) reaches the learner whole, as a file where a message cannot hold it (Discord
attaches it; Slack uploads it to the learner's DM with the bot, since an ephemeral message cannot carry
a file), in split messages on the fake platform, in full at the console.
"""
from __future__ import annotations

import json
import secrets

import sqlalchemy as sa

from core.store.schema import answers, rounds
from tests.conformance.scenarios import Driver
from tests.conformance.test_conformance_product import Product, driver, learner_in, product  # noqa: F401 - the fixtures

QUIZZES = 40


def copy_rounds(product: Product, learner: str, count: int) -> list[str]:  # noqa: F811
    """`count` more answered DM rounds for `learner`, copies of the round they really played (the
    per-minute bounds on new rounds are another test's business; this one is about the export's size)."""
    engine = sa.create_engine(product.url)
    made = []
    try:
        with engine.begin() as conn:
            played = conn.execute(sa.select(rounds).where(rounds.c.asker == learner)).mappings().first()
            answer = conn.execute(sa.select(answers).where(answers.c.learner == learner)).mappings().first()
            assert played is not None and answer is not None
            for n in range(count):
                rid = secrets.token_urlsafe(8)
                conn.execute(sa.insert(rounds).values({**played, "id": rid, "created": played["created"] + n}))
                conn.execute(sa.insert(answers).values({**{k: v for k, v in answer.items() if k != "id"},
                                                        "round_id": rid, "at": answer["at"] + n}))
                made.append(rid)
    finally:
        engine.dispose()
    return made


async def test_mydata_of_forty_quizzes_reaches_the_learner_complete(driver: Driver, product: Product):  # noqa: F811
    user = "big-export"
    asked = await driver.ask(user, "/quiz cls-id")
    choice = next(label for label in asked.actions if label.startswith("A"))
    await driver.choose(user, asked, choice)
    if "Reveal" in asked.actions:  # a channel round: until its reveal, /mydata rightly withholds the key
        await driver.choose(user, asked, "Reveal")
    learner = learner_in(await driver.ask(user, "/mydata"))
    made = copy_rounds(product, learner, QUIZZES - 1)

    mine = await driver.ask(user, "/mydata")
    assert mine.private or not driver.shared
    assert "Trimmed" not in mine.text and "cut to fit" not in mine.text
    exported = "\n".join(data.decode("utf-8") for name, data in mine.files.items() if name == "mydata.json")
    assert exported or driver.name in ("fake", "console"), "Discord and Slack cannot show it in one message"
    if exported:  # a file: the JSON as it is, nothing cut
        document = json.loads(exported)
        assert len(document["tables"]["tutor_rounds"]) == QUIZZES
        assert len(document["tables"]["tutor_answers"]) == QUIZZES
        assert "mydata.json" in mine.text, "the message says where the JSON went"
    assert len(mine.everything) > 100_000
    assert all(rid in mine.everything for rid in made), "every round is in what the learner got"
