"""Every shipped YAML preset parses into its typed configuration (unknown keys or wrong types would fail)."""

from pathlib import Path

import pytest

from navagent.eval.vln.config import EvalConfig, load_eval_config
from navagent.model.tiny import TinyModelSpec, load_tiny_model_spec
from navagent.train.config import TrainConfig, load_train_config
from navagent.train.mixtures import load_registry, parse_mixture

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted((CONFIGS / "model").glob("*.yaml")), ids=lambda p: p.name)
def test_model_presets(path):
    assert isinstance(load_tiny_model_spec(path), TinyModelSpec)


@pytest.mark.parametrize("path", sorted((CONFIGS / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_train_configs_and_their_mixtures(path, monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)  # presets name their files relative to the repository root
    config = load_train_config(path)
    assert isinstance(config, TrainConfig)
    registry = load_registry(config.data.registry)
    for term in parse_mixture(config.data.mixture):
        assert term.name in registry, f"{path.name}: mixture names unknown dataset {term.name!r}"


@pytest.mark.parametrize("path", sorted((CONFIGS / "eval").glob("*.yaml")), ids=lambda p: p.name)
def test_eval_presets_and_dotted_overrides(path):
    config = load_eval_config(path, ["--sim.max_steps", "20", "--episodes.languages=[en-US]", "--num_envs=2"])
    assert isinstance(config, EvalConfig)
    assert (config.sim.max_steps, config.episodes.languages, config.num_envs) == (20, ["en-US"], 2)
    with pytest.raises(ValueError, match="sim: max_steps: expected int"):
        load_eval_config(path, ["--sim.max_steps=many"])
    with pytest.raises(ValueError, match="policy must be one of"):
        load_eval_config(path, ["--policy=walk"])
