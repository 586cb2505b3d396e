"""How well each offline stand-in does, and what it costs: the measurements behind docs/substitutes.md.

The offline pack has no sentiment classifier, no NER model and no masked language model, so /sentiment,
/ner and /fillmask run a stand-in there (core/tasks/standins/). Each was chosen among candidates by
measuring them on sentences written for this purpose, with gold labels: a **dev** set, on which the
candidates (prompts, label words, numbers of candidates) were compared and the winner picked, and a
**held-out** set, written before the choice and looked at only to report the winner's accuracy on text
it was not chosen on. Both are small (a few dozen sentences each): a difference of one or two
sentences is noise.

- sentiment: accuracy (the label with the higher score is the gold one).
- fill-mask: top-1 and top-5 accuracy (the hidden word, case-insensitive, is the first guess / among the
  first five), and how often the hidden word is among the candidates at all (the ceiling of a re-ranker).
- NER: entity-level precision, recall and F1 (an entity counts when its span and its type both match).

The chosen methods run through the tutor's own code (the handlers' stand-in modules); the other
candidates through the same helpers with their own prompts. Cost: seconds per text of each served
stand-in for one request alone and for a batch of 8, timed in turns, and as a ratio to one plain
forward pass of SmolLM2 over a sentence in the same run (the house rule: speed only as same-run ratios).

    python -m bench.substitutes            # everything (about 10 minutes on 2 free cores)
    python -m bench.substitutes --only sentiment,ner
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bench.common import bench_cache, environment, interleaved, write_results
from core.commands import build_registry
from core.models import Loaded, ModelStore
from core.packs import build_pack
from core.settings import Settings
from core.tasks.shared.base import forward, generate
from core.tasks.standins import fillmask as fill_standin
from core.tasks.standins import ner as ner_standin
from core.tasks.standins import next_token_logprobs, word_id
from core.tasks.standins import sentiment as sentiment_standin

# ----- the sentences (written for this bench; gold labels by hand) -----
SENTIMENT_DEV = [
    ("I love this phone, the battery lasts all day.", "POSITIVE"),
    ("The food was delicious and the staff were friendly.", "POSITIVE"),
    ("What a wonderful surprise, thank you so much!", "POSITIVE"),
    ("This film made me laugh from start to finish.", "POSITIVE"),
    ("The hotel room was clean, quiet and comfortable.", "POSITIVE"),
    ("I am really happy with how the project turned out.", "POSITIVE"),
    ("Great service, I will definitely come back.", "POSITIVE"),
    ("The new update makes the app much faster.", "POSITIVE"),
    ("She gave a brilliant talk and everyone enjoyed it.", "POSITIVE"),
    ("Not bad at all, better than I expected.", "POSITIVE"),
    ("The concert was amazing and the crowd was lovely.", "POSITIVE"),
    ("My new shoes are so comfortable I never want to take them off.", "POSITIVE"),
    ("This book is a beautiful, moving story.", "POSITIVE"),
    ("The teacher explained everything clearly and patiently.", "POSITIVE"),
    ("We had a fantastic holiday by the sea.", "POSITIVE"),
    ("The coffee here is excellent.", "POSITIVE"),
    ("I can't stop smiling, today was perfect.", "POSITIVE"),
    ("Setup took two minutes and it works flawlessly.", "POSITIVE"),
    ("The garden looks gorgeous in spring.", "POSITIVE"),
    ("Highly recommended, worth every penny.", "POSITIVE"),
    ("I hate this phone, the battery dies by noon.", "NEGATIVE"),
    ("The food was cold and the waiter was rude.", "NEGATIVE"),
    ("What a waste of time and money.", "NEGATIVE"),
    ("This film was boring and far too long.", "NEGATIVE"),
    ("The hotel room was dirty and noisy.", "NEGATIVE"),
    ("I am really disappointed with the result.", "NEGATIVE"),
    ("Terrible service, I will never come back.", "NEGATIVE"),
    ("The new update made the app slow and buggy.", "NEGATIVE"),
    ("His speech was dull and nobody listened.", "NEGATIVE"),
    ("Not good at all, worse than I expected.", "NEGATIVE"),
    ("The concert was cancelled and nobody told us.", "NEGATIVE"),
    ("These shoes hurt my feet after ten minutes.", "NEGATIVE"),
    ("This book is confusing and poorly written.", "NEGATIVE"),
    ("The teacher was impatient and explained nothing.", "NEGATIVE"),
    ("Our holiday was ruined by the constant rain.", "NEGATIVE"),
    ("The coffee here tastes awful.", "NEGATIVE"),
    ("I feel miserable, today was a disaster.", "NEGATIVE"),
    ("Setup took hours and it still crashes.", "NEGATIVE"),
    ("The garden is full of weeds and rubbish.", "NEGATIVE"),
    ("Avoid it, a complete rip-off.", "NEGATIVE"),
]
SENTIMENT_HELD = [
    ("The pasta was perfect and the dessert even better.", "POSITIVE"),
    ("Thanks for the quick reply, you solved my problem.", "POSITIVE"),
    ("This is the best keyboard I have ever owned.", "POSITIVE"),
    ("The kids loved the museum and want to go again.", "POSITIVE"),
    ("Fast delivery and the parcel was well packed.", "POSITIVE"),
    ("What a lovely, sunny afternoon in the park.", "POSITIVE"),
    ("The show was funny, clever and full of heart.", "POSITIVE"),
    ("I finally passed my driving test!", "POSITIVE"),
    ("The new manager is kind and listens to everyone.", "POSITIVE"),
    ("Such a cosy little cafe with great cakes.", "POSITIVE"),
    ("The sound quality is superb for the price.", "POSITIVE"),
    ("I never thought a sequel could be this good.", "POSITIVE"),
    ("The pasta was soggy and the dessert was stale.", "NEGATIVE"),
    ("Nobody answered my emails for three weeks.", "NEGATIVE"),
    ("This is the worst keyboard I have ever owned.", "NEGATIVE"),
    ("The kids were bored at the museum and wanted to leave.", "NEGATIVE"),
    ("The parcel arrived late and the box was crushed.", "NEGATIVE"),
    ("What a grey, depressing afternoon.", "NEGATIVE"),
    ("The show was predictable and the jokes fell flat.", "NEGATIVE"),
    ("I failed my driving test again.", "NEGATIVE"),
    ("The new manager shouts at everyone.", "NEGATIVE"),
    ("The cafe was crowded, loud and overpriced.", "NEGATIVE"),
    ("The sound keeps cutting out, it is useless.", "NEGATIVE"),
    ("I regret buying this, it broke after a week.", "NEGATIVE"),
]
FILL_DEV = [
    ("Paris is the [MASK] of France.", "capital"),
    ("The cat sat on the [MASK].", "mat"),
    ("I drink a cup of [MASK] every morning.", "coffee"),
    ("The sun rises in the [MASK].", "east"),
    ("She opened the door with her [MASK].", "key"),
    ("Water freezes at zero [MASK] Celsius.", "degrees"),
    ("He wrote the letter with a [MASK].", "pen"),
    ("We sleep in a [MASK] at night.", "bed"),
    ("The doctor works in a [MASK].", "hospital"),
    ("There are seven days in a [MASK].", "week"),
    ("The children played in the [MASK] after school.", "park"),
    ("Bees make [MASK] from nectar.", "honey"),
    ("I read a good [MASK] last night.", "book"),
    ("The sky is [MASK] on a clear day.", "blue"),
    ("She brushed her [MASK] before going to bed.", "teeth"),
    ("A dog is a loyal [MASK].", "friend"),
    ("The train leaves from platform [MASK].", "two"),
    ("Please turn off the [MASK] when you leave the room.", "light"),
    ("My phone needs to be [MASK] every night.", "charged"),
    ("Fish live in the [MASK].", "water"),
    ("He put on his coat because it was [MASK] outside.", "cold"),
    ("The opposite of hot is [MASK].", "cold"),
    ("I bought some bread at the [MASK].", "bakery"),
    ("Snow is white and grass is [MASK].", "green"),
    ("We went to the beach to swim in the [MASK].", "sea"),
    ("Ten minus three is [MASK].", "seven"),
    ("The baby is [MASK] in her cot.", "sleeping"),
    ("Birds can [MASK] because they have wings.", "fly"),
    ("London is the capital of [MASK].", "England"),
    ("The first month of the year is [MASK].", "January"),
    ("He is allergic to peanuts, so he never eats [MASK] butter.", "peanut"),
    ("She plays the [MASK] in an orchestra.", "violin"),
    ("The moon goes around the [MASK].", "Earth"),
    ("I wash my hands with soap and [MASK].", "water"),
    ("Cows give us [MASK].", "milk"),
    ("The library is full of [MASK].", "books"),
    ("It was raining, so I took my [MASK].", "umbrella"),
    ("My favourite colour is [MASK].", "blue"),
    ("He scored a goal in the last [MASK] of the game.", "minute"),
    ("The shop opens at nine in the [MASK].", "morning"),
]
FILL_HELD = [
    ("Berlin is the capital of [MASK].", "Germany"),
    ("I brush my teeth with a [MASK].", "toothbrush"),
    ("The cow eats [MASK] in the field.", "grass"),
    ("We use an [MASK] to keep the rain off.", "umbrella"),
    ("She drinks her tea with milk and [MASK].", "sugar"),
    ("A year has twelve [MASK].", "months"),
    ("He parked the [MASK] in the garage.", "car"),
    ("The pilot flew the [MASK] to Rome.", "plane"),
    ("I need my glasses to [MASK] the small print.", "read"),
    ("The kettle is boiling, so the water is [MASK].", "hot"),
    ("The football match ended in a [MASK].", "draw"),
    ("Monkeys like to eat [MASK].", "bananas"),
    ("He cut the paper with a pair of [MASK].", "scissors"),
    ("Please close the [MASK], it is cold in here.", "window"),
    ("The [MASK] barked at the postman.", "dog"),
    ("I write with my right [MASK].", "hand"),
    ("At night we can see the [MASK] in the sky.", "stars"),
    ("The students listened to the [MASK] in class.", "teacher"),
    ("Two plus two equals [MASK].", "four"),
    ("She put the milk back in the [MASK].", "fridge"),
]
NER_DEV = [
    ("My name is Ada and I live in London.", [("Ada", "PER"), ("London", "LOC")]),
    ("Barack Obama was born in Hawaii.", [("Barack Obama", "PER"), ("Hawaii", "LOC")]),
    ("Apple opened a new store in Berlin.", [("Apple", "ORG"), ("Berlin", "LOC")]),
    ("Marie Curie worked at the University of Paris.", [("Marie Curie", "PER"), ("University of Paris", "ORG")]),
    ("The Amazon flows through Brazil.", [("Amazon", "LOC"), ("Brazil", "LOC")]),
    ("Google and Microsoft compete in search.", [("Google", "ORG"), ("Microsoft", "ORG")]),
    ("Angela Merkel met Emmanuel Macron in Brussels.",
     [("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Brussels", "LOC")]),
    ("The Eiffel Tower is in Paris.", [("Eiffel Tower", "LOC"), ("Paris", "LOC")]),
    ("Toyota builds cars in Japan.", [("Toyota", "ORG"), ("Japan", "LOC")]),
    ("Lionel Messi plays for Inter Miami.", [("Lionel Messi", "PER"), ("Inter Miami", "ORG")]),
    ("We flew from Madrid to Lisbon with Iberia.", [("Madrid", "LOC"), ("Lisbon", "LOC"), ("Iberia", "ORG")]),
    ("Shakespeare wrote Hamlet.", [("Shakespeare", "PER"), ("Hamlet", "MISC")]),
    ("The United Nations has its headquarters in New York.", [("United Nations", "ORG"), ("New York", "LOC")]),
    ("Tom and Maria visited Rome last summer.", [("Tom", "PER"), ("Maria", "PER"), ("Rome", "LOC")]),
    ("Amazon delivers parcels across Germany.", [("Amazon", "ORG"), ("Germany", "LOC")]),
    ("Albert Einstein was born in Ulm.", [("Albert Einstein", "PER"), ("Ulm", "LOC")]),
    ("The BBC reported heavy snow in Scotland.", [("BBC", "ORG"), ("Scotland", "LOC")]),
    ("She speaks French and Spanish.", [("French", "MISC"), ("Spanish", "MISC")]),
    ("Elon Musk runs Tesla.", [("Elon Musk", "PER"), ("Tesla", "ORG")]),
    ("The Nile is the longest river in Africa.", [("Nile", "LOC"), ("Africa", "LOC")]),
    ("Yesterday John bought a Samsung phone.", [("John", "PER"), ("Samsung", "ORG")]),
    ("Mount Everest lies between Nepal and China.", [("Mount Everest", "LOC"), ("Nepal", "LOC"), ("China", "LOC")]),
    ("Real Madrid beat Barcelona on Sunday.", [("Real Madrid", "ORG"), ("Barcelona", "ORG")]),
    ("The Olympic Games were held in Tokyo.", [("Olympic Games", "MISC"), ("Tokyo", "LOC")]),
    ("Professor Smith teaches at Oxford University.", [("Smith", "PER"), ("Oxford University", "ORG")]),
    ("Netflix released a new series about Napoleon.", [("Netflix", "ORG"), ("Napoleon", "PER")]),
    ("I met Sarah at the station in Manchester.", [("Sarah", "PER"), ("Manchester", "LOC")]),
    ("The European Union signed a deal with Canada.", [("European Union", "ORG"), ("Canada", "LOC")]),
    ("Picasso painted Guernica in 1937.", [("Picasso", "PER"), ("Guernica", "MISC")]),
    ("Our team uses Python at IBM.", [("Python", "MISC"), ("IBM", "ORG")]),
    ("The Thames runs through Oxford and London.", [("Thames", "LOC"), ("Oxford", "LOC"), ("London", "LOC")]),
    ("Mozart was an Austrian composer.", [("Mozart", "PER"), ("Austrian", "MISC")]),
]
NER_HELD = [
    ("Lucy moved from Dublin to Toronto.", [("Lucy", "PER"), ("Dublin", "LOC"), ("Toronto", "LOC")]),
    ("Samsung and Sony make televisions.", [("Samsung", "ORG"), ("Sony", "ORG")]),
    ("Charles Darwin sailed to the Galapagos.", [("Charles Darwin", "PER"), ("Galapagos", "LOC")]),
    ("The World Health Organization is based in Geneva.", [("World Health Organization", "ORG"), ("Geneva", "LOC")]),
    ("Peter works for Siemens in Munich.", [("Peter", "PER"), ("Siemens", "ORG"), ("Munich", "LOC")]),
    ("Frida Kahlo was born in Mexico.", [("Frida Kahlo", "PER"), ("Mexico", "LOC")]),
    ("The Danube flows into the Black Sea.", [("Danube", "LOC"), ("Black Sea", "LOC")]),
    ("Last week Nokia opened an office in Helsinki.", [("Nokia", "ORG"), ("Helsinki", "LOC")]),
    ("Ahmed and Priya study at Stanford.", [("Ahmed", "PER"), ("Priya", "PER"), ("Stanford", "ORG")]),
    ("Beethoven lived in Vienna.", [("Beethoven", "PER"), ("Vienna", "LOC")]),
    ("The Red Cross sent help to Haiti.", [("Red Cross", "ORG"), ("Haiti", "LOC")]),
    ("Serena Williams won Wimbledon seven times.", [("Serena Williams", "PER"), ("Wimbledon", "MISC")]),
    ("He speaks German at home.", [("German", "MISC")]),
    ("Greta travelled to Sweden by train.", [("Greta", "PER"), ("Sweden", "LOC")]),
    ("Ford sells many trucks in Texas.", [("Ford", "ORG"), ("Texas", "LOC")]),
    ("My friend Omar lives near Cairo.", [("Omar", "PER"), ("Cairo", "LOC")]),
]
CHUNK = 16
"""Texts per forward pass in the bench (the tutor batches what arrives together)."""

Models = dict[str, Loaded]


def load_models(settings: Settings) -> Models:
    """The offline pack's two models as the tutor loads them: SmolLM2 (chat) and all-MiniLM-L6-v2 (embedding)."""
    pack = build_pack(settings, build_registry())
    store = ModelStore(settings, pack.twins())
    return {"chat": store.get("sentiment", pack.spec("sentiment")), "embedding": store.get("zeroshot",
                                                                                           pack.spec("zeroshot"))}


