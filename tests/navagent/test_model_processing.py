"""Processing: VILA's llama_3 template, <image>-aware tokenisation (double BOS), images, processor save/load."""

import logging

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import SiglipImageProcessorPil

from navagent.model import (
    IGNORE_INDEX,
    IMAGE_TOKEN_INDEX,
    ImagePreprocessor,
    NavVLMProcessor,
    load_model_and_processor,
    render_llama3,
    tokenize_with_images,
)
from navagent.model.loading import check_bos

VILA_LLAMA3_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision "
    "assistant. You are able to understand the visual content that the user provides, and assist the user with "
    "a variety of tasks using natural language.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
    "<image>\nWhat is here?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)


def test_llama3_template_matches_vila_exactly():
    messages = [{"role": "user", "content": "<image>\nWhat is here?"}]
    assert render_llama3(messages, add_generation_prompt=True) == VILA_LLAMA3_PROMPT


def test_llama3_template_training_answer_ends_with_end_of_text():
    messages = [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": "The next action is move forward 25 cm."},
    ]
    text = render_llama3(messages, add_generation_prompt=False)
    assert text.endswith(
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nThe next action is move forward 25 cm."
        "<|end_of_text|>"
    )
    multi = render_llama3(messages + [{"role": "user", "content": "Again."}], add_generation_prompt=True)
    assert "move forward 25 cm.<|eot_id|><|start_header_id|>user" in multi
    with pytest.raises(ValueError, match="last message"):
        render_llama3(messages, add_generation_prompt=True)


def test_bad_messages_are_rejected(tiny_processor):
    with pytest.raises(ValueError, match="role"):
        tiny_processor.apply_chat([{"role": "robot", "content": "hi"}])
    with pytest.raises(ValueError, match="at least one"):
        tiny_processor.apply_chat([])


def test_tokenisation_rule_double_bos_and_image_slots(tiny_tokenizer, tiny_processor):
    bos = tiny_tokenizer.bos_token_id
    ids = tiny_processor.tokenize(VILA_LLAMA3_PROMPT)
    # The template's own <|begin_of_text|> plus the tokenizer's BOS: two BOS, as NaVILA was trained.
    assert ids[:2] == [bos, bos] and ids[2] != bos
    assert ids.count(IMAGE_TOKEN_INDEX) == 1
    # Chunks tokenised on their own, one BOS at the start, -200 in between.
    before, after = VILA_LLAMA3_PROMPT.split("<image>")
    expected = (
        tiny_tokenizer(before).input_ids
        + [IMAGE_TOKEN_INDEX]
        + tiny_tokenizer(after, add_special_tokens=False).input_ids
    )
    assert ids == expected


def test_load_warns_on_two_bos_and_a_tokenizer_without_its_own_bos_gives_one(tiny_checkpoint_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="navagent.model.loading"):
        _, processor = load_model_and_processor(tiny_checkpoint_dir)
    assert processor.chat_format == "llama_3" and "two BOS ids" in caplog.text
    assert check_bos(processor) == 2
    tokenizer = processor.tokenizer
    tokenizer.add_bos_token = False  # the template's <|begin_of_text|> alone: exactly the rendered text's ids
    caplog.clear()
    ids = processor.tokenize(VILA_LLAMA3_PROMPT)
    before, after = (
        tokenizer(part, add_special_tokens=False).input_ids for part in VILA_LLAMA3_PROMPT.split("<image>")
    )
    assert ids == [*before, IMAGE_TOKEN_INDEX, *after] and check_bos(processor) == 1 and not caplog.records


def test_tokenisation_consecutive_and_edge_images(tiny_tokenizer):
    bos = tiny_tokenizer.bos_token_id
    ids = tokenize_with_images("<image><image>\nhello<image>", tiny_tokenizer)
    hello = tiny_tokenizer("\nhello", add_special_tokens=False).input_ids
    assert ids == [bos, IMAGE_TOKEN_INDEX, IMAGE_TOKEN_INDEX, *hello, IMAGE_TOKEN_INDEX]
    no_bos = tokenize_with_images("a<image>b", tiny_tokenizer, add_special_tokens=False)
    assert no_bos[0] != bos and no_bos.count(IMAGE_TOKEN_INDEX) == 1


