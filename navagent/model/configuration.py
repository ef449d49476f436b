"""`NavVLMConfig`: the configuration of the VILA-style video VLM (vision tower + projector + causal LM).

The config nests two ordinary transformers configs — `vision_config` (any vision encoder config; SigLIP by
default, CLIP works too, and convolutional ResNet / ConvNeXt, which need an explicit `image_size`) and
`text_config` (any `AutoModelForCausalLM` config; Llama by default, Qwen2/Qwen3
work too) — and adds the few multimodal fields that VILA 1.5 / NaVILA keep in their top-level `config.json`.
"""

from __future__ import annotations

from typing import ClassVar

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

from navagent.agent.prompts import NAVIGATION_PROMPTS
from navagent.model.vision_geometry import vision_feature_width

PROJECTOR_TYPES = ("linear", "mlp2x_gelu", "mlp_downsample")
VISION_SELECT_FEATURES = ("cls_patch", "patch")
CHAT_FORMATS = ("llama_3", "tokenizer")

# VILA's placeholder id for one image in a token sequence, and the ignore index of the loss.
IMAGE_TOKEN_INDEX = -200
IGNORE_INDEX = -100


class NavVLMConfig(PretrainedConfig):
    """Configuration of `NavVLMForCausalLM`.

    Fields (beyond the nested `vision_config` / `text_config`):
        mm_projector_type: "linear" | "mlp2x_gelu" | "mlp_downsample" (NaVILA).
        mm_vision_select_layer: index into the vision encoder's `hidden_states` (-2: the second-to-last layer's
            output, no post-layernorm).
        mm_vision_select_feature: "cls_patch" keeps every token; "patch" drops token 0 (CLIP's CLS token).
        image_token_index: the id that stands for one image in `input_ids` (-200).
        chat_format: "llama_3" (VILA's template, double BOS) or "tokenizer" (the tokenizer's chat template).
        num_video_frames: frames per navigation query (8).
        num_recent_frames: r observations just before the current one that every navigation query shows
            (`navagent.agent.prompts.sample_frame_indices`); 0 (NaVILA): frames spread evenly over the history.
        previous_action_in_prompt: every navigation query ends by stating the move made since the previous
            decision (`navagent.agent.prompts.PreviousAction`); False (NaVILA): not stated.
        navigation_prompt: the wording of a navigation query, one of `NAVIGATION_PROMPTS`
            (`navagent.agent.prompts.navigation_prompt`): "navila" (NaVILA's) or "compact" (frames and task
            only, for our own models).
        mm_frame_slots: S > 0 adds a learned vector per (frame slot, token of the image) to the projected
            tokens; the slot counts back from the last image of the sequence (0 = the current observation, 1 =
            the frame before it, ...; images further back share slot S - 1). The language model can then pick
            the current frame, and the left or right part of it, by content rather than by RoPE distance.
            0 (VILA / NaVILA): none.
        image_size / image_mean / image_std: preprocessing of the vision tower (square resize, normalise).
    """

    model_type: ClassVar[str] = "navagent_vlm"
    sub_configs_defaults: ClassVar[dict[str, SubConfigSpec]] = {
        "vision_config": SubConfigSpec(
            config_class=AutoConfig,
            model_type="siglip_vision_model",
            init_kwargs={
                "hidden_size": 1152,
                "intermediate_size": 4304,
                "num_hidden_layers": 27,
                "num_attention_heads": 16,
                "image_size": 384,
                "patch_size": 14,
            },
        ),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="llama"),
    }

    vision_config: dict | PretrainedConfig | None = None
    text_config: dict | PretrainedConfig | None = None
    mm_projector_type: str = "mlp_downsample"
    mm_vision_select_layer: int = -2
    mm_vision_select_feature: str = "cls_patch"
    image_token_index: int = IMAGE_TOKEN_INDEX
    chat_format: str = "llama_3"
    num_video_frames: int = 8
    num_recent_frames: int = 0
    previous_action_in_prompt: bool = False
    navigation_prompt: str = "navila"
    mm_frame_slots: int = 0
    image_size: int | None = None
    image_mean: list[float] | None = None
    image_std: list[float] | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        _check_choice("mm_projector_type", self.mm_projector_type, PROJECTOR_TYPES)
        _check_choice("mm_vision_select_feature", self.mm_vision_select_feature, VISION_SELECT_FEATURES)
        _check_choice("chat_format", self.chat_format, CHAT_FORMATS)
        _check_choice("navigation_prompt", self.navigation_prompt, NAVIGATION_PROMPTS)
        if self.num_video_frames < 1:
            raise ValueError(f"NavVLMConfig.num_video_frames must be >= 1, got {self.num_video_frames}")
        if not 0 <= self.num_recent_frames < self.num_video_frames:
            raise ValueError(
                f"NavVLMConfig.num_recent_frames must be in [0, num_video_frames), got {self.num_recent_frames}"
            )
        if self.mm_frame_slots < 0:
            raise ValueError(f"NavVLMConfig.mm_frame_slots must be >= 0, got {self.mm_frame_slots}")
        if self.image_size is None:
            if getattr(self.vision_config, "image_size", None) is None:
                raise ValueError(
                    f"NavVLMConfig.image_size is required: vision_config "
                    f"({self.vision_config.model_type}) has no image_size"
                )
            self.image_size = _square_size(self.vision_config.image_size)
        if self.image_mean is None:
            self.image_mean = [0.5, 0.5, 0.5]
        if self.image_std is None:
            self.image_std = [0.5, 0.5, 0.5]
        for name in ("image_mean", "image_std"):
            if len(getattr(self, name)) != 3:
                raise ValueError(f"NavVLMConfig.{name} must hold 3 values (RGB), got {getattr(self, name)}")

    @property
    def mm_hidden_size(self) -> int:
        """Width of one vision token before projection (VILA's `mm_hidden_size`): the selected hidden state's
        width (a transformer's hidden_size; a convolutional encoder's channels at that stage)."""
        return vision_feature_width(self.vision_config, self.mm_vision_select_layer)

    @property
    def hidden_size(self) -> int:
        """Width of the language model's embeddings (the projector's output width)."""
        return self.text_config.hidden_size


def _check_choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"NavVLMConfig.{field} must be one of {choices}, got {value!r}")


def _square_size(image_size: int | list[int] | tuple[int, int]) -> int:
    if isinstance(image_size, int):
        return image_size
    height, width = image_size
    if height != width:
        raise ValueError(f"vision_config.image_size must be square, got {image_size}")
    return int(height)


AutoConfig.register(NavVLMConfig.model_type, NavVLMConfig, exist_ok=True)
