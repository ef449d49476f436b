"""Per-episode JSON-lines results: durable appends, torn-tail recovery, corruption and conflict errors."""

from __future__ import annotations

import json

import pytest

from navagent.eval.vln.results import (
    ResultsFileError,
    ResultsLog,
    encode_line,
    merge_records,
    results_path,
)


def record(episode_id: str, ne: float = 1.0) -> dict:
    return {
        "episode_id": episode_id,
        "metrics": {"ne": ne},
        "trajectory": [{"position": [0.0, 0.0, 0.0], "heading": 0.0, "stop": True}],
    }


def test_append_then_load_round_trips(tmp_path):
    path = tmp_path / "out" / "results.jsonl"
    with ResultsLog(path) as log:
        log.append(record("1"))
        log.append(record("2", 2.5))
    assert ResultsLog(path).load() == {"1": record("1"), "2": record("2", 2.5)}
    assert path.read_bytes().count(b"\n") == 2
    assert ResultsLog(tmp_path / "missing.jsonl").load() == {}


def test_torn_last_line_is_dropped_and_cut_off(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultsLog(path) as log:
        log.append(record("1"))
        log.append(record("2"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])  # killed while writing the second line
    assert ResultsLog(path).load(repair=False).keys() == {"1"}
    assert path.read_bytes() == data[: len(data) - 7]  # repair=False leaves the file alone
    assert ResultsLog(path).load().keys() == {"1"}
    assert path.read_bytes() == encode_line(record("1"))
    with ResultsLog(path) as log:  # the next append starts on a fresh line
        log.append(record("3"))
    assert list(ResultsLog(path).load()) == ["1", "3"]


def test_corrupt_or_duplicate_lines_name_the_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(encode_line(record("1")) + b"{not json\n" + encode_line(record("2")))
    with pytest.raises(ResultsFileError, match=r"results.jsonl: line 2: not a JSON record"):
        ResultsLog(path).load()
    path.write_bytes(encode_line(record("1")) + encode_line(record("1")))
    with pytest.raises(ResultsFileError, match="line 2: duplicate episode_id '1'"):
        ResultsLog(path).load()
    path.write_bytes(json.dumps({"id": 3}).encode() + b"\n")
    with pytest.raises(ResultsFileError, match="line 1: expected an object with a string episode_id"):
        ResultsLog(path).load()


def test_records_must_be_json_safe(tmp_path):
    with pytest.raises(ValueError):
        ResultsLog(tmp_path / "r.jsonl").append(record("1", float("nan")))
    assert not (tmp_path / "r.jsonl").exists()


def test_merge_rejects_conflicting_duplicates():
    merged = merge_records([{"1": record("1")}, {"2": record("2"), "1": record("1")}], ["a", "b"])
    assert list(merged) == ["1", "2"]
    with pytest.raises(ResultsFileError, match="episode '1' has different results in a and b"):
        merge_records([{"1": record("1")}, {"1": record("1", 9.0)}], ["a", "b"])


def test_shard_file_names(tmp_path):
    assert results_path(tmp_path).name == "results.jsonl"
    assert results_path(tmp_path, (1, 4)).name == "results.shard-1-of-4.jsonl"
