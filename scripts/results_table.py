"""Markdown tables of docs/RESULTS.md from the outputs of scripts/train_default_agent.sh (no numbers typed by hand).

    python scripts/results_table.py runs/default-agent/eval

Reads EVAL/{agent,random,forward,oracle}_{val_seen,val_unseen,val_unseen_lang}/summary.json (`navagent eval vln`),
EVAL/actions_{split}.json (`navagent eval actions`) and EVAL/vqa_{easyvqa,sceneqa}/scores.json (`navagent eval vqa`);
a missing file is reported as a missing row, never filled in.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from navagent.eval.score import format_metric_value

SPLITS = ("val_seen", "val_unseen", "val_unseen_lang")
POLICIES = (
    ("agent", "default agent"),
    ("random", "random"),
    ("forward", "forward-only"),
    ("oracle", "oracle"),
)
PERCENT = ("sr", "osr", "spl", "ndtw", "sdtw", "invalid_rate")


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def vln_table(eval_dir: Path) -> str:
    head = "| split | policy | episodes | SR | SPL | nDTW | OSR | sDTW | NE (m) | TL (m) | steps | invalid |"
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for split in SPLITS:
        for key, name in POLICIES:
            summary = _load(eval_dir / f"{key}_{split}" / "summary.json")
            if summary is None:
                rows.append(f"| {split} | {name} | missing | | | | | | | | | |")
                continue
            cells = {k: format_metric_value(summary[k], "%") for k in PERCENT if summary.get(k) is not None}
            invalid = cells.get("invalid_rate", "–") if key == "agent" else "–"
            rows.append(
                f"| {split} | {name} | {summary['episodes']} | {cells['sr']} | {cells['spl']} | {cells['ndtw']} | "
                f"{cells['osr']} | {cells['sdtw']} | {summary['ne']:.2f} | {summary['tl']:.2f} | "
                f"{summary['steps']:.1f} | {invalid} |"
            )
    return "\n".join(rows)


def actions_table(eval_dir: Path) -> str:
    rows = [
        "| split | records | exact | same kind | invalid | majority-label floor | majority-kind floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for split in SPLITS:
        summary = _load(eval_dir / f"actions_{split}.json")
        if summary is None:
            rows.append(f"| {split} | missing | | | | | |")
            continue
        cells = [
            format_metric_value(summary[k], "%")
            for k in ("exact", "kind", "invalid", "majority", "majority_kind")
        ]
        rows.append(f"| {split} | {summary['records']} | {' | '.join(cells)} |")
    return "\n".join(rows)


def vqa_table(eval_dir: Path) -> str:
    rows = ["| benchmark | questions | accuracy |", "|---|---|---|"]
    for task in ("easyvqa", "sceneqa"):
        scores = _load(eval_dir / f"vqa_{task}" / "scores.json")
        report = None if scores is None else scores.get(task)
        if report is None:
            rows.append(f"| {task} | missing | |")
            continue
        count = report.get("num_samples") or report.get("existence", {}).get("overall", {}).get(
            "num_samples", ""
        )
        rows.append(f"| {task} | {count} | {report['accuracy']:.1f} % |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("eval_dir", type=Path, help="RUN_DIR/eval of scripts/train_default_agent.sh")
    eval_dir = parser.parse_args().eval_dir
    print(vln_table(eval_dir), actions_table(eval_dir), vqa_table(eval_dir), sep="\n\n")


if __name__ == "__main__":
    main()
