"""A picture of a built-in house: one egocentric frame and a top-down map with a shortest path.

Used by ``navagent sim render`` and for the README images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.builtin.topdown import TopDownMap


def _far_pair(env: BuiltinNavEnv, rng: np.random.Generator, tries: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A start/goal pair 5-20 m apart (geodesic), so the map shows a path through several rooms."""
    grid, planner = env.scene.navgrid, env.scene.planner
    best = None
    for _ in range(tries):
        a, b = grid.sample_navigable_point(rng), grid.sample_navigable_point(rng)
        d = planner.distance(a, b)
        if math.isfinite(d) and 5.0 <= d <= 20.0:
            return a, b
        if math.isfinite(d) and (best is None or d > best[0]):
            best = (d, a, b)
    if best is None:
        raise ValueError(f"scene {env.scene.house.scene_id}: no connected pair of navigable points found")
    return best[1], best[2]


def render_snapshot(scene_id: str, out_dir: str | Path, size: int = 224, seed: int = 0) -> list[Path]:
    """Write ``frame.png`` (the view from a start point, facing along its shortest path) and ``topdown.png``
    (rooms, objects, the path, start and goal) to ``out_dir``; returns the two paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with BuiltinNavEnv(SimConfig(width=size, height=size)) as env:
        env.set_scene(scene_id)
        start, goal = _far_pair(env, np.random.default_rng(seed))
        path = env.scene.planner.shortest_path(start, goal)
        direction = path[1] - path[0]
        heading = math.atan2(-direction[0], -direction[2])  # heading 0 looks along -z
        rgb, _ = env.render(start, heading)
        frame_path, map_path = out_dir / "frame.png", out_dir / "topdown.png"
        Image.fromarray(rgb).save(frame_path)
        TopDownMap(env.scene.house).save_png(
            map_path, reference_path=np.asarray(path), start=start, goal=goal, goal_radius=3.0
        )
    return [frame_path, map_path]
