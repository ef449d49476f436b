"""NaVILA prompt text, instruction normalisation and frame sampling on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from navagent.agent.prompts import (
    NAVIGATION_PROMPTS,
    PreviousAction,
    navigation_prompt,
    normalize_instruction,
    sample_frame_indices,
    sample_frames,
)

# The reference prompt for N = 8, written out in full (not built with the code under test).
REFERENCE_PROMPT_8 = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical "
    "observations <image>\n<image>\n<image>\n<image>\n<image>\n<image>\n<image>\n, and current observation "
    '<image>\n. Your assigned task is: "Walk past the sofa and stop at the door." Analyze this series of images '
    "to decide your next action, which could be turning left or right by a specific degree, moving forward a "
    "certain distance, or stop if the task is completed."
)


def test_prompt_matches_reference_exactly():
    assert navigation_prompt("Walk past the sofa and stop at the door.") == REFERENCE_PROMPT_8


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_prompt_has_one_placeholder_per_frame(n):
    prompt = navigation_prompt("go", num_frames=n)
    assert prompt.count("<image>") == n
    assert prompt.count("<image>\n") == n
    assert "current observation <image>\n. " in prompt


def test_prompt_keeps_raw_instruction_at_eval():
    raw = "walk  forward\nthen stop ."
    assert f'"{raw}"' in navigation_prompt(raw)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_prompt_rejects_bad_num_frames(bad):
    with pytest.raises(ValueError, match="num_frames"):
        navigation_prompt("go", num_frames=bad)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("walk past the TABLE .\nturn left. stop", "Walk past the table. Turn left. Stop"),
        ("Go up the stairs.\r\nWait there .", "Go up the stairs. Wait there."),
        ("exit the room.  go left", "Exit the room.  go left"),  # only ". " + one lowercase letter
        ("", ""),
    ],
)
def test_training_normalisation(raw, normalised):
    assert normalize_instruction(raw) == normalised


@pytest.mark.parametrize(
    ("num_observations", "num_frames", "expected"),
    [
        (1, 8, [None] * 7 + [0]),  # first step: all history black
        (3, 8, [None] * 5 + [0, 1, 2]),  # L < N: black padding in front
        (8, 8, [0, 1, 2, 3, 4, 5, 6, 7]),  # L = N: every frame once
        (9, 8, [0, 1, 2, 3, 4, 5, 6, 8]),  # linspace(0, 8, 7, endpoint=False) = 0, 1.14, ... -> floor
        (20, 8, [0, 2, 5, 8, 10, 13, 16, 19]),  # 19/7 = 2.714 per slot
        (100, 8, [0, 14, 28, 42, 56, 70, 84, 99]),  # L >> N: 99/7 = 14.14 per slot
        (5, 2, [0, 4]),
        (5, 1, [4]),
    ],
)
def test_frame_indices_hand_checked(num_observations, num_frames, expected):
    assert sample_frame_indices(num_observations, num_frames) == expected


def _reference_rule(num_observations: int, num_frames: int) -> list:
    """The rule as stated in the reference, on a literal padded list (independent of the implementation)."""
    frames = list(range(num_observations))
    while len(frames) < num_frames:
        frames.insert(0, None)
    idx = np.linspace(0, len(frames) - 1, num=num_frames - 1, endpoint=False, dtype=int)
    return [frames[i] for i in idx] + [frames[-1]]


@given(st.integers(1, 600), st.integers(1, 32))
def test_frame_indices_match_the_reference_rule(num_observations, num_frames):
    indices = sample_frame_indices(num_observations, num_frames)
    assert indices == _reference_rule(num_observations, num_frames)
    real = [i for i in indices if i is not None]
    assert real == sorted(real) and real[-1] == num_observations - 1


@given(st.integers(1, 600), st.integers(2, 32), st.data())
def test_recent_frames_show_the_last_observations_and_navilas_rule_before_them(
    num_observations, num_frames, data
):
    recent = data.draw(st.integers(1, num_frames - 1))
    indices = sample_frame_indices(num_observations, num_frames, recent)
    assert len(indices) == num_frames
    shown = min(recent + 1, num_observations)  # the current observation and the r before it, when they exist
    assert indices[-shown:] == list(range(num_observations - shown, num_observations))
    older = num_observations - recent
    if older >= 1:  # the rest: NaVILA's rule over the observations before the recent window
        assert indices[: num_frames - recent] == _reference_rule(older, num_frames - recent)
    else:
        assert indices == [None] * (num_frames - num_observations) + list(range(num_observations))
    with pytest.raises(ValueError, match="recent_frames"):
        sample_frame_indices(num_observations, num_frames, num_frames)


def test_frame_indices_reject_empty_history():
    with pytest.raises(ValueError, match="num_observations"):
        sample_frame_indices(0)


def test_sample_frames_pads_with_black_frames_of_the_current_shape():
    frames = [np.full((6, 5, 3), 10 * (k + 1), dtype=np.uint8) for k in range(3)]
    sampled = sample_frames(frames, 8)
    assert len(sampled) == 8
    assert all(f.shape == (6, 5, 3) and f.dtype == np.uint8 for f in sampled)
    assert all(not f.any() for f in sampled[:5])
    assert [int(f[0, 0, 0]) for f in sampled[5:]] == [10, 20, 30]
    with pytest.raises(ValueError, match="empty"):
        sample_frames([], 8)


def test_previous_action_sentence_ends_the_prompt_and_mirrors():
    base = navigation_prompt("Walk to the sofa.", 8)
    assert navigation_prompt("Walk to the sofa.", 8, None) == base  # NaVILA's prompt by default
    told = navigation_prompt("Walk to the sofa.", 8, PreviousAction("turn left 45 degree"))
    assert told == base + " Your previous action was: turn left 45 degree."
    assert navigation_prompt("Walk.", 8, PreviousAction(None)).endswith("completed. You have not moved yet.")
    assert PreviousAction("turn left 15 degree").mirrored() == PreviousAction("turn right 15 degree")
    assert PreviousAction("move forward 50 cm").mirrored() == PreviousAction("move forward 50 cm")
    assert PreviousAction(None).mirrored() == PreviousAction(None)
    for bad in ("stop", "turn left 60 degree", "The next action is move forward 75 cm."):
        with pytest.raises(ValueError, match="not a move phrase"):
            PreviousAction(bad)


def test_compact_wording_keeps_the_frames_the_task_and_the_previous_move_only():
    # written out by hand, not built with the code under test
    assert navigation_prompt("Walk past the sofa.", 3, None, "compact") == (
        '<image>\n<image>\n<image>\n. Your assigned task is: "Walk past the sofa."'
    )
    told = navigation_prompt("Walk.", 8, PreviousAction("turn left 45 degree"), "compact")
    assert told.count("<image>\n") == 8 and told.endswith(
        '"Walk." Your previous action was: turn left 45 degree.'
    )
    assert len(navigation_prompt("Walk.", 8, None, "compact")) < len(navigation_prompt("Walk.", 8)) / 4
    assert NAVIGATION_PROMPTS == ("navila", "compact")
    with pytest.raises(ValueError, match=r"wording must be one of \('navila', 'compact'\), got 'short'"):
        navigation_prompt("Walk.", 8, None, "short")


def test_model_config_refuses_an_unknown_prompt_wording():
    from navagent.model import NavVLMConfig

    with pytest.raises(ValueError, match="navigation_prompt"):
        NavVLMConfig(vision_config={"model_type": "siglip_vision_model"}, navigation_prompt="short")
