"""Fixtures for navagent.train tests: the tiny model, and a small data root with every dataset type.

tiny_spec_path     configs/model/tiny.yaml
tiny_tokenizer     the tiny byte-level BPE tokenizer (session)
tiny_processor     NavVLMProcessor of the tiny model, llama_3 format (session)
fresh_tiny_model   a new tiny NavVLMForCausalLM (seed 0, train mode) for each test that trains
data_root          a folder with navigation episodes (JPEG frames), conversation and VQA records (session)
registry_path      a registry naming them: nav, chat, vqa, easyvqa (easy-vqa, first 24 questions)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from train_helpers import conversation_records, navigation_records, write_json

from navagent.model import build_tiny_model, build_tiny_processor, build_tiny_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_spec_path() -> Path:
    return REPO_ROOT / "configs" / "model" / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_processor(tiny_spec_path, tiny_tokenizer):
    return build_tiny_processor(tiny_spec_path, tiny_tokenizer)


@pytest.fixture
def fresh_tiny_model(tiny_spec_path, tiny_tokenizer):
    return build_tiny_model(tiny_spec_path, tiny_tokenizer).train()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train_data")
    rng = np.random.default_rng(0)
    write_json(root / "nav" / "annotations.json", navigation_records(root / "nav", rng))
    write_json(root / "chat" / "conversations.json", conversation_records(root / "chat", rng))
    vqa = [
        {
            "id": f"q{i}",
            "image": "images/room.jpg",
            "question": f"Is there a door number {i}?",
            "answer": "yes",
        }
        for i in range(4)
    ]
    write_json(root / "chat" / "vqa.json", vqa)
    return root


@pytest.fixture(scope="session")
def registry_path(data_root) -> Path:
    path = data_root / "registry.yaml"
    path.write_text(
        "datasets:\n"
        "  nav: {type: navigation, root: nav, annotations: annotations.json}\n"
        "  chat: {type: conversation, root: chat, annotations: conversations.json}\n"
        "  vqa: {type: vqa, root: chat, annotations: vqa.json}\n"
        "  easyvqa: {type: easy_vqa, split: train, limit: 24}\n"
    )
    return path
