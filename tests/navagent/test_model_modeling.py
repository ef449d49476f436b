"""NavVLMForCausalLM: encoding, splicing, labels, batched generation, sampling, save/load, other backbones."""

import dataclasses

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

from navagent.model import (
    IGNORE_INDEX,
    IMAGE_TOKEN_INDEX,
    NavVLMConfig,
    NavVLMForCausalLM,
    build_tiny_model,
    load_model_and_processor,
    load_tiny_model_spec,
    save_model_and_processor,
)

NAV_PROMPT = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical "
    "observations " + "<image>\n" * 7 + ", and current observation <image>\n. Your assigned task is: "
    '"{instruction}" Analyze this series of images to decide your next action, which could be turning left or '
    "right by a specific degree, moving forward a certain distance, or stop if the task is completed."
)


def nav_inputs(processor, instructions, frames):
    prompts = [processor.user_prompt(NAV_PROMPT.format(instruction=text)) for text in instructions]
    return processor(prompts, frames * len(instructions))


def test_encode_images_shape(tiny_model, tiny_processor, tiny_frames):
    pixel_values = tiny_processor.image_processor(tiny_frames)
    features = tiny_model.encode_images(pixel_values)
    assert features.shape == (8, 16, tiny_model.config.hidden_size)
    assert tiny_model.tokens_per_image == 16


def test_image_features_path_equals_pixel_values_path(tiny_model, tiny_processor, tiny_frames):
    batch = nav_inputs(tiny_processor, ["Walk into the kitchen."], tiny_frames)
    with torch.no_grad():
        from_pixels = tiny_model(
            batch["input_ids"], batch["attention_mask"], pixel_values=batch["pixel_values"]
        )
        cached = list(tiny_model.encode_images(batch["pixel_values"]))  # e.g. a per-frame feature cache
        from_features = tiny_model(batch["input_ids"], batch["attention_mask"], image_features=cached)
    expected_length = batch["input_ids"].shape[1] + 8 * (16 - 1)
    assert from_pixels.logits.shape == (1, expected_length, tiny_model.config.text_config.vocab_size)
    torch.testing.assert_close(from_pixels.logits, from_features.logits)


def test_slot_frame_mismatch_is_a_clear_error(tiny_model, tiny_processor, tiny_frames):
    batch = nav_inputs(tiny_processor, ["Go."], tiny_frames)
    with pytest.raises(ValueError, match=r"8 image slots .* 7 images"):
        tiny_model(batch["input_ids"], batch["attention_mask"], pixel_values=batch["pixel_values"][:7])
    with pytest.raises(ValueError, match="at most one of"):
        tiny_model(
            batch["input_ids"],
            pixel_values=batch["pixel_values"],
            image_features=list(torch.zeros(8, 16, 128)),
        )


def test_labels_masked_at_image_positions(tiny_model, tiny_processor, tiny_frames):
    messages = [
        {"role": "user", "content": "<image>\n<image>\nGo to the bed."},
        {"role": "assistant", "content": "The next action is move forward 50 cm."},
    ]
    example = tiny_processor.tokenize_conversation(messages)
    batch = tiny_processor.pad([example.input_ids], padding_side="right")
    labels = torch.tensor([example.labels])
    spliced = tiny_model.prepare_multimodal_inputs(
        batch["input_ids"],
        batch["attention_mask"],
        tiny_processor.image_processor(tiny_frames[:2]),
        labels=labels,
    )
    assert spliced.image_positions.sum() == 2 * 16
    assert (spliced.labels[spliced.image_positions] == IGNORE_INDEX).all()
    text_labels = spliced.labels[~spliced.image_positions]
    expected = [label for i, label in zip(example.input_ids, example.labels) if i != IMAGE_TOKEN_INDEX]
    assert text_labels.tolist() == expected
    output = tiny_model(
        batch["input_ids"],
        batch["attention_mask"],
        tiny_processor.image_processor(tiny_frames[:2]),
        labels=labels,
    )
    assert torch.isfinite(output.loss) and output.loss > 0


