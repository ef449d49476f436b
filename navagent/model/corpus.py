"""Built-in text corpus for training the tiny test tokenizer.

Covers what the tiny model reads and writes: the NaVILA navigation prompt and the 10 action sentences (both
taken from ``navagent.agent``, their one source), VQA-style questions and answers, and instruction-like
sentences about rooms, furniture, colours and turns. Everything is enumerated deterministically (no
randomness); callers may append their own texts (e.g. generated instructions). The tokenizer trained on it is
pinned by ``tests/navagent/test_model_tiny.py`` (vocabulary digest and a few tokenised strings).
"""

from __future__ import annotations

from itertools import product

from navagent.agent.actions import FORWARD_CHOICES_CM, TURN_CHOICES_DEGREES, MidLevelAction
from navagent.agent.prompts import IMAGE_PLACEHOLDER, navigation_prompt
from navagent.envs.base import Action
from navagent.model.chat_format import LLAMA3_SYSTEM

ROOMS = (
    "kitchen",
    "bedroom",
    "bathroom",
    "living room",
    "dining room",
    "hallway",
    "office",
    "laundry room",
    "garage",
    "closet",
    "stairs",
    "entryway",
    "balcony",
    "study",
    "lounge",
)
FURNITURE = (
    "sofa",
    "couch",
    "table",
    "chair",
    "bed",
    "desk",
    "lamp",
    "shelf",
    "bookshelf",
    "cabinet",
    "dresser",
    "fridge",
    "oven",
    "sink",
    "toilet",
    "bathtub",
    "television",
    "plant",
    "rug",
    "armchair",
    "door",
    "window",
    "counter",
    "stool",
    "wardrobe",
    "mirror",
    "painting",
)
COLOURS = (
    "red",
    "green",
    "blue",
    "yellow",
    "white",
    "black",
    "brown",
    "gray",
    "orange",
    "purple",
    "teal",
    "pink",
)
SHAPES = ("circle", "rectangle", "triangle", "square")
TURNS = ("turn left", "turn right", "go straight", "turn around", "veer left", "veer right")
ORDINALS = ("first", "second", "third", "last", "next")
NUMBERS = ("one", "two", "three", "four", "five", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")

ACTION_SENTENCES = tuple(  # the 10 sentences the agent speaks (navagent.agent.actions), in a fixed order
    MidLevelAction(kind, amount).to_text()
    for kind, amounts in (
        (Action.MOVE_FORWARD, FORWARD_CHOICES_CM),
        (Action.TURN_LEFT, TURN_CHOICES_DEGREES),
        (Action.TURN_RIGHT, TURN_CHOICES_DEGREES),
        (Action.STOP, (0,)),
    )
    for amount in amounts
)


def instruction_sentences() -> list[str]:
    """Instruction-like sentences: walking between rooms and furniture, turns, stopping points."""
    sentences = []
    for room, item, colour in product(ROOMS, FURNITURE, COLOURS[:4]):
        sentences.append(f"Walk into the {room} and stop next to the {colour} {item}.")
    for turn, room, ordinal in product(TURNS, ROOMS, ORDINALS):
        sentences.append(f"Exit the {room}, {turn} at the {ordinal} doorway and wait there.")
    for item, colour, turn in product(FURNITURE, COLOURS, TURNS[:2]):
        sentences.append(f"Go past the {colour} {item}, then {turn} and walk down the hallway.")
    for number, room in product(NUMBERS, ROOMS):
        sentences.append(f"Take {number} steps forward, enter the {room} on your left and stop.")
    return sentences


def vqa_sentences() -> list[str]:
    """Questions and short answers in the style of image QA data."""
    sentences = []
    for colour, shape in product(COLOURS, SHAPES):
        sentences += [
            f"What shape is in the image? A {colour} {shape}.",
            f"Is there a {colour} {shape}? Yes.",
        ]
    for item, room in product(FURNITURE, ROOMS):
        sentences += [f"Is there a {item} in the {room}? No.", f"Where is the {item}? In the {room}."]
    for number, item in product(NUMBERS, FURNITURE):
        sentences.append(f"How many {item}s can you see? {number.capitalize()}.")
    sentences += [
        f"What color is the {item}? It is {colour}." for item, colour in product(FURNITURE, COLOURS)
    ]
    return sentences


def navigation_prompt_chunks(num_frames: int = 8) -> list[str]:
    """The NaVILA navigation prompt, filled with a few instructions, cut at its `<image>` slots (the slots
    themselves are never tokenised)."""
    chunks = []
    for text in instruction_sentences()[::97]:
        chunks += navigation_prompt(text, num_frames).split(IMAGE_PLACEHOLDER)
    return chunks


def tokenizer_corpus(extra_texts: tuple[str, ...] | list[str] = ()) -> list[str]:
    """All built-in texts (deterministic order) followed by `extra_texts`."""
    return [
        LLAMA3_SYSTEM.removeprefix("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"),
        *navigation_prompt_chunks(),
        *ACTION_SENTENCES * 20,
        *instruction_sentences(),
        *vqa_sentences(),
        *extra_texts,
    ]