def test_tokenizer_chat_format_has_a_single_bos(tiny_tokenizer):
    processor = NavVLMProcessor(tiny_tokenizer, ImagePreprocessor(64), chat_format="tokenizer")
    prompt = processor.user_prompt("<image>\nWhere now?")
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image>")
    ids = processor.tokenize(prompt)
    assert ids[0] == tiny_tokenizer.bos_token_id and ids[1] != tiny_tokenizer.bos_token_id


@pytest.mark.parametrize("chat_format", ["llama_3", "tokenizer"])
def test_conversation_labels_cover_answers_only(tiny_tokenizer, chat_format):
    processor = NavVLMProcessor(tiny_tokenizer, ImagePreprocessor(64), chat_format=chat_format)
    answer = "The next action is turn left 30 degree."
    messages = [
        {"role": "user", "content": "<image>\nGo to the sofa."},
        {"role": "assistant", "content": answer},
    ]
    example = processor.tokenize_conversation(messages)
    assert len(example.input_ids) == len(example.labels)
    full = processor.tokenize(processor.apply_chat(messages, add_generation_prompt=False))
    assert example.input_ids == full
    labelled = [i for i in example.labels if i != IGNORE_INDEX]
    closing = "<|end_of_text|>" if chat_format == "llama_3" else "<|eot_id|>"
    assert tiny_tokenizer.decode(labelled) == answer + closing
    slot = example.input_ids.index(IMAGE_TOKEN_INDEX)
    assert example.labels[slot] == IGNORE_INDEX


def test_image_preprocessing_equals_transformers_siglip_processor():
    rng = np.random.default_rng(1)
    images = [
        rng.integers(0, 256, size=shape, dtype=np.uint8)
        for shape in [(120, 160, 3), (64, 64, 3), (37, 91, 3)]
    ]
    ours = ImagePreprocessor(64)(images)
    reference = SiglipImageProcessorPil(
        size={"height": 64, "width": 64}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    expected = reference([Image.fromarray(i) for i in images], return_tensors="pt").pixel_values
    assert ours.shape == (3, 3, 64, 64) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
    pil = ImagePreprocessor(64)(Image.fromarray(images[0]).convert("L"))  # grey PIL -> RGB
    assert pil.shape == (1, 3, 64, 64)


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((8, 8, 3), dtype=np.float32), ValueError, "uint8"),
        (np.zeros((8, 8), dtype=np.uint8), ValueError, "shape"),
        (np.zeros((8, 8, 4), dtype=np.uint8), ValueError, "shape"),
        ("frame.png", TypeError, "PIL image or a numpy array"),
    ],
)
def test_bad_images_raise_clear_errors(image, error, match):
    with pytest.raises(error, match=match):
        ImagePreprocessor(16)([image])


def test_processor_batch_left_padding(tiny_processor, tiny_frames):
    prompts = [
        tiny_processor.user_prompt("<image>\nShort."),
        tiny_processor.user_prompt("<image>\n<image>\nA longer one."),
    ]
    batch = tiny_processor(prompts, tiny_frames[:3])
    assert batch["pixel_values"].shape == (3, 3, 64, 64)
    mask = batch["attention_mask"]
    assert mask[1].all() and not mask[0].all() and mask[0, -1] == 1 and mask[0, 0] == 0
    assert (batch["input_ids"] == IMAGE_TOKEN_INDEX).sum() == 3


def test_processor_save_load_round_trip(tmp_path, tiny_processor):
    tiny_processor.save_pretrained(tmp_path)
    loaded = NavVLMProcessor.from_pretrained(tmp_path)
    prompt = tiny_processor.user_prompt("<image>\nTurn right at the red lamp.")
    assert loaded.tokenize(prompt) == tiny_processor.tokenize(prompt)
    assert loaded.chat_format == tiny_processor.chat_format
    assert loaded.stop_token_ids == tiny_processor.stop_token_ids
    assert loaded.image_processor.to_dict() == tiny_processor.image_processor.to_dict()
    with pytest.raises(FileNotFoundError, match="navagent_processor_config.json"):
        NavVLMProcessor.from_pretrained(tmp_path / "elsewhere")


def test_batch_decode_strips_special_tokens(tiny_tokenizer, tiny_processor):
    ids = tiny_tokenizer(" I think I should stop.<|eot_id|>").input_ids
    assert tiny_processor.batch_decode([ids]) == ["I think I should stop."]
