"""`NavVLMForCausalLM`: vision tower + multimodal projector + causal LM, VILA 1.5 / NaVILA style.

Submodule names match VILA checkpoints: `vision_tower.vision_tower.*` (the transformers vision model),
`mm_projector.layers.*` and `llm.*` (the transformers causal LM, e.g. LlamaForCausalLM).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    GenerationConfig,
    GenerationMixin,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.modeling_outputs import CausalLMOutputWithPast

from navagent.model.configuration import NavVLMConfig
from navagent.model.projector import MultimodalProjector
from navagent.model.splicing import MultimodalInputs, count_image_slots, splice_image_features
from navagent.model.vision_geometry import vision_token_count
from navagent.model.vision_tower import VisionTower


def default_attn_implementation() -> str:
    """ "flash_attention_2" when flash-attn is installed and CUDA is available, otherwise "sdpa"."""
    if importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available():
        return "flash_attention_2"
    return "sdpa"


class NavVLMPreTrainedModel(PreTrainedModel):
    config_class = NavVLMConfig
    base_model_prefix = ""
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _skip_keys_device_placement: ClassVar[list[str]] = ["past_key_values"]
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True

    def _init_weights(self, module: nn.Module) -> None:
        """transformers' defaults, except the frame-slot vectors: std 1/sqrt(D) (norm ~1, a sizeable part of a
        projected token's; at the default std 0.02 they stayed at ~7 % of its norm after 2,000 steps)."""
        if module is getattr(self, "frame_slot_embeddings", None):
            init.normal_(module.weight, mean=0.0, std=module.embedding_dim**-0.5)
            return
        super()._init_weights(module)


