"""Learnability: the training stack memorises a few dozen navigation records, and it does so through the images.

Three short episodes (26 decision records, `train_helpers.navigation_records`) whose answers depend only on
the step number. For the first steps the number of black padding frames tells the step; for the later ones of
the longer episodes only the current frame does (each frame has its own colour). The run goes through the
real stack: registry -> cached tower features (`navagent data features`) -> `navagent train` (frozen
nav-conv tower, the trainer's weighted loss). Afterwards every record's answer is the model's greedy answer
(teacher-forced argmax of every answer token), and giving each record another record's frames breaks the
records that only the images can tell apart.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from train_helpers import navigation_records, write_json

from navagent.model import IGNORE_INDEX, load_model_and_processor
from navagent.train.collate import SupervisedCollator
from navagent.train.datasets import load_navigation_dataset
from navagent.train.feature_cache import CachedFeatureFrames, FeatureCache
from navagent.train.run import build_feature_cache_from_config, train_from_config
from navagent.train.samples import Sample

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import numpy as np

    root = tmp_path_factory.mktemp("learnability")
    write_json(root / "nav" / "annotations.json", navigation_records(root / "nav", np.random.default_rng(0)))
    (root / "registry.yaml").write_text(
        "datasets:\n  nav:\n    type: navigation\n    root: nav\n    annotations: annotations.json\n"
    )
    config = root / "config.yaml"
    config.write_text(
        f"model:\n  tiny: {REPO_ROOT / 'configs/model/nav-conv.yaml'}\n"
        f"data:\n  registry: {root / 'registry.yaml'}\n  root: {root}\n  mixture: nav*4\n"
        f"  max_length: 512\n  feature_cache: {root / 'features'}\n"
        f"train:\n  output_dir: {root / 'run'}\n  max_steps: 200\n  batch_size: 13\n"
        "  learning_rate: 1.0e-3\n  lr_scheduler: constant\n  warmup_ratio: 0.0\n"
        "  freeze_vision_tower: true\n  use_cpu: true\n  save_steps: 1000\n  report_to: []\n  resume: null\n"
    )
    build_feature_cache_from_config(config)
    final = train_from_config(config)
    model, processor = load_model_and_processor(final)
    dataset = load_navigation_dataset(root / "nav" / "annotations.json", root / "nav", "nav")
    frames = CachedFeatureFrames(FeatureCache(root / "features"), root)
    return model.eval(), SupervisedCollator(processor, model.tokens_per_image, 512, frames=frames), dataset


def _exact(model, collator, samples: list[Sample]) -> list[bool]:
    """Per sample: does greedy decoding reproduce the whole answer (every answer token is the argmax)?"""
    batch = collator(samples)
    batch.pop("batch_stats")
    with torch.no_grad():
        spliced = model.prepare_multimodal_inputs(
            batch["input_ids"],
            batch["attention_mask"],
            labels=batch["labels"],
            vision_features=batch["vision_features"],
        )
        logits = model(inputs_embeds=spliced.inputs_embeds, attention_mask=spliced.attention_mask).logits
    targets = spliced.labels[:, 1:]
    correct = (logits[:, :-1].argmax(-1) == targets) | (targets == IGNORE_INDEX)
    return correct.all(dim=1).tolist()


def test_the_stack_memorises_navigation_records_and_needs_their_frames(trained):
    model, collator, dataset = trained
    samples = dataset.samples
    assert all(_exact(model, collator, samples)), "a few dozen records are not memorised"

    # each record gets the frames of another record of the same length (same padding, other images)
    rng = random.Random(0)
    shuffled = []
    for sample in samples:
        others = [s for s in samples if len(s.images) == len(sample.images) and s.images != sample.images]
        donor = rng.choice(others) if others else sample
        shuffled.append(Sample(sample.sample_id, sample.messages, donor.images))
    image_only = [i for i, s in enumerate(samples) if s.images[0] is not None]  # no padding: step >= 7
    assert image_only, "the fixture must hold records that only their frames tell apart"
    after = _exact(model, collator, shuffled)
    broken = sum(not after[i] for i in image_only)
    assert broken >= len(image_only) // 2, (
        f"only {broken} of {len(image_only)} records broke without their frames"
    )