def chosen(candidates: dict[str, Any], match: str) -> dict[str, Any]:
    """The candidates whose name contains `match` (all of them for "")."""
    return {name: run for name, run in candidates.items() if match.lower() in name.lower()}


def chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def embed(loaded: Loaded, texts: Sequence[str]) -> torch.Tensor:
    """Mean-pooled, normalised sentence vectors (what /zeroshot's embedding way does)."""
    batch = loaded.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    hidden = forward(loaded, batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


# ----- sentiment -----
def sentiment_served(models: Models, texts: Sequence[str]) -> list[str]:
    """The tutor's own stand-in (core/tasks/standins/sentiment.py): the label its answer gives."""
    out = []
    for part in chunks(texts):
        out += [r.table.rows[0][0] for r in sentiment_standin.run_batch(models["chat"], list(part))]
    return out


def sentiment_prompt(template: str, words: tuple[str, str], chat: bool = False,
                     calibrate: str | None = None) -> Callable[[Models, Sequence[str]], list[str]]:
    """Another prompt (or the chat template, with the user's message `template`), and the two answer
    words; `calibrate`: subtract the score difference of a content-free text (contextual calibration)."""
    def run(models: Models, texts: Sequence[str]) -> list[str]:
        loaded = models["chat"]
        pos, neg = (word_id(loaded, w) for w in words)

        def ids(text: str) -> list[int]:
            if chat:
                messages = [{"role": "user", "content": template.format(text=text)}]
                return list(loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                                 tokenize=True, return_dict=True)["input_ids"])
            return list(loaded.tokenizer(template.format(text=text), add_special_tokens=False)["input_ids"])

        shift = 0.0
        if calibrate is not None:
            row = next_token_logprobs(loaded, [ids(calibrate)])[0]
            shift = float(row[pos] - row[neg])
        labels = []
        for part in chunks(texts):
            rows = next_token_logprobs(loaded, [ids(t) for t in part])
            labels += ["POSITIVE" if float(r[pos] - r[neg]) > shift else "NEGATIVE" for r in rows]
        return labels
    return run


