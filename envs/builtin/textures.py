"""Procedural surface patterns for the renderer: one tileable RGB layer per pattern name.

A layer is a brightness modulation around 1 (stored as uint8, value / 127.5), multiplied in the shader with
the vertex colour (the room's floor or wall colour, or an object's colour, with lighting baked in), so a
single texture array serves every colour. ``TEXTURE_SCALE`` gives the metres one repeat covers along
(u, v). Every layer comes from a fixed seed, so frames are reproducible.
"""

from __future__ import annotations

import functools

import numpy as np

TEXTURE_SIZE = 256
PATTERNS = (
    "plain", "wood", "parquet", "carpet", "tiles", "checker", "stone", "plaster", "stripes", "wallpaper",
    "wall tiles", "panels", "fabric", "woodgrain", "screen", "books",
    "drawers", "doors", "cabinets", "fridge", "oven", "burners",
)  # fmt: skip
# furniture fronts: one repeat covers exactly one face (u left to right, v top to bottom)
FITTED = ("drawers", "doors", "cabinets", "fridge", "oven", "burners")
LAYER = {name: i for i, name in enumerate(PATTERNS)}
TEXTURE_SCALE: dict[str, tuple[float, float]] = {
    "plain": (2.0, 2.0),
    "wood": (1.6, 2.4),
    "parquet": (1.2, 1.2),
    "carpet": (1.0, 1.0),
    "tiles": (1.6, 1.6),
    "checker": (1.6, 1.6),
    "stone": (2.4, 2.4),
    "plaster": (2.0, 2.0),
    "stripes": (1.2, 2.6),
    "wallpaper": (0.8, 0.8),
    "wall tiles": (1.2, 1.2),
    "panels": (1.3, 2.6),  # one repeat spans the wall height: panelling below, plaster above
    "fabric": (0.5, 0.5),
    "woodgrain": (0.8, 0.8),
    "screen": (1.0, 1.0),
    "books": (0.7, 0.7),
    **{name: (1.0, 1.0) for name in ("drawers", "doors", "cabinets", "fridge", "oven", "burners")},
}
_BOOK_COLORS = np.array(
    [(0.7, 0.2, 0.2), (0.2, 0.35, 0.65), (0.85, 0.7, 0.25), (0.25, 0.5, 0.3), (0.9, 0.88, 0.8), (0.45, 0.28, 0.5),
     (0.15, 0.15, 0.17), (0.8, 0.45, 0.2), (0.55, 0.35, 0.2)]
)  # fmt: skip


