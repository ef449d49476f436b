"""The CLI's error boundary and parse-time argument checks: every bad input gives one `navagent: error:` line
(or argparse's usage error) naming the file / argument, a non-zero exit, no traceback and no partial output.

Cases are the bad-input table of docs/BAD_INPUT.md (issue 13); small generated episodes throughout.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from navagent.cli import main
from navagent.envs.builtin.episode_gen import write_split

SPLIT = "val_unseen"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-errors")
    write_split(root, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    return root


def run(argv: list[str], capsys) -> tuple[int, str]:
    """(exit code, stderr) of one CLI call; argparse's usage errors exit through SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


RANGE_CASES = [
    (["eval", "vln", "--policy", "random", "--max-steps", "0"], "--max-steps"),
    (["eval", "vln", "--policy", "random", "--max-steps", "-5"], "--max-steps"),
    (["eval", "vln", "--policy", "random", "--num-envs", "0"], "--num-envs"),
    (["eval", "vln", "--policy", "random", "--max-episodes", "zero"], "--max-episodes"),
    (["eval", "vln", "--policy", "random", "--shard", "3/2"], "--shard"),
    (["data", "episodes", "--split", SPLIT, "--scenes", "0", "--out", "x"], "--scenes"),
    (["data", "episodes", "--split", SPLIT, "--seed", "-1", "--out", "x"], "--seed"),
    (["data", "trajectories", "--episodes", "x", "--out", "y", "--recovery", "-1"], "--recovery"),
    (["data", "views", "--split", SPLIT, "--out", "x", "--on-path-fraction", "1.5"], "--on-path-fraction"),
    (["data", "views", "--split", SPLIT, "--out", "x", "--on-path-fraction", "nan"], "--on-path-fraction"),
    (["demo", "--policy", "random", "--max-steps", "0"], "--max-steps"),
    (["sim", "render", "--size", "0"], "--size"),
    (["eval", "vqa", "--tasks", "easyvqa", "--predictions", "p", "--out", "o", "--limit", "0"], "--limit"),
    (["bench", "eval", "--episodes", "0"], "--episodes"),
]


@pytest.mark.parametrize(("argv", "flag"), RANGE_CASES, ids=[" ".join(c[0][:2]) + c[1] for c in RANGE_CASES])
def test_argument_ranges_are_checked_at_parse_time(argv, flag, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(argv, capsys)
    assert code == 2 and f"argument {flag}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_out_collisions(data, tmp_path, capsys):
    existing = tmp_path / "README.md"
    existing.write_text("keep")
    for argv in (
        ["eval", "vln", "--policy", "random", "--episodes", data, "--split", SPLIT, "--out", existing],
        ["data", "episodes", "--split", SPLIT, "--out", existing],
        ["sim", "render", "--out", existing],
    ):
        code, err = run(argv, capsys)
        assert code == 2 and "is an existing file; expected a folder" in err
    episodes = data / SPLIT / f"{SPLIT}.json.gz"
    gt = data / SPLIT / f"{SPLIT}_gt.json.gz"
    argv = [
        "eval",
        "score",
        "--episodes",
        episodes,
        "--gt",
        gt,
        "--trajectories",
        existing,
        "--out",
        tmp_path,
    ]
    code, err = run(argv, capsys)
    assert code == 2 and "is an existing folder; expected a file path" in err
    code, err = run(
        ["eval", "vqa", "--tasks", "easyvqa", "--predictions", existing, "--out", tmp_path], capsys
    )
    one_line_error(code, err, str(tmp_path), "must be a file")
    assert existing.read_text() == "keep"


def bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    """The malformed variants of a gzipped JSON file."""
    files = {
        "missing": tmp_path / "missing.json.gz",
        "empty": tmp_path / "empty.json.gz",
        "not_json": tmp_path / "not_json.json.gz",
        "not_gzip": tmp_path / "not_gzip.json.gz",
        "truncated": tmp_path / "truncated.json.gz",
        "directory": tmp_path / "dir.json.gz",
    }
    files["empty"].write_bytes(b"")
    files["not_json"].write_bytes(gzip.compress(b"{oops"))
    files["not_gzip"].write_text('{"episodes": []}')
    files["truncated"].write_bytes(good.read_bytes()[:100])
    files["directory"].mkdir()
    return files


@pytest.mark.parametrize("kind", ["missing", "empty", "not_json", "not_gzip", "truncated", "directory"])
@pytest.mark.parametrize("which", ["episodes", "gt"])
def test_bad_episode_and_gt_files_are_one_line_errors(data, tmp_path, capsys, kind, which):
    episodes = data / SPLIT / f"{SPLIT}.json.gz"
    gt = data / SPLIT / f"{SPLIT}_gt.json.gz"
    trajectories = tmp_path / "traj.json"
    trajectories.write_text("{}")
    bad = bad_files(tmp_path, episodes if which == "episodes" else gt)[kind]
    files = {"episodes": episodes, "gt": gt, which: bad}
    argv = ["eval", "score", "--episodes", files["episodes"], "--gt", files["gt"]]
    code, err = run([*argv, "--trajectories", trajectories, "--out", tmp_path / "s.json"], capsys)
    one_line_error(code, err, bad.name)
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("train: {a: [1, 2\n", "line 2"),  # syntax error
        ("train: !!python/object:os.system {}\n", "python/object"),  # a Python tag
        ("- just\n- a list\n", "mapping"),
        ("train: {nonsense_key: 1}\n", "nonsense_key"),
    ],
    ids=["syntax", "python-tag", "not-a-mapping", "unknown-key"],
)
def test_bad_train_and_eval_configs(tmp_path, capsys, content, needle):
    config = tmp_path / "config.yaml"
    config.write_text(content)
    out = tmp_path / "run"
    code, err = run(["train", config, "--train.output_dir", out], capsys)
    one_line_error(code, err, str(config), needle)
    assert not out.exists()
    if needle != "nonsense_key":  # eval presets have other keys
        code, err = run(["eval", "vln", "--config", config, "--policy", "random", "--out", out], capsys)
        one_line_error(code, err, str(config))


