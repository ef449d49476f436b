"""LLaVA-format records -> ids / labels by NaVILA's rules (docs/NAVILA_COMPAT.md), with the expected ids of the
tiny tokenizer written out: whitespace normalisation, `<image>` placement (incl. an image record without a
tag), the leading system turn, records the `<image>` rule must not touch, and the two truncations."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import write_frame, write_json

from navagent.model import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from navagent.model.splicing import splice_image_features
from navagent.train.collate import BATCH_STATS_KEY, SupervisedCollator
from navagent.train.datasets import load_conversation_dataset, load_navigation_dataset
from navagent.train.datasets.conversation import navila_image_tags
from navagent.train.samples import DataRecordError, Sample, load_sample_images

IMG = IMAGE_TOKEN_INDEX
EOT, END = 4, 1  # <|eot_id|>, <|end_of_text|>
# <|begin_of_text|> twice (template + tokenizer), llama_3 system text, <|eot_id|>
SYSTEM = [
    0, 0, 2, 88, 94, 314, 74, 82, 3, 204, 204, 62, 301, 613, 265, 226, 401, 85, 75, 90, 81, 771, 271, 226, 486,
    769, 503, 19, 619, 613, 265, 71, 398, 284, 226, 429, 321, 314, 70, 270, 264, 226, 475, 90, 269, 287, 309,
    89, 368, 262, 384, 264, 767, 618, 91, 460, 571, 17, 271, 769, 264, 767, 307, 296, 77, 265, 617, 70, 703,
    344, 94, 403, 620, 226, 714, 338, 616, 316, 293, 269, 771, 19, 4,
]  # fmt: skip
USER = [2, 766, 3, 204, 204]  # <|start_header_id|>user<|end_header_id|>\n\n
ASSISTANT = [2, 70, 612, 615, 503, 3, 204, 204]
IS_IT_RED, IT_IS_RED = [365, 226, 296, 346, 36], [46, 89, 295, 346, 19]  # "Is it red?", "It is red."
WHAT_ROOM, NOTHING = [385, 337, 295, 665, 36], [375, 89, 77, 338, 19]  # "What room is this?", "Nothing."


def _turns(*values: str) -> list[dict]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]


def _load(tmp_path: Path, records: list[dict], name: str = "src") -> list[Sample]:
    rng = np.random.default_rng(0)
    for record in records:
        paths = record.get("image", [])
        for path in [paths] if isinstance(paths, str) else paths:
            write_frame(tmp_path / path, rng)
    return load_conversation_dataset(write_json(tmp_path / "records.json", records), tmp_path, name).samples


def _expected(*turns: list[int]) -> tuple[list[int], list[int]]:
    """ids and labels of user/assistant content ids in turn order (llama_3, NaVILA's closing tokens)."""
    ids, labels = list(SYSTEM), [IGNORE_INDEX] * len(SYSTEM)
    for index, content in enumerate(turns):
        header = USER if index % 2 == 0 else ASSISTANT
        text = content + [END if index == len(turns) - 1 else EOT]
        ids += header + text
        labels += [IGNORE_INDEX] * len(header) + (text if index % 2 else [IGNORE_INDEX] * len(text))
    return ids, labels


def _tokens(processor, sample: Sample) -> tuple[list[int], list[int]]:
    tokenized = processor.tokenize_conversation(sample.messages)
    return tokenized.input_ids, tokenized.labels


def test_every_message_value_is_stripped_before_templating(tmp_path, tiny_processor):
    records = [
        {
            "id": "ws",
            "conversations": _turns(
                "\n  Is it red?\n", "It is red.\n\n", "\n\nIs it red? ", "\nIt is red.\n"
            ),
        }
    ]
    (sample,) = _load(tmp_path, records)
    assert _tokens(tiny_processor, sample) == _expected(IS_IT_RED, IT_IS_RED, IS_IT_RED, IT_IS_RED)
    # prompts at inference are templated as given (NaVILA's evaluation does not strip)
    assert tiny_processor.user_prompt("Is it red?\n").endswith(
        "Is it red?\n<|eot_id|>" + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Compare these: <image> and <image>", "Compare these: <image>\nand <image>"),
        ("<image><image>\nWhat changed?", "<image>\n <image>\nWhat changed?"),
        ("Look:\n\n<image>\n\n\nWhat is it?  ", "Look: <image>\nWhat is it?"),
        ("What is it?<image>", "What is it? <image>"),
        ("<image>\nWhat is it?", "<image>\nWhat is it?"),
    ],
)
def test_image_tag_rule_on_single_values(value, expected):
    assert navila_image_tags(value) == expected