def test_right_padded_batch_gives_the_same_logits_per_row(tiny_model, tiny_processor, tiny_frames):
    batch = tiny_processor(
        [
            tiny_processor.user_prompt("<image>\nHi."),
            tiny_processor.user_prompt("<image>\nA much longer question."),
        ],
        tiny_frames[:2],
        padding_side="right",
    )
    with torch.no_grad():
        both = tiny_model(**batch).logits
        single = tiny_model(
            batch["input_ids"][:1, : batch["attention_mask"][0].sum()], pixel_values=batch["pixel_values"][:1]
        ).logits
    torch.testing.assert_close(both[0, : single.shape[1]], single[0], atol=1e-5, rtol=1e-5)


def test_batched_greedy_generation_equals_one_by_one(tiny_model, tiny_processor, tiny_frames):
    instructions = [
        "Walk into the kitchen and stop next to the red sofa.",
        "Stop.",
        "Exit the bedroom, turn left at the second doorway and wait there. Then go past the blue table.",
    ]
    batch = nav_inputs(tiny_processor, instructions, tiny_frames)
    batched = tiny_model.generate(**batch, max_new_tokens=12)
    for row, instruction in enumerate(instructions):
        single_inputs = nav_inputs(tiny_processor, [instruction], tiny_frames)
        single = tiny_model.generate(**single_inputs, max_new_tokens=12)[0].tolist()
        assert batched[row, : len(single)].tolist() == single
        assert (batched[row, len(single) :] == tiny_model.generation_config.pad_token_id).all()


def test_generation_accepts_cached_image_features(tiny_model, tiny_processor, tiny_frames):
    batch = nav_inputs(tiny_processor, ["Go to the lamp."], tiny_frames)
    features = list(tiny_model.encode_images(batch["pixel_values"]))
    from_pixels = tiny_model.generate(**batch, max_new_tokens=6)
    from_features = tiny_model.generate(
        batch["input_ids"], batch["attention_mask"], image_features=features, max_new_tokens=6
    )
    assert from_pixels.tolist() == from_features.tolist()


def test_sampling_is_seeded_and_leaves_global_rng_alone(tiny_model, tiny_processor, tiny_frames):
    batch = nav_inputs(tiny_processor, ["Go to the lamp."], tiny_frames)
    state = torch.get_rng_state()
    first = tiny_model.generate(**batch, max_new_tokens=10, do_sample=True, seed=3, eos_token_id=[])
    again = tiny_model.generate(**batch, max_new_tokens=10, do_sample=True, seed=3, eos_token_id=[])
    other = tiny_model.generate(**batch, max_new_tokens=10, do_sample=True, seed=4, eos_token_id=[])
    assert torch.equal(torch.get_rng_state(), state)
    assert first.tolist() == again.tolist() and first.tolist() != other.tolist()
    with pytest.raises(ValueError, match="seed"):
        tiny_model.generate(**batch, do_sample=True)


def test_save_load_round_trip_and_auto_classes(tiny_checkpoint_dir, tiny_model, tiny_processor, tiny_frames):
    assert (tiny_checkpoint_dir / "model.safetensors").is_file()
    assert not list(tiny_checkpoint_dir.glob("*.bin"))
    model, processor = load_model_and_processor(tiny_checkpoint_dir)
    batch = nav_inputs(processor, ["Turn right."], tiny_frames)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, tiny_model(**batch).logits, atol=0, rtol=0)
    assert model.generation_config.eos_token_id == tiny_processor.stop_token_ids
    assert isinstance(AutoConfig.from_pretrained(tiny_checkpoint_dir), NavVLMConfig)
    assert isinstance(AutoModelForImageTextToText.from_pretrained(tiny_checkpoint_dir), NavVLMForCausalLM)
    assert isinstance(AutoModelForCausalLM.from_pretrained(tiny_checkpoint_dir), NavVLMForCausalLM)


def test_dtype_is_selectable(tiny_checkpoint_dir, tiny_processor, tiny_frames):
    model, _ = load_model_and_processor(tiny_checkpoint_dir, dtype=torch.bfloat16, device="cpu")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    batch = nav_inputs(tiny_processor, ["Turn right."], tiny_frames)
    assert model.generate(**batch, max_new_tokens=3).shape[0] == 1


