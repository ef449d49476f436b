"""Decision tokens and STOP weighting (navagent.train.answer_tokens) and the trainer's weighted loss."""

from __future__ import annotations

import pytest
import torch

from navagent.model import IGNORE_INDEX
from navagent.train.answer_tokens import AnswerTokens, canonical_action_sentences
from navagent.train.collate import SupervisedCollator
from navagent.train.samples import Sample
from navagent.train.trainer import NavVLMTrainer


def _labels(processor, answer: str) -> list[int]:
    messages = [{"role": "user", "content": "Go."}, {"role": "assistant", "content": answer}]
    return processor.tokenize_conversation(messages).labels


def test_decision_tokens_are_where_the_action_sentences_branch(tiny_processor):
    tokens = AnswerTokens(tiny_processor, stop_weight=3.0)
    tokenizer = tiny_processor.tokenizer
    sentences = canonical_action_sentences()
    assert len(sentences) == 10 and len(set(sentences)) == 10
    forward = _labels(tiny_processor, "The next action is move forward 75 cm.")
    weights, flags = tokens.annotate(forward)
    decided = [tokenizer.decode([t]) for t, f in zip(forward, flags) if f]
    # "The" (vs the STOP sentence's "I"), move (vs turn: "forward" then follows), the amount
    assert "".join(decided).split() == ["The", "move", "75"]
    assert all(w == 1.0 for t, w in zip(forward, weights) if t != IGNORE_INDEX)
    stop = _labels(tiny_processor, sentences[-1])
    stop_weights, stop_flags = tokens.annotate(stop)
    assert sum(stop_flags) == 1  # only the first token decides; the rest follows
    assert {w for t, w in zip(stop, stop_weights) if t != IGNORE_INDEX} == {3.0}
    other_weights, other_flags = tokens.annotate(_labels(tiny_processor, "It is a red sofa."))
    assert not any(other_flags) and set(other_weights) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="stop_weight"):
        AnswerTokens(tiny_processor, stop_weight=0.0)


def test_the_side_token_of_a_turn_weighs_side_weight(tiny_processor):
    """Only the token where "turn left ..." and "turn right ..." part is weighted, in every turn answer and
    whether the turn is the last answer or is followed by a view question."""
    tokens = AnswerTokens(tiny_processor, side_weight=5.0)
    tokenizer = tiny_processor.tokenizer
    for sentence in canonical_action_sentences():
        for follow_up in (False, True):
            messages = [{"role": "user", "content": "Go."}, {"role": "assistant", "content": sentence}]
            if follow_up:
                messages += [{"role": "user", "content": "Doorway?"}, {"role": "assistant", "content": "yes"}]
            labels = tiny_processor.tokenize_conversation(messages).labels
            weights, flags = tokens.annotate(labels)
            heavy = [i for i, w in enumerate(weights) if w == 5.0]
            if "turn" not in sentence:
                assert heavy == []
                continue
            assert len(heavy) == 1 and flags[heavy[0]]
            side = "left" if "left" in sentence else "right"
            assert tokenizer.decode([labels[heavy[0]]]).strip() in side and side.startswith(
                tokenizer.decode([labels[heavy[0]]]).strip()
            )
    with pytest.raises(ValueError, match="side_weight"):
        AnswerTokens(tiny_processor, side_weight=-1.0)


def test_each_answer_of_a_multi_turn_sample_is_looked_at_on_its_own(tiny_processor):
    """A navigation answer followed by view questions keeps its decision tokens and STOP weight; the
    questions' answers weigh 1 and decide nothing."""
    tokens = AnswerTokens(tiny_processor, stop_weight=3.0)
    for sentence in (canonical_action_sentences()[4], canonical_action_sentences()[-1]):
        messages = [
            {"role": "user", "content": "Go."},
            {"role": "assistant", "content": sentence},
            {"role": "user", "content": "Is there a doorway on your left?"},
            {"role": "assistant", "content": "yes"},
        ]
        labels = tiny_processor.tokenize_conversation(messages).labels
        weights, flags = tokens.annotate(labels)
        single_weights, single_flags = tokens.annotate(_labels(tiny_processor, sentence))
        assert sum(flags) == sum(single_flags) > 0
        trained = [w for t, w in zip(labels, weights) if t != IGNORE_INDEX]
        first = [w for t, w in zip(_labels(tiny_processor, sentence), single_weights) if t != IGNORE_INDEX]
        assert trained[: len(first)] == first  # the action's tokens, as when it is the only answer
        assert set(trained[len(first) :]) == {1.0}  # "yes" and its closing token


def test_weighted_loss_with_unit_weights_is_the_models_loss(fresh_tiny_model, tiny_processor):
    samples = [
        Sample("a", ({"role": "user", "content": "Go."}, {"role": "assistant", "content": sentence}))
        for sentence in canonical_action_sentences()[::3]
    ]
    collator = SupervisedCollator(
        tiny_processor, fresh_tiny_model.tokens_per_image, 256, answer_tokens=AnswerTokens(tiny_processor)
    )
    batch = collator(samples)
    batch.pop("batch_stats")
    weights, decisions, answers = (
        batch.pop(k) for k in ("label_weights", "decision_mask", "decision_answers")
    )
    assert int(answers) == len(samples)
    trainer = NavVLMTrainer.__new__(NavVLMTrainer)
    trainer.decision_stats = [0.0, 0]
    fresh_tiny_model.eval()
    with torch.no_grad():
        reference = fresh_tiny_model(**batch).loss
        weighted = NavVLMTrainer._weighted_loss(
            trainer, fresh_tiny_model, batch, weights, decisions, answers, None
        )
    torch.testing.assert_close(weighted.loss, reference, atol=1e-5, rtol=1e-5)
    # doubling every weight doubles the loss
    with torch.no_grad():
        doubled = NavVLMTrainer._weighted_loss(
            trainer, fresh_tiny_model, batch, 2 * weights, decisions, answers, None
        )
    torch.testing.assert_close(doubled.loss, 2 * reference, atol=1e-5, rtol=1e-5)
