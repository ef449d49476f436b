"""Which answer tokens carry a navigation decision, and how much each answer's tokens weigh in the loss.

A navigation answer is one of the action language's canonical sentences ("The next action is move forward
75 cm.", ..., the STOP sentence). Most of its tokens are fixed once the decision is made: "The next action
is" and the closing tokens are the same for nine of the ten sentences, so a token-averaged loss of 0.2 can
still mean ~2 nats per decision — the label prior. `AnswerTokens` finds the tokens where the canonical
sentences branch (a trie over their label tokens, as the model's tokenizer writes them): a mean over those,
per answer, is the loss of the decision itself, which the trainer logs as ``decision_nats``.

It also gives per-token loss weights: every label token of a STOP answer weighs ``stop_weight`` (STOP is a
few per cent of the decisions, and an agent that never stops never succeeds); the one token of a turn answer
where "left" and "right" part weighs ``side_weight`` (which way to turn is a weak signal — ~0.1 nats of gain
per turn against ~1 nat for the forward / turn / STOP choice — and is otherwise left at chance); everything
else weighs 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from navagent.agent.actions import FORWARD_CHOICES_CM, TURN_CHOICES_DEGREES, MidLevelAction
from navagent.envs.base import Action
from navagent.model import IGNORE_INDEX, NavVLMProcessor


def canonical_action_sentences() -> list[str]:
    """The action language's canonical sentences: forward 25/50/75 cm, left/right 15/30/45 degree, STOP."""
    actions = [MidLevelAction(Action.MOVE_FORWARD, cm) for cm in FORWARD_CHOICES_CM]
    for kind in (Action.TURN_LEFT, Action.TURN_RIGHT):
        actions += [MidLevelAction(kind, degrees) for degrees in TURN_CHOICES_DEGREES]
    return [a.to_text() for a in actions] + [MidLevelAction(Action.STOP).to_text()]


class AnswerTokens:
    """Decision flags and loss weights for the label tokens of a tokenised sample.

    processor: the model's processor (its tokenizer and chat format decide the label tokens).
    stop_weight: loss weight of every label token of a STOP answer (> 0).
    side_weight: loss weight of a turn answer's side token, where "left" and "right" part (> 0).
    """

    def __init__(self, processor: NavVLMProcessor, stop_weight: float = 1.0, side_weight: float = 1.0):
        for name, value in (("stop_weight", stop_weight), ("side_weight", side_weight)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.stop_weight = float(stop_weight)
        self.side_weight = float(side_weight)
        sentences = canonical_action_sentences()
        forward = len(FORWARD_CHOICES_CM)
        turns = len(TURN_CHOICES_DEGREES)
        self._flags: dict[tuple[int, ...], list[bool]] = {}
        self._stops: set[tuple[int, ...]] = set()
        self._sides: dict[tuple[int, ...], int] = {}  # turn answer -> position of its side token
        # an answer's closing tokens differ between the last turn and an earlier one: both forms are looked up
        for last_turn in (True, False):
            sequences = [tuple(self._answer_labels(processor, sentence, last_turn)) for sentence in sentences]
            children: dict[tuple[int, ...], set[int]] = {}
            for sequence in sequences:
                for cut in range(len(sequence)):
                    children.setdefault(sequence[:cut], set()).add(sequence[cut])
            for sequence in sequences:
                self._flags[sequence] = [len(children[sequence[:cut]]) > 1 for cut in range(len(sequence))]
            self._stops.add(sequences[-1])
            for left, right in zip(
                sequences[forward : forward + turns], sequences[forward + turns : forward + 2 * turns], strict=True
            ):
                side = next(i for i, (a, b) in enumerate(zip(left, right)) if a != b)
                self._sides[left] = self._sides[right] = side

    @staticmethod
    def _answer_labels(processor: NavVLMProcessor, answer: str, last_turn: bool = True) -> list[int]:
        """The label tokens of `answer` as the last assistant turn, or as one followed by another exchange."""
        messages = [{"role": "user", "content": "?"}, {"role": "assistant", "content": answer}]
        if not last_turn:
            messages += [{"role": "user", "content": "?"}, {"role": "assistant", "content": "yes"}]
        labels = processor.tokenize_conversation(messages).labels
        return [labels[i] for i in _answer_runs(labels)[0]]

    def annotate(self, labels: Sequence[int]) -> tuple[list[float], list[bool]]:
        """Per position of `labels` (IGNORE_INDEX where not trained): (loss weight, is a decision token).

        Each answer (a run of consecutive label tokens; a multi-turn sample has several) is looked at on its
        own: only an answer whose tokens are exactly one canonical sentence has decision tokens."""
        weights = [0.0] * len(labels)
        flags = [False] * len(labels)
        for positions in _answer_runs(labels):
            answer = tuple(labels[i] for i in positions)
            weight = self.stop_weight if answer in self._stops else 1.0
            decision = self._flags.get(answer, [False] * len(positions))
            for position, flag in zip(positions, decision, strict=True):
                weights[position] = weight
                flags[position] = flag
            if answer in self._sides:
                weights[positions[self._sides[answer]]] = self.side_weight
        return weights, flags


def _answer_runs(labels: Sequence[int]) -> list[list[int]]:
    """Positions of each run of consecutive label tokens (not IGNORE_INDEX) of `labels`, in order."""
    runs: list[list[int]] = []
    previous = -2
    for position, token in enumerate(labels):
        if token == IGNORE_INDEX:
            continue
        if position != previous + 1:
            runs.append([])
        runs[-1].append(position)
        previous = position
    return runs
