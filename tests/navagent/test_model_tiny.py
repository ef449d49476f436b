"""Tiny model preset: typed YAML spec, tokenizer, builder determinism."""

import dataclasses
import hashlib
import json

import pytest
import torch
import yaml

from navagent.model import TinyModelSpec, build_tiny_model, build_tiny_tokenizer, load_tiny_model_spec
from navagent.model.chat_format import LLAMA3_SPECIAL_TOKENS
from navagent.model.corpus import ACTION_SENTENCES


def test_yaml_preset_matches_the_typed_defaults(tiny_model_config_path):
    spec = load_tiny_model_spec(tiny_model_config_path)
    assert spec == TinyModelSpec()
    raw = yaml.safe_load(tiny_model_config_path.read_text())
    assert load_tiny_model_spec(raw) == spec


def test_spec_rejects_unknown_fields():
    with pytest.raises(KeyError, match="hidden"):
        load_tiny_model_spec({"text": {"hidden": 3}})
    with pytest.raises(KeyError, match="projector"):
        load_tiny_model_spec({"projector": "linear"})
    with pytest.raises(TypeError, match="mapping"):
        load_tiny_model_spec({"vision": 5})


def test_preset_base_chain_lays_keys_over_the_base(tmp_path):
    (tmp_path / "a.yaml").write_text("text: {hidden_size: 64, num_hidden_layers: 3}\nnum_video_frames: 4\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\ntext: {num_hidden_layers: 1}\nnum_recent_frames: 2\n")
    spec = load_tiny_model_spec(tmp_path / "b.yaml")
    assert (spec.text.hidden_size, spec.text.num_hidden_layers) == (64, 1)  # section updated key by key
    assert (spec.num_video_frames, spec.num_recent_frames) == (4, 2)
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    with pytest.raises(ValueError, match="returns to"):
        load_tiny_model_spec(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(FileNotFoundError, match="c.yaml: base preset .*missing.yaml"):
        load_tiny_model_spec(tmp_path / "c.yaml")


def test_agent_preset_is_nav_conv_with_the_agent_prompt_options(tiny_model_config_path):
    presets = tiny_model_config_path.parent
    conv = load_tiny_model_spec(presets / "nav-conv.yaml")
    agent = load_tiny_model_spec(presets / "nav-conv-agent.yaml")
    assert (
        dataclasses.replace(agent, num_recent_frames=0, mm_frame_slots=0, previous_action_in_prompt=False)
        == conv
    )
    assert (agent.num_recent_frames, agent.mm_frame_slots, agent.previous_action_in_prompt) == (3, 8, True)


def test_tokenizer_special_tokens_and_actions(tiny_tokenizer):
    vocab = tiny_tokenizer.get_vocab()
    assert all(token in vocab for token in [*LLAMA3_SPECIAL_TOKENS, "[PAD]"])
    assert tiny_tokenizer.pad_token == "[PAD]" and tiny_tokenizer.bos_token == "<|begin_of_text|>"
    assert tiny_tokenizer.chat_template
    for sentence in ACTION_SENTENCES:
        ids = tiny_tokenizer(sentence, add_special_tokens=False).input_ids
        assert tiny_tokenizer.decode(ids) == sentence
        assert len(ids) <= 12  # the corpus makes the action sentences cheap to generate
    assert tiny_tokenizer.decode(tiny_tokenizer("Zebra ünïcode 42!", add_special_tokens=False).input_ids) == (
        "Zebra ünïcode 42!"
    )


def test_tokenizer_training_is_deterministic_and_extensible(tiny_tokenizer):
    assert build_tiny_tokenizer().get_vocab() == tiny_tokenizer.get_vocab()
    extended = build_tiny_tokenizer(extra_texts=["Circle the xylophone podium."] * 50)
    assert len(extended("xylophone podium", add_special_tokens=False).input_ids) < len(
        tiny_tokenizer("xylophone podium", add_special_tokens=False).input_ids
    )


# the tokenizer as trained on the corpus of commit e01f234 (before the corpus took its navigation prompt and
# action sentences from navagent.agent): shipped tiny checkpoints depend on these ids
PINNED_VOCAB_SHA256 = "2b1e3ee8ec16ec6cc475afb7fe836751b721a6df6a99aa81f8f256dfec3a6c6b"
PINNED_IDS = {
    "The next action is turn left 30 degree.": [462, 281, 422, 295, 304, 320, 610, 472, 19],
    "Walk into the kitchen and stop next to the red sofa.": [289, 290, 264, 438, 271, 282, 281, 284, 264, 346, 499, 19],
    "I think I should stop because I have finished the instruction.": [46, 724, 323, 725, 282, 732, 323, 597, 731, 264, 730, 19],
}  # fmt: skip


def test_tokenizer_is_unchanged_by_where_the_corpus_takes_its_text(tiny_tokenizer):
    vocab = json.dumps(sorted(tiny_tokenizer.get_vocab().items()))
    assert hashlib.sha256(vocab.encode()).hexdigest() == PINNED_VOCAB_SHA256
    for text, ids in PINNED_IDS.items():
        assert tiny_tokenizer(text, add_special_tokens=False).input_ids == ids


def test_tiny_model_is_small_and_seeded(tiny_model, tiny_tokenizer):
    assert sum(p.numel() for p in tiny_model.parameters()) < 2_000_000
    assert tiny_model.tokens_per_image == 16
    assert tiny_model.config.text_config.vocab_size == len(tiny_tokenizer)
    same = build_tiny_model(None, tiny_tokenizer)
    other = build_tiny_model({"seed": 1}, tiny_tokenizer)
    for (name, a), b, c in zip(
        tiny_model.state_dict().items(), same.state_dict().values(), other.state_dict().values()
    ):
        assert torch.equal(a, b), name
    assert not all(torch.equal(a, c) for a, c in zip(tiny_model.parameters(), other.parameters()))


def test_spec_variants_build(tiny_tokenizer):
    spec = dataclasses.replace(TinyModelSpec(), mm_projector_type="mlp2x_gelu")
    model = build_tiny_model(spec, tiny_tokenizer)
    assert model.tokens_per_image == 64
