"""``navagent demo``: one episode as an MP4 (egocentric view, top-down map, instruction, decisions, metrics)."""

from navagent.demo.frames import FrameLayout
from navagent.demo.run import format_demo_result, load_demo_episode, run_demo

__all__ = ["FrameLayout", "format_demo_result", "load_demo_episode", "run_demo"]
