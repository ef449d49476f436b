"""Which answer tokens carry a navigation decision, and how much each answer's tokens weigh in the loss.

A navigation answer is one of the action language's canonical sentences ("The next action is move forward
75 cm.", ..., the STOP sentence). Most of its tokens are fixed once the decision is made: "The next action
is" and the closing tokens are the same for nine of the ten sentences, so a token-averaged loss of 0.2 can
still mean ~2 nats per decision — the label prior. `AnswerTokens` finds the tokens where the canonical
sentences branch (a trie over their label tokens, as the model's tokenizer writes them): a mean over those,
per answer, is the loss of the decision itself, which the trainer logs as ``decision_nats``.

It also gives per-token loss weights: every label token of a STOP answer weighs ``stop_weight`` (STOP is a
few per cent of the decisions, and an agent that never stops never succeeds); everything else weighs 1.
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
    """

    def __init__(self, processor: NavVLMProcessor, stop_weight: float = 1.0):
        if not stop_weight > 0:
            raise ValueError(f"stop_weight must be > 0, got {stop_weight}")
        self.stop_weight = float(stop_weight)
        sentences = canonical_action_sentences()
        sequences = [tuple(self._answer_labels(processor, sentence)) for sentence in sentences]
        children: dict[tuple[int, ...], set[int]] = {}
        for sequence in sequences:
            for cut in range(len(sequence)):
                children.setdefault(sequence[:cut], set()).add(sequence[cut])
        self._flags = {
            sequence: [len(children[sequence[:cut]]) > 1 for cut in range(len(sequence))]
            for sequence in sequences
        }
        self._stop = sequences[-1]

    @staticmethod
    def _answer_labels(processor: NavVLMProcessor, answer: str) -> list[int]:
        messages = [{"role": "user", "content": "?"}, {"role": "assistant", "content": answer}]
        return [t for t in processor.tokenize_conversation(messages).labels if t != IGNORE_INDEX]

    def annotate(self, labels: Sequence[int]) -> tuple[list[float], list[bool]]:
        """Per position of `labels` (IGNORE_INDEX where not trained): (loss weight, is a decision token).

        Only a sample whose label tokens are exactly one canonical sentence has decision tokens."""
        positions = [i for i, t in enumerate(labels) if t != IGNORE_INDEX]
        answer = tuple(labels[i] for i in positions)
        weights = [0.0] * len(labels)
        flags = [False] * len(labels)
        weight = self.stop_weight if answer == self._stop else 1.0
        decision = self._flags.get(answer, [False] * len(positions))
        for position, flag in zip(positions, decision, strict=True):
            weights[position] = weight
            flags[position] = flag
        return weights, flags
