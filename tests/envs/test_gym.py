"""The gymnasium env passes gymnasium's own checker, is deterministic under reset(seed=...), and the
vector env runs simulators in subprocesses."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import navagent.envs  # noqa: F401  (registers navagent/BuiltinVLN-v0)
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.gym import BuiltinVLNEnv


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("episodes")
    write_split(out, "val_seen", 1, 3, 5)
    return out


def test_make_with_no_arguments_and_check_env():
    env = gymnasium.make("navagent/BuiltinVLN-v0")
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_reset_seed_is_deterministic_and_episode_selection(data_dir):
    env = BuiltinVLNEnv(episodes=data_dir, split="val_seen", width=32, height=32)
    a, info_a = env.reset(seed=11)
    b, info_b = env.reset(seed=11)
    assert info_a["episode_id"] == info_b["episode_id"]
    np.testing.assert_array_equal(a["rgb"], b["rgb"])
    assert a["rgb"].shape == (32, 32, 3)
    first = env.episodes[1].episode_id
    _, info = env.reset(options={"episode_id": first})
    assert info["episode_id"] == first
    with pytest.raises(KeyError, match="not in this env"):
        env.reset(options={"episode_id": "no-such-episode"})
    env.close()


def test_stop_terminates_and_reports_success(data_dir):
    env = BuiltinVLNEnv(episodes=data_dir, split="val_seen", width=32, height=32, depth=True)
    obs, _ = env.reset(seed=0)
    assert obs["depth"].shape == (32, 32, 1)
    _, reward, terminated, truncated, info = env.step(0)
    assert terminated and not truncated and info["success"] is False  # starts are >= 3 m from the goal
    assert reward < 0
    env.close()
