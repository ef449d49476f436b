"""`VisionTower`: a transformers vision encoder that returns VILA-style per-image token features."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig

from navagent.model.configuration import VISION_SELECT_FEATURES
from navagent.model.vision_geometry import check_select_layer, is_convolutional


class VisionTower(nn.Module):
    """Wraps any transformers vision model built from its config: a transformer (SiglipVisionModel,
    CLIPVisionModel, ...) or a convolutional one registered in `vision_geometry.CONV_FEATURE_MAPS` (ResNetModel,
    ConvNextModel).

    The wrapped model is stored as `self.vision_tower`, so state-dict keys read
    `vision_tower.vision_tower.vision_model...` inside `NavVLMForCausalLM`, as in VILA checkpoints.

    forward: pixel_values (N, 3, H, W) -> features (N, P, C), taken from `hidden_states[select_layer]`
    (no post-layernorm). Transformers: "cls_patch" keeps all tokens (SigLIP has no CLS token); "patch" drops
    token 0 (CLIP's CLS token). Convolutional encoders: the selected map (N, C, h, w) becomes P = h*w tokens in
    row-major order (token r*w + c is row r, column c); only "cls_patch" (keep all) applies.
    """

    def __init__(
        self, vision_config: PretrainedConfig, select_layer: int = -2, select_feature: str = "cls_patch"
    ):
        super().__init__()
        if select_feature not in VISION_SELECT_FEATURES:
            raise ValueError(
                f"select_feature must be one of {VISION_SELECT_FEATURES}, got {select_feature!r}"
            )
        self.convolutional = is_convolutional(vision_config)
        if self.convolutional and select_feature != "cls_patch":
            raise ValueError(
                f"a convolutional vision tower ({vision_config.model_type}) has no CLS token: "
                f"mm_vision_select_feature must be 'cls_patch', got {select_feature!r}"
            )
        check_select_layer(vision_config, select_layer)
        self.select_layer = select_layer
        self.select_feature = select_feature
        # A convolutional encoder has no attention; "eager" stops the parent's "sdpa" choice from being refused.
        attention = {"attn_implementation": "eager"} if self.convolutional else {}
        self.vision_tower = AutoModel.from_config(vision_config, **attention)

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
        if self.convolutional:
            return features.flatten(2).transpose(1, 2)  # (N, C, h, w) -> (N, h*w, C), row-major
        if self.select_feature == "patch":
            features = features[:, 1:]
        return features