def sentiment_similarity(positive: str, negative: str) -> Callable[[Models, Sequence[str]], list[str]]:
    """all-MiniLM-L6-v2: the label sentence whose vector is closer (cosine) to the text's."""
    def run(models: Models, texts: Sequence[str]) -> list[str]:
        labels = embed(models["embedding"], [positive, negative])
        out = []
        for part in chunks(texts):
            sims = embed(models["embedding"], part) @ labels.T
            out += ["POSITIVE" if float(s[0]) > float(s[1]) else "NEGATIVE" for s in sims]
        return out
    return run


SENTIMENT_CANDIDATES: dict[str, Callable[[Models, Sequence[str]], list[str]]] = {
    "SmolLM2 `Text: ..\\nSentiment:` -> ` positive`/` negative` (served)": sentiment_served,
    "SmolLM2 `Review: \"..\"\\nSentiment (positive or negative):`": sentiment_prompt(
        'Review: "{text}"\nSentiment (positive or negative):', (" positive", " negative")),
    "SmolLM2 `..\\nThe sentiment of this text is`": sentiment_prompt(
        "{text}\nThe sentiment of this text is", (" positive", " negative")),
    "SmolLM2 chat template, first reply token `positive`/`negative`": sentiment_prompt(
        "Is the sentiment of this text positive or negative? Answer with one word.\n\n{text}",
        ("positive", "negative"), chat=True),
    "SmolLM2 served prompt, calibrated on `N/A`": sentiment_prompt(
        sentiment_standin.PROMPT, (" positive", " negative"), calibrate="N/A"),
    "MiniLM similarity to `positive` / `negative`": sentiment_similarity("positive", "negative"),
    "MiniLM similarity to `This is positive.` / `This is negative.`": sentiment_similarity(
        "This is positive.", "This is negative."),
    "MiniLM similarity to `a happy, positive text` / `an unhappy, negative text`": sentiment_similarity(
        "a happy, positive text", "an unhappy, negative text"),
}


