"""What each furniture category looks like: a few boxes and cylinders in the object's local frame.

Local frame: x across the object's width (centred), z along its depth (centred, the front at +z), y up from
the floor. ``mesh`` rotates the parts by the object's yaw and moves them to its footprint. The object's
named colour goes on its main parts (blanket, upholstery, body); the rest uses fixed materials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.house import RGB, FurnitureObject

WOOD: RGB = (0.48, 0.32, 0.19)
DARK: RGB = (0.10, 0.10, 0.11)
METAL: RGB = (0.72, 0.73, 0.76)
WHITE: RGB = (0.93, 0.93, 0.91)
STONE: RGB = (0.62, 0.62, 0.60)
SCREEN: RGB = (0.10, 0.13, 0.20)
WATER: RGB = (0.70, 0.82, 0.90)
BOOKS: RGB = (0.93, 0.93, 0.93)  # the 'books' texture carries the colours


@dataclass(frozen=True)
class Primitive:
    """``kind`` "box": ``low`` = (x0, y0, z0), ``high`` = (x1, y1, z1). ``kind`` "cylinder": ``low`` = base
    centre (x, y0, z), ``high`` = (bottom radius, top radius, height). ``layer`` names a texture pattern."""

    kind: str
    low: tuple[float, float, float]
    high: tuple[float, float, float]
    color: RGB
    layer: str = "plain"
    front: str | None = None  # a pattern stretched once over the box's +z face (e.g. "drawers")
    top: str | None = None  # the same for the +y face (e.g. "burners")


def _box(x0, x1, y0, y1, z0, z1, color: RGB, layer: str = "plain", front=None, top=None) -> Primitive:
    return Primitive("box", (x0, y0, z0), (x1, y1, z1), color, layer, front, top)


def _cyl(x, z, y0, height, r0, r1, color: RGB, layer: str = "plain") -> Primitive:
    return Primitive("cylinder", (x, y0, z), (r0, r1, height), color, layer)


def _tint(color: RGB, factor: float) -> RGB:
    return tuple(float(min(1.0, c * factor)) for c in color)


def _legs(w, d, h, color: RGB, inset=0.03, size=0.05) -> list[Primitive]:
    xs, zs = (-w / 2 + inset, w / 2 - inset - size), (-d / 2 + inset, d / 2 - inset - size)
    return [_box(x, x + size, 0.0, h, z, z + size, color) for x in xs for z in zs]


def _wood_layer(color: RGB) -> str:
    return "woodgrain" if color[0] > color[2] + 0.1 else "plain"


def _bed(w, d, h, c, rng):
    parts = [
        _box(-w / 2 + 0.05, w / 2 - 0.05, 0.0, 0.12, -d / 2 + 0.05, d / 2 - 0.05, DARK),
        _box(-w / 2, w / 2, 0.12, 0.34, -d / 2, d / 2, WOOD, "woodgrain"),
        _box(-w / 2 + 0.03, w / 2 - 0.03, 0.34, 0.54, -d / 2 + 0.08, d / 2 - 0.03, WHITE, "fabric"),
        _box(-w / 2 + 0.01, w / 2 - 0.01, 0.34, 0.57, -d / 2 + 0.65, d / 2 - 0.01, c, "fabric"),
        _box(-w / 2, w / 2, 0.0, h, -d / 2, -d / 2 + 0.07, WOOD, "woodgrain"),
    ]
    pillows = 2 if w >= 1.3 else 1
    span = (w - 0.2) / pillows
    for i in range(pillows):
        x0 = -w / 2 + 0.1 + i * span
        parts.append(
            _box(x0 + 0.04, x0 + span - 0.04, 0.54, 0.66, -d / 2 + 0.12, -d / 2 + 0.45, WHITE, "fabric")
        )
    return parts


def _sofa(w, d, h, c, rng, cushions=None):
    arm = 0.18
    cushions = cushions or max(1, round((w - 2 * arm) / 0.6))
    parts = [
        _box(-w / 2 + 0.04, w / 2 - 0.04, 0.0, 0.08, -d / 2 + 0.04, d / 2 - 0.04, DARK),
        _box(-w / 2, w / 2, 0.08, 0.4, -d / 2, d / 2, c, "fabric"),
        _box(-w / 2, w / 2, 0.4, h, -d / 2, -d / 2 + 0.22, c, "fabric"),
        _box(-w / 2, -w / 2 + arm, 0.4, 0.62, -d / 2 + 0.22, d / 2, c, "fabric"),
        _box(w / 2 - arm, w / 2, 0.4, 0.62, -d / 2 + 0.22, d / 2, c, "fabric"),
    ]
    span = (w - 2 * arm) / cushions
    for i in range(cushions):
        x0 = -w / 2 + arm + i * span
        parts.append(
            _box(x0 + 0.01, x0 + span - 0.01, 0.4, 0.5, -d / 2 + 0.22, d / 2 - 0.01, _tint(c, 1.12), "fabric")
        )
    return parts


def _table(w, d, h, c, rng):
    layer = _wood_layer(c)
    parts = [_box(-w / 2, w / 2, h - 0.04, h, -d / 2, d / 2, c, layer)] + _legs(w, d, h - 0.04, _tint(c, 0.8))
    if h < 0.6:  # coffee table: a lower shelf
        parts.append(
            _box(-w / 2 + 0.05, w / 2 - 0.05, 0.12, 0.15, -d / 2 + 0.05, d / 2 - 0.05, _tint(c, 0.9), layer)
        )
    return parts


def _chair(w, d, h, c, rng):
    layer = _wood_layer(c)
    return _legs(w, d, 0.43, _tint(c, 0.8), inset=0.02, size=0.04) + [
        _box(-w / 2, w / 2, 0.43, 0.47, -d / 2, d / 2, c, layer),
        _box(-w / 2, w / 2, 0.47, h, -d / 2, -d / 2 + 0.04, c, layer),
    ]


def _fridge(w, d, h, c, rng):
    return [_box(-w / 2, w / 2, 0.0, h, -d / 2, d / 2, c, front="fridge")]


def _plant(w, d, h, c, rng):
    """A pot and a shrub: a tall central cone and two lower clumps beside it."""
    r = min(w, d) / 2
    pot = 0.28 * h
    leaves = h - pot
    return [
        _cyl(0, 0, 0.0, pot, 0.55 * r, 0.72 * r, (0.72, 0.38, 0.24)),
        _cyl(0, 0, pot - 0.02, leaves, 0.75 * r, 0.08 * r, c, "fabric"),
        _cyl(-0.4 * r, 0.25 * r, pot, 0.55 * leaves, 0.6 * r, 0.1 * r, _tint(c, 0.8), "fabric"),
        _cyl(
            0.4 * r, -0.2 * r, pot + 0.1 * leaves, 0.5 * leaves, 0.55 * r, 0.1 * r, _tint(c, 1.15), "fabric"
        ),
    ]


def _lamp(w, d, h, c, rng):
    r = min(w, d) / 2
    return [
        _cyl(0, 0, 0.0, 0.03, 0.8 * r, 0.8 * r, DARK),
        _cyl(0, 0, 0.03, h - 0.3, 0.015, 0.015, METAL),
        _cyl(0, 0, h - 0.36, 0.36, r, 0.6 * r, _tint(c, 1.35), "fabric"),
    ]


def _shelves(w, d, h, c, rng, boards: int):
    layer = _wood_layer(c)
    t = 0.03
    parts = [
        _box(-w / 2, -w / 2 + t, 0.0, h, -d / 2, d / 2, c, layer),
        _box(w / 2 - t, w / 2, 0.0, h, -d / 2, d / 2, c, layer),
        _box(-w / 2 + t, w / 2 - t, 0.0, h, -d / 2, -d / 2 + 0.02, _tint(c, 0.75), layer),
    ]
    levels = np.linspace(0.05, h - t, boards + 1)
    for i, y in enumerate(levels):
        parts.append(
            _box(-w / 2 + t, w / 2 - t, y - t / 2 if i else 0.0, y + t / 2, -d / 2 + 0.02, d / 2, c, layer)
        )
        if i == boards:
            break
        top = levels[i + 1] - t / 2 - 0.03
        height = float(rng.uniform(0.6, 0.95)) * (top - y - t / 2)
        inner = w - 2 * t - 0.04
        span = float(rng.uniform(0.45, 0.95)) * inner
        x0 = -w / 2 + t + 0.02 + float(rng.uniform(0.0, inner - span))
        x1 = x0 + span
        if rng.uniform() < 0.85:  # a row of books (the 'books' pattern draws the spines)
            parts.append(
                _box(x0, x1, y + t / 2, y + t / 2 + height, -d / 2 + 0.04, d / 2 - 0.03, BOOKS, "books")
            )
    return parts


def _tv(w, d, h, c, rng):
    stand = 0.45
    return [
        _box(-w / 2, w / 2, 0.0, stand, -d / 2, d / 2, c, _wood_layer(c)),
        _box(-0.06, 0.06, stand, stand + 0.06, -0.04, 0.02, DARK),
        _box(-w / 2 + 0.05, w / 2 - 0.05, stand + 0.06, h, -0.05, 0.0, _tint(c, 0.6) if c != DARK else DARK),
        _box(-w / 2 + 0.08, w / 2 - 0.08, stand + 0.09, h - 0.03, 0.0, 0.005, SCREEN, "screen"),
    ]


def _toilet(w, d, h, c, rng):
    return [
        _box(-w / 2, w / 2, 0.38, h, -d / 2, -d / 2 + 0.18, c),
        _cyl(0, 0.03, 0.0, 0.38, 0.13, w / 2 - 0.01, c),
        _cyl(0, 0.04, 0.38, 0.03, w / 2, w / 2, _tint(c, 0.95)),
    ]


def _sink(w, d, h, c, rng):
    return [
        _box(-w / 2, w / 2, 0.0, h - 0.05, -d / 2, d / 2 - 0.02, c, _wood_layer(c), front="doors"),
        _box(-w / 2, w / 2, h - 0.05, h, -d / 2, d / 2, WHITE),
        _cyl(0, 0.04, h, 0.004, 0.17, 0.17, (0.8, 0.82, 0.84)),
        _cyl(0, -d / 2 + 0.07, h, 0.2, 0.02, 0.02, METAL),
        _box(-w / 2 + 0.05, w / 2 - 0.05, 1.25, 1.85, -d / 2, -d / 2 + 0.02, (0.72, 0.78, 0.82), "screen"),
    ]


def _bathtub(w, d, h, c, rng):
    t = 0.08
    return [
        _box(-w / 2, w / 2, 0.0, h - 0.15, -d / 2, d / 2, c),
        _box(-w / 2 + t, w / 2 - t, h - 0.15, h - 0.12, -d / 2 + t, d / 2 - t, WATER, "plain"),
        _box(-w / 2, w / 2, h - 0.15, h, -d / 2, -d / 2 + t, c),
        _box(-w / 2, w / 2, h - 0.15, h, d / 2 - t, d / 2, c),
        _box(-w / 2, -w / 2 + t, h - 0.15, h, -d / 2 + t, d / 2 - t, c),
        _box(w / 2 - t, w / 2, h - 0.15, h, -d / 2 + t, d / 2 - t, c),
        _cyl(-w / 2 + 0.1, 0, h, 0.18, 0.02, 0.02, METAL),
    ]


def _desk(w, d, h, c, rng):
    layer = _wood_layer(c)
    return [
        _box(-w / 2, w / 2, h - 0.04, h, -d / 2, d / 2, c, layer),
        _box(
            -w / 2, -w / 2 + 0.42, 0.0, h - 0.04, -d / 2, d / 2 - 0.02, _tint(c, 0.9), layer, front="drawers"
        ),
        _box(w / 2 - 0.05, w / 2, 0.0, h - 0.04, -d / 2, d / 2 - 0.02, _tint(c, 0.9), layer),
        _box(-w / 2 + 0.42, w / 2 - 0.05, 0.35, h - 0.04, -d / 2, -d / 2 + 0.02, _tint(c, 0.8), layer),
        _box(-0.03, 0.03, h, h + 0.12, -d / 2 + 0.08, -d / 2 + 0.12, DARK),
        _box(-0.28, 0.28, h + 0.1, h + 0.42, -d / 2 + 0.1, -d / 2 + 0.13, DARK),
        _box(-0.26, 0.26, h + 0.12, h + 0.4, -d / 2 + 0.13, -d / 2 + 0.132, SCREEN, "screen"),
    ]


def _cabinet(w, d, h, c, rng, front: str):
    return [
        _box(-w / 2, w / 2, 0.04, h, -d / 2, d / 2, c, _wood_layer(c), front=front),
        _box(-w / 2 + 0.03, w / 2 - 0.03, 0.0, 0.04, -d / 2, d / 2 - 0.05, DARK),
    ]


def _counter(w, d, h, c, rng):
    return [
        _box(-w / 2, w / 2, 0.1, h - 0.04, -d / 2, d / 2 - 0.03, c, front="cabinets"),
        _box(-w / 2, w / 2, 0.0, 0.1, -d / 2, d / 2 - 0.08, DARK),
        _box(-w / 2, w / 2, h - 0.04, h, -d / 2, d / 2, STONE, "stone"),
        _box(-w / 2, w / 2, 1.45, 2.15, -d / 2, -d / 2 + 0.34, c, front="cabinets"),  # wall cabinets
        _cyl(w / 4, 0.0, h, 0.003, 0.2, 0.2, METAL),
        _cyl(w / 4, -d / 2 + 0.06, h, 0.22, 0.015, 0.015, METAL),
    ]


def _stove(w, d, h, c, rng):
    return [
        _box(-w / 2, w / 2, 0.0, h - 0.02, -d / 2, d / 2, c, front="oven"),
        _box(-w / 2, w / 2, h - 0.02, h, -d / 2, d / 2, DARK, top="burners"),
    ]


def _bench(w, d, h, c, rng):
    layer = _wood_layer(c)
    return _legs(w, d, h - 0.05, _tint(c, 0.8)) + [_box(-w / 2, w / 2, h - 0.05, h, -d / 2, d / 2, c, layer)]


_Builder = Callable[[float, float, float, RGB, np.random.Generator], list[Primitive]]
_BUILDERS: dict[str, _Builder] = {
    "bed": _bed,
    "sofa": _sofa,
    "armchair": lambda w, d, h, c, rng: _sofa(w, d, h, c, rng, cushions=1),
    "table": _table,
    "coffee table": _table,
    "chair": _chair,
    "fridge": _fridge,
    "plant": _plant,
    "lamp": _lamp,
    "shelf": lambda w, d, h, c, rng: _shelves(w, d, h, c, rng, boards=2),
    "bookshelf": lambda w, d, h, c, rng: _shelves(w, d, h, c, rng, boards=4),
    "tv": _tv,
    "toilet": _toilet,
    "sink": _sink,
    "bathtub": _bathtub,
    "desk": _desk,
    "wardrobe": lambda w, d, h, c, rng: _cabinet(w, d, h, c, rng, front="doors"),
    "dresser": lambda w, d, h, c, rng: _cabinet(w, d, h, c, rng, front="drawers"),
    "nightstand": lambda w, d, h, c, rng: _cabinet(w, d, h, c, rng, front="drawers"),
    "counter": _counter,
    "stove": _stove,
    "bench": _bench,
}


def furniture_primitives(obj: FurnitureObject, width: float, depth: float) -> list[Primitive]:
    """Parts of ``obj`` in its local frame (``width`` along x, ``depth`` along z, front at +z)."""
    if obj.category not in _BUILDERS:
        raise KeyError(f"no mesh for furniture category {obj.category!r} (object {obj.index})")
    rng = np.random.default_rng([obj.index, 31])  # fixed details such as book colours
    return _BUILDERS[obj.category](width, depth, obj.height, obj.color, rng)
