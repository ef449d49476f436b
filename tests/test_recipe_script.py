"""scripts/train_default_agent.sh end to end at toy scale: every stage runs, the model it ships loads, a rerun resumes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from navagent.model import NavVLMForCausalLM, load_model_and_processor

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "train_default_agent.sh"
RECIPE = REPO_ROOT / "configs" / "train" / "default-agent.yaml"
STAGES = (
    "episodes", "nav_data", "views", "tower", "features", "bc",
    "dagger1_rollouts", "dagger1_features", "dagger1_train", "ship",
)  # fmt: skip
TOY_SCALE = {  # two train houses, a few steps per stage: minutes, not hours
    "TRAIN_SCENES": "2", "PER_SCENE": "2", "EVAL_SCENES": "1", "EVAL_PER_SCENE": "2",
    "VIEW_SCENES": "2", "VIEWS_PER_SCENE": "4", "PROBE_SCENES": "1", "PROBE_VIEWS_PER_SCENE": "4",
    "BC_STEPS": "4", "DAGGER_EPISODES": "2", "DAGGER_STEPS": "2", "DAGGER_MAX_STEPS": "20",
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_recipe(data: Path, run: Path) -> subprocess.CompletedProcess:
    env = os.environ | TOY_SCALE | {"MASTER_PORT": str(_free_port()), "SHIP": "0", "EVAL": "0"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # navagent, torchrun
    return subprocess.run(
        ["bash", str(SCRIPT), str(data), str(run)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def toy_recipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe")
    data, run = root / "data", root / "run"
    result = _run_recipe(data, run)
    assert result.returncode == 0, result.stderr[-3000:]
    return data, run


def test_every_stage_runs_and_logs_its_time(toy_recipe):
    _, run = toy_recipe
    assert {p.stem for p in (run / "stages").glob("*.done")} == set(STAGES)
    log = (run / "recipe.log").read_text()
    for stage in STAGES:
        assert f"stage {stage}: " in log
    assert "tower probes (unseen houses)" in log and "dagger1 rollouts of" in log


def test_the_shipped_model_is_the_last_rounds_and_loads(toy_recipe):
    data, run = toy_recipe
    final = run / "final"
    recipe = yaml.safe_load(RECIPE.read_text())
    assert yaml.safe_load((final / "recipe.yaml").read_text()) == recipe
    trained = yaml.safe_load((final / "train_config.yaml").read_text())
    assert trained["data"]["mixture"] == recipe["data"]["mixture"] + "+dagger1_viewq_prev"
    assert trained["model"]["path"] == str(run / "bc" / "final") and trained["train"]["max_steps"] == 2
    assert json.loads((final / "tower_probes.json").read_text())["num_probe_views"] == 4
    settings = json.loads((final / "recipe_settings.json").read_text())
    assert {k: settings[k] for k in TOY_SCALE} == TOY_SCALE  # the run's settings, as given
    assert settings["MODEL_PRESET"] == "configs/model/nav-conv-agent.yaml"
    assert settings["DAGGER_ROUNDS"] == "1" and settings["STOP_LABEL_DISTANCE"] == "1.5"
    assert json.loads((data / "dagger1" / "train_nav.json").read_text()), "the DAgger round wrote records"
    model, _ = load_model_and_processor(final)
    assert isinstance(model, NavVLMForCausalLM) and model.config.previous_action_in_prompt


def test_a_rerun_resumes_with_nothing_left_to_do(toy_recipe):
    data, run = toy_recipe
    result = _run_recipe(data, run)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done before, skipped") == len(STAGES)
