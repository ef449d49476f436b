"""Convolutional vision towers (ResNet / ConvNeXt): token layout, token counts, widths, save/load round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import ConvNextConfig, ResNetConfig

from navagent.model import (
    NavVLMConfig,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    load_model_and_processor,
    save_model_and_processor,
)
from navagent.model.tiny import ConvVisionSpec, load_tiny_model_spec
from navagent.model.vision_geometry import vision_feature_width, vision_token_count
from navagent.model.vision_tower import VisionTower

REPO_ROOT = Path(__file__).resolve().parents[2]

NAV_CONV = REPO_ROOT / "configs" / "model" / "nav-conv.yaml"


def _resnet(**kwargs) -> ResNetConfig:
    return ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16, 24], depths=[1, 1, 1], layer_type="basic", **kwargs
    )


@pytest.fixture(scope="module")
def conv_tokenizer():
    return build_tiny_tokenizer(load_tiny_model_spec(NAV_CONV).tokenizer)


def test_conv_tower_tokens_are_the_selected_map_in_row_major_order():
    tower = VisionTower(_resnet(), select_layer=-1).eval()
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feature_map = tower.vision_tower(pixels, output_hidden_states=True).hidden_states[-1]
        tokens = tower(pixels)
    assert feature_map.shape == (2, 24, 4, 4)
    assert tokens.shape == (2, 16, 24)
    row, column = 2, 3
    torch.testing.assert_close(tokens[:, row * 4 + column], feature_map[:, :, row, column])


@pytest.mark.parametrize(
    ("config", "image_size", "select_layer", "side", "width"),
    [
        (_resnet(), 64, -1, 4, 24),
        (_resnet(), 64, -2, 8, 16),
        (_resnet(), 64, 0, 16, 8),
        (_resnet(), 63, -1, 4, 24),
        (_resnet(), 96, -1, 6, 24),
        (_resnet(downsample_in_first_stage=True), 64, -1, 2, 24),
        (ConvNextConfig(hidden_sizes=[8, 16, 24], depths=[1, 1, 1], num_stages=3), 63, -1, 3, 24),
        (ConvNextConfig(hidden_sizes=[8, 16, 24], depths=[1, 1, 1], num_stages=3), 64, 0, 16, 8),
    ],
)
def test_geometry_matches_the_real_feature_maps(config, image_size, select_layer, side, width):
    assert vision_token_count(config, image_size, select_layer, "cls_patch") == side * side
    assert vision_feature_width(config, select_layer) == width
    tower = VisionTower(config, select_layer=select_layer).eval()
    with torch.no_grad():
        tokens = tower(torch.randn(1, 3, image_size, image_size))
    assert tokens.shape == (1, side * side, width)


def test_conv_tower_rejects_bad_selections():
    with pytest.raises(ValueError, match="out of range"):
        VisionTower(_resnet(), select_layer=4)
    with pytest.raises(ValueError, match="no CLS token"):
        VisionTower(_resnet(), select_layer=-1, select_feature="patch")
    with pytest.raises(ValueError, match="image_size is required"):
        NavVLMConfig(vision_config=_resnet(), text_config={"model_type": "llama"})


def test_nav_conv_preset_gives_four_tokens_per_frame(conv_tokenizer):
    spec = load_tiny_model_spec(NAV_CONV)
    assert isinstance(spec.vision, ConvVisionSpec)
    model = build_tiny_model(spec, conv_tokenizer)
    assert model.config.image_size == 64 and model.config.mm_hidden_size == 128
    assert model.tokens_per_image == 4
    features = model.encode_images(torch.randn(3, 3, 64, 64))
    assert features.shape == (3, 4, model.config.hidden_size)


def test_conv_model_save_load_round_trip(tmp_path, conv_tokenizer):
    model = build_tiny_model(NAV_CONV, conv_tokenizer)
    processor = build_tiny_processor(NAV_CONV, conv_tokenizer)
    with torch.no_grad():  # non-default batch-norm statistics must survive the round trip too
        model.vision_tower.vision_tower.embedder.embedder.normalization.running_mean.fill_(0.25)
    save_model_and_processor(model, processor, tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded, loaded_processor = load_model_and_processor(tmp_path)
    assert loaded.config.vision_config.model_type == "resnet" and loaded.tokens_per_image == 4
    assert loaded_processor.image_processor.size == 64
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_images(pixels), model.eval().encode_images(pixels))
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    for key in state:
        torch.testing.assert_close(loaded_state[key], state[key], msg=key)
