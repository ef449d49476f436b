"""Projectors: VILA parameter names, and mlp_downsample's exact (column-major 2x2 block) token order."""

import pytest
import torch

from navagent.model import MultimodalProjector, SquareGridDownsample


def grid_features(side: int) -> torch.Tensor:
    """(1, side*side, 2) row-major tokens whose channels are (row + 1, col + 1); zero padding stays 0."""
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    return torch.stack([rows + 1, cols + 1], dim=-1).reshape(1, side * side, 2).float()


def expected_block(side: int, t: int, q: int) -> list[float]:
    """Reference rule: token k = t*G + q covers rows 2q..2q+1, cols 2t..2t+1, channels
    [(2q, 2t), (2q, 2t+1), (2q+1, 2t), (2q+1, 2t+1)]."""
    values = []
    for row, col in [(2 * q, 2 * t), (2 * q, 2 * t + 1), (2 * q + 1, 2 * t), (2 * q + 1, 2 * t + 1)]:
        inside = row < side and col < side
        values += [row + 1, col + 1] if inside else [0, 0]
    return values


def test_downsample_27x27_matches_reference_order():
    out = SquareGridDownsample()(grid_features(27))
    assert out.shape == (1, 196, 8)
    # Hand-checked tokens: k=1 -> t=0, q=1 (rows 2-3, cols 0-1); k=14 -> t=1, q=0 (rows 0-1, cols 2-3).
    assert out[0, 0].tolist() == [1, 1, 1, 2, 2, 1, 2, 2]
    assert out[0, 1].tolist() == [3, 1, 3, 2, 4, 1, 4, 2]
    assert out[0, 14].tolist() == [1, 3, 1, 4, 2, 3, 2, 4]
    assert out[0, 195].tolist() == [27, 27, 0, 0, 0, 0, 0, 0]  # bottom-right corner, padded neighbours
    for t in range(14):
        for q in range(14):
            assert out[0, t * 14 + q].tolist() == expected_block(27, t, q), (t, q)


@pytest.mark.parametrize("side", [2, 5, 8])
def test_downsample_any_square_grid(side):
    out = SquareGridDownsample()(grid_features(side))
    half = (side + 1) // 2
    assert out.shape == (1, half * half, 8)
    for t in range(half):
        for q in range(half):
            assert out[0, t * half + q].tolist() == expected_block(side, t, q)


def test_downsample_rejects_non_square_token_count():
    with pytest.raises(ValueError, match="square"):
        SquareGridDownsample()(torch.zeros(1, 10, 4))


@pytest.mark.parametrize(
    ("projector_type", "keys"),
    [
        ("linear", {"layers.weight", "layers.bias"}),
        ("mlp2x_gelu", {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}),
        (
            "mlp_downsample",
            {f"layers.{i}.{p}" for i in (1, 2, 4) for p in ("weight", "bias")},
        ),
    ],
)
def test_projector_parameter_names_follow_vila(projector_type, keys):
    projector = MultimodalProjector(projector_type, mm_hidden_size=6, hidden_size=10)
    assert set(projector.state_dict()) == keys
    out = projector(torch.randn(3, 9, 6))
    expected_tokens = MultimodalProjector.num_output_tokens(projector_type, 9)
    assert out.shape == (3, expected_tokens, 10)
    assert expected_tokens == (4 if projector_type == "mlp_downsample" else 9)


def test_downsample_projector_layernorm_width():
    projector = MultimodalProjector("mlp_downsample", mm_hidden_size=6, hidden_size=10)
    assert projector.layers[1].normalized_shape == (24,)
    assert projector.layers[2].in_features == 24


def test_unknown_projector_type():
    with pytest.raises(ValueError, match="projector_type"):
        MultimodalProjector("conv", 4, 4)
