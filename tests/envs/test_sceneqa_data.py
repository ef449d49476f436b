"""The scene-QA generator: deterministic files, questions true to the house and the picture, POPE balance."""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import cache

import numpy as np
import pytest

from navagent.envs.builtin.episode_gen import SPLIT_SPECS, SPLITS, split_scene_ids
from navagent.envs.builtin.generator import generate_house, parse_scene_id
from navagent.envs.builtin.house import House
from navagent.envs.builtin.renderer import HouseRenderer
from navagent.envs.builtin.sceneqa import (
    SCENEQA_TEST_BASE,
    annotations_path,
    min_visible_pixels,
    sceneqa_scene_ids,
    write_sceneqa,
)
from navagent.envs.builtin.sceneqa_questions import (
    POPE_CONFIGS,
    CategoryStats,
    ViewFacts,
    choose_negative,
    negative_candidates,
    view_questions,
)
from navagent.envs.builtin.view_visibility import ViewCamera, objects_in_frustum, view_contents

SIZE = 64


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sceneqa")
    path = write_sceneqa(out, "test", num_scenes=2, per_scene=3, seed=3, image_size=SIZE, progress=False)
    return path, json.loads(path.read_text())


@cache
def house_of(scene_id: str) -> House:
    return generate_house(scene_id)


def test_files_are_deterministic(written, tmp_path):
    path, _ = written
    again = write_sceneqa(
        tmp_path, "test", num_scenes=2, per_scene=3, seed=3, image_size=SIZE, progress=False
    )
    assert again == annotations_path(tmp_path, "test")
    assert again.read_bytes() == path.read_bytes()
    images = sorted(p.name for p in (path.parent / "images").iterdir())
    assert len(images) == 6
    assert images == sorted(p.name for p in (again.parent / "images").iterdir())
    for name in images:
        assert (again.parent / "images" / name).read_bytes() == (path.parent / "images" / name).read_bytes()


def test_records_have_the_documented_fields(written):
    path, records = written
    assert len({r["id"] for r in records}) == len(records)
    for record in records:
        assert (path.parent / record["image"]).is_file()
        assert record["answer"] == record["answers"][0]
        assert record["type"] in ("room", "color", "count", "existence")
        assert (record["pope_config"] is not None) == (record["type"] == "existence")
        assert parse_scene_id(record["scene_id"]) >= SCENEQA_TEST_BASE


def _rendered_view(record, renderer: HouseRenderer):
    house = house_of(record["scene_id"])
    renderer.set_house(house)
    position, heading = np.array(record["position"]), record["heading"]
    _, depth = renderer.render(position, heading)
    contents = view_contents(house, ViewCamera.of_renderer(renderer), position, heading, depth)
    clear = {i for i, n in contents.object_pixels.items() if n >= min_visible_pixels(SIZE, SIZE)}
    return house, contents, clear


def test_answers_agree_with_the_house_and_the_rendered_view(written):
    _, records = written
    seen_types = Counter()
    with HouseRenderer(width=SIZE, height=SIZE, depth=True) as renderer:
        for record in records:
            house, contents, clear = _rendered_view(record, renderer)
            room = house.rooms[record["room_index"]]
            objects = [house.objects[i] for i in record["object_indices"]]
            seen_types[record["type"]] += 1
            assert room.bounds.contains(record["position"][0], record["position"][2])
            assert contents.room_fraction(room.index) >= 0.75
            if record["type"] == "room":
                assert record["answers"] == [room.room_type]
            elif record["type"] == "color":
                (obj,) = objects
                assert obj.category == record["category"] and obj.color_name == record["answer"]
                shown = [i for i in contents.object_pixels if house.objects[i].category == obj.category]
                assert shown == [obj.index] and obj.index in clear
            elif record["type"] == "count":
                visible = {i for i in clear if house.objects[i].category == record["category"]}
                assert set(record["object_indices"]) == visible
                assert int(record["answer"]) == len(visible)
            elif record["answer"] == "yes":
                assert objects and all(o.category == record["category"] and o.index in clear for o in objects)
            else:
                in_room = {o.category for o in house.objects if o.room_index == room.index}
                shown = {house.objects[i].category for i in contents.object_pixels}
                assert record["category"] not in in_room | shown and not objects
    assert seen_types["room"] == 6 and seen_types["existence"] == 36


