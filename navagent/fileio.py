"""Deterministic JSON bytes and atomic file writes: the one I/O helper module every package may import.

- ``json_bytes``: UTF-8 JSON with sorted keys, NaN/inf rejected, a trailing newline (equal objects, equal bytes).
- ``gzip_bytes``: gzip with a fixed header (mtime 0, no file name), so equal input gives equal bytes.
- ``write_bytes_atomic``: a temp file in the destination directory + ``os.replace``; on any error the temp file
  is removed and an existing file is left untouched.
- ``write_json_atomic``: indented JSON (gzipped for ``.gz``), parents created, written atomically.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def json_bytes(obj: Any, *, indent: int | None = None) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no NaN/inf (raises ValueError), trailing newline."""
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        obj, sort_keys=True, separators=separators, indent=indent, ensure_ascii=False, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0, no file name) so equal input gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as stream:
        stream.write(data)
    return buffer.getvalue()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory + ``os.replace`` (fsynced, mode 0644).

    On any error the temp file is removed and an existing ``path`` is left untouched.
    """
    path = Path(path)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp creates 0600; dataset files are meant to be shared
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON (gzipped when ``path`` ends in ``.gz``), atomically.

    Parent directories are created. NaN/inf are rejected (ValueError) before anything is written.
    """
    path = Path(path)
    data = json_bytes(obj, indent=2)
    if path.suffix == ".gz":
        data = gzip_bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)
