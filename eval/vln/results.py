"""Per-episode results as JSON lines: crash-safe appends, resume, and shard files.

Each finished episode is one line ``{"episode_id": ..., ...}\\n``. ``ResultsLog.append`` writes the complete
line with a single ``write`` on a file opened for appending, then flushes and ``fsync``s it, so after a crash
(or ``kill -9``) the file holds whole lines, plus at most one torn last line without its newline.
``ResultsLog.load`` discards such a torn tail (and cuts it off the file, so the next append starts on a
fresh line); a malformed line anywhere else is real corruption and raises ``ResultsFileError`` naming the
file and line. Duplicate episode ids within one file are rejected too.

File names in an output directory: ``results.jsonl`` for an unsharded run, ``results.shard-{i}-of-{n}.jsonl``
for shard ``i`` of ``n``; ``failures.jsonl`` (same scheme) holds episodes that could not run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navagent.fileio import json_bytes

if TYPE_CHECKING:
    from typing_extensions import Self

Shard = tuple[int, int]  # (index, count), 0 <= index < count


class ResultsFileError(ValueError):
    """A results file is corrupt or inconsistent (names the file and line / episode)."""


def shard_suffix(shard: Shard | None) -> str:
    return "" if shard is None else f".shard-{shard[0]}-of-{shard[1]}"


def results_path(out_dir: str | os.PathLike, shard: Shard | None = None) -> Path:
    return Path(out_dir) / f"results{shard_suffix(shard)}.jsonl"


def failures_path(out_dir: str | os.PathLike, shard: Shard | None = None) -> Path:
    return Path(out_dir) / f"failures{shard_suffix(shard)}.jsonl"


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One record as a JSON line (sorted keys, no NaN/inf, ends with exactly one newline)."""
    data = json_bytes(dict(record))
    if data.count(b"\n") != 1:
        raise ValueError("a results record must serialise to a single line")
    return data


class ResultsLog:
    """Append-only JSON-lines file of per-episode records, keyed by ``record["episode_id"]``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle = None

    def load(self, repair: bool = True) -> dict[str, dict]:
        """All complete records, in file order. A torn last line is dropped, and with ``repair`` also cut
        off the file. A missing file is empty."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        complete_end = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
        if complete_end < len(data) and repair:
            with open(self.path, "r+b") as handle:
                handle.truncate(complete_end)
                handle.flush()
                os.fsync(handle.fileno())
        records: dict[str, dict] = {}
        for number, line in enumerate(data[:complete_end].splitlines(), start=1):
            record = self._parse(line, number)
            episode_id = record["episode_id"]
            if episode_id in records:
                raise ResultsFileError(f"{self.path}: line {number}: duplicate episode_id {episode_id!r}")
            records[episode_id] = record
        return records

    def _parse(self, line: bytes, number: int) -> dict:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ResultsFileError(f"{self.path}: line {number}: not a JSON record: {error}") from error
        if not isinstance(record, dict) or not isinstance(record.get("episode_id"), str):
            raise ResultsFileError(f"{self.path}: line {number}: expected an object with a string episode_id")
        return record

    def append(self, record: Mapping[str, Any]) -> None:
        """Durably append one record (a single write of the whole line, then flush + fsync)."""
        line = encode_line(record)
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 (kept open across appends)
        written = self._handle.write(line)
        if written != len(line):
            raise OSError(f"{self.path}: short write ({written} of {len(line)} bytes)")
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def merge_records(sources: Iterable[Mapping[str, dict]], names: Iterable[str]) -> dict[str, dict]:
    """Union of several files' records; the same episode in two files must have identical metrics and
    trajectory (else ``ResultsFileError`` naming both files)."""
    merged: dict[str, dict] = {}
    origin: dict[str, str] = {}
    for records, name in zip(sources, names):
        for episode_id, record in records.items():
            if episode_id in merged:
                kept = merged[episode_id]
                if any(kept.get(k) != record.get(k) for k in ("metrics", "trajectory")):
                    raise ResultsFileError(
                        f"episode {episode_id!r} has different results in {origin[episode_id]} and {name}"
                    )
                continue
            merged[episode_id], origin[episode_id] = record, name
    return merged
