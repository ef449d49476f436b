"""NavVLMTrainer: per-part learning rates and freezing, resume = uninterrupted run, LoRA merge, text-only
batches touching the vision path. (The DeepSpeed step runs in a subprocess: tests/train/test_train_run.py.)"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import TrainerCallback, TrainingArguments

from navagent.model import (
    build_tiny_model,
    load_model_and_processor,
    load_tiny_model_spec,
    save_model_and_processor,
)
from navagent.train.collate import BATCH_STATS_KEY, SupervisedCollator
from navagent.train.lora import apply_lora, lora_target_modules, merge_lora
from navagent.train.mixtures import build_mixture, load_registry
from navagent.train.trainer import NavVLMTrainer, freeze_parts, model_part


@pytest.fixture(scope="module")
def mixture(data_root, registry_path):
    return build_mixture("chat+nav*0.5+easyvqa*0.5", load_registry(registry_path), data_root, seed=0)


def _args(output_dir, **overrides) -> TrainingArguments:
    options = {
        "output_dir": str(output_dir),
        "max_steps": 4,
        "per_device_train_batch_size": 4,
        "learning_rate": 1e-3,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.25,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "seed": 0,
        "remove_unused_columns": False,
        "disable_tqdm": True,
    }
    return TrainingArguments(**(options | overrides))


def _trainer(
    model,
    processor,
    dataset,
    output_dir,
    packing=False,
    lengths=None,
    callbacks=(),
    learning_rates=None,
    **overrides,
):
    collator = SupervisedCollator(processor, 16, max_length=512, packing=packing)
    return NavVLMTrainer(
        model=model,
        args=_args(output_dir, **overrides),
        train_dataset=dataset,
        data_collator=collator,
        lengths=lengths,
        callbacks=list(callbacks),
        learning_rates=learning_rates,
    )


def _state(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_parameter_groups_have_per_part_learning_rates_and_skip_frozen_parts(
    fresh_tiny_model, tiny_processor, mixture, tmp_path
):
    model = fresh_tiny_model
    freeze_parts(model, ["vision_tower"])
    before = _state(model)
    trainer = NavVLMTrainer(
        model=model,
        args=_args(tmp_path, max_steps=2, weight_decay=0.1),
        train_dataset=mixture,
        data_collator=SupervisedCollator(tiny_processor, 16, max_length=512),
        learning_rates={"mm_projector": 5e-3, "llm": 1e-3},
    )
    groups = trainer.parameter_groups(model)
    assert {(g["part"], g["weight_decay"]) for g in groups} == {
        ("mm_projector", 0.1),
        ("mm_projector", 0.0),
        ("llm", 0.1),
        ("llm", 0.0),
    }
    assert {g["part"]: g["lr"] for g in groups} == {"mm_projector": 5e-3, "llm": 1e-3}
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(p.numel() for g in groups for p in g["params"]) == trainable
    trainer.train()
    lrs = {g["part"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert lrs["mm_projector"] == pytest.approx(5 * lrs["llm"])  # the schedule scales every group alike
    after = _state(model)
    for name in before:
        changed = not torch.equal(before[name], after[name])
        assert changed == (model_part(name) != "vision_tower"), name
    with pytest.raises(ValueError, match="unknown model part"):
        freeze_parts(model, ["projector"])


class SimulatedCrash(RuntimeError):
    pass


class CrashAtStep(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise SimulatedCrash(f"killed at step {self.step}")


def test_resume_after_an_interruption_ends_with_the_same_weights(
    tiny_spec_path, tiny_tokenizer, tiny_processor, mixture, tmp_path
):
    from navagent.model import build_tiny_model

    lengths = mixture.lengths(16)
    options = {"max_steps": 6, "save_strategy": "steps", "save_steps": 3, "num_train_epochs": 1}

    def trainer_for(output_dir, callbacks=()):
        model = build_tiny_model(tiny_spec_path, tiny_tokenizer).train()
        return _trainer(model, tiny_processor, mixture, output_dir, True, lengths, callbacks, **options)

    uninterrupted = trainer_for(tmp_path / "a")
    uninterrupted.train()
    interrupted = trainer_for(tmp_path / "b", [CrashAtStep(4)])
    with pytest.raises(SimulatedCrash):
        interrupted.train()
    assert (tmp_path / "b" / "checkpoint-3").is_dir() and not (tmp_path / "b" / "checkpoint-6").exists()
    resumed = trainer_for(tmp_path / "b")
    resumed.train(resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-3"))
    final_a, final_b = _state(uninterrupted.model), _state(resumed.model)
    assert not torch.equal(final_a["llm.lm_head.weight"], _state(interrupted.model)["llm.lm_head.weight"])
    for name in final_a:
        torch.testing.assert_close(final_b[name], final_a[name], rtol=0, atol=1e-6, msg=name)


def test_lora_training_then_merging_gives_the_unmerged_outputs(
    fresh_tiny_model, tiny_processor, mixture, tmp_path
):
    initial = _state(fresh_tiny_model)
    targets = lora_target_modules(fresh_tiny_model, ["llm"])
    peft_model = apply_lora(fresh_tiny_model, r=4, alpha=8, dropout=0.0, parts=["llm"], seed=0)
    assert "llm.model.layers.0.self_attn.q_proj" in targets and "llm.lm_head" not in targets
    trainable = {model_part(n) for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable == {"llm", "mm_projector"}
    _trainer(peft_model, tiny_processor, mixture, tmp_path, learning_rate=1e-2).train()
    batch = SupervisedCollator(tiny_processor, 16)([mixture[i] for i in (0, 5, 20)])
    batch.pop(BATCH_STATS_KEY)
    peft_model.eval()
    with torch.no_grad():
        unmerged = peft_model(**batch).logits
        merged_model = merge_lora(peft_model)
        merged = merged_model(**batch).logits
    torch.testing.assert_close(merged, unmerged, rtol=1e-4, atol=1e-4)
    after = _state(merged_model)
    assert set(after) == set(initial)  # a plain NavVLM again
    assert not torch.equal(after["mm_projector.layers.2.weight"], initial["mm_projector.layers.2.weight"])
    q_proj = "llm.model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(after[q_proj], initial[q_proj])
    assert torch.equal(after["llm.lm_head.weight"], initial["llm.lm_head.weight"])
    loaded, _ = load_model_and_processor(
        save_model_and_processor(merged_model, tiny_processor, tmp_path / "merged")
    )
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch).logits, merged, rtol=1e-5, atol=1e-5)


def test_frame_slot_vectors_train_freeze_and_save_with_the_projector(
    tiny_spec_path, tiny_tokenizer, tiny_processor, mixture, tmp_path
):
    spec = dataclasses.replace(load_tiny_model_spec(tiny_spec_path), mm_frame_slots=4)
    model = build_tiny_model(spec, tiny_tokenizer).train()
    assert model_part("frame_slot_embeddings.weight") == "mm_projector"
    initial = model.frame_slot_embeddings.weight.detach().clone()
    peft_model = apply_lora(model, r=4, alpha=8, dropout=0.0, parts=["llm"], seed=0)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any("frame_slot_embeddings" in name for name in trainable)
    _trainer(peft_model, tiny_processor, mixture, tmp_path, learning_rate=1e-2).train()
    merged = merge_lora(peft_model)
    assert not torch.equal(merged.frame_slot_embeddings.weight, initial)  # trained, kept by the merge
    freeze_parts(merged, ["mm_projector"])
    assert not merged.frame_slot_embeddings.weight.requires_grad


@pytest.mark.parametrize("packing", [False, True])
def test_text_only_batches_touch_the_vision_path_with_zero_gradient(
    fresh_tiny_model, tiny_processor, mixture, tmp_path, packing
):
    text_only = [s for s in mixture if not s.images]
    trainer = NavVLMTrainer(
        model=fresh_tiny_model,
        args=_args(tmp_path),
        train_dataset=mixture,
        data_collator=SupervisedCollator(tiny_processor, 16, packing=packing),
        touch_vision_on_text_only=True,
    )
    batch = trainer.data_collator(text_only)
    loss = trainer.compute_loss(fresh_tiny_model, dict(batch))
    loss.backward()
    grads = {n: p.grad for n, p in fresh_tiny_model.named_parameters()}
    projector = [g for n, g in grads.items() if model_part(n) == "mm_projector"]
    assert all(g is not None and not g.any() for g in projector)
    # the vision tower's last layer and post-layernorm never get gradients (features come from layer -2)
    tower = [g for n, g in grads.items() if model_part(n) == "vision_tower" and g is not None]
    assert len(tower) > 10 and not any(g.any() for g in tower)
    untouched = NavVLMTrainer(
        model=fresh_tiny_model,
        args=_args(tmp_path),
        data_collator=trainer.data_collator,
        touch_vision_on_text_only=False,
    )
    torch.testing.assert_close(loss, untouched.compute_loss(fresh_tiny_model, dict(batch)))