def test_existence_questions_are_balanced_per_pope_config(written):
    _, records = written
    existence = [r for r in records if r["type"] == "existence"]
    counts = Counter((r["pope_config"], r["answer"]) for r in existence)
    assert set(counts) == {(config, answer) for config in POPE_CONFIGS for answer in ("yes", "no")}
    assert len(set(counts.values())) == 1


def test_split_houses_are_disjoint_from_navigation_houses():
    for seed in (0, 7, 1003):
        test = set(sceneqa_scene_ids("test", 50, seed))
        assert sceneqa_scene_ids("train", 50, seed) == split_scene_ids("train", 50, seed)
        for split in SPLITS:
            assert not test & set(split_scene_ids(split, 50, seed))
        assert min(parse_scene_id(s) for s in test) >= SCENEQA_TEST_BASE
    # the highest house index any navigation split of any seed can use
    for split in SPLITS:
        last = split_scene_ids(split, SPLIT_SPECS[split].max_scenes, 999)[-1]
        assert parse_scene_id(last) < SCENEQA_TEST_BASE
    assert set(sceneqa_scene_ids("test", 3, 0)).isdisjoint(sceneqa_scene_ids("test", 3, 1))


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="split"):
        write_sceneqa(tmp_path, "val", 1, 1, 0, progress=False)
    with pytest.raises(ValueError, match="per_scene"):
        write_sceneqa(tmp_path, "test", 1, 0, 0, progress=False)
    with pytest.raises(ValueError, match="num_scenes"):
        sceneqa_scene_ids("test", 0, 0)


def test_a_wall_hides_an_object_inside_the_frustum(closed_rooms):
    """Looking along +x from the left room: the right room's bed is in the frustum but behind the wall."""
    with HouseRenderer(width=96, height=96, depth=True) as renderer:
        renderer.set_house(closed_rooms)
        camera = ViewCamera.of_renderer(renderer)
        position, heading = np.array([0.5, 0.0, 1.5]), -math.pi / 2
        _, depth = renderer.render(position, heading)
        contents = view_contents(closed_rooms, camera, position, heading, depth)
        centre = camera.surface_points(position, heading, depth)[48, 48]
    assert 3 in objects_in_frustum(closed_rooms, camera, position, heading)  # the bed
    assert 3 not in contents.object_pixels and 2 not in contents.object_pixels  # right room: hidden
    assert contents.object_pixels[0] > 100  # the table straight ahead
    assert contents.room_pixels == {0: 96 * 96}
    assert centre[0] == pytest.approx(4.95, abs=1e-3)  # the dividing wall's face (wall 0.1 m thick at x = 5)


def _facts(clear, faint, room_categories, categories, colors=None) -> ViewFacts:
    return ViewFacts(
        room_type="kitchen",
        clear=tuple(clear),
        faint=tuple(faint),
        room_categories=frozenset(room_categories),
        category_of=dict(enumerate(categories)),
        color_of=dict(enumerate(colors or ["red"] * len(categories))),
    )


def test_faint_objects_block_colour_and_count_questions():
    # two chairs: one clear, one faint; one clear sofa
    facts = _facts([0, 2], [1], {"chair", "sofa"}, ["chair", "chair", "sofa"], ["red", "blue", "teal"])
    for seed in range(10):
        questions = {q.key: q for q in view_questions(facts, CategoryStats(), np.random.default_rng(seed))}
        assert questions["room"].answers == ("kitchen",)
        assert questions["color"].category == "sofa" and questions["color"].answers == ("teal",)
        assert questions["count"].category != "chair"


def test_negatives_avoid_present_and_confusable_categories():
    facts = _facts([0], [], {"sofa", "table"}, ["sofa"])
    candidates = negative_candidates(facts)
    for category in ("sofa", "table", "armchair", "coffee table", "desk", "bench"):
        assert category not in candidates
    assert "toilet" in candidates and "bed" in candidates


def test_popular_and_adversarial_negatives_follow_the_statistics():
    stats = CategoryStats(
        counts={"bed": 5, "toilet": 9, "lamp": 2}, cooccurrence={("sofa", "lamp"): 4, ("sofa", "bed"): 1}
    )
    rng = np.random.default_rng(0)
    candidates = ["bed", "lamp", "toilet"]
    assert choose_negative("popular", candidates, ["sofa"], stats, rng) == "toilet"
    assert choose_negative("adversarial", candidates, ["sofa"], stats, rng) == "lamp"
    assert choose_negative("random", candidates, ["sofa"], stats, rng) in candidates
    with pytest.raises(ValueError, match="POPE config"):
        choose_negative("hard", candidates, ["sofa"], stats, rng)
