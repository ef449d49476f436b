"""Instruction writer of the built-in simulator: R2R-style directions phrased from a path's ``Route``.

``write_instruction(house, path_points, rng, phrasing)`` analyses the path (``route.describe_route``: rooms
left and entered, turns at doorways and landmarks, furniture passed, where to stop) and phrases it in one of
several styles, with synonyms drawn from a phrasebook (``phrasebook``). There are two disjoint phrasings:

* ``"seen"`` (train, val_seen, val_unseen): styles ``steps`` ("Walk out of the bedroom and turn left into the
  hallway. Walk past the blue bench. ..."), ``chain`` (one comma-separated sentence, "..., then ..."),
  ``goal_first`` ("Go to the green sofa in the living room. ... Stop next to it.") and ``summary`` ("Go from
  the bedroom through the hallway to the kitchen, turning left and then right. ...").
* ``"unseen"`` (val_unseen_lang only): styles ``narrative`` ("You are in the bedroom. Head out of the
  bedroom ... Halt alongside ...") and ``ordinal`` ("First, ... Next, ... Finally, ..."), with their own verbs ("head",
  "proceed", "make a left", "halt", ...). No seen template is used for unseen text and vice versa, and some
  words ("head", "halt", "proceed", ...) occur only in unseen text (``phrasing_words``).

Tokens follow habitat's R2R-CE ``VocabDict``: lowercase, commas and question marks removed, split on runs
of characters other than word characters and ``-`` (so "." is a token). ``instruction_vocab()`` is the
fixed word list ``["<pad>", "<unk>", *sorted words]``: index 0 pads (R2R-CE pads ``instruction_tokens``
with 0) and a word outside the vocab maps to the index of ``"<unk>"``. The list covers every word any
phrasing can produce for any generated house (room types, furniture categories and colours included), so
it is identical for every split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np

from navagent.envs.builtin.furniture import CATALOG, COLORS, ROOM_FURNITURE
from navagent.envs.builtin.house import FurnitureObject, House, Room
from navagent.envs.builtin.phrasebook import PHRASEBOOKS, PHRASINGS, STYLE_GLUE, STYLES, Phrasebook
from navagent.envs.builtin.route import Passing, RoomChange, Route, Turn, describe_route

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SENTENCE_SPLIT_REGEX = re.compile(r"([^\w-]+)")  # habitat's VocabDict split
_REMOVED_CHARACTERS = (",", "?")


_DIRECTIONS = ("left", "right")
_ROOM_WORDS = ("the", "another", "room")  # room noun phrases: "the kitchen", "another bedroom", "the room"


@dataclass(frozen=True)
class ComposedInstruction:
    text: str
    style: str
    phrasing: str


class _Phraser:
    """Fills templates of one phrasebook, drawing synonyms from ``rng``.

    Rooms are named in path order: the first room of a type is "the kitchen"; a later, different room of
    a type already seen on the path is "another bedroom" when first mentioned and "the bedroom" after."""

    def __init__(self, book: Phrasebook, rng: np.random.Generator, route: Route) -> None:
        self.book = book
        self.rng = rng
        self._first_names: dict[int, str] = {}
        seen_types: set[str] = set()
        path_rooms = [route.start_room, *(c.to_room for c in route.room_changes), route.stop.room]
        for room in path_rooms:
            if room is None or room.index in self._first_names:
                continue
            article = "another" if room.room_type in seen_types else "the"
            self._first_names[room.index] = f"{article} {room.room_type}"
            seen_types.add(room.room_type)
        self._mentioned: set[int] = set()

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def fill(self, slot: str, **values: str) -> str:
        return self.pick(getattr(self.book, slot)).format(**values)

    def room(self, room: Room | None, mention: bool = True) -> str:
        """Noun phrase for ``room``; ``mention=False`` names it without counting as its first mention."""
        if room is None:
            return "the room"
        if room.index in self._mentioned:
            return f"the {room.room_type}"
        if mention:
            self._mentioned.add(room.index)
        return self._first_names.get(room.index, f"the {room.room_type}")

    @staticmethod
    def obj(obj: FurnitureObject) -> str:
        return f"the {obj.color_name} {obj.category}"

    def relation(self, relation: str) -> str:
        return self.pick(getattr(self.book, relation))


# ---------------------------------------------------------------------------------------------- clauses
def _room_change_clauses(ph: _Phraser, change: RoomChange, first: bool) -> list[str]:
    dst_room = change.to_room
    if first:
        src = ph.room(change.from_room)
        if change.turn is None:
            return [ph.fill("exit_into", src=src, dst=ph.room(dst_room))]
        direction = change.turn.direction
        if change.timing == "before":
            return [ph.fill("turn", dir=direction), ph.fill("exit_into", src=src, dst=ph.room(dst_room))]
        if change.timing == "after":
            return [ph.fill("exit_into", src=src, dst=ph.room(dst_room)), ph.fill("turn", dir=direction)]
        return [ph.fill("exit", src=src), ph.fill("turn_into", dir=direction, dst=ph.room(dst_room))]
    dst = ph.room(dst_room)
    if change.turn is None:
        return [ph.fill("enter_straight", dst=dst)]
    slot = {"before": "turn_then_enter", "after": "enter_then_turn"}.get(change.timing, "turn_into")
    return [ph.fill(slot, dir=change.turn.direction, dst=dst)]


def _movement_clauses(ph: _Phraser, route: Route) -> list[str]:
    """Clauses for everything before the stop, in path order."""
    clauses: list[str] = []
    if not route.room_changes:
        clauses.append(ph.fill("cross", room=ph.room(route.start_room)))
    for event in route.events():
        if isinstance(event, RoomChange):
            clauses += _room_change_clauses(ph, event, first=event is route.room_changes[0])
        elif isinstance(event, Turn):
            if event.landmark is not None:
                clauses.append(ph.fill("turn_at", dir=event.direction, obj=ph.obj(event.landmark)))
            else:
                clauses.append(ph.fill("turn", dir=event.direction))
        elif isinstance(event, Passing):
            clauses.append(ph.fill("pass_by", obj=ph.obj(event.landmark), side=event.side))
    return clauses


def _stop_clause(ph: _Phraser, route: Route) -> str:
    stop = route.stop
    if stop.landmark is not None:
        return ph.fill("stop_at", rel=ph.relation(stop.relation), obj=ph.obj(stop.landmark))
    slot = {"inside": "stop_inside", "middle": "stop_middle", "corner": "stop_corner"}.get(
        stop.placement, "stop_in_room"
    )
    return ph.fill(slot, room=ph.room(stop.room))


# ----------------------------------------------------------------------------------------------- styles
def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _in_pairs(ph: _Phraser, clauses: list[str]) -> list[str]:
    """Clauses joined into sentences of one or two clauses ("A and B")."""
    sentences, k = [], 0
    while k < len(clauses):
        size = 2 if k + 1 < len(clauses) and ph.rng.uniform() < 0.6 else 1
        sentences.append(" and ".join(clauses[k : k + size]))
        k += size
    return sentences


def _style_steps(ph: _Phraser, route: Route) -> str:
    sentences = _in_pairs(ph, _movement_clauses(ph, route))
    stop = _stop_clause(ph, route)
    if sentences and " and " not in sentences[-1] and ph.rng.uniform() < 0.5:
        sentences[-1] += " and " + stop
    else:
        sentences.append(stop)
    return " ".join(_sentence(s) for s in sentences)


def _style_chain(ph: _Phraser, route: Route) -> str:
    clauses = _movement_clauses(ph, route)
    if len(clauses) > 1:
        clauses[-1] = "then " + clauses[-1]
    stop = _stop_clause(ph, route)
    if ph.rng.uniform() < 0.5:
        return _sentence(", ".join(clauses) + " and " + stop)
    return _sentence(", ".join(clauses)) + " " + _sentence(stop)


def _style_goal_first(ph: _Phraser, route: Route) -> str:
    stop = route.stop
    if stop.landmark is not None:
        goal = ph.fill("goal_object", obj=ph.obj(stop.landmark), room=ph.room(stop.room, mention=False))
    else:
        goal = ph.fill("goal_room", room=ph.room(stop.room, mention=False))
    body = _in_pairs(ph, _movement_clauses(ph, route))
    if stop.landmark is not None:
        ending = ph.fill("stop_at_it", rel=ph.relation(stop.relation))
    else:
        ending = _stop_clause(ph, route)
    return " ".join(_sentence(s) for s in [goal, *body, ending])


def _word_list(words: list[str], last_joiner: str) -> str:
    """["a"] -> "a"; ["a", "b", "c"] -> "a, b <last_joiner> c"."""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" {last_joiner} " + words[-1]


def _style_summary(ph: _Phraser, route: Route) -> str:
    if route.room_changes:
        rooms = [route.room_changes[0].from_room] + [c.to_room for c in route.room_changes]
        src = ph.room(rooms[0])
        via = [ph.room(r) for r in rooms[1:-1]]
        dst = ph.room(rooms[-1])
        if via:
            head = ph.fill("route_via", src=src, via=_word_list(via, "and"), dst=dst)
        else:
            head = ph.fill("route", src=src, dst=dst)
    else:
        head = ph.fill("cross", room=ph.room(route.start_room))
    parts = [head]
    if route.passings:
        parts.append(ph.fill("passing", obj=ph.obj(route.passings[0].landmark)))
    directions = route.all_turn_directions()
    if directions:
        parts.append(ph.fill("turning", dirs=_word_list(directions, "and then")))
    return _sentence(", ".join(parts)) + " " + _sentence(_stop_clause(ph, route))


def _style_narrative(ph: _Phraser, route: Route) -> str:
    sentences = [ph.fill("openers", room=ph.room(route.start_room))]
    for k, clause in enumerate(_movement_clauses(ph, route)):
        if k > 0 and ph.rng.uniform() < 0.5:
            clause = ph.pick(ph.book.connectors) + " " + clause
        sentences.append(clause)
    sentences.append(_stop_clause(ph, route))
    return " ".join(_sentence(s) for s in sentences)


def _style_ordinal(ph: _Phraser, route: Route) -> str:
    clauses = _movement_clauses(ph, route)
    sentences = [ph.pick(ph.book.first) + ", " + clauses[0]]
    sentences += [ph.pick(ph.book.connectors) + ", " + clause for clause in clauses[1:]]
    sentences.append(ph.pick(ph.book.last) + ", " + _stop_clause(ph, route))
    return " ".join(_sentence(s) for s in sentences)


_STYLE_FUNCTIONS = {
    "steps": _style_steps,
    "chain": _style_chain,
    "goal_first": _style_goal_first,
    "summary": _style_summary,
    "narrative": _style_narrative,
    "ordinal": _style_ordinal,
}


# ------------------------------------------------------------------------------------------- public API
def _checked_phrasing(phrasing: str | None) -> str:
    phrasing = "seen" if phrasing is None else phrasing
    if phrasing not in PHRASINGS:
        raise ValueError(f"phrasing must be one of {PHRASINGS} or None (= 'seen'), got {phrasing!r}")
    return phrasing


def compose_instruction(
    house: House, path_points, rng: np.random.Generator, phrasing: str | None = None, style: str | None = None
) -> ComposedInstruction:
    """``write_instruction`` that also says which style was used; ``style`` forces one of the phrasing's."""
    phrasing = _checked_phrasing(phrasing)
    if style is None:
        style = STYLES[phrasing][int(rng.integers(len(STYLES[phrasing])))]
    elif style not in STYLES[phrasing]:
        raise ValueError(f"style {style!r} is not a {phrasing!r} style; choose from {STYLES[phrasing]}")
    route = describe_route(house, path_points)
    phraser = _Phraser(PHRASEBOOKS[phrasing], rng, route)
    return ComposedInstruction(_STYLE_FUNCTIONS[style](phraser, route), style, phrasing)


