"""``Decision``: what a policy does in one environment at one step — the one type from ``NavAgent`` (and the
baselines) through the evaluation loop to results records, hooks and DAgger."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """One environment's action at one step.

    action: the low-level action id (``navagent.envs.base.Action``) to send to the simulator now.
    text: the model's raw output when a model was queried at this step (None: a queued step or a baseline).
    valid: False when that output was unparseable and a fallback action was used.
    """

    action: int
    text: str | None = None
    valid: bool = True

    @property
    def queried(self) -> bool:
        """True when a model was asked at this step."""
        return self.text is not None
