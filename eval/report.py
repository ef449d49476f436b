"""HTML report of a VLN evaluation run: the summary table, every episode's metrics, and its video if any.

Reads the output directory of ``navagent eval vln`` (``navagent.eval.vln.runner``):

* ``summary.json`` (required): the aggregate metrics, ``invalid_rate``, ``episodes_per_hour``, policy, split;
* ``results.jsonl`` (or, before a shard merge, ``results.shard-i-of-n.jsonl``): one record per episode with
  ``episode_id``, ``scene_id``, ``metrics``, ``model_queries``, ``invalid_outputs``;
* ``run.json`` (optional): the run's settings; its ``episodes`` file supplies the instructions when readable;
* ``failures.jsonl`` (optional): episodes that could not start;
* ``videos/ID.mp4`` and ``videos/ID.png`` (optional, ``--video``): per-episode videos and their last frames,
  named by ``episode_file_stem``.

The page (``report.html`` in the run directory by default) is one self-contained file that links the videos
by relative paths, so the directory can be copied or served as a whole. The same inputs give the same bytes.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from navagent.envs.episodes import EpisodeFileError, load_any_episodes, read_json
from navagent.eval.score import format_metric_value
from navagent.eval.vln.results import ResultsFileError, ResultsLog, merge_records
from navagent.fileio import write_bytes_atomic

VIDEOS_DIR = "videos"
REPORT_NAME = "report.html"
_SHARD_RESULTS = re.compile(r"results\.shard-(\d+)-of-(\d+)\.jsonl")
_SUMMARY_ROWS: Sequence[tuple[str, str, str]] = (
    # key, label, format: "%" fraction as percent, "m" metres, "f" number, "d" count, "s" text
    ("episodes", "Episodes", "d"),
    ("sr", "SR (success rate)", "%"),
    ("spl", "SPL", "%"),
    ("ndtw", "nDTW", "%"),
    ("sdtw", "sDTW", "%"),
    ("osr", "OSR (oracle success)", "%"),
    ("ne", "NE (navigation error)", "m"),
    ("tl", "TL (trajectory length)", "m"),
    ("steps", "Steps (mean)", "f"),
    ("nonfinite_ne", "Non-finite NE (excluded from NE)", "d"),
    ("invalid_rate", "Invalid model outputs", "%"),
    ("model_queries", "Model queries", "d"),
    ("episodes_per_hour", "Episodes / hour", "f"),
    ("policy", "Policy", "s"),
    ("split", "Split", "s"),
    ("max_steps", "Step limit", "d"),
    ("dtw", "DTW", "s"),
    ("shards", "Shards merged", "d"),
)
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; max-width: 40em; }
tr.success td.sr { color: #1a7f37; font-weight: bold; }
tr.failure td.sr { color: #c62828; font-weight: bold; }
.videos { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
video { width: 448px; max-width: 100%; background: #000; }
"""


def episode_file_stem(episode_id: str) -> str:
    """File name stem of an episode's video and PNG: the id with anything but letters, digits, ``_``,
    ``.`` and ``-`` replaced by ``_`` (and a leading ``.`` escaped, so no file is hidden)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(episode_id))
    return f"_{stem}" if not stem or stem.startswith(".") else stem


@dataclass
class RunOutputs:
    """What a run directory holds (see the module docstring)."""

    run_dir: Path
    summary: dict
    records: list[dict]
    config: dict = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    instructions: dict[str, str] = field(default_factory=dict)


def _load_records(run_dir: Path) -> list[dict]:
    merged = run_dir / "results.jsonl"
    if merged.is_file():
        return list(ResultsLog(merged).load(repair=False).values())
    shards = sorted(p for p in run_dir.glob("results.shard-*.jsonl") if _SHARD_RESULTS.fullmatch(p.name))
    if not shards:
        raise FileNotFoundError(f"{run_dir}: no results.jsonl (nor shard results): not an eval vln output")
    files = [ResultsLog(path).load(repair=False) for path in shards]
    return list(merge_records(files, [str(p) for p in shards]).values())


def _load_instructions(config: Mapping) -> dict[str, str]:
    """Instructions by episode id from the run's episode file; empty when it is gone or unreadable."""
    path = config.get("episodes")
    if not isinstance(path, str) or not Path(path).is_file():
        return {}
    try:
        return {e.episode_id: e.instruction_text for e in load_any_episodes(path)}
    except (EpisodeFileError, OSError):
        return {}


def load_run_outputs(run_dir: str | os.PathLike) -> RunOutputs:
    """Read a run directory; a missing ``summary.json`` or results file raises ``FileNotFoundError`` and a
    malformed one ``ResultsFileError`` / ``EpisodeFileError``, each naming the file."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    summary_file = run_dir / "summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(
            f"{summary_file} not found: not a finished `navagent eval vln` output directory "
            "(a sharded run writes it when its last shard finishes)"
        )
    summary = read_json(summary_file)
    if not isinstance(summary, dict):
        raise ResultsFileError(f"{summary_file}: expected a JSON object")
    records = _load_records(run_dir)
    for record in records:
        if not isinstance(record.get("metrics"), dict):
            raise ResultsFileError(f"{run_dir}: episode {record['episode_id']!r}: record without 'metrics'")
    config_file = run_dir / "run.json"
    config = read_json(config_file) if config_file.is_file() else {}
    finished = {record["episode_id"] for record in records}
    failures_file = run_dir / "failures.jsonl"
    failures = []
    if failures_file.is_file():  # failed episodes are retried: list only those still without a result
        loaded = ResultsLog(failures_file).load(repair=False).values()
        failures = [f for f in loaded if f["episode_id"] not in finished]
    return RunOutputs(run_dir, summary, records, config, failures, _load_instructions(config))


# ------------------------------------------------------------------------------------------ formatting
def _cell(text: str, css: str = "") -> str:
    return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"


def _link(target: Path, base: Path) -> str:
    """URL of ``target`` relative to the report's folder ``base``."""
    return quote(Path(os.path.relpath(target.resolve(), base.resolve())).as_posix())