def bench_sentiment(models: Models, match: str = "") -> list[dict[str, Any]]:
    rows = []
    for name, run in chosen(SENTIMENT_CANDIDATES, match).items():
        scores = {}
        misses = []
        for split, data in (("dev", SENTIMENT_DEV), ("held-out", SENTIMENT_HELD)):
            got = run(models, [t for t, _ in data])
            scores[split] = sum(g == gold for g, (_, gold) in zip(got, data, strict=True)) / len(data)
            misses += [text for g, (text, gold) in zip(got, data, strict=True) if g != gold]
        rows.append({"candidate": name, **scores, "wrong": misses})
        print(f"  {name:<78} dev {scores['dev']:.3f}  held-out {scores['held-out']:.3f}", flush=True)
        if "(served)" in name:
            print(f"    wrong: {misses}", flush=True)
    return rows


# ----- fill-mask -----
def fill_served(models: Models, texts: Sequence[str]) -> list[tuple[list[str], list[str]]]:
    """The tutor's stand-in: (its guesses best first, the candidates in the left context's order)."""
    out = []
    for part in chunks(texts, 4):
        for filled in fill_standin.fill(models["chat"], list(part)):
            out.append(([g.word for g in filled.guesses],
                        [g.word for g in sorted(filled.guesses, key=lambda g: g.left_rank)]))
    return out


