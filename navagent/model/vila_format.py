"""Read VILA 1.5 / NaVILA checkpoint directories into `NavVLMForCausalLM` + `NavVLMProcessor`.

A VILA directory holds `config.json` (model_type `llava_llama`) and three plain transformers parts:
    llm/            a causal LM (LlamaForCausalLM, safetensors) + its tokenizer
    vision_tower/   a vision model (SiglipVisionModel) + preprocessor_config.json
    mm_projector/   config.json (model_type `v2l_projector`, `mm_projector_type`) + model.safetensors (`layers.*`)
Quirks handled: the LLM's vocabulary size is read from its embedding tensor (NaVILA added a `[PAD]` token
without updating `llm/config.json`), and Llama-3 checkpoints use the "llama_3" chat format, whose text starts
with `<|begin_of_text|>` while the tokenizer adds another BOS (the double BOS NaVILA was trained with).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer, PretrainedConfig

from navagent.model.chat_format import LLAMA3_SPECIAL_TOKENS
from navagent.model.configuration import NavVLMConfig
from navagent.model.image_processing import PREPROCESSOR_CONFIG_NAME, ImagePreprocessor
from navagent.model.modeling import NavVLMForCausalLM, default_attn_implementation
from navagent.model.processing import NavVLMProcessor
from navagent.model.projector import MultimodalProjector

VILA_MODEL_TYPES = ("llava_llama",)
VILA_PARTS = ("llm", "vision_tower", "mm_projector")
EMBEDDING_KEY_SUFFIX = "embed_tokens.weight"


class VilaFormatError(ValueError):
    """A directory is not a usable VILA checkpoint; the message names the missing or bad part."""


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise VilaFormatError(f"missing file {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise VilaFormatError(f"{path} is not valid JSON: {error}") from error


def is_vila_checkpoint(directory: str | Path) -> bool:
    """True when `directory/config.json` declares a VILA model type (`llava_llama`)."""
    path = Path(directory) / "config.json"
    return path.is_file() and read_json(path).get("model_type") in VILA_MODEL_TYPES


def check_vila_directory(directory: str | Path) -> dict:
    """Validate the layout; returns the top-level config. Raises VilaFormatError naming what is missing."""
    directory = Path(directory)
    top = read_json(directory / "config.json")
    if top.get("model_type") not in VILA_MODEL_TYPES:
        raise VilaFormatError(
            f"{directory}/config.json has model_type {top.get('model_type')!r}, expected one of {VILA_MODEL_TYPES}"
        )
    for part in VILA_PARTS:
        if not (directory / part / "config.json").is_file():
            raise VilaFormatError(f"VILA checkpoint {directory} lacks its '{part}' part ({part}/config.json)")
    if not (directory / "mm_projector" / "model.safetensors").is_file():
        raise VilaFormatError(f"VILA checkpoint {directory} lacks mm_projector/model.safetensors")
    if not (directory / "vision_tower" / PREPROCESSOR_CONFIG_NAME).is_file():
        raise VilaFormatError(f"VILA checkpoint {directory} lacks vision_tower/{PREPROCESSOR_CONFIG_NAME}")
    for part in ("llm", "vision_tower"):
        if not _safetensors_files(directory / part):
            raise VilaFormatError(f"VILA checkpoint {directory} has no safetensors weights in {part}/")
    return top


def _safetensors_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.safetensors"))


def embedding_rows(llm_directory: Path) -> int:
    """Number of rows of the LLM's input embedding tensor, read from the safetensors headers only."""
    for path in _safetensors_files(llm_directory):
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not iterable)
                if key.endswith(EMBEDDING_KEY_SUFFIX):
                    return int(handle.get_slice(key).get_shape()[0])
    raise VilaFormatError(f"no tensor named '*{EMBEDDING_KEY_SUFFIX}' in {llm_directory}/*.safetensors")


def _vision_config(vision_directory: Path) -> PretrainedConfig:
    config = AutoConfig.from_pretrained(vision_directory)
    return (
        getattr(config, "vision_config", None) or config
    )  # a full SiglipConfig/CLIPConfig holds a vision part


def _chat_format(tokenizer, directory: Path) -> str:
    vocab = tokenizer.get_vocab()
    if all(token in vocab for token in LLAMA3_SPECIAL_TOKENS):
        return "llama_3"
    if getattr(tokenizer, "chat_template", None):
        return "tokenizer"
    raise VilaFormatError(
        f"{directory}/llm tokenizer has neither the Llama-3 special tokens nor a chat template; "
        "no supported chat format"
    )


