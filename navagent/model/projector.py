"""Multimodal projectors: vision tokens (N, P, C) -> language-model embeddings (N, T, D).

Parameter names follow VILA 1.5 / NaVILA so that `mm_projector/model.safetensors` loads unchanged:
    linear          `layers.weight/bias`                       (a bare Linear stored as `layers`)
    mlp2x_gelu      `layers.0`, `layers.2`                     (Linear, GELU, Linear)
    mlp_downsample  `layers.1` (LayerNorm), `layers.2`, `layers.4`  (DownSample, LayerNorm, Linear, GELU, Linear)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from navagent.model.configuration import PROJECTOR_TYPES


class SquareGridDownsample(nn.Module):
    """Merge each 2x2 block of a square token grid into one token with 4x the channels (VILA's DownSample).

    Input (N, S*S, C) tokens in row-major order of an S x S grid. Odd S is zero-padded by one row at the bottom
    and one column at the right. With G = ceil(S / 2), output token k = t*G + q covers rows 2q, 2q+1 and
    columns 2t, 2t+1 — the blocks come out column-major ("transposed"), exactly as NaVILA's weights expect —
    and its channels are the tokens [(2q, 2t), (2q, 2t+1), (2q+1, 2t), (2q+1, 2t+1)] concatenated.
    Output (N, G*G, 4C).
    """

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, num_tokens, channels = tokens.shape
        side = math.isqrt(num_tokens)
        if side * side != num_tokens:
            raise ValueError(f"mlp_downsample needs a square token grid, got {num_tokens} tokens per image")
        grid = tokens.reshape(batch, side, side, channels)
        if side % 2 == 1:
            # F.pad pads from the last dim backwards: (C: 0, 0), (columns: 0, 1), (rows: 0, 1).
            grid = F.pad(grid, (0, 0, 0, 1, 0, 1))
            side += 1
        half = side // 2
        column_pairs = grid.reshape(batch, side, half, 2 * channels)  # [n, row, t] = cols 2t, 2t+1
        by_column_pair = column_pairs.permute(0, 2, 1, 3).contiguous()  # [n, t, row]
        blocks = by_column_pair.reshape(batch, half, half, 4 * channels)  # [n, t, q] = rows 2q, 2q+1
        return blocks.reshape(batch, half * half, 4 * channels)


class MultimodalProjector(nn.Module):
    """Projects vision features of width `mm_hidden_size` to the language model's `hidden_size`.

    forward: (N, P, mm_hidden_size) -> (N, T, hidden_size), T = P except for mlp_downsample
    (T = ceil(sqrt(P) / 2) ** 2, e.g. 729 -> 196).
    """

    def __init__(self, projector_type: str, mm_hidden_size: int, hidden_size: int):
        super().__init__()
        if projector_type not in PROJECTOR_TYPES:
            raise ValueError(f"projector_type must be one of {PROJECTOR_TYPES}, got {projector_type!r}")
        self.projector_type = projector_type
        if projector_type == "linear":
            self.layers = nn.Linear(mm_hidden_size, hidden_size)
        elif projector_type == "mlp2x_gelu":
            self.layers = nn.Sequential(
                nn.Linear(mm_hidden_size, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size)
            )
        else:
            self.layers = nn.Sequential(
                SquareGridDownsample(),
                nn.LayerNorm(4 * mm_hidden_size),
                nn.Linear(4 * mm_hidden_size, hidden_size),
                nn.GELU(),
                nn.Linear(hidden_size, hidden_size),
            )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)

    @staticmethod
    def num_output_tokens(projector_type: str, num_input_tokens: int) -> int:
        """Tokens per image after projection (P for linear / mlp2x_gelu, ceil(sqrt(P)/2)**2 for downsample)."""
        if projector_type != "mlp_downsample":
            return num_input_tokens
        side = math.isqrt(num_input_tokens)
        if side * side != num_input_tokens:
            raise ValueError(f"mlp_downsample needs a square token grid, got {num_input_tokens} tokens")
        return ((side + 1) // 2) ** 2
