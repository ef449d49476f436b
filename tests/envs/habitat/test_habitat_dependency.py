"""``navagent.envs.habitat`` fails to import with an install hint when habitat-lab or its native half is missing."""

from __future__ import annotations

import subprocess
import sys

import habitat
import pytest
from habitat_native_doubles import install_native_doubles

from navagent.envs.habitat.dependency import require_habitat_lab


def import_in_fresh_interpreter(prelude: str) -> subprocess.CompletedProcess:
    """Import the package in a new interpreter (no test doubles there) after running ``prelude``."""
    code = f"{prelude}\nimport navagent.envs.habitat"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def test_missing_habitat_lab_gives_the_pip_hint():
    result = import_in_fresh_interpreter("import sys; sys.modules['habitat'] = None")
    assert result.returncode != 0
    assert "ImportError: navagent.envs.habitat needs habitat-lab, which is not installed" in result.stderr
    assert "pip install 'navagent[habitat]'" in result.stderr and "docs/HABITAT.md" in result.stderr


@pytest.mark.skipif("habitat_sim" not in install_native_doubles(), reason="a real habitat-sim is installed")
def test_habitat_lab_without_habitat_sim_gives_the_conda_hint():
    result = import_in_fresh_interpreter("")
    assert result.returncode != 0
    assert "habitat-lab is installed but its native dependency" in result.stderr
    assert "conda install" in result.stderr


def test_other_habitat_lab_generations_are_refused(monkeypatch):
    assert require_habitat_lab().startswith("0.3.")
    monkeypatch.setattr(habitat, "__version__", "0.1.7")
    with pytest.raises(ImportError, match="supports habitat-lab 0.3.x, found 0.1.7"):
        require_habitat_lab()
