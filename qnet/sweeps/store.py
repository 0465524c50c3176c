"""SQLite results store: one row per sweep point, written as each point finishes.

Table ``points``: key (``sweep``, ``point_id``) -- the sweep's name and the resolved
scenario's digest, seed included --, the point's coordinates (one column per swept
dotted key, e.g. ``link.arm_a_km``, plus a JSON copy), ``status`` (``ok``/``failed``) and ``error``,
``seed``, ``engine``, ``wall_time_s``, ``qnet_version``, ``sequence_version``,
``scenario_digest``, ``scenario_json``, ``finished_at`` and every field of the run's
:class:`~qnet.runs.runner.RunRecord` (each estimate with its ``*_ci95`` half-width). Columns
are added as new metric names appear. Table ``sweeps`` keeps each sweep's axes.

Every point is committed in its own transaction (WAL journal, ``synchronous=FULL``), so a
killed sweep loses only the points still running, and a rerun skips finished ones.

A store is marked with SQLite's ``application_id`` (:data:`APPLICATION_ID`) and
``user_version`` (:data:`SCHEMA_VERSION`). Before anything is written, an existing file is
checked: a qnet store (marked, or an unmarked one from before the mark with qnet's
``points`` columns) is opened; any other SQLite database, or a damaged one, is refused with
one :class:`StoreError` and left byte for byte as it was.

Examples:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d, ResultStore(pathlib.Path(d) / "r.sqlite") as s:
    ...     s.write_point({"point_id": "a1", "sweep": "demo", "status": "ok", "x": 1.5})
    ...     s.point_ids("demo")
    {'a1'}
"""

from __future__ import annotations

import io
import json
import math
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from qnet.io import write_atomic

__all__ = [
    "ResultStore",
    "StoreError",
    "export_results",
    "filter_results",
    "load_results",
    "load_sweeps",
]

