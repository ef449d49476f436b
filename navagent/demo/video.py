"""``Mp4Writer``: H.264 MP4 files from RGB frames (imageio + its bundled ffmpeg), written atomically.

Frames go to a hidden temp file next to the target (``.NAME.tmp.mp4``); ``close()`` renames it into place, so
the target path only ever holds a complete video. Leaving the ``with`` block by an exception removes the temp
file instead. The encoding is H.264 / yuv420p with the index at the front (``+faststart``), which browsers
play inline; frame sides should be multiples of 16 (``FrameLayout`` guarantees it) or the encoder pads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import imageio.v2 as imageio
import numpy as np

if TYPE_CHECKING:
    from typing_extensions import Self


class Mp4Writer:
    """Writes (H, W, 3) uint8 frames to ``path`` at ``fps`` frames per second."""

    def __init__(self, path: str | os.PathLike, fps: int) -> None:
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise ValueError(f"fps must be a positive integer, got {fps!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = self.path.with_name(f".{self.path.stem}.tmp.mp4")
        self._writer = imageio.get_writer(
            self._temp,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            pixelformat="yuv420p",
            macro_block_size=16,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"],
        )
        self.frames = 0
        self._shape: tuple[int, ...] | None = None

    def append(self, frame: np.ndarray) -> None:
        """Add one frame (H, W, 3) uint8; every frame must have the first one's shape."""
        if self._writer is None:
            raise RuntimeError(f"{self.path}: the writer is closed")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{self.path}: frames must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            raise ValueError(f"{self.path}: frame {self.frames} has shape {frame.shape}, not {self._shape}")
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns the path."""
        if self._writer is None:
            return self.path
        if self.frames == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames written")
        self._writer.close()
        self._writer = None
        os.replace(self._temp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial file (the target path is left as it was)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
