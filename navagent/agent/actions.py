"""NaVILA's action language: model text ⇄ mid-level action ⇄ low-level simulator steps.

A mid-level action is what the model says ("move forward 50 cm"); it executes as a run of low-level VLN-CE
steps (MOVE_FORWARD = 25 cm, TURN_LEFT / TURN_RIGHT = 15°). The first step runs at once; the rest wait in a
per-environment `StepQueue` and run without querying the model.

The 10 outputs seen in training (`CANONICAL_OUTPUTS`) are::

    The next action is move forward {25|50|75} cm.
    The next action is turn {left|right} {15|30|45} degree.
    I think I should stop because I have finished the instruction.

`parse_action` follows NaVILA's evaluation parser (``evaluation/vlnce_baselines/navila_trainer.py``):

* the action is the first of these patterns (case-insensitive) that matches anywhere in the text:
  ``\\bstop\\b`` (so "stop" anywhere wins), ``\\bis move forward\\b``, ``\\bis turn left\\b``,
  ``\\bis turn right\\b``. The literal "is " is required: "move forward 50 cm" alone is not an action;
* the amount is the first match over the whole text of ``move forward (\\d+) cm`` or, for a turn, of
  ``turn left (\\d+) degree`` / ``turn right (\\d+) degree`` for the chosen direction (NaVILA's code searches
  per direction; these regexes are case-sensitive, so "MOVE FORWARD 75 CM" is forward with the default);
* no amount → 25 cm / 15°; an amount that is not a multiple of 25 cm (15°) snaps to the nearest of
  {25, 50, 75} ({15, 30, 45}) — so 80–90 cm and 110 cm snap to 75 cm; larger multiples pass through.

All 10 canonical outputs parse exactly as in NaVILA. Where we deliberately differ:

* Unparseable text (no action pattern) is **not** sent to the simulator: NaVILA passes ``None`` to
  ``env.step``. `parse_action` returns an invalid `ParseResult` (action ``None``) and the caller
  (`navagent.agent.policy.NavAgent`) counts it, logs the text and applies its documented fallback.
* Multiples beyond the cap are clamped: at most `MAX_FORWARD_CM` (300 cm = 12 steps) forward and
  `MAX_TURN_DEGREES` (180° = 12 steps) per turn. NaVILA executes e.g. "1000 cm" as 40 steps.
* 0 cm / 0° becomes one unit (25 cm / 15°). NaVILA also executes one step for 0, so the simulator sees the
  same thing; only the reported amount differs (25 instead of 0).
* Digit runs longer than 6 characters count as "absurdly large" and clamp to the cap (NaVILA's ``int()`` would
  raise on very long digit strings); `parse_action` never raises, whatever it is given.
"""

from __future__ import annotations

import operator
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from navagent.envs.base import Action

FORWARD_STEP_CM = 25
TURN_STEP_DEGREES = 15
FORWARD_CHOICES_CM = (25, 50, 75)
TURN_CHOICES_DEGREES = (15, 30, 45)
MAX_FORWARD_CM = 300
MAX_TURN_DEGREES = 180
_MAX_AMOUNT_DIGITS = 6

STOP_TEXT = "I think I should stop because I have finished the instruction."

_STEP_UNIT = {
    Action.MOVE_FORWARD: FORWARD_STEP_CM,
    Action.TURN_LEFT: TURN_STEP_DEGREES,
    Action.TURN_RIGHT: TURN_STEP_DEGREES,
}


