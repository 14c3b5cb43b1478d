"""Partitioned output that is never seen half-written.

Each input file gets one output directory of numbered parts
(``part-00000.parquet``, ... or ``.csv`` without pyarrow).  Parts are written
by the workers into a hidden staging directory, each through a temporary
file renamed into place, so a worker killed mid-write leaves at most a stray
temporary file and the recomputed task writes the same part again.  When
every part of an input is in, the client renames the staging directory to
its final name; an input that failed leaves its previous output (if any)
untouched and no partial one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

__all__ = ["output_format", "part_name", "write_part", "staging_dir", "commit", "discard", "read_lifted",
           "remove_leftovers"]

_TMP_SUFFIX = ".tmp"


def output_format(requested: str | None = None) -> str:
    """``"parquet"`` when pyarrow is importable (or requested), else ``"csv"``."""
    if requested is not None:
        if requested not in ("parquet", "csv"):
            raise ValueError(f"output format must be 'parquet' or 'csv'; got {requested!r}")
        if requested == "parquet":
            _require_pyarrow()
        return requested
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


def _require_pyarrow():
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'lift2d3d[parquet]', or ask for CSV "
                          "output") from None


def part_name(number: int, fmt: str) -> str:
    """File name of part ``number``: zero-padded so that name order is row order."""
    return f"part-{number:05d}.{fmt}"


def staging_dir(final_dir: Path, run_id: str) -> Path:
    """Hidden sibling of ``final_dir`` private to one run."""
    final_dir = Path(final_dir)
    return final_dir.with_name(f".{final_dir.name}.partial-{run_id}")


def write_part(frame, directory, number: int, fmt: str) -> Path:
    """Write one part atomically (temporary file, then rename).

    Parameters
    ----------
    frame : pandas.DataFrame
        The lifted rows of the part.
    directory : path
        The staging directory (created if missing).
    number : int
        Part number within the input.
    fmt : {"parquet", "csv"}

    Returns
    -------
    Path
        The part's final path.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / part_name(number, fmt)
    tmp = directory / f".{path.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
    try:
        if fmt == "parquet":
            from ..io import typed_ids

            # ids read from CSV are text; Parquet keeps their type (numbers stay numbers)
            typed_ids(frame).to_parquet(tmp, index=False)
        else:
            # the single-machine CSV writer's own formatting, so the parts joined (one header) are its
            # output byte for byte
            from ..io import csv_header, csv_rows

            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                handle.write(csv_header(frame.columns))
                handle.write(csv_rows(frame))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def commit(staging: Path, final_dir: Path) -> Path:
    """Move a complete staging directory to ``final_dir``, replacing an old output.

    Stray temporary files of killed writers are removed first.
    """
    staging, final_dir = Path(staging), Path(final_dir)
    staging.mkdir(parents=True, exist_ok=True)  # an input with no rows still gets an (empty) output
    for stray in staging.glob(f".*{_TMP_SUFFIX}"):
        stray.unlink(missing_ok=True)
    old = None
    if final_dir.exists() or final_dir.is_symlink():
        old = final_dir.with_name(f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final_dir, old)
    os.replace(staging, final_dir)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    return final_dir


def remove_leftovers(final_dir: Path) -> list:
    """Remove what runs that died left beside ``final_dir`` (staging folders, replaced outputs).

    Call it holding ``final_dir``'s output lock: no live run can own them then.
    Returns the paths removed.
    """
    final_dir = Path(final_dir)
    removed = []
    for pattern in (f".{final_dir.name}.partial-*", f".{final_dir.name}.old-*"):
        for stray in final_dir.parent.glob(pattern):
            if stray.is_dir() and not stray.is_symlink():
                shutil.rmtree(stray, ignore_errors=True)
            else:
                stray.unlink(missing_ok=True)
            removed.append(stray)
    return removed


def discard(staging: Path) -> None:
    """Remove a failed input's staging directory."""
    shutil.rmtree(staging, ignore_errors=True)


def read_lifted(path):
    """Read a partitioned output directory (or a single file) back into one DataFrame.

    Parameters
    ----------
    path : path
        An output directory written by :func:`lift2d3d.distributed.lift_files`,
        or one ``.parquet``/``.csv`` file.

    Returns
    -------
    pandas.DataFrame
        All parts concatenated in part order, with a fresh 0-based index.
    """
    import pandas as pd

    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir()
                                                 if p.name.startswith("part-")
                                                 and p.suffix in (".parquet", ".csv"))
    if not files:
        raise FileNotFoundError(f"{path}: no part-*.parquet or part-*.csv files; is this an output "
                                "directory of `lift2d3d lift --scheduler`?")
    frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in files]
    # empty parts (a header-only input) carry no dtypes worth keeping
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
