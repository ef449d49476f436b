"""Open-loop action accuracy: the agent's decision on recorded navigation records vs the oracle's label.

Closed-loop metrics (SR, SPL, nDTW) say whether an agent reaches the goal; they do not say *which* decisions go
wrong, and an agent that collapses to one action costs the full step limit per episode. This evaluation asks
the agent (`NavAgent.describe`: the same frame sampling, prompt and greedy decoding as in the closed loop) for
its next action on each record of a NaVILA navigation file, e.g. held-out oracle walks written by
``navagent data trajectories --split val_unseen --no-rebalance``, and compares it with the record's answer.

Record (JSON list or JSON Lines; frame paths relative to ``frames_root``)::

    {"video_id": "val_unseen_3-7", "q": "Walk past ...", "a": "The next action is turn left 30 degree.",
     "frames": ["val_unseen_3/frame_0.jpg", ...], "prev": "turn left 45 degree"}

``"prev"`` (the move before the decision; `navagent data trajectories` writes it) is needed only for an agent
whose prompt states the previous action (``previous_action_in_prompt``).

Summary: ``records``, ``exact`` (same kind and amount), ``kind`` (same forward / left / right / stop),
``invalid`` (unparseable outputs), ``majority`` / ``majority_kind`` (the exact / kind accuracy of always
answering the most frequent label / kind: the floors a blind agent reaches), ``per_label`` {label: {records, exact, kind}} and ``confusion``
{label: {predicted: count}} over canonical texts (``invalid`` for unparseable outputs).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from navagent.agent.actions import MidLevelAction, parse_action
from navagent.agent.prompts import PreviousAction
from navagent.train.datasets.base import read_records
from navagent.train.datasets.navigation import navigation_frame_paths, record_previous_action
from navagent.train.samples import DataRecordError

INVALID_LABEL = "invalid"


@dataclass(frozen=True)
class NavigationQuery:
    """One record: its id, instruction, frame files (history then current), labelled action and the move
    before it (None when the record has no ``"prev"``)."""

    record_id: str
    instruction: str
    frames: tuple[Path, ...]
    label: MidLevelAction
    previous_action: PreviousAction | None = None


class FrameFiles(Sequence):
    """An episode's frames as a lazily loaded sequence: only the frames a prompt samples are decoded."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):  # int -> (H, W, 3) uint8
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        with Image.open(self.paths[index]) as image:
            return np.asarray(image.convert("RGB"))


def load_navigation_queries(records_path: str | Path, frames_root: str | Path) -> list[NavigationQuery]:
    """Read and validate the records of ``records_path`` (errors name the file and record)."""
    records_path, frames_root = Path(records_path), Path(frames_root)
    queries = []
    for index, record in enumerate(read_records(records_path)):
        where = f"{records_path}: record #{index} ({record.get('video_id', '?')})"
        paths = tuple(navigation_frame_paths(record, frames_root, where))
        label = parse_action(record["a"])
        if not label.valid:
            raise DataRecordError(f"{where}: answer {record['a']!r} is not an action ({label.reason})")
        previous = record_previous_action(record, where) if "prev" in record else None
        queries.append(
            NavigationQuery(str(record.get("video_id", index)), record["q"], paths, label.action, previous)
        )
    return queries


