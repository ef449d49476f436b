"""Questions about one rendered view of a built-in house (the scene-QA set's question writer).

Kinds (``QUESTION_TYPES``), each asked only when its answer is unambiguous from the picture:

* ``room``: "What room is this?" -> the room type of the room the camera stands in.
* ``color``: "What color is the sofa?" -> the object's ``color_name``; only when exactly one sofa shows at
  all (none partly hidden below the visibility threshold) and the category comes in more than one colour.
* ``count``: "How many chairs are there in the image?" -> the number of visible chairs; only when no chair shows
  faintly (between 1 pixel and the threshold), so every chair in the picture is clearly visible. Categories
  with several visible objects come first; failing those, half the time a category that is absent (as for
  an existence negative, answer 0), else one with a single visible object.
* ``existence`` (POPE style): "Is there a lamp in the image?". For each POPE config one positive (a category
  with a clearly visible object) and one negative (a category with no object in the room, none in the
  picture, and none easily confused with one there): 50 % yes. Negatives are sampled as POPE does:
  ``random`` uniformly; ``popular`` the most frequent category of the split; ``adversarial`` the category
  that shares rooms most often with the visible ones (frequencies from ``CategoryStats`` of the split).

A question's answers: the exact answer first, then accepted variants ("2"/"two", "gray"/"grey").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from navagent.envs.builtin.furniture import CATALOG
from navagent.envs.builtin.house import House

QUESTION_TYPES = ("room", "color", "count", "existence")
POPE_CONFIGS = ("random", "popular", "adversarial")
CATEGORIES = tuple(sorted(CATALOG))
DISPLAY_NAMES = {"tv": "TV"}
PLURALS = {"shelf": "shelves", "bookshelf": "bookshelves", "bench": "benches", "tv": "TVs"}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
COLOR_VARIANTS = {"gray": ("grey",)}
# categories a model (or a person) may reasonably call by each other's name: never asked as negatives
# while the other one is in the room or in the picture
CONFUSABLE: dict[str, frozenset[str]] = {
    "table": frozenset({"coffee table", "desk"}),
    "coffee table": frozenset({"table"}),
    "desk": frozenset({"table"}),
    "chair": frozenset({"armchair"}),
    "armchair": frozenset({"chair", "sofa"}),
    "sofa": frozenset({"armchair", "bench"}),
    "bench": frozenset({"sofa"}),
    "shelf": frozenset({"bookshelf"}),
    "bookshelf": frozenset({"shelf"}),
    "dresser": frozenset({"nightstand", "wardrobe"}),
    "nightstand": frozenset({"dresser"}),
    "wardrobe": frozenset({"dresser"}),
}


@dataclass(frozen=True)
class Question:
    """One question about a view. ``key`` is unique within the view (``room``, ``color``, ``count``,
    ``<config>_yes``, ``<config>_no``); ``object_indices`` are the objects the answer is about."""

    key: str
    type: str
    question: str
    answers: tuple[str, ...]
    category: str | None = None
    pope_config: str | None = None
    object_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class CategoryStats:
    """Object statistics of a split's houses, for POPE's popular and adversarial negatives.

    counts: {category: objects of it}; cooccurrence: {(a, b): rooms holding both a and b}, a != b.
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    cooccurrence: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def of_houses(cls, houses: Iterable[House]) -> CategoryStats:
        counts: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for house in houses:
            counts.update(obj.category for obj in house.objects)
            for room in house.rooms:
                present = sorted({obj.category for obj in house.objects if obj.room_index == room.index})
                pairs.update((a, b) for a in present for b in present if a != b)
        return cls(dict(counts), dict(pairs))


def display_name(category: str) -> str:
    return DISPLAY_NAMES.get(category, category)


def plural(category: str) -> str:
    return PLURALS.get(category, f"{category}s")


def with_article(category: str) -> str:
    name = display_name(category)
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def count_answers(count: int) -> tuple[str, ...]:
    """("2", "two"); ("0", "zero", "none"); digits only beyond ten."""
    if count >= len(NUMBER_WORDS):
        return (str(count),)
    return (str(count), NUMBER_WORDS[count]) + (("none",) if count == 0 else ())


