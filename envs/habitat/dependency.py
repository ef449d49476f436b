"""The habitat-lab import check behind ``navagent.envs.habitat``: fail early, with an install hint.

habitat-lab (pip) imports habitat-sim and magnum (conda, native) at module level, so there are three ways to
fail: habitat-lab missing, habitat-lab present without its native half, or the wrong habitat-lab generation
(0.1.x / 0.2.x configs and APIs differ from 0.3.x).
"""

from __future__ import annotations

import importlib
import importlib.util

SUPPORTED_HABITAT_LAB = "0.3"
NATIVE_MODULES = ("habitat_sim", "magnum", "corrade")

INSTALL_HINT = (
    "install habitat-lab 0.3.x with `pip install 'navagent[habitat]'` (it pins numpy==1.26.4 and gym<0.23.1: "
    "use a separate virtual environment) and habitat-sim 0.3.x with conda: "
    "`conda install -c conda-forge -c aihabitat habitat-sim=0.3 withbullet headless`; see docs/HABITAT.md"
)


def habitat_lab_installed() -> bool:
    """Is a real ``habitat`` package importable? (A bare ``habitat/`` folder on ``sys.path``, which Python
    would import as a namespace package, does not count.)"""
    spec = importlib.util.find_spec("habitat")
    return spec is not None and spec.origin is not None and spec.origin.endswith("__init__.py")


def require_habitat_lab() -> str:
    """Import habitat-lab or raise ``ImportError`` with an install hint; returns its version."""
    if not habitat_lab_installed():
        raise ImportError(f"navagent.envs.habitat needs habitat-lab, which is not installed: {INSTALL_HINT}")
    try:
        habitat = importlib.import_module("habitat")
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing in NATIVE_MODULES:
            raise ImportError(
                f"habitat-lab is installed but its native dependency {missing!r} is not (habitat-sim and "
                f"magnum come from conda, not pip): {INSTALL_HINT}"
            ) from error
        raise
    version = str(getattr(habitat, "__version__", "unknown"))
    if not version.startswith(SUPPORTED_HABITAT_LAB + "."):
        raise ImportError(
            f"navagent.envs.habitat supports habitat-lab {SUPPORTED_HABITAT_LAB}.x, found {version} "
            f"(the 0.1.7 stack of VLN-CE/NaVILA is not supported): {INSTALL_HINT}"
        )
    return version