def _noise(rng: np.random.Generator, size: int, max_freq: int) -> np.ndarray:
    """Tileable smooth noise (size, size), zero mean, unit std, from random low Fourier modes."""
    spectrum = np.zeros((size, size // 2 + 1), complex)
    k = max_freq + 1
    block = rng.normal(size=(2 * k, k)) + 1j * rng.normal(size=(2 * k, k))
    fy = np.r_[np.arange(k), np.arange(-k, 0)][:, None]
    fx = np.arange(k)[None, :]
    block /= 1.0 + np.hypot(fy, fx)
    spectrum[:k, :k], spectrum[-k:, :k] = block[:k], block[k:]
    field = np.fft.irfft2(spectrum, s=(size, size))
    return (field - field.mean()) / (field.std() + 1e-12)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(v, u) pixel-centre coordinates in [0, 1), each (size, size)."""
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c, indexing="ij")


def _grout(coord: np.ndarray, count: int, width: float) -> np.ndarray:
    """1 on the grout lines of ``count`` cells along ``coord`` (in [0, 1)), lines ``width`` cells wide."""
    f = (coord * count) % 1.0
    return ((f < width / 2) | (f > 1 - width / 2)).astype(float)


def _cell_tint(rng: np.random.Generator, ids: np.ndarray, amount: float) -> np.ndarray:
    table = 1.0 + rng.uniform(-amount, amount, size=int(ids.max()) + 1)
    return table[ids]


def _wood(rng, v, u, planks: int, pieces: int) -> np.ndarray:
    plank = np.floor(u * planks).astype(int)
    offset = rng.uniform(size=planks)[plank]
    along = (v + offset) % 1.0
    piece = np.floor(along * pieces).astype(int)
    ids = plank * pieces + piece
    grain = 0.05 * np.sin(2 * np.pi * (u * planks * 4 + 0.3 * _noise(rng, len(v), 3))) + 0.04 * _noise(
        rng, len(v), 24
    )
    seams = np.maximum(_grout(u, planks, 0.04), _grout(along, pieces, 0.01))
    return _cell_tint(rng, ids, 0.12) + grain - 0.35 * seams


def _tiles(rng, v, u, count: int, grout: float, tint: float, checker: bool = False) -> np.ndarray:
    ids = np.floor(v * count).astype(int) * count + np.floor(u * count).astype(int)
    value = _cell_tint(rng, ids, tint) + 0.03 * _noise(rng, len(v), 16)
    if checker:
        value = np.where((np.floor(v * count) + np.floor(u * count)) % 2 == 0, 1.08, 0.55) * value
    lines = np.maximum(_grout(u, count, grout), _grout(v, count, grout))
    return value * (1 - 0.35 * lines)


def _rect(v, u, v0, v1, u0, u1) -> np.ndarray:
    return (v >= v0) & (v < v1) & (u >= u0) & (u < u1)


def _front(name: str, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Fronts of cabinets and appliances: panels (1), gaps (dark), handles (bright)."""
    value = np.ones_like(u)
    frame = (u < 0.015) | (u > 0.985) | (v < 0.015) | (v > 0.985)
    if name == "drawers":
        gaps = _grout(v, 3, 0.025)
        handles = _rect((v * 3) % 1.0, u, 0.2, 0.26, 0.38, 0.62)
    elif name == "doors":
        gaps = np.abs(u - 0.5) < 0.006
        handles = _rect(v, np.abs(u - 0.5), 0.38, 0.55, 0.03, 0.045)
    elif name == "cabinets":
        gaps = _grout(u, 4, 0.02)
        handles = _rect(v, (u * 4) % 1.0, 0.08, 0.11, 0.35, 0.65)
    elif name == "fridge":
        gaps = np.abs(v - 0.38) < 0.006
        handles = _rect(v, u, 0.2, 0.33, 0.84, 0.87) | _rect(v, u, 0.43, 0.62, 0.84, 0.87)
    elif name == "oven":
        window = _rect(v, u, 0.32, 0.8, 0.12, 0.88)
        knobs = _rect(v, (u * 5) % 1.0, 0.04, 0.1, 0.35, 0.65)
        value = np.where(v < 0.14, 0.55, 1.0) - 0.7 * window
        gaps, handles = np.abs(v - 0.14) < 0.008, _rect(v, u, 0.2, 0.235, 0.15, 0.85) | knobs
    else:  # burners: four dark rings on the hob
        du, dv = (u * 2) % 1.0 - 0.5, (v * 2) % 1.0 - 0.5
        radius = np.hypot(du, dv)
        return 1.0 - 0.5 * ((radius > 0.22) & (radius < 0.34)) - 0.25 * (radius <= 0.22)
    return value - 0.45 * np.maximum(gaps, frame) + 0.45 * handles


def _layer(name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """Brightness modulation (size, size) or (size, size, 3) around 1 for one pattern."""
    v, u = _grid(size)
    if name == "plain":
        return 1.0 + 0.006 * _noise(rng, size, 4)
    if name == "wood":
        return _wood(rng, v, u, planks=8, pieces=2)
    if name == "parquet":
        block = (np.floor(u * 4) + np.floor(v * 4)) % 2 == 0
        lu, lv = np.where(block, u, v), np.where(block, v, u)  # slats turn 90 degrees between blocks
        return _wood(rng, lv, lu, planks=12, pieces=4) * (
            1 - 0.25 * np.maximum(_grout(u, 4, 0.03), _grout(v, 4, 0.03))
        )
    if name == "carpet":
        return 1.0 + 0.05 * _noise(rng, size, 6) + 0.07 * rng.normal(size=(size, size)).clip(-2, 2)
    if name == "tiles":
        return _tiles(rng, v, u, count=4, grout=0.03, tint=0.05)
    if name == "checker":
        return _tiles(rng, v, u, count=4, grout=0.02, tint=0.03, checker=True)
    if name == "stone":
        row = np.floor(v * 3).astype(int)
        shifted = (u + 0.5 * (row % 2)) % 1.0
        ids = row * 2 + np.floor(shifted * 2).astype(int)
        lines = np.maximum(_grout(shifted, 2, 0.015), _grout(v, 3, 0.015))
        return (_cell_tint(rng, ids, 0.08) + 0.045 * _noise(rng, size, 10)) * (1 - 0.35 * lines)
    if name == "plaster":
        return 1.0 + 0.015 * _noise(rng, size, 5) + 0.012 * _noise(rng, size, 40)
    if name == "stripes":
        return np.where((u * 8) % 1.0 < 0.5, 1.04, 0.88) + 0.02 * _noise(rng, size, 8)
    if name == "wallpaper":
        cu, cv = (u * 4) % 1.0 - 0.5, (v * 4) % 1.0 - 0.5
        diamond = np.abs(cu) + np.abs(cv) < 0.22
        dots = np.hypot(((u * 4 + 0.5) % 1.0) - 0.5, ((v * 4 + 0.5) % 1.0) - 0.5) < 0.07
        return 1.03 - 0.2 * diamond - 0.14 * dots + 0.015 * _noise(rng, size, 8)
    if name == "wall tiles":
        return _tiles(rng, v, u, count=8, grout=0.05, tint=0.03) * 1.04
    if name == "panels":
        lower = v > 1 - 0.36  # v grows downwards from the ceiling: the panelling is the bottom 0.94 m
        frame = (np.abs(((u * 2) % 1.0) - 0.5) > 0.4) | (np.abs(v - 0.82) > 0.13)
        rail = np.abs(v - 0.635) < 0.012
        panel = np.where(frame, 0.9, 0.8)
        return np.where(lower, panel, 1.02) - 0.3 * rail + 0.02 * _noise(rng, size, 6)
    if name == "fabric":
        weave = 0.05 * np.sin(2 * np.pi * u * 64) * np.sin(2 * np.pi * v * 64)
        return 1.0 + weave + 0.04 * _noise(rng, size, 8)
    if name == "woodgrain":
        return (
            1.0
            + 0.07 * np.sin(2 * np.pi * (u * 10 + 0.35 * _noise(rng, size, 3)))
            + 0.03 * _noise(rng, size, 30)
        )
    if name == "books":  # spines of random widths and colours, with dark gaps (coloured: use a white base)
        edges = np.cumsum(rng.integers(6, 18, size=64))
        edges = edges[edges < size]
        book = np.searchsorted(edges, np.arange(size), side="right")
        colors = _BOOK_COLORS[rng.integers(0, len(_BOOK_COLORS), size=book.max() + 1)] * 1.1
        columns = colors[book] * (1.0 - 0.6 * np.isin(np.arange(size), edges)[:, None])
        band = 1.0 - 0.15 * ((v > 0.1) & (v < 0.14))  # a title band across the spines
        return columns[None, :, :] * band[..., None] * (1.0 + 0.03 * _noise(rng, size, 12))[..., None]
    if name in FITTED:
        return _front(name, v, u) + 0.02 * _noise(rng, size, 6)
    if name == "screen":  # a dim reflection gradient
        return 0.9 + 0.6 * np.clip(1.0 - (u + v), 0, 1) ** 2
    raise KeyError(f"unknown texture pattern {name!r}")


@functools.lru_cache(maxsize=2)
def build_texture_layers(size: int = TEXTURE_SIZE) -> np.ndarray:
    """All pattern layers stacked, (len(PATTERNS), size, size, 3) uint8 (value / 127.5 = brightness).
    Cached: treat the result as read-only."""
    layers = []
    for index, name in enumerate(PATTERNS):
        pattern = _layer(name, np.random.default_rng([7, index]), size)
        if pattern.ndim == 2:
            pattern = np.repeat(pattern[..., None], 3, axis=2)
        layers.append(np.clip(pattern * 127.5, 0, 255).astype(np.uint8))
    return np.stack(layers)
