"""Resume guards of `navagent eval vln`: input fingerprints, `--overwrite`, the output-folder lock.

Tiny generated episodes (one house), baseline policies; the episode file is regenerated in place with another
seed to show that a resume refuses results made from the old file's content (issue 13, repro 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from navagent.cli import main
from navagent.envs.builtin.episode_gen import write_split
from navagent.eval.vln import EvalConfig, run_vln_eval
from navagent.eval.vln.config import EpisodesSection, SimSection
from navagent.output_guard import LOCK_NAME, InputsChangedError, OutputLockedError, output_lock

SPLIT = "val_unseen"
IMPORT = "import os\nfrom navagent.output_guard import output_lock"


def config(data_dir: Path, out_dir: Path, max_episodes: int | None = None, **options) -> EvalConfig:
    return EvalConfig(
        out_dir=str(out_dir),
        episodes=EpisodesSection(dir=str(data_dir), split=SPLIT, max_episodes=max_episodes),
        sim=SimSection(max_steps=100),
        num_envs=2,
        **options,
    )


def metrics_by_episode(out_dir: Path) -> dict[str, dict]:
    lines = (out_dir / "results.jsonl").read_text().splitlines()
    return {record["episode_id"]: record["metrics"] for record in map(json.loads, lines)}


def test_regenerated_episodes_refuse_resume_until_overwrite(tmp_path):
    data, out, fresh = tmp_path / "ep", tmp_path / "out", tmp_path / "fresh"
    write_split(data, SPLIT, num_scenes=1, per_scene=3, seed=3, progress=False)
    run_vln_eval(config(data, out, max_episodes=2, policy="oracle"), progress=False)
    write_split(data, SPLIT, num_scenes=1, per_scene=3, seed=4, progress=False)  # in place, other content
    before = (out / "results.jsonl").read_bytes()
    with pytest.raises(InputsChangedError, match=r"inputs\.episodes.*inputs\.gt.*--overwrite.*new --out"):
        run_vln_eval(config(data, out, policy="oracle"), progress=False)
    assert (out / "results.jsonl").read_bytes() == before  # nothing touched
    resumed = run_vln_eval(config(data, out, policy="oracle"), progress=False, overwrite=True)
    expected = run_vln_eval(config(data, fresh, policy="oracle"), progress=False)
    assert {k: resumed[k] for k in ("sr", "spl", "ne", "episodes")} == {
        k: expected[k] for k in ("sr", "spl", "ne", "episodes")
    }
    assert metrics_by_episode(out) == metrics_by_episode(fresh)  # none of the old file's episodes left
    recorded = json.loads((out / "run.json").read_text())["inputs"]
    assert all(digest.startswith("sha256:") for digest in recorded["episodes"].values())


def test_cli_refusal_is_one_line_and_overwrite_flag(tmp_path, capsys):
    data, out = tmp_path / "ep", tmp_path / "out"
    write_split(data, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    argv = ["eval", "vln", "--policy", "forward", "--episodes", str(data), "--split", SPLIT]
    argv += ["--max-steps", "20", "--num-envs", "1", "--out", str(out)]
    assert main(argv) == 0
    write_split(data, SPLIT, num_scenes=1, per_scene=2, seed=1, progress=False)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "inputs.episodes" in err and "--overwrite" in err
    assert main([*argv, "--overwrite"]) == 0


def test_output_folder_is_locked_while_a_run_holds_it(tmp_path):
    data, out = tmp_path / "ep", tmp_path / "out"
    write_split(data, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    locked = pytest.raises(OutputLockedError, match=rf"in use by another run \(pid {os.getpid()}")
    with output_lock(out), locked:
        run_vln_eval(config(data, out, policy="forward"), progress=False)
    assert not (out / "results.jsonl").exists()
    assert not (out / LOCK_NAME).exists()  # released
    assert run_vln_eval(config(data, out, policy="forward"), progress=False)["episodes"] == 2


def test_stale_lock_of_a_killed_run_is_taken_over(tmp_path, capsys):
    data, out = tmp_path / "ep", tmp_path / "out"
    write_split(data, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    killed = subprocess.run(  # takes the lock, then dies without releasing it
        [sys.executable, "-c", f"{IMPORT}\ncm = output_lock({str(out)!r}); cm.__enter__(); os._exit(9)"],
        check=False,
    )
    assert killed.returncode == 9 and (out / LOCK_NAME).read_text().startswith("pid ")
    assert run_vln_eval(config(data, out, policy="forward"), progress=False)["episodes"] == 2
    assert "took over the stale lock of a killed run" in capsys.readouterr().err


def test_out_pointing_at_a_file_is_refused(tmp_path):
    data, out = tmp_path / "ep", tmp_path / "README.md"
    write_split(data, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    out.write_text("keep me")
    with pytest.raises(NotADirectoryError, match="must be a folder"):
        run_vln_eval(config(data, out, policy="forward"), progress=False)
    assert out.read_text() == "keep me"


def test_the_same_episodes_named_relatively_or_absolutely_resume(tmp_path, monkeypatch):
    data, out = tmp_path / "ep", tmp_path / "out"
    write_split(data, SPLIT, num_scenes=1, per_scene=3, seed=3, progress=False)
    monkeypatch.chdir(tmp_path)
    run_vln_eval(config(Path("ep"), out, max_episodes=2, policy="oracle"), progress=False)
    summary = run_vln_eval(config(data.resolve(), out, policy="oracle"), progress=False)  # absolute: resumes
    assert summary["episodes"] == 3 and len(metrics_by_episode(out)) == 3
