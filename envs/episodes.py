"""R2R-CE / RxR-CE episode files and ground-truth paths (gzip JSON), in VLN-CE's exact layout.

Files (``root`` is e.g. ``data/datasets/R2R_VLNCE_v1-3_preprocessed``):

- ``{root}/{split}/{split}.json.gz``: ``{"episodes": [...], "instruction_vocab": {"word_list": [...]}}``.
  Episode keys: ``episode_id`` (an int in R2R-CE), ``trajectory_id``, ``scene_id``,
  ``start_position`` [x, y, z], ``start_rotation`` [x, y, z, w], ``goals`` [{"position", "radius"}],
  ``reference_path`` [[x, y, z], ...], ``instruction`` {"instruction_text", "instruction_tokens"},
  ``info`` {"geodesic_distance"}.
- ``{root}/{split}/{split}_gt.json.gz``: ``{episode_id (str): {"locations", "actions", "forward_steps"}}``.
- RxR-CE ``{root}/{split}/{split}_{role}.json.gz``: no ``instruction_vocab``; the instruction carries
  ``instruction_id``, ``language``, ``timed_instruction``, ... and no tokens. Its ground truth
  ``{root}/{split}/{split}_{role}_gt.json.gz`` has ``locations``, and ``actions`` / ``forward_steps`` not
  always (``load_rxr_gt`` reads it; ``load_gt`` stays strict for R2R-CE).

Python side: ``Episode.episode_id`` is always a ``str``; on write it becomes a JSON int again when it is the
canonical decimal form of an integer ("12" -> 12, "012" stays a string). Keys this module does not model are
kept in ``Episode.extra`` with the file's nesting (top-level keys, plus ``extra["instruction"]`` /
``extra["info"]`` for the leftover keys of those objects) and written back unchanged. Only ``word_list`` of
the vocabulary is read and written (VLN-CE rebuilds the rest of its ``VocabDict`` from it). Other top-level
keys of an R2R-CE file (e.g. the built-in generator's ``"split_definition"``) are metadata: episode readers
(ours and habitat-lab's) ignore them, ``load_metadata`` returns them, ``save_episodes(..., metadata=)`` writes them.

Every read validates: a malformed or missing field raises ``EpisodeFileError`` naming the file, the episode id
(or index) and the field; non-finite numbers are rejected everywhere. Writes validate the same way, then go
through a temp file in the destination directory and ``os.replace`` (no partial file on error), and are
byte-deterministic: sorted keys, compact separators, gzip with ``mtime=0`` and no file name in the header.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from navagent.envs.base import Action, Episode, Goal
from navagent.fileio import gzip_bytes, json_bytes, write_bytes_atomic

Point = tuple[float, float, float]
_GZIP_MAGIC = b"\x1f\x8b"
_INTEGER_ID = re.compile(r"-?(0|[1-9][0-9]*)")
_KNOWN_EPISODE_KEYS = frozenset(
    {"episode_id", "trajectory_id", "scene_id", "start_position", "start_rotation", "goals", "reference_path"}
)
_QUATERNION_NORM_TOLERANCE = 1e-3
_DOCUMENT_KEYS = frozenset({"episodes", "instruction_vocab"})  # top-level keys that are not metadata


class EpisodeFileError(ValueError):
    """A dataset or trajectory file (or an object about to be written to one) is malformed."""


@dataclass(frozen=True)
class GroundTruth:
    """Reference trajectory of one episode (``{split}_gt.json.gz``).

    locations: (N, 3) positions in metres along the reference path (what nDTW compares against).
    actions: low-level actions of the shortest-path follower, STOP included.
    forward_steps: number of MOVE_FORWARD actions.
    """

    locations: tuple[Point, ...]
    actions: tuple[int, ...]
    forward_steps: int


# ----------------------------------------------------------------------------------------------- paths


def r2r_episodes_path(root: str | os.PathLike, split: str) -> Path:
    return Path(root) / split / f"{split}.json.gz"


def r2r_gt_path(root: str | os.PathLike, split: str) -> Path:
    return Path(root) / split / f"{split}_gt.json.gz"


def rxr_episodes_path(root: str | os.PathLike, split: str, role: str) -> Path:
    if role not in ("guide", "follower"):
        raise ValueError(f"RxR role must be 'guide' or 'follower', got {role!r}")
    return Path(root) / split / f"{split}_{role}.json.gz"


def rxr_gt_path(root: str | os.PathLike, split: str, role: str) -> Path:
    if role not in ("guide", "follower"):
        raise ValueError(f"RxR role must be 'guide' or 'follower', got {role!r}")
    return Path(root) / split / f"{split}_{role}_gt.json.gz"


# --------------------------------------------------------------------------------------- raw file IO


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file, gzipped or plain (detected from the gzip magic bytes, not the suffix)."""
    data = Path(path).read_bytes()
    try:
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
        return json.loads(data.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EpisodeFileError(f"{path}: not valid (gzipped) JSON: {error}") from error


# ------------------------------------------------------------------------------------ field checking


@dataclass(frozen=True)
class _Where:
    """Location of a record for error messages: the file and the record (episode id or index)."""

    path: str
    record: str

    def error(self, field: str, problem: str) -> EpisodeFileError:
        return EpisodeFileError(f"{self.path}: {self.record}: field '{field}': {problem}")


def _get(mapping: Any, key: str, where: _Where, prefix: str = "") -> Any:
    if not isinstance(mapping, Mapping):
        raise where.error(
            prefix.rstrip(".") or "<record>", f"expected an object, got {type(mapping).__name__}"
        )
    if key not in mapping:
        raise where.error(prefix + key, "missing")
    return mapping[key]


def _number(value: Any, where: _Where, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(field, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise where.error(field, f"non-finite number {value!r}")
    return float(value)


def _integer(value: Any, where: _Where, field: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(field, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise where.error(field, f"expected an integer >= {minimum}, got {value}")
    return value


def _string(value: Any, where: _Where, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise where.error(field, f"expected a non-empty string, got {value!r}")
    return value


def _vector(value: Any, where: _Where, field: str, length: int) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise where.error(field, f"expected a list of {length} numbers, got {value!r}")
    return tuple(_number(v, where, f"{field}[{i}]") for i, v in enumerate(value))


def _points(value: Any, where: _Where, field: str) -> tuple[Point, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise where.error(field, f"expected a non-empty list of [x, y, z] points, got {value!r}")
    return tuple(_vector(p, where, f"{field}[{i}]", 3) for i, p in enumerate(value))  # type: ignore[misc]


def _check_json_value(value: Any, where: _Where, field: str) -> None:
    """Reject anything in a free-form (``extra``) value that JSON cannot carry exactly."""
    if isinstance(value, float) and not math.isfinite(value):
        raise where.error(field, f"non-finite number {value!r}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise where.error(field, f"object keys must be strings, got {key!r}")
            _check_json_value(item, where, f"{field}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json_value(item, where, f"{field}[{i}]")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise where.error(field, f"not JSON-serialisable: {type(value).__name__}")


def _episode_id(value: Any, where: _Where) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise where.error("episode_id", f"expected an integer or a non-empty string, got {value!r}")
    return str(value)


def _json_episode_id(episode_id: str) -> int | str:
    """The JSON form of an id: an int when the string is an integer's canonical spelling."""
    return int(episode_id) if _INTEGER_ID.fullmatch(episode_id) and episode_id != "-0" else episode_id


# ---------------------------------------------------------------------------------------- episodes


def _parse_instruction(
    raw: Any, where: _Where, vocab_size: int | None, rxr: bool
) -> tuple[str, tuple[int, ...]]:
    text = _get(raw, "instruction_text", where, "instruction.")
    if not isinstance(text, str):
        raise where.error("instruction.instruction_text", f"expected a string, got {text!r}")
    if rxr:
        _string(_get(raw, "language", where, "instruction."), where, "instruction.language")
        return text, ()
    tokens = _get(raw, "instruction_tokens", where, "instruction.")
    if not isinstance(tokens, (list, tuple)):
        raise where.error("instruction.instruction_tokens", f"expected a list of integers, got {tokens!r}")
    parsed = tuple(
        _integer(t, where, f"instruction.instruction_tokens[{i}]", 0) for i, t in enumerate(tokens)
    )
    if vocab_size and any(t >= vocab_size for t in parsed):
        raise where.error("instruction.instruction_tokens", f"token id >= vocabulary size {vocab_size}")
    return text, parsed


def _parse_goals(raw: Any, where: _Where) -> tuple[Goal, ...]:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise where.error("goals", f"expected a non-empty list of goals, got {raw!r}")
    goals = []
    for i, goal in enumerate(raw):
        position = _vector(_get(goal, "position", where, f"goals[{i}]."), where, f"goals[{i}].position", 3)
        radius = _number(_get(goal, "radius", where, f"goals[{i}]."), where, f"goals[{i}].radius")
        if radius <= 0:
            raise where.error(f"goals[{i}].radius", f"expected a positive radius, got {radius}")
        goals.append(Goal(position=position, radius=radius))  # type: ignore[arg-type]
    return tuple(goals)


def _leftovers(raw: Mapping, known: Iterable[str]) -> dict:
    return {key: value for key, value in raw.items() if key not in known}


def _parse_episode(raw: Any, path: str, index: int, vocab_size: int | None, rxr: bool) -> Episode:
    where = _Where(path, f"episode at index {index}")
    if not isinstance(raw, Mapping):
        raise where.error("<record>", f"expected an object, got {type(raw).__name__}")
    episode_id = _episode_id(_get(raw, "episode_id", where), where)
    where = _Where(path, f"episode {episode_id!r} (index {index})")
    rotation = _vector(_get(raw, "start_rotation", where), where, "start_rotation", 4)
    if abs(math.sqrt(sum(v * v for v in rotation)) - 1.0) > _QUATERNION_NORM_TOLERANCE:
        raise where.error("start_rotation", f"expected a unit quaternion [x, y, z, w], got {list(rotation)}")
    instruction = _get(raw, "instruction", where)
    text, tokens = _parse_instruction(instruction, where, vocab_size, rxr)
    info = _get(raw, "info", where)
    geodesic = _number(_get(info, "geodesic_distance", where, "info."), where, "info.geodesic_distance")
    if geodesic < 0:
        raise where.error("info.geodesic_distance", f"expected a distance >= 0, got {geodesic}")
    extra = _leftovers(raw, _KNOWN_EPISODE_KEYS | {"instruction", "info"})
    instruction_known = ("instruction_text",) if rxr else ("instruction_text", "instruction_tokens")
    nested = {
        "instruction": _leftovers(instruction, instruction_known),
        "info": _leftovers(info, ["geodesic_distance"]),
    }
    extra.update({key: rest for key, rest in nested.items() if rest})
    _check_json_value(extra, where, "<extra>")
    return Episode(
        episode_id=episode_id,
        trajectory_id=_integer(_get(raw, "trajectory_id", where), where, "trajectory_id"),
        scene_id=_string(_get(raw, "scene_id", where), where, "scene_id"),
        start_position=_vector(_get(raw, "start_position", where), where, "start_position", 3),  # type: ignore[arg-type]
        start_rotation=rotation,  # type: ignore[arg-type]
        goals=_parse_goals(_get(raw, "goals", where), where),
        reference_path=_points(_get(raw, "reference_path", where), where, "reference_path"),
        instruction_text=text,
        instruction_tokens=tokens,
        geodesic_distance=geodesic,
        extra=extra,
    )


def _parse_vocab(document: Mapping, path: str) -> list[str]:
    where = _Where(path, "file")
    words = _get(_get(document, "instruction_vocab", where), "word_list", where, "instruction_vocab.")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise where.error("instruction_vocab.word_list", "expected a list of strings")
    return words


def _parse_episodes(document: Any, path: str, vocab_size: int | None, rxr: bool) -> list[Episode]:
    raw_episodes = _get(document, "episodes", _Where(path, "file"))
    if not isinstance(raw_episodes, list):
        raise _Where(path, "file").error("episodes", "expected a list")
    episodes = [_parse_episode(raw, path, i, vocab_size, rxr) for i, raw in enumerate(raw_episodes)]
    seen: set[str] = set()
    for index, episode in enumerate(episodes):
        if episode.episode_id in seen:
            raise _Where(path, f"episode {episode.episode_id!r} (index {index})").error(
                "episode_id", "duplicate id"
            )
        seen.add(episode.episode_id)
    return episodes


def load_episodes(path: str | os.PathLike) -> list[Episode]:
    """Read an R2R-CE episode file (``instruction_vocab`` and ``instruction_tokens`` required)."""
    document = read_json(path)
    vocab = _parse_vocab(document, str(path))
    return _parse_episodes(document, str(path), len(vocab), rxr=False)


def load_instruction_vocab(path: str | os.PathLike) -> list[str]:
    """The ``instruction_vocab.word_list`` of an R2R-CE episode file."""
    return _parse_vocab(read_json(path), str(path))


def load_rxr_episodes(path: str | os.PathLike, languages: Iterable[str] | None = None) -> list[Episode]:
    """Read an RxR-CE ``{split}_{role}.json.gz`` file, keeping ``languages`` (e.g. ``["en-US", "en-IN"]``).

    RxR instruction fields (``instruction_id``, ``language``, ``timed_instruction``, ...) stay in
    ``extra["instruction"]``. A requested language absent from the file raises (it is almost always a typo).
    """
    episodes = _parse_episodes(read_json(path), str(path), None, rxr=True)
    if languages is None:
        return episodes
    wanted = {languages} if isinstance(languages, str) else set(languages)
    present = {episode.extra["instruction"]["language"] for episode in episodes}
    if missing := sorted(wanted - present):
        raise EpisodeFileError(f"{path}: languages {missing} not in the file (present: {sorted(present)})")
    return [e for e in episodes if e.extra["instruction"]["language"] in wanted]


def load_any_episodes(path: str | os.PathLike) -> list[Episode]:
    """R2R-CE when the file has an ``instruction_vocab``, otherwise RxR-CE (all languages)."""
    document = read_json(path)
    if isinstance(document, Mapping) and "instruction_vocab" in document:
        return _parse_episodes(document, str(path), len(_parse_vocab(document, str(path))), rxr=False)
    return _parse_episodes(document, str(path), None, rxr=True)


def episode_to_json(episode: Episode) -> dict:
    """The JSON object of one episode in R2R-CE layout (``extra`` merged back in)."""
    extra = dict(episode.extra)
    instruction = {**extra.pop("instruction", {}), "instruction_text": episode.instruction_text}
    if "language" not in instruction:  # R2R-style episode: tokens are part of the format
        instruction["instruction_tokens"] = list(episode.instruction_tokens)
    info = {**extra.pop("info", {}), "geodesic_distance": episode.geodesic_distance}
    if clash := sorted(_KNOWN_EPISODE_KEYS & extra.keys()):
        raise ValueError(f"episode {episode.episode_id!r}: extra keys {clash} collide with episode fields")
    return {
        **extra,
        "episode_id": _json_episode_id(episode.episode_id),
        "trajectory_id": episode.trajectory_id,
        "scene_id": episode.scene_id,
        "start_position": list(episode.start_position),
        "start_rotation": list(episode.start_rotation),
        "goals": [{"position": list(g.position), "radius": g.radius} for g in episode.goals],
        "reference_path": [list(p) for p in episode.reference_path],
        "instruction": instruction,
        "info": info,
    }


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The top-level keys of an episode file other than ``episodes`` and ``instruction_vocab`` ({} if none)."""
    document = read_json(path)
    if not isinstance(document, Mapping):
        raise EpisodeFileError(f"{path}: expected a JSON object at the top level")
    return {k: v for k, v in document.items() if k not in _DOCUMENT_KEYS}


def save_episodes(
    path: str | os.PathLike,
    episodes: Sequence[Episode],
    vocab: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write an R2R-CE episode file (``vocab=None`` writes an empty ``word_list``); validates like a read.
    ``metadata``: extra top-level keys (JSON values; not ``episodes`` / ``instruction_vocab``)."""
    words = list(vocab or [])
    extra = dict(metadata or {})
    if clash := sorted(_DOCUMENT_KEYS & extra.keys()):
        raise ValueError(f"metadata keys {clash} collide with the episode file's own keys")
    _check_json_value(extra, _Where(str(path), "file"), "metadata")
    document = {
        **extra,
        "episodes": [episode_to_json(e) for e in episodes],
        "instruction_vocab": {"word_list": words},
    }
    _parse_vocab(document, str(path))
    rxr = any("language" in e.extra.get("instruction", {}) for e in episodes)
    _parse_episodes(document, str(path), None if rxr else len(words), rxr=rxr)
    write_bytes_atomic(path, gzip_bytes(json_bytes(document)))


# ------------------------------------------------------------------------------------- ground truth


def _parse_gt_entry(raw: Any, where: _Where) -> GroundTruth:
    actions = _get(raw, "actions", where)
    if not isinstance(actions, (list, tuple)):
        raise where.error("actions", f"expected a list of action ids, got {actions!r}")
    parsed_actions = tuple(_integer(a, where, f"actions[{i}]", 0) for i, a in enumerate(actions))
    if any(a > max(Action) for a in parsed_actions):
        raise where.error("actions", f"action ids must be in 0..{int(max(Action))}")
    return GroundTruth(
        locations=_points(_get(raw, "locations", where), where, "locations"),
        actions=parsed_actions,
        forward_steps=_integer(_get(raw, "forward_steps", where), where, "forward_steps", 0),
    )


def _parse_gt(document: Any, path: str) -> dict[str, GroundTruth]:
    if not isinstance(document, Mapping):
        raise EpisodeFileError(
            f"{path}: expected an object keyed by episode id, got {type(document).__name__}"
        )
    return {
        str(key): _parse_gt_entry(value, _Where(path, f"episode {key!r}")) for key, value in document.items()
    }


def load_gt(path: str | os.PathLike) -> dict[str, GroundTruth]:
    """Read ``{split}_gt.json.gz`` into ``{episode_id: GroundTruth}`` (unknown per-episode keys ignored)."""
    return _parse_gt(read_json(path), str(path))


def _parse_rxr_gt_entry(raw: Any, where: _Where) -> GroundTruth:
    """Like ``_parse_gt_entry``, but ``actions`` and ``forward_steps`` may be absent (RxR-CE)."""
    if isinstance(raw, Mapping) and "actions" in raw and "forward_steps" in raw:
        return _parse_gt_entry(raw, where)
    locations = _points(_get(raw, "locations", where), where, "locations")
    if "actions" in raw or "forward_steps" in raw:
        present = "actions" if "actions" in raw else "forward_steps"
        raise where.error(present, "given without its companion ('actions' and 'forward_steps' go together)")
    return GroundTruth(locations=locations, actions=(), forward_steps=0)


def load_rxr_gt(path: str | os.PathLike) -> dict[str, GroundTruth]:
    """Read RxR-CE's ``{split}_{role}_gt.json.gz`` into ``{episode_id: GroundTruth}``: ``locations`` is
    required; ``actions`` / ``forward_steps`` are read when present, else ``()`` / ``0``."""
    document = read_json(path)
    if not isinstance(document, Mapping):
        raise EpisodeFileError(
            f"{path}: expected an object keyed by episode id, got {type(document).__name__}"
        )
    return {
        str(key): _parse_rxr_gt_entry(value, _Where(str(path), f"episode {key!r}"))
        for key, value in document.items()
    }


def save_gt(path: str | os.PathLike, gt: Mapping[str, GroundTruth]) -> None:
    """Write ``{split}_gt.json.gz``; validates like a read."""
    document = {
        str(episode_id): {
            "locations": [list(p) for p in truth.locations],
            "actions": [int(a) for a in truth.actions],
            "forward_steps": int(truth.forward_steps),
        }
        for episode_id, truth in gt.items()
    }
    _parse_gt(document, str(path))
    write_bytes_atomic(path, gzip_bytes(json_bytes(document)))
