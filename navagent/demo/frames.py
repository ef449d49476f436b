"""Video frames of a demo episode: the egocentric view, the top-down map and a text panel, side by side.

Layout for an egocentric view of ``S x S`` pixels (``FrameLayout.for_view_size(S)``)::

    +---------------------+---------------------+
    | egocentric view,    | top-down map: rooms, |   P x P each, P = 2 * S rounded up to a multiple of 16
    | upscaled to P x P   | reference path, agent|   (the map is drawn to fit P and centred)
    |                     | path + heading, goal |
    +---------------------+---------------------+
    | instruction (wrapped, at most 4 lines)     |   T rows: 8 text lines + padding, rounded up to 16
    | step, distance to goal, action             |
    | the model's text / the policy's action     |
    | legend, or the final metrics at the end    |
    +--------------------------------------------+

so a frame is ``(P + T, 2 P, 3)`` uint8; both sides are multiples of 16 (H.264 macroblocks, no resizing by
the encoder). For S = 224: P = 448, T = 192, frames of 640 x 896 (height x width).

The static parts (the map's rooms and furniture, the wrapped instruction) are drawn once per episode; each
frame copies them and draws only what changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from navagent.envs.builtin.house import House
from navagent.envs.builtin.topdown import BACKGROUND, TopDownMap

MACROBLOCK = 16
INSTRUCTION_LINES = 4
STATUS_LINES = 4  # step/distance/action, decision text, legend or final metrics, spare for a long decision
TEXT_BACKGROUND = (28, 28, 32)
TEXT_COLOR = (235, 235, 235)
LABEL_COLOR = (150, 190, 255)
SUCCESS_COLOR = (110, 220, 120)
FAILURE_COLOR = (255, 120, 110)
MAP_MARGIN_M = 0.5
LEGEND = "map: green = start, blue = reference path, orange = agent, red = goal and its success radius"


def _round_up(value: float, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class FrameLayout:
    """Pixel sizes of a demo frame. view_size: S, the square egocentric render; panel: P, the side of the
    view and map panels; text_height: T; font_size and line_height of the text panel; padding around it."""

    view_size: int
    panel: int
    text_height: int
    font_size: int
    line_height: int
    padding: int

    @classmethod
    def for_view_size(cls, view_size: int) -> FrameLayout:
        if isinstance(view_size, bool) or not isinstance(view_size, int) or view_size < 16:
            raise ValueError(f"size must be an integer >= 16 pixels, got {view_size!r}")
        panel = _round_up(2 * view_size, MACROBLOCK)
        font_size = max(10, round(panel / 28))
        line_height = round(font_size * 1.3)
        padding = max(4, font_size // 2)
        lines = INSTRUCTION_LINES + STATUS_LINES
        text_height = _round_up(lines * line_height + 2 * padding, MACROBLOCK)
        return cls(view_size, panel, text_height, font_size, line_height, padding)

    @property
    def height(self) -> int:
        return self.panel + self.text_height

    @property
    def width(self) -> int:
        return 2 * self.panel

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of every frame."""
        return (self.height, self.width, 3)


@dataclass(frozen=True)
class FrameStatus:
    """What the text panel shows for one frame.

    step: actions taken so far; distance: geodesic metres to the goal; action: name of the action being
    taken (None on the final frames); decision: the model's text, or the policy's description of the action;
    final: the final metrics line (None until the episode is over) and whether it was a success.
    """

    step: int
    distance: float
    action: str | None
    decision: str
    final: str | None = None
    success: bool = False


def wrap_text(text: str, font: ImageFont.ImageFont, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; at most ``max_lines`` lines, the last cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + " …") > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + " …"]
    return [_fit(line, font, width) for line in lines]


def _fit(line: str, font: ImageFont.ImageFont, width: float) -> str:
    """Cut a single over-long word (longer than the line) with an ellipsis."""
    if font.getlength(line) <= width:
        return line
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line + "…"


