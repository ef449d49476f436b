"""HTML report of a VLN evaluation run, on a real run: the oracle through `run_vln_eval` with per-episode
videos from `EpisodeVideoHook` (2 short episodes of a generated house, 64 px views)."""

from __future__ import annotations

import functools
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import imageio.v2 as imageio
import pytest

from navagent.demo.episode_video import EpisodeVideoHook, hold_frame_count
from navagent.envs.builtin.episode_gen import write_split
from navagent.eval.report import episode_file_stem, load_run_outputs, write_html_report
from navagent.eval.vln import EvalConfig, ResultsFileError, run_vln_eval
from navagent.eval.vln.config import EpisodesSection, SimSection

SPLIT = "val_unseen"
FPS = 2


class _Page(HTMLParser):
    """Collects links (a href, video src/poster), table cells and row headers."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src", "poster"):
            if key in attrs:
                self.links.append(unquote(attrs[key]))
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_split(root / "data", SPLIT, 1, 2, seed=5, progress=False, min_geodesic=3.0, max_geodesic=4.5)
    out = root / "run"
    config = EvalConfig(
        policy="oracle", out_dir=str(out), num_envs=1, video=True,
        episodes=EpisodesSection(dir=str(root / "data"), split=SPLIT), sim=SimSection(width=64, height=64),
    )  # fmt: skip
    run_vln_eval(config, video_hook=functools.partial(EpisodeVideoHook, fps=FPS), progress=False)
    return out


def _records(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    return {record["episode_id"]: record for record in map(json.loads, lines)}


def test_video_hook_writes_one_playable_video_per_episode(run_dir):
    records = _records(run_dir)
    assert len(records) == 2
    for episode_id, record in records.items():
        video = run_dir / "videos" / f"{episode_file_stem(episode_id)}.mp4"
        with imageio.get_reader(video, format="FFMPEG") as reader:
            frames = [frame.shape for frame in reader]
        assert len(frames) == len(record["actions"]) + hold_frame_count(FPS)
        assert set(frames) == {(256, 256, 3)}
        assert video.with_suffix(".png").is_file()
    assert not list((run_dir / "videos").glob(".*"))  # no temp files left


def test_report_has_the_summary_table_and_links_every_existing_video(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    records = _records(copy)
    dropped = sorted(records)[1]
    (copy / "videos" / f"{episode_file_stem(dropped)}.mp4").unlink()

    report = write_html_report(copy)
    assert report == copy / "report.html"
    page = parse(report)
    summary = json.loads((copy / "summary.json").read_text())
    assert summary["sr"] == 1.0
    cells = page.cells
    assert cells[cells.index("SR (success rate)") + 1] == "100.0 %"
    assert cells[cells.index("Episodes") + 1] == "2"
    assert cells[cells.index("SPL") + 1] == f"{100 * summary['spl']:.1f} %"
    assert set(records) <= set(cells)  # one row per episode
    videos = [link for link in page.links if link.endswith(".mp4")]
    kept = min(records)
    assert set(videos) == {f"videos/{episode_file_stem(kept)}.mp4"}
    for link in page.links:
        assert (report.parent / link).is_file(), link


def test_report_written_elsewhere_links_back_relatively(run_dir, tmp_path):
    report = write_html_report(run_dir, tmp_path / "site" / "eval.html")
    links = parse(report).links
    assert len({link for link in links if link.endswith(".mp4")}) == 2
    for link in links:
        assert link.startswith("../") and (report.parent / link).resolve().is_file(), link


def test_report_lists_episodes_that_could_not_run(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    failure = {"episode_id": "77", "scene_id": "builtin/broken", "error": "ValueError: cannot load scene"}
    (copy / "failures.jsonl").write_text(json.dumps(failure) + "\n")
    assert [f["episode_id"] for f in load_run_outputs(copy).failures] == ["77"]
    cells = parse(write_html_report(copy)).cells
    assert "ValueError: cannot load scene" in cells and "builtin/broken" in cells


def test_bad_run_directories_fail_clearly(run_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_html_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="summary.json"):
        write_html_report(tmp_path / "empty")
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    lines = (copy / "results.jsonl").read_text().splitlines()
    (copy / "results.jsonl").write_text("\n".join([lines[0], "{not json", lines[1]]) + "\n")
    with pytest.raises(ResultsFileError, match="results.jsonl: line 2"):
        write_html_report(copy)
    assert not (copy / "report.html").exists()


def test_episode_file_stem_is_a_plain_visible_name():
    assert episode_file_stem("2000001") == "2000001"
    assert episode_file_stem("rxr/12 en") == "rxr_12_en"
    assert episode_file_stem("../x") == "_.._x"
