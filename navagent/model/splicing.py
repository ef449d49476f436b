"""Splice projected image features into token embeddings at the image-token slots.

Each occurrence of `image_token_index` (-200) in `input_ids` is one slot; slots are filled, in reading order
(row 0 left to right, then row 1, ...), by the next image's T feature vectors. Padding (attention_mask == 0)
is dropped first and the expanded rows are padded again on the requested side.

Second truncation (NaVILA's `llava/model/llava_arch.py`, `prepare_inputs_labels_for_multimodal`): image features
make a row longer than its ids, so with `max_length` set (NaVILA: the LLM config's `tokenizer_model_max_length`,
= the training `model_max_length`) every expanded row keeps only its first `max_length` positions — embeddings,
labels and image positions alike, an image's features possibly cut partway — before the rows are padded. NaVILA
cuts in training and in generation alike (a long prompt loses its end) and warns "Inputs truncated!"; a
warning here counts the rows cut.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from navagent.model.configuration import IGNORE_INDEX

logger = logging.getLogger(__name__)


@dataclass
class MultimodalInputs:
    """Language-model inputs after splicing.

    inputs_embeds: (B, L, D) text embeddings with image features in place of the slots, zeros at padding.
    attention_mask: (B, L) long, 1 at real tokens.
    labels: (B, L) long or None; IGNORE_INDEX (-100) at image positions and padding.
    image_positions: (B, L) bool, True where an image feature vector sits.
    """

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None
    image_positions: torch.Tensor


def count_image_slots(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, image_token_index: int
) -> list[int]:
    """Number of image slots per row of `input_ids` (B, L), padding excluded."""
    return ((input_ids == image_token_index) & attention_mask.bool()).sum(dim=1).tolist()


def splice_image_features(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    image_features: Sequence[torch.Tensor],
    embed_tokens: nn.Module,
    image_token_index: int,
    labels: torch.Tensor | None = None,
    padding_side: str = "right",
    max_length: int | None = None,
) -> MultimodalInputs:
    """Build language-model inputs from token ids with image slots.

    Args:
        input_ids: (B, L) token ids; `image_token_index` marks a slot.
        attention_mask: (B, L), 1 at real tokens (None: all real).
        image_features: one (T_i, D) tensor per slot, in reading order (a (N, T, D) tensor works too).
        embed_tokens: the language model's input embedding module.
        labels: (B, L) or None; copied for text tokens, IGNORE_INDEX for image feature positions.
        padding_side: "right" (training) or "left" (generation) for the re-padded rows.
        max_length: when set, each expanded row is cut to its first `max_length` positions before padding
            (NaVILA's second truncation, see module docstring); None keeps whole rows.
    Raises:
        ValueError: when the number of slots differs from the number of images, or shapes disagree.
    """
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must have shape (B, L), got {tuple(input_ids.shape)}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask shape {tuple(attention_mask.shape)} differs from input_ids {tuple(input_ids.shape)}"
        )
    if labels is not None and labels.shape != input_ids.shape:
        raise ValueError(
            f"labels shape {tuple(labels.shape)} differs from input_ids {tuple(input_ids.shape)}"
        )
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    if max_length is not None and max_length < 1:
        raise ValueError(f"max_length must be >= 1 or None, got {max_length}")
    slots_per_row = count_image_slots(input_ids, attention_mask, image_token_index)
    if sum(slots_per_row) != len(image_features):
        raise ValueError(
            f"input_ids hold {sum(slots_per_row)} image slots (per row: {slots_per_row}) but "
            f"{len(image_features)} images / image feature tensors were given; they must match one to one"
        )
    text_ids = input_ids.masked_fill(input_ids == image_token_index, 0)
    text_embeds = embed_tokens(text_ids)
    features = iter(image_features)
    rows = [
        _splice_row(
            input_ids[b],
            attention_mask[b],
            text_embeds[b],
            None if labels is None else labels[b],
            features,
            image_token_index,
        )
        for b in range(input_ids.shape[0])
    ]
    if max_length is not None:
        rows = _truncate_rows(rows, max_length)
    return _pad_rows(rows, padding_side, with_labels=labels is not None)


def _splice_row(ids, mask, embeds, labels, features, image_token_index):
    """One row: returns (embeds (L', D), labels (L',) or None, image_positions (L',) bool)."""
    keep = mask.bool()
    ids, embeds = ids[keep], embeds[keep]
    labels = labels[keep] if labels is not None else None
    pieces, label_pieces, image_pieces = [], [], []
    start = 0
    slot_positions = (ids == image_token_index).nonzero(as_tuple=True)[0].tolist()
    for slot in slot_positions + [len(ids)]:
        pieces.append(embeds[start:slot])
        image_pieces.append(torch.zeros(slot - start, dtype=torch.bool, device=ids.device))
        if labels is not None:
            label_pieces.append(labels[start:slot])
        if slot == len(ids):
            break
        feature = next(features)
        if feature.ndim != 2 or feature.shape[-1] != embeds.shape[-1]:
            raise ValueError(
                f"each image feature must have shape (T, {embeds.shape[-1]}), got {tuple(feature.shape)}"
            )
        pieces.append(feature.to(device=embeds.device, dtype=embeds.dtype))
        image_pieces.append(torch.ones(feature.shape[0], dtype=torch.bool, device=ids.device))
        if labels is not None:
            label_pieces.append(
                torch.full((feature.shape[0],), IGNORE_INDEX, dtype=labels.dtype, device=ids.device)
            )
        start = slot + 1
    row_labels = torch.cat(label_pieces) if labels is not None else None
    return torch.cat(pieces), row_labels, torch.cat(image_pieces)


def _truncate_rows(rows, max_length: int):
    """Cut each (embeds, labels, image_positions) row to its first `max_length` positions; warn with the count."""
    long_rows = [embeds.shape[0] for embeds, _, _ in rows if embeds.shape[0] > max_length]
    if long_rows:
        logger.warning(
            "%d of %d row(s) are longer than max_length %d after splicing image features (longest %d): cut to "
            "%d positions, as NaVILA's llava_arch.py does",
            len(long_rows),
            len(rows),
            max_length,
            max(long_rows),
            max_length,
        )
    return [
        (
            embeds[:max_length],
            None if row_labels is None else row_labels[:max_length],
            row_images[:max_length],
        )
        for embeds, row_labels, row_images in rows
    ]


def _pad_rows(rows, padding_side: str, with_labels: bool) -> MultimodalInputs:
    batch = len(rows)
    length = max(embeds.shape[0] for embeds, _, _ in rows)
    first = rows[0][0]
    inputs_embeds = first.new_zeros((batch, length, first.shape[-1]))
    attention_mask = torch.zeros((batch, length), dtype=torch.long, device=first.device)
    image_positions = torch.zeros((batch, length), dtype=torch.bool, device=first.device)
    labels = (
        torch.full((batch, length), IGNORE_INDEX, dtype=torch.long, device=first.device)
        if with_labels
        else None
    )
    for b, (embeds, row_labels, row_images) in enumerate(rows):
        n = embeds.shape[0]
        span = slice(length - n, length) if padding_side == "left" else slice(0, n)
        inputs_embeds[b, span] = embeds
        attention_mask[b, span] = 1
        image_positions[b, span] = row_images
        if labels is not None:
            labels[b, span] = row_labels
    return MultimodalInputs(inputs_embeds, attention_mask, labels, image_positions)