class FrameComposer:
    """Composes the frames of one episode in ``house``.

    reference_path: (R, 3) world points drawn in blue; goal: (3,) with ``goal_radius`` metres; start: (3,).
    """

    def __init__(
        self,
        layout: FrameLayout,
        house: House,
        instruction: str,
        reference_path: np.ndarray,
        goal: np.ndarray,
        goal_radius: float,
        start: np.ndarray,
    ) -> None:
        self.layout = layout
        bounds = house.bounds
        extent = max(bounds.width, bounds.depth) + 2 * MAP_MARGIN_M
        self.map = TopDownMap(house, px_per_m=(layout.panel - 2) / extent, margin_m=MAP_MARGIN_M)
        self.map_offset = ((layout.panel - self.map.height) // 2, (layout.panel - self.map.width) // 2)
        self.reference_path = np.asarray(reference_path, dtype=np.float64).reshape(-1, 3)
        self.goal = np.asarray(goal, dtype=np.float64)
        self.goal_radius = float(goal_radius)
        self.start = np.asarray(start, dtype=np.float64)
        self.font = _font(layout.font_size)
        self._blank = self._static_canvas(instruction)

    def _static_canvas(self, instruction: str) -> np.ndarray:
        """The frame with the map background and the wrapped instruction, (H, W, 3) uint8."""
        layout = self.layout
        frame = np.zeros(layout.shape, dtype=np.uint8)  # black behind a non-square view
        frame[: layout.panel, layout.panel :] = BACKGROUND
        text = Image.new("RGB", (layout.width, layout.text_height), TEXT_BACKGROUND)
        draw = ImageDraw.Draw(text)
        label = "Instruction: "
        indent = self.font.getlength(label)
        usable = layout.width - 2 * layout.padding
        lines = wrap_text(label + instruction, self.font, usable, INSTRUCTION_LINES)
        for index, line in enumerate(lines):
            y = layout.padding + index * layout.line_height
            if index == 0 and line.startswith(label):
                draw.text((layout.padding, y), label, fill=LABEL_COLOR, font=self.font)
                draw.text((layout.padding + indent, y), line[len(label) :], fill=TEXT_COLOR, font=self.font)
            else:
                draw.text((layout.padding, y), line, fill=TEXT_COLOR, font=self.font)
        frame[layout.panel :] = np.asarray(text)
        self.map.base_image()  # draw the static map now, once
        return frame

    def compose(
        self, rgb: np.ndarray, agent_path: np.ndarray, heading: float, status: FrameStatus
    ) -> np.ndarray:
        """One frame (H, W, 3) uint8 from the view ``rgb`` (h, w, 3) uint8 (scaled to fit the view panel;
        square ``S x S`` fills it), the agent's positions so far
        ``agent_path`` (T, 3) (the current one last), its ``heading`` (radians) and the text ``status``."""
        layout = self.layout
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"view must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
        frame = self._blank.copy()
        height, width = rgb.shape[:2]
        scale = layout.panel / max(height, width)  # fit the panel, keep the aspect ratio
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        view = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        top, left = (layout.panel - size[1]) // 2, (layout.panel - size[0]) // 2
        frame[top : top + size[1], left : left + size[0]] = view
        top_down = self.map.draw(
            reference_path=self.reference_path,
            agent_path=np.asarray(agent_path, dtype=np.float64).reshape(-1, 3),
            goal=self.goal,
            start=self.start,
            goal_radius=self.goal_radius,
            agent_heading=heading,
        )
        row, col = self.map_offset
        frame[row : row + top_down.shape[0], layout.panel + col : layout.panel + col + top_down.shape[1]] = (
            top_down
        )
        self._draw_status(frame, status)
        return frame

    def _draw_status(self, frame: np.ndarray, status: FrameStatus) -> None:
        layout = self.layout
        top = layout.panel + layout.padding + INSTRUCTION_LINES * layout.line_height
        region = frame[top : top + STATUS_LINES * layout.line_height]
        image = Image.fromarray(region)
        draw = ImageDraw.Draw(image)
        usable = layout.width - 2 * layout.padding
        distance = f"{status.distance:.2f} m" if math.isfinite(status.distance) else "unreachable"
        head = f"step {status.step}   distance to goal {distance}"
        if status.action is not None:
            head += f"   action {status.action}"
        lines: list[tuple[str, tuple[int, int, int]]] = [(_fit(head, self.font, usable), TEXT_COLOR)]
        for line in wrap_text(status.decision, self.font, usable, 2):
            lines.append((line, LABEL_COLOR))
        while len(lines) < STATUS_LINES - 1:
            lines.append(("", TEXT_COLOR))
        if status.final is None:
            lines.append((_fit(LEGEND, self.font, usable), (160, 160, 160)))
        else:
            color = SUCCESS_COLOR if status.success else FAILURE_COLOR
            lines.append((_fit(status.final, self.font, usable), color))
        for index, (line, color) in enumerate(lines):
            draw.text((layout.padding, index * layout.line_height), line, fill=color, font=self.font)
        region[:] = np.asarray(image)