def test_pickle_only_checkpoint_is_refused_before_writing(data, tmp_path, capsys):
    checkpoint = tmp_path / "pickled"
    checkpoint.mkdir()
    default = Path(__file__).resolve().parents[1] / "checkpoints" / "navagent-default"
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
        (checkpoint / name).write_bytes((default / name).read_bytes())
    (checkpoint / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    out = tmp_path / "out"
    argv = ["eval", "vln", "--checkpoint", checkpoint, "--episodes", data, "--split", SPLIT, "--out", out]
    code, err = run(argv, capsys)
    one_line_error(code, err, str(checkpoint))
    assert not out.exists()


def test_wrong_split_and_unknown_episode(data, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = run(
        ["eval", "vln", "--policy", "random", "--episodes", data, "--split", "train", "--out", out], capsys
    )
    one_line_error(code, err, "train.json.gz", "not found")
    code, err = run(["demo", "--policy", "random", "--episodes", data, "--split", SPLIT, "--episode-id", "nope",
                     "--out", out], capsys)  # fmt: skip
    one_line_error(code, err, "nope")
    assert not out.exists()


def test_internal_errors_keep_their_traceback(monkeypatch):
    def broken(args) -> None:
        raise KeyError("a bug in our code")

    monkeypatch.setattr("navagent.cli._cmd_sim_render", broken)
    with pytest.raises(KeyError, match="a bug in our code"):
        main(["sim", "render"])


def test_trajectory_records_with_nan_and_missing_fields(data, tmp_path, capsys):
    episodes = data / SPLIT / f"{SPLIT}.json.gz"
    gt = data / SPLIT / f"{SPLIT}_gt.json.gz"
    episode_id = json.loads(gzip.decompress(episodes.read_bytes()))["episodes"][0]["episode_id"]
    for record, needle in (
        ({"position": [float("nan"), 0, 0], "heading": 0, "stop": True}, "position"),
        ({"heading": 0, "stop": True}, "position"),
    ):
        trajectories = tmp_path / "traj.json"
        trajectories.write_text(json.dumps({str(episode_id): [record]}))
        argv = ["eval", "score", "--episodes", episodes, "--gt", gt, "--trajectories", trajectories]
        code, err = run([*argv, "--out", tmp_path / "s.json"], capsys)
        one_line_error(code, err, "traj.json", needle)
