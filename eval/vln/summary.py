"""Summaries and output files of a VLN evaluation: ``summary.json``, ``trajectories.json``, merged shards.

``summary.json`` has ``vln_metrics.aggregate``'s keys (``ne, sr, osr, spl, tl, ndtw, sdtw, steps, episodes,
nonfinite_ne``, the same as ``navagent eval score``) plus:

* ``invalid_rate``: unparseable model outputs / model queries over all episodes (0.0 when the policy never
  queries a model, e.g. the baselines), with ``invalid_outputs`` and ``model_queries``;
* ``episodes_per_hour``: episodes / seconds of evaluation loop, from the records themselves: each record
  carries its invocation (``run_id``) and how far into that invocation's loop it finished, so a resumed run
  counts the time of every invocation up to its last finished episode (model loading and worker start-up are
  excluded). For merged shards it is the sum of the shards' rates (shards run side by side);
* ``dtw``, ``success_distance``, plus whatever the runner adds (policy, split, ...).

Metrics are averaged in episode-file order, so a resumed or merged run gives bit-identical numbers.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from navagent.eval.vln.records import metrics_from_record
from navagent.eval.vln.results import ResultsFileError, Shard, shard_suffix
from navagent.eval.vln_metrics import SUCCESS_DISTANCE, aggregate, run_success_distance
from navagent.fileio import json_bytes, write_bytes_atomic, write_json_atomic


def summary_path(out_dir: str | os.PathLike, shard: Shard | None = None) -> Path:
    return Path(out_dir) / f"summary{shard_suffix(shard)}.json"


def trajectories_path(out_dir: str | os.PathLike, shard: Shard | None = None) -> Path:
    return Path(out_dir) / f"trajectories{shard_suffix(shard)}.json"


def ordered_records(records: Mapping[str, dict], episode_ids: Sequence[str], where: str) -> list[dict]:
    """The records of ``episode_ids``, in that order; every one must be present."""
    missing = [episode_id for episode_id in episode_ids if episode_id not in records]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise ResultsFileError(f"{where}: no result for {len(missing)} episodes: {shown}")
    return [records[episode_id] for episode_id in episode_ids]


def episodes_per_hour(records: Sequence[dict]) -> float | None:
    """Episodes per hour of evaluation loop time (see the module docstring); None without timing."""
    loop_seconds: dict[str, float] = defaultdict(float)
    for record in records:
        run = str(record.get("run_id", ""))
        loop_seconds[run] = max(loop_seconds[run], float(record.get("finished_s", 0.0)))
    total = sum(loop_seconds.values())
    return 3600.0 * len(records) / total if records and total > 0 else None


def summarize(records: Sequence[dict], dtw: str) -> dict:
    """Aggregate metrics, invalid-output rate and throughput of ``records`` (in a fixed order)."""
    try:
        metrics = [metrics_from_record(record) for record in records]
        queries = sum(int(record["model_queries"]) for record in records)
        invalid = sum(int(record["invalid_outputs"]) for record in records)
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsFileError(f"malformed results record: {error!r}") from error
    return {
        **aggregate(metrics),
        "invalid_rate": invalid / queries if queries else 0.0,
        "invalid_outputs": invalid,
        "model_queries": queries,
        "episodes_per_hour": episodes_per_hour(records),
        "dtw": dtw,
        "success_distance": run_success_distance(
            record.get("success_distance", SUCCESS_DISTANCE) for record in records
        ),
    }


def trajectories_document(records: Sequence[dict]) -> dict[str, list[dict]]:
    """VLN-CE r2r inference format: ``{episode_id: [{"position", "heading", "stop"}, ...]}``."""
    return {record["episode_id"]: record["trajectory"] for record in records}


def write_outputs(out_dir: Path, summary: dict, records: Sequence[dict], shard: Shard | None) -> list[Path]:
    """Write ``summary*.json`` and ``trajectories*.json`` atomically; returns their paths."""
    paths = [summary_path(out_dir, shard), trajectories_path(out_dir, shard)]
    write_json_atomic(paths[0], summary)
    write_json_atomic(paths[1], trajectories_document(records))
    return paths


def write_merged_results(path: Path, records: Sequence[dict]) -> None:
    """All records as one JSON-lines file (atomic replace), e.g. ``results.jsonl`` after a shard merge."""
    write_bytes_atomic(path, b"".join(json_bytes(record) for record in records))
