"""Frame files of `navagent data trajectories` (`navagent.train.trajectories`): relative frame paths, JPEG
bytes (fixed settings: equal pixels give equal bytes), replacing writes of the rendered views, and the
simulator's labels of a view (`navagent.envs.builtin.view_labels`) for the records that carry them."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from navagent.envs.base import AgentState
from navagent.envs.builtin.house import House
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.builtin.view_labels import view_labels
from navagent.envs.builtin.view_visibility import ViewCamera


def frame_path(video: str, index: int) -> str:
    """Relative path of a walk frame: ``"{video}/frame_{index}.jpg"``."""
    return f"{video}/frame_{index}.jpg"


def recovery_frame_path(video: str, index: int) -> str:
    """Relative path of a perturbed view: ``"{video}/recovery_{index}.jpg"``."""
    return f"{video}/recovery_{index}.jpg"


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an (H, W, 3) uint8 image (Pillow, fixed settings: equal pixels give equal bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_file_replacing(path: Path, data: bytes) -> None:
    """Write via a temp file + ``os.replace`` (no fsync: frames are cheap to rewrite, never half-written)."""
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def render_frames(
    env: BuiltinNavEnv,
    folder: Path,
    names: Sequence[str],
    states: Sequence[AgentState],
    quality: int,
    house: House | None = None,
    labelled: Sequence[int] = (),
) -> list[dict]:
    """Render the view from each pose of ``states`` and write it as JPEG ``folder / basename(name)``.

    Returns the simulator's labels (`ViewLabels.to_json`: room, doorways / rooms behind them / objects /
    colours / depth per image sector) of the views numbered in ``labelled``, in that order, from the same
    render (they need ``house`` and an ``env`` that renders depth); [] when ``labelled`` is empty."""
    config = env.config
    if labelled and (house is None or not config.depth):
        raise ValueError(
            "view labels need the house and an environment that renders depth (SimConfig(depth=True))"
        )
    camera = ViewCamera(config.width, config.height, config.hfov_deg, config.camera_height)
    wanted, labels = set(labelled), {}
    for index, (name, state) in enumerate(zip(names, states, strict=True)):
        rgb, depth = env.render(state.position, state.heading)
        write_file_replacing(folder / Path(name).name, encode_jpeg(rgb, quality))
        if index in wanted:
            labels[index] = view_labels(house, camera, state.position, state.heading, depth).to_json()
    return [labels[index] for index in labelled]
