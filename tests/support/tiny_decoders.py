"""Tiny decoders with few positions, built like the tiny pack's twins (seeded random weights, the tiny
GPT-2's and DistilBART's own byte-level BPE tokenizers and special ids), to serve /summarize and /qa
through TUTOR_MODEL_<COMMAND>: long inputs reach their positions, where the real models' 1,024 or 8,192
are out of a learner's reach."""
from __future__ import annotations

from pathlib import Path

from core.commands import build_registry
from core.settings import Settings
from core.tiny import ensure_tiny, tiny_dir, tiny_models

CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}system: You are a tiny test model. {% endif %}"
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
"""A chat template that, like SmolLM2's, adds a default system prompt when the messages give none."""


def tiny_chat_model(settings: Settings, folder: Path, positions: int = 160) -> Path:
    """A GPT-2 with a chat template and `positions` positions: a `chat` model for /summarize and /qa.
    It reads with the tiny GPT-2's tokenizer: `<|endoftext|>` ends a turn, and there is no pad token."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    if (folder / "config.json").is_file():
        return folder
    ensure_tiny(tiny_dir(settings.cache_dir), tiny_models(build_registry()))
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir(settings.cache_dir) / "generate")
    tokenizer.chat_template = CHAT_TEMPLATE
    end = tokenizer.eos_token_id
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=positions,
                        bos_token_id=end, eos_token_id=end)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_bart(settings: Settings, folder: Path, positions: int = 40) -> Path:
    """A BART whose encoder and decoder have `positions` positions, with the tiny DistilBART's tokenizer,
    which claims 1,024, and its special ids (`<s>` 0, `<pad>` 1, `</s>` 2; decoding starts from `</s>`).
    Like DistilBART it must write a minimum length (half its positions), so the random weights cannot
    end the summary at once."""
    import torch
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration, GenerationConfig

    if (folder / "config.json").is_file():
        return folder
    ensure_tiny(tiny_dir(settings.cache_dir), tiny_models(build_registry()))
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir(settings.cache_dir) / "summarize")
    torch.manual_seed(0)
    config = BartConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                        decoder_ffn_dim=64, max_position_embeddings=positions, pad_token_id=tokenizer.pad_token_id,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=tokenizer.eos_token_id)
    model = BartForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
        decoder_start_token_id=config.decoder_start_token_id, forced_eos_token_id=config.eos_token_id,
        min_length=positions // 2)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
