"""NaVILA's navigation prompt and its frame-sampling rule (shared by training data and the agent).

The prompt (N = 8 frames by default) shows N−1 sampled history frames, then the current one::

    Imagine you are a robot programmed for navigation tasks. You have been given a video of historical
    observations <image>\\n…<image>\\n, and current observation <image>\\n. Your assigned task is:
    "{instruction}" Analyze this series of images to decide your next action, which could be turning left or
    right by a specific degree, moving forward a certain distance, or stop if the task is completed.

Training normalises the instruction (`normalize_instruction`); evaluation passes the raw episode text.

Our own models may use a shorter wording (``NavVLMConfig.navigation_prompt``, `NAVIGATION_PROMPTS`):
``"compact"`` keeps the frames and the task and drops the ~60 tokens of fixed text around them, which every
query repeats and which carry no information for a model trained on them (a quarter of a navigation sample's
tokens with our tokenizer, so a quarter of the language model's cost)::

    <image>\n…<image>\n. Your assigned task is: "{instruction}"

Our own models may also be told their previous move (``NavVLMConfig.previous_action_in_prompt``; NaVILA's
prompt has no such sentence and stays the default): `PreviousAction` appends "Your previous action was: turn
left 45 degree." (the move executed since the last decision, `navagent.agent.actions.previous_action`) or "You
have not moved yet." at the first decision. Frames alone do not show reliably which way the agent just turned;
without it a cloned policy undoes its own turns (left, right, left, ...).

Frame sampling: the history holds one frame per low-level simulator step (queued steps included), from the
episode's first observation to the current one (L frames). Fewer than N frames are padded at the front with
black frames to N; then ``idx = linspace(0, L' - 1, num=N - 1, endpoint=False, dtype=int)`` over the padded
length L' and the current frame is appended.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from navagent.agent.actions import PREVIOUS_ACTION_PHRASES, previous_action

DEFAULT_NUM_FRAMES = 8
IMAGE_PLACEHOLDER = "<image>"

_PROMPT_HEAD = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical "
    "observations "
)
_PROMPT_TAIL = (
    "Analyze this series of images to decide your next action, which could be turning left or right by a "
    "specific degree, moving forward a certain distance, or stop if the task is completed."
)


@dataclass(frozen=True)
class PreviousAction:
    """The move the agent made since its previous decision, as the prompt states it: ``phrase`` one of
    `PREVIOUS_ACTION_PHRASES` ("turn left 45 degree"), or None at the episode's first decision."""

    phrase: str | None

    def __post_init__(self) -> None:
        if self.phrase is not None and self.phrase not in PREVIOUS_ACTION_PHRASES:
            raise ValueError(
                f"PreviousAction: {self.phrase!r} is not a move phrase (one of {sorted(PREVIOUS_ACTION_PHRASES)})"
            )

    @classmethod
    def after(cls, steps: Sequence[int]) -> PreviousAction:
        """The move stated after the low-level ``steps`` executed since the previous decision
        (`navagent.agent.actions.previous_action`; no steps: the first decision)."""
        move = previous_action(steps)
        return cls(None if move is None else move.phrase)

    def sentence(self) -> str:
        return (
            "You have not moved yet." if self.phrase is None else f"Your previous action was: {self.phrase}."
        )

    def mirrored(self) -> PreviousAction:
        """The same move in the mirrored world (left and right swapped)."""
        return PreviousAction(None if self.phrase is None else mirror_left_right(self.phrase))


def _navila_prompt(history: str, instruction: str) -> str:
    return (
        f"{_PROMPT_HEAD}{history}, and current observation {IMAGE_PLACEHOLDER}\n. "
        f'Your assigned task is: "{instruction}" {_PROMPT_TAIL}'
    )


def _compact_prompt(history: str, instruction: str) -> str:
    return f'{history}{IMAGE_PLACEHOLDER}\n. Your assigned task is: "{instruction}"'


# The wordings of a navigation query (`NavVLMConfig.navigation_prompt`): (history placeholders, instruction)
# -> the prompt before any previous-action sentence.
_WORDINGS: dict[str, Callable[[str, str], str]] = {"navila": _navila_prompt, "compact": _compact_prompt}
NAVIGATION_PROMPTS: tuple[str, ...] = tuple(_WORDINGS)


def navigation_prompt(
    instruction: str,
    num_frames: int = DEFAULT_NUM_FRAMES,
    previous_action: PreviousAction | None = None,
    wording: str = "navila",
) -> str:
    """The user message of one navigation query, with ``num_frames`` `<image>` placeholders (history, then
    current). ``instruction`` is inserted as given (normalise it first for training data). ``previous_action``
    appends its sentence (module docstring); ``wording``: one of `NAVIGATION_PROMPTS` (module docstring).
    The defaults give NaVILA's prompt."""
    if not isinstance(instruction, str):
        raise TypeError(f"navigation_prompt: instruction must be a str, got {type(instruction).__name__}")
    _check_num_frames(num_frames)
    if wording not in _WORDINGS:
        raise ValueError(f"navigation_prompt: wording must be one of {NAVIGATION_PROMPTS}, got {wording!r}")
    prompt = _WORDINGS[wording](f"{IMAGE_PLACEHOLDER}\n" * (num_frames - 1), instruction)
    return prompt if previous_action is None else f"{prompt} {previous_action.sentence()}"


