"""`VisionTower`: a transformers vision encoder that returns VILA-style per-image token features."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig

from navagent.model.configuration import VISION_SELECT_FEATURES


class VisionTower(nn.Module):
    """Wraps any transformers vision model (SiglipVisionModel, CLIPVisionModel, ...) built from its config.

    The wrapped model is stored as `self.vision_tower`, so state-dict keys read
    `vision_tower.vision_tower.vision_model...` inside `NavVLMForCausalLM`, as in VILA checkpoints.

    forward: pixel_values (N, 3, H, W) -> features (N, P, C), taken from `hidden_states[select_layer]`
    (no post-layernorm). "cls_patch" keeps all tokens (SigLIP has no CLS token); "patch" drops token 0
    (CLIP's CLS token).
    """

    def __init__(
        self, vision_config: PretrainedConfig, select_layer: int = -2, select_feature: str = "cls_patch"
    ):
        super().__init__()
        if select_feature not in VISION_SELECT_FEATURES:
            raise ValueError(
                f"select_feature must be one of {VISION_SELECT_FEATURES}, got {select_feature!r}"
            )
        num_states = vision_config.num_hidden_layers + 1  # embeddings + one per layer
        if not -num_states <= select_layer < num_states:
            raise ValueError(
                f"mm_vision_select_layer={select_layer} is out of range for a vision encoder with "
                f"{vision_config.num_hidden_layers} layers"
            )
        self.select_layer = select_layer
        self.select_feature = select_feature
        self.vision_tower = AutoModel.from_config(vision_config)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vision_tower.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.vision_tower.parameters()).device

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.ndim != 4:
            raise ValueError(f"pixel_values must have shape (N, 3, H, W), got {tuple(pixel_values.shape)}")
        outputs = self.vision_tower(
            pixel_values.to(device=self.device, dtype=self.dtype), output_hidden_states=True, return_dict=True
        )
        features = outputs.hidden_states[self.select_layer]
        if self.select_feature == "patch":
            features = features[:, 1:]
        return features