_FIXED = (
    ("point_id", "TEXT NOT NULL"),
    ("sweep", "TEXT NOT NULL"),
    ("point_index", "INTEGER"),
    ("coords", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("error", "TEXT"),
    ("seed", "INTEGER"),
    ("engine", "TEXT"),
    ("wall_time_s", "REAL"),
    ("qnet_version", "TEXT"),
    ("sequence_version", "TEXT"),
    ("scenario_digest", "TEXT"),
    ("scenario_json", "TEXT"),
    ("finished_at", "TEXT"),
)


APPLICATION_ID = 0x716E6574
"""SQLite ``PRAGMA application_id`` of a qnet results store (ASCII 'qnet')."""

SCHEMA_VERSION = 1
"""SQLite ``PRAGMA user_version`` of the current store layout."""

_REQUIRED = {"point_id", "sweep", "point_index", "status"}


class StoreError(ValueError):
    """The store is missing, not a qnet store, or a filter/export request is invalid."""


def _q(name: str) -> str:
    """Quote an SQL identifier (column names contain dots)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_type(value: Any) -> str:
    if isinstance(value, bool | int):
        return "INTEGER"
    if isinstance(value, float):
        return "REAL"
    return "TEXT"


class ResultStore:
    """An open SQLite results store (use as a context manager)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open results store {self.path}: {err}") from None
        try:
            fresh = _check_schema(self._db, self.path)
            if not fresh:  # a damaged store is refused now, not after its first point ran
                problems = [r[0] for r in self._db.execute("PRAGMA quick_check(2)")]
                if problems != ["ok"]:
                    first = " ".join(" ".join(problems).replace("*", "").split())
                    raise StoreError(
                        f"{self.path} is damaged or not a qnet results store (integrity check: "
                        f"{first}); nothing was written to it"
                    )
            self._create(fresh)
        except StoreError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StoreError(_damaged(self.path, err)) from None

    def _create(self, fresh: bool) -> None:
        if fresh:
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        cols = ", ".join(f"{_q(n)} {t}" for n, t in _FIXED)
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS points ({cols}, PRIMARY KEY (sweep, point_id))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sweeps (name TEXT PRIMARY KEY, spec TEXT NOT NULL, "
            "updated_at TEXT)"
        )

    def _read_columns(self) -> set[str]:
        return {r[1] for r in self._db.execute("PRAGMA table_info(points)")}

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def register_sweep(self, name: str, spec: dict[str, Any]) -> None:
        """Record (or update) a sweep's axes and settings."""
        self._db.execute(
            "INSERT OR REPLACE INTO sweeps (name, spec, updated_at) VALUES (?, ?, ?)",
            (name, json.dumps(spec, sort_keys=True), _now()),
        )

    def point_ids(
        self, sweep: str | None = None, status: tuple[str, ...] | None = None
    ) -> set[str]:
        """Ids of stored points (optionally of one sweep, with one of the given statuses)."""
        sql, args = "SELECT point_id FROM points WHERE 1=1", []
        if sweep is not None:
            sql += " AND sweep = ?"
            args.append(sweep)
        if status:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args.extend(status)
        return {r[0] for r in self._db.execute(sql, args)}

    def write_point(self, row: dict[str, Any]) -> None:
        """Insert or replace one point's row in a single committed transaction."""
        row = {**row, "finished_at": row.get("finished_at") or _now()}
        clean = {k: _clean(v) for k, v in row.items()}
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Read inside the transaction: another process may have added columns.
            columns = self._read_columns()
            for name, value in clean.items():
                if name not in columns:
                    self._db.execute(f"ALTER TABLE points ADD COLUMN {_q(name)} {_sql_type(value)}")
            names = list(clean)
            self._db.execute(
                f"INSERT OR REPLACE INTO points ({', '.join(_q(n) for n in names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [clean[n] for n in names],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return json.dumps(value, default=str)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _damaged(path: Path, err: Exception) -> str:
    """One line for an SQLite error on ``path``: not a database, or a damaged one."""
    reason = str(err).splitlines()[-1].split("': ")[-1]  # pandas prefixes the SQL
    if "not a database" in reason:
        return f"{path} is not a qnet results store ({reason})"
    return f"{path} is damaged or not a qnet results store ({reason})"


def _check_schema(db: sqlite3.Connection, path: Path) -> bool:
    """Refuse a database that is not a qnet store, reading only; True if it is empty (new).

    A store carries :data:`APPLICATION_ID`; an unmarked database is accepted only if it is
    empty or holds qnet's ``points`` table (a store written before the mark). A newer
    ``user_version`` than this qnet knows is refused too.
    """
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} is a qnet results store of a newer layout (version {version}; this "
                f"qnet reads versions up to {SCHEMA_VERSION})"
            )
        return False
    if app_id != 0:
        raise StoreError(
            f"{path} is not a qnet results store (SQLite application id {app_id:#x}, "
            f"expected {APPLICATION_ID:#x})"
        )
    if not tables:
        return True
    columns = {r[1] for r in db.execute("PRAGMA table_info(points)")}
    if not _REQUIRED <= columns or not tables <= {"points", "sweeps"}:
        shown = ", ".join(sorted(tables))
        raise StoreError(
            f"{path} is not a qnet results store (it holds other tables: {shown}); "
            "nothing was written to it"
        )
    return False


def _open_existing(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"results store not found: {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        _check_schema(db, path)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except StoreError:
        db.close()
        raise
    except sqlite3.DatabaseError as err:
        db.close()
        raise StoreError(_damaged(path, err)) from None
    if "points" not in tables:
        db.close()
        raise StoreError(f"{path} is not a qnet results store (no 'points' table)")
    return db


def load_results(path: str | Path, sweep: str | None = None) -> pd.DataFrame:
    """Every stored point as a DataFrame (one row per point; NULL metrics are NaN)."""
    db = _open_existing(path)
    try:
        sql, args = "SELECT * FROM points", []
        if sweep is not None:
            sql += " WHERE sweep = ?"
            args.append(sweep)
        df = pd.read_sql_query(sql + " ORDER BY sweep, point_index", db, params=args)
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as err:  # pandas wraps the first
        raise StoreError(_damaged(Path(path), err)) from None
    finally:
        db.close()
    return df


def load_sweeps(path: str | Path) -> dict[str, dict[str, Any]]:
    """The stored sweeps' specs (axes, mode, seed, base) by sweep name."""
    db = _open_existing(path)
    try:
        has_sweeps = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sweeps'"
        ).fetchone()
        rows = db.execute("SELECT name, spec FROM sweeps").fetchall() if has_sweeps else []
        specs = {name: json.loads(spec) for name, spec in rows}
        for name, spec in specs.items():
            _check_spec(Path(path), name, spec)
    except sqlite3.DatabaseError as err:
        raise StoreError(_damaged(Path(path), err)) from None
    except (json.JSONDecodeError, TypeError) as err:
        raise StoreError(f"{path}: a stored sweep spec is not valid JSON ({err})") from None
    finally:
        db.close()
    return specs


def _check_spec(path: Path, name: Any, spec: Any) -> None:
    """Refuse a stored sweep spec that is not what :func:`load_sweeps` promises its readers."""
    axes = spec.get("axes", []) if isinstance(spec, dict) else None
    good = (
        isinstance(name, str)
        and isinstance(axes, list)
        and all(
            isinstance(a, dict)
            and isinstance(a.get("key"), str)
            and isinstance(a.get("also", []), list)
            and all(isinstance(k, str) for k in a.get("also", []))
            for a in axes
        )
        and len({a["key"] for a in axes}) == len(axes)
    )
    if not good:
        raise StoreError(
            f"{path}: the stored spec of sweep {name!r} is not a qnet sweep spec "
            "(expected a table with a list of axes, each with its own 'key')"
        )


_WHERE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>|=)\s*(.+?)\s*$")


