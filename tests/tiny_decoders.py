"""Tiny decoders with few positions, built like the tiny pack (seeded random weights, the real
bert-base-uncased vocabulary), to serve /summarize and /qa through TUTOR_MODEL_<COMMAND>: long
inputs reach their positions, where the real models' 1,024 or 8,192 are out of a learner's reach."""
from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from core.tiny import ensure_tiny, tiny_dir

CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}system: You are a tiny test model. {% endif %}"
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
"""A chat template that, like SmolLM2's, adds a default system prompt when the messages give none."""


def tiny_chat_model(settings: Settings, folder: Path, positions: int = 160) -> Path:
    """A GPT-2 with a chat template and `positions` positions: a `chat` model for /summarize and /qa."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    if (folder / "config.json").is_file():
        return folder
    ensure_tiny(tiny_dir(settings.cache_dir))
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=30522, n_embd=32, n_layer=2, n_head=4, n_positions=positions,
                        bos_token_id=101, eos_token_id=102, pad_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir(settings.cache_dir) / "generate")  # no token_type_ids
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.eos_token = "[SEP]"
    tokenizer.save_pretrained(folder)
    return folder


def tiny_bart(settings: Settings, folder: Path, positions: int = 40) -> Path:
    """A BART whose encoder and decoder have `positions` positions, with a tokenizer that claims 512."""
    import torch
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

    if (folder / "config.json").is_file():
        return folder
    ensure_tiny(tiny_dir(settings.cache_dir))
    torch.manual_seed(0)
    config = BartConfig(vocab_size=30522, d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                        decoder_ffn_dim=64, max_position_embeddings=positions, pad_token_id=0, bos_token_id=101,
                        eos_token_id=102, decoder_start_token_id=101, forced_bos_token_id=None)
    BartForConditionalGeneration(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_dir(settings.cache_dir) / "summarize").save_pretrained(folder)
    return folder
