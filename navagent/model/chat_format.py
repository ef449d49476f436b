"""Chat formats: VILA's "llama_3" conversation template, or the tokenizer's own chat template.

A conversation is a list of messages `{"role": "user" | "assistant", "content": str}`; user content may hold
`<image>` placeholders. `render_chat` returns the prompt text; `chat_add_special_tokens` says whether the
tokenizer should add its own BOS when tokenising that text (VILA's llama_3 text already starts with
`<|begin_of_text|>` and the tokenizer adds another: NaVILA sequences start with two BOS tokens).
`normalize_training_messages` is NaVILA's whitespace rule for training conversations (not for prompts at
inference, which NaVILA's evaluation templates as given).
"""

from __future__ import annotations

from collections.abc import Sequence

from navagent.model.configuration import CHAT_FORMATS

LLAMA3_BOS = "<|begin_of_text|>"
LLAMA3_EOT = "<|eot_id|>"
LLAMA3_END_OF_TEXT = "<|end_of_text|>"
LLAMA3_SYSTEM = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "You are a helpful language and vision assistant. You are able to understand the visual content that the "
    "user provides, and assist the user with a variety of tasks using natural language."
)
LLAMA3_ROLE_HEADERS = {
    "user": "<|start_header_id|>user<|end_header_id|>\n\n",
    "assistant": "<|start_header_id|>assistant<|end_header_id|>\n\n",
}
LLAMA3_SPECIAL_TOKENS = (
    LLAMA3_BOS,
    LLAMA3_END_OF_TEXT,
    "<|start_header_id|>",
    "<|end_header_id|>",
    LLAMA3_EOT,
)

Message = dict[str, str]


def render_chat(
    messages: Sequence[Message], chat_format: str, tokenizer=None, add_generation_prompt: bool = True
) -> str:
    """Prompt text for `messages`.

    llama_3 (VILA): system + `<|eot_id|>`, then per message role header + content + `<|eot_id|>`; the last
    message (a training answer) ends with `<|end_of_text|>` instead; `add_generation_prompt` appends the
    assistant header after a final user message. "tokenizer": `tokenizer.apply_chat_template(messages, tokenize=False, ...)`.
    """
    _check_messages(messages)
    if chat_format == "llama_3":
        return render_llama3(messages, add_generation_prompt)
    if chat_format == "tokenizer":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError('chat_format "tokenizer" needs a tokenizer with a chat_template')
        return tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
        )
    raise ValueError(f"chat_format must be one of {CHAT_FORMATS}, got {chat_format!r}")


def render_llama3(messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
    """VILA's `conv_llama_3` prompt.

    As in VILA, the generation prompt is an assistant message without content (only its role header), and every
    message with content ends with `<|eot_id|>` except the very last, which ends with `<|end_of_text|>`.
    """
    turns: list[tuple[str, str | None]] = [(m["role"], m["content"]) for m in messages]
    if add_generation_prompt:
        if turns[-1][0] != "user":
            raise ValueError("add_generation_prompt needs the last message to be the user's")
        turns.append(("assistant", None))
    text = LLAMA3_SYSTEM + LLAMA3_EOT
    for index, (role, content) in enumerate(turns):
        text += LLAMA3_ROLE_HEADERS[role]
        if content is not None:
            text += content + (LLAMA3_EOT if index < len(turns) - 1 else LLAMA3_END_OF_TEXT)
    return text


def normalize_training_messages(messages: Sequence[Message]) -> list[Message]:
    """NaVILA's normalisation of a training conversation before templating: every message value goes through
    `removeprefix("\\n").strip()` until it no longer changes (NaVILA's `llava/utils/tokenizer.py`
    `tokenize_conversation`). One `str.strip()` reaches that fixed point: it already removes a leading
    line break and all other outer whitespace. Returns new message dicts."""
    return [{**message, "content": message["content"].strip()} for message in messages]


def chat_add_special_tokens(chat_format: str) -> bool:
    """Whether tokenising the rendered prompt lets the tokenizer add its BOS (True only for VILA's llama_3)."""
    return chat_format == "llama_3"


def leading_bos(ids: Sequence[int], bos_id: int | None) -> int:
    """How many ``bos_id`` tokens ``ids`` starts with (0 when the tokenizer has no BOS).

    >>> leading_bos([0, 0, 7, 0], 0), leading_bos([7], 0), leading_bos([0], None)
    (2, 0, 0)
    """
    count = 0
    while bos_id is not None and count < len(ids) and ids[count] == bos_id:
        count += 1
    return count


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise ValueError("a conversation needs at least one message")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ValueError(
                f"message {index} must be a dict with keys 'role' and 'content', got {message!r}"
            )
        if message["role"] not in LLAMA3_ROLE_HEADERS:
            raise ValueError(f"message {index}: role must be 'user' or 'assistant', got {message['role']!r}")
        if not isinstance(message["content"], str):
            raise TypeError(f"message {index}: content must be a string")
