"""Guarding a results folder: the fingerprint of a run's inputs and an exclusive lock for the run's lifetime.

- ``file_digest`` / ``tree_digest``: content hashes (``sha256:<hex>``) of an input file or a checkpoint folder.
- ``check_fingerprint``: records a run's fingerprint (a JSON mapping) in its folder, or refuses to resume
  when the recorded one differs, naming what changed and how to start fresh (``--overwrite`` or a new
  ``--out``): a resume never mixes results made from other inputs.
- ``output_lock``: an exclusive ``fcntl.flock`` on a lock file in the folder, held while the run writes. The
  kernel drops the lock when its process dies, so the lock of a killed run is stale by construction; the file
  records the holder's pid, which a refused run names (and a run taking over a stale lock reports).
- ``check_out_dir`` / ``check_out_file``: an output path that exists with the wrong kind (a file where a
  folder is written, or the reverse) is refused before anything runs.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from navagent.fileio import json_bytes, write_bytes_atomic

LOCK_NAME = ".navagent.lock"
FRESH_HINT = "to start fresh pass --overwrite (drops the folder's results) or use a new --out"
_CHUNK = 1 << 20


class InputsChangedError(ValueError):
    """A results folder holds results made from other inputs than this run's."""


class OutputLockedError(OSError):
    """Another live run holds the lock of a results folder."""


def file_digest(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def tree_digest(directory: str | os.PathLike) -> str:
    """``sha256:<hex>`` over every file below ``directory`` (relative path + content), in sorted order."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_digest(path)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``{"a.b": leaf}`` (lists and scalars are leaves)."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def changed_keys(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two nested mappings (added and removed keys included)."""
    old, new = _flatten(previous), _flatten(current)
    return sorted(key for key in old.keys() | new.keys() if old.get(key, None) != new.get(key, None))


def describe_changes(previous: Mapping[str, Any], current: Mapping[str, Any], limit: int = 6) -> str:
    """``"inputs.episodes (was sha256:ab12…, now sha256:cd34…), sim.max_steps (was 100, now 50)"``."""

    def short(value: Any) -> str:
        text = json.dumps(value, default=str)
        return text if len(text) <= 40 else text[:37] + "..."

    old, new = _flatten(previous), _flatten(current)
    keys = changed_keys(previous, current)
    parts = [f"{key} (was {short(old.get(key))}, now {short(new.get(key))})" for key in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(parts) + more


def check_fingerprint(path: str | os.PathLike, fingerprint: Mapping[str, Any], what: str = "results") -> None:
    """Write ``fingerprint`` to ``path`` (JSON) when absent; when present, raise ``InputsChangedError`` unless
    it is equal (the message names the changed keys and ``FRESH_HINT``)."""
    path = Path(path)
    current = json.loads(json_bytes(dict(fingerprint)))  # JSON values, as they are compared on disk
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputsChangedError(f"{path}: unreadable run record ({error}); {FRESH_HINT}") from error
        if previous != current:
            raise InputsChangedError(
                f"{path.parent} holds {what} made from other inputs: {describe_changes(previous, current)} "
                f"(recorded in {path}); {FRESH_HINT}"
            )
        return
    write_bytes_atomic(path, json_bytes(current, indent=2))


def check_out_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """``path`` as an output folder: refused when it exists and is not a directory."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, f"{flag} must be a folder, but it is an existing file", str(path)
        )
    return path


def check_out_file(path: str | os.PathLike, flag: str = "--out") -> Path:
    """``path`` as an output file: refused when it is an existing directory or its parent is a file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"{flag} must be a file, but it is an existing folder", str(path)
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    errno.ENOTDIR, f"{flag}: {parent} is a file, not a folder", str(path)
                )
            break
    return path


def _holder(handle) -> str:
    handle.seek(0)
    text = handle.read().strip()
    return text or "unknown"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def output_lock(directory: str | os.PathLike, name: str = LOCK_NAME) -> Iterator[Path]:
    """Hold an exclusive lock on ``directory`` (created when missing) until the block ends.

    Raises ``OutputLockedError`` naming the holder's pid when another live run holds it. A lock file left by
    a killed run is not locked any more (the kernel released it): it is taken over, with a note on stderr."""
    directory = check_out_dir(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the block's lifetime)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise OutputLockedError(
                f"{directory} is in use by another run ({holder}; lock file {path}): wait for it to finish "
                "or use another --out"
            ) from None
        try:  # the file may have been unlinked by the previous holder between open() and flock()
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    previous = _holder(handle)
    if previous != "unknown":
        pid = previous.removeprefix("pid ").split()[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            print(
                f"navagent: note: {path}: took over the stale lock of a killed run ({previous})",
                file=sys.stderr,
            )
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        handle.close()
