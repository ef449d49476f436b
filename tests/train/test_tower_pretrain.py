"""Stage 0: the views data command, in-memory examples (pixels as the processor makes them, mirrored labels),
heads, and a short pretraining run that writes a loadable model folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from navagent.envs.builtin.view_labels import CATEGORIES, COLOR_NAMES, NUM_SECTORS
from navagent.model import ImagePreprocessor, build_tiny_model, build_tiny_tokenizer, load_model_and_processor
from navagent.model.tiny import load_tiny_model_spec
from navagent.train.tower_data import (
    EASY_VQA_COLORS,
    EASY_VQA_SHAPES,
    ViewExamples,
    easy_vqa_image_labels,
    load_view_examples,
    normalize,
)
from navagent.train.tower_heads import TowerHeads, f1_score, view_losses
from navagent.train.tower_pretrain import load_tower_config, pretrain_tower
from navagent.train.view_data import load_views, write_views

REPO_ROOT = Path(__file__).resolve().parents[2]
NAV_CONV = REPO_ROOT / "configs" / "model" / "nav-conv.yaml"


@pytest.fixture(scope="module")
def views_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("views")
    return write_views(out, "train", num_scenes=1, per_scene=6, seed=5, image_size=96, progress=False)


def test_views_file_is_deterministic_and_labelled(views_file, tmp_path):
    document = load_views(views_file)
    views = document["views"]
    assert [v["kind"] for v in views] == ["path"] * 3 + ["free"] * 3
    for view in views:
        assert (views_file.parent / view["image"]).is_file()
        assert len(view["labels"]["door"]) == NUM_SECTORS
        assert all(set(objects) <= set(CATEGORIES) for objects in view["labels"]["objects"])
    again = write_views(tmp_path, "train", num_scenes=1, per_scene=6, seed=5, image_size=96, progress=False)
    assert load_views(again)["views"] == views
    with pytest.raises(ValueError, match="format"):
        load_views(_write_json(tmp_path / "other.json", {"format": "x"}))


def _write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_examples_match_the_processor_and_mirror_their_sectors(views_file):
    preprocessor = ImagePreprocessor(64)
    examples = load_view_examples(views_file, preprocessor)
    assert examples.pixels.shape == (6, 3, 64, 64) and examples.pixels.dtype == torch.uint8
    assert examples.objects.shape == (6, NUM_SECTORS, len(CATEGORIES))
    first_image = views_file.parent / load_views(views_file)["views"][0]["image"]
    with Image.open(first_image) as image:
        expected = preprocessor(image)
    torch.testing.assert_close(normalize(examples.pixels[:1], preprocessor), expected)

    mask = torch.tensor([True, False, True, False, False, False])
    mirrored = examples.flipped(mask)
    torch.testing.assert_close(mirrored.pixels[0], examples.pixels[0].flip(2))
    torch.testing.assert_close(mirrored.pixels[1], examples.pixels[1])
    for name in ("door", "through", "objects", "colors", "depth"):
        torch.testing.assert_close(getattr(mirrored, name)[2], getattr(examples, name)[2].flip(0))
        torch.testing.assert_close(getattr(mirrored, name)[3], getattr(examples, name)[3])
    torch.testing.assert_close(mirrored.room, examples.room)


def test_heads_read_sectors_from_map_columns():
    heads = TowerHeads(channels=8, side=4)
    tokens = torch.randn(2, 16, 8)
    grid = tokens.reshape(2, 4, 4, 8)  # row-major (N, rows, columns, C)
    mirrored = grid.flip(2).reshape(2, 16, 8)  # columns reversed = the image mirrored
    logits, mirrored_logits = heads(tokens), heads(mirrored)
    assert logits["door"].shape == (2, NUM_SECTORS) and logits["objects"].shape == (2, 4, len(CATEGORIES))
    torch.testing.assert_close(mirrored_logits["door"], logits["door"].flip(1))
    torch.testing.assert_close(mirrored_logits["room"], logits["room"])
    assert f1_score(torch.tensor([1, 0, 1]), torch.tensor([1, 1, 0])) == pytest.approx(0.5)


def test_easy_vqa_images_have_one_shape_and_colour():
    labels = easy_vqa_image_labels("test")
    assert 800 <= len(labels) <= 1000  # images whose questions leave shape or colour open are left out
    assert {s for s, _ in labels.values()} == set(EASY_VQA_SHAPES)
    assert {c for _, c in labels.values()} == set(EASY_VQA_COLORS)


def test_pretraining_writes_a_loadable_model_with_the_trained_tower(views_file, tmp_path):
    output = tmp_path / "tower"
    config = load_tower_config(
        REPO_ROOT / "configs" / "train" / "stage0" / "tower-pretrain.yaml",
        [
            f"--data.views={views_file}",
            f"--data.probe_views={views_file}",
            "--data.easy_vqa_limit=8",
            "--train.epochs=2",
            "--train.batch_size=3",
            "--train.easy_vqa_per_batch=2",
            "--train.warmup_steps=1",
            f"--train.output_dir={output}",
        ],
    )
    assert pretrain_tower(config) == output
    model, processor = load_model_and_processor(output)
    assert model.tokens_per_image == 4 and processor.image_processor.size == 64
    fresh = build_tiny_model(NAV_CONV, build_tiny_tokenizer(load_tiny_model_spec(NAV_CONV).tokenizer))
    trained, initial = model.state_dict(), fresh.state_dict()
    tower_keys = [k for k in trained if k.startswith("vision_tower.") and trained[k].is_floating_point()]
    assert any(not torch.equal(trained[k], initial[k]) for k in tower_keys)
    assert all(torch.equal(trained[k], initial[k]) for k in trained if k.startswith("llm."))
    probes = json.loads((output / "probes.json").read_text())
    assert probes["num_probe_views"] == 6 and 0.0 <= probes["room_accuracy"] <= 1.0
    assert {"door_f1", "object_f1", "color_f1", "easyvqa_shape_accuracy"} <= set(probes)
    assert len(json.loads((output / "losses.json").read_text())) == 2


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "configs" / "train" / "stage0").glob("*.yaml")), ids=str)
def test_shipped_stage0_configs_parse(path):
    config = load_tower_config(path)
    assert (REPO_ROOT / config.model.preset).is_file()


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match="epochs"):
        load_tower_config(None, ["--train.epochs=0"])
    with pytest.raises(ValueError, match="unknown"):
        load_tower_config(None, ["--train.epoch=3"])


def test_view_losses_are_finite():
    heads = TowerHeads(channels=8, side=4)
    logits = heads(torch.randn(3, 16, 8))
    batch = ViewExamples(
        pixels=torch.zeros(3, 3, 64, 64, dtype=torch.uint8),
        room=torch.tensor([0, 1, 2]),
        door=torch.zeros(3, NUM_SECTORS),
        through=torch.zeros(3, NUM_SECTORS, dtype=torch.long),
        objects=torch.zeros(3, NUM_SECTORS, len(CATEGORIES)),
        colors=torch.zeros(3, NUM_SECTORS, len(COLOR_NAMES)),
        depth=torch.zeros(3, NUM_SECTORS, dtype=torch.long),
    )
    assert all(torch.isfinite(v) for v in view_losses(logits, batch).values())
