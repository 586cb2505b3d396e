"""Every command the tutor knows: the single place to add one.

A model-backed command names its task's declared model (`model=<task>.MODEL`, a `core.packs.TaskModel`):
the packs, /models, the doctor and TUTOR_MODEL_<COMMAND> all derive from these entries."""
from __future__ import annotations

from core import suggest
from core.registry import Choice, Command, Option, Registry
from core.tasks import (
    attention,
    compare,
    fillmask,
    generate,
    helpcmd,
    ner,
    qa,
    sentiment,
    summarize,
    tokenize,
    zeroshot,
)
from core.tasks.steps import MAX_STEPS_SHOWN
from core.tutor.commands import tutor_commands


def _text(name: str, description: str, max_length: int, *, positional: str = "main", required: bool = True) -> Option:
    return Option(name, description, "text", required=required, positional=positional, max_length=max_length)


def _why() -> Option:
    return Option("why", "Which words mattered: hide each token in turn and measure the change", "bool",
                  default=False)


def build_registry() -> Registry:
    return Registry([
        Command("sentiment", "Is this text positive or negative? Scores for every class.",
                (_text("text", "The text to classify", 1000), _why()),
                ("/sentiment I love this", "/sentiment The movie was a waste of time."), sentiment.run,
                batch_handler=sentiment.run_batch, model=sentiment.MODEL),
        Command("ner", "Find the people, places and organisations named in a text.",
                (_text("text", "The text to search for entities", 1000),),
                ("/ner My name is Ada and I live in London.",), ner.run, batch_handler=ner.run_batch,
                model=ner.MODEL),
        Command("zeroshot", "Rank labels you choose for a text, with no training (zero-shot).",
                (_text("text", "The text to classify", 1000),
                 _text("labels", "1 to 10 comma-separated labels, e.g. food, sports, politics", 300,
                       positional="second"),
                 Option("multi_label", "Score each label on its own instead of sharing 100%", "bool",
                        default=False),
                 _why()),
                ("/zeroshot I love pizza | food, sports, politics",
                 "/zeroshot The match went to extra time | sports, cooking multi_label=true"), zeroshot.run,
                batch_handler=zeroshot.run_batch, model=zeroshot.MODEL),
        Command("qa", "Answer a question from a context you give.",
                (_text("question", "The question to answer", 300),
                 _text("context", "The text that holds the answer", 2000, positional="second")),
                ("/qa Where do I live? | My name is Ada and I live in London.",), qa.run, batch_handler=qa.run_batch,
                model=qa.MODEL),
        Command("generate", "Continue a prompt with a text-generation model.",
                (_text("prompt", "The start of the text", 1000),
                 Option("max_new_tokens", "How many tokens to add (1-100)", "int", min_value=1, max_value=100,
                        default=30),
                 Option("steps", f"Show the top 5 candidates at each step (at most {MAX_STEPS_SHOWN} steps)", "bool",
                        default=False),
                 Option("temperature", "Sample instead of greedy, at this temperature (e.g. 0.7, 1.0, 1.5)", "text",
                        max_length=8),
                 Option("seed", "The random seed for sampling: the same seed gives the same text", "int",
                        min_value=0, max_value=2**31 - 1, default=0)),
                ("/generate Once upon a time", "/generate The best way to learn is max_new_tokens=20"), generate.run,
                batch_handler=generate.run_batch, model=generate.MODEL),
        Command("summarize", "Summarize a text (the transformers 5 way: generate, not a pipeline).",
                (_text("text", "The text to summarize", 2000),),
                ("/summarize The Eiffel Tower is 330 metres tall. It was the tallest structure in the world "
                 "for 41 years.",), summarize.run, batch_handler=summarize.run_batch,
                model=summarize.MODEL),
        Command("fillmask", "Guess the word hidden behind [MASK] (or <mask>).",
                (_text("text", "A text with exactly one [MASK] or <mask>", 1000),
                 Option("top_k", "How many guesses to show (1-20)", "int", min_value=1, max_value=20, default=5),
                 Option("word", "Fill the mask with the best guess, then mask this word (from 0) instead", "int",
                        min_value=0, max_value=199),
                 _why()),
                ("/fillmask Paris is the [MASK] of France.",), fillmask.run, batch_handler=fillmask.run_batch,
                model=fillmask.MODEL),
        Command("tokenize", "See text become tokens, ids, attention mask and back.",
                (_text("text", "The text to tokenize", 1000),
                 _text("pair", "An optional second sentence (shows token_type_ids)", 1000, positional="second",
                       required=False),
                 Option("special", "Add the special tokens such as [CLS] and [SEP] (default true)", "bool",
                        default=True)),
                ("/tokenize I'm learning", "/tokenize The cat sat. | It was tired."), tokenize.run,
                model=tokenize.MODEL),
        Command("compare", "The same text through two or three tokenizers, side by side.",
                (_text("text", "The text to tokenize (short texts read best)", 300),
                 Option("tokenizers", "Comma-separated: bert, gpt2, roberta (hub, tiny) or bert, smollm2 (offline)",
                        "text", max_length=60, suggest=suggest.tokenizer_sets)),
                ("/compare Tokenization isn't magic 🤗", "/compare Hello world tokenizers=bert,gpt2"), compare.run,
                model_command="tokenize"),
        Command("attention", "Draw self-attention as a heatmap for a layer and head.",
                (_text("text", "The text to look at (short texts read best)", 300),
                 Option("layer", "Which layer, counting from 0", "int", min_value=0, max_value=47, default=0,
                        suggest=suggest.layers),
                 Option("head", "A head number from 0, `all` for a grid of every head, or `mean`", "head",
                        min_value=0, max_value=63, default="all", suggest=suggest.heads),
                 Option("noops", "`hide` (default) or `show` the no-op tokens such as [CLS] and [SEP]", "text",
                        max_length=8, choices=(Choice("hide", "hide (default)"), Choice("show"))),
                 Option("mask", "Mask the token at this position (from 0) and rerun the model", "int",
                        min_value=0, max_value=511)),
                ("/attention The cat sat on the mat. layer=0 head=0",
                 "/attention The cat sat on the mat. layer=1 head=all"), attention.run,
                model=attention.MODEL),
        Command("overview", "Every layer and head of the attention model in one picture.",
                (_text("text", "The text to look at (short texts read best)", 300),),
                ("/overview The cat sat on the mat.",), attention.run_overview, model_command="attention"),
        Command("help", "List every command with an example, or explain one command.",
                (Option("command", "A command name, e.g. attention", "text", positional="main", max_length=32,
                        suggest=suggest.command_names),),
                ("/help", "/help attention"), helpcmd.run_help, needs_model=False),
        Command("models", "Which model answers each command, and what this pack cannot serve.",
                (), ("/models",), helpcmd.run_models, needs_model=False),
        *tutor_commands(),  # /quiz, /learn, /progress, /review, /mydata, /forget, /board, /leaderboard
    ])
