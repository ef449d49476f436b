"""Stage-0 training examples in memory: labelled house views (``navagent data views``) and easy-vqa shapes.

Images are decoded once and kept as uint8 at the tower's input size, resized exactly as the model's
``ImagePreprocessor`` does (PIL, its resample filter), and normalised per batch (``normalize``), so the tower
sees the same pixels here as later through the processor. Labels are index tensors:

``ViewExamples`` (N views, K sectors): room (N,) · door (N, K) 0/1 · through (N, K) room type behind the
sector's doorway, ``len(ROOM_TYPES)`` = none · objects (N, K, categories) 0/1 · colors (N, K, colours) 0/1 ·
depth (N, K) bin. ``ShapeExamples`` (easy-vqa images): shape (N,) · color (N,) (``EASY_VQA_SHAPES`` /
``EASY_VQA_COLORS``, read from the package's questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from navagent.envs.builtin.view_labels import CATEGORIES, COLOR_NAMES, ROOM_TYPES
from navagent.model.image_processing import ImagePreprocessor
from navagent.train.view_data import load_views

EASY_VQA_SHAPES = ("circle", "rectangle", "triangle")
EASY_VQA_COLORS = ("black", "blue", "brown", "gray", "green", "red", "teal", "yellow")
NO_ROOM = len(ROOM_TYPES)  # the `through` class of a sector without a doorway


def load_pixels(paths: Sequence[Path], preprocessor: ImagePreprocessor, desc: str = "images") -> torch.Tensor:
    """uint8 (N, 3, S, S): each image as RGB, resized to the preprocessor's size with its filter."""
    size, resample = preprocessor.size, Image.Resampling[preprocessor.resample.upper()]
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    for index, path in enumerate(tqdm(paths, desc=f"loading {desc}", unit="img", leave=False)):
        with Image.open(path) as image:
            pil = image.convert("RGB")
        if pil.size != (size, size):
            pil = pil.resize((size, size), resample=resample)
        out[index] = torch.from_numpy(np.asarray(pil).transpose(2, 0, 1).copy())
    return out


