"""`SupervisedCollator`: a list of `Sample`s -> one training batch for `NavVLMForCausalLM`.

Per sample: the processor's `tokenize_conversation` gives ids with one image slot (-200) per `<image>` and
labels that are IGNORE_INDEX (-100) everywhere except the assistant answers (NaVILA's llama_3 format or the
tokenizer's chat template). Lengths count what the language model sees after splicing: a slot counts
`tokens_per_image`. A sample longer than `max_length` is cut at the end (an image slot is never split; the
images of dropped slots are not loaded) and counted: a warning names the record and the running count.

NaVILA cuts twice: its collator keeps `model_max_length` ids (a slot counts 1), then its model cuts each row
after splicing (`llava/model/llava_arch.py`; here `splice_image_features(max_length=...)`), which can cut an
image partway. This collator instead drops a slot whose features would cross `max_length`, with its image:
the row is NaVILA's minus trailing image positions, all labelled -100, so the trained tokens and the loss are
the same (tests/train/test_train_navila_records.py) and one image fewer is encoded (docs/NAVILA_COMPAT.md).

Batch (right padding):
    input_ids (B, L) long, attention_mask (B, L) long, labels (B, L) long (-100 at padding),
    pixel_values (N, 3, S, S) float32 when the batch has images (slot order, row by row) — or, with cached
        tower features as the frame source, vision_features (N, P, C),
    position_ids (B, L') long — only with packing (see `navagent.train.packing`),
    label_weights (B, L) float, decision_mask (B, L) bool, decision_answers () long — only with
        `answer_tokens`: per-token loss weights, the tokens that carry a navigation decision, and how many
        navigation answers the batch holds (the trainer pops them),
    batch_stats (6,) long — [samples, truncated, answerless, real tokens, row tokens, rows] after splicing; the
        trainer pops it (it works with dataloader worker processes, where the collator's own counters do not
        reach the main process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from PIL import Image

from navagent.model import IGNORE_INDEX, IMAGE_TOKEN_INDEX, NavVLMProcessor
from navagent.train.answer_tokens import AnswerTokens
from navagent.train.packing import pack_rows, packed_position_ids
from navagent.train.samples import DataRecordError, Sample, load_sample_images

logger = logging.getLogger(__name__)

BATCH_STATS_KEY = "batch_stats"
LABEL_WEIGHTS_KEY = "label_weights"
DECISION_MASK_KEY = "decision_mask"
DECISION_ANSWERS_KEY = "decision_answers"
BATCH_STATS_FIELDS = ("samples", "truncated", "answerless", "real_tokens", "row_tokens", "rows")


@dataclass
class EncodedSample:
    """One tokenised sample: ids with slots, labels, its images (one per kept slot), spliced length."""

    sample_id: str
    input_ids: list[int]
    labels: list[int]
    images: list  # one per kept slot: PIL images, or cached feature tensors (see FrameSource)
    length: int
    truncated: bool


class FrameSource(Protocol):
    """Gives a sample's frames and stacks a batch of them under `batch_key` (a model input name)."""

    batch_key: str

    def load(self, sample: Sample) -> list: ...

    def stack(self, frames: list) -> torch.Tensor: ...


class PixelFrames:
    """Frames as decoded images (`load_sample_images`) -> `pixel_values` (N, 3, S, S) by the processor."""

    batch_key = "pixel_values"

    def __init__(self, processor: NavVLMProcessor):
        self.processor = processor

    def load(self, sample: Sample) -> list[Image.Image]:
        return load_sample_images(sample, self.processor.image_processor.size)

    def stack(self, frames: list[Image.Image]) -> torch.Tensor:
        return self.processor.image_processor(frames)


@dataclass
class CollatorStats:
    """Running totals of batch_stats (see module docstring)."""

    samples: int = 0
    truncated: int = 0
    answerless: int = 0
    real_tokens: int = 0
    row_tokens: int = 0
    rows: int = 0

    def add(self, batch_stats: torch.Tensor | Sequence[int]) -> None:
        for name, value in zip(BATCH_STATS_FIELDS, [int(v) for v in batch_stats]):
            setattr(self, name, getattr(self, name) + value)

    @property
    def non_padding_share(self) -> float:
        """Share of the language model's token positions that hold real (non-padding) tokens."""
        return self.real_tokens / self.row_tokens if self.row_tokens else float("nan")


