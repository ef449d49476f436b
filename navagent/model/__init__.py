"""VILA-style video VLM: config, vision tower, projectors, model, processing, checkpoint loading.

Importing this package registers `NavVLMConfig` / `NavVLMForCausalLM` with transformers' Auto classes
(AutoConfig, AutoModelForImageTextToText, AutoModelForCausalLM) under model_type "navagent_vlm".
"""

from navagent.model.chat_format import render_chat, render_llama3
from navagent.model.configuration import IGNORE_INDEX, IMAGE_TOKEN_INDEX, NavVLMConfig
from navagent.model.image_processing import ImagePreprocessor
from navagent.model.loading import (
    CheckpointFormatError,
    checkpoint_kind,
    load_model_and_processor,
    save_model_and_processor,
)
from navagent.model.modeling import NavVLMForCausalLM, default_attn_implementation
from navagent.model.processing import (
    IMAGE_TOKEN,
    NavVLMProcessor,
    TokenizedConversation,
    tokenize_with_images,
)
from navagent.model.projector import MultimodalProjector, SquareGridDownsample
from navagent.model.splicing import MultimodalInputs, splice_image_features
from navagent.model.tiny import (
    TinyModelSpec,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    load_tiny_model_spec,
)
from navagent.model.vila_format import (
    VilaFormatError,
    convert_vila_checkpoint,
    is_vila_checkpoint,
    load_vila_checkpoint,
)
from navagent.model.vision_tower import VisionTower

__all__ = [
    "IGNORE_INDEX",
    "IMAGE_TOKEN",
    "IMAGE_TOKEN_INDEX",
    "CheckpointFormatError",
    "ImagePreprocessor",
    "MultimodalInputs",
    "MultimodalProjector",
    "NavVLMConfig",
    "NavVLMForCausalLM",
    "NavVLMProcessor",
    "SquareGridDownsample",
    "TinyModelSpec",
    "TokenizedConversation",
    "VilaFormatError",
    "VisionTower",
    "build_tiny_model",
    "build_tiny_processor",
    "build_tiny_tokenizer",
    "checkpoint_kind",
    "convert_vila_checkpoint",
    "default_attn_implementation",
    "is_vila_checkpoint",
    "load_model_and_processor",
    "load_tiny_model_spec",
    "load_vila_checkpoint",
    "render_chat",
    "render_llama3",
    "save_model_and_processor",
    "splice_image_features",
    "tokenize_with_images",
]
