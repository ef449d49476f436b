"""Action language: parser table (NaVILA's observed behaviour + our documented differences), fuzzing,
canonical round trips, low-level expansion, merging and the step queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from navagent.agent.actions import (
    CANONICAL_ACTIONS,
    CANONICAL_OUTPUTS,
    MAX_FORWARD_CM,
    MAX_TURN_DEGREES,
    PREVIOUS_ACTION_PHRASES,
    MidLevelAction,
    ParseResult,
    StepQueue,
    merge_low_level_steps,
    parse_action,
    previous_action,
)
from navagent.envs.base import Action

F, L, R, S = Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT, Action.STOP


def test_the_ten_canonical_outputs_verbatim():
    assert CANONICAL_OUTPUTS == (
        "The next action is move forward 25 cm.",
        "The next action is move forward 50 cm.",
        "The next action is move forward 75 cm.",
        "The next action is turn left 15 degree.",
        "The next action is turn left 30 degree.",
        "The next action is turn left 45 degree.",
        "The next action is turn right 15 degree.",
        "The next action is turn right 30 degree.",
        "The next action is turn right 45 degree.",
        "I think I should stop because I have finished the instruction.",
    )


@pytest.mark.parametrize("action", CANONICAL_ACTIONS, ids=lambda a: a.to_text())
def test_canonical_round_trip_text_action_text(action):
    result = parse_action(action.to_text())
    assert result == ParseResult(action, True, "stop" if action.kind == S else "ok")
    assert result.action.to_text() == action.to_text()


# (text, expected kind or None, expected low-level step count) — NaVILA's behaviour unless marked "ours".
PARSER_TABLE = [
    ("The next action is move forward 50 cm.", F, 2),
    ("the next action is move forward 75 cm", F, 3),
    ("The next action is MOVE FORWARD 75 CM.", F, 1),  # amount regex is case-sensitive -> default 25
    ("The next action is move forward.", F, 1),  # no amount -> 25 cm
    ("The next action is move forward 30 cm.", F, 1),  # snaps to 25
    ("The next action is move forward 40 cm.", F, 2),  # snaps to 50
    ("The next action is move forward 85 cm.", F, 3),  # 80-90 snap to 75
    ("The next action is move forward 110 cm.", F, 3),  # non-multiple beyond 75 snaps to 75
    ("The next action is move forward 100 cm.", F, 4),  # larger multiples pass through
    ("The next action is move forward 0 cm.", F, 1),  # one step (NaVILA too); ours reports 25 cm
    ("The next action is move forward 1000 cm.", F, MAX_FORWARD_CM // 25),  # ours: capped (NaVILA: 40)
    ("The next action is move forward " + "9" * 5000 + " cm.", F, MAX_FORWARD_CM // 25),  # ours: no crash
    ("The next action is turn left 30 degree.", L, 2),
    ("The next action is turn right 45 degrees.", R, 3),  # "degree" prefix of "degrees" matches
    ("The next action is turn left 20 degree.", L, 1),  # snaps to 15
    ("The next action is turn left 23 degree.", L, 2),  # snaps to 30
    ("The next action is turn right 90 degree.", R, 6),
    ("The next action is turn right 720 degree.", R, MAX_TURN_DEGREES // 15),  # ours: capped
    ("The next action is turn left, then turn right 45 degree.", L, 1),  # amount searched per direction
    ("The next action is turn left.", L, 1),
    ("I think I should stop because I have finished the instruction.", S, 1),
    ("The next action is move forward 25 cm. Then STOP.", S, 1),  # stop anywhere wins
    ("Stop", S, 1),
    ("nonstop forward", None, 0),  # \bstop\b needs word boundaries
    ("move forward 50 cm", None, 0),  # the literal "is " is required
    ("turn left 30 degree", None, 0),
    ("The next action is turn around.", None, 0),
    ("", None, 0),
    ("   \n\t", None, 0),
    ("<|eot_id|>", None, 0),
    ("The next action is move backward 25 cm.", None, 0),
]


@pytest.mark.parametrize(("text", "kind", "steps"), PARSER_TABLE)
def test_parser_table(text, kind, steps):
    result = parse_action(text)
    if kind is None:
        assert result.action is None and result.valid is False and result.reason == "no action phrase"
    else:
        assert result.valid and result.action.kind == kind
        assert len(result.action.to_low_level()) == steps
        assert set(result.action.to_low_level()) == {kind}


def test_parser_reasons_name_what_happened():
    assert parse_action("The next action is move forward 85 cm.").reason == "snapped 85 to 75"
    assert (
        parse_action("The next action is move forward 1000 cm.").reason == f"capped 1000 to {MAX_FORWARD_CM}"
    )
    assert parse_action("The next action is turn left.").reason == "default amount"
    assert parse_action("The next action is turn left 0 degree.").reason == "raised 0 to 15"


@pytest.mark.parametrize("bad", [None, 42, b"The next action is move forward 25 cm."])
def test_non_string_input_is_an_invalid_result_not_an_exception(bad):
    result = parse_action(bad)
    assert result.action is None and not result.valid and "not a string" in result.reason


def test_custom_caps_and_their_validation():
    assert parse_action("The next action is move forward 500 cm.", max_forward_cm=1000).action.amount == 500
    assert parse_action("The next action is turn left 90 degree.", max_turn_degrees=45).action.amount == 45
    with pytest.raises(ValueError, match="max_forward_cm"):
        parse_action("x", max_forward_cm=30)
    with pytest.raises(ValueError, match="max_turn_degrees"):
        parse_action("x", max_turn_degrees=0)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_never_raises_and_is_consistent(text):
    result = parse_action(text)
    assert isinstance(result, ParseResult)
    assert result.valid == (result.action is not None)
    if result.valid:
        steps = result.action.to_low_level()
        assert 1 <= len(steps) <= max(MAX_FORWARD_CM // 25, MAX_TURN_DEGREES // 15)
    else:
        assert result.reason


_phrase = st.sampled_from(["is move forward", "is turn left", "is turn right", "stop", "move forward", "cm"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_phrase, st.integers(0, 10**9).map(str), st.text(max_size=5)), max_size=12))
def test_fuzz_near_miss_sentences(parts):
    text = " ".join(parts)
    result = parse_action(text)
    assert result.valid == (result.action is not None)
    if "stop" in parts:
        assert result.action.kind == S


def test_low_level_expansion_uses_action_ints():
    assert MidLevelAction(F, 75).to_low_level() == [1, 1, 1]
    assert MidLevelAction(L, 30).to_low_level() == [2, 2]
    assert MidLevelAction(R, 15).to_low_level() == [3]
    assert MidLevelAction(S).to_low_level() == [0]


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [(S, 25, "STOP takes amount 0"), (F, 30, "multiple of 25"), (L, 0, "multiple of 15"), (7, 0, "not an Action"),
     (F, 25.0, "expected an integer"), (F, True, "expected an integer")],
)  # fmt: skip
def test_mid_level_action_validation(kind, amount, message):
    with pytest.raises(ValueError, match=message):
        MidLevelAction(kind, amount)


def test_merge_low_level_steps_groups_up_to_the_limits():
    steps = [F, F, F, F, L, L, L, L, R, F, S]
    assert merge_low_level_steps(steps) == [
        MidLevelAction(F, 75), MidLevelAction(F, 25), MidLevelAction(L, 45), MidLevelAction(L, 15),
        MidLevelAction(R, 15), MidLevelAction(F, 25), MidLevelAction(S),
    ]  # fmt: skip
    flattened = [step for action in merge_low_level_steps(steps) for step in action.to_low_level()]
    assert flattened == steps
    with pytest.raises(ValueError, match="step 1 is 9"):
        merge_low_level_steps([F, 9])


def test_step_queue_runs_first_step_now_and_queues_the_rest():
    queue = StepQueue()
    assert queue.start(MidLevelAction(F, 75)) == F
    assert len(queue) == 2 and queue.pending == (F, F)
    with pytest.raises(RuntimeError, match="still queued"):
        queue.start(MidLevelAction(L, 15))
    assert [queue.pop(), queue.pop()] == [F, F]
    assert not queue
    with pytest.raises(IndexError):
        queue.pop()
    assert queue.start(MidLevelAction(S)) == S and not queue


def test_step_queue_clear_drops_pending_steps():
    queue = StepQueue()
    queue.start(MidLevelAction(R, 45))
    queue.clear()
    assert len(queue) == 0
    assert queue.start(MidLevelAction(L, 15)) == L


def test_phrase_is_the_sentence_without_its_frame_and_previous_action_is_the_last_move():
    for action in CANONICAL_ACTIONS:
        if action.kind != S:
            assert action.to_text() == f"The next action is {action.phrase}."
            assert parse_action(action.to_text()).action == action
    assert MidLevelAction(S).phrase == "stop" and "stop" not in PREVIOUS_ACTION_PHRASES
    assert len(PREVIOUS_ACTION_PHRASES) == 9
    assert previous_action([]) is None
    assert previous_action([L, L, L]) == MidLevelAction(L, 45)
    assert previous_action([F, F]) == MidLevelAction(F, 50)
    # more than one mid-level action's steps (e.g. "turn left 90 degree"): the last of the merge
    assert previous_action([L] * 6) == MidLevelAction(L, 45)
    assert previous_action([F, F, F, F]) == MidLevelAction(F, 25)