class NavVLMForCausalLM(NavVLMPreTrainedModel, GenerationMixin):
    """Video VLM: each image slot (-200) in `input_ids` is replaced by one frame's T projected features."""

    def __init__(self, config: NavVLMConfig):
        super().__init__(config)
        self.vision_tower = VisionTower(
            config.vision_config, config.mm_vision_select_layer, config.mm_vision_select_feature
        )
        self.mm_projector = MultimodalProjector(
            config.mm_projector_type, config.mm_hidden_size, config.hidden_size
        )
        # Optional (mm_frame_slots > 0): a learned vector per (frame slot, token of the image); the slot counts
        # back from a row's last image. Row s * T + t of the table is slot s, token t (T = tokens_per_image).
        self.frame_slot_embeddings = (
            nn.Embedding(config.mm_frame_slots * self.tokens_per_image, config.hidden_size)
            if config.mm_frame_slots
            else None
        )
        self.llm = AutoModelForCausalLM.from_config(config.text_config)
        self.post_init()

    # ---- embeddings plumbing (used by transformers utilities such as resize_token_embeddings) ----
    def get_input_embeddings(self) -> nn.Module:
        return self.llm.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.llm.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.llm.get_output_embeddings()

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.llm.set_output_embeddings(value)

    @property
    def tokens_per_image(self) -> int:
        """Projected feature vectors per image (e.g. 196 for NaVILA, 16 for the tiny model, 4 for nav-conv)."""
        config = self.config
        tokens = vision_token_count(
            config.vision_config,
            config.image_size,
            config.mm_vision_select_layer,
            config.mm_vision_select_feature,
        )
        return MultimodalProjector.num_output_tokens(config.mm_projector_type, tokens)

    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """pixel_values (N, 3, H, W) -> projected features (N, T, hidden_size) in the LLM's dtype."""
        return self.project_vision_features(self.vision_tower(pixel_values))

    def project_vision_features(self, vision_features: torch.Tensor) -> torch.Tensor:
        """Vision-tower outputs (N, P, C) -> projected features (N, T, hidden_size) in the LLM's dtype.

        `encode_images` = tower + this; training from cached tower outputs (`navagent.train.feature_cache`)
        calls it directly, so a frozen tower is never run twice on the same frame."""
        features = self.mm_projector(vision_features.to(self._projector_dtype()))
        return features.to(self.get_input_embeddings().weight.dtype)

    def _projector_dtype(self) -> torch.dtype:
        return next(self.mm_projector.parameters()).dtype

    def prepare_multimodal_inputs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_features: Sequence[torch.Tensor] | torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        padding_side: str = "right",
        vision_features: torch.Tensor | None = None,
    ) -> MultimodalInputs:
        """Embed `input_ids` (B, L) and splice images in; give at most one of pixel_values (N, 3, H, W),
        vision_features (N, P, C: vision-tower outputs, e.g. cached) or image_features (N tensors of shape
        (T, D), already projected, one per slot in reading order)."""
        given = [x is not None for x in (pixel_values, vision_features, image_features)]
        if sum(given) > 1:
            raise ValueError("pass at most one of pixel_values, vision_features and image_features")
        if pixel_values is not None:
            image_features = self.encode_images(pixel_values)
        elif vision_features is not None:
            image_features = self.project_vision_features(
                vision_features.to(self.get_input_embeddings().weight.device)
            )
        device = self.get_input_embeddings().weight.device
        input_ids = input_ids.to(device)
        attention_mask = attention_mask.to(device) if attention_mask is not None else None
        labels = labels.to(device) if labels is not None else None
        features = list(image_features) if image_features is not None else []
        if self.frame_slot_embeddings is not None and features:
            features = self._add_frame_slot_embeddings(input_ids, attention_mask, features)
        return splice_image_features(
            input_ids,
            attention_mask,
            features,
            self.get_input_embeddings(),
            self.config.image_token_index,
            labels=labels,
            padding_side=padding_side,
            max_length=getattr(self.config, "tokenizer_model_max_length", None),
        )

    def _add_frame_slot_embeddings(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, features: list[torch.Tensor]
    ) -> list[torch.Tensor]:
        """Add the vectors of slot s, (T, D), to each image's tokens (T, D): token t gets row s * T + t. The slot
        s counts back from the row's last image (0 = current observation), capped at mm_frame_slots - 1, so a
        token says which frame it belongs to and which part of the image it covers (the projector maps every
        part with the same weights). Rows hold one sample each (no packing)."""
        mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        slots_per_row = count_image_slots(input_ids, mask, self.config.image_token_index)
        if sum(slots_per_row) != len(features):
            return features  # splice_image_features raises the mismatch with the full message
        last, tokens = self.config.mm_frame_slots - 1, self.tokens_per_image
        slots = torch.tensor(
            [min(count - 1 - j, last) for count in slots_per_row for j in range(count)],
            device=input_ids.device,
        )
        rows = slots[:, None] * tokens + torch.arange(tokens, device=input_ids.device)  # (N, T)
        vectors = self.frame_slot_embeddings(rows)  # (N, T, D)
        return [feature + vector.to(feature.dtype) for feature, vector in zip(features, vectors, strict=True)]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_features: Sequence[torch.Tensor] | torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        vision_features: torch.Tensor | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        """Loss (when labels are given) and logits (B, L', V) over the spliced sequence.

        With `input_ids` (B, L), image slots are expanded (L' >= L) and rows are right-padded; labels are
        expanded alongside (-100 at image positions). With `inputs_embeds` the call goes straight to the LLM
        (as during cached decoding).
        """
        if inputs_embeds is None:
            if input_ids is None:
                raise ValueError("forward needs input_ids or inputs_embeds")
            spliced = self.prepare_multimodal_inputs(
                input_ids, attention_mask, pixel_values, image_features, labels, "right", vision_features
            )
            inputs_embeds, attention_mask, labels = (
                spliced.inputs_embeds,
                spliced.attention_mask,
                spliced.labels,
            )
        elif pixel_values is not None or image_features is not None or vision_features is not None:
            raise ValueError("images cannot be combined with inputs_embeds; pass input_ids with image slots")
        return self.llm(inputs_embeds=inputs_embeds, attention_mask=attention_mask, labels=labels, **kwargs)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_features: Sequence[torch.Tensor] | torch.Tensor | None = None,
        max_new_tokens: int = 32,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        eos_token_id: int | list[int] | None = None,
        pad_token_id: int | None = None,
    ) -> torch.Tensor:
        """Generate continuations of a batch of prompts with a KV cache.

        Prompts may have different lengths (any padding side in `input_ids`; rows are re-padded on the left
        after splicing), so batched greedy decoding gives the same tokens as one prompt at a time.
        Sampling (`do_sample=True`) needs an explicit `seed`; the global torch RNG state is restored afterwards.
        Returns the new tokens only, (B, <= max_new_tokens), finished rows padded with `pad_token_id`.
        """
        if do_sample and seed is None:
            raise ValueError("generate(do_sample=True) needs an explicit seed")
        spliced = self.prepare_multimodal_inputs(
            input_ids, attention_mask, pixel_values, image_features, padding_side="left"
        )
        generation_config = self._generation_config(
            max_new_tokens, do_sample, temperature, top_p, eos_token_id, pad_token_id
        )
        call = {
            "inputs_embeds": spliced.inputs_embeds,
            "attention_mask": spliced.attention_mask,
            "generation_config": generation_config,
        }
        if not do_sample:
            return self.llm.generate(**call)
        devices = [spliced.inputs_embeds.device] if spliced.inputs_embeds.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            return self.llm.generate(**call)

    def _generation_config(self, max_new_tokens, do_sample, temperature, top_p, eos_token_id, pad_token_id):
        defaults = self.generation_config
        eos = eos_token_id if eos_token_id is not None else defaults.eos_token_id
        pad = pad_token_id if pad_token_id is not None else defaults.pad_token_id
        if pad is None:
            pad = eos[0] if isinstance(eos, list) else eos
        options = {
            "max_new_tokens": max_new_tokens,
            "do_sample": do_sample,
            "eos_token_id": eos,
            "pad_token_id": pad,
        }
        if do_sample:
            options.update(temperature=temperature, top_p=top_p, top_k=0)
        return GenerationConfig(**options)


AutoModelForImageTextToText.register(NavVLMConfig, NavVLMForCausalLM, exist_ok=True)
AutoModelForCausalLM.register(NavVLMConfig, NavVLMForCausalLM, exist_ok=True)