def fill_variant(count: int, start: str | None = None) -> Callable[[Models, Sequence[str]], list[tuple[list[str],
                                                                                                      list[str]]]]:
    """The served method with another number of candidates, or another start token."""
    def run(models: Models, texts: Sequence[str]) -> list[tuple[list[str], list[str]]]:
        out = []
        for part in chunks(texts, 4):
            for filled in fill_standin.fill(models["chat"], list(part), count, start or fill_standin.START):
                out.append(([g.word for g in filled.guesses],
                            [g.word for g in sorted(filled.guesses, key=lambda g: g.left_rank)]))
        return out
    return run


FILL_CANDIDATES = {
    "rescored whole sentences, 20 candidates from `<|endoftext|>` (served)": fill_served,
    "rescored, 10 candidates": fill_variant(10),
    "rescored, 50 candidates": fill_variant(50),
    "rescored, 20 candidates, from `<|im_start|>` (the chat model's BOS)": fill_variant(20, "<|im_start|>"),
}


def bench_fill(models: Models, match: str = "") -> list[dict[str, Any]]:
    rows = []
    for name, run in chosen(FILL_CANDIDATES, match).items():
        row: dict[str, Any] = {"candidate": name}
        left: dict[str, Any] = {"candidate": name.split(",")[0].replace("rescored whole sentences", "left context "
                                                                        "alone (no re-ranking)")}
        for split, data in (("dev", FILL_DEV), ("held-out", FILL_HELD)):
            got = run(models, [t for t, _ in data])
            golds = [g.lower() for _, g in data]
            ranked = [[w.lower() for w in guesses] for guesses, _ in got]
            by_left = [[w.lower() for w in order] for _, order in got]
            n = len(data)
            row[f"{split} top-1"] = sum(r[:1] == [g] for r, g in zip(ranked, golds, strict=True)) / n
            row[f"{split} top-5"] = sum(g in r[:5] for r, g in zip(ranked, golds, strict=True)) / n
            row[f"{split} in candidates"] = sum(g in r for r, g in zip(ranked, golds, strict=True)) / n
            left[f"{split} top-1"] = sum(r[:1] == [g] for r, g in zip(by_left, golds, strict=True)) / n
            left[f"{split} top-5"] = sum(g in r[:5] for r, g in zip(by_left, golds, strict=True)) / n
            left[f"{split} in candidates"] = row[f"{split} in candidates"]
            row.setdefault("wrong", []).extend(f"{text} -> {r[0] if r else '-'} (not {g})" for r, g, (text, _)
                                               in zip(ranked, golds, data, strict=True) if r[:1] != [g])
        if "(served)" in name:
            rows.append(left)
            _print_fill(left)
        rows.append(row)
        _print_fill(row)
        if "(served)" in name:
            print(f"    wrong: {row['wrong']}", flush=True)
    return rows


