"""Atomic file output shared by the results store, the plots and every CLI command."""

from __future__ import annotations

import glob
import os
import re
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files of ``path`` left by writers that were killed mid-write.

    A temp file is named ``.<name>.<pid>.<random>.tmp``; one whose process no longer exists
    can never be renamed into place, so the next write of ``path`` removes it.
    """
    prefix = f".{path.name}."
    ours = re.compile(re.escape(prefix) + r"(\d+)\.[A-Za-z0-9_]+\.tmp")
    for entry in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        m = ours.fullmatch(entry.name)
        if m and int(m[1]) != os.getpid() and not _pid_alive(int(m[1])):
            entry.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Flush a directory entry (a rename) to disk, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8 encoded) atomically: a temp file beside ``path``, renamed over.

    A reader sees either the old file or the whole new one, never a partial write; on any
    error the temp file is removed and ``path`` is left as it was. The file gets the mode a
    plain ``open(path, "w")`` would give it (``0o666`` minus the umask), not ``mkstemp``'s
    private ``0o600``. The data and the rename are fsynced; a temp file left by a writer that
    was killed mid-write (its process gone) is removed by the next write of ``path``. Any
    ``OSError`` (unwritable directory, ``path`` is a directory, ...)
    is raised as :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    blob = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
        )
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        reason = _reason(path, err) if isinstance(err, OSError) else str(err)
        raise OutputError(f"cannot write {path}: {reason}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
        _fsync_directory(path.parent)  # and the rename itself survives a power cut
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
        raise
    return path
