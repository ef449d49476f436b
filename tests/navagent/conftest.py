"""Shared tiny-model fixtures for navagent tests (model and agent).

Fixtures (stable names, used by tests of navagent.model and navagent.agent):
    tiny_model_config_path  Path of configs/model/tiny.yaml
    tiny_tokenizer          byte-level BPE tokenizer with the Llama-3 special tokens (session)
    tiny_model              NavVLMForCausalLM built from tiny.yaml, eval mode, float32, seed 0 (session; do not modify)
    tiny_processor          NavVLMProcessor matching tiny_model (session)
    tiny_checkpoint_dir     a navagent (HF-native) checkpoint of tiny_model + tiny_processor (session)
    tiny_frames             8 random uint8 RGB frames of shape (48, 64, 3), seed 0
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from navagent.model import (
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model_config_path() -> Path:
    return REPO_ROOT / "configs" / "model" / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tiny_model_config_path, tiny_tokenizer):
    return build_tiny_model(tiny_model_config_path, tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_processor(tiny_model_config_path, tiny_tokenizer):
    return build_tiny_processor(tiny_model_config_path, tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory, tiny_model, tiny_processor) -> Path:
    return save_model_and_processor(tiny_model, tiny_processor, tmp_path_factory.mktemp("tiny_checkpoint"))


@pytest.fixture
def tiny_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8) for _ in range(8)]
