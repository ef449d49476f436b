"""Data-writing helpers for navagent.train tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from navagent.model.corpus import ACTION_SENTENCES

INSTRUCTIONS = (
    "walk past the sofa .\nturn left at the door. stop by the lamp",
    "Go into the kitchen and wait next to the fridge.",
    "Exit the bedroom, turn right and stop at the table.",
)
EPISODE_LENGTHS = (3, 9, 14)


def write_frame(path: Path, rng: np.random.Generator, size: int = 32) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = rng.integers(0, 256, size=3, dtype=np.uint8)
    pixels = np.broadcast_to(colour, (size, size, 3)).copy()
    pixels[rng.integers(0, size) :, : rng.integers(1, size)] = 255 - colour
    Image.fromarray(pixels).save(path, quality=90)
    return path.name


def write_json(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1))
    return path


def navigation_records(root: Path, rng: np.random.Generator) -> list[dict]:
    """NaVILA records for every decision point of three short episodes (frames under root/episodes/<ep>/)."""
    records = []
    for episode, (length, instruction) in enumerate(zip(EPISODE_LENGTHS, INSTRUCTIONS)):
        frames = [
            f"episodes/{episode}/" + write_frame(root / "episodes" / str(episode) / f"frame_{i}.jpg", rng)
            for i in range(length)
        ]
        for step in range(length):
            answer = ACTION_SENTENCES[-1] if step == length - 1 else ACTION_SENTENCES[step % 9]
            records.append(
                {"video_id": f"{episode}-{step}", "q": instruction, "a": answer, "frames": frames[: step + 1]}
            )
    return records


def conversation_records(root: Path, rng: np.random.Generator) -> list[dict]:
    """LLaVA records: single image, two-turn multi-frame, text-only."""
    image = "images/" + write_frame(root / "images" / "room.jpg", rng)
    clip = ["clips/a/" + write_frame(root / "clips" / "a" / f"{i}.jpg", rng) for i in range(3)]
    return [
        {
            "id": "img-1",
            "image": image,
            "conversations": [
                {"from": "human", "value": "<image>\nWhat room is this?"},
                {"from": "gpt", "value": "It is the kitchen."},
            ],
        },
        {
            "id": "frames-1",
            "frames": clip,
            "conversations": [
                {"from": "human", "value": "<image>\n<image>\n<image>\nWhere did the camera go?"},
                {"from": "gpt", "value": "Into the hallway."},
                {"from": "human", "value": "What is on the left?"},
                {"from": "gpt", "value": "A red chair."},
            ],
        },
        {
            "id": "text-1",
            "conversations": [
                {"from": "human", "value": "How many doors does a room need?"},
                {"from": "gpt", "value": "One."},
            ],
        },
    ]
