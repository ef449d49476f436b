"""`NavVLMTrainer`: the Hugging Face `Trainer` with what VLM fine-tuning needs.

* Parameter groups per model part — vision tower, projector, LLM — each with its own learning rate
  (and weight decay only on weights, not on biases / norms); frozen parameters are left out.
* Packed batches (`position_ids` from the collator) go through `navagent.train.packing.forward_packed`.
* Length-grouped sampling from precomputed lengths, reshuffled per epoch from (seed, epoch), so a resumed
  run sees the same order as an uninterrupted one.
* The collator's `batch_stats` are summed (truncated samples, share of non-padding tokens) and logged.
* With the collator's answer annotations (`navagent.train.answer_tokens`), the loss is the token
  cross-entropy with per-token weights (e.g. STOP answers weighted up), and ``decision_nats`` — the loss of
  the decision tokens per navigation answer — is logged beside it.
* A frozen vision tower stays in eval mode (BatchNorm statistics of conv towers do not move).
* Batches without images still run a black frame through the vision tower and projector (contributing
  0 to the loss) when training on several processes, so every rank calls the same modules: ZeRO-3 gathers
  stay in step and DDP sees every parameter used.

Freezing parts and LoRA are applied to the model before it is given to the trainer (`freeze_parts`,
`navagent.train.lora.apply_lora`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Sampler
from transformers import Trainer
from transformers.trainer_pt_utils import get_length_grouped_indices

from navagent.model import IGNORE_INDEX
from navagent.train.collate import (
    BATCH_STATS_FIELDS,
    BATCH_STATS_KEY,
    DECISION_ANSWERS_KEY,
    DECISION_MASK_KEY,
    LABEL_WEIGHTS_KEY,
    CollatorStats,
)
from navagent.train.packing import forward_packed, splice_batch

MODEL_PARTS = ("vision_tower", "mm_projector", "llm")
# Modules of the projector part under another name: the frame-slot vectors are added to the projector's output,
# so they train, freeze and take their learning rate with it.
PROJECTOR_MODULES = ("mm_projector", "frame_slot_embeddings")
_WRAPPER_PREFIXES = ("module.", "base_model.model.", "_orig_mod.")


def model_part(parameter_name: str) -> str:
    """ "vision_tower" | "mm_projector" | "llm" for a parameter name of NavVLMForCausalLM, also when wrapped
    (PEFT `base_model.model.`, DDP / DeepSpeed `module.`)."""
    name = parameter_name
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix) :], True
    part = name.split(".", 1)[0]
    part = "mm_projector" if part in PROJECTOR_MODULES else part
    if part not in MODEL_PARTS:
        raise ValueError(f"parameter {parameter_name!r} belongs to none of the model parts {MODEL_PARTS}")
    return part


def freeze_parts(model: nn.Module, parts: Iterable[str]) -> None:
    """Turn off requires_grad for every parameter of the named parts."""
    parts = set(parts)
    unknown = parts - set(MODEL_PARTS)
    if unknown:
        raise ValueError(f"unknown model part(s) {sorted(unknown)}; parts are {MODEL_PARTS}")
    for name, parameter in model.named_parameters():
        if model_part(name) in parts:
            parameter.requires_grad_(False)


def unwrap_navvlm(model: nn.Module) -> nn.Module:
    """The NavVLMForCausalLM inside DDP / DeepSpeed (`.module`) and PEFT (`.get_base_model()`) wrappers."""
    while True:
        if hasattr(model, "get_base_model"):
            model = model.get_base_model()
        elif isinstance(getattr(model, "module", None), nn.Module):
            model = model.module
        else:
            return model


def _keep_frozen_tower_in_eval(model: nn.Module) -> None:
    """A frozen vision tower runs in eval mode while the rest trains: the Trainer switches the whole model to
    train mode every step, which would let a conv tower's BatchNorm statistics drift (and break cached features)."""
    tower = unwrap_navvlm(model).vision_tower
    if model.training and tower.training and not any(p.requires_grad for p in tower.parameters()):
        tower.eval()