def write_instruction(
    house: House, path_points, rng: np.random.Generator, phrasing: str | None = None
) -> str:
    """Directions for walking ``path_points`` (sequence of (3,) points, start first, goal last) in ``house``.

    ``phrasing``: "seen" (train / val_seen / val_unseen templates; also the default for None) or "unseen"
    (held-out templates for val_unseen_lang). Deterministic given the state of ``rng``."""
    return compose_instruction(house, path_points, rng, phrasing).text


def tokenize(text: str) -> list[str]:
    """R2R-CE word split (habitat ``VocabDict.tokenize``): lowercase, drop "," and "?", split off
    punctuation; e.g. "Turn left, then stop." -> ["turn", "left", "then", "stop", "."]."""
    text = text.lower()
    for character in _REMOVED_CHARACTERS:
        text = text.replace(character, "")
    return [t.strip() for t in SENTENCE_SPLIT_REGEX.split(text) if t.strip()]


def phrasing_words(phrasing: str) -> set[str]:
    """Every word the templates and style glue of ``phrasing`` contain (placeholders excluded)."""
    phrasing = _checked_phrasing(phrasing)
    book = PHRASEBOOKS[phrasing]
    words: set[str] = set(STYLE_GLUE[phrasing])
    for field in fields(Phrasebook):
        for template in getattr(book, field.name):
            words.update(tokenize(re.sub(r"\{\w+\}", " ", template)))
    return words


