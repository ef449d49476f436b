"""Tiny randomly initialised NavVLM for tests and CPU demos: typed spec, YAML preset, tokenizer, builder.

`configs/model/tiny.yaml` mirrors `TinyModelSpec`'s defaults: a 64 px SigLIP with 8 px patches (64 tokens,
16 after `mlp_downsample`), a 2-layer Llama of width 128, and a byte-level BPE tokenizer trained on the
built-in corpus with the Llama-3 special tokens and a Llama-3-style chat template. A `vision` section whose
model_type is in `VISION_SPECS` (e.g. "resnet", configs/model/nav-conv.yaml) builds a convolutional tower.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from navagent.model.chat_format import LLAMA3_BOS, LLAMA3_END_OF_TEXT, LLAMA3_SPECIAL_TOKENS
from navagent.model.configuration import NavVLMConfig
from navagent.model.corpus import tokenizer_corpus
from navagent.model.image_processing import ImagePreprocessor
from navagent.model.modeling import NavVLMForCausalLM, default_attn_implementation
from navagent.model.processing import NavVLMProcessor

PAD_TOKEN = "[PAD]"
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim }}"
    "{{ '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class VisionSpec:
    """A small vision encoder (any transformers vision config type)."""

    model_type: str = "siglip_vision_model"
    image_size: int = 64
    patch_size: int = 8
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2


@dataclass(frozen=True)
class ConvVisionSpec:
    """A small transformers ResNet (`ResNetConfig`); its hidden states are the stem's map and one per stage.

    With a 4x stem and stages 2..n halving, a 64 px input gives 16, 16, 8, 4 px maps for three stages.
    """

    model_type: str = "resnet"
    image_size: int = 64
    embedding_size: int = 32
    hidden_sizes: list[int] = field(default_factory=lambda: [32, 64, 128])
    depths: list[int] = field(default_factory=lambda: [1, 1, 1])
    layer_type: str = "basic"
    downsample_in_first_stage: bool = False  # True: the first stage halves the map too (e.g. 112 px -> 4x4)


# vision.model_type -> the spec dataclass of its section; any other model type is a ViT (`VisionSpec`).
VISION_SPECS: dict[str, type] = {"resnet": ConvVisionSpec}


@dataclass(frozen=True)
class TextSpec:
    """A small causal LM (any AutoModelForCausalLM config type)."""

    model_type: str = "llama"
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 2048


@dataclass(frozen=True)
class TokenizerSpec:
    """Byte-level BPE trained on the built-in corpus."""

    vocab_size: int = 1024
    min_frequency: int = 2


@dataclass(frozen=True)
class TinyModelSpec:
    vision: VisionSpec | ConvVisionSpec = field(default_factory=VisionSpec)
    text: TextSpec = field(default_factory=TextSpec)
    tokenizer: TokenizerSpec = field(default_factory=TokenizerSpec)
    mm_projector_type: str = "mlp_downsample"
    mm_vision_select_layer: int = -2
    mm_vision_select_feature: str = "cls_patch"
    chat_format: str = "llama_3"
    num_video_frames: int = 8
    num_recent_frames: int = 0
    previous_action_in_prompt: bool = False
    navigation_prompt: str = "navila"
    mm_frame_slots: int = 0
    seed: int = 0


def load_tiny_model_spec(source: str | Path | dict | TinyModelSpec | None = None) -> TinyModelSpec:
    """Spec from a YAML file path, a dict (same layout), a spec, or None (defaults). Unknown keys are errors.

    A YAML file may start from another preset: ``base: nav-conv.yaml`` (a path relative to the file) loads
    that file first and lays this file's keys over it, section by section (see `read_preset`)."""
    if source is None:
        return TinyModelSpec()
    if isinstance(source, TinyModelSpec):
        return source
    where = "tiny model config"
    if isinstance(source, (str, Path)):
        where = str(source)
        source = read_preset(Path(source))
    if not isinstance(source, dict):
        raise TypeError(f"{where}: expected a mapping at the top level, got {type(source).__name__}")
    vision = source.get("vision")
    if isinstance(vision, dict):
        model_type = vision.get("model_type", VisionSpec.model_type)
        spec_class = VISION_SPECS.get(model_type, VisionSpec)
        source = source | {"vision": _dataclass_from_dict(spec_class, vision, f"{where}: vision")}
    return _dataclass_from_dict(TinyModelSpec, source, where)


