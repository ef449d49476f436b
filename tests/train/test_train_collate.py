"""Collator: assistant-only labels (both chat formats, checked on decoded batches), truncation, packing,
length-grouped sampling."""

from __future__ import annotations

import logging

import pytest
import torch

from navagent.model import IGNORE_INDEX, IMAGE_TOKEN_INDEX, ImagePreprocessor, NavVLMProcessor
from navagent.train.collate import BATCH_STATS_KEY, SupervisedCollator
from navagent.train.mixtures import build_mixture, load_registry
from navagent.train.packing import forward_packed, pack_first_fit, pack_rows
from navagent.train.trainer import EpochLengthGroupedSampler

TOKENS_PER_IMAGE = 16  # the tiny model: 64 px, 8 px patches, mlp_downsample


@pytest.fixture(scope="module")
def mixture(data_root, registry_path):
    return build_mixture("chat+nav+vqa", load_registry(registry_path), data_root)


def _by_id(mixture, *ids):
    samples = {s.sample_id: s for s in mixture}
    return [samples[i] for i in ids]


def _labelled_runs(input_ids: torch.Tensor, labels: torch.Tensor) -> list[list[int]]:
    """Contiguous runs of labelled positions (labels equal the ids there)."""
    runs, current = [], []
    for token, label in zip(input_ids.tolist(), labels.tolist()):
        if label != IGNORE_INDEX:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize(
    ("chat_format", "closings"),
    [("llama_3", ("<|eot_id|>", "<|end_of_text|>")), ("tokenizer", ("<|eot_id|>", "<|eot_id|>"))],
)
def test_labels_cover_exactly_the_assistant_answers(mixture, tiny_tokenizer, chat_format, closings):
    processor = NavVLMProcessor(tiny_tokenizer, ImagePreprocessor(64), chat_format=chat_format)
    collator = SupervisedCollator(processor, TOKENS_PER_IMAGE, max_length=1024)
    samples = _by_id(mixture, "chat:frames-1", "chat:text-1", "nav:1-4", "vqa:q2")
    batch = collator(samples)
    decode = lambda ids: tiny_tokenizer.decode(ids, skip_special_tokens=False)
    answers = [
        [f"Into the hallway.{closings[0]}", f"A red chair.{closings[1]}"],
        [f"One.{closings[1]}"],
        [f"The next action is turn left 30 degree.{closings[1]}"],
        [f"yes{closings[1]}"],
    ]
    for row, (sample, expected) in enumerate(zip(samples, answers)):
        runs = _labelled_runs(batch["input_ids"][row], batch["labels"][row])
        assert [decode(run) for run in runs] == expected, sample.sample_id
        real = batch["attention_mask"][row].bool()
        prompt = decode(
            [
                t
                for t, lab in zip(batch["input_ids"][row][real].tolist(), batch["labels"][row][real].tolist())
                if lab == IGNORE_INDEX and t != IMAGE_TOKEN_INDEX
            ]
        )
        assert sample.messages[0]["content"].replace("<image>", "") in prompt
        assert (batch["labels"][row][~real] == IGNORE_INDEX).all()
    assert (batch["labels"][batch["input_ids"] == IMAGE_TOKEN_INDEX] == IGNORE_INDEX).all()
    slots = int((batch["input_ids"] == IMAGE_TOKEN_INDEX).sum())
    assert slots == 3 + 0 + 8 + 1 == batch["pixel_values"].shape[0]
    assert batch[BATCH_STATS_KEY].tolist()[:3] == [4, 0, 0]


def test_text_only_batches_have_no_pixel_values(mixture, tiny_processor):
    batch = SupervisedCollator(tiny_processor, TOKENS_PER_IMAGE)(_by_id(mixture, "chat:text-1"))
    assert "pixel_values" not in batch and batch["input_ids"].shape[0] == 1


