"""Atomic file output shared by the results store, the plots and every CLI command."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["OutputError", "write_atomic"]


class OutputError(OSError):
    """An output file could not be written; the message names the path and the reason."""


def _umask() -> int:
    """The process umask (``os.umask`` can only be read by setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(path: Path, err: OSError) -> str:
    """Why ``path`` cannot be written; names an ancestor that is a file (``--out README.md``)."""
    for parent in path.parents:
        if parent.exists():
            return f"{parent} is not a directory" if not parent.is_dir() else str(err.strerror)
    return str(err.strerror or err)


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8 encoded) atomically: a temp file beside ``path``, renamed over.

    A reader sees either the old file or the whole new one, never a partial write; on any
    error the temp file is removed and ``path`` is left as it was. The file gets the mode a
    plain ``open(path, "w")`` would give it (``0o666`` minus the umask), not ``mkstemp``'s
    private ``0o600``. Any ``OSError`` (unwritable directory, ``path`` is a directory, ...)
    is raised as :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    blob = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(path, err)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
        raise
    return path
