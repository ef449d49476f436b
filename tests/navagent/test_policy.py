"""NavAgent with the tiny random NavVLM: batching, the vision-feature cache, step queues, invalid output.

Two real models are used: the untrained tiny model (conftest's `tiny_model`; its output is gibberish that
depends on every frame, so it exercises the invalid-output fallback and makes equality checks sensitive to
any feature difference), and a copy trained here for a few dozen steps to answer "The next action is move
forward 75 cm." (valid actions, queued steps).
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch

from navagent.agent.policy import NavAgent
from navagent.agent.prompts import PreviousAction, navigation_prompt, sample_frame_indices
from navagent.envs.base import Action, Observation
from navagent.model import build_tiny_model

FORWARD_75 = "The next action is move forward 75 cm."
TRAINED_NUM_FRAMES = 4
FRAME_SHAPE = (40, 48, 3)
INSTRUCTIONS = ["walk to the kitchen", "go up the stairs and wait at the top", "exit the bedroom"]


@pytest.fixture(scope="module")
def forward_model(tiny_model_config_path, tiny_tokenizer, tiny_processor):
    """The tiny model fitted to answer FORWARD_75 to any navigation prompt (random frames)."""
    processor = tiny_processor
    model = build_tiny_model(tiny_model_config_path, tiny_tokenizer)
    instructions = [*INSTRUCTIONS, "go forward"]
    # with and without a previous-action sentence, so that a copy told its previous moves answers the same
    told = (None, PreviousAction(None), PreviousAction("move forward 75 cm"))
    conversations = [
        processor.tokenize_conversation(
            [
                {"role": "user", "content": navigation_prompt(text, TRAINED_NUM_FRAMES, previous)},
                {"role": "assistant", "content": FORWARD_75},
            ]
        )
        for text in instructions
        for previous in told
    ]
    batch = processor.pad([c.input_ids for c in conversations], padding_side="right")
    labels = torch.full_like(batch["input_ids"], -100)
    for row, conversation in enumerate(conversations):
        labels[row, : len(conversation.labels)] = torch.tensor(conversation.labels)
    rng = np.random.default_rng(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    for _ in range(40):
        frames = [random_frame(rng) for _ in range(TRAINED_NUM_FRAMES * len(conversations))]
        loss = model(**batch, pixel_values=processor.image_processor(frames), labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def random_frame(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, FRAME_SHAPE, dtype=np.uint8)


def make_episode_observations(seed: int, steps: int, episode_id: str, instruction: str) -> list[Observation]:
    """``steps`` observations of one synthetic episode (random frames, step counter 0..steps-1)."""
    rng = np.random.default_rng(seed)
    return [
        Observation(
            rgb=random_frame(rng),
            depth=None,
            position=np.zeros(3),
            heading=0.0,
            instruction=instruction,
            episode_id=episode_id,
            step=step,
        )
        for step in range(steps)
    ]


def summary(decision):
    return (decision.action, decision.queried, decision.text, decision.valid)


def test_batched_act_equals_one_environment_at_a_time(tiny_model, tiny_processor):
    steps = 5
    episodes = [make_episode_observations(i, steps, f"ep{i}", INSTRUCTIONS[i]) for i in range(3)]
    batched = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
    together = [[summary(d) for d in batched.act([ep[t] for ep in episodes])] for t in range(steps)]
    assert batched.stats.generate_calls == steps
    for env_index, episode in enumerate(episodes):
        alone = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
        for t in range(steps):
            (decision,) = alone.act([episode[t]], env_indices=[env_index])
            assert summary(decision) == together[t][env_index], f"env {env_index} step {t}"


def test_batched_equals_single_with_queues_and_staggered_episodes(forward_model, tiny_processor):
    """Envs join at t = 0, 2, 3: their 3-step queues are out of phase, so batches hold only some envs."""
    starts = {0: 0, 1: 2, 2: 3}
    episodes = {
        env: make_episode_observations(10 + env, 7 - start, f"s{env}", INSTRUCTIONS[env])
        for env, start in starts.items()
    }
    batched = NavAgent(forward_model, tiny_processor, num_frames=TRAINED_NUM_FRAMES)
    together = {env: [] for env in starts}
    batch_sizes = []
    for t in range(7):
        active = [env for env, start in starts.items() if t >= start]
        calls_before = batched.stats.generate_calls
        decisions = batched.act([episodes[env][t - starts[env]] for env in active], env_indices=active)
        for env, decision in zip(active, decisions):
            together[env].append(summary(decision))
        querying = [env for env, d in zip(active, decisions) if d.queried]
        batch_sizes.append(len(querying))
        assert batched.stats.generate_calls - calls_before == (1 if querying else 0)
    for env, episode in episodes.items():
        alone = NavAgent(forward_model, tiny_processor, num_frames=TRAINED_NUM_FRAMES)
        assert [summary(alone.act([obs])[0]) for obs in episode] == together[env], f"env {env}"
    # every env asks the model at its own steps 0, 3, 6 and runs the two queued forward steps in between
    for env in starts:
        assert [d[1] for d in together[env]] == [k % 3 == 0 for k in range(len(together[env]))]
    assert batch_sizes == [1, 0, 1, 2, 0, 1, 2]
    assert (
        batched.stats.generate_calls == 5 and batched.stats.queries == 7 and batched.stats.queued_steps == 9
    )
    assert batched.stats.invalid_outputs == 0


def test_queue_executes_mid_level_action_without_querying(forward_model, tiny_processor):
    agent = NavAgent(forward_model, tiny_processor, num_frames=TRAINED_NUM_FRAMES)
    episode = make_episode_observations(3, 4, "q", "go forward")
    first = agent.act([episode[0]])[0]
    assert first.queried and first.valid and first.text == FORWARD_75 and first.action == Action.MOVE_FORWARD
    assert agent.pending_steps(0) == (Action.MOVE_FORWARD, Action.MOVE_FORWARD)
    queued = [agent.act([obs])[0] for obs in episode[1:3]]
    assert all(not d.queried and d.text is None and d.valid for d in queued)
    assert [d.action for d in queued] == [Action.MOVE_FORWARD] * 2 and agent.pending_steps(0) == ()
    # the history holds the queued steps' frames too: the 4th query shows frames 0..3, 1 and 2 encoded now
    before = agent.stats.encoded_frames
    assert agent.act([episode[3]])[0].queried
    assert agent.history_length(0) == 4
    assert sample_frame_indices(4, TRAINED_NUM_FRAMES) == [0, 1, 2, 3]
    assert agent.stats.encoded_frames - before == 3


def test_reset_clears_history_queue_and_cache_and_is_the_only_way(forward_model, tiny_processor):
    agent = NavAgent(forward_model, tiny_processor, num_frames=TRAINED_NUM_FRAMES)
    first = make_episode_observations(4, 1, "one", "go forward")[0]
    agent.act([first])
    assert agent.pending_steps(0) and agent.history_length(0) == 1 and agent.cached_frame_count(0) == 2
    agent.reset(0)
    assert agent.pending_steps(0) == () and agent.history_length(0) == 0 and agent.cached_frame_count(0) == 0
    assert agent.act([first])[0].queried  # nothing left over from before the reset
    # another episode on the same env without a reset is the caller's error (no implicit reset)
    other = make_episode_observations(5, 1, "two", "go forward")[0]
    with pytest.raises(ValueError, match=r"env 0 got episode 'two' while it holds episode 'one'.*reset\(0\)"):
        agent.act([other])
    agent.reset(0)
    assert agent.act([other])[0].queried and agent.history_length(0) == 1


@pytest.mark.parametrize(("num_frames", "recent_frames"), [(8, 0), (TRAINED_NUM_FRAMES, 0), (8, 3)])
def test_feature_cache_gives_identical_decisions_and_encodes_each_frame_once(
    tiny_model, tiny_processor, num_frames, recent_frames
):
    """Also for a model whose prompts show the last observations (num_recent_frames): the agent samples its
    frames with the model config's rule."""
    if recent_frames:
        tiny_model = copy.deepcopy(tiny_model)
        tiny_model.config.num_recent_frames = recent_frames
    steps = 12
    episodes = [make_episode_observations(20 + i, steps, f"c{i}", INSTRUCTIONS[i]) for i in range(2)]
    cached = NavAgent(tiny_model, tiny_processor, num_frames=num_frames, max_consecutive_invalid=None)
    uncached = NavAgent(
        tiny_model,
        tiny_processor,
        num_frames=num_frames,
        use_feature_cache=False,
        max_consecutive_invalid=None,
    )
    per_step_cached, per_step_uncached = [], []
    for t in range(steps):
        observations = [ep[t] for ep in episodes]
        before = (cached.stats.encoded_frames, uncached.stats.encoded_frames)
        with_cache = [summary(d) for d in cached.act(observations)]
        without_cache = [summary(d) for d in uncached.act(observations)]
        assert with_cache == without_cache, f"step {t}"
        per_step_cached.append(cached.stats.encoded_frames - before[0])
        per_step_uncached.append(uncached.stats.encoded_frames - before[1])
    # every step queries (the fallback turn is one step): uncached encodes N frames per env per step
    assert per_step_uncached == [2 * num_frames] * steps
    # cached: each distinct (env, frame) shown so far is encoded exactly once (black frames count once)
    seen: set = set()
    expected = []
    for t in range(steps):
        new = {key for key in sample_frame_indices(t + 1, num_frames, recent_frames)} - seen
        seen |= new
        expected.append(2 * len(new))
    assert per_step_cached == expected
    if num_frames == 8 and not recent_frames:
        assert expected[:3] == [4, 2, 2]  # black + first frame, then only the current frame
    assert cached.cached_frame_count(0) == len(seen)