@dataclass(frozen=True)
class MidLevelAction:
    """One action in the model's language.

    kind: the low-level `Action` it repeats. amount: centimetres for MOVE_FORWARD, degrees for turns (a
    positive multiple of 25 / 15), 0 for STOP.
    """

    kind: Action
    amount: int = 0

    def __post_init__(self) -> None:
        try:
            kind = Action(self.kind)
        except ValueError:
            raise ValueError(f"MidLevelAction.kind: {self.kind!r} is not an Action (0..3)") from None
        object.__setattr__(self, "kind", kind)
        if isinstance(self.amount, bool) or not hasattr(self.amount, "__index__"):
            raise ValueError(f"MidLevelAction.amount: expected an integer, got {self.amount!r}")
        object.__setattr__(self, "amount", operator.index(self.amount))
        if kind == Action.STOP:
            if self.amount != 0:
                raise ValueError(f"MidLevelAction.amount: STOP takes amount 0, got {self.amount}")
            return
        unit = _STEP_UNIT[kind]
        if self.amount <= 0 or self.amount % unit:
            raise ValueError(
                f"MidLevelAction.amount: {kind.name} needs a positive multiple of {unit}, got {self.amount}"
            )

    @property
    def num_steps(self) -> int:
        """Number of low-level simulator steps this action executes."""
        return 1 if self.kind == Action.STOP else self.amount // _STEP_UNIT[self.kind]

    @property
    def phrase(self) -> str:
        """The action in words, without the sentence around it: "move forward 75 cm", "turn left 45 degree",
        "stop"."""
        if self.kind == Action.STOP:
            return "stop"
        if self.kind == Action.MOVE_FORWARD:
            return f"move forward {self.amount} cm"
        direction = "left" if self.kind == Action.TURN_LEFT else "right"
        return f"turn {direction} {self.amount} degree"

    def to_text(self) -> str:
        """The sentence the model is trained to emit for this action (canonical for the 10 seen ones)."""
        return STOP_TEXT if self.kind == Action.STOP else f"The next action is {self.phrase}."

    def to_low_level(self) -> list[Action]:
        """The low-level steps (Action ints), e.g. forward 75 cm -> [MOVE_FORWARD] * 3; STOP -> [STOP]."""
        return [self.kind] * self.num_steps


CANONICAL_ACTIONS: tuple[MidLevelAction, ...] = (
    *(MidLevelAction(Action.MOVE_FORWARD, cm) for cm in FORWARD_CHOICES_CM),
    *(MidLevelAction(Action.TURN_LEFT, deg) for deg in TURN_CHOICES_DEGREES),
    *(MidLevelAction(Action.TURN_RIGHT, deg) for deg in TURN_CHOICES_DEGREES),
    MidLevelAction(Action.STOP),
)
CANONICAL_OUTPUTS: tuple[str, ...] = tuple(a.to_text() for a in CANONICAL_ACTIONS)
# What a previous action can be (`previous_action`): the canonical moves, in words.
PREVIOUS_ACTION_PHRASES: frozenset[str] = frozenset(
    a.phrase for a in CANONICAL_ACTIONS if a.kind != Action.STOP
)


@dataclass(frozen=True)
class ParseResult:
    """Outcome of `parse_action`: ``valid`` is True exactly when ``action`` is not None.

    reason: short human-readable note for logs ("default amount", "snapped 80 to 75", "no action phrase", ...).
    """

    action: MidLevelAction | None
    valid: bool
    reason: str


_STOP_PATTERN = re.compile(r"\bstop\b", re.IGNORECASE)
_KIND_PATTERNS = (
    (Action.MOVE_FORWARD, re.compile(r"\bis move forward\b", re.IGNORECASE)),
    (Action.TURN_LEFT, re.compile(r"\bis turn left\b", re.IGNORECASE)),
    (Action.TURN_RIGHT, re.compile(r"\bis turn right\b", re.IGNORECASE)),
)
_AMOUNT_PATTERNS = {  # case-sensitive, like NaVILA's
    Action.MOVE_FORWARD: re.compile(r"move forward (\d+) cm"),
    Action.TURN_LEFT: re.compile(r"turn left (\d+) degree"),
    Action.TURN_RIGHT: re.compile(r"turn right (\d+) degree"),
}


def parse_action(
    text: str, *, max_forward_cm: int = MAX_FORWARD_CM, max_turn_degrees: int = MAX_TURN_DEGREES
) -> ParseResult:
    """Map the model's output text to a `MidLevelAction` (rules in the module docstring). Never raises on
    any ``text``; caps that are not positive multiples of the step unit raise ValueError."""
    _check_cap("max_forward_cm", max_forward_cm, FORWARD_STEP_CM)
    _check_cap("max_turn_degrees", max_turn_degrees, TURN_STEP_DEGREES)
    if not isinstance(text, str):
        return ParseResult(None, False, f"not a string ({type(text).__name__})")
    if _STOP_PATTERN.search(text):
        return ParseResult(MidLevelAction(Action.STOP), True, "stop")
    kind = next((k for k, pattern in _KIND_PATTERNS if pattern.search(text)), None)
    if kind is None:
        return ParseResult(None, False, "no action phrase")
    match = _AMOUNT_PATTERNS[kind].search(text)
    if kind == Action.MOVE_FORWARD:
        amount, note = _resolve_amount(match, FORWARD_STEP_CM, FORWARD_CHOICES_CM, max_forward_cm)
    else:
        amount, note = _resolve_amount(match, TURN_STEP_DEGREES, TURN_CHOICES_DEGREES, max_turn_degrees)
    return ParseResult(MidLevelAction(kind, amount), True, note)


