"""`ImagePreprocessor`: frames -> pixel_values as VILA does with `image_aspect_ratio="resize"`.

Steps (the SigLIP processor's documented pipeline, written with PIL + numpy):
PIL RGB -> resize to size x size (bicubic) -> rescale by 1/255 -> normalise (x - mean) / std -> CHW float32.
The result equals `transformers.SiglipImageProcessorPil` with the same size / mean / std (tested).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"
_RESAMPLE_BY_NAME = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
_RESAMPLE_BY_HF_CODE = {3: "bicubic", 2: "bilinear"}  # PIL / transformers integer codes

ImageInput = Image.Image | np.ndarray


class ImagePreprocessor:
    """Turns RGB frames into normalised pixel tensors.

    Args:
        size: output side length in pixels (square).
        image_mean, image_std: per-channel normalisation (SigLIP: 0.5, 0.5).
        resample: "bicubic" (VILA) or "bilinear".
        rescale_factor: multiplies uint8 values (1/255).
    """

    def __init__(
        self,
        size: int,
        image_mean: Sequence[float] = (0.5, 0.5, 0.5),
        image_std: Sequence[float] = (0.5, 0.5, 0.5),
        resample: str = "bicubic",
        rescale_factor: float = 1 / 255,
    ):
        if size < 1:
            raise ValueError(f"ImagePreprocessor size must be positive, got {size}")
        if resample not in _RESAMPLE_BY_NAME:
            raise ValueError(f"resample must be one of {sorted(_RESAMPLE_BY_NAME)}, got {resample!r}")
        if len(image_mean) != 3 or len(image_std) != 3:
            raise ValueError(f"image_mean and image_std need 3 values, got {image_mean}, {image_std}")
        self.size = int(size)
        self.image_mean = [float(v) for v in image_mean]
        self.image_std = [float(v) for v in image_std]
        self.resample = resample
        self.rescale_factor = float(rescale_factor)

    def __call__(self, images: Sequence[ImageInput] | ImageInput) -> torch.Tensor:
        """images: PIL images or uint8 arrays of shape (H, W, 3) -> pixel_values (N, 3, size, size) float32."""
        if isinstance(images, (Image.Image, np.ndarray)):
            images = [images]
        if len(images) == 0:
            raise ValueError("ImagePreprocessor got an empty list of images")
        arrays = [self._preprocess_one(image, index) for index, image in enumerate(images)]
        return torch.from_numpy(np.stack(arrays))

    def _preprocess_one(self, image: ImageInput, index: int) -> np.ndarray:
        pil = _to_pil_rgb(image, index)
        if pil.size != (self.size, self.size):
            pil = pil.resize((self.size, self.size), resample=_RESAMPLE_BY_NAME[self.resample])
        pixels = np.asarray(pil, dtype=np.float32) * np.float32(self.rescale_factor)
        mean = np.asarray(self.image_mean, dtype=np.float32)
        std = np.asarray(self.image_std, dtype=np.float32)
        return ((pixels - mean) / std).transpose(2, 0, 1)

    def to_dict(self) -> dict:
        """A transformers-style `preprocessor_config.json` (SigLIP layout)."""
        return {
            "image_processor_type": "SiglipImageProcessor",
            "do_resize": True,
            "size": {"height": self.size, "width": self.size},
            "resample": {"bicubic": 3, "bilinear": 2}[self.resample],
            "do_rescale": True,
            "rescale_factor": self.rescale_factor,
            "do_normalize": True,
            "image_mean": self.image_mean,
            "image_std": self.image_std,
            "do_convert_rgb": True,
        }

    def save_pretrained(self, directory: str | Path) -> None:
        path = Path(directory) / PREPROCESSOR_CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> ImagePreprocessor:
        """Reads `preprocessor_config.json` (SigLIP `size: {height, width}` or CLIP `crop_size`)."""
        path = Path(directory) / PREPROCESSOR_CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no {PREPROCESSOR_CONFIG_NAME} in {directory}")
        data = json.loads(path.read_text())
        return cls(
            size=_square_side(data, path),
            image_mean=data.get("image_mean", (0.5, 0.5, 0.5)),
            image_std=data.get("image_std", (0.5, 0.5, 0.5)),
            resample=_RESAMPLE_BY_HF_CODE.get(data.get("resample", 3), "bicubic"),
            rescale_factor=data.get("rescale_factor", 1 / 255),
        )


def _to_pil_rgb(image: ImageInput, index: int) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"image {index}: expected a uint8 array, got dtype {image.dtype}")
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image {index}: expected shape (H, W, 3), got {image.shape}")
        return Image.fromarray(image)
    raise TypeError(f"image {index}: expected a PIL image or a numpy array, got {type(image).__name__}")


def _square_side(data: dict, path: Path) -> int:
    """VILA resizes to crop_size when the processor has one (CLIP), else to size (SigLIP)."""
    for key in ("crop_size", "size"):
        value = data.get(key)
        if isinstance(value, dict) and "height" in value and "width" in value:
            if value["height"] != value["width"]:
                raise ValueError(f"{path}: {key} must be square, got {value}")
            return int(value["height"])
        if isinstance(value, dict) and "shortest_edge" in value:
            return int(value["shortest_edge"])
        if isinstance(value, int):
            return value
    raise ValueError(f"{path}: no usable 'size' or 'crop_size' entry")