def normalize(pixels: torch.Tensor, preprocessor: ImagePreprocessor) -> torch.Tensor:
    """uint8 (N, 3, S, S) -> float32 pixel_values, as ``preprocessor`` computes them."""
    mean = torch.tensor(preprocessor.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(preprocessor.image_std, dtype=torch.float32).view(1, 3, 1, 1)
    return (pixels.to(torch.float32) * np.float32(preprocessor.rescale_factor) - mean) / std


@dataclass(frozen=True)
class ViewExamples:
    """Labelled house views (shapes in the module docstring); ``pixels`` uint8 (N, 3, S, S)."""

    pixels: torch.Tensor
    room: torch.Tensor
    door: torch.Tensor
    through: torch.Tensor
    objects: torch.Tensor
    colors: torch.Tensor
    depth: torch.Tensor

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def select(self, index: torch.Tensor) -> ViewExamples:
        """The examples at ``index`` (B,)."""
        return ViewExamples(*(getattr(self, f.name)[index] for f in fields(self)))

    def flipped(self, mask: torch.Tensor) -> ViewExamples:
        """Mirror the images where ``mask`` (N,) bool is set; their per-sector labels reverse order."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "room":
                out[f.name] = value
                continue
            axis = 3 if f.name == "pixels" else 1  # image width, or the sector axis
            shape = (-1,) + (1,) * (value.ndim - 1)
            out[f.name] = torch.where(mask.view(shape), value.flip(axis), value)
        return replace(self, **out)


def load_view_examples(annotation: str | Path, preprocessor: ImagePreprocessor) -> ViewExamples:
    """Every view of a ``views_{split}.json`` file (``navagent.train.view_data``)."""
    annotation = Path(annotation)
    views = load_views(annotation)["views"]
    if not views:
        raise ValueError(f"{annotation} holds no views")
    room_index = {name: i for i, name in enumerate(ROOM_TYPES)}
    category_index = {name: i for i, name in enumerate(CATEGORIES)}
    color_index = {name: i for i, name in enumerate(COLOR_NAMES)}
    sectors = len(views[0]["labels"]["door"])
    objects = torch.zeros((len(views), sectors, len(CATEGORIES)))
    colors = torch.zeros((len(views), sectors, len(COLOR_NAMES)))
    for n, view in enumerate(views):
        for k in range(sectors):
            objects[n, k, [category_index[c] for c in view["labels"]["objects"][k]]] = 1.0
            colors[n, k, [color_index[c] for c in view["labels"]["colors"][k]]] = 1.0
    return ViewExamples(
        pixels=load_pixels([annotation.parent / v["image"] for v in views], preprocessor, annotation.name),
        room=torch.tensor([room_index[v["labels"]["room"]] for v in views]),
        door=torch.tensor([v["labels"]["door"] for v in views], dtype=torch.float32),
        through=torch.tensor(
            [[NO_ROOM if t is None else room_index[t] for t in v["labels"]["through"]] for v in views]
        ),
        objects=objects,
        colors=colors,
        depth=torch.tensor([v["labels"]["depth"] for v in views]),
    )


@dataclass(frozen=True)
class ShapeExamples:
    """easy-vqa images: ``pixels`` uint8 (N, 3, S, S), ``shape`` (N,), ``color`` (N,)."""

    pixels: torch.Tensor
    shape: torch.Tensor
    color: torch.Tensor

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def select(self, index: torch.Tensor) -> ShapeExamples:
        return ShapeExamples(self.pixels[index], self.shape[index], self.color[index])

    def flipped(self, mask: torch.Tensor) -> ShapeExamples:
        """Mirror the images where ``mask`` (N,) is set (shape and colour do not change)."""
        return replace(self, pixels=torch.where(mask.view(-1, 1, 1, 1), self.pixels.flip(3), self.pixels))


def easy_vqa_image_labels(split: str) -> dict[int, tuple[str, str]]:
    """{image id: (shape, colour)} of easy-vqa's ``split`` ("train" / "test"), read off its questions: a shape
    or colour named by a "what" question or its answer, or by a yes/no question that is true ("is there a red
    shape?" -> yes, "is there not a circle?" -> no), belongs to the image. Images whose questions leave the
    shape or the colour open are left out; conflicting facts are an error."""
    import easy_vqa

    if split not in ("train", "test"):
        raise ValueError(f"easy-vqa split must be 'train' or 'test', got {split!r}")
    questions = easy_vqa.get_train_questions() if split == "train" else easy_vqa.get_test_questions()
    facts: dict[int, dict[str, set[str]]] = {}
    for question, answer, image_id in zip(*questions, strict=True):
        words = set(question.rstrip("?").split())
        if answer in ("yes", "no"):
            negated = "not" in words or question.startswith("is no ")
            named = words if (answer == "yes") != negated else set()
        else:
            named = words | {answer}
        image = facts.setdefault(image_id, {"shape": set(), "color": set()})
        image["shape"] |= named & set(EASY_VQA_SHAPES)
        image["color"] |= named & set(EASY_VQA_COLORS)
    labels = {}
    for image_id, image in sorted(facts.items()):
        if len(image["shape"]) > 1 or len(image["color"]) > 1:
            raise ValueError(f"easy-vqa {split} image {image_id}: conflicting labels {image}")
        if image["shape"] and image["color"]:
            labels[image_id] = (image["shape"].pop(), image["color"].pop())
    return labels


def load_shape_examples(
    split: str, preprocessor: ImagePreprocessor, limit: int | None = None
) -> ShapeExamples:
    """easy-vqa images of ``split`` with their shape and colour (the first ``limit`` image ids if given)."""
    import easy_vqa

    labels = easy_vqa_image_labels(split)
    paths = easy_vqa.get_train_image_paths() if split == "train" else easy_vqa.get_test_image_paths()
    ids = list(labels)[:limit] if limit is not None else list(labels)
    return ShapeExamples(
        pixels=load_pixels([Path(paths[i]) for i in ids], preprocessor, f"easy-vqa {split}"),
        shape=torch.tensor([EASY_VQA_SHAPES.index(labels[i][0]) for i in ids]),
        color=torch.tensor([EASY_VQA_COLORS.index(labels[i][1]) for i in ids]),
    )