def _check_cap(name: str, cap: int, unit: int) -> None:
    if not isinstance(cap, int) or cap < unit or cap % unit:
        raise ValueError(f"parse_action: {name} must be a positive multiple of {unit}, got {cap!r}")


def _resolve_amount(match: re.Match | None, unit: int, choices: Sequence[int], cap: int) -> tuple[int, str]:
    """Amount stated in ``match`` (group 1, digits) -> (executable amount, note for the log)."""
    if match is None:
        return unit, "default amount"
    digits = match.group(1)
    if len(digits) > _MAX_AMOUNT_DIGITS:
        return cap, f"capped {digits[:_MAX_AMOUNT_DIGITS]}... to {cap}"
    stated = int(digits)
    if stated == 0:
        return unit, f"raised 0 to {unit}"
    if stated % unit:
        snapped = min(choices, key=lambda c: abs(c - stated))  # ties impossible for integers
        return snapped, f"snapped {stated} to {snapped}"
    if stated > cap:
        return cap, f"capped {stated} to {cap}"
    return stated, "ok"


def merge_low_level_steps(
    steps: Iterable[int],
    max_forward_cm: int = FORWARD_CHOICES_CM[-1],
    max_turn_degrees: int = TURN_CHOICES_DEGREES[-1],
) -> list[MidLevelAction]:
    """Group consecutive equal low-level steps into mid-level actions of at most the given size.

    Example: [F, F, F, F, L, STOP] -> [forward 75, forward 25, left 15, stop]. Each STOP is its own action.
    The inverse of concatenating `MidLevelAction.to_low_level` (used to label training data).
    """
    limits = {
        Action.MOVE_FORWARD: max_forward_cm,
        Action.TURN_LEFT: max_turn_degrees,
        Action.TURN_RIGHT: max_turn_degrees,
    }
    merged: list[MidLevelAction] = []
    for position, raw in enumerate(steps):
        try:
            step = Action(raw)
        except ValueError:
            raise ValueError(
                f"merge_low_level_steps: step {position} is {raw!r}, not an Action (0..3)"
            ) from None
        if step == Action.STOP:
            merged.append(MidLevelAction(Action.STOP))
            continue
        last = merged[-1] if merged else None
        unit = _STEP_UNIT[step]
        if last is not None and last.kind == step and last.amount + unit <= limits[step]:
            merged[-1] = MidLevelAction(step, last.amount + unit)
        else:
            merged.append(MidLevelAction(step, unit))
    return merged


class StepQueue:
    """Low-level steps of one environment's current mid-level action that have not run yet.

    `start(action)` returns the step to run now and queues the rest; `pop()` returns the next queued step;
    `clear()` drops everything (call it when the episode ends or the environment is reset).
    """

    def __init__(self) -> None:
        self._pending: deque[Action] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def __bool__(self) -> bool:
        return bool(self._pending)

    @property
    def pending(self) -> tuple[Action, ...]:
        return tuple(self._pending)

    def start(self, action: MidLevelAction) -> Action:
        """Queue ``action``'s steps after the first and return the first (to run now)."""
        if self._pending:
            raise RuntimeError(
                f"StepQueue.start: {len(self._pending)} steps of the previous action are still queued"
            )
        first, *rest = action.to_low_level()
        self._pending.extend(rest)
        return first

    def pop(self) -> Action:
        """Next queued step; IndexError when the queue is empty."""
        if not self._pending:
            raise IndexError("StepQueue.pop: no queued steps")
        return self._pending.popleft()

    def clear(self) -> None:
        self._pending.clear()


def previous_action(steps: Sequence[int]) -> MidLevelAction | None:
    """The move an agent made since its previous decision, from the low-level ``steps`` it executed since
    then: the last of their `merge_low_level_steps` (one action for any canonical decision), None for no
    steps (the episode's first decision). Training records (``"prev"``) and `NavAgent` both derive it so."""
    merged = merge_low_level_steps(steps)
    return merged[-1] if merged else None