def _summary_table(summary: Mapping) -> str:
    rows = [
        f"<tr><th class='text'>{html.escape(label)}</th><td>{html.escape(format_metric_value(summary[key], kind))}</td></tr>"
        for key, label, kind in _SUMMARY_ROWS
        if key in summary
    ]
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _sort_key(episode_id: str) -> tuple:
    return (0, int(episode_id), "") if episode_id.lstrip("-").isdigit() else (1, 0, episode_id)


def _videos(run: RunOutputs) -> dict[str, tuple[Path, Path | None]]:
    """Episode id -> (video, poster PNG or None) for the episodes whose video exists."""
    found = {}
    for record in run.records:
        stem = episode_file_stem(record["episode_id"])
        video = run.run_dir / VIDEOS_DIR / f"{stem}.mp4"
        if video.is_file():
            poster = video.with_suffix(".png")
            found[record["episode_id"]] = (video, poster if poster.is_file() else None)
    return found


def _episode_rows(run: RunOutputs, videos: Mapping, base: Path) -> str:
    header = (
        "<tr><th>Episode</th><th class='text'>Scene</th><th>Steps</th><th>NE</th><th>SR</th><th>OSR</th>"
        "<th>SPL</th><th>nDTW</th><th>TL</th><th>Invalid / queries</th><th>Video</th>"
        "<th class='text'>Instruction</th></tr>"
    )
    rows = [header]
    for record in sorted(run.records, key=lambda r: _sort_key(r["episode_id"])):
        episode_id, metrics = record["episode_id"], record["metrics"]
        video = videos.get(episode_id)
        link = f'<a href="{_link(video[0], base)}">mp4</a>' if video else "&mdash;"
        css = "success" if metrics.get("success") else "failure"
        cells = [
            _cell(html.escape(episode_id)),
            _cell(html.escape(str(record.get("scene_id", ""))), "text"),
            _cell(str(metrics.get("steps"))),
            _cell(format_metric_value(metrics.get("ne"), "m")),
            _cell(str(int(bool(metrics.get("success")))), "sr"),
            _cell(str(int(bool(metrics.get("oracle_success"))))),
            _cell(format_metric_value(metrics.get("spl"), "f2")),
            _cell(format_metric_value(metrics.get("ndtw"), "f2")),
            _cell(format_metric_value(metrics.get("tl"), "m")),
            _cell(f"{record.get('invalid_outputs', 0)} / {record.get('model_queries', 0)}"),
            _cell(link),
            _cell(html.escape(run.instructions.get(episode_id, "")), "text"),
        ]
        rows.append(f'<tr class="{css}">' + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _video_gallery(run: RunOutputs, videos: Mapping, base: Path) -> str:
    if not videos:
        return "<p>No episode videos (run <code>navagent eval vln --video</code> to record them).</p>"
    figures = []
    for episode_id in sorted(videos, key=_sort_key):
        video, poster = videos[episode_id]
        poster_attr = f' poster="{_link(poster, base)}"' if poster else ""
        figures.append(
            f'<figure id="episode-{html.escape(episode_file_stem(episode_id))}">'
            f'<video controls preload="none"{poster_attr} src="{_link(video, base)}"></video>'
            f"<figcaption>episode {html.escape(episode_id)}</figcaption></figure>"
        )
    return '<div class="videos">\n' + "\n".join(figures) + "\n</div>"


def _failures(run: RunOutputs) -> str:
    if not run.failures:
        return ""
    rows = "\n".join(
        f"<tr><td>{html.escape(str(f['episode_id']))}</td><td class='text'>{html.escape(str(f.get('scene_id')))}"
        f"</td><td class='text'>{html.escape(str(f.get('error')))}</td></tr>"
        for f in run.failures
    )
    header = "<tr><th>Episode</th><th class='text'>Scene</th><th class='text'>Error</th></tr>"
    return f"<h2>Episodes that could not run ({len(run.failures)})</h2>\n<table>\n{header}\n{rows}\n</table>"


def render_html_report(run: RunOutputs, base: Path) -> str:
    """The report page; links are relative to ``base`` (the folder the page is written to)."""
    title = f"VLN evaluation: {run.summary.get('policy') or run.config.get('policy') or run.run_dir.name}"
    videos = _videos(run)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run directory: <code>{html.escape(str(run.run_dir))}</code></p>",
        "<h2>Summary</h2>",
        _summary_table(run.summary),
        f"<h2>Episodes ({len(run.records)})</h2>",
        _episode_rows(run, videos, base),
        _failures(run),
        f"<h2>Videos ({len(videos)})</h2>",
        _video_gallery(run, videos, base),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def write_html_report(run_dir: str | os.PathLike, out_path: str | os.PathLike | None = None) -> Path:
    """Write the HTML report of the run in ``run_dir`` to ``out_path`` (default ``run_dir/report.html``,
    written atomically); returns its path."""
    run = load_run_outputs(run_dir)
    out_path = Path(out_path) if out_path is not None else run.run_dir / REPORT_NAME
    out_path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html_report(run, out_path.parent)
    write_bytes_atomic(out_path, page.encode("utf-8"))
    return out_path
