"""Test doubles for the native modules habitat-lab imports: ``habitat_sim``, ``magnum`` and ``corrade``.

habitat-lab is pure Python and pip-installable, but ``import habitat`` imports habitat-sim (and magnum, whose
bindings ship ``corrade``) at module level, even for tasks that never touch them, and habitat-sim installs
only through conda. The tests run habitat-lab's Env, VLN task, dataset loader and measures on the built-in
simulator, which needs none of these native modules; the doubles only let habitat-lab's modules import.

``install_native_doubles()`` puts an import hook in front of ``sys.meta_path`` for exactly these three
top-level names, and only for those that are not really installed (with a real habitat-sim, the real modules
are used). In a doubled module:

* every attribute is a stand-in class (usable as a base class, in annotations and ``isinstance`` checks);
* reading a stand-in's attribute, calling it, or constructing it directly gives an inert ``MagicMock``,
  which is what habitat-lab's import-time constants need (``mn.Vector3(0, 0.9, 0)``,
  ``mn.Vector3.zero_init()``);
* constructing a habitat-lab class derived from a stand-in (habitat-lab's own ``HabitatSim``, for instance)
  raises ``RuntimeError``, so no code path can silently run on a simulator that does not exist.

Only tests call this, inside the test process; nothing in ``navagent`` imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from unittest import mock

DOUBLED_MODULES = ("habitat_sim", "magnum", "corrade")


class _StandInMeta(type):
    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return mock.MagicMock(name=f"{cls.__qualname__}.{name}")


class _StandIn(metaclass=_StandInMeta):
    _is_stand_in = False

    def __new__(cls, *args, **kwargs):
        if cls.__dict__.get("_is_stand_in"):
            return mock.MagicMock(name=cls.__qualname__)
        raise RuntimeError(
            f"{cls.__module__}.{cls.__qualname__} derives from a test double of a native module "
            f"({', '.join(DOUBLED_MODULES)}): there is no real habitat-sim in this process"
        )


class _DoubledModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        stand_in = _StandInMeta(
            name, (_StandIn,), {"_is_stand_in": True, "__module__": self.__name__, "__qualname__": name}
        )
        setattr(self, name, stand_in)
        return stand_in


class _DoubleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, top_level: frozenset[str]) -> None:
        self.top_level = top_level

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in self.top_level:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _DoubledModule(spec.name)
        module.__path__ = []  # a package: submodules (habitat_sim.physics, magnum.trade, ...) import too
        return module

    def exec_module(self, module) -> None:
        return None


def install_native_doubles() -> tuple[str, ...]:
    """Double the native modules that are not installed; returns the names doubled (idempotent)."""
    if any(isinstance(finder, _DoubleFinder) for finder in sys.meta_path):
        return tuple(n for f in sys.meta_path if isinstance(f, _DoubleFinder) for n in sorted(f.top_level))
    missing = frozenset(name for name in DOUBLED_MODULES if importlib.util.find_spec(name) is None)
    if missing:
        sys.meta_path.insert(0, _DoubleFinder(missing))
    return tuple(sorted(missing))