def test_image_tags_are_placed_as_navila_does_and_tokenised(tmp_path, tiny_processor):
    records = [
        {"id": "cmp", "image": ["a.jpg", "b.jpg"], "conversations": _turns("  Compare these: <image> and <image>", "Nothing.")},
        {"id": "pair", "image": ["a.jpg", "b.jpg"], "conversations": _turns("<image><image>\nWhat changed?", "Nothing.")},
        {"id": "untagged", "image": "a.jpg", "conversations": _turns("What room is this?\n", "Nothing.")},
    ]  # fmt: skip
    compare, pair, untagged = _load(tmp_path, records)
    assert compare.messages[0]["content"] == "Compare these: <image>\nand <image>"
    compare_ids = [40, 636, 70, 272, 264, 88, 74, 31, 226, IMG, 204, 70, 270, 226, IMG]
    assert _tokens(tiny_processor, compare) == _expected(compare_ids, NOTHING)
    pair_ids = [IMG, 204, 226, IMG, 204, 385, 520, 549, 73, 36]  # "<image>\n <image>\nWhat changed?"
    assert _tokens(tiny_processor, pair) == _expected(pair_ids, NOTHING)
    # an image record without a tag gets "<image>\n" in front of its first turn
    assert untagged.messages[0]["content"] == "<image>\nWhat room is this?"
    assert _tokens(tiny_processor, untagged) == _expected([IMG, 204, *WHAT_ROOM], NOTHING)


def test_a_leading_system_turn_is_dropped_with_a_counted_warning(tmp_path, tiny_processor, caplog):
    system = {"from": "system", "value": "You are a careful robot."}
    records = [
        {"id": "sys", "image": "a.jpg", "conversations": [system, *_turns("What room is this?", "Nothing.")]},
        {"id": "plain", "image": "a.jpg", "conversations": _turns("<image>\nWhat room is this?", "Nothing.")},
        {"id": "greet", "conversations": [{"from": "gpt", "value": "Hello."}, *_turns("Is it red?", "It is red.")]},
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="navagent.train.datasets.conversation"):
        with_system, plain, greet = _load(tmp_path, records, "mix")
    (warning,) = [r.getMessage() for r in caplog.records]
    assert (
        "dataset 'mix': dropped the leading non-user turn of 2 of 3 record(s) ('gpt': 1, 'system': 1)"
        in warning
    )
    # the record's system text is not used: the fixed llama_3 one is, and the tag goes to the first user turn
    expected = _expected([IMG, 204, *WHAT_ROOM], NOTHING)
    assert _tokens(tiny_processor, with_system) == _tokens(tiny_processor, plain) == expected
    assert _tokens(tiny_processor, greet) == _expected(IS_IT_RED, IT_IS_RED)


