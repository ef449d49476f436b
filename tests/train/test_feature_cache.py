"""Stage 1: cached tower features (navagent.train.feature_cache) and mirror augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from navagent.agent.prompts import mirror_left_right, navigation_prompt, normalize_instruction
from navagent.model import build_tiny_model, build_tiny_processor, build_tiny_tokenizer, load_tiny_model_spec
from navagent.train.collate import SupervisedCollator
from navagent.train.datasets import load_navigation_dataset
from navagent.train.feature_cache import (
    BLACK_KEY,
    MIRROR_PREFIX,
    CachedFeatureFrames,
    FeatureCache,
    FeatureCacheError,
    build_feature_cache,
    frame_key,
)
from navagent.train.mixtures import MixtureError, load_registry
from navagent.train.samples import DataRecordError, load_sample_images

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def conv_model_and_processor():
    spec = load_tiny_model_spec(REPO_ROOT / "configs" / "model" / "nav-conv.yaml")
    tokenizer = build_tiny_tokenizer(spec.tokenizer)
    return build_tiny_model(spec, tokenizer).eval(), build_tiny_processor(spec, tokenizer)


@pytest.fixture(scope="module")
def mirrored_nav(data_root):
    return load_navigation_dataset(
        data_root / "nav" / "annotations.json", data_root / "nav", "nav", mirror=True
    )


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, conv_model_and_processor, mirrored_nav, data_root):
    model, processor = conv_model_and_processor
    out = tmp_path_factory.mktemp("cache") / "features"
    build_feature_cache(model, processor, mirrored_nav.samples, data_root, out, batch_size=16, progress=False)
    return out


def test_mirror_swaps_left_and_right_in_text_and_flips_the_frames(mirrored_nav, data_root):
    assert mirror_left_right("Turn LEFT, then Right; the leftover bright lamp.") == (
        "Turn RIGHT, then Left; the leftover bright lamp."
    )
    original, twin = mirrored_nav.samples[0], mirrored_nav.samples[1]
    assert twin.sample_id == original.sample_id + "~mirror" and twin.mirrored and not original.mirrored
    assert twin.images == original.images
    records = json.loads((data_root / "nav" / "annotations.json").read_text())
    instruction = normalize_instruction(mirror_left_right(records[0]["q"]))
    assert twin.messages[0]["content"] == navigation_prompt(instruction)  # the fixed prompt text stays as is
    assert twin.messages[0]["content"] != original.messages[0]["content"]
    assert twin.messages[1]["content"] == mirror_left_right(original.messages[1]["content"])
    plain, flipped = load_sample_images(original, 32)[-1], load_sample_images(twin, 32)[-1]
    assert torch.equal(
        torch.from_numpy(np.asarray(flipped)).reshape(plain.size[1], plain.size[0], 3),
        torch.from_numpy(np.asarray(plain)).reshape(plain.size[1], plain.size[0], 3).flip(1),
    )


def test_registry_mirror_is_for_navigation_only(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("datasets:\n  chat: {type: conversation, annotations: a.json, mirror: true}\n")
    with pytest.raises(MixtureError, match="mirror"):
        load_registry(path)


def test_the_cache_holds_the_towers_outputs_for_every_frame_once(
    cache_dir, conv_model_and_processor, mirrored_nav, data_root
):
    model, processor = conv_model_and_processor
    cache = FeatureCache(cache_dir)
    refs = {(ref, s.mirrored) for s in mirrored_nav.samples for ref in s.images}
    assert len(cache) == len({frame_key(ref, mirrored, data_root) for ref, mirrored in refs} | {BLACK_KEY})
    cache.check_matches(model)
    sample = mirrored_nav.samples[-1]  # a mirrored sample with several real frames
    frames = CachedFeatureFrames(cache, data_root)
    cached = frames.stack(frames.load(sample))
    with torch.no_grad():
        live = model.vision_tower(
            processor.image_processor(load_sample_images(sample, processor.image_processor.size))
        )
    assert cached.shape == live.shape
    torch.testing.assert_close(cached, live, atol=2e-2, rtol=1e-2)  # fp16 on disk
    assert any(k.startswith(MIRROR_PREFIX) for k in cache.rows)


def test_decoding_in_worker_processes_gives_the_same_features_as_decoding_in_process(
    cache_dir, conv_model_and_processor, mirrored_nav, data_root, tmp_path
):
    model, processor = conv_model_and_processor
    out = tmp_path / "features"
    build_feature_cache(
        model, processor, mirrored_nav.samples, data_root, out, batch_size=16, progress=False, workers=0
    )
    in_process, in_workers = FeatureCache(out), FeatureCache(cache_dir)  # cache_dir: the default, 2 workers
    assert len(in_workers) > 2 * 16  # several batches: the workers decoded them
    assert list(in_process.rows) == list(in_workers.rows)
    torch.testing.assert_close(in_process.features, in_workers.features, atol=0, rtol=0)


def test_a_rebuild_computes_only_new_frames_and_keeps_exactly_the_samples_frames(
    cache_dir, conv_model_and_processor, mirrored_nav, data_root, tmp_path
):
    model, processor = conv_model_and_processor
    plain = [s for s in mirrored_nav.samples if not s.mirrored]
    out = tmp_path / "features"
    build_feature_cache(model, processor, plain[:2], data_root, out, batch_size=16, progress=False)
    first = FeatureCache(out)
    seen: list[int] = []
    hook = model.vision_tower.register_forward_hook(lambda m, args, out: seen.append(len(out)))
    try:
        build_feature_cache(
            model, processor, mirrored_nav.samples, data_root, out, batch_size=16, progress=False
        )
    finally:
        hook.remove()
    grown, full = FeatureCache(out), FeatureCache(cache_dir)
    assert set(grown.rows) == set(full.rows)  # exactly the frames of the new samples
    assert sum(seen) == len(full) - len(first)  # the tower ran on the new frames only
    for key in first.rows:
        torch.testing.assert_close(grown.lookup(key), first.lookup(key), atol=0, rtol=0)
    for key in full.rows:
        torch.testing.assert_close(grown.lookup(key), full.lookup(key), atol=2e-3, rtol=2e-3)
    build_feature_cache(model, processor, plain[:1], data_root, out, batch_size=16, progress=False)
    assert len(FeatureCache(out)) < len(first) + 1 and set(FeatureCache(out).rows) <= set(first.rows)


def test_training_from_the_cache_gives_the_loss_of_the_pixel_path(
    cache_dir, conv_model_and_processor, mirrored_nav, data_root
):
    model, processor = conv_model_and_processor
    samples = mirrored_nav.samples[:6]
    pixels = SupervisedCollator(processor, model.tokens_per_image, 1024)(samples)
    cached = SupervisedCollator(
        processor,
        model.tokens_per_image,
        1024,
        frames=CachedFeatureFrames(FeatureCache(cache_dir), data_root),
    )(samples)
    assert "vision_features" in cached and "pixel_values" not in cached
    for batch in (pixels, cached):
        batch.pop("batch_stats")
    with torch.no_grad():
        loss_pixels = model(**pixels).loss
        loss_cached = model(**cached).loss
    torch.testing.assert_close(loss_cached, loss_pixels, atol=1e-2, rtol=1e-2)


def test_a_cache_of_another_tower_or_missing_frames_is_refused(cache_dir, mirrored_nav, data_root, tmp_path):
    spec = load_tiny_model_spec(REPO_ROOT / "configs" / "model" / "nav-conv.yaml")
    other = build_tiny_model(spec, build_tiny_tokenizer(spec.tokenizer))
    with torch.no_grad():
        next(other.vision_tower.parameters()).add_(1.0)
    cache = FeatureCache(cache_dir)
    with pytest.raises(FeatureCacheError, match="another vision tower"):
        cache.check_matches(other)
    plain = load_navigation_dataset(data_root / "nav" / "annotations.json", data_root / "nav", "nav")
    elsewhere = CachedFeatureFrames(cache, tmp_path)  # another data root: the keys do not match
    with pytest.raises(DataRecordError, match="not in the feature cache"):
        elsewhere.load(plain.samples[-1])
    with pytest.raises(FeatureCacheError, match="missing"):
        FeatureCache(tmp_path / "nothing")


def test_a_frozen_conv_tower_keeps_its_batchnorm_statistics_while_the_rest_trains(
    tmp_path, data_root, registry_path
):
    from navagent.train.run import train_from_config

    spec_path = REPO_ROOT / "configs" / "model" / "nav-conv.yaml"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"model:\n  tiny: {spec_path}\ndata:\n  registry: {registry_path}\n  root: {data_root}\n  mixture: nav\n"
        f"train:\n  output_dir: {tmp_path / 'run'}\n  max_steps: 2\n  batch_size: 4\n  learning_rate: 1.0e-2\n"
        "  freeze_vision_tower: true\n  use_cpu: true\n  save_steps: 1000\n  report_to: []\n  resume: null\n"
    )
    final = train_from_config(config)  # pixel path: the tower runs on every batch
    spec = load_tiny_model_spec(spec_path)
    before = build_tiny_model(spec, build_tiny_tokenizer(spec.tokenizer)).vision_tower.state_dict()
    from navagent.model import load_model_and_processor

    after = load_model_and_processor(final)[0].vision_tower.state_dict()
    assert any("running_mean" in name for name in before)
    for name, tensor in before.items():
        torch.testing.assert_close(after[name], tensor, msg=name)
