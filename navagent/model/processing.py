"""`<image>`-aware tokenisation and `NavVLMProcessor` (tokenizer + image preprocessor + chat format).

Tokenisation rule (VILA's `tokenizer_image_token`): split the prompt on `<image>`, tokenise each chunk, keep
one BOS at the start, strip the chunks' own leading BOS, and put `image_token_index` (-200) between chunks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer

from navagent.model.chat_format import (
    LLAMA3_END_OF_TEXT,
    LLAMA3_EOT,
    LLAMA3_ROLE_HEADERS,
    LLAMA3_SYSTEM,
    Message,
    chat_add_special_tokens,
    normalize_training_messages,
    render_chat,
)
from navagent.model.configuration import CHAT_FORMATS, IGNORE_INDEX, IMAGE_TOKEN_INDEX
from navagent.model.image_processing import ImageInput, ImagePreprocessor

IMAGE_TOKEN = "<image>"
PROCESSOR_CONFIG_NAME = "navagent_processor_config.json"


def tokenize_with_images(
    text: str,
    tokenizer,
    add_special_tokens: bool = True,
    image_token: str = IMAGE_TOKEN,
    image_token_index: int = IMAGE_TOKEN_INDEX,
) -> list[int]:
    """Token ids of `text` with one `image_token_index` per `image_token` (see module docstring)."""
    chunks = [
        tokenizer(chunk, add_special_tokens=add_special_tokens).input_ids for chunk in text.split(image_token)
    ]
    bos = tokenizer.bos_token_id
    starts_with_bos = bos is not None and chunks[0][:1] == [bos]
    ids = [bos] if starts_with_bos else []
    for index, chunk in enumerate(chunks):
        if index > 0:
            ids.append(image_token_index)
        ids.extend(chunk[1:] if starts_with_bos and chunk[:1] == [bos] else chunk)
    return ids


@dataclass
class TokenizedConversation:
    """input_ids (with image slots) and labels (IGNORE_INDEX except on assistant answers), same length."""

    input_ids: list[int]
    labels: list[int]


class NavVLMProcessor:
    """Bundles the tokenizer, the image preprocessor and the chat format of a NavVLM model."""

    def __init__(
        self,
        tokenizer,
        image_processor: ImagePreprocessor,
        chat_format: str = "llama_3",
        image_token: str = IMAGE_TOKEN,
        image_token_index: int = IMAGE_TOKEN_INDEX,
    ):
        if chat_format not in CHAT_FORMATS:
            raise ValueError(f"chat_format must be one of {CHAT_FORMATS}, got {chat_format!r}")
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.chat_format = chat_format
        self.image_token = image_token
        self.image_token_index = image_token_index

    # ---- text ----
    def apply_chat(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        """Prompt text of a conversation in this processor's chat format."""
        return render_chat(messages, self.chat_format, self.tokenizer, add_generation_prompt)

    def user_prompt(self, user_message: str) -> str:
        """A single-turn prompt ending with the assistant header, ready for generation."""
        return self.apply_chat([{"role": "user", "content": user_message}], add_generation_prompt=True)

    def tokenize(self, text: str, first_segment: bool = True) -> list[int]:
        """Token ids of rendered prompt text (BOS handling per the chat format) with image slots."""
        add_special = first_segment and chat_add_special_tokens(self.chat_format)
        return tokenize_with_images(
            text, self.tokenizer, add_special, self.image_token, self.image_token_index
        )

    def tokenize_conversation(self, messages: Sequence[Message]) -> TokenizedConversation:
        """Training ids and labels: assistant answers (with their closing token) are labelled, the rest is
        IGNORE_INDEX. Message values are first stripped (NaVILA's `normalize_training_messages`). Segments are
        tokenised separately; their boundaries sit at special tokens or line breaks."""
        segments = self._conversation_segments(normalize_training_messages(messages))
        input_ids: list[int] = []
        labels: list[int] = []
        for index, (text, is_target) in enumerate(segments):
            ids = self.tokenize(text, first_segment=index == 0)
            input_ids.extend(ids)
            labels.extend([i if is_target and i != self.image_token_index else IGNORE_INDEX for i in ids])
        return TokenizedConversation(input_ids, labels)

    def _conversation_segments(self, messages: Sequence[Message]) -> list[tuple[str, bool]]:
        full = self.apply_chat(messages, add_generation_prompt=False)
        if self.chat_format == "llama_3":
            segments = [(LLAMA3_SYSTEM + LLAMA3_EOT, False)]
            for index, message in enumerate(messages):
                closing = LLAMA3_END_OF_TEXT if index == len(messages) - 1 else LLAMA3_EOT
                segments.append((LLAMA3_ROLE_HEADERS[message["role"]], False))
                segments.append((message["content"] + closing, message["role"] == "assistant"))
        else:
            segments, done = [], ""
            for index, message in enumerate(messages):
                if message["role"] != "assistant":
                    continue
                before = self.apply_chat(messages[:index], add_generation_prompt=True)
                through = self.apply_chat(messages[: index + 1], add_generation_prompt=False)
                if not (before.startswith(done) and through.startswith(before)):
                    raise ValueError(
                        "the tokenizer's chat template does not render conversations prefix by prefix"
                    )
                segments += [(before[len(done) :], False), (through[len(before) :], True)]
                done = through
            if not full.startswith(done):
                raise ValueError(
                    "the tokenizer's chat template does not render conversations prefix by prefix"
                )
            segments.append((full[len(done) :], False))
        if "".join(text for text, _ in segments) != full:
            raise AssertionError("conversation segments do not add up to the rendered conversation")
        return [(text, target) for text, target in segments if text]

    # ---- batches ----
    def __call__(
        self,
        prompts: str | Sequence[str],
        images: Sequence[ImageInput] | None = None,
        padding_side: str = "left",
    ) -> dict[str, torch.Tensor]:
        """Rendered prompts -> {"input_ids" (B, L), "attention_mask" (B, L), "pixel_values" (N, 3, S, S)}.

        Images are in slot order over the whole batch (prompt 0's slots first)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        batch = self.pad([self.tokenize(prompt) for prompt in prompts], padding_side)
        if images is not None:
            batch["pixel_values"] = self.image_processor(images)
        return batch

    def pad(self, sequences: Sequence[Sequence[int]], padding_side: str = "left") -> dict[str, torch.Tensor]:
        """Pad id lists to one (B, L) tensor plus attention_mask."""
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        if not sequences:
            raise ValueError("pad needs at least one sequence")
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        length = max(len(ids) for ids in sequences)
        input_ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, ids in enumerate(sequences):
            span = slice(length - len(ids), length) if padding_side == "left" else slice(0, len(ids))
            input_ids[row, span] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, span] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def batch_decode(self, token_ids: torch.Tensor | Sequence[Sequence[int]]) -> list[str]:
        """Generated ids (B, T) -> stripped texts without special tokens."""
        texts = self.tokenizer.batch_decode(token_ids, skip_special_tokens=True)
        return [text.strip() for text in texts]

    @property
    def stop_token_ids(self) -> list[int]:
        """Ids that end generation: `<|eot_id|>` and `<|end_of_text|>` when present, else the tokenizer's EOS."""
        vocab = self.tokenizer.get_vocab()
        ids = [vocab[token] for token in (LLAMA3_EOT, LLAMA3_END_OF_TEXT) if token in vocab]
        if not ids and self.tokenizer.eos_token_id is not None:
            ids = [self.tokenizer.eos_token_id]
        return ids

    # ---- persistence ----
    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory)
        self.image_processor.save_pretrained(directory)
        settings = {
            "chat_format": self.chat_format,
            "image_token": self.image_token,
            "image_token_index": self.image_token_index,
        }
        (directory / PROCESSOR_CONFIG_NAME).write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> NavVLMProcessor:
        directory = Path(directory)
        settings_path = directory / PROCESSOR_CONFIG_NAME
        if not settings_path.is_file():
            raise FileNotFoundError(f"no {PROCESSOR_CONFIG_NAME} in {directory}: not a saved NavVLMProcessor")
        settings = json.loads(settings_path.read_text())
        tokenizer = AutoTokenizer.from_pretrained(directory)
        return cls(tokenizer, ImagePreprocessor.from_pretrained(directory), **settings)