def _print_fill(row: dict[str, Any]) -> None:
    print(f"  {row['candidate']:<72} dev top-1 {row['dev top-1']:.3f} top-5 {row['dev top-5']:.3f} "
          f"(ceiling {row['dev in candidates']:.3f})  held-out top-1 {row['held-out top-1']:.3f} "
          f"top-5 {row['held-out top-5']:.3f}", flush=True)


# ----- NER -----
Found = list[tuple[int, int, str]]
NerRun = Callable[[Models, Sequence[str]], list[Found]]


def ner_served(models: Models, texts: Sequence[str]) -> list[Found]:
    out = []
    for part in chunks(texts, 8):
        out += [[(e.start, e.end, e.entity_group) for e in found] for found in ner_standin.find(models["chat"],
                                                                                               list(part))]
    return out


def ner_typed_by_words(template: str, words: dict[str, tuple[str, ...]]
                       ) -> Callable[[Models, Sequence[str]], list[Found]]:
    """The served spans, typed with another prompt or other type words."""
    def run(models: Models, texts: Sequence[str]) -> list[Found]:
        loaded = models["chat"]
        ids = {kind: [word_id(loaded, w) for w in ws] for kind, ws in words.items()}
        out = []
        for text in texts:
            spans = ner_standin.spans(text)
            if not spans:
                out.append([])
                continue
            prompts = [list(loaded.tokenizer(template.format(sentence=text, span=text[a:b]),
                                             add_special_tokens=False)["input_ids"]) for a, b in spans]
            rows = next_token_logprobs(loaded, prompts)
            found = []
            for (a, b), row in zip(spans, rows, strict=True):
                pooled = {kind: float(row[i].logsumexp(0)) for kind, i in ids.items()}
                found.append((a, b, max(pooled, key=lambda k: pooled[k])))
            out.append(found)
        return out
    return run


TYPE_DESCRIPTIONS = {"PER": "the name of a person", "LOC": "the name of a place, such as a city, country, river or "
                     "mountain", "ORG": "the name of an organisation, such as a company, team, university or "
                     "institution", "MISC": "a language, nationality, event, product or work of art"}


def ner_minilm(models: Models, texts: Sequence[str]) -> list[Found]:
    """The served spans, typed by all-MiniLM-L6-v2: the type description closest (cosine) to the span's text."""
    kinds = list(TYPE_DESCRIPTIONS)
    described = embed(models["embedding"], list(TYPE_DESCRIPTIONS.values()))
    out = []
    for text in texts:
        spans = ner_standin.spans(text)
        if not spans:
            out.append([])
            continue
        sims = embed(models["embedding"], [text[a:b] for a, b in spans]) @ described.T
        out.append([(a, b, kinds[int(s.argmax())]) for (a, b), s in zip(spans, sims, strict=True)])
    return out


