"""`load_model_and_processor`: open a navagent (HF-native) directory or a VILA / NaVILA directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from navagent.model.chat_format import leading_bos
from navagent.model.configuration import NavVLMConfig
from navagent.model.modeling import NavVLMForCausalLM, default_attn_implementation
from navagent.model.processing import PROCESSOR_CONFIG_NAME, NavVLMProcessor
from navagent.model.vila_format import VILA_MODEL_TYPES, load_vila_checkpoint

logger = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class CheckpointFormatError(ValueError):
    """A directory is neither a navagent checkpoint nor a VILA checkpoint, or lacks a part."""


def checkpoint_kind(directory: str | Path) -> str:
    """ "navagent" or "vila", from `config.json`'s model_type; CheckpointFormatError otherwise."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise CheckpointFormatError(f"{directory} has no config.json: not a navagent or VILA checkpoint")
    model_type = json.loads(path.read_text()).get("model_type")
    if model_type == NavVLMConfig.model_type:
        return "navagent"
    if model_type in VILA_MODEL_TYPES:
        return "vila"
    raise CheckpointFormatError(
        f"{path}: model_type {model_type!r} is neither navagent ({NavVLMConfig.model_type!r}) "
        f"nor VILA ({', '.join(VILA_MODEL_TYPES)})"
    )


def load_model_and_processor(
    directory: str | Path,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    attn_implementation: str | None = None,
) -> tuple[NavVLMForCausalLM, NavVLMProcessor]:
    """Load model (eval mode) and processor from either checkpoint format (safetensors only). ``dtype`` None:
    the stored one. Logs a warning when prompts start with two BOS ids (``check_bos``)."""
    directory = Path(directory)
    if checkpoint_kind(directory) == "vila":
        model, processor = load_vila_checkpoint(directory, dtype, device, attn_implementation)
        check_bos(processor)
        return model, processor
    if not (directory / PROCESSOR_CONFIG_NAME).is_file():
        raise CheckpointFormatError(
            f"navagent checkpoint {directory} lacks its processor ({PROCESSOR_CONFIG_NAME})"
        )
    model = NavVLMForCausalLM.from_pretrained(
        directory,
        dtype=dtype if dtype is not None else "auto",
        attn_implementation=attn_implementation or default_attn_implementation(),
        use_safetensors=True,
    )
    if device is not None:
        model = model.to(device)
    processor = NavVLMProcessor.from_pretrained(directory)
    check_bos(processor)
    return model.eval(), processor


def default_dtype(directory: str | Path, device: str | torch.device) -> torch.dtype | None:
    """The evaluation dtype when none is given: float32 on the CPU; on a GPU float16 for VILA / NaVILA
    directories (NaVILA's own evaluation; their stored bf16 moves logits ~10x further from fp32), else the
    stored dtype (None)."""
    if torch.device(device).type == "cpu":
        return torch.float32
    return torch.float16 if checkpoint_kind(directory) == "vila" else None


def parse_dtype(name: str) -> torch.dtype:
    """``float32`` / ``float16`` / ``bfloat16`` -> the torch dtype; ``ValueError`` naming the choices."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


def check_bos(processor: NavVLMProcessor) -> int:
    """How many BOS ids a generation prompt starts with. Two (VILA's llama_3 text begins with
    ``<|begin_of_text|>`` and the tokenizer adds its own) is NaVILA's own sequence, which its weights expect:
    logged as a warning so a tokenizer swap or format change that alters it is noticed."""
    ids = processor.tokenize(processor.user_prompt("go"))
    count = leading_bos(ids, processor.tokenizer.bos_token_id)
    if count == 2:
        logger.warning(
            "chat format %s: prompts start with two BOS ids (the template's and the tokenizer's own), as "
            "NaVILA's do",
            processor.chat_format,
        )
    return count


def save_model_and_processor(
    model: NavVLMForCausalLM, processor: NavVLMProcessor, directory: str | Path
) -> Path:
    """Write a navagent checkpoint: config.json, model.safetensors, generation_config.json, processor files."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    processor.save_pretrained(directory)
    return directory
