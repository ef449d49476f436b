"""`SampleDataset` (a named, validated list of samples) and `read_records` (JSON list or JSON Lines)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import Dataset

from navagent.train.samples import DataRecordError, Sample, check_files_exist, check_sample


class SampleDataset(Dataset):
    """A named list of `Sample`s, each checked by `check_sample` (and for existing files when
    `verify_files`). An empty dataset is an error: a run never silently trains on nothing."""

    def __init__(self, name: str, samples: Sequence[Sample], verify_files: bool = True):
        if not samples:
            raise DataRecordError(f"dataset {name!r} has no records")
        for sample in samples:
            check_sample(sample)
            if verify_files:
                check_files_exist(sample)
        self.name = name
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]


def read_records(path: Path) -> list[dict]:
    """Records of a `.json` file (a list of objects) or a `.jsonl` file (one object per line)."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                records.append(_parse_json(line, f"{path}:{number}"))
    else:
        records = _parse_json(text, str(path))
        if not isinstance(records, list):
            raise DataRecordError(f"{path}: expected a JSON list of records, got {type(records).__name__}")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataRecordError(f"{path}: record #{index} is a {type(record).__name__}, expected an object")
    return records


def record_name(source: str, record: dict, index: int, id_key: str = "id") -> str:
    """ "<source>:<id>" (or "<source>:#<index>" when the record has no id)."""
    record_id = record.get(id_key)
    return f"{source}:{record_id}" if record_id not in (None, "") else f"{source}:#{index}"


def _parse_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataRecordError(f"{where}: invalid JSON: {error}") from error