CHAT_TYPES = {"person": "PER", "place": "LOC", "location": "LOC", "organisation": "ORG", "organization": "ORG",
              "company": "ORG", "other": "MISC"}


def ner_chat_list(models: Models, texts: Sequence[str]) -> list[Found]:
    """SmolLM2 asked to list the entities (greedy, 48 new tokens), each line `name | type` found in the text."""
    loaded = models["chat"]
    out = []
    for text in texts:
        messages = [{"role": "system", "content": "List every named entity in the user's text, one per line, as: "
                     "name | type. The type is person, place, organisation or other."},
                    {"role": "user", "content": text}]
        enc = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True)
        ids = generate(loaded, enc, max_new_tokens=48, do_sample=False)
        reply = loaded.tokenizer.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        found = []
        for line in reply.splitlines():
            name, bar, kind = line.partition("|")
            name = name.strip(" -*.0123456789").strip()
            mapped = CHAT_TYPES.get(kind.strip().lower().split(" ")[0] if kind.strip() else "")
            at = text.find(name) if bar and name else -1
            if mapped and at >= 0:
                found.append((at, at + len(name), mapped))
        out.append(found)
    return out


NER_CANDIDATES = {
    "capitalised spans, SmolLM2 `What kind of thing is ..?`, 3-4 type words each (served)": ner_served,
    "capitalised spans, SmolLM2 `What kind of thing is ..?`, 1 type word each": ner_typed_by_words(
        ner_standin.PROMPT, {"PER": (" person",), "LOC": (" place",), "ORG": (" organization",),
                             "MISC": (" thing",)}),
    "capitalised spans, SmolLM2 `In the sentence above, .. is the name of a`, 3-4 words": ner_typed_by_words(
        '{sentence}\nIn the sentence above, "{span}" is the name of a', ner_standin.TYPE_WORDS),
    "capitalised spans, SmolLM2 `In the sentence above, ..`, 1 word each": ner_typed_by_words(
        '{sentence}\nIn the sentence above, "{span}" is the name of a',
        {"PER": (" person",), "LOC": (" place",), "ORG": (" organization",), "MISC": (" thing",)}),
    "capitalised spans, MiniLM similarity to type descriptions": ner_minilm,
    "SmolLM2 chat model asked to list entities (generated, aligned to the text)": ner_chat_list,
}


def gold_spans(text: str, entities: list[tuple[str, str]]) -> set[tuple[int, int, str]]:
    out, at = set(), 0
    for name, kind in entities:
        start = text.index(name, at)
        out.add((start, start + len(name), kind))
        at = start + len(name)
    return out


