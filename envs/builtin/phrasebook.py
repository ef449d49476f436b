"""Phrasebooks of the instruction writer: the clause templates and synonyms of each phrasing, and its styles.

Two disjoint phrasings: ``SEEN`` (train, val_seen and val_unseen) and ``UNSEEN`` (held out for
val_unseen_lang). A template is a ``str.format`` string; ``instructions`` picks one per clause with its rng and
fills it. Styles (how clauses are put together) are listed per phrasing in ``STYLES`` and implemented in
``instructions``; ``STYLE_GLUE`` lists the words those style functions add themselves, so that
``instructions.phrasing_words`` knows every word.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrasebook:
    """Clause templates of one phrasing; each field lists interchangeable ``str.format`` templates.

    Fields: ``{room}``/``{src}``/``{dst}`` are room noun phrases ("the kitchen"), ``{obj}`` an object noun
    phrase ("the green sofa"), ``{dir}``/``{side}`` "left" or "right", ``{rel}`` a spatial relation."""

    exit: tuple[str, ...]  # leave the start room (the next clause says where to)
    exit_into: tuple[str, ...]  # leave the start room into the next one
    cross: tuple[str, ...]  # a route that stays in one room
    enter_straight: tuple[str, ...]
    turn_into: tuple[str, ...]  # turn at the doorway into the next room
    turn_then_enter: tuple[str, ...]  # turn before the doorway
    enter_then_turn: tuple[str, ...]  # turn after the doorway
    turn: tuple[str, ...]
    turn_at: tuple[str, ...]  # turn at a landmark
    pass_by: tuple[str, ...]
    stop_at: tuple[str, ...]  # stop at a landmark
    stop_in_room: tuple[str, ...]
    stop_inside: tuple[str, ...]  # just past the last doorway
    stop_middle: tuple[str, ...]
    stop_corner: tuple[str, ...]
    goal_object: tuple[str, ...]  # goal_first: the object and its room
    goal_room: tuple[str, ...]  # goal_first without a stop landmark
    stop_at_it: tuple[str, ...]  # goal_first: the closing clause, the object already named
    route: tuple[str, ...]  # summary: from the start room to the goal room
    route_via: tuple[str, ...]  # summary: through the rooms in between
    passing: tuple[str, ...]  # summary
    turning: tuple[str, ...]  # summary
    openers: tuple[str, ...]  # narrative: first sentence
    connectors: tuple[str, ...]  # narrative / ordinal: sentence openers between clauses
    first: tuple[str, ...]  # ordinal
    last: tuple[str, ...]  # ordinal
    next_to: tuple[str, ...]
    in_front_of: tuple[str, ...]
    near: tuple[str, ...]


SEEN = Phrasebook(
    exit=("walk out of {src}", "exit {src}", "leave {src}", "go out of {src}"),
    exit_into=("walk out of {src} into {dst}", "go out of {src} into {dst}", "exit {src} into {dst}"),
    cross=("walk across {room}", "go through {room}", "walk through {room}"),
    enter_straight=(
        "go straight into {dst}",
        "walk straight into {dst}",
        "continue straight into {dst}",
        "go straight through the doorway into {dst}",
    ),
    turn_into=("turn {dir} into {dst}", "turn {dir} through the doorway into {dst}"),
    turn_then_enter=("turn {dir} and go into {dst}", "turn {dir} and enter {dst}"),
    enter_then_turn=(
        "enter {dst} and turn {dir}",
        "go into {dst} and turn {dir}",
        "walk into {dst} and turn {dir}",
    ),
    turn=("turn {dir}", "go {dir}"),
    turn_at=("turn {dir} at {obj}", "turn {dir} when you reach {obj}", "turn {dir} near {obj}"),
    pass_by=(
        "walk past {obj}",
        "pass {obj}",
        "go past {obj}",
        "walk past {obj} on your {side}",
        "pass {obj} on your {side}",
    ),
    stop_at=("stop {rel} {obj}", "wait {rel} {obj}", "stop when you are {rel} {obj}"),
    stop_in_room=("stop in {room}", "wait in {room}"),
    stop_inside=("stop just inside {room}", "stop as soon as you enter {room}"),
    stop_middle=("stop in the middle of {room}", "wait in the middle of {room}"),
    stop_corner=("stop in the corner of {room}", "wait in the corner of {room}"),
    goal_object=("go to {obj} in {room}", "find {obj} in {room}", "walk to {obj} in {room}"),
    goal_room=("go to {room}", "walk to {room}"),
    stop_at_it=("stop {rel} it", "wait {rel} it"),
    route=("go from {src} to {dst}", "walk from {src} to {dst}"),
    route_via=("go from {src} through {via} to {dst}", "walk from {src} through {via} to {dst}"),
    passing=("passing {obj}", "going past {obj}"),
    turning=("turning {dirs}",),
    openers=(),
    connectors=(),
    first=(),
    last=(),
    next_to=("next to", "beside", "by"),
    in_front_of=("in front of",),
    near=("near", "close to"),
)

UNSEEN = Phrasebook(
    exit=("head out of {src}", "get out of {src}", "step out of {src}"),
    exit_into=("head out of {src} into {dst}", "step out of {src} into {dst}"),
    cross=("make your way across {room}", "proceed through {room}"),
    enter_straight=(
        "proceed straight into {dst}",
        "keep going straight into {dst}",
        "head straight into {dst}",
    ),
    turn_into=("make a {dir} into {dst}", "hang a {dir} into {dst}"),
    turn_then_enter=("make a {dir} and head into {dst}", "hang a {dir} and step into {dst}"),
    enter_then_turn=("head into {dst} and make a {dir}", "once inside {dst} make a {dir}"),
    turn=("make a {dir}", "hang a {dir}"),
    turn_at=("make a {dir} by {obj}", "hang a {dir} once you reach {obj}"),
    pass_by=(
        "head past {obj}",
        "proceed past {obj}",
        "keep {obj} on your {side}",
        "go by {obj} on your {side}",
    ),
    stop_at=("halt {rel} {obj}", "come to a halt {rel} {obj}", "stand {rel} {obj}"),
    stop_in_room=("halt in {room}", "stand in {room}"),
    stop_inside=("halt just after entering {room}", "stand just past the entrance of {room}"),
    stop_middle=("halt at the center of {room}", "stand at the center of {room}"),
    stop_corner=("halt in a corner of {room}",),
    goal_object=(),
    goal_room=(),
    stop_at_it=(),
    route=(),
    route_via=(),
    passing=(),
    turning=(),
    openers=("you are in {room}", "you start in {room}", "your starting point is {room}"),
    connectors=("then", "after that", "next"),
    first=("first", "to begin"),
    last=("finally", "at the end"),
    next_to=("alongside", "adjacent to"),
    in_front_of=("just in front of",),
    near=("not far from", "a few steps from"),
)

PHRASEBOOKS = {"seen": SEEN, "unseen": UNSEEN}
PHRASINGS = ("seen", "unseen")
STYLES = {"seen": ("steps", "chain", "goal_first", "summary"), "unseen": ("narrative", "ordinal")}
STYLE_GLUE = {"seen": ("and", "then"), "unseen": ()}  # words the style functions add between clauses