def instruction_vocab() -> list[str]:
    """``["<pad>", "<unk>", *sorted words]``: every word the writer can produce for a generated house."""
    words = phrasing_words("seen") | phrasing_words("unseen")
    words |= set(_DIRECTIONS) | set(_ROOM_WORDS) | {"."}
    for name in [*ROOM_FURNITURE, *CATALOG, *COLORS]:
        words.update(tokenize(name))
    return [PAD_TOKEN, UNK_TOKEN, *sorted(words)]


def tokenize_instruction(text: str, vocab: list[str], pad_to: int | None = None) -> list[int]:
    """Indices into ``vocab`` of the words of ``text`` (``tokenize``). A word missing from ``vocab`` maps to
    the index of ``"<unk>"`` (KeyError naming the word when the vocab has none). With ``pad_to`` the list is
    right-padded with the index of ``"<pad>"`` (R2R-CE pads to 200); ValueError if it is longer."""
    index = {word: k for k, word in enumerate(vocab)}
    unk = index.get(UNK_TOKEN)
    tokens = []
    for word in tokenize(text):
        if word in index:
            tokens.append(index[word])
        elif unk is not None:
            tokens.append(unk)
        else:
            raise KeyError(
                f"word {word!r} of instruction {text!r} is not in the vocab, which has no {UNK_TOKEN!r}"
            )
    if pad_to is not None:
        if PAD_TOKEN not in index:
            raise KeyError(f"pad_to={pad_to} needs {PAD_TOKEN!r} in the vocab")
        if len(tokens) > pad_to:
            raise ValueError(f"instruction has {len(tokens)} tokens, more than pad_to={pad_to}: {text!r}")
        tokens += [index[PAD_TOKEN]] * (pad_to - len(tokens))
    return tokens
