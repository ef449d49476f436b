"""Stage-0 task heads on a vision tower's token map, their losses and the probe metrics.

The tower (``navagent.model.VisionTower``) gives tokens (N, h*w, C) in row-major order of an h x w map. Heads:

* image heads on the mean over the map (N, C): ``room`` (room types), easy-vqa ``shape`` and ``shape_color``;
* sector heads, shared by the K sectors: sector k is the map's columns ``k*w/K .. (k+1)*w/K - 1``, all rows, its
  cells concatenated (N, K, h*C*w/K) -> ``door`` (1 logit), ``through`` (room types + none), ``objects``
  (categories, multi-label), ``colors`` (colour names, multi-label), ``depth`` (bins).

Sharing the sector heads keeps them left-right symmetric: a mirrored image (sectors reversed) is the same
task. Probe metrics (``view_metrics``): room accuracy, door-sector F1 (binary over all view-sectors),
object and colour F1 (micro over view-sector-labels), depth and through accuracy.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from navagent.envs.builtin.view_labels import CATEGORIES, COLOR_NAMES, DEPTH_BINS, NUM_SECTORS, ROOM_TYPES
from navagent.train.tower_data import EASY_VQA_COLORS, EASY_VQA_SHAPES, ShapeExamples, ViewExamples


def token_map(tokens: torch.Tensor) -> torch.Tensor:
    """Tokens (N, P, C) of a square map in row-major order -> map (N, C, s, s), s = sqrt(P)."""
    batch, count, channels = tokens.shape
    side = math.isqrt(count)
    if side * side != count:
        raise ValueError(f"stage-0 heads need a square token map, got {count} tokens per image")
    return tokens.transpose(1, 2).reshape(batch, channels, side, side)


class TowerHeads(nn.Module):
    """Linear heads on a ``side`` x ``side`` map of ``channels``-wide tokens (see the module docstring)."""

    def __init__(self, channels: int, side: int, num_sectors: int = NUM_SECTORS):
        super().__init__()
        if side % num_sectors:
            raise ValueError(
                f"a {side}x{side} token map cannot be cut into {num_sectors} equal column sectors"
            )
        self.num_sectors = num_sectors
        sector_width = channels * side * (side // num_sectors)
        self.sector_norm = nn.LayerNorm(sector_width)
        self.image_norm = nn.LayerNorm(channels)
        self.image_heads = nn.ModuleDict(
            {
                "room": nn.Linear(channels, len(ROOM_TYPES)),
                "shape": nn.Linear(channels, len(EASY_VQA_SHAPES)),
                "shape_color": nn.Linear(channels, len(EASY_VQA_COLORS)),
            }
        )
        self.sector_heads = nn.ModuleDict(
            {
                "door": nn.Linear(sector_width, 1),
                "through": nn.Linear(sector_width, len(ROOM_TYPES) + 1),
                "objects": nn.Linear(sector_width, len(CATEGORIES)),
                "colors": nn.Linear(sector_width, len(COLOR_NAMES)),
                "depth": nn.Linear(sector_width, len(DEPTH_BINS)),
            }
        )

    def forward(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """tokens (N, s*s, C) -> logits: room (N, R), shape (N, 3), shape_color (N, 8), door (N, K),
        through (N, K, R+1), objects (N, K, categories), colors (N, K, colours), depth (N, K, bins)."""
        grid = token_map(tokens)  # (N, C, s, s)
        batch, channels, side, _ = grid.shape
        pooled = self.image_norm(grid.mean(dim=(2, 3)))
        columns = side // self.num_sectors
        # (N, C, rows, K, columns) -> (N, K, rows, columns, C) -> (N, K, rows*columns*C)
        sectors = grid.reshape(batch, channels, side, self.num_sectors, columns).permute(0, 3, 2, 4, 1)
        sectors = self.sector_norm(sectors.reshape(batch, self.num_sectors, -1))
        logits = {name: head(pooled) for name, head in self.image_heads.items()}
        logits |= {name: head(sectors) for name, head in self.sector_heads.items()}
        logits["door"] = logits["door"].squeeze(-1)
        return logits


def view_losses(logits: dict[str, torch.Tensor], batch: ViewExamples) -> dict[str, torch.Tensor]:
    """Per-task mean losses of a batch of views (cross-entropy, or binary cross-entropy for multi-label)."""
    return {
        "room": F.cross_entropy(logits["room"], batch.room),
        "door": F.binary_cross_entropy_with_logits(logits["door"], batch.door),
        "through": F.cross_entropy(logits["through"].flatten(0, 1), batch.through.flatten()),
        "objects": F.binary_cross_entropy_with_logits(logits["objects"], batch.objects),
        "colors": F.binary_cross_entropy_with_logits(logits["colors"], batch.colors),
        "depth": F.cross_entropy(logits["depth"].flatten(0, 1), batch.depth.flatten()),
    }


def shape_losses(logits: dict[str, torch.Tensor], batch: ShapeExamples) -> dict[str, torch.Tensor]:
    """easy-vqa shape and colour cross-entropies."""
    return {
        "shape": F.cross_entropy(logits["shape"], batch.shape),
        "shape_color": F.cross_entropy(logits["shape_color"], batch.color),
    }


def f1_score(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """Micro F1 of two 0/1 tensors of equal shape (1.0 when both are empty)."""
    predicted, target = predicted.bool(), target.bool()
    true_positive = (predicted & target).sum().item()
    denominator = predicted.sum().item() + target.sum().item()
    return 1.0 if denominator == 0 else 2.0 * true_positive / denominator


def view_metrics(logits: dict[str, torch.Tensor], examples: ViewExamples) -> dict[str, float]:
    """Probe metrics of view logits (all examples at once) against their labels."""
    return {
        "room_accuracy": (logits["room"].argmax(-1) == examples.room).float().mean().item(),
        "door_f1": f1_score(logits["door"] > 0, examples.door > 0.5),
        "object_f1": f1_score(logits["objects"] > 0, examples.objects > 0.5),
        "color_f1": f1_score(logits["colors"] > 0, examples.colors > 0.5),
        "depth_accuracy": (logits["depth"].argmax(-1) == examples.depth).float().mean().item(),
        "through_accuracy": (logits["through"].argmax(-1) == examples.through).float().mean().item(),
        "door_rate": examples.door.mean().item(),
    }


def shape_metrics(logits: dict[str, torch.Tensor], examples: ShapeExamples) -> dict[str, float]:
    """easy-vqa shape and colour accuracy."""
    return {
        "easyvqa_shape_accuracy": (logits["shape"].argmax(-1) == examples.shape).float().mean().item(),
        "easyvqa_color_accuracy": (logits["shape_color"].argmax(-1) == examples.color).float().mean().item(),
    }