def normalize_instruction(text: str) -> str:
    """Training-time instruction clean-up, as NaVILA's VLN-CE dataset does it: line breaks become spaces,
    `str.capitalize()` (first letter upper, the rest lower), a capital after ". ", no space before ".".

    >>> normalize_instruction("walk past the TABLE .\\nturn left. stop")
    'Walk past the table. Turn left. Stop'
    """
    text = text.replace("\r\n", " ").replace("\n", " ")
    text = re.sub(r"(?<=\.\s)([a-z])", lambda m: m.group().upper(), text.capitalize())
    return re.sub(r"\s+\.", ".", text)


_LEFT_RIGHT = re.compile(r"\b(left|right|Left|Right|LEFT|RIGHT)\b")
_MIRRORED_WORD = {
    "left": "right",
    "right": "left",
    "Left": "Right",
    "Right": "Left",
    "LEFT": "RIGHT",
    "RIGHT": "LEFT",
}


def mirror_left_right(text: str) -> str:
    """The text of the mirrored world: every whole word "left" and "right" swapped (case kept). Used with
    frames flipped left-right for mirror augmentation (instructions and action sentences alike).

    >>> mirror_left_right("Turn left, then keep the sofa on your right. The next action is turn right 30 degree.")
    'Turn right, then keep the sofa on your left. The next action is turn left 30 degree.'
    """
    return _LEFT_RIGHT.sub(lambda m: _MIRRORED_WORD[m.group()], text)


def sample_frame_indices(
    num_observations: int, num_frames: int = DEFAULT_NUM_FRAMES, recent_frames: int = 0
) -> list[int | None]:
    """Which history frames the prompt shows: ``num_frames`` entries, each an index into the episode's
    frames (0 = first observation, ``num_observations - 1`` = current) or None for a black padding frame.

    NaVILA's rule (``recent_frames`` = 0): ``num_frames - 1`` frames spread evenly over the history, then the
    current one. With ``recent_frames`` = r > 0 the r observations just before the current one are always
    shown, and NaVILA's rule picks the other ``num_frames - r`` from the observations before them (its last
    pick is the newest of those), so the prompt ends with the current observation and the r before it: the
    model sees how its last action moved the view (r = 3 spans a 45° turn or a 75 cm move), which frames
    spread over a long history do not show.

    >>> sample_frame_indices(3, 8)
    [None, None, None, None, None, 0, 1, 2]
    >>> sample_frame_indices(20, 8)
    [0, 2, 5, 8, 10, 13, 16, 19]
    >>> sample_frame_indices(20, 8, recent_frames=2)
    [0, 3, 6, 10, 13, 17, 18, 19]
    """
    if isinstance(num_observations, bool) or not isinstance(num_observations, int) or num_observations < 1:
        raise ValueError(
            f"sample_frame_indices: num_observations must be an int >= 1, got {num_observations!r}"
        )
    _check_num_frames(num_frames)
    if (
        isinstance(recent_frames, bool)
        or not isinstance(recent_frames, int)
        or not 0 <= recent_frames < num_frames
    ):
        raise ValueError(
            f"sample_frame_indices: recent_frames must be an int in [0, num_frames), got {recent_frames!r}"
        )
    older = num_observations - recent_frames
    if older < 1:  # the whole episode fits in the recent window
        return [None] * (num_frames - num_observations) + list(range(num_observations))
    padding = max(0, num_frames - recent_frames - older)
    padded_length = older + padding
    sampled = np.linspace(0, padded_length - 1, num=num_frames - recent_frames - 1, endpoint=False, dtype=int)
    history = [None if i < padding else int(i) - padding for i in sampled]
    return [*history, *range(older - 1, num_observations)]


def sample_frames(
    frames: Sequence[np.ndarray], num_frames: int = DEFAULT_NUM_FRAMES, recent_frames: int = 0
) -> list[np.ndarray]:
    """The ``num_frames`` images of one prompt from an episode's frames (each (H, W, 3) uint8; chosen by
    `sample_frame_indices`); padding frames are black (zeros shaped like the current frame)."""
    if len(frames) == 0:
        raise ValueError("sample_frames: frames is empty (need at least the current observation)")
    indices = sample_frame_indices(len(frames), num_frames, recent_frames)
    black = np.zeros_like(frames[-1])
    return [black if i is None else frames[i] for i in indices]


def _check_num_frames(num_frames: int) -> None:
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be an int >= 1, got {num_frames!r}")
