"""splice_image_features: NaVILA's second truncation (`max_length`) after image features are spliced in."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from navagent.model import IGNORE_INDEX
from navagent.model.splicing import splice_image_features

SLOT = -200


@pytest.fixture
def embed() -> nn.Embedding:
    torch.manual_seed(0)
    return nn.Embedding(10, 4)


def _features(count: int, length: int = 3) -> list[torch.Tensor]:
    return [torch.full((length, 4), 100.0 + i) for i in range(count)]


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_rows_are_cut_to_max_length_after_splicing(embed, padding_side, caplog):
    # row 0: 3 text + 2 images x 3 = 9 positions; row 1: 2 text + 1 image = 5 (right-padded ids)
    input_ids = torch.tensor([[1, SLOT, 2, SLOT, 3], [4, SLOT, 5, 0, 0]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    labels = torch.tensor(
        [[1, IGNORE_INDEX, 2, IGNORE_INDEX, 3], [4, IGNORE_INDEX, 5, IGNORE_INDEX, IGNORE_INDEX]]
    )
    arguments = (input_ids, attention_mask, _features(3), embed, SLOT)
    full = splice_image_features(*arguments, labels=labels, padding_side="right")
    with caplog.at_level(logging.WARNING, logger="navagent.model.splicing"):
        cut = splice_image_features(*arguments, labels=labels, padding_side=padding_side, max_length=6)
    assert (
        "1 of 2 row(s) are longer than max_length 6 after splicing image features (longest 9)" in caplog.text
    )
    assert cut.inputs_embeds.shape == (2, 6, 4)
    # row 0 keeps "1", image 0, "2" and the first two feature vectors of image 1: an image may be cut partway
    torch.testing.assert_close(cut.inputs_embeds[0], full.inputs_embeds[0, :6])
    assert cut.labels[0].tolist() == [1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 2, IGNORE_INDEX]
    assert cut.image_positions[0].tolist() == [False, True, True, True, False, True]
    # row 1 (5 positions) is not cut; it is padded on the requested side
    real = cut.attention_mask[1].bool()
    assert int(real.sum()) == 5 and real[-1 if padding_side == "left" else 0]
    torch.testing.assert_close(cut.inputs_embeds[1][real], full.inputs_embeds[1, :5])
    assert cut.labels[1][real].tolist() == [4, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 5]


def test_no_max_length_or_short_rows_change_nothing(embed, caplog):
    input_ids = torch.tensor([[1, SLOT, 2]])
    full = splice_image_features(input_ids, None, _features(1), embed, SLOT)
    with caplog.at_level(logging.WARNING, logger="navagent.model.splicing"):
        same = splice_image_features(input_ids, None, _features(1), embed, SLOT, max_length=5)
    assert not caplog.records
    torch.testing.assert_close(same.inputs_embeds, full.inputs_embeds)
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        splice_image_features(input_ids, None, _features(1), embed, SLOT, max_length=0)