def vila_navvlm_config(directory: str | Path) -> tuple[NavVLMConfig, NavVLMProcessor]:
    """The NavVLMConfig and processor described by a VILA directory (no weights are read except headers)."""
    directory = Path(directory)
    top = check_vila_directory(directory)
    text_config = AutoConfig.from_pretrained(directory / "llm")
    text_config.vocab_size = embedding_rows(directory / "llm")
    projector_type = read_json(directory / "mm_projector" / "config.json").get("mm_projector_type")
    if projector_type is None:
        raise VilaFormatError(f"{directory}/mm_projector/config.json has no 'mm_projector_type'")
    tokenizer = AutoTokenizer.from_pretrained(directory / "llm")
    image_processor = ImagePreprocessor.from_pretrained(directory / "vision_tower")
    chat_format = _chat_format(tokenizer, directory)
    config = NavVLMConfig(
        vision_config=_vision_config(directory / "vision_tower"),
        text_config=text_config,
        mm_projector_type=projector_type,
        mm_vision_select_layer=top.get("mm_vision_select_layer", -2),
        mm_vision_select_feature=top.get("mm_vision_select_feature", "cls_patch"),
        chat_format=chat_format,
        num_video_frames=top.get("num_video_frames", 8),
        image_size=image_processor.size,
        image_mean=image_processor.image_mean,
        image_std=image_processor.image_std,
    )
    if top.get("tokenizer_model_max_length") is not None:  # NaVILA's cut after splicing (llava_arch.py)
        config.tokenizer_model_max_length = int(top["tokenizer_model_max_length"])
    return config, NavVLMProcessor(tokenizer, image_processor, chat_format=chat_format)


def load_vila_checkpoint(
    directory: str | Path,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    attn_implementation: str | None = None,
) -> tuple[NavVLMForCausalLM, NavVLMProcessor]:
    """Load a VILA / NaVILA directory. All parts end up in one dtype: `dtype`, else the LLM's stored dtype."""
    directory = Path(directory)
    config, processor = vila_navvlm_config(directory)
    attn = attn_implementation or default_attn_implementation()
    load_dtype = dtype if dtype is not None else "auto"
    llm = _load_part(AutoModelForCausalLM, directory / "llm", config.text_config, load_dtype, attn)
    dtype = llm.dtype
    vision = _load_part(AutoModel, directory / "vision_tower", config.vision_config, dtype, attn)
    projector = MultimodalProjector(config.mm_projector_type, config.mm_hidden_size, config.hidden_size)
    _load_projector(projector, directory / "mm_projector" / "model.safetensors")
    model = _assemble(config, vision, projector.to(dtype), llm, attn)
    model.generation_config.eos_token_id = processor.stop_token_ids
    pad = processor.tokenizer.pad_token_id
    model.generation_config.pad_token_id = pad if pad is not None else processor.stop_token_ids[0]
    if device is not None:
        model = model.to(device)
    return model.eval(), processor


def _load_part(auto_class, part_directory: Path, config: PretrainedConfig, dtype, attn: str):
    """from_pretrained of one part; weights the part lacks are an error (an unused pooling head excepted)."""
    model, info = auto_class.from_pretrained(
        part_directory,
        config=config,
        dtype=dtype,
        attn_implementation=attn,
        use_safetensors=True,
        output_loading_info=True,
    )
    missing = [key for key in info["missing_keys"] if not key.startswith("head.")]
    if missing:
        raise VilaFormatError(f"{part_directory}: weights missing for {sorted(missing)[:8]}")
    return model


def _load_projector(projector: MultimodalProjector, path: Path) -> None:
    state = load_file(str(path))
    expected, found = set(projector.state_dict()), set(state)
    if expected != found:
        raise VilaFormatError(
            f"{path}: projector '{projector.projector_type}' expects keys {sorted(expected)}, "
            f"found {sorted(found)}"
        )
    try:
        projector.load_state_dict(state)
    except RuntimeError as error:
        raise VilaFormatError(f"{path}: tensor shapes do not fit the projector: {error}") from error


def _assemble(config: NavVLMConfig, vision, projector, llm, attn_implementation: str) -> NavVLMForCausalLM:
    """Build the NavVLM shell on the meta device (no memory, no init) and put the loaded parts in it."""
    config._attn_implementation = attn_implementation
    config.dtype = llm.dtype
    with torch.device("meta"):
        model = NavVLMForCausalLM(config)
    model.vision_tower.vision_tower = vision
    model.mm_projector = projector
    model.llm = llm
    leftovers = [
        name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta
    ]
    if leftovers:
        raise RuntimeError(f"VILA parts left tensors unloaded: {leftovers[:5]}")
    return model


def convert_vila_checkpoint(
    source: str | Path, destination: str | Path, dtype: torch.dtype | None = None
) -> Path:
    """Convert a VILA directory into a navagent (Hugging Face native, safetensors) directory; returns it."""
    model, processor = load_vila_checkpoint(source, dtype=dtype, device="cpu", attn_implementation="sdpa")
    destination = Path(destination)
    model.save_pretrained(destination, safe_serialization=True)
    processor.save_pretrained(destination)
    return destination
