"""Shared mechanism of every benchmark: named measurements, a baseline, ratios, one printed table."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class Measurement:
    name: str
    value: float  # higher is better unless ``lower_is_better``
    unit: str
    details: dict = field(default_factory=dict)
    lower_is_better: bool = False


@dataclass
class BenchmarkReport:
    """Collects measurements of one run and prints them with ratios against the named baseline."""

    title: str
    baseline: str
    rows: list[Measurement] = field(default_factory=list)

    def add(self, measurement: Measurement) -> Measurement:
        self.rows.append(measurement)
        return measurement

    def ratio(self, row: Measurement) -> float:
        base = next((r for r in self.rows if r.name == self.baseline), None)
        if base is None or base.value == 0 or row.value == 0:
            return float("nan")
        return base.value / row.value if row.lower_is_better else row.value / base.value

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "baseline": self.baseline,
            "rows": [
                {"name": r.name, "value": r.value, "unit": r.unit, "ratio": self.ratio(r), **r.details}
                for r in self.rows
            ],
        }

    def print(self, console: Console | None = None) -> None:
        if console is None:
            console = Console()
            if not console.is_terminal:  # logs and pipes: do not squeeze the table to 80 columns
                console.width = 160
        detail_keys = sorted({k for r in self.rows for k in r.details})
        table = Table(title=f"{self.title} (ratio vs '{self.baseline}', higher = better)")
        for col in ["measurement", "value", "unit", "ratio", *detail_keys]:
            table.add_column(col, justify="left" if col == "measurement" else "right")
        for r in self.rows:
            extra = [_fmt(r.details.get(k, "")) for k in detail_keys]
            table.add_row(r.name, _fmt(r.value), r.unit, f"{self.ratio(r):.2f}x", *extra)
        console.print(table)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)