def evaluate_action_accuracy(
    agent, queries: Sequence[NavigationQuery], batch_size: int = 16, progress: bool = True
) -> dict:
    """Ask ``agent`` (a `NavAgent`) for each query's next action; returns the summary (module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not queries:
        raise ValueError("no navigation records to evaluate")
    told_previous = agent.previous_action_in_prompt
    missing = next((q for q in queries if q.previous_action is None), None) if told_previous else None
    if missing is not None:
        raise DataRecordError(
            f"record {missing.record_id}: the agent's prompt states the previous action, but the record has no "
            f"'prev' (write the records with the current `navagent data trajectories`)"
        )
    confusion: dict[str, Counter] = defaultdict(Counter)
    exact = kind = invalid = 0
    per_label: dict[str, Counter] = defaultdict(Counter)
    bar = tqdm(total=len(queries), desc="action accuracy", unit="record", disable=not progress)
    for start in range(0, len(queries), batch_size):
        batch = queries[start : start + batch_size]
        previous = [q.previous_action.phrase for q in batch] if told_previous else None
        texts = agent.describe(
            [FrameFiles(q.frames) for q in batch], [q.instruction for q in batch], previous
        )
        for query, text in zip(batch, texts):
            label = query.label.to_text()
            parsed = parse_action(text)
            predicted = parsed.action.to_text() if parsed.valid else INVALID_LABEL
            same = parsed.valid and parsed.action == query.label
            same_kind = parsed.valid and parsed.action.kind == query.label.kind
            exact, kind, invalid = exact + same, kind + same_kind, invalid + (not parsed.valid)
            per_label[label].update(records=1, exact=int(same), kind=int(same_kind))
            confusion[label][predicted] += 1
        bar.update(len(batch))
    bar.close()
    label_counts = Counter(q.label.to_text() for q in queries)
    majority_label, majority_count = label_counts.most_common(1)[0]
    majority_kind_count = Counter(q.label.kind for q in queries).most_common(1)[0][1]
    total = len(queries)
    return {
        "records": total,
        "exact": exact / total,
        "kind": kind / total,
        "invalid": invalid / total,
        "majority": majority_count / total,
        "majority_label": majority_label,
        "majority_kind": majority_kind_count / total,
        "per_label": {label: dict(counts) for label, counts in sorted(per_label.items())},
        "confusion": {label: dict(counts.most_common()) for label, counts in sorted(confusion.items())},
    }


def format_action_accuracy(summary: dict) -> str:
    """A plain-text table: overall figures, then one row per label (records, exact, kind, top predictions)."""
    overall = (
        f"records {summary['records']}: exact {summary['exact']:.1%}, kind {summary['kind']:.1%}, "
        f"invalid {summary['invalid']:.1%}; majority-label floor {summary['majority']:.1%} "
        f"({summary['majority_label']!r}), majority-kind floor {summary['majority_kind']:.1%}"
    )
    lines = [
        overall,
        f"{'label':<62} {'records':>7} {'exact':>6} {'kind':>6}  most frequent predictions",
    ]
    for label, counts in summary["per_label"].items():
        top = ", ".join(f"{_short(p)} {n}" for p, n in list(summary["confusion"][label].items())[:3])
        n = counts["records"]
        lines.append(f"{label:<62} {n:>7} {counts['exact'] / n:>6.1%} {counts['kind'] / n:>6.1%}  {top}")
    return "\n".join(lines)


def _short(text: str) -> str:
    return text.removeprefix("The next action is ").rstrip(".") if text != INVALID_LABEL else text


def run_action_accuracy(
    checkpoint: str | Path | None,
    records_path: str | Path,
    frames_root: str | Path,
    out_path: str | Path,
    max_records: int | None = None,
    batch_size: int = 16,
) -> dict:
    """`navagent eval actions`: load the checkpoint (None: the shipped default), evaluate the first
    ``max_records`` records, write the summary JSON to ``out_path`` and return it."""
    from navagent.eval.vln.policies import load_agent_policy
    from navagent.fileio import write_json_atomic

    queries = load_navigation_queries(records_path, frames_root)
    if max_records is not None:
        if max_records < 1:
            raise ValueError(f"--max-records must be >= 1, got {max_records}")
        queries = queries[:max_records]
    policy = load_agent_policy(checkpoint)
    summary = evaluate_action_accuracy(policy.agent, queries, batch_size=batch_size)
    summary = {
        "checkpoint": policy.name.removeprefix("checkpoint:"),
        "records_file": str(records_path),
        **summary,
    }
    write_json_atomic(out_path, summary)
    return summary
