"""Reading benchmark files (JSON, JSON lines, TSV, Parquet) with errors that name the file and the record."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from navagent.eval.vqa.sample import VqaDataError

PathLike = str | os.PathLike


def read_json(path: PathLike) -> Any:
    """Parse a UTF-8 JSON file; VqaDataError naming the file when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VqaDataError(f"{path}: not valid JSON: {error}") from error


def read_jsonl(path: PathLike) -> list[Any]:
    """Parse a JSON-lines file (blank lines skipped); VqaDataError naming the file and line."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise VqaDataError(f"{path}: line {number}: not valid JSON: {error}") from error
    return records


def read_json_or_jsonl(path: PathLike) -> Any:
    """A JSON document, or the list of records of a JSON-lines file (some benchmarks name those ``.json``)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return read_jsonl(path)


def read_records(path: PathLike) -> list[Mapping[str, Any]]:
    """The rows of a ``.parquet`` (needs ``pyarrow``), ``.jsonl`` or ``.json`` (a list of objects) table."""
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            from pyarrow import parquet
        except ImportError as error:
            raise ImportError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from error
        return parquet.read_table(path).to_pylist()
    records = read_jsonl(path) if path.suffix == ".jsonl" else read_json(path)
    if not isinstance(records, list):
        raise VqaDataError(f"{path}: expected a list of records, got {type(records).__name__}")
    return records


def read_tsv(path: PathLike) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line, as {column: text} (large base64 cells allowed)."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if reader.fieldnames is None:
            raise VqaDataError(f"{path}: empty file, expected a header line")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if None in row:
            raise VqaDataError(f"{path}: line {number}: more cells than the header has columns")
    return rows


def get_field(record: Any, name: str, where: str, kind: type | tuple[type, ...] = object) -> Any:
    """``record[name]`` checked to be a ``kind``; VqaDataError naming ``where`` and the field otherwise."""
    if not isinstance(record, Mapping):
        raise VqaDataError(f"{where}: expected an object, got {type(record).__name__}")
    if name not in record:
        raise VqaDataError(f"{where}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, str))):
        raise VqaDataError(f"{where}: field {name!r}: expected {_kind_name(kind)}, got {value!r:.80}")
    return value


def get_text(record: Any, name: str, where: str) -> str:
    """A string field."""
    return get_field(record, name, where, str)


def get_id(record: Any, name: str, where: str) -> str:
    """An id field (int or str) as a string."""
    return str(get_field(record, name, where, (int, str)))


def get_text_list(record: Any, name: str, where: str) -> list[str]:
    """A non-empty list-of-strings field."""
    values = get_field(record, name, where, list)
    if not values or not all(isinstance(v, str) for v in values):
        raise VqaDataError(
            f"{where}: field {name!r}: expected a non-empty list of strings, got {values!r:.80}"
        )
    return values


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def media_path(directory: PathLike | None, name: str) -> tuple[Path, ...]:
    """``(directory / name,)``, or ``()`` when no media directory was given (scoring needs no media)."""
    return () if directory is None else (Path(directory) / name,)
