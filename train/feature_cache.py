"""Frozen vision-tower outputs computed once per frame and read by training (stage 1 of the default recipe).

With a frozen tower, every epoch would decode the same JPEGs and run the same tower on them again. The cache
runs the tower once per distinct frame (and once more per mirrored frame, for mirror augmentation) and stores
its outputs in half precision; training then reads `vision_features` (N, P, C) instead of decoding images,
and the model applies only its projector (`NavVLMForCausalLM.project_vision_features`).

Folder layout (written atomically: a temporary folder renamed into place)::

    features.safetensors   {"features": (M, P, C) float16}
    index.json             {"keys": [M keys], "fingerprint": {...}}

A key names one frame as shown to the model: ``"black"`` (the padding frame), the image path relative to the
data root (absolute when outside it, e.g. images shipped inside a pip package), prefixed ``"mirror:"`` when
flipped left-right. The fingerprint (a hash of the tower's weights, the image size and the tower settings)
is checked against the model at training time: a cache built by another tower is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from navagent.model import NavVLMForCausalLM, NavVLMProcessor
from navagent.train.samples import DataRecordError, Sample, VideoClip, load_sample_images

FEATURES_FILE = "features.safetensors"
INDEX_FILE = "index.json"
BLACK_KEY = "black"
MIRROR_PREFIX = "mirror:"
# processes decoding frames while the tower runs (one per core of the 2-core target machine)
DEFAULT_DECODE_WORKERS = 2


class FeatureCacheError(ValueError):
    """A missing, malformed or mismatched feature cache (the message names the folder and what to do)."""


def frame_key(path: Path | None, mirrored: bool, data_root: Path) -> str:
    """The cache key of one frame (see the module docstring)."""
    if path is None:
        return BLACK_KEY
    resolved = Path(os.path.abspath(path))
    root = Path(os.path.abspath(data_root))
    name = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else resolved.as_posix()
    return MIRROR_PREFIX + name if mirrored else name


def sample_frame_keys(sample: Sample, data_root: Path) -> list[str]:
    """Keys of a sample's frames in slot order; video clips are not cached (FeatureCacheError)."""
    if any(isinstance(ref, VideoClip) for ref in sample.images):
        raise FeatureCacheError(
            f"record {sample.sample_id}: video clips cannot be read from a feature cache; "
            "train without data.feature_cache"
        )
    return [frame_key(ref, sample.mirrored, data_root) for ref in sample.images]


def tower_fingerprint(model: NavVLMForCausalLM) -> dict[str, object]:
    """What makes two towers give equal features: a SHA-256 of the tower's weights and its settings."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.vision_tower.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return {
        "tower_sha256": digest.hexdigest(),
        "image_size": int(model.config.image_size),
        "select_layer": int(model.config.mm_vision_select_layer),
        "select_feature": str(model.config.mm_vision_select_feature),
    }


class FeatureCache:
    """The cached features of a folder, held in memory: `lookup(key)` -> (P, C) float16."""

    def __init__(self, folder: str | os.PathLike):
        folder = Path(folder)
        index_path, features_path = folder / INDEX_FILE, folder / FEATURES_FILE
        if not index_path.is_file() or not features_path.is_file():
            raise FeatureCacheError(
                f"feature cache {folder}: {INDEX_FILE} / {FEATURES_FILE} missing; build it with "
                "`navagent data features CONFIG`"
            )
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            keys, self.fingerprint = list(index["keys"]), dict(index["fingerprint"])
        except (ValueError, KeyError, TypeError) as error:
            raise FeatureCacheError(f"feature cache {index_path}: malformed index ({error})") from error
        self.features = load_file(str(features_path))["features"]
        if self.features.shape[0] != len(keys):
            raise FeatureCacheError(
                f"feature cache {folder}: {len(keys)} keys for {self.features.shape[0]} feature rows"
            )
        self.folder = folder
        self.rows = {key: row for row, key in enumerate(keys)}

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def lookup(self, key: str) -> torch.Tensor:
        row = self.rows.get(key)
        if row is None:
            raise KeyError(key)
        return self.features[row]

    def check_matches(self, model: NavVLMForCausalLM) -> None:
        """FeatureCacheError when the cache was built by a different tower than `model`'s."""
        expected = tower_fingerprint(model)
        changed = sorted(k for k in expected if self.fingerprint.get(k) != expected[k])
        if changed:
            raise FeatureCacheError(
                f"feature cache {self.folder} was built by another vision tower (differs in {changed}); "
                "rebuild it with `navagent data features CONFIG`"
            )