class EpochLengthGroupedSampler(Sampler[int]):
    """transformers' length grouping (random mega-batches of 50 batches, each sorted longest first) with a
    torch generator seeded from (seed, epoch); `set_epoch` is called by the trainer each epoch."""

    def __init__(self, lengths: Sequence[int], group_size: int, seed: int):
        self.lengths = list(lengths)
        self.group_size = group_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.group_size, generator=generator))


class NavVLMTrainer(Trainer):
    """HF Trainer for NavVLMForCausalLM (see module docstring).

    learning_rates: {"vision_tower": lr, "mm_projector": lr, "llm": lr}; a missing part uses
        `args.learning_rate`.
    lengths: per-sample length estimates of the training set; given, the trainer samples length-grouped.
    touch_vision_on_text_only: run a black frame through the vision path for image-free batches; None =
        only when `args.world_size > 1`.
    """

    def __init__(
        self,
        *args,
        learning_rates: Mapping[str, float] | None = None,
        lengths: Sequence[int] | None = None,
        touch_vision_on_text_only: bool | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        unknown = set(learning_rates or {}) - set(MODEL_PARTS)
        if unknown:
            raise ValueError(f"learning_rates has unknown part(s) {sorted(unknown)}; parts are {MODEL_PARTS}")
        self.learning_rates = dict(learning_rates or {})
        self.lengths = None if lengths is None else list(lengths)
        self.touch_vision_on_text_only = touch_vision_on_text_only
        self.collator_stats = CollatorStats()
        self._logged_stats = CollatorStats()
        self.decision_stats = [0.0, 0]  # decision tokens' summed loss, navigation answers (since last log)

    # ---- optimizer ----
    def create_optimizer(self, model=None):
        if self.optimizer is None:
            model = self.model if model is None else model
            groups = self.parameter_groups(model)
            if not groups:
                raise ValueError("no trainable parameters: every model part is frozen")
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
            optimizer_kwargs.pop("lr", None)
            self.optimizer = optimizer_cls(groups, lr=self.args.learning_rate, **optimizer_kwargs)
        return self.optimizer

    def parameter_groups(self, model: nn.Module) -> list[dict]:
        """One group per (part, decay / no decay) with trainable parameters; each group names its part."""
        decay_names = set(self.get_decay_parameter_names(model))
        groups: dict[tuple[str, bool], dict] = {}
        for name, parameter in model.named_parameters():
            if not parameter.requires_grad:
                continue
            part, decay = model_part(name), name in decay_names
            group = groups.setdefault(
                (part, decay),
                {
                    "params": [],
                    "lr": self.learning_rates.get(part, self.args.learning_rate),
                    "weight_decay": self.args.weight_decay if decay else 0.0,
                    "part": part,
                },
            )
            group["params"].append(parameter)
        return list(groups.values())

    # ---- data ----
    def _get_train_sampler(self, train_dataset=None):
        if self.lengths is None:
            return super()._get_train_sampler(train_dataset)
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if len(self.lengths) != len(dataset):
            raise ValueError(f"lengths has {len(self.lengths)} entries for {len(dataset)} training samples")
        group = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return EpochLengthGroupedSampler(self.lengths, group, self.args.seed)

    # ---- loss ----
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        _keep_frozen_tower_in_eval(model)
        stats = inputs.pop(BATCH_STATS_KEY, None)
        if stats is not None and model.training:
            self.collator_stats.add(stats.tolist())
        annotations = [
            inputs.pop(k, None) for k in (LABEL_WEIGHTS_KEY, DECISION_MASK_KEY, DECISION_ANSWERS_KEY)
        ]
        loss_kwargs = {"num_items_in_batch": num_items_in_batch} if num_items_in_batch is not None else {}
        if annotations[0] is not None:
            outputs = self._weighted_loss(model, inputs, *annotations, num_items_in_batch)
        elif "position_ids" in inputs:
            outputs = forward_packed(model, unwrap_navvlm(model), inputs, **loss_kwargs)
        else:
            outputs = model(**inputs, use_cache=False, **loss_kwargs)
        loss = outputs.loss
        if "pixel_values" not in inputs and "vision_features" not in inputs and self._touch_vision():
            loss = loss + self._vision_path_touch(model).to(loss.dtype)
        loss = self._scale_for_devices(loss, num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    def _weighted_loss(self, model, inputs, weights, decisions, answers, num_items_in_batch):
        """Token cross-entropy with per-token weights (B, L); also sums the decision tokens' loss for the log.

        The label tokens keep their order through splicing (image positions are never labels), so the k-th
        label token of the spliced batch is the k-th of the collator's (B, L) annotations."""
        spliced, attention = splice_batch(unwrap_navvlm(model), inputs)
        device = spliced.inputs_embeds.device
        # logits only where some row has a label (the LM head over every position is ~1/5 of the compute)
        next_tokens = spliced.labels[:, 1:]
        keep = (next_tokens != IGNORE_INDEX).any(dim=0).nonzero().flatten()
        outputs = model(
            inputs_embeds=spliced.inputs_embeds, use_cache=False, logits_to_keep=keep, **attention
        )
        targets = next_tokens[:, keep]
        trained = targets != IGNORE_INDEX
        token_loss = F.cross_entropy(outputs.logits[trained].float(), targets[trained], reduction="none")
        original = inputs["labels"][:, 1:].to(device) != IGNORE_INDEX
        token_weights = weights[:, 1:].to(device)[original]
        if token_weights.shape != token_loss.shape:
            raise ValueError(f"{token_weights.numel()} label weights for {token_loss.numel()} label tokens")
        denominator = num_items_in_batch if num_items_in_batch is not None else token_loss.numel()
        outputs.loss = (token_loss * token_weights).sum() / denominator
        if model.training:  # summed as tensors: no host sync per step, read at logging time
            decision = decisions[:, 1:].to(device)[original]
            self.decision_stats[0] = self.decision_stats[0] + token_loss[decision].detach().sum()
            self.decision_stats[1] = self.decision_stats[1] + answers
        return outputs

    def _vision_path_touch(self, model) -> torch.Tensor:
        """0 * (features of one black frame): runs the vision tower and projector without changing the loss."""
        core = unwrap_navvlm(model)
        size = core.config.image_size
        black = torch.zeros(1, 3, size, size, device=core.get_input_embeddings().weight.device)
        return core.encode_images(black).sum() * 0.0

    def _touch_vision(self) -> bool:
        if self.touch_vision_on_text_only is None:
            return self.args.world_size > 1
        return self.touch_vision_on_text_only

    def _scale_for_devices(self, loss: torch.Tensor, num_items_in_batch) -> torch.Tensor:
        """As Trainer.compute_loss: a token-summed loss is averaged over processes by the gradient all-reduce."""
        if (
            self.args.average_tokens_across_devices
            and self.model_accepts_loss_kwargs
            and num_items_in_batch is not None
        ):
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        return loss

    # ---- logging ----
    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        new = CollatorStats(
            *(getattr(self.collator_stats, f) - getattr(self._logged_stats, f) for f in BATCH_STATS_FIELDS)
        )
        if new.samples:
            logs["non_padding_share"] = round(new.non_padding_share, 4)
            logs["truncated_samples"] = self.collator_stats.truncated
            self._logged_stats = CollatorStats(*(getattr(self.collator_stats, f) for f in BATCH_STATS_FIELDS))
        answers = int(self.decision_stats[1])
        if answers:
            logs["decision_nats"] = round(float(self.decision_stats[0]) / answers, 4)
            self.decision_stats = [0.0, 0]
        super().log(logs, *args, **kwargs)
