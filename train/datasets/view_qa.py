"""Questions about stage-0 views (`navagent data views`), answered from the simulator's labels: the
"where is what" a navigating model must read from one frame, in the instructions' own words.

Each view of ``views_{split}.json`` (`navagent.train.view_data`) gives short-answer VQA samples
(`vqa_sample`: LLaVA-1.5's short-answer prompt), the left half of the picture being sectors ``0 .. S/2 - 1``:

* "Which room are you in?" -> the room type;
* "Is there a doorway on your left?" / "... on your right?" -> "yes" / "no";
* "Which room is through the doorway on your left?" (and right) -> the room type behind the side's doorway
  nearest the middle, when there is one;
* "What is on your left?" (and right) -> "a green plant" when the side shows exactly one object category in
  one colour, "nothing" when it shows none (no question when it shows more: the labels do not pair colours
  with objects).

Why: behaviour cloning alone teaches the language model to read a frame only through the expert's actions, a
weak signal diluted over ~200 tokens; it learns *whether* to turn long before it learns *which way*
(docs/DEFAULT_AGENT.md). These single-image samples are short, and their answers name sides, rooms and objects.
Sample ids: ``"{name}:{view id}/{question index}"``.
"""

from __future__ import annotations

from pathlib import Path

from navagent.train.datasets.base import SampleDataset
from navagent.train.datasets.vqa import vqa_sample
from navagent.train.samples import DataRecordError, resolve_under_root
from navagent.train.view_data import load_views

SIDES = ("left", "right")


def _side_sectors(num_sectors: int, side: str) -> list[int]:
    """Sector indices of one side, nearest the middle first."""
    half = num_sectors // 2
    return list(range(half - 1, -1, -1)) if side == "left" else list(range(half, num_sectors))


def view_questions(labels: dict, num_sectors: int) -> list[tuple[str, str]]:
    """(question, answer) pairs of one view's labels (module docstring), in a fixed order."""
    pairs = [("Which room are you in?", labels["room"])]
    for side in SIDES:
        sectors = _side_sectors(num_sectors, side)
        doors = [k for k in sectors if labels["door"][k]]
        pairs.append((f"Is there a doorway on your {side}?", "yes" if doors else "no"))
        behind = next((labels["through"][k] for k in doors if labels["through"][k]), None)
        if behind:
            pairs.append((f"Which room is through the doorway on your {side}?", behind))
        objects = {o for k in sectors for o in labels["objects"][k]}
        colors = {c for k in sectors for c in labels["colors"][k]}
        if not objects:
            pairs.append((f"What is on your {side}?", "nothing"))
        elif len(objects) == 1 and len(colors) == 1:
            pairs.append((f"What is on your {side}?", f"a {colors.pop()} {objects.pop()}"))
    return pairs


def load_view_qa_dataset(
    annotations: Path, data_root: Path, name: str = "viewqa", verify_files: bool = True
) -> SampleDataset:
    """The questions of every view of a views file (`annotations`); images are relative to `data_root`."""
    try:
        document = load_views(annotations)
    except (OSError, ValueError) as error:
        raise DataRecordError(f"dataset {name}: cannot read views file {annotations}: {error}") from error
    samples = []
    for view in document["views"]:
        view_id = view.get("id")
        image = resolve_under_root(data_root, view.get("image"), f"record {name}:{view_id}: image")
        for number, (question, answer) in enumerate(view_questions(view["labels"], document["num_sectors"])):
            samples.append(vqa_sample(f"{name}:{view_id}/{number}", image, question, answer))
    return SampleDataset(name, samples, verify_files)