def read_preset(path: Path, _chain: tuple[Path, ...] = ()) -> Any:
    """A preset YAML as a mapping, with its ``base`` chain resolved: the base's mapping updated by this file's
    keys (a section given as a mapping in both is updated key by key). A missing base or a cycle is an error
    naming the file."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict) or "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str) or not base:
        raise TypeError(f"{path}: 'base' must be a preset file name, got {base!r}")
    chain = (*_chain, path.resolve())
    base_path = (path.parent / base).resolve()
    if base_path in chain:
        raise ValueError(f"{path}: 'base' chain returns to {base_path}")
    if not base_path.is_file():
        raise FileNotFoundError(f"{path}: base preset {base_path} does not exist")
    merged = read_preset(base_path, chain)
    if not isinstance(merged, dict):
        raise TypeError(f"{base_path}: expected a mapping at the top level, got {type(merged).__name__}")
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merged[key] | value
        else:
            merged[key] = value
    return merged


def _dataclass_from_dict(cls, data: dict[str, Any], where: str):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise KeyError(f"{where}: unknown field(s) {unknown} for {cls.__name__}; known: {sorted(known)}")
    values = {}
    for name, value in data.items():
        nested = (
            known[name].default_factory if known[name].default_factory is not dataclasses.MISSING else None
        )
        if nested is not None and dataclasses.is_dataclass(nested) and not dataclasses.is_dataclass(value):
            if not isinstance(value, dict):
                raise TypeError(f"{where}: field {name!r} must be a mapping")
            value = _dataclass_from_dict(nested, value, f"{where}: {name}")
        values[name] = value
    return cls(**values)


def build_tiny_tokenizer(
    spec: TokenizerSpec | None = None, extra_texts: tuple[str, ...] | list[str] = ()
) -> PreTrainedTokenizerFast:
    """Byte-level BPE tokenizer with the Llama-3 special tokens, a `[PAD]` token, BOS added on encode, and a
    Llama-3-style chat template. Trained on `tokenizer_corpus(extra_texts)`."""
    spec = spec or TokenizerSpec()
    special_tokens = [*LLAMA3_SPECIAL_TOKENS, PAD_TOKEN]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        min_frequency=spec.min_frequency,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(tokenizer_corpus(extra_texts), trainer)
    bos_id = backend.token_to_id(LLAMA3_BOS)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{LLAMA3_BOS} $A",
        pair=f"{LLAMA3_BOS} $A {LLAMA3_BOS} $B",
        special_tokens=[(LLAMA3_BOS, bos_id)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=LLAMA3_BOS, eos_token=LLAMA3_END_OF_TEXT, pad_token=PAD_TOKEN
    )
    tokenizer.chat_template = LLAMA3_CHAT_TEMPLATE
    return tokenizer


def tiny_model_config(spec: TinyModelSpec, tokenizer) -> NavVLMConfig:
    """The NavVLMConfig of the tiny model; vocab size and special ids come from `tokenizer`."""
    vision = dataclasses.asdict(spec.vision)
    if vision["model_type"] == "siglip_vision_model":
        vision["vision_use_head"] = False  # the pooling head is never used by a VLM
    if isinstance(spec.vision, ConvVisionSpec):
        del vision["image_size"]  # a conv encoder takes any size; NavVLMConfig.image_size carries it
    text = dataclasses.asdict(spec.text) | {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
    }
    return NavVLMConfig(
        vision_config=vision,
        text_config=text,
        mm_projector_type=spec.mm_projector_type,
        mm_vision_select_layer=spec.mm_vision_select_layer,
        mm_vision_select_feature=spec.mm_vision_select_feature,
        chat_format=spec.chat_format,
        num_video_frames=spec.num_video_frames,
        num_recent_frames=spec.num_recent_frames,
        previous_action_in_prompt=spec.previous_action_in_prompt,
        navigation_prompt=spec.navigation_prompt,
        mm_frame_slots=spec.mm_frame_slots,
        image_size=spec.vision.image_size,
    )


def build_tiny_model(
    config: str | Path | dict | TinyModelSpec | None,
    tokenizer,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str | None = None,
) -> NavVLMForCausalLM:
    """A randomly initialised tiny NavVLM (weights drawn from the spec's seed; global RNG state untouched).

    Generation stops at `<|eot_id|>` or `<|end_of_text|>`."""
    spec = load_tiny_model_spec(config)
    model_config = tiny_model_config(spec, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = NavVLMForCausalLM._from_config(
            model_config,
            dtype=dtype,
            attn_implementation=attn_implementation or default_attn_implementation(),
        )
    processor = build_tiny_processor(spec, tokenizer)
    model.generation_config.eos_token_id = processor.stop_token_ids
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model.eval()


def build_tiny_processor(config: str | Path | dict | TinyModelSpec | None, tokenizer) -> NavVLMProcessor:
    """The processor matching `build_tiny_model(config, tokenizer)`."""
    spec = load_tiny_model_spec(config)
    return NavVLMProcessor(tokenizer, ImagePreprocessor(spec.vision.image_size), chat_format=spec.chat_format)
