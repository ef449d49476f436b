"""`load_model_and_processor`: open a navagent (HF-native) directory or a VILA / NaVILA directory."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from navagent.model.configuration import NavVLMConfig
from navagent.model.modeling import NavVLMForCausalLM, default_attn_implementation
from navagent.model.processing import PROCESSOR_CONFIG_NAME, NavVLMProcessor
from navagent.model.vila_format import VILA_MODEL_TYPES, load_vila_checkpoint


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
    """Load model (eval mode) and processor from either checkpoint format (safetensors only)."""
    directory = Path(directory)
    if checkpoint_kind(directory) == "vila":
        return load_vila_checkpoint(directory, dtype, device, attn_implementation)
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
    return model.eval(), NavVLMProcessor.from_pretrained(directory)


def save_model_and_processor(
    model: NavVLMForCausalLM, processor: NavVLMProcessor, directory: str | Path
) -> Path:
    """Write a navagent checkpoint: config.json, model.safetensors, generation_config.json, processor files."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    processor.save_pretrained(directory)
    return directory
