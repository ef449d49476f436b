"""Sequence packing: several samples share one row of the batch, each attending only to itself.

Layout (`pack_rows`): the samples of one batch share as few rows as first-fit packing needs (capacity
`max_length` spliced tokens); the samples are then spread over that many rows longest first, each to the
currently shortest row, so rows end up about equally long and little padding is left. A batch keeps its
number of samples but has fewer, fuller rows.

Attention: after image splicing a packed row is `[sample a | sample b | ... | padding]`. The collator gives
`position_ids` (B, L') that restart at 0 for every sample (and for the padding tail). `forward_packed` splices
the images with the model's own `prepare_multimodal_inputs`, then calls the model with `inputs_embeds`,
these `position_ids`, no attention mask and no cache: transformers' mask builder then finds the sample
boundaries from the position resets and builds a block-diagonal causal mask (sdpa / eager), and
flash-attention uses them as varlen boundaries. Padding sits only at the end of a row, so causal attention
never lets a real token see it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from navagent.model import MultimodalInputs


def pack_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Rows of sample indices: as many rows as `pack_first_fit` needs, balanced longest-first onto the
    shortest row (first-fit's own rows when balancing would overflow a row)."""
    first_fit = pack_first_fit(lengths, capacity)
    rows: list[list[int]] = [[] for _ in first_fit]
    totals = [0] * len(first_fit)
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        row = min(range(len(rows)), key=lambda r: (totals[r], r))
        rows[row].append(index)
        totals[row] += lengths[index]
    if max(totals) > capacity:
        return first_fit
    return [sorted(row) for row in rows]


def pack_first_fit(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Rows of sample indices (ascending within a row), first-fit over the samples sorted longest first.

    Every length must be <= capacity (the collator truncates first)."""
    too_long = [length for length in lengths if length > capacity]
    if too_long:
        raise ValueError(f"pack_first_fit: lengths {too_long} exceed the row capacity {capacity}")
    rows: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        row = next((r for r, free in enumerate(room) if free >= lengths[index]), None)
        if row is None:
            rows.append([])
            room.append(capacity)
            row = len(rows) - 1
        rows[row].append(index)
        room[row] -= lengths[index]
    return [sorted(row) for row in rows]


def packed_position_ids(segment_lengths: Sequence[Sequence[int]], row_length: int) -> torch.Tensor:
    """(B, row_length) positions restarting at 0 for each segment of a row and for its padding tail."""
    rows = []
    for segments in segment_lengths:
        parts = [torch.arange(n) for n in segments]
        parts.append(torch.arange(row_length - sum(segments)))
        rows.append(torch.cat(parts))
    return torch.stack(rows).long()


def splice_batch(core: nn.Module, inputs: dict) -> tuple[MultimodalInputs, dict]:
    """Embed and splice a collator batch with `core` (the `NavVLMForCausalLM`); returns the spliced inputs and
    the attention arguments for the LM call: the spliced attention mask, or for a packed batch (`position_ids`
    (B, L') in `inputs`) no mask and those positions (sample boundaries come from the position resets)."""
    spliced = core.prepare_multimodal_inputs(
        inputs["input_ids"],
        inputs["attention_mask"],
        pixel_values=inputs.get("pixel_values"),
        labels=inputs["labels"],
        padding_side="right",
        vision_features=inputs.get("vision_features"),
    )
    position_ids = inputs.get("position_ids")
    if position_ids is None:
        return spliced, {"attention_mask": spliced.attention_mask}
    if spliced.inputs_embeds.shape[:2] != position_ids.shape:
        raise ValueError(
            f"packed batch: position_ids {tuple(position_ids.shape)} do not match the spliced sequence "
            f"{tuple(spliced.inputs_embeds.shape[:2])}; was the collator built with the model's tokens_per_image?"
        )
    return spliced, {"attention_mask": None, "position_ids": position_ids.to(spliced.inputs_embeds.device)}


def forward_packed(model: nn.Module, core: nn.Module, inputs: dict, **loss_kwargs):
    """Loss and logits of a packed batch.

    model: what the trainer calls (possibly a PeftModel / DeepSpeed engine around `core`).
    core: the `NavVLMForCausalLM` inside it (used to embed and splice the images).
    inputs: the collator's batch with `position_ids` (B, L'), L' = the spliced row length.
    """
    spliced, attention = splice_batch(core, inputs)
    return model(
        inputs_embeds=spliced.inputs_embeds,
        labels=spliced.labels,
        use_cache=False,
        **attention,
        **loss_kwargs,
    )