class SupervisedCollator:
    """Builds training batches (see module docstring).

    processor: the model's NavVLMProcessor (tokenizer, image preprocessor, chat format).
    tokens_per_image: `model.tokens_per_image` (projected features per frame).
    max_length: most tokens per row after splicing (NaVILA: 4096).
    packing: pack the batch's samples into as few rows of `max_length` as possible.
    frames: where a sample's frames come from (default `PixelFrames`: decoded images -> pixel_values;
        `navagent.train.feature_cache.CachedFeatureFrames`: cached tower outputs -> vision_features).
    answer_tokens: adds per-token loss weights and decision flags (`navagent.train.answer_tokens`).
    """

    def __init__(
        self,
        processor: NavVLMProcessor,
        tokens_per_image: int,
        max_length: int = 4096,
        packing: bool = False,
        frames: FrameSource | None = None,
        answer_tokens: AnswerTokens | None = None,
    ):
        if tokens_per_image < 1 or max_length < 1:
            raise ValueError(
                f"tokens_per_image and max_length must be >= 1, got {tokens_per_image}, {max_length}"
            )
        if max_length < tokens_per_image + 2:
            raise ValueError(
                f"max_length {max_length} cannot hold one image ({tokens_per_image} tokens) and text"
            )
        self.processor = processor
        self.frames = frames if frames is not None else PixelFrames(processor)
        self.answer_tokens = answer_tokens
        self.tokens_per_image = tokens_per_image
        self.max_length = max_length
        self.packing = packing
        self.truncated_so_far = 0

    def __call__(self, samples: Sequence[Sample]) -> dict[str, torch.Tensor]:
        if not samples:
            raise ValueError("SupervisedCollator got an empty batch")
        encoded = [self.encode(sample) for sample in samples]
        lengths = [e.length for e in encoded]
        rows = pack_rows(lengths, self.max_length) if self.packing else [[i] for i in range(len(encoded))]
        batch = self._pad_rows([[encoded[i] for i in row] for row in rows])
        row_length = max(sum(lengths[i] for i in row) for row in rows)
        if self.packing:
            batch["position_ids"] = packed_position_ids(
                [[lengths[i] for i in row] for row in rows], row_length
            )
        batch[BATCH_STATS_KEY] = torch.tensor(
            [
                len(encoded),
                sum(e.truncated for e in encoded),
                sum(all(label == IGNORE_INDEX for label in e.labels) for e in encoded),
                sum(lengths),
                row_length * len(rows),
                len(rows),
            ],
            dtype=torch.long,
        )
        return batch

    def encode(self, sample: Sample) -> EncodedSample:
        """Tokenise, truncate to max_length (spliced) and load the images of the kept slots."""
        tokenized = self.processor.tokenize_conversation(list(sample.messages))
        ids, labels = tokenized.input_ids, tokenized.labels
        slots = ids.count(IMAGE_TOKEN_INDEX)
        if slots != sample.num_images:
            raise DataRecordError(
                f"record {sample.sample_id}: tokenisation gives {slots} image slots for {sample.num_images} images"
            )
        length = self.spliced_length(ids)
        truncated = length > self.max_length
        if truncated:
            ids, labels = self._truncate(ids, labels)
            self._warn_truncated(sample.sample_id, length)
            length = self.spliced_length(ids)
        images = self.frames.load(sample) if sample.images else []
        images = images[: ids.count(IMAGE_TOKEN_INDEX)]
        return EncodedSample(sample.sample_id, ids, labels, images, length, truncated)

    def spliced_length(self, input_ids: Sequence[int]) -> int:
        """Tokens the language model sees: text tokens + tokens_per_image per slot."""
        slots = sum(1 for token in input_ids if token == IMAGE_TOKEN_INDEX)
        return len(input_ids) - slots + slots * self.tokens_per_image

    def _truncate(self, ids: list[int], labels: list[int]) -> tuple[list[int], list[int]]:
        length = 0
        for cut, token in enumerate(ids):
            length += self.tokens_per_image if token == IMAGE_TOKEN_INDEX else 1
            if length > self.max_length:
                return ids[:cut], labels[:cut]
        return ids, labels

    def _warn_truncated(self, sample_id: str, length: int) -> None:
        self.truncated_so_far += 1
        count = self.truncated_so_far
        if count <= 5 or count % 100 == 0:
            logger.warning(
                "record %s: %d tokens after splicing > max_length %d, truncated (%d sample(s) truncated so far "
                "by this collator)",
                sample_id,
                length,
                self.max_length,
                count,
            )

    def _answer_annotations(
        self, rows: list[list[EncodedSample]], shape: torch.Size
    ) -> dict[str, torch.Tensor]:
        weights = torch.zeros(shape, dtype=torch.float32)
        decisions = torch.zeros(shape, dtype=torch.bool)
        answers = 0
        for index, row in enumerate(rows):
            start = 0
            for encoded in row:
                sample_weights, flags = self.answer_tokens.annotate(encoded.labels)
                end = start + len(encoded.labels)
                weights[index, start:end] = torch.tensor(sample_weights)
                decisions[index, start:end] = torch.tensor(flags, dtype=torch.bool)
                answers += any(flags)
                start = end
        return {
            LABEL_WEIGHTS_KEY: weights,
            DECISION_MASK_KEY: decisions,
            DECISION_ANSWERS_KEY: torch.tensor(answers, dtype=torch.long),
        }

    def _pad_rows(self, rows: list[list[EncodedSample]]) -> dict[str, torch.Tensor]:
        row_ids = [[t for e in row for t in e.input_ids] for row in rows]
        batch = self.processor.pad(row_ids, padding_side="right")
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        for index, row in enumerate(rows):
            row_labels = [label for e in row for label in e.labels]
            labels[index, : len(row_labels)] = torch.tensor(row_labels, dtype=torch.long)
        batch["labels"] = labels
        if self.answer_tokens is not None:
            batch.update(self._answer_annotations(rows, labels.shape))
        images = [image for row in rows for e in row for image in e.images]
        if images:
            batch[self.frames.batch_key] = self.frames.stack(images)
        return batch