def test_navigation_video_and_text_records_keep_their_tags(tmp_path, data_root, tiny_processor):
    nav = load_navigation_dataset(data_root / "nav" / "annotations.json", data_root / "nav", "nav").samples[0]
    ids = _tokens(tiny_processor, nav)[0]
    first = ids.index(IMG)
    assert ids[first : first + 14] == [IMG, 204] * 7  # "<image>\n" x 7 history frames: no spaces added
    rng = np.random.default_rng(1)
    for i in range(4):
        write_frame(tmp_path / "clip" / f"{i}.jpg", rng)
    records = [
        {"id": "vid", "video": "clip", "conversations": _turns("<video>\nIs it red?", "It is red.")},
        {"id": "txt", "conversations": _turns("Is it red?", "It is red.")},
    ]
    path = write_json(tmp_path / "v.json", records)
    video, text = load_conversation_dataset(path, tmp_path, "v", num_video_frames=4).samples
    assert _tokens(tiny_processor, video) == _expected([IMG, 204] * 4 + IS_IT_RED, IT_IS_RED)
    assert text.images == () and _tokens(tiny_processor, text) == _expected(IS_IT_RED, IT_IS_RED)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "many", "image": ["a.jpg", "b.jpg"], "conversations": _turns("Which?", "A.")}, "2 images but no <image>"),
        ({"id": "lone", "conversations": [{"from": "system", "value": "Be brief."}]}, "the only turn is from 'system'"),
        ({"id": "mid", "conversations": [*_turns("Hi?", "Hi."), {"from": "system", "value": "x"}]}, "turn 2 has 'from' = 'system'"),
        ({"id": "two", "conversations": [{"from": "system", "value": "x"}, *_turns("x", "y")[::-1]]}, "turn 0 is from 'assistant'"),
    ],
)  # fmt: skip
def test_records_navila_cannot_align_are_refused_naming_the_record(tmp_path, record, message):
    with pytest.raises(DataRecordError, match=message) as error:
        _load(tmp_path, [record])
    assert f"src:{record['id']}" in str(error.value)


def test_model_side_truncation_after_our_collator_trains_exactly_what_navila_trains(
    tmp_path, tiny_processor, fresh_tiny_model
):
    """NaVILA: the collator cuts ids at M (a slot counts 1), the model cuts the spliced row at M, so an image may
    be cut partway. navagent's collator cuts before an image that would cross M. Same loss, same trained tokens;
    navagent's row only lacks the cut image's features at the end (all labelled -100)."""
    model = fresh_tiny_model.eval()
    per_image = model.tokens_per_image
    turns = _turns(
        "<image>\nIs it red?", "It is red.", "Compare <image> with <image>", "The first one is red."
    )
    records = [{"id": "long", "image": ["a.jpg", "b.jpg", "c.jpg"], "conversations": turns}]
    (sample,) = _load(tmp_path, records)
    ids, labels = _tokens(tiny_processor, sample)
    second_slot = [i for i, t in enumerate(ids) if t == IMG][1]
    max_length = second_slot + per_image + 5  # the second image's features cross max_length
    images = load_sample_images(sample, tiny_processor.image_processor.size)

    # NaVILA's path, with its two truncations
    kept_ids, kept_labels = ids[:max_length], labels[:max_length]
    slots = kept_ids.count(IMG)
    with torch.no_grad():
        features = model.encode_images(tiny_processor.image_processor(images[:slots]))
        navila = splice_image_features(
            torch.tensor([kept_ids]), None, features, model.get_input_embeddings(), IMG,
            labels=torch.tensor([kept_labels]), max_length=max_length,
        )  # fmt: skip
        navila_loss = model(
            inputs_embeds=navila.inputs_embeds, attention_mask=navila.attention_mask, labels=navila.labels
        ).loss
        batch = SupervisedCollator(tiny_processor, per_image, max_length=max_length)([sample])
        batch.pop(BATCH_STATS_KEY)
        ours = model.prepare_multimodal_inputs(
            batch["input_ids"], batch["attention_mask"], batch["pixel_values"], labels=batch["labels"]
        )
        our_loss = model(**batch).loss
    # NaVILA's collator keeps all three slots (each counts 1), its model cuts the second image partway
    assert slots == 3 and navila.labels.shape[1] == max_length and batch["pixel_values"].shape[0] == 1
    length = ours.labels.shape[1]
    assert length == second_slot + per_image - 1  # text up to the second slot, then the first image
    assert ours.labels[0].tolist() == navila.labels[0, :length].tolist()
    assert (navila.labels[0, length:] == IGNORE_INDEX).all() and navila.image_positions[0, length:].all()
    assert torch.isfinite(our_loss)  # the first answer is trained
    torch.testing.assert_close(our_loss, navila_loss, rtol=1e-5, atol=1e-6)