def filter_results(df: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Keep rows meeting every ``KEY OP VALUE`` (OP one of < <= > >= = == !=)."""
    import operator

    ops = {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "=": operator.eq,
        "==": operator.eq,
        "!=": operator.ne,
    }
    mask = pd.Series(True, index=df.index)
    for cond in conditions:
        m = _WHERE.match(cond)
        if not m:
            raise StoreError(
                f"--where {cond!r}: expected KEY OP VALUE with OP one of < <= > >= = !="
            )
        key, op, raw = m.groups()
        if key not in df.columns:
            raise StoreError(f"--where {cond!r}: no column '{key}'; columns: {', '.join(df)}")
        value: Any = raw.strip("'\"")
        try:
            value = float(raw)
        except ValueError:
            if op not in ("=", "==", "!="):
                raise StoreError(f"--where {cond!r}: '{raw}' is not a number") from None
        col = df[key]
        if isinstance(value, float) and op in ("=", "==", "!="):
            num = pd.to_numeric(col, errors="coerce")
            hit = ((num - value).abs() <= 1e-12 * max(1.0, abs(value))).fillna(False)
            mask &= hit if op != "!=" else ~hit
        elif isinstance(value, float):
            num = pd.to_numeric(col, errors="coerce")
            if (num.isna() & col.notna()).any():
                raise StoreError(
                    f"--where {cond!r}: column '{key}' holds text, not numbers: "
                    "compare it with = or !="
                )
            mask &= ops[op](num, value).fillna(False).astype(bool)
        else:
            mask &= ops[op](col, value).fillna(False).astype(bool)
    return df[mask]


def export_results(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to CSV or Parquet (by suffix) atomically: temp file, then rename."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        blob = df.to_csv(index=False).encode()
    elif suffix in (".parquet", ".pq"):
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        blob = buf.getvalue()
    else:
        raise StoreError(f"export path {path}: unknown format '{suffix}'; allowed .csv, .parquet")
    return write_atomic(path, blob)


def is_missing(value: Any) -> bool:
    """True for None or NaN (how SQLite hands back a NaN metric)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
