"""The sentence bank the question pool draws from: short texts chosen so each question teaches.

Each kind has its own list (see core/tutor/kinds/). Keys are never written here: a model run
computes them (a question whose run gives no fair four options is skipped). Texts stay under 60
characters, so the ordinary command they open with ("Open as /attention") reads them whole.
"""
from __future__ import annotations

from core.tutor.questions import Item

WORDS = tuple(Item(w) for w in (
    "unbelievably", "tokenization", "transformers", "unhappiness", "misunderstood", "preprocessing",
    "internationalization", "bookkeeper", "overthinking", "embeddings", "subwords", "rethinking",
    "Huggingface", "uncharacteristically", "deformation", "playfulness", "microscopic", "antibodies",
))

SENTENCES = tuple(Item(s) for s in (
    "The cat sat on the mat.", "I'm learning about tokenizers.", "Attention is all you need!",
    "Paris is lovely in spring.", "My name is Ada.", "Tokenizers split words into pieces.",
    "Unbelievably, it worked.", "The model reads ids, not words.", "Hello world, hello tutor.",
))

PAIRS = (
    Item("The cat sat.", extra=("The cat sat on the mat because it was tired.",)),
    Item("Hi!", extra=("Hello, how are you today?",)),
    Item("I love pizza with extra cheese.", extra=("Pizza!",)),
    Item("Tokenizers pad short texts.", extra=("Padding makes every row of a batch the same length.",)),
    Item("Short one.", extra=("A much longer sentence needs more tokens than a short one.",)),
    Item("Attention masks hide padding from the model.", extra=("Masks!",)),
)

SENTIMENT = tuple(Item(s) for s in (
    "not bad at all", "I love this film.", "The plot made no sense.", "It was fine, I guess.",
    "What a waste of time.", "Absolutely wonderful music.", "I would not watch it again.",
    "The actors looked bored.", "A moving story, beautifully told.", "Not my favourite, but not terrible.",
))

FILL = tuple(Item(s) for s in (
    "Paris is the [MASK] of France.", "The cat sat on the [MASK].", "I drink [MASK] every morning.",
    "The sun rises in the [MASK].", "She plays the [MASK] in a band.", "We need more [MASK] to finish.",
    "Rome is the capital of [MASK].", "The best way to learn is to [MASK].",
))

NAMES = (
    Item("My name is Ada and I live in London.", "Ada"),
    Item("My name is Ada and I live in London.", "London"),
    Item("Grace works for IBM in New York.", "IBM"),
    Item("Grace works for IBM in New York.", "Grace"),
    Item("Alan studied in Cambridge.", "Cambridge"),
    Item("Marie visited the Louvre in Paris.", "Paris"),
    Item("Linus wrote Linux in Helsinki.", "Linus"),
    Item("The Eiffel Tower is in Paris.", "Paris"),
)

LABELS = (
    Item("I love pizza with extra cheese", extra=("food", "sports", "politics", "weather", "music", "travel")),
    Item("The match went to extra time", extra=("sports", "cooking", "music", "travel", "finance", "science")),
    Item("Parliament voted on the new budget", extra=("politics", "food", "sports", "science", "art", "weather")),
    Item("It will rain all weekend in the north", extra=("weather", "politics", "music", "business", "food", "games")),
    Item("The band played their new song", extra=("music", "weather", "food", "finance", "health", "law")),
    Item("Our flight to Tokyo was delayed", extra=("travel", "sports", "cooking", "health", "fashion", "science")),
    Item("The stock market fell sharply today", extra=("finance", "music", "travel", "food", "sport", "nature")),
    Item("The doctor said my blood pressure is fine", extra=("health", "cars", "politics", "gardening", "music",
                                                              "travel")),
    Item("She planted tomatoes and roses in spring", extra=("gardening", "finance", "law", "sports", "cars", "art")),
    Item("The new electric car charges in an hour", extra=("cars", "cooking", "poetry", "health", "weather",
                                                            "music")),
)
"""Six labels each: the run scores them all, and a question offers the top one and three others."""

CONTEXTS = (
    Item("My name is Ada and I live in London.", extra=("Where do I live?",)),
    Item("The Eiffel Tower is 330 metres tall.", extra=("How tall is the tower?",)),
    Item("Grace works for IBM in New York.", extra=("Who works for IBM?",)),
    Item("The cat slept on the warm mat all afternoon.", extra=("Where did the cat sleep?",)),
    Item("Linus wrote Linux in Helsinki in 1991.", extra=("When was Linux written?",)),
)

ATTENDING = (
    Item("The cat sat on the mat because it was tired.", "it"),
    Item("The animal did not cross the road because it was tired.", "it"),
    Item("My sister loves pasta and she cooks it daily.", "she"),
    Item("The trophy did not fit in the case because it was big.", "it"),
    Item("Ada gave the book to Alan because he asked.", "he"),
    Item("The dog chased the ball and caught it.", "caught"),
    Item("When the rain stopped, the children went outside.", "children"),
)

PROMPTS = tuple(Item(s) for s in (
    "Once upon a", "The capital of France is", "I would like a cup of", "The cat sat on the",
    "Thank you very", "The best way to learn is to", "In the morning I drink", "Hello, my name",
))
