"""Instruction writer: route analysis and phrasing on hand-built houses, vocab and tokenisation."""

from __future__ import annotations

import numpy as np
import pytest

from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.house import Box2D, Doorway, FurnitureObject, House, Room, Wall
from navagent.envs.builtin.instructions import (
    STYLES,
    compose_instruction,
    instruction_vocab,
    phrasing_words,
    tokenize,
    tokenize_instruction,
    write_instruction,
)
from navagent.envs.builtin.route import describe_route

GREY = (0.5, 0.5, 0.5)
T = 0.05  # half wall thickness


# ------------------------------------------------------------------------------------------ the builder
def wall(x0: float, z0: float, x1: float, z1: float) -> Wall:
    return Wall(Box2D(x0, z0, x1, z1), 2.6, GREY)


def thing(index: int, room: int, category: str, color: str, box: Box2D, yaw: int = 0) -> FurnitureObject:
    return FurnitureObject(index, category, color, GREY, room, box, 0.8, yaw)


def three_room_house(
    kitchen_type: str = "kitchen", duplicate_chairs: bool = False, furniture: bool = True
) -> House:
    """A bedroom (x 0-5, z 0-4) and a kitchen (x 0-5, z 4-8) west of a hallway (x 5-7, z 0-8).

    Doors in the wall x = 5 at z 1.5-2.5 (bedroom) and z 5.5-6.5 (kitchen); no door between bedroom and
    kitchen. A red table stands in the hallway by its east wall, a green sofa against the kitchen's south
    wall facing north (-z); ``duplicate_chairs`` adds two green chairs in the kitchen, nearer the goal."""
    rooms = (
        Room(0, "bedroom", Box2D(0, 0, 5, 4), GREY, GREY, "wood", "plain"),
        Room(1, "hallway", Box2D(5, 0, 7, 8), GREY, GREY, "wood", "plain"),
        Room(2, kitchen_type, Box2D(0, 4, 5, 8), GREY, GREY, "wood", "plain"),
    )
    walls = [
        wall(-T, -T, 7 + T, T),
        wall(-T, 8 - T, 7 + T, 8 + T),
        wall(-T, -T, T, 8 + T),
        wall(7 - T, -T, 7 + T, 8 + T),
        wall(5 - T, 0, 5 + T, 1.5),
        wall(5 - T, 2.5, 5 + T, 5.5),
        wall(5 - T, 6.5, 5 + T, 8),
        wall(0, 4 - T, 5, 4 + T),
    ]
    doorways = (Doorway((0, 1), (5.0, 2.0), 1.0, "z"), Doorway((1, 2), (5.0, 6.0), 1.0, "z"))
    objects = []
    if furniture:
        objects = [
            thing(0, 0, "bed", "blue", Box2D(0.1, 0.1, 1.9, 2.1)),
            thing(1, 1, "table", "red", Box2D(5.9, 3.5, 6.9, 4.5)),
            thing(2, 2, "sofa", "green", Box2D(1.0, 7.0, 3.0, 7.9), yaw=180),
        ]
        if duplicate_chairs:
            objects += [
                thing(3, 2, "chair", "green", Box2D(1.8, 5.6, 2.2, 6.0)),
                thing(4, 2, "chair", "green", Box2D(0.2, 4.2, 0.6, 4.6)),
            ]
    return House("test/three_rooms", 0, rooms, doorways, tuple(walls), tuple(objects))


START = np.array([1.0, 0.0, 3.0])
GOAL = np.array([2.0, 0.0, 6.5])  # 0.5 m in front of the green sofa


def shortest_path(house: House, start: np.ndarray = START, goal: np.ndarray = GOAL) -> list[np.ndarray]:
    path = GeodesicPlanner(house).shortest_path(start, goal)
    assert len(path) >= 2
    return path


@pytest.fixture(scope="module")
def house() -> House:
    return three_room_house()


@pytest.fixture(scope="module")
def path(house: House) -> list[np.ndarray]:
    return shortest_path(house)


# ------------------------------------------------------------------------------------------ the route
def test_route_reads_rooms_turns_landmarks_and_stop(house: House, path: list[np.ndarray]) -> None:
    route = describe_route(house, path)
    assert route.start_room.room_type == "bedroom"
    assert [(c.from_room.room_type, c.to_room.room_type) for c in route.room_changes] == [
        ("bedroom", "hallway"),
        ("hallway", "kitchen"),
    ]
    # east, then south (clockwise seen from above: right), then west (right again), both at the doors
    assert [c.turn.direction for c in route.room_changes] == ["right", "right"]
    assert route.turns == ()
    assert [(p.landmark.category, p.side) for p in route.passings] == [("table", "left")]  # walking +z
    assert route.stop.landmark.category == "sofa"
    assert route.stop.relation == "in_front_of"


def test_left_turns_mirror_right_turns(house: House) -> None:
    """The reverse walk (kitchen -> bedroom) turns left twice and passes the table on the right."""
    start = np.array([2.0, 0.0, 6.5])
    goal = np.array([1.0, 0.0, 3.0])
    route = describe_route(house, shortest_path(house, start, goal))
    assert [c.turn.direction for c in route.room_changes] == ["left", "left"]
    assert [p.side for p in route.passings] == ["right"]
    assert route.stop.landmark.category == "bed"


