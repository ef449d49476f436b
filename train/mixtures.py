"""Named datasets (a YAML registry) and mixtures of them.

Registry (`configs/data/registry.yaml`)::

    datasets:
      easyvqa: {type: easy_vqa, split: train}
      r2r:     {type: navigation, root: NaVILA-Dataset/R2R, annotations: annotations.json}

Entry fields: `type` (conversation | navigation | vqa | easy_vqa | view_qa), `root` (the entry's data root: relative
to the run's data root, or absolute), `annotations` (relative to the entry's root, or absolute), `num_frames`
(navigation frames / video frames), `split` (easy_vqa), `limit` (keep the first `limit` records), `mirror`
(navigation: add each record's mirrored twin — flipped frames, left/right swapped in the text),
`view_questions` (navigation records with view labels, `navagent data trajectories --view-labels`: that many
question turns about the current observation after the action, `navagent.train.datasets.navigation`),
`recent_frames` (navigation: the observations before the current one every sample shows,
`navagent.agent.prompts.sample_frame_indices`; a model trained on it must have that ``num_recent_frames``),
`previous_action` (navigation: prompts state the move made since the previous decision, from each record's
``"prev"``; for models with ``previous_action_in_prompt``).

Mixture: a string `"r2r+easyvqa*2"` — each term a registry name with an optional repeat factor (`*2` = two
copies, `*0.5` = a seeded half, `*2.5` = two copies and a seeded half) — or a mapping of weights
`{r2r: 3, easyvqa: 1}` together with `num_samples`: source i contributes round(w_i / sum(w) * num_samples)
samples (whole copies plus a seeded subsample).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from torch.utils.data import Dataset

from navagent.train.datasets import (
    SampleDataset,
    load_conversation_dataset,
    load_easy_vqa_dataset,
    load_navigation_dataset,
    load_view_qa_dataset,
    load_vqa_dataset,
)
from navagent.train.samples import Sample

DATASET_TYPES = ("conversation", "navigation", "vqa", "easy_vqa", "view_qa")
_TERM = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\*([0-9]*\.?[0-9]+))?$")


class MixtureError(ValueError):
    """A malformed registry or mixture, an unknown dataset name, or a mixture that yields no samples."""


@dataclass(frozen=True)
class DatasetEntry:
    """One named dataset of the registry (see the module docstring)."""

    name: str
    type: str
    annotations: str | None = None
    root: str | None = None
    num_frames: int = 8
    split: str = "train"
    limit: int | None = None
    mirror: bool = False
    view_questions: int = 0
    recent_frames: int = 0
    previous_action: bool = False


@dataclass(frozen=True)
class MixtureTerm:
    """A source of a mixture: registry name and repeat factor (> 0)."""

    name: str
    factor: float = 1.0


@dataclass(frozen=True)
class MixtureRow:
    """Resolved size of one source: records available, factor applied, samples drawn."""

    name: str
    records: int
    factor: float
    samples: int


def load_registry(path: str | Path) -> dict[str, DatasetEntry]:
    """Registry entries by name from a YAML file (yaml.safe_load); unknown fields and types are errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset registry {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise MixtureError(f"{path}: expected a mapping with a 'datasets' mapping at the top level")
    known = {f.name for f in dataclasses.fields(DatasetEntry)} - {"name"}
    registry = {}
    for name, fields in data["datasets"].items():
        if not isinstance(fields, dict):
            raise MixtureError(f"{path}: dataset {name!r} must be a mapping of fields")
        unknown = sorted(set(fields) - known)
        if unknown:
            raise MixtureError(
                f"{path}: dataset {name!r} has unknown field(s) {unknown}; known: {sorted(known)}"
            )
        entry = DatasetEntry(name=str(name), **fields)
        _check_entry_types(entry, path)
        if entry.type not in DATASET_TYPES:
            raise MixtureError(
                f"{path}: dataset {name!r} has type {entry.type!r}; expected one of {DATASET_TYPES}"
            )
        if entry.type != "easy_vqa" and not entry.annotations:
            raise MixtureError(f"{path}: dataset {name!r} (type {entry.type}) needs an 'annotations' file")
        registry[entry.name] = entry
    return registry


def parse_mixture(spec: str) -> list[MixtureTerm]:
    """`"r2r+easyvqa*2"` -> [MixtureTerm("r2r", 1.0), MixtureTerm("easyvqa", 2.0)]."""
    if not isinstance(spec, str) or not spec.strip():
        raise MixtureError(f"a mixture must be a non-empty string like 'r2r+easyvqa*2', got {spec!r}")
    terms = []
    for part in spec.replace(" ", "").split("+"):
        match = _TERM.match(part)
        if match is None:
            raise MixtureError(f"mixture {spec!r}: cannot parse term {part!r} (expected NAME or NAME*FACTOR)")
        factor = float(match.group(2)) if match.group(2) else 1.0
        if factor <= 0:
            raise MixtureError(f"mixture {spec!r}: factor of {match.group(1)!r} must be > 0")
        terms.append(MixtureTerm(match.group(1), factor))
    names = [t.name for t in terms]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MixtureError(f"mixture {spec!r} names {duplicates} more than once; use NAME*FACTOR instead")
    return terms


def build_dataset(
    entry: DatasetEntry, data_root: str | Path, verify_files: bool = True, prompt_wording: str = "navila"
) -> SampleDataset:
    """Load one registry entry (paths resolved as in the module docstring); navigation prompts in
    ``prompt_wording`` (`navagent.agent.prompts.NAVIGATION_PROMPTS`: the trained model's)."""
    root = Path(data_root) / entry.root if entry.root else Path(data_root)
    if entry.type == "easy_vqa":
        return load_easy_vqa_dataset(entry.split, entry.limit, entry.name, verify_files)
    annotations = root / entry.annotations
    if entry.type == "conversation":
        dataset = load_conversation_dataset(annotations, root, entry.name, entry.num_frames, verify_files)
    elif entry.type == "navigation":
        dataset = load_navigation_dataset(
            annotations,
            root,
            entry.name,
            entry.num_frames,
            verify_files,
            entry.mirror,
            entry.view_questions,
            entry.recent_frames,
            previous_action=entry.previous_action,
            prompt_wording=prompt_wording,
        )
    elif entry.type == "view_qa":
        dataset = load_view_qa_dataset(annotations, root, entry.name, verify_files)
    else:
        dataset = load_vqa_dataset(annotations, root, entry.name, verify_files)
    if entry.limit is not None:
        dataset.samples = dataset.samples[: entry.limit]
    return dataset


def build_mixture(
    mixture: str | Mapping[str, float],
    registry: Mapping[str, DatasetEntry],
    data_root: str | Path,
    seed: int = 0,
    num_samples: int | None = None,
    verify_files: bool = True,
    prompt_wording: str = "navila",
) -> MixtureDataset:
    """Resolve a mixture against the registry and load its sources (navigation prompts in
    ``prompt_wording``, the wording of the model to train: `navagent.agent.prompts.NAVIGATION_PROMPTS`)."""
    weights = None
    if isinstance(mixture, Mapping):
        weights = _check_weights(mixture, num_samples)
        terms = [MixtureTerm(name) for name in mixture]
    else:
        if num_samples is not None:
            raise MixtureError(
                "num_samples applies to weighted mixtures ({name: weight}), not to 'a+b*2' strings"
            )
        terms = parse_mixture(mixture)
    unknown = [t.name for t in terms if t.name not in registry]
    if unknown:
        raise MixtureError(f"mixture names unknown dataset(s) {unknown}; the registry has {sorted(registry)}")
    datasets = [build_dataset(registry[t.name], data_root, verify_files, prompt_wording) for t in terms]
    if weights is not None:
        total = sum(weights.values())
        terms = [
            MixtureTerm(t.name, weights[t.name] / total * num_samples / len(d))
            for t, d in zip(terms, datasets)
        ]
    return MixtureDataset(list(zip(terms, datasets)), seed)


class MixtureDataset(Dataset):
    """Samples of several sources, each repeated / subsampled by its factor (seeded); order: source by
    source (the trainer's sampler shuffles)."""

    def __init__(self, sources: list[tuple[MixtureTerm, SampleDataset]], seed: int = 0):
        self.sources = [dataset for _, dataset in sources]
        blocks, self.rows = [], []
        for source_index, (term, dataset) in enumerate(sources):
            records = _repeat_indices(len(dataset), term.factor, np.random.default_rng([seed, source_index]))
            if len(records) == 0:
                raise MixtureError(
                    f"mixture term {term.name}*{term.factor:g} draws 0 of its {len(dataset)} records; raise the factor"
                )
            blocks.append(np.stack([np.full(len(records), source_index), records], axis=1))
            self.rows.append(MixtureRow(term.name, len(dataset), term.factor, len(records)))
        if not blocks:
            raise MixtureError("the mixture has no sources")
        self.index = np.concatenate(blocks)  # (M, 2): source, record

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> Sample:
        source, record = self.index[index]
        return self.sources[source][int(record)]

    def lengths(self, tokens_per_image: int) -> list[int]:
        """Estimated token length of every sample (for length-grouped sampling)."""
        per_source = [[s.estimated_length(tokens_per_image) for s in d.samples] for d in self.sources]
        return [per_source[source][record] for source, record in self.index]

    def summary(self) -> str:
        """The resolved mixture as a small table (printed at the start of a run)."""
        lines = [f"{'source':<20} {'records':>9} {'factor':>8} {'samples':>9} {'share':>7}"]
        for row in self.rows:
            share = row.samples / len(self)
            lines.append(f"{row.name:<20} {row.records:>9} {row.factor:>8.3g} {row.samples:>9} {share:>7.1%}")
        lines.append(f"{'total':<20} {'':>9} {'':>8} {len(self):>9} {1:>7.1%}")
        return "\n".join(lines)


def _repeat_indices(size: int, factor: float, rng: np.random.Generator) -> np.ndarray:
    copies = math.floor(factor)
    extra = round((factor - copies) * size)
    parts = [np.tile(np.arange(size), copies), np.sort(rng.choice(size, size=extra, replace=False))]
    return np.concatenate(parts).astype(np.int64)


def _check_entry_types(entry: DatasetEntry, path: Path) -> None:
    for field in ("type", "annotations", "root", "split"):
        value = getattr(entry, field)
        if value is not None and not isinstance(value, str):
            raise MixtureError(f"{path}: dataset {entry.name!r}: {field} must be a string, got {value!r}")
    if isinstance(entry.num_frames, bool) or not isinstance(entry.num_frames, int) or entry.num_frames < 1:
        raise MixtureError(
            f"{path}: dataset {entry.name!r}: num_frames must be an int >= 1, got {entry.num_frames!r}"
        )
    if not isinstance(entry.mirror, bool) or (entry.mirror and entry.type != "navigation"):
        raise MixtureError(
            f"{path}: dataset {entry.name!r}: mirror must be true/false, for navigation data only"
        )
    questions = entry.view_questions
    if isinstance(questions, bool) or not isinstance(questions, int) or questions < 0:
        raise MixtureError(
            f"{path}: dataset {entry.name!r}: view_questions must be an int >= 0, got {questions!r}"
        )
    if questions and entry.type != "navigation":
        raise MixtureError(f"{path}: dataset {entry.name!r}: view_questions is for navigation data only")
    recent = entry.recent_frames
    if isinstance(recent, bool) or not isinstance(recent, int) or not 0 <= recent < entry.num_frames:
        raise MixtureError(
            f"{path}: dataset {entry.name!r}: recent_frames must be an int in [0, num_frames), got {recent!r}"
        )
    if recent and entry.type != "navigation":
        raise MixtureError(f"{path}: dataset {entry.name!r}: recent_frames is for navigation data only")
    if not isinstance(entry.previous_action, bool) or (entry.previous_action and entry.type != "navigation"):
        raise MixtureError(
            f"{path}: dataset {entry.name!r}: previous_action must be true/false, for navigation data only"
        )
    if entry.limit is not None and (not isinstance(entry.limit, int) or entry.limit < 1):
        raise MixtureError(f"{path}: dataset {entry.name!r}: limit must be an int >= 1, got {entry.limit!r}")


def _check_weights(weights: Mapping[str, float], num_samples: int | None) -> dict[str, float]:
    if not weights:
        raise MixtureError("a weighted mixture needs at least one {name: weight} entry")
    if num_samples is None or num_samples < 1:
        raise MixtureError(f"a weighted mixture needs num_samples >= 1, got {num_samples}")
    bad = {name: w for name, w in weights.items() if not isinstance(w, (int, float)) or w <= 0}
    if bad:
        raise MixtureError(f"mixture weights must be positive numbers, got {bad}")
    return {str(name): float(w) for name, w in weights.items()}
