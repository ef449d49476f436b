"""VILA / NaVILA checkpoint directories: loading, the vocab-size quirk, clear errors, conversion."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import SiglipImageProcessorPil

from navagent.model import (
    CheckpointFormatError,
    VilaFormatError,
    checkpoint_kind,
    convert_vila_checkpoint,
    is_vila_checkpoint,
    load_model_and_processor,
)


def write_vila_checkpoint(model, tokenizer, directory: Path) -> Path:
    """Lay out `model` the way VILA 1.5 saves it (transformers 4.x key names in vision_tower/).

    The LLM's embedding gets one extra row that llm/config.json does not count, as in NaVILA (added [PAD])."""
    llm = model.llm
    llm.save_pretrained(directory / "llm")
    tokenizer.save_pretrained(directory / "llm")
    rows = llm.get_input_embeddings().weight.shape[0]
    config_path = directory / "llm" / "config.json"
    llm_config = json.loads(config_path.read_text())
    llm_config["vocab_size"] = rows - 1
    config_path.write_text(json.dumps(llm_config))

    vision = model.vision_tower.vision_tower
    vision.config.save_pretrained(directory / "vision_tower")
    vision_state = {f"vision_model.{key}": value.contiguous() for key, value in vision.state_dict().items()}
    save_file(vision_state, str(directory / "vision_tower" / "model.safetensors"), metadata={"format": "pt"})
    size = model.config.image_size
    SiglipImageProcessorPil(
        size={"height": size, "width": size}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(directory / "vision_tower")

    (directory / "mm_projector").mkdir()
    projector_config = {"model_type": "v2l_projector", "mm_projector_type": model.config.mm_projector_type}
    (directory / "mm_projector" / "config.json").write_text(json.dumps(projector_config))
    projector_state = {key: value.contiguous() for key, value in model.mm_projector.state_dict().items()}
    save_file(projector_state, str(directory / "mm_projector" / "model.safetensors"))

    top = {
        "model_type": "llava_llama",
        "architectures": ["LlavaLlamaModel"],
        "llm_cfg": {"_name_or_path": "./llm"},
        "vision_tower_cfg": {"_name_or_path": "./vision_tower"},
        "mm_projector_cfg": {
            "_name_or_path": "./mm_projector",
            "mm_projector_type": model.config.mm_projector_type,
        },
        "hidden_size": model.config.hidden_size,
        "mm_hidden_size": model.config.mm_hidden_size,
        "image_aspect_ratio": "resize",
        "num_video_frames": 8,
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "cls_patch",
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "model_dtype": "torch.float32",
        "tokenizer_model_max_length": 4096,
    }
    (directory / "config.json").write_text(json.dumps(top))
    return directory


@pytest.fixture(scope="module")
def vila_dir(tmp_path_factory, tiny_model, tiny_tokenizer) -> Path:
    return write_vila_checkpoint(tiny_model, tiny_tokenizer, tmp_path_factory.mktemp("vila"))


def prompt_batch(processor, frames):
    prompt = processor.user_prompt("<image>\n<image>\nWalk past the green chair and stop.")
    return processor([prompt], frames[:2])


def test_vila_checkpoint_gives_the_same_logits_as_the_native_save(
    vila_dir, tiny_checkpoint_dir, tiny_processor, tiny_frames
):
    assert checkpoint_kind(vila_dir) == "vila" and is_vila_checkpoint(vila_dir)
    assert checkpoint_kind(tiny_checkpoint_dir) == "navagent"
    vila_model, vila_processor = load_model_and_processor(vila_dir)
    native_model, _ = load_model_and_processor(tiny_checkpoint_dir)
    # Vocab quirk: the size comes from the embedding tensor, not from llm/config.json.
    assert vila_model.config.text_config.vocab_size == native_model.config.text_config.vocab_size
    assert vila_processor.chat_format == "llama_3"
    assert vila_model.config.tokenizer_model_max_length == 4096  # NaVILA's cut after splicing
    batch = prompt_batch(vila_processor, tiny_frames)
    assert batch["input_ids"][0, :2].tolist() == [vila_processor.tokenizer.bos_token_id] * 2  # double BOS
    assert torch.equal(batch["input_ids"], prompt_batch(tiny_processor, tiny_frames)["input_ids"])
    with torch.no_grad():
        torch.testing.assert_close(vila_model(**batch).logits, native_model(**batch).logits, atol=0, rtol=0)
    assert vila_model.generation_config.eos_token_id == tiny_processor.stop_token_ids


def test_convert_vila_checkpoint(tmp_path, vila_dir, tiny_model, tiny_frames):
    converted = convert_vila_checkpoint(vila_dir, tmp_path / "converted")
    assert checkpoint_kind(converted) == "navagent"
    model, processor = load_model_and_processor(converted)
    batch = prompt_batch(processor, tiny_frames)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, tiny_model(**batch).logits, atol=0, rtol=0)


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("llm", "'llm' part"),
        ("vision_tower", "'vision_tower' part"),
        ("mm_projector", "'mm_projector' part"),
        ("mm_projector/model.safetensors", "mm_projector/model.safetensors"),
        ("vision_tower/preprocessor_config.json", "vision_tower/preprocessor_config.json"),
        ("vision_tower/model.safetensors", "no safetensors weights in vision_tower/"),
    ],
)
def test_missing_part_is_named(tmp_path, vila_dir, remove, message):
    broken = Path(shutil.copytree(vila_dir, tmp_path / "broken"))
    target = broken / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(VilaFormatError, match=message):
        load_model_and_processor(broken)


def test_projector_key_mismatch_is_named(tmp_path, vila_dir):
    broken = Path(shutil.copytree(vila_dir, tmp_path / "broken"))
    (broken / "mm_projector" / "config.json").write_text(json.dumps({"mm_projector_type": "mlp2x_gelu"}))
    with pytest.raises(VilaFormatError, match="mlp2x_gelu"):
        load_model_and_processor(broken)


def test_directory_that_is_neither_format(tmp_path):
    with pytest.raises(CheckpointFormatError, match="no config.json"):
        load_model_and_processor(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointFormatError, match="'bert' is neither navagent"):
        load_model_and_processor(tmp_path)


def test_native_checkpoint_without_processor(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    with pytest.raises(CheckpointFormatError, match="processor"):
        load_model_and_processor(tmp_path)