def test_invalid_output_falls_back_to_turn_then_stops(tiny_model, tiny_processor, caplog):
    agent = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=3)
    episode = make_episode_observations(30, 4, "bad", "walk to the kitchen")
    with caplog.at_level(logging.WARNING, logger="navagent.agent.policy"):
        decisions = [agent.act([obs])[0] for obs in episode[:3]]
    assert all(d.queried and not d.valid for d in decisions)
    assert [d.action for d in decisions] == [Action.TURN_LEFT, Action.TURN_LEFT, Action.STOP]
    assert agent.stats.invalid_outputs == 3 and agent.stats.fallback_stops == 1
    assert len(caplog.records) == 3
    assert all("unparseable model output" in r.getMessage() for r in caplog.records)
    assert "fallback stop" in caplog.records[2].getMessage()
    assert repr(decisions[0].text) in caplog.records[0].getMessage()
    never_stops = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
    assert [never_stops.act([obs])[0].action for obs in episode] == [Action.TURN_LEFT] * 4


def test_instruction_override_and_argument_errors(tiny_model, tiny_processor):
    agent = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
    obs = make_episode_observations(40, 1, "e", "walk to the kitchen")[0]
    overridden = agent.act([obs], instructions=["exit the bedroom"])[0].text
    reference = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
    same_text = make_episode_observations(40, 1, "e", "exit the bedroom")[0]
    assert reference.act([same_text])[0].text == overridden
    with pytest.raises(ValueError, match="lengths must match"):
        agent.act([obs], env_indices=[0, 1])
    with pytest.raises(ValueError, match="distinct"):
        agent.act([obs, obs], env_indices=[3, 3])
    bad = Observation(np.zeros((4, 4), np.uint8), None, np.zeros(3), 0.0, "x", "e", 1)
    with pytest.raises(ValueError, match=r"env 5 observation.rgb must be \(H, W, 3\) uint8"):
        agent.act([bad], env_indices=[5])
    with pytest.raises(ValueError, match="max_consecutive_invalid"):
        NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=0)
    with pytest.raises(ValueError, match="num_frames"):
        NavAgent(tiny_model, tiny_processor, num_frames=0)