def prf(found: list[Found], data: Sequence[tuple[str, list[tuple[str, str]]]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for got, (text, entities) in zip(found, data, strict=True):
        gold, mine = gold_spans(text, entities), set(got)
        tp, fp, fn = tp + len(gold & mine), fp + len(mine - gold), fn + len(gold - mine)
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bench_ner(models: Models, match: str = "") -> list[dict[str, Any]]:
    rows = []
    spans_only = [(a, b) for text, _ in NER_DEV + NER_HELD for a, b in ner_standin.spans(text)]
    gold_only = [(a, b) for text, ents in NER_DEV + NER_HELD for a, b, _ in gold_spans(text, ents)]
    print(f"  span proposal: {len(spans_only)} spans proposed, {len(gold_only)} gold", flush=True)
    for name, run in chosen(NER_CANDIDATES, match).items():
        row: dict[str, Any] = {"candidate": name}
        for split, data in (("dev", NER_DEV), ("held-out", NER_HELD)):
            found = run(models, [t for t, _ in data])
            p, r, f = prf(found, data)
            row.update({f"{split} P": p, f"{split} R": r, f"{split} F1": f})
            row.setdefault("wrong", []).extend(
                f"{text[a:b]} -> {kind}" for got, (text, ents) in zip(found, data, strict=True)
                for a, b, kind in sorted(set(got) - gold_spans(text, ents)))
        rows.append(row)
        print(f"  {name:<80} dev P {row['dev P']:.3f} R {row['dev R']:.3f} F1 {row['dev F1']:.3f}  held-out "
              f"P {row['held-out P']:.3f} R {row['held-out R']:.3f} F1 {row['held-out F1']:.3f}", flush=True)
        if "(served)" in name:
            print(f"    wrong: {row['wrong']}", flush=True)
    return rows


# ----- cost -----
def bench_cost(models: Models, repeats: int) -> dict[str, Any]:
    """Seconds per text of each served stand-in, alone and in a batch of 8, timed in turns with one plain
    SmolLM2 forward pass over a sentence (the unit of the ratios). On a shared machine a neighbour's
    work lands on some calls: the fastest of the calls is the figure (the cost of the work itself), the
    median is printed beside it; and the token positions each case runs through the model, a measure of
    its work that no neighbour changes."""
    loaded = models["chat"]
    sentence = SENTIMENT_DEV[0][0]
    plain = loaded.tokenizer(sentence, return_tensors="pt")
    eight = [t for t, _ in SENTIMENT_DEV[:8]]
    fills = [t for t, _ in FILL_DEV[:8]]
    names = [t for t, _ in NER_DEV[:8]]
    calls = {
        "one forward pass (unit)": lambda: forward(loaded, plain),
        "/sentiment, 1 text": lambda: sentiment_standin.run_batch(loaded, eight[:1]),
        "/sentiment, batch of 8": lambda: sentiment_standin.run_batch(loaded, eight),
        "/fillmask, 1 text": lambda: fill_standin.fill(loaded, fills[:1]),
        "/fillmask, batch of 8": lambda: fill_standin.fill(loaded, fills),
        "/ner, 1 text": lambda: ner_standin.find(loaded, names[:1]),
        "/ner, batch of 8": lambda: ner_standin.find(loaded, names),
    }
    work = {"one forward pass (unit)": int(plain["input_ids"].shape[1])}
    for size, label in ((1, "1 text"), (8, "batch of 8")):
        work[f"/sentiment, {label}"] = sum(len(sentiment_standin.prompt_ids(loaded, t)) for t in eight[:size])
        work[f"/fillmask, {label}"] = sum(_fill_positions(loaded, t) for t in fills[:size])
        work[f"/ner, {label}"] = sum(_ner_positions(loaded, t) for t in names[:size])
    samples: dict[str, list[float]] = {}
    medians = interleaved(calls, repeats, keep=samples)
    fastest = {name: min(values) for name, values in samples.items()}
    table = {}
    for name in calls:
        per_text = fastest[name] / 8 if "batch of 8" in name else fastest[name]
        table[name] = {"median_s": medians[name], "min_s": fastest[name], "min_s_per_text": per_text,
                       "forward_passes": fastest[name] / fastest["one forward pass (unit)"],
                       "positions": work[name]}
        print(f"  {name:<28} {work[name]:5d} token positions; fastest {fastest[name]:7.3f} s per call "
              f"({per_text:6.3f} s per text, {table[name]['forward_passes']:5.1f}x one forward pass); median "
              f"{medians[name]:7.3f} s", flush=True)
    return table


def _fill_positions(loaded: Loaded, text: str) -> int:
    """Token positions the fill-mask stand-in runs: the left context once, then every filled-in sentence."""
    left, right, _ = fill_standin.parts(loaded, text, fill_standin.start_id(loaded))
    return len(left) + fill_standin.CANDIDATES * (len(left) + 1 + len(right))


def _ner_positions(loaded: Loaded, text: str) -> int:
    """Token positions the NER stand-in runs: one prompt per proposed name."""
    return sum(len(loaded.tokenizer(ner_standin.PROMPT.format(sentence=ner_standin.sentence_of(text, a),
                                                              span=text[a:b]), add_special_tokens=False)["input_ids"])
               for a, b in ner_standin.spans(text))


PARTS = ("sentiment", "fillmask", "ner", "cost")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.substitutes", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--match", default="", help="only the candidates whose name contains this")
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per cost case")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    torch.manual_seed(0)
    started = time.perf_counter()
    models = load_models(Settings(pack="offline", cache_dir=bench_cache()))
    results: dict[str, Any] = {"environment": environment(), "threads": torch.get_num_threads()}
    sizes = {"sentiment": (len(SENTIMENT_DEV), len(SENTIMENT_HELD)), "fillmask": (len(FILL_DEV), len(FILL_HELD)),
             "ner": (len(NER_DEV), len(NER_HELD))}
    runs = {"sentiment": bench_sentiment, "fillmask": bench_fill, "ner": bench_ner}
    for part in parts:
        if part in runs:
            dev, held = sizes[part]
            print(f"{part}: {dev} dev sentences, {held} held-out", flush=True)
            results[part] = runs[part](models, args.match)
        else:
            print(f"cost ({args.repeats} timed calls each, in turns)", flush=True)
            results["cost"] = bench_cost(models, args.repeats)
    results["seconds"] = time.perf_counter() - started
    results["loadavg_after"] = environment()["loadavg"]
    path = write_results("substitutes" + ("-" + "-".join(parts) if parts != list(PARTS) else ""), results)
    print(f"wrote {path} in {results['seconds']:.0f} s (load average before {results['environment']['loadavg']}, "
          f"after {results['loadavg_after']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
