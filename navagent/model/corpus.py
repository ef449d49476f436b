"""Built-in text corpus for training the tiny test tokenizer.

Covers what the tiny model reads and writes: the NaVILA navigation prompt, the 10 action sentences, VQA-style
questions and answers, and instruction-like sentences about rooms, furniture, colours and turns. Everything is
enumerated deterministically (no randomness); callers may append their own texts (e.g. generated instructions).
"""

from __future__ import annotations

from itertools import product

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

ACTION_SENTENCES = (
    *(f"The next action is move forward {cm} cm." for cm in (25, 50, 75)),
    *(f"The next action is turn left {deg} degree." for deg in (15, 30, 45)),
    *(f"The next action is turn right {deg} degree." for deg in (15, 30, 45)),
    "I think I should stop because I have finished the instruction.",
)

_NAVIGATION_PROMPT = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical "
    'observations {history}, and current observation <image>\n. Your assigned task is: "{instruction}" '
    "Analyze this series of images to decide your next action, which could be turning left or right by a "
    "specific degree, moving forward a certain distance, or stop if the task is completed."
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
    history = "<image>\n" * (num_frames - 1)
    chunks = []
    for text in instruction_sentences()[::97]:
        chunks += _NAVIGATION_PROMPT.format(history=history, instruction=text).split("<image>")
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