class CachedFeatureFrames:
    """Frame source of `SupervisedCollator` reading a `FeatureCache`: frames -> `vision_features` (N, P, C)."""

    batch_key = "vision_features"

    def __init__(self, cache: FeatureCache, data_root: str | os.PathLike):
        self.cache = cache
        self.data_root = Path(data_root)

    def load(self, sample: Sample) -> list[torch.Tensor]:
        frames = []
        for key in sample_frame_keys(sample, self.data_root):
            if key not in self.cache:
                raise DataRecordError(
                    f"record {sample.sample_id}: frame {key!r} is not in the feature cache {self.cache.folder}; "
                    "rebuild it with `navagent data features CONFIG`"
                )
            frames.append(self.cache.lookup(key))
        return frames

    def stack(self, frames: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(frames).float()


@torch.no_grad()
def build_feature_cache(
    model: NavVLMForCausalLM,
    processor: NavVLMProcessor,
    samples: Iterable[Sample],
    data_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    batch_size: int = 256,
    progress: bool = True,
    workers: int = DEFAULT_DECODE_WORKERS,
) -> Path:
    """Run `model`'s vision tower once on every distinct frame of `samples` and write the cache folder
    `out_dir` (replacing an existing one only when complete). Returns `out_dir`.

    The new cache holds exactly the frames of `samples`; those an existing cache in `out_dir` built by the
    same tower already holds are copied from it, not recomputed (a mixture that gains a dataset, e.g. a DAgger
    round, costs only its new frames). ``workers`` processes decode and preprocess the batches (JPEG decoding
    and resizing cost twice the tower's forward pass) while this one runs the tower; 0 decodes here. The
    features do not depend on ``workers``."""
    data_root, out_dir = Path(data_root), Path(out_dir)
    frames: dict[str, tuple[Path | None, bool]] = {BLACK_KEY: (None, False)}
    for sample in samples:
        keys = sample_frame_keys(sample, data_root)
        for key, ref in zip(keys, sample.images, strict=True):
            frames.setdefault(key, (ref, sample.mirrored))
    fingerprint = tower_fingerprint(model)
    previous = _reusable_cache(out_dir, fingerprint)
    missing = [key for key in frames if previous is None or key not in previous]
    model.eval()
    computed: dict[str, torch.Tensor] = {}
    batches = [missing[start : start + batch_size] for start in range(0, len(missing), batch_size)]
    decoded = _PixelBatches([[frames[key] for key in names] for names in batches], processor)
    loader = DataLoader(decoded, batch_size=None, num_workers=workers if len(batches) > 1 else 0)
    bar = tqdm(total=len(missing), desc="feature cache", unit="frame", disable=not progress)
    for names, pixel_values in zip(batches, loader, strict=True):
        computed.update(zip(names, model.vision_tower(pixel_values).to("cpu", torch.float16), strict=True))
        bar.update(len(names))
    bar.close()
    keys = list(frames)
    rows = [computed[key] if key in computed else previous.lookup(key) for key in keys]
    _write_atomically(out_dir, torch.stack(rows), keys, fingerprint)
    return out_dir


def _reusable_cache(folder: Path, fingerprint: dict) -> FeatureCache | None:
    """The cache in `folder` when it was built by the tower of `fingerprint`, else None (also when absent or
    unreadable: it is rebuilt)."""
    if not (folder / INDEX_FILE).is_file():
        return None
    try:
        cache = FeatureCache(folder)
    except FeatureCacheError:
        return None
    return cache if cache.fingerprint == fingerprint else None


class _PixelBatches(Dataset):
    """Batch ``i``: the pixel values (B, 3, H, W) of the i-th list of (path, mirrored) frames, decoded and
    preprocessed as the collator would (run in `DataLoader` workers)."""

    def __init__(self, batches: list[list[tuple[Path | None, bool]]], processor: NavVLMProcessor):
        self.batches = batches
        self.image_processor = processor.image_processor

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.image_processor(_load_frames(self.batches[index], self.image_processor.size))


def _load_frames(batch: Sequence[tuple[Path | None, bool]], black_size: int) -> list[Image.Image]:
    """Each (path, mirrored) frame as the collator would load it (`load_sample_images` flips mirrored ones)."""
    return [
        image
        for ref, mirrored in batch
        for image in load_sample_images(Sample("feature-cache", (), (ref,), mirrored), black_size)
    ]


def _write_atomically(out_dir: Path, features: torch.Tensor, keys: list[str], fingerprint: dict) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        save_file({"features": features.contiguous()}, str(temp / FEATURES_FILE))
        index = {"keys": keys, "fingerprint": fingerprint}
        (temp / INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(temp, out_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
