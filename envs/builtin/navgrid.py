"""Navigation grid of a house: the analytic free space (``free_space``) rasterised into square cells.

A cell is navigable when its centre is free: on the floor of some room (or a doorway passage) and outside
every wall and furniture footprint inflated by the agent radius. Navigable cells are grouped into
4-connected components. Point queries (``is_navigable``) use the exact analytic test, so they agree with
what the motion model accepts and with the geodesic planner; the grid serves components, sampling and maps.

Grid layout: ``occupancy[row, col]`` covers ``x in [origin_x + col*cell, origin_x + (col+1)*cell)`` and
``z in [origin_z + row*cell, ...)``, rows along +z, columns along +x, over the house bounds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from navagent.envs.builtin.free_space import FreeSpace
from navagent.envs.builtin.house import House


class NavGrid:
    """Rasterised free space with connected components.

    Attributes: ``occupancy`` (rows, cols) bool, True where the cell centre is blocked; ``navigable`` its
    negation; ``labels`` (rows, cols) int32 component id of each cell, -1 on blocked cells.
    """

    def __init__(
        self, free_space: FreeSpace, origin: tuple[float, float], shape: tuple[int, int], cell_size: float
    ):
        if not cell_size > 0.0:
            raise ValueError(f"cell_size must be > 0, got {cell_size}")
        self.free_space = free_space
        self.cell_size = float(cell_size)
        self.origin_x, self.origin_z = (float(v) for v in origin)
        self.rows, self.cols = (int(v) for v in shape)
        self.occupancy = self._rasterise()
        self.navigable = ~self.occupancy
        labels, count = ndimage.label(self.navigable)  # 4-connectivity; 0 = background
        self.labels = labels.astype(np.int32) - 1
        self.num_components = int(count)
        self.component_sizes = np.bincount(
            self.labels[self.navigable], minlength=count
        )  # cells per component

    @classmethod
    def from_house(cls, house: House, agent_radius: float = 0.1, cell_size: float = 0.05) -> NavGrid:
        if not cell_size > 0.0:
            raise ValueError(f"cell_size must be > 0, got {cell_size}")
        bounds = house.bounds
        shape = (max(1, math.ceil(bounds.depth / cell_size)), max(1, math.ceil(bounds.width / cell_size)))
        return cls(FreeSpace.from_house(house, agent_radius), (bounds.x0, bounds.z0), shape, cell_size)

    @property
    def agent_radius(self) -> float:
        return self.free_space.agent_radius

    # ------------------------------------------------------------------ layout
    def cell_centers_x(self) -> np.ndarray:
        """(cols,) x of each column's cell centres."""
        return self.origin_x + (np.arange(self.cols) + 0.5) * self.cell_size

    def cell_centers_z(self) -> np.ndarray:
        """(rows,) z of each row's cell centres."""
        return self.origin_z + (np.arange(self.rows) + 0.5) * self.cell_size

    def world_to_cell(self, x: float, z: float) -> tuple[int, int]:
        """(row, col) of the cell containing (x, z); may lie outside the grid."""
        return math.floor((z - self.origin_z) / self.cell_size), math.floor(
            (x - self.origin_x) / self.cell_size
        )

    def cell_center(self, row: int, col: int) -> tuple[float, float]:
        return self.origin_x + (col + 0.5) * self.cell_size, self.origin_z + (row + 0.5) * self.cell_size

    def _rasterise(self) -> np.ndarray:
        """(rows, cols) bool: True where the cell centre lies in the open interior of a blocked box."""
        xs, zs = self.cell_centers_x(), self.cell_centers_z()
        occupancy = np.zeros((self.rows, self.cols), dtype=bool)
        for x0, z0, x1, z1 in self.free_space.blocked:
            c0, c1 = np.searchsorted(xs, x0, side="right"), np.searchsorted(xs, x1, side="left")
            r0, r1 = np.searchsorted(zs, z0, side="right"), np.searchsorted(zs, z1, side="left")
            occupancy[r0:r1, c0:c1] = True
        return occupancy

    # ----------------------------------------------------------------- queries
    def is_navigable(self, x: float, z: float) -> bool:
        """Exact test: may the agent's centre be at (x, z)? (The motion model accepts exactly these points.)"""
        return self.free_space.is_free(x, z)

    def component_id(self, x: float, z: float) -> int:
        """Component of the navigable point (x, z), -1 when it is not navigable. A navigable point whose own
        cell centre is blocked (within a cell of an obstacle) takes the component of the nearest navigable
        cell centre among its 3x3 neighbours, -1 if there is none (a sliver narrower than a cell)."""
        if not self.is_navigable(x, z):
            return -1
        row, col = self.world_to_cell(x, z)
        if 0 <= row < self.rows and 0 <= col < self.cols and self.labels[row, col] >= 0:
            return int(self.labels[row, col])
        best, best_d2 = -1, math.inf
        for r in range(max(row - 1, 0), min(row + 2, self.rows)):
            for c in range(max(col - 1, 0), min(col + 2, self.cols)):
                if self.labels[r, c] >= 0:
                    cx, cz = self.cell_center(r, c)
                    d2 = (cx - x) ** 2 + (cz - z) ** 2
                    if d2 < best_d2:
                        best, best_d2 = int(self.labels[r, c]), d2
        return best

    def largest_component(self) -> int:
        if self.num_components == 0:
            raise ValueError("the navigation grid has no navigable cell")
        return int(np.argmax(self.component_sizes))

    def sample_navigable_point(self, rng: np.random.Generator, component: int | None = None) -> np.ndarray:
        """A navigable point (3,) ``[x, 0, z]``, uniform over navigable cells (of ``component`` if given),
        jittered uniformly inside its cell; the cell centre is used when the jittered point is not free or
        falls in another component. Deterministic given ``rng``."""
        mask = self.navigable if component is None else self.labels == component
        cells = np.flatnonzero(mask)
        if cells.size == 0:
            what = "navigable cell" if component is None else f"cell in component {component}"
            raise ValueError(f"the navigation grid has no {what}")
        row, col = divmod(int(cells[rng.integers(cells.size)]), self.cols)
        cx, cz = self.cell_center(row, col)
        jx, jz = rng.uniform(-0.5, 0.5, size=2) * self.cell_size
        x, z = cx + jx, cz + jz
        if self.component_id(x, z) != self.labels[row, col]:
            x, z = cx, cz
        return np.array([x, 0.0, z])
