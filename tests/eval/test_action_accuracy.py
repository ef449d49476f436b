"""Open-loop action accuracy (`navagent eval actions`) with the shipped default agent on written records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from navagent.agent.actions import MidLevelAction, parse_action
from navagent.agent.policy import NavAgent
from navagent.cli import main
from navagent.envs.base import Action
from navagent.eval.vln.action_accuracy import (
    FrameFiles,
    evaluate_action_accuracy,
    format_action_accuracy,
    load_navigation_queries,
)
from navagent.eval.vln.policies import load_agent_policy
from navagent.train.samples import DataRecordError

INSTRUCTION = "Walk out of the bedroom, turn left into the hallway and stop next to the green sofa."
HISTORY_LENGTHS = (1, 5, 12)
PREVIOUS = (None, "turn left 45 degree", "move forward 50 cm")  # each record's move before its decision


@pytest.fixture(scope="module")
def agent():
    return load_agent_policy(None).agent  # the shipped default checkpoint


@pytest.fixture(scope="module")
def frames_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    (root / "ep").mkdir()
    for i in range(max(HISTORY_LENGTHS)):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
            root / "ep" / f"frame_{i}.jpg"
        )
    return root


def frame_names(length: int) -> list[str]:
    return [f"ep/frame_{i}.jpg" for i in range(length)]


def other_amount(action: MidLevelAction) -> MidLevelAction:
    """An action of the same kind with another amount."""
    if action.kind == Action.MOVE_FORWARD:
        return MidLevelAction(Action.MOVE_FORWARD, 25 if action.amount != 25 else 75)
    return MidLevelAction(action.kind, 15 if action.amount != 15 else 30)


def other_kind(action: MidLevelAction, taken: list[MidLevelAction]) -> MidLevelAction:
    """An action of another kind that is not in ``taken``."""
    candidates = [
        MidLevelAction(Action.TURN_RIGHT, 45),
        MidLevelAction(Action.STOP),
        MidLevelAction(Action.TURN_LEFT, 30),
    ]
    return next(c for c in candidates if c.kind != action.kind and c not in taken)


def write_records(path: Path, labels: list[str], previous: tuple[str | None, ...] | None = PREVIOUS) -> Path:
    """Records of the histories HISTORY_LENGTHS with answers ``labels`` and, unless None, "prev" moves."""
    records = [
        {"video_id": f"ep-{n}", "q": INSTRUCTION, "a": label, "frames": frame_names(n)}
        for n, label in zip(HISTORY_LENGTHS, labels)
    ]
    if previous is not None:
        records = [record | {"prev": move} for record, move in zip(records, previous)]
    path.write_text(json.dumps(records))
    return path


def test_accuracy_counts_exact_kind_and_confusion(agent, frames_root, tmp_path):
    histories = [FrameFiles([frames_root / name for name in frame_names(n)]) for n in HISTORY_LENGTHS]
    previous = list(PREVIOUS) if agent.previous_action_in_prompt else None
    texts = agent.describe(histories, [INSTRUCTION] * len(histories), previous)
    predictions = [parse_action(text) for text in texts]
    assert all(p.valid for p in predictions), "the shipped agent writes parseable actions"
    actions = [p.action for p in predictions]
    # record 0: the prediction itself; record 1: same kind (another amount, or exact for STOP); record 2: other kind
    second = actions[1] if actions[1].kind == Action.STOP else other_amount(actions[1])
    labels = [actions[0], second]
    labels.append(other_kind(actions[2], labels))
    records = write_records(tmp_path / "nav.json", [a.to_text() for a in labels])

    summary = evaluate_action_accuracy(agent, load_navigation_queries(records, frames_root), batch_size=2)
    expected_exact = 1 + int(second == actions[1])
    assert summary["records"] == 3 and summary["invalid"] == 0
    assert summary["exact"] == pytest.approx(expected_exact / 3)
    assert summary["kind"] == pytest.approx(2 / 3)
    assert sum(row["records"] for row in summary["per_label"].values()) == 3
    assert sum(sum(row.values()) for row in summary["confusion"].values()) == 3
    assert summary["confusion"][labels[2].to_text()] == {actions[2].to_text(): 1}
    counts = [label.to_text() for label in labels]
    assert summary["majority"] == pytest.approx(max(counts.count(c) for c in counts) / 3)
    kinds = [label.kind for label in labels]
    assert summary["majority_kind"] == pytest.approx(max(kinds.count(k) for k in kinds) / 3)
    assert "majority-label floor" in format_action_accuracy(summary)


def test_cli_writes_the_summary(frames_root, tmp_path, capsys):
    records = write_records(tmp_path / "nav.json", [MidLevelAction(Action.STOP).to_text()] * 3)
    out = tmp_path / "accuracy.json"
    assert main(["eval", "actions", "--records", str(records), "--frames-root", str(frames_root),
                 "--max-records", "2", "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads(out.read_text())
    assert summary["records"] == 2 and summary["majority"] == 1.0
    assert summary["checkpoint"].endswith("navagent-default")
    assert "records 2" in capsys.readouterr().out


def test_bad_records_are_named(frames_root, tmp_path):
    bad_answer = write_records(tmp_path / "a.json", ["dance a little", "stop", "stop"])
    with pytest.raises(
        DataRecordError, match=r"a\.json: record #0 \(ep-1\).*'dance a little' is not an action"
    ):
        load_navigation_queries(bad_answer, frames_root)
    escaping = tmp_path / "b.json"
    escaping.write_text(json.dumps([{"video_id": "x", "q": "go", "a": "stop", "frames": ["../secret.jpg"]}]))
    with pytest.raises(
        DataRecordError, match=r"b\.json: record #0 \(x\): frames\[0\].*outside the data root"
    ):
        load_navigation_queries(escaping, frames_root)


def test_an_agent_told_its_previous_action_reads_each_records_prev(agent, frames_root, tmp_path):
    told_model = copy.deepcopy(agent.model)
    told_model.config.previous_action_in_prompt = True
    told = NavAgent(told_model, agent.processor)
    labels = [MidLevelAction(Action.MOVE_FORWARD, 75).to_text()] * len(HISTORY_LENGTHS)
    without = load_navigation_queries(write_records(tmp_path / "a.json", labels, previous=None), frames_root)
    with pytest.raises(DataRecordError, match=r"record ep-1: the agent's prompt states the previous action"):
        evaluate_action_accuracy(told, without, progress=False)
    records = json.loads((tmp_path / "a.json").read_text())
    previous = list(PREVIOUS)
    queries = load_navigation_queries(write_records(tmp_path / "b.json", labels), frames_root)
    assert [q.previous_action.phrase for q in queries] == previous
    texts = told.describe([FrameFiles(q.frames) for q in queries], [q.instruction for q in queries], previous)
    summary = evaluate_action_accuracy(told, queries, progress=False)
    assert summary["exact"] == np.mean([parse_action(t).action == q.label for t, q in zip(texts, queries)])
    (tmp_path / "c.json").write_text(json.dumps([records[0] | {"prev": "jump"}]))
    with pytest.raises(DataRecordError, match=r"c\.json: record #0 \(ep-1\): 'prev': .*not a move phrase"):
        load_navigation_queries(tmp_path / "c.json", frames_root)