@pytest.mark.parametrize(
    ("projector", "select_feature", "tokens"), [("linear", "patch", 16), ("mlp2x_gelu", "cls_patch", 17)]
)
def test_clip_and_qwen2_backbones(projector, select_feature, tokens):
    config = NavVLMConfig(
        vision_config={
            "model_type": "clip_vision_model",
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": 64,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
        },
        mm_projector_type=projector,
        mm_vision_select_feature=select_feature,
        chat_format="tokenizer",
    )
    model = NavVLMForCausalLM(config).eval()
    features = model.encode_images(torch.zeros(2, 3, 32, 32))
    assert features.shape == (2, tokens, 32) and model.tokens_per_image == tokens
    ids = torch.tensor([[3, IMAGE_TOKEN_INDEX, 4, IMAGE_TOKEN_INDEX]])
    assert model(ids, pixel_values=torch.zeros(2, 3, 32, 32)).logits.shape == (1, 2 + 2 * tokens, 64)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mm_projector_type", "conv"),
        ("mm_vision_select_feature", "cls"),
        ("chat_format", "vicuna"),
        ("num_video_frames", 0),
        ("mm_frame_slots", -1),
        ("num_recent_frames", 8),
    ],
)
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        NavVLMConfig(**{field: value})


@pytest.fixture(scope="module")
def slotted_model(tiny_model_config_path, tiny_tokenizer):
    """The tiny model with 3 frame slots, their vectors made large enough to see."""
    spec = dataclasses.replace(load_tiny_model_spec(tiny_model_config_path), mm_frame_slots=3)
    model = build_tiny_model(spec, tiny_tokenizer)
    with torch.no_grad():
        model.frame_slot_embeddings.weight.normal_(std=1.0)
    return model


def test_frame_slots_count_back_from_the_current_frame(slotted_model, tiny_processor, tiny_frames):
    prompts = [tiny_processor.user_prompt("<image>\n" * count + "Go.") for count in (5, 1)]
    batch = tiny_processor(prompts, tiny_frames[:6], padding_side="right")
    features = list(slotted_model.encode_images(batch["pixel_values"]))
    spliced = slotted_model.prepare_multimodal_inputs(
        batch["input_ids"], batch["attention_mask"], image_features=features
    )
    slot_vectors = slotted_model.frame_slot_embeddings.weight
    # row 0: five frames -> slots 2 (capped), 2, 2, 1, 0; row 1: one frame -> slot 0 (it is the current frame)
    expected_slots = [(0, 2), (0, 2), (0, 2), (0, 1), (0, 0), (1, 0)]
    for (row, slot), feature, start in zip(expected_slots, features, [*range(0, 80, 16), 0], strict=True):
        positions = spliced.image_positions[row].nonzero().flatten()[start : start + 16]
        vectors = slot_vectors[slot * 16 : (slot + 1) * 16]  # (T, D): one per token of the image
        torch.testing.assert_close(spliced.inputs_embeds[row, positions], feature + vectors)


def test_frame_slots_batch_and_round_trip(slotted_model, tiny_processor, tiny_frames, tmp_path):
    batch = nav_inputs(tiny_processor, ["Walk into the kitchen.", "Stop."], tiny_frames)
    batched = slotted_model.generate(**batch, max_new_tokens=8)
    single = slotted_model.generate(**nav_inputs(tiny_processor, ["Stop."], tiny_frames), max_new_tokens=8)
    assert batched[1, : single.shape[1]].tolist() == single[0].tolist()
    loaded, _ = load_model_and_processor(save_model_and_processor(slotted_model, tiny_processor, tmp_path))
    assert loaded.config.mm_frame_slots == 3
    torch.testing.assert_close(
        loaded.frame_slot_embeddings.weight, slotted_model.frame_slot_embeddings.weight
    )
    with torch.no_grad():
        ours, theirs = slotted_model(**batch).logits, loaded(**batch).logits
    torch.testing.assert_close(ours, theirs)