@dataclass(frozen=True)
class ViewFacts:
    """The objects of one view, split by visibility.

    clear: objects with at least the threshold of visible pixels; faint: visible below it.
    room_categories: categories of the objects standing in the camera's room.
    """

    room_type: str
    clear: tuple[int, ...]
    faint: tuple[int, ...]
    room_categories: frozenset[str]
    category_of: Mapping[int, str]
    color_of: Mapping[int, str]

    @classmethod
    def of_view(
        cls, house: House, room_index: int, object_pixels: Mapping[int, int], min_pixels: int
    ) -> ViewFacts:
        objects = {obj.index: obj for obj in house.objects}
        return cls(
            room_type=house.rooms[room_index].room_type,
            clear=tuple(sorted(i for i, n in object_pixels.items() if n >= min_pixels)),
            faint=tuple(sorted(i for i, n in object_pixels.items() if 0 < n < min_pixels)),
            room_categories=frozenset(o.category for o in house.objects if o.room_index == room_index),
            category_of={i: o.category for i, o in objects.items()},
            color_of={i: o.color_name for i, o in objects.items()},
        )

    def categories(self, indices: Sequence[int]) -> list[str]:
        """The distinct categories of ``indices``, sorted."""
        return sorted({self.category_of[i] for i in indices})

    def clear_of(self, category: str) -> tuple[int, ...]:
        return tuple(i for i in self.clear if self.category_of[i] == category)

    def shown_of(self, category: str) -> tuple[int, ...]:
        """Objects of ``category`` with any visible pixel."""
        return tuple(i for i in sorted(self.clear + self.faint) if self.category_of[i] == category)


def _room_question(facts: ViewFacts) -> Question:
    return Question("room", "room", "What room is this?", (facts.room_type,))


def _color_question(facts: ViewFacts, rng: np.random.Generator) -> Question | None:
    options = [
        c
        for c in facts.categories(facts.clear)
        if len(facts.shown_of(c)) == 1 and len(facts.clear_of(c)) == 1 and len(CATALOG[c].colors) > 1
    ]
    if not options:
        return None
    category = options[int(rng.integers(len(options)))]
    (index,) = facts.clear_of(category)
    color = facts.color_of[index]
    question = f"What color is the {display_name(category)}?"
    return Question(
        "color", "color", question, (color, *COLOR_VARIANTS.get(color, ())), category, None, (index,)
    )


def _count_question(facts: ViewFacts, rng: np.random.Generator) -> Question | None:
    faint = set(facts.categories(facts.faint))
    options = [c for c in facts.categories(facts.clear) if c not in faint]
    if not options:
        return None
    several = [c for c in options if len(facts.clear_of(c)) > 1]
    absent = negative_candidates(facts)
    if not several and absent and rng.uniform() < 0.5:
        options = absent  # "1" would otherwise be by far the most common answer
    category = (several or options)[int(rng.integers(len(several or options)))]
    indices = facts.clear_of(category)
    question = f"How many {plural(category)} are there in the image?"
    return Question("count", "count", question, count_answers(len(indices)), category, None, indices)


def negative_candidates(facts: ViewFacts) -> list[str]:
    """Categories safe to ask about with answer "no" (see the module docstring), sorted."""
    present = set(facts.room_categories) | set(facts.categories(facts.clear + facts.faint))
    return [c for c in CATEGORIES if c not in present and not CONFUSABLE.get(c, frozenset()) & present]


def choose_negative(
    config: str,
    candidates: Sequence[str],
    visible: Sequence[str],
    stats: CategoryStats,
    rng: np.random.Generator,
) -> str:
    """POPE's negative sampling among ``candidates`` (non-empty) for one ``config``."""
    if config == "random":
        return candidates[int(rng.integers(len(candidates)))]
    if config == "popular":
        return max(candidates, key=lambda c: (stats.counts.get(c, 0), c))
    if config == "adversarial":
        return max(
            candidates,
            key=lambda c: (
                sum(stats.cooccurrence.get((v, c), 0) for v in visible),
                stats.counts.get(c, 0),
                c,
            ),
        )
    raise ValueError(f"POPE config must be one of {POPE_CONFIGS}, got {config!r}")


def _existence_questions(facts: ViewFacts, stats: CategoryStats, rng: np.random.Generator) -> list[Question]:
    visible = facts.categories(facts.clear)
    candidates = negative_candidates(facts)
    if not visible or not candidates:
        return []
    order = [visible[i] for i in rng.permutation(len(visible))]
    questions = []
    for number, config in enumerate(POPE_CONFIGS):
        positive = order[number % len(order)]
        negative = choose_negative(config, candidates, visible, stats, rng)
        for key, category, answer, indices in (
            (f"{config}_yes", positive, "yes", facts.clear_of(positive)),
            (f"{config}_no", negative, "no", ()),
        ):
            text = f"Is there {with_article(category)} in the image?"
            questions.append(Question(key, "existence", text, (answer,), category, config, indices))
    return questions


def view_questions(facts: ViewFacts, stats: CategoryStats, rng: np.random.Generator) -> list[Question]:
    """All questions about one view: room, colour and count (when unambiguous), POPE pairs."""
    questions = [_room_question(facts)]
    questions += [q for q in (_color_question(facts, rng), _count_question(facts, rng)) if q is not None]
    return questions + _existence_questions(facts, stats, rng)
