"""`NavAgent`: a NaVILA-style navigation policy over many environments at once.

Per environment the agent keeps the episode's frame history (one frame per low-level step, queued steps
included), the low-level step queue of the current mid-level action, and a cache of projected vision
features keyed by frame index (black padding frames share one entry). Each `act` call:

1. appends every observation's frame to its environment's history (and, for a model with
   ``previous_action_in_prompt``, the prompt states the move executed since the environment's last query,
   `prompts.PreviousAction`); ``reset(env_index)`` starts a fresh one
   (the caller resets between episodes — the runner does at every episode start; NaVILA never clears its
   queue between episodes; we do) and an observation of another episode without a reset is an error;
2. answers environments whose queue still holds steps from the queue, without the model;
3. for the others, samples N frames (`prompts.sample_frame_indices`), encodes only frames whose features are
   not cached yet (all in one vision-encoder batch), and runs **one** batched greedy `generate` call;
4. parses each output (`actions.parse_action`); the first step runs now, the rest are queued.

Unparseable output never reaches a simulator. It is counted (`AgentStats.invalid_outputs`), logged with the
text, and replaced by the fallback: turn left 15° (one step, no motion, so no collision; the next query sees a
new view). After ``max_consecutive_invalid`` unparseable outputs in a row within an episode (default 3) the
agent stops instead, so a broken model ends its episodes rather than spinning until the step limit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from navagent.agent.actions import MidLevelAction, StepQueue, parse_action
from navagent.agent.decision import Decision
from navagent.agent.prompts import PreviousAction, navigation_prompt, sample_frame_indices, sample_frames
from navagent.envs.base import Action, Observation

logger = logging.getLogger(__name__)

INVALID_OUTPUT_FALLBACK = MidLevelAction(Action.TURN_LEFT, 15)
FrameKey = int | None  # index into the episode's frames; None = black padding frame


@dataclass
class AgentStats:
    """Counters since construction (or `reset_stats`)."""

    steps: int = 0  # decisions returned
    queries: int = 0  # decisions that asked the model
    queued_steps: int = 0  # decisions served from a step queue
    generate_calls: int = 0  # batched generate calls
    encoded_frames: int = 0  # frames passed through the vision encoder
    invalid_outputs: int = 0  # unparseable model outputs (fallback used)
    fallback_stops: int = 0  # of those, how many became STOP (too many in a row)


@dataclass
class _EpisodeState:
    """One environment's episode: frames (each (H, W, 3) uint8), step queue, feature cache {key: (T, D)},
    the low-level steps returned since the last query (``moves``) and the tokenised prompts by
    (instruction, previous move)."""

    episode_id: str | None = None
    frames: list[np.ndarray] = field(default_factory=list)
    queue: StepQueue = field(default_factory=StepQueue)
    features: dict[FrameKey, torch.Tensor] = field(default_factory=dict)
    moves: list[int] = field(default_factory=list)
    prompt_ids: dict[tuple[str, PreviousAction | None], list[int]] = field(default_factory=dict)
    consecutive_invalid: int = 0


@dataclass
class _Query:
    env_index: int
    keys: list[FrameKey]
    prompt_ids: list[int]


class NavAgent:
    """Batched NaVILA-style agent.

    Args:
        model: a `NavVLMForCausalLM` (`encode_images`, `generate(image_features=...)`).
        processor: its `NavVLMProcessor` (chat format, `<image>`-aware tokenisation, image preprocessing).
        num_frames: frames per prompt, N (None: the model config's num_video_frames; NaVILA: 8).
        max_new_tokens: generation budget per query (NaVILA: 32).
        use_feature_cache: reuse each frame's projected features within an episode (False: encode all N
            frames of every prompt, as NaVILA does; the actions are the same).
        max_consecutive_invalid: unparseable outputs in a row that make the agent STOP (None: never).
        max_encode_batch: most frames per vision-encoder forward pass.
    """

    def __init__(
        self,
        model,
        processor,
        num_frames: int | None = None,
        max_new_tokens: int = 32,
        use_feature_cache: bool = True,
        max_consecutive_invalid: int | None = 3,
        max_encode_batch: int = 64,
    ):
        if max_consecutive_invalid is not None and max_consecutive_invalid < 1:
            raise ValueError(f"max_consecutive_invalid must be >= 1 or None, got {max_consecutive_invalid}")
        if max_new_tokens < 1 or max_encode_batch < 1:
            raise ValueError("max_new_tokens and max_encode_batch must be >= 1")
        num_frames = model.config.num_video_frames if num_frames is None else num_frames
        sample_frame_indices(1, num_frames)  # validates num_frames
        self.model = model
        self.processor = processor
        self.num_frames = num_frames
        self.recent_frames = model.config.num_recent_frames
        self.previous_action_in_prompt = model.config.previous_action_in_prompt
        self.prompt_wording = model.config.navigation_prompt
        self.max_new_tokens = max_new_tokens
        self.use_feature_cache = use_feature_cache
        self.max_consecutive_invalid = max_consecutive_invalid
        self.max_encode_batch = max_encode_batch
        self.stats = AgentStats()
        self._envs: dict[int, _EpisodeState] = {}
        self._stop_token_ids = list(processor.stop_token_ids) or None  # read once: builds the vocab dict

    # ---- episode bookkeeping ----
    def reset(self, env_index: int | None = None) -> None:
        """Forget environment ``env_index``'s history, queued steps and cached features (None: all)."""
        if env_index is None:
            self._envs.clear()
        else:
            self._envs.pop(env_index, None)

    def reset_stats(self) -> None:
        self.stats = AgentStats()

    def history_length(self, env_index: int) -> int:
        """Frames in the environment's current episode history."""
        return len(self._envs[env_index].frames) if env_index in self._envs else 0

    def pending_steps(self, env_index: int) -> tuple[Action, ...]:
        """Low-level steps queued for the environment."""
        return self._envs[env_index].queue.pending if env_index in self._envs else ()

    def cached_frame_count(self, env_index: int) -> int:
        """Frames whose features are cached for the environment's episode (the black frame counts once)."""
        return len(self._envs[env_index].features) if env_index in self._envs else 0

    # ---- acting ----
    def act(
        self,
        observations: Sequence[Observation],
        env_indices: Sequence[int] | None = None,
        instructions: Sequence[str] | None = None,
    ) -> list[Decision]:
        """One decision per observation. ``env_indices`` names each observation's environment (default
        0..B-1); ``instructions`` overrides ``Observation.instruction`` (passed raw, as in NaVILA's eval)."""
        env_indices = list(range(len(observations))) if env_indices is None else list(env_indices)
        instructions = [o.instruction for o in observations] if instructions is None else list(instructions)
        if not len(env_indices) == len(instructions) == len(observations):
            raise ValueError(
                f"act: {len(observations)} observations, {len(env_indices)} env_indices, "
                f"{len(instructions)} instructions: the lengths must match"
            )
        if len(set(env_indices)) != len(env_indices):
            raise ValueError(f"act: env_indices must be distinct, got {env_indices}")

        decisions: dict[int, Decision] = {}
        queries: list[_Query] = []
        for env_index, observation, instruction in zip(env_indices, observations, instructions):
            state = self._record_observation(env_index, observation)
            if state.queue:
                decisions[env_index] = self._queued_decision(state)
            else:
                keys = sample_frame_indices(len(state.frames), self.num_frames, self.recent_frames)
                queries.append(_Query(env_index, keys, self._prompt_ids(state, instruction)))
        if queries:
            for query, text in zip(queries, self._generate(queries)):
                decisions[query.env_index] = self._decide(query.env_index, text)
        self.stats.steps += len(env_indices)
        return [decisions[i] for i in env_indices]

    def describe(
        self,
        frame_histories: Sequence[Sequence[np.ndarray]],
        instructions: Sequence[str],
        previous_actions: Sequence[str | None] | None = None,
    ) -> list[str]:
        """One stateless query per history: the model's raw output text for ``instructions[i]`` given
        ``frame_histories[i]`` (the episode's frames so far, each (H, W, 3) uint8, the last is the current
        view; any sequence type: only the sampled frames are read), with the same frame sampling, prompt and
        greedy decoding as `act`; ``previous_actions[i]``: the move phrase before it (None: the first
        decision), required exactly when the model's prompt states it. Touches no episode state (for offline
        evaluation on recorded trajectories)."""
        if len(frame_histories) != len(instructions):
            raise ValueError(
                f"describe: {len(frame_histories)} frame histories but {len(instructions)} instructions"
            )
        if (previous_actions is not None) != self.previous_action_in_prompt:
            raise ValueError(
                "describe: previous_actions must be given exactly when the model's prompt states the previous "
                f"action (previous_action_in_prompt={self.previous_action_in_prompt})"
            )
        if previous_actions is not None and len(previous_actions) != len(instructions):
            raise ValueError(
                f"describe: {len(previous_actions)} previous actions but {len(instructions)} instructions"
            )
        if not frame_histories:
            return []
        prompts, frames = [], []
        for index, (history, instruction) in enumerate(zip(frame_histories, instructions)):
            frames.extend(sample_frames(history, self.num_frames, self.recent_frames))
            previous = None if previous_actions is None else PreviousAction(previous_actions[index])
            prompts.append(self._tokenized_prompt(instruction, previous))
        return self._generate_from(prompts, list(self._encode(frames)))

    def _record_observation(self, env_index: int, observation: Observation) -> _EpisodeState:
        rgb = observation.rgb
        if not (
            isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        ):
            shape = getattr(rgb, "shape", None)
            raise ValueError(f"act: env {env_index} observation.rgb must be (H, W, 3) uint8, got {shape}")
        state = self._envs.get(env_index)
        if state is None:
            state = self._envs[env_index] = _EpisodeState(episode_id=observation.episode_id)
        elif state.episode_id != observation.episode_id:
            raise ValueError(
                f"act: env {env_index} got episode {observation.episode_id!r} while it holds episode "
                f"{state.episode_id!r}: call reset({env_index}) between episodes"
            )
        if state.frames and state.frames[0].shape != rgb.shape:
            raise ValueError(
                f"act: env {env_index} frame shape changed mid-episode: {state.frames[0].shape} -> {rgb.shape}"
            )
        state.frames.append(rgb.copy())
        return state

    def _queued_decision(self, state: _EpisodeState) -> Decision:
        self.stats.queued_steps += 1
        step = int(state.queue.pop())
        state.moves.append(step)
        return Decision(step)

    def _prompt_ids(self, state: _EpisodeState, instruction: str) -> list[int]:
        """The environment's next query, tokenised (cached per instruction and previous move)."""
        previous = PreviousAction.after(state.moves) if self.previous_action_in_prompt else None
        key = (instruction, previous)
        if key not in state.prompt_ids:
            state.prompt_ids[key] = self._tokenized_prompt(instruction, previous)
        return state.prompt_ids[key]

    def _tokenized_prompt(self, instruction: str, previous: PreviousAction | None = None) -> list[int]:
        """The chat-formatted navigation query for ``instruction`` (and the previous move, for a model that
        is told it), tokenised (with N image slots)."""
        return self.processor.tokenize(
            self.processor.user_prompt(
                navigation_prompt(instruction, self.num_frames, previous, self.prompt_wording)
            )
        )

    def _decide(self, env_index: int, text: str) -> Decision:
        state = self._envs[env_index]
        result = parse_action(text)
        self.stats.queries += 1
        if result.valid:
            state.consecutive_invalid = 0
            return self._start(state, result.action, text, True)
        state.consecutive_invalid += 1
        self.stats.invalid_outputs += 1
        give_up = (
            self.max_consecutive_invalid is not None
            and state.consecutive_invalid >= self.max_consecutive_invalid
        )
        self.stats.fallback_stops += int(give_up)
        fallback = f"{result.reason}; fallback {'stop' if give_up else 'turn left 15'}"
        logger.warning(
            "env %d episode %s: unparseable model output %r (%s)", env_index, state.episode_id, text, fallback
        )
        action = MidLevelAction(Action.STOP) if give_up else INVALID_OUTPUT_FALLBACK
        return self._start(state, action, text, False)

    def _start(self, state: _EpisodeState, action: MidLevelAction, text: str, valid: bool) -> Decision:
        """Queue ``action``'s steps and return its first; the moves since this query start with it."""
        step = int(state.queue.start(action))
        state.moves = [step]
        return Decision(step, text, valid)

    # ---- model calls ----
    def _generate(self, queries: list[_Query]) -> list[str]:
        """One batched generate over the querying environments; returns their output texts."""
        return self._generate_from([q.prompt_ids for q in queries], self._image_features(queries))

    def _generate_from(self, prompts: list[list[int]], features: list[torch.Tensor]) -> list[str]:
        """Greedy generation for prompts (token ids with image slots) and their slots' (T, D) features."""
        batch = self.processor.pad(prompts, padding_side="left")
        device = self.model.get_input_embeddings().weight.device
        new_tokens = self.model.generate(
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            image_features=features,
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            eos_token_id=self._stop_token_ids,
            pad_token_id=self.processor.tokenizer.pad_token_id,
        )
        self.stats.generate_calls += 1
        return self.processor.batch_decode(new_tokens)

    def _image_features(self, queries: list[_Query]) -> list[torch.Tensor]:
        """Per image slot, in reading order over the batch: (T, D) features, encoding only what is missing."""
        if not self.use_feature_cache:
            frames = [self._frame(q.env_index, key) for q in queries for key in q.keys]
            return list(self._encode(frames))
        missing: dict[tuple[int, FrameKey], np.ndarray] = {}
        for q in queries:
            cache = self._envs[q.env_index].features
            for key in q.keys:
                if key not in cache and (q.env_index, key) not in missing:
                    missing[(q.env_index, key)] = self._frame(q.env_index, key)
        if missing:
            for (env_index, key), encoded in zip(missing, self._encode(list(missing.values()))):
                self._envs[env_index].features[key] = encoded
        return [self._envs[q.env_index].features[key] for q in queries for key in q.keys]

    def _frame(self, env_index: int, key: FrameKey) -> np.ndarray:
        frames = self._envs[env_index].frames
        return np.zeros_like(frames[-1]) if key is None else frames[key]

    @torch.no_grad()
    def _encode(self, frames: list[np.ndarray]) -> torch.Tensor:
        """frames (each (H, W, 3) uint8) -> projected features (N, T, D), in chunks of max_encode_batch."""
        chunks = []
        for start in range(0, len(frames), self.max_encode_batch):
            pixel_values = self.processor.image_processor(frames[start : start + self.max_encode_batch])
            chunks.append(self.model.encode_images(pixel_values))
        self.stats.encoded_frames += len(frames)
        return torch.cat(chunks)
