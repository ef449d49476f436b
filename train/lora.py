"""LoRA through peft: adapters on the linear layers of chosen parts, the projector fully trained, merging.

`apply_lora` puts LoRA adapters on every `nn.Linear` of the target parts ("llm", optionally "vision_tower";
the LLM's output head is left out) and marks `mm_projector` (and the frame-slot vectors, if any) as modules to
save, so the projector is trained in full and stored with the adapter. `merge_lora` folds the adapters into the weights and returns a plain
NavVLMForCausalLM that saves as an ordinary HF-format checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from navagent.train.trainer import PROJECTOR_MODULES, model_part

LORA_PARTS = ("llm", "vision_tower")
_EXCLUDED_LINEARS = ("llm.lm_head",)


def lora_target_modules(model: nn.Module, parts: Sequence[str]) -> list[str]:
    """Names of the nn.Linear modules of `parts` (without the LLM's output head)."""
    unknown = set(parts) - set(LORA_PARTS)
    if unknown or not parts:
        raise ValueError(f"LoRA target parts must be a non-empty subset of {LORA_PARTS}, got {list(parts)}")
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name not in _EXCLUDED_LINEARS and model_part(name) in parts
    ]


def apply_lora(
    model: nn.Module,
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    parts: Sequence[str] = ("llm",),
    seed: int = 0,
):
    """Wrap `model` (NavVLMForCausalLM) in a peft model with LoRA on `parts` and a fully trained projector.

    Adapter initialisation draws from a generator seeded with `seed` (the global RNG state is restored)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        raise ImportError("LoRA needs peft: pip install 'navagent[train]'") from error
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=lora_target_modules(model, parts),
        modules_to_save=[name for name in PROJECTOR_MODULES if getattr(model, name, None) is not None],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_peft_model(model, config)


def merge_lora(peft_model) -> nn.Module:
    """The NavVLMForCausalLM with the adapters merged into its weights and the trained projector in place."""
    return peft_model.merge_and_unload()


def merge_lora_checkpoint(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Load a base checkpoint (navagent or VILA format) and an adapter saved by training, merge, and write a
    navagent HF-format checkpoint (with the base processor) to `out_dir`."""
    from peft import PeftModel

    from navagent.model import load_model_and_processor, save_model_and_processor

    model, processor = load_model_and_processor(base_dir, dtype=torch.float32)
    merged = merge_lora(PeftModel.from_pretrained(model, str(adapter_dir)))
    return save_model_and_processor(merged, processor, out_dir)
