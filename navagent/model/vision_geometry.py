"""Feature geometry of vision encoders, from their config alone: how many hidden states a model returns, and the
width and token count of the selected one.

Two kinds of encoder are supported:
    transformer (ViT-like: SigLIP, CLIP, ...): `hidden_states` are (N, P, C) token sequences, one per layer plus
        the embeddings; P = (image_size // patch_size) ** 2 (+1 for a CLS token, e.g. CLIP).
    convolutional (registered in `CONV_FEATURE_MAPS`: ResNet, ConvNeXt): `hidden_states` are (N, C, h, w) maps,
        the stem's output plus one per stage; `VisionTower` turns the selected one into (N, h*w, C) tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from transformers import PretrainedConfig

# Tokens a transformer encoder puts before its patch tokens (model types not listed have none).
PREFIX_TOKENS: dict[str, int] = {"clip_vision_model": 1}


@dataclass(frozen=True)
class FeatureMap:
    """One convolutional hidden state: `channels` x `side` x `side` for a square input."""

    channels: int
    side: int


def _resnet_feature_maps(config: PretrainedConfig, image_size: int) -> list[FeatureMap]:
    """transformers ResNetModel: stem = 7x7/2 conv + 3x3/2 max-pool; stage i > 0 (or 0 with
    downsample_in_first_stage) halves the map; every stride-2 op (padded) gives ceil(n / 2)."""
    side = math.ceil(math.ceil(image_size / 2) / 2)
    maps = [FeatureMap(config.embedding_size, side)]
    for index, width in enumerate(config.hidden_sizes):
        if index > 0 or config.downsample_in_first_stage:
            side = math.ceil(side / 2)
        maps.append(FeatureMap(width, side))
    return maps


def _convnext_feature_maps(config: PretrainedConfig, image_size: int) -> list[FeatureMap]:
    """transformers ConvNextModel: patchify stem (patch_size, unpadded); stages after the first start with an
    unpadded 2x2/2 conv (floor(n / 2))."""
    side = image_size // config.patch_size
    maps = [FeatureMap(config.hidden_sizes[0], side)]
    for index, width in enumerate(config.hidden_sizes):
        if index > 0:
            side //= 2
        maps.append(FeatureMap(width, side))
    return maps


# model_type -> (config, image side in pixels) -> one FeatureMap per entry of `hidden_states`.
CONV_FEATURE_MAPS: dict[str, Callable[[PretrainedConfig, int], list[FeatureMap]]] = {
    "resnet": _resnet_feature_maps,
    "convnext": _convnext_feature_maps,
}


def is_convolutional(vision_config: PretrainedConfig) -> bool:
    """True when the encoder returns (N, C, h, w) feature maps (its model_type is in CONV_FEATURE_MAPS)."""
    return getattr(vision_config, "model_type", "") in CONV_FEATURE_MAPS


def num_hidden_states(vision_config: PretrainedConfig) -> int:
    """Length of the encoder's `hidden_states`: embeddings/stem plus one per layer/stage."""
    if is_convolutional(vision_config):
        return len(vision_config.hidden_sizes) + 1
    return vision_config.num_hidden_layers + 1


def check_select_layer(vision_config: PretrainedConfig, select_layer: int) -> None:
    """ValueError unless `select_layer` indexes the encoder's `hidden_states`."""
    count = num_hidden_states(vision_config)
    if not -count <= select_layer < count:
        raise ValueError(
            f"mm_vision_select_layer={select_layer} is out of range for a "
            f"{getattr(vision_config, 'model_type', 'vision')} encoder with {count} hidden states"
        )


def selected_feature_map(vision_config: PretrainedConfig, image_size: int, select_layer: int) -> FeatureMap:
    """The convolutional hidden state `select_layer` picks, for a square input of `image_size` pixels."""
    check_select_layer(vision_config, select_layer)
    maps = CONV_FEATURE_MAPS[vision_config.model_type](vision_config, image_size)
    return maps[select_layer]


def vision_feature_width(vision_config: PretrainedConfig, select_layer: int) -> int:
    """Channels C of one vision token (VILA's `mm_hidden_size`) at hidden state `select_layer`."""
    if is_convolutional(vision_config):
        return selected_feature_map(vision_config, 64, select_layer).channels  # width is size-independent
    return vision_config.hidden_size


def vision_token_count(
    vision_config: PretrainedConfig, image_size: int, select_layer: int, select_feature: str
) -> int:
    """Tokens per image the tower returns: h*w of the selected map (conv), or patches (+CLS, -1 for "patch")."""
    if is_convolutional(vision_config):
        feature_map = selected_feature_map(vision_config, image_size, select_layer)
        return feature_map.side * feature_map.side
    patches = (image_size // vision_config.patch_size) ** 2
    patches += PREFIX_TOKENS.get(getattr(vision_config, "model_type", ""), 0)
    return patches - (1 if select_feature == "patch" else 0)
