"""The VQA task registry: every benchmark by name, built in this one place.

A ``Task`` bundles a benchmark module's loader, scorer and the answer instruction its prompts end with.
``TASKS[name].load(**files)`` reads the benchmark's own local files (keyword names per task below) and
``TASKS[name].score(samples, predictions, **options)`` scores ``{question_id: text}``.

==============  =========================================================  ===========================
task            load(...) keywords                                         score options
==============  =========================================================  ===========================
vqav2           questions, annotations, image_dir                          mode: official | lmms-eval
gqa             questions, image_dir
textvqa         annotations, image_dir
pope            adversarial, popular, random (question files), image_dir
mme             root, categories
scienceqa_img   problems, pid_splits, image_dir, split
mmbench         tsv, image_cache_dir, circular
videomme        annotations, video_dir, durations
mvbench         json_dir, video_root, tasks
egoschema       questions, answers, video_dir
scanqa          annotations, media_dir, media_template                     meteor: None | True | False
easyvqa         split (data ship with the easy-vqa package)
sceneqa         annotations (``navagent data sceneqa``'s sceneqa_<split>.json)
==============  =========================================================  ===========================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from navagent.eval.vqa.sample import Sample
from navagent.eval.vqa.tasks import (
    easyvqa,
    egoschema,
    gqa,
    mmbench,
    mme,
    mvbench,
    pope,
    scanqa,
    sceneqa,
    scienceqa,
    textvqa,
    videomme,
    vqav2,
)


@dataclass(frozen=True)
class Task:
    """One benchmark: ``load(**files) -> samples``, ``score(samples, predictions, **options) -> report``."""

    name: str
    load: Callable[..., list[Sample]]
    score: Callable[..., dict[str, Any]]
    answer_instruction: str


def _task(module: ModuleType) -> Task:
    return Task(module.NAME, module.load, module.score, module.ANSWER_INSTRUCTION)


_MODULES: Sequence[ModuleType] = (
    vqav2, gqa, textvqa, pope, mme, scienceqa, mmbench, videomme, mvbench, egoschema, scanqa, easyvqa,
    sceneqa,
)  # fmt: skip
TASKS: Mapping[str, Task] = {module.NAME: _task(module) for module in _MODULES}


def get_task(name: str) -> Task:
    """The registered task ``name``; ValueError listing the known names otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown VQA task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name]
