"""`navagent bench sim`: built-in simulator steps/s.

Every configuration runs the same random walk (forward-biased random actions, never STOP) in the same
generated house, each measurement in fresh worker processes with the renderer's default rasterizer setting
(``navagent.envs.builtin.renderer.RASTER_THREADS``: Mesa's software rasterizer draws in the simulator's own
thread, one core per simulator, as in every other use of the simulator). Each case is measured ``repeats``
times and the best run is kept. The baseline is RGB 224×224 without depth in one process; the table
also shows the simulator with rendering switched off (motion + geodesic distance only) and N processes
running at once (aggregate steps/s).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from queue import Empty

import numpy as np

from navagent.benchmarks.report import BenchmarkReport, Measurement

BASELINE = "rgb 224 (1 proc)"


@dataclass(frozen=True)
class SimCase:
    name: str
    size: int
    depth: bool
    render: bool = True
    processes: int = 1


def _random_walk_rate(case: SimCase, scene_id: str, steps: int, seed: int, barrier, queue) -> None:
    """Worker: run ``steps`` random actions after a warm-up; put steps/s on ``queue``."""
    from navagent.envs.base import Action, Episode, Goal, heading_to_quaternion
    from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig

    config = SimConfig(
        width=case.size, height=case.size, depth=case.depth, render=case.render, max_steps=steps + 1
    )
    sim = BuiltinNavEnv(config)
    scene = sim.load_scene(scene_id)
    rng = np.random.default_rng(seed)
    start = scene.navgrid.sample_navigable_point(rng)
    goal = scene.navgrid.sample_navigable_point(rng)
    episode = Episode(
        episode_id="bench",
        trajectory_id=0,
        scene_id=scene_id,
        start_position=tuple(start),
        start_rotation=tuple(heading_to_quaternion(0.0)),
        goals=(Goal(tuple(goal)),),
        reference_path=(tuple(start), tuple(goal)),
        instruction_text="benchmark",
    )
    actions = rng.choice(
        [Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT], size=steps + 20, p=[0.6, 0.2, 0.2]
    )

    def run(chunk: np.ndarray) -> None:
        sim.reset(episode)
        for action in chunk:
            sim.step(int(action))
            sim.distance_to_goal()

    run(actions[:20])  # warm-up: shader compilation, first upload, planner caches
    barrier.wait()
    t0 = time.perf_counter()
    run(actions[20:])
    queue.put(steps / (time.perf_counter() - t0))
    sim.close()


def measure_case(case: SimCase, scene_id: str, steps: int, seed: int = 0) -> float:
    """Aggregate steps/s of ``case.processes`` simultaneous simulators (each in its own process)."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(case.processes), ctx.Queue()
    workers = [
        ctx.Process(target=_random_walk_rate, args=(case, scene_id, steps, seed + i, barrier, queue))
        for i in range(case.processes)
    ]
    for w in workers:
        w.start()
    rates: list[float] = []
    while len(rates) < len(workers):
        try:
            rates.append(queue.get(timeout=1.0))
        except Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:
                for w in workers:
                    w.kill()
                raise RuntimeError(
                    f"benchmark worker for {case.name!r} failed (exit code {failed[0]})"
                ) from None
    for w in workers:
        w.join()
    return float(sum(rates))


def run_sim_benchmark(
    steps: int = 1000, processes: int | None = None, scene_index: int = 0, repeats: int = 2
) -> BenchmarkReport:
    """Measure all cases in this run and return the report (also printed by the CLI)."""
    from navagent.envs.builtin.generator import scene_id_for_index

    processes = processes or max(2, os.cpu_count() or 2)
    cases = [
        SimCase(BASELINE, 224, depth=False),
        SimCase("rgb+depth 224 (1 proc)", 224, depth=True),
        SimCase("rgb 384 (1 proc)", 384, depth=False),
        SimCase("rgb+depth 384 (1 proc)", 384, depth=True),
        SimCase("no rendering (1 proc)", 224, depth=False, render=False),
        SimCase(f"rgb 224 ({processes} procs)", 224, depth=False, processes=processes),
        SimCase(f"rgb+depth 224 ({processes} procs)", 224, depth=True, processes=processes),
    ]
    report = BenchmarkReport(f"built-in simulator, {steps} random steps per process", BASELINE)
    scene_id = scene_id_for_index(scene_index)
    for case in cases:
        rate = max(measure_case(case, scene_id, steps) for _ in range(repeats))
        report.add(
            Measurement(
                case.name,
                rate,
                "steps/s",
                {"ms/step/proc": 1000.0 * case.processes / rate, "procs": case.processes},
            )
        )
    return report
