"""The one distribution maps the top-level folders into the `navagent` namespace: every package folder
must be listed in pyproject.toml and import under its namespaced name."""

import importlib
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _package_folders() -> dict[str, Path]:
    mapping = _pyproject()["tool"]["setuptools"]["package-dir"]
    found = {}
    for namespace, folder in mapping.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            name = ".".join([namespace, *rel.parts]) if rel.parts else namespace
            found[name] = init.parent
    return found


def test_every_package_folder_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    assert set(_package_folders()) == listed


# Packages whose import needs an optional extra: they must fail with an install hint naming the extra.
OPTIONAL_PACKAGES = {"navagent.envs.habitat": "navagent[habitat]"}


def test_every_listed_package_imports_under_the_namespace():
    for name, folder in _package_folders().items():
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            assert name in OPTIONAL_PACKAGES, f"{name}: {error}"
            assert OPTIONAL_PACKAGES[name] in str(error), f"{name} fails without an install hint: {error}"
            continue
        assert Path(module.__file__).resolve().parent == folder.resolve(), name


def test_torch_pin_admits_the_local_cpu_wheel_only_up_to_it():
    deps = _pyproject()["project"]["dependencies"]
    torch = next(d for d in deps if d.startswith("torch"))
    assert "<=2.13.0" in torch or "==2.13.0" in torch
