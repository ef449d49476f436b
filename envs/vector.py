"""``VectorNavEnv``: N ``NavEnv`` simulators stepped together, each in its own subprocess.

The evaluation runner drives many episodes at once: it resets individual environments to new episodes as
they free up (``reset`` / ``reset_many``) and steps any subset of them with one action each (``step``). Every
reply is an ``EnvStep``: the observation plus the geodesic distance to the episode's nearest goal, computed
inside the worker with that environment's own planner (so the parent never needs the scene).

Workers are started with the ``spawn`` method (a forked child must not inherit a parent's GL context) and
run with ``OMP_NUM_THREADS=1``; the renderer draws in the simulator's own thread
(``navagent.envs.builtin.renderer.RASTER_THREADS``), so each simulator uses exactly one core. Commands are sent to all addressed workers
before any reply is read, so the simulators run in parallel. With ``num_envs == 1`` the environment runs in
this process by default (no pipes, fast start), with identical behaviour.

An exception inside an environment command comes back as ``EnvCommandError`` (the worker stays usable);
a worker that dies raises ``EnvWorkerDiedError``. ``reset_many`` returns reset failures instead of raising,
so one episode with a broken scene does not cost the others.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from navagent.envs.base import Episode, NavEnv, Observation

if TYPE_CHECKING:
    from typing_extensions import Self

EnvFactory = Callable[[], NavEnv]
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_POLL_SECONDS = 0.5


@dataclass
class EnvStep:
    """One environment's reply to ``reset`` or ``step``.

    observation: the simulator's ``Observation`` (rgb (H, W, 3) uint8, position (3,), heading, done, ...).
    distance_to_goal: geodesic metres from the agent to the episode's nearest goal (``inf`` if unreachable).
    """

    observation: Observation
    distance_to_goal: float

    @property
    def position(self) -> np.ndarray:
        return self.observation.position

    @property
    def done(self) -> bool:
        return self.observation.done


class EnvCommandError(RuntimeError):
    """An environment raised while running a command; ``error_type`` / ``message`` are the original's."""

    def __init__(self, env_index: int, command: str, error_type: str, message: str, details: str = ""):
        self.env_index, self.command = env_index, command
        self.error_type, self.message, self.details = error_type, message, details
        super().__init__(f"env {env_index}: {command} failed: {error_type}: {message}")


class EnvWorkerDiedError(RuntimeError):
    """A worker process exited while a command was outstanding."""


def distance_to_nearest_goal(env: NavEnv, episode: Episode, position: np.ndarray) -> float:
    """Geodesic distance (m) from ``position`` (3,) to the nearest goal of ``episode``.

    Uses the environment's own ``distance_to_goal`` when it has one (the built-in simulator caches per
    goal), else the ``NavEnv`` protocol's ``geodesic_distance``. NaN counts as unreachable (``inf``)."""
    own = getattr(env, "distance_to_goal", None)
    if own is not None:
        distance = float(own(position))
    else:
        distance = min(
            float(env.geodesic_distance(position, np.asarray(goal.position, dtype=np.float64)))
            for goal in episode.goals
        )
    return math.inf if math.isnan(distance) else distance


class _EnvRunner:
    """Executes commands on one environment (in a worker process or in this process)."""

    def __init__(self, env: NavEnv) -> None:
        self.env = env
        self.episode: Episode | None = None

    def run(self, command: str, payload: Any) -> EnvStep:
        if command == "reset":
            observation = self.env.reset(payload)
            self.episode = payload
        elif command == "step":
            if self.episode is None:
                raise RuntimeError("step before reset")
            observation = self.env.step(payload)
        else:
            raise ValueError(f"unknown command {command!r}")
        return EnvStep(observation, distance_to_nearest_goal(self.env, self.episode, observation.position))


def _error_reply(error: BaseException) -> tuple[str, tuple[str, str, str]]:
    return "error", (type(error).__name__, str(error), traceback.format_exc())


def _worker_main(conn, env_factory: EnvFactory, environment: Mapping[str, str]) -> None:
    """Worker loop: build the env, then answer ``(command, payload)`` messages until ``close``/EOF."""
    os.environ.update(environment)  # before the first render creates the GL context
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes us
    try:
        runner = _EnvRunner(env_factory())
    except Exception as error:  # noqa: BLE001 (any failure is reported to the parent)
        conn.send(_error_reply(error))
        return
    conn.send(("ready", None))
    try:
        while True:
            try:
                command, payload = conn.recv()
            except EOFError:
                break
            if command == "close":
                break
            try:
                conn.send(("ok", runner.run(command, payload)))
            except Exception as error:  # noqa: BLE001 (the env's error goes back to the caller)
                conn.send(_error_reply(error))
    finally:
        runner.env.close()
        conn.close()