def test_long_samples_are_truncated_with_a_counted_warning(mixture, tiny_processor, caplog):
    collator = SupervisedCollator(tiny_processor, TOKENS_PER_IMAGE, max_length=200)
    samples = _by_id(mixture, "nav:2-13", "chat:text-1", "nav:1-8")
    with caplog.at_level(logging.WARNING, logger="navagent.train.collate"):
        batch = collator(samples)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "record nav:2-13:" in messages[0] and "1 sample(s) truncated so far" in messages[0]
    assert "record nav:1-8:" in messages[1] and "2 sample(s) truncated so far" in messages[1]
    samples_, truncated, answerless, _, _, rows = batch[BATCH_STATS_KEY].tolist()
    assert (samples_, truncated, answerless, rows) == (3, 2, 2, 3)  # the prompt alone fills 200 tokens
    for row in range(3):
        ids = batch["input_ids"][row][batch["attention_mask"][row].bool()].tolist()
        assert collator.spliced_length(ids) <= 200
    kept_slots = int((batch["input_ids"] == IMAGE_TOKEN_INDEX).sum())
    assert (
        0 < kept_slots < 16 and batch["pixel_values"].shape[0] == kept_slots
    )  # dropped frames are not loaded


def test_packing_gives_the_same_loss_and_logits_as_separate_rows(mixture, tiny_processor, fresh_tiny_model):
    model = fresh_tiny_model.eval()
    samples = _by_id(mixture, "chat:img-1", "nav:0-1", "chat:text-1", "vqa:q0", "nav:2-5", "chat:frames-1")
    plain = SupervisedCollator(tiny_processor, model.tokens_per_image, max_length=400)
    packed = SupervisedCollator(tiny_processor, model.tokens_per_image, max_length=400, packing=True)
    plain_batch, packed_batch = plain(samples), packed(samples)
    plain_stats, packed_stats = plain_batch.pop(BATCH_STATS_KEY), packed_batch.pop(BATCH_STATS_KEY)
    assert packed_batch["input_ids"].shape[0] < plain_batch["input_ids"].shape[0]
    assert plain_stats[3] == packed_stats[3]  # same real tokens ...
    assert packed_stats[3] / packed_stats[4] > plain_stats[3] / plain_stats[4]  # ... in fewer padded slots
    with torch.no_grad():
        reference = model(**plain_batch, use_cache=False)
        result = forward_packed(model, model, packed_batch)
    torch.testing.assert_close(result.loss, reference.loss, rtol=1e-5, atol=1e-5)
    lengths = [plain.encode(s).length for s in samples]
    for row, members in enumerate(pack_rows(lengths, 400)):
        offset = 0
        for index in members:
            got = result.logits[row, offset : offset + lengths[index]]
            torch.testing.assert_close(got, reference.logits[index, : lengths[index]], rtol=1e-4, atol=1e-4)
            offset += lengths[index]


def test_packing_layout_respects_capacity_keeps_every_sample_and_balances_rows():
    lengths = [70, 10, 45, 30, 95, 5, 60]
    rows = pack_first_fit(lengths, 100)
    assert sorted(i for row in rows for i in row) == list(range(7))
    assert all(sum(lengths[i] for i in row) <= 100 for row in rows)
    assert len(rows) == 4  # 315 tokens need at least 4 rows of 100
    with pytest.raises(ValueError, match="exceed the row capacity"):
        pack_first_fit([101], 100)
    lengths = [50, 50, 40, 30, 20, 10]
    assert [sum(lengths[i] for i in row) for row in pack_first_fit(lengths, 120)] == [120, 80]
    balanced = pack_rows(lengths, 120)  # as many rows, equally long
    assert sorted(i for row in balanced for i in row) == list(range(6))
    assert [sum(lengths[i] for i in row) for row in balanced] == [100, 100]


def test_length_grouped_sampler_is_a_seeded_permutation_per_epoch():
    lengths = [(i * 37) % 101 for i in range(200)]
    sampler = EpochLengthGroupedSampler(lengths, group_size=4, seed=7)
    first = list(sampler)
    assert sorted(first) == list(range(200)) and first == list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first

    def spread(order: list[int]) -> int:  # summed length range inside each batch of 4
        batches = [order[k : k + 4] for k in range(0, 200, 4)]
        return sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)

    assert spread(first) < 0.3 * spread(list(range(200)))