def test_duplicate_objects_are_never_the_stop_landmark() -> None:
    house = three_room_house(duplicate_chairs=True)
    route = describe_route(house, shortest_path(house))
    assert route.stop.landmark.category == "sofa"  # the two green chairs are nearer but ambiguous
    for seed in range(20):
        text = write_instruction(house, shortest_path(house), np.random.default_rng(seed), "seen")
        assert "green chair" not in text


def test_stop_without_landmark_names_the_room() -> None:
    house = three_room_house(furniture=False)
    route = describe_route(house, shortest_path(house))
    assert route.stop.landmark is None and route.stop.room.room_type == "kitchen"
    text = write_instruction(house, shortest_path(house), np.random.default_rng(0), "seen")
    assert "kitchen" in text.split(".")[-2]  # the last sentence says where to stop


def test_second_room_of_a_type_is_another() -> None:
    house = three_room_house(kitchen_type="bedroom")
    text = compose_instruction(house, shortest_path(house), np.random.default_rng(0), "seen", "steps").text
    assert "another bedroom" in text


def test_path_validation(house: House) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least two"):
        write_instruction(house, [START], rng)
    with pytest.raises(ValueError, match="zero length"):
        write_instruction(house, [START, START.copy()], rng)
    with pytest.raises(ValueError, match="phrasing"):
        write_instruction(house, [START, GOAL], rng, phrasing="val_unseen")
    with pytest.raises(ValueError, match="style"):
        compose_instruction(house, [START, GOAL], rng, "unseen", style="steps")


# ------------------------------------------------------------------------------------------ phrasing
@pytest.mark.parametrize("phrasing", ["seen", "unseen"])
def test_every_style_mentions_rooms_turns_and_stop_landmark(
    house: House, path: list[np.ndarray], phrasing: str
) -> None:
    for style in STYLES[phrasing]:
        for seed in range(5):
            text = compose_instruction(house, path, np.random.default_rng(seed), phrasing, style).text
            words = tokenize(text)
            assert "hallway" in words and "kitchen" in words, text
            assert "right" in words and "left" not in words[: words.index("red")], text  # two right turns
            assert "the green sofa" in text, text
            assert text[0].isupper() and text.endswith("."), text


def test_phrasings_differ(house: House, path: list[np.ndarray]) -> None:
    seen = {compose_instruction(house, path, np.random.default_rng(s), "seen") for s in range(60)}
    unseen = {compose_instruction(house, path, np.random.default_rng(s), "unseen") for s in range(60)}
    assert {c.style for c in seen} == set(STYLES["seen"]) and len(STYLES["seen"]) >= 4
    assert {c.style for c in unseen} == set(STYLES["unseen"])
    assert not set(STYLES["seen"]) & set(STYLES["unseen"])
    assert len({c.text for c in seen}) >= 30
    assert not {c.text for c in seen} & {c.text for c in unseen}


def test_held_out_words_never_appear_in_seen_phrasing(house: House, path: list[np.ndarray]) -> None:
    held_out = phrasing_words("unseen") - phrasing_words("seen")
    assert {"halt", "proceed", "head"} <= held_out
    reverse = shortest_path(house, GOAL, START)
    for seed in range(60):
        for walk in (path, reverse):
            seen_words = set(tokenize(write_instruction(house, walk, np.random.default_rng(seed), "seen")))
            unseen_words = set(
                tokenize(write_instruction(house, walk, np.random.default_rng(seed), "unseen"))
            )
            assert not seen_words & held_out
            assert unseen_words & held_out


def test_same_rng_state_same_text(house: House, path: list[np.ndarray]) -> None:
    for phrasing in ("seen", "unseen", None):
        a = write_instruction(house, path, np.random.default_rng(7), phrasing)
        b = write_instruction(house, path, np.random.default_rng(7), phrasing)
        assert a == b
    assert write_instruction(house, path, np.random.default_rng(7), None) == write_instruction(
        house, path, np.random.default_rng(7), "seen"
    )


# ------------------------------------------------------------------------------------ vocab and tokens
def test_vocab_is_fixed_sorted_and_covers_generated_text(house: House, path: list[np.ndarray]) -> None:
    vocab = instruction_vocab()
    assert vocab == instruction_vocab()
    assert vocab[:2] == ["<pad>", "<unk>"]
    assert vocab[2:] == sorted(vocab[2:]) and len(set(vocab)) == len(vocab)
    assert {"hallway", "living", "room", "sofa", "coffee", "green", ".", "left", "right"} <= set(vocab)
    unk = vocab.index("<unk>")
    for walk in (path, shortest_path(house, GOAL, START)):
        for phrasing in ("seen", "unseen"):
            for seed in range(40):
                text = write_instruction(house, walk, np.random.default_rng(seed), phrasing)
                tokens = tokenize_instruction(text, vocab)
                assert unk not in tokens, text
                assert [vocab[t] for t in tokens] == tokenize(text)


def test_tokenize_follows_r2r() -> None:
    assert tokenize("Turn left, then stop next to the green sofa.") == [
        "turn", "left", "then", "stop", "next", "to", "the", "green", "sofa", ".",
    ]  # fmt: skip
    vocab = ["<pad>", "<unk>", ".", "left", "turn"]
    assert tokenize_instruction("Turn LEFT, quickly.", vocab) == [4, 3, 1, 2]
    assert tokenize_instruction("Turn left.", vocab, pad_to=5) == [4, 3, 2, 0, 0]
    with pytest.raises(ValueError, match="pad_to"):
        tokenize_instruction("turn left turn left", vocab, pad_to=3)
    with pytest.raises(KeyError, match="quickly"):
        tokenize_instruction("turn quickly", [".", "turn"])
