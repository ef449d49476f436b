"""Where the habitat tests run.

habitat-lab 0.3.x pins numpy==1.26.4 and gym<0.23.1, which the main environment (numpy 2, pyarrow needing
numpy 2) cannot take, so CI installs it into a second virtual environment, ``.venv-habitat`` at the repository
root (see docs/HABITAT.md; ``NAVAGENT_HABITAT_PYTHON`` may name another interpreter). For every
``test_habitat_*.py`` file in this folder:

* habitat-lab importable by this interpreter: the tests run here, as usual. Where habitat-sim is not
  installed, the native modules habitat-lab imports (habitat_sim, magnum, corrade) are first replaced by the
  test doubles of ``doubles/habitat_native_doubles.py``, in this test process only.
* otherwise, with the habitat interpreter present: the file is collected as one test that runs the file
  with that interpreter's pytest in a subprocess, and passes, fails (showing the inner report) or skips
  as the inner run did.
* otherwise: one skipped test per file, saying why.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
HABITAT_PYTHON_VARIABLE = "NAVAGENT_HABITAT_PYTHON"
DEFAULT_HABITAT_PYTHON = REPO_ROOT / ".venv-habitat" / "bin" / "python"
INNER_RUN_TIMEOUT_S = 1200
_REPORT_TAIL_CHARS = 6000


def _habitat_lab_here() -> bool:
    # this folder is itself named habitat: with it on sys.path, find_spec returns it as a namespace package
    spec = importlib.util.find_spec("habitat")
    return spec is not None and spec.origin is not None and spec.origin.endswith("__init__.py")


HABITAT_LAB_HERE = _habitat_lab_here()

if HABITAT_LAB_HERE:
    sys.path.insert(0, str(HERE / "doubles"))
    from habitat_native_doubles import install_native_doubles

    install_native_doubles()


def habitat_python() -> Path | None:
    """The interpreter of the habitat environment, or None when there is none."""
    configured = os.environ.get(HABITAT_PYTHON_VARIABLE)
    candidate = Path(configured) if configured else DEFAULT_HABITAT_PYTHON
    return candidate if candidate.is_file() else None


class HabitatEnvironmentFile(pytest.File):
    """A habitat test file run as a whole by the habitat environment's pytest."""

    def collect(self):
        yield HabitatEnvironmentRun.from_parent(self, name="in-habitat-venv")


class HabitatEnvironmentRun(pytest.Item):
    def runtest(self) -> None:
        python = habitat_python()
        if python is None:
            pytest.skip(
                f"habitat-lab is not installed here and there is no habitat environment at "
                f"{DEFAULT_HABITAT_PYTHON} (or ${HABITAT_PYTHON_VARIABLE}); .ci/run creates it, see docs/HABITAT.md"
            )
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))
        }
        environment.setdefault("OMP_NUM_THREADS", "1")
        environment.setdefault("LP_NUM_THREADS", "1")
        with tempfile.TemporaryDirectory(prefix="navagent-habitat-") as scratch:
            report = Path(scratch) / "report.xml"
            command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
            completed = subprocess.run(
                [*command, str(self.path)],
                cwd=REPO_ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=INNER_RUN_TIMEOUT_S,
                check=False,
            )
            counts = _junit_counts(report) if report.is_file() else None
        output = (completed.stdout + completed.stderr)[-_REPORT_TAIL_CHARS:]
        if completed.returncode != 0 or counts is None:
            pytest.fail(
                f"{python} -m pytest {self.path.name} exited {completed.returncode}:\n{output}", pytrace=False
            )
        if counts["passed"] == 0:
            pytest.skip(f"every test of {self.path.name} skipped in the habitat environment:\n{output}")

    def reportinfo(self):
        return self.path, None, f"{self.path.name} (habitat environment)"


def _junit_counts(report: Path) -> dict[str, int]:
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    totals = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    totals["passed"] = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    return totals


def pytest_pycollect_makemodule(module_path: Path, parent):
    if HABITAT_LAB_HERE or not module_path.name.startswith("test_habitat_"):
        return None
    return HabitatEnvironmentFile.from_parent(parent, path=module_path)


# ------------------------------------------------------------------------------------------- fixtures
BUILTIN_SPLIT = "val_seen"
BUILTIN_SEED = 7


@pytest.fixture(scope="session")
def builtin_r2r(tmp_path_factory):
    """Built-in R2R-CE files (one house, three episodes): ``(episodes_dir, episodes, ground_truth)``."""
    from navagent.envs.builtin.episode_gen import write_split
    from navagent.envs.episodes import load_episodes, load_gt

    root = tmp_path_factory.mktemp("builtin_r2r")
    episodes_path, gt_path = write_split(root, BUILTIN_SPLIT, 1, 3, seed=BUILTIN_SEED, progress=False)
    return root, load_episodes(episodes_path), load_gt(gt_path)