def test_describe_matches_the_closed_loop_queries(tiny_model, tiny_processor):
    """describe(frames so far) gives the same text the agent produced when it queried at that step."""
    episode = make_episode_observations(7, 10, "ep", INSTRUCTIONS[0])
    agent = NavAgent(tiny_model, tiny_processor, max_consecutive_invalid=None)
    queried = [(t, d.text) for t in range(10) for d in agent.act([episode[t]]) if d.queried]
    assert len(queried) >= 3
    frames = [[o.rgb for o in episode[: t + 1]] for t, _ in queried]
    stateless = NavAgent(tiny_model, tiny_processor)
    assert stateless.describe(frames, [INSTRUCTIONS[0]] * len(frames)) == [text for _, text in queried]
    assert stateless.stats.queries == 0 and stateless.history_length(0) == 0
    assert stateless.describe([], []) == []
    with pytest.raises(ValueError, match="2 frame histories but 1 instructions"):
        stateless.describe(frames[:2], INSTRUCTIONS[:1])


def test_previous_action_prompt_states_the_move_since_the_last_query(
    tiny_model, forward_model, tiny_processor
):
    """A model with previous_action_in_prompt is told the move executed since its last query: nothing at the
    first, the fallback turn (one step) after an unparseable output, forward 75 after three queued steps."""
    told = copy.deepcopy(tiny_model)
    told.config.previous_action_in_prompt = True
    episode = make_episode_observations(11, 6, "ep", INSTRUCTIONS[1])
    agent = NavAgent(told, tiny_processor, max_consecutive_invalid=None)
    texts = [agent.act([o])[0].text for o in episode]  # every output is unparseable: turn left 15, one step
    frames = [[o.rgb for o in episode[: t + 1]] for t in range(len(episode))]
    previous = [None] + ["turn left 15 degree"] * (len(episode) - 1)
    stateless = NavAgent(told, tiny_processor)
    assert stateless.describe(frames, [INSTRUCTIONS[1]] * len(frames), previous) == texts
    # the sentence reaches the model: other previous moves give other outputs
    assert stateless.describe(frames, [INSTRUCTIONS[1]] * len(frames), [None] * len(frames)) != texts
    with pytest.raises(ValueError, match="previous_actions must be given exactly when"):
        stateless.describe(frames, [INSTRUCTIONS[1]] * len(frames))
    with pytest.raises(ValueError, match="previous_actions must be given exactly when"):
        NavAgent(tiny_model, tiny_processor).describe(frames[:1], INSTRUCTIONS[:1], [None])
    # valid actions: the queued steps count into the move
    forward = copy.deepcopy(forward_model)
    forward.config.previous_action_in_prompt = True
    walker = NavAgent(forward, tiny_processor, num_frames=TRAINED_NUM_FRAMES)
    episode = make_episode_observations(12, 4, "fw", INSTRUCTIONS[0])
    decisions = [walker.act([o])[0] for o in episode]
    assert [d.queried for d in decisions] == [True, False, False, True]
    frames = [[o.rgb for o in episode[: t + 1]] for t in (0, 3)]
    expected = NavAgent(forward, tiny_processor, num_frames=TRAINED_NUM_FRAMES).describe(
        frames, [INSTRUCTIONS[0]] * 2, [None, "move forward 75 cm"]
    )
    assert expected == [decisions[0].text, decisions[3].text]