class _InProcessWorker:
    """Same interface as a worker process, running the environment here (``num_envs == 1`` default)."""

    def __init__(self, env_factory: EnvFactory) -> None:
        self._runner = _EnvRunner(env_factory())
        self._reply: tuple[str, Any] | None = None

    def send(self, command: str, payload: Any) -> None:
        try:
            self._reply = ("ok", self._runner.run(command, payload))
        except Exception as error:  # noqa: BLE001 (same contract as a worker process)
            self._reply = _error_reply(error)

    def receive(self) -> tuple[str, Any]:
        reply, self._reply = self._reply, None
        return reply

    def close(self) -> None:
        self._runner.env.close()


class _ProcessWorker:
    def __init__(self, index: int, env_factory: EnvFactory, context: mp.context.BaseContext) -> None:
        self.index = index
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_worker_main,
            args=(child, env_factory, WORKER_ENVIRONMENT),
            name=f"navagent-env-{index}",
            daemon=True,
        )
        self._process.start()
        child.close()

    def send(self, command: str, payload: Any) -> None:
        try:
            self._conn.send((command, payload))
        except (BrokenPipeError, ConnectionResetError) as error:
            raise self._died() from error

    def receive(self) -> tuple[str, Any]:
        while not self._conn.poll(_POLL_SECONDS):
            if not self._process.is_alive():
                raise self._died()
        try:
            return self._conn.recv()
        except (EOFError, ConnectionResetError) as error:
            raise self._died() from error

    def _died(self) -> EnvWorkerDiedError:
        self._process.join(timeout=1.0)
        return EnvWorkerDiedError(f"env worker {self.index} died (exit code {self._process.exitcode})")

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(("close", None))
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass
            self._process.join(timeout=10.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


class VectorNavEnv:
    """``num_envs`` environments built by ``env_factory`` (a picklable zero-argument callable, e.g.
    ``functools.partial(BuiltinNavEnv, SimConfig(...))``; default: the built-in simulator).

    ``in_process`` (default: ``num_envs == 1``) runs the environments in this process instead of workers.
    """

    def __init__(
        self,
        num_envs: int,
        env_factory: EnvFactory | None = None,
        in_process: bool | None = None,
        context: str = "spawn",
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if env_factory is None:
            from navagent.envs.builtin.sim import BuiltinNavEnv

            env_factory = BuiltinNavEnv
        self.num_envs = num_envs
        self.in_process = num_envs == 1 if in_process is None else in_process
        self._workers: list[_InProcessWorker | _ProcessWorker] = []
        try:
            if self.in_process:
                self._workers = [_InProcessWorker(env_factory) for _ in range(num_envs)]
            else:
                ctx = mp.get_context(context)
                self._workers = [_ProcessWorker(i, env_factory, ctx) for i in range(num_envs)]
                for index, worker in enumerate(self._workers):
                    status, payload = worker.receive()
                    if status != "ready":
                        raise EnvCommandError(index, "start", *payload)
        except BaseException:
            self.close()
            raise

    # --------------------------------------------------------------------------------- commands
    def reset(self, env_index: int, episode: Episode) -> EnvStep:
        """Start ``episode`` in environment ``env_index``; raises ``EnvCommandError`` on failure."""
        outcome = self.reset_many({env_index: episode})[env_index]
        if isinstance(outcome, EnvCommandError):
            raise outcome
        return outcome

    def reset_many(self, episodes: Mapping[int, Episode]) -> dict[int, EnvStep | EnvCommandError]:
        """Reset several environments in parallel. A failed reset (e.g. a scene that cannot be loaded)
        is returned as its ``EnvCommandError`` instead of raised; that environment stays usable."""
        return self._run({i: ("reset", episode) for i, episode in episodes.items()})

    def step(self, actions: Mapping[int, int]) -> dict[int, EnvStep]:
        """Step the environments named in ``actions`` (``{env_index: action id}``) in parallel.
        Raises the first ``EnvCommandError`` after every addressed worker has replied."""
        replies = self._run({i: ("step", int(action)) for i, action in actions.items()})
        for reply in replies.values():
            if isinstance(reply, EnvCommandError):
                raise reply
        return replies  # type: ignore[return-value]

    def _run(self, commands: Mapping[int, tuple[str, Any]]) -> dict[int, EnvStep | EnvCommandError]:
        for env_index in commands:
            if not 0 <= env_index < self.num_envs:
                raise IndexError(f"env index {env_index} out of range [0, {self.num_envs})")
        if not self._workers:
            raise RuntimeError("VectorNavEnv is closed")
        for env_index, (command, payload) in commands.items():
            self._workers[env_index].send(command, payload)
        replies: dict[int, EnvStep | EnvCommandError] = {}
        for env_index, (command, _) in commands.items():
            status, payload = self._workers[env_index].receive()
            replies[env_index] = payload if status == "ok" else EnvCommandError(env_index, command, *payload)
        return replies

    # -------------------------------------------------------------------------------- lifecycle
    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
