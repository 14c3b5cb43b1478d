"""Wide keypoint tables: id columns, then ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``].

One row per (frame, person).  Id columns (``frame``, ``person``, ``video``,
anything that is not a coordinate) are kept as text so they round-trip
exactly; an empty cell or ``NaN`` coordinate means the joint is missing.
"""

from __future__ import annotations

import csv
from collections import Counter
import io
import re
import warnings

import numpy as np
import pandas as pd

from .table import KeypointFormatError, KeypointTable, check_values, detect_skeleton, normalise_joint_name

__all__ = ["classify_columns", "table_from_wide", "iter_wide_csv", "sniff_csv", "check_csv_header", "NA_VALUES"]

_COORDINATE = re.compile(r"^(?P<joint>.+?)[_.](?P<axis>x|y|z|score|conf|confidence|visibility)$", re.I)
_SCORE_AXES = {"score", "conf", "confidence", "visibility"}
#: Cells read as "missing" in coordinate columns (ids keep every cell as text).
NA_VALUES = ["", "nan", "NaN", "NAN", "NA", "N/A", "null", "NULL", "None", "none", "-"]
_DELIMITERS = (",", ";", "\t", "|")


def classify_columns(columns, format=None, source="input"):
    """Split column names into id columns and per-joint coordinate columns.

    Returns
    -------
    id_columns : list of str
    joint_columns : dict joint -> {"x": col, "y": col[, "score": col]}
        keyed by canonical joint name of the detected skeleton
    skeleton : Skeleton

    Raises
    ------
    KeypointFormatError
        No id column, a joint with only one of x/y, 3D columns, unknown
        joints, or joints contradicting ``format``.
    """
    id_columns, joints = [], {}
    for column in columns:
        match = _COORDINATE.match(str(column).strip())
        if not match:
            id_columns.append(column)
            continue
        axis = match["axis"].lower()
        axis = "score" if axis in _SCORE_AXES else axis
        joint = normalise_joint_name(match["joint"])
        if axis in joints.setdefault(joint, {}):
            raise KeypointFormatError(f"{source}: columns {joints[joint][axis]!r} and {column!r} both give "
                                      f"{joint} {axis}; keep one")
        joints[joint][axis] = column
    # A lone "<name>_score" column (detection_score, bbox_score) scores a detection, not a joint: an id.
    for joint in [j for j, cols in joints.items() if set(cols) == {"score"}]:
        id_columns.append(joints.pop(joint)["score"])
    ids = set(id_columns)                 # once: a set per column made a wide header quadratic
    id_columns = [c for c in columns if c in ids]
    z_columns = [cols["z"] for cols in joints.values() if "z" in cols]
    if z_columns:
        raise KeypointFormatError(f"{source}: has 3D columns ({', '.join(z_columns[:3])}); this looks like "
                                  "the output of `lift2d3d lift`. The input must be 2D keypoints (<joint>_x, "
                                  "<joint>_y)")
    for joint, cols in joints.items():
        for axis, other in (("x", "y"), ("y", "x")):
            if axis not in cols:
                have = cols.get(other) or cols.get("score")
                raise KeypointFormatError(f"{source}: missing coordinate column {joint}_{axis} (found {have!r}); "
                                          f"every joint needs both {joint}_x and {joint}_y")
    skeleton = detect_skeleton(list(joints), format=format, source=source)
    if not id_columns:
        raise KeypointFormatError(f"{source}: no id column; add a column such as 'frame' (the frame "
                                  "number) before the keypoint columns so that every output row can be "
                                  "matched to its input row")
    return id_columns, joints, skeleton


def _numeric(values: pd.Series, where, column, problems, offset=0):
    """Column as float64; cells that are not numbers mark their row's problem."""
    if values.dtype.kind in "fiub":
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce")
    text = values.astype(str).str.strip()
    blank = values.isna() | text.isin(NA_VALUES)
    bad = numbers.isna() & ~blank
    for r in np.flatnonzero(bad.to_numpy()):
        if not problems[r]:
            problems[r] = (f"{where(r)}, column {column}: {values.iat[r]!r} is not a number "
                           "(use a plain number with a '.' decimal point; leave the cell empty for a missing joint)")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def table_from_wide(df: pd.DataFrame, format=None, source="<DataFrame>", where=None, classified=None,
                    layout="wide") -> KeypointTable:
    """Parse an in-memory wide table into a :class:`KeypointTable`.

    Parameters
    ----------
    df : pandas.DataFrame
        Id columns plus ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``].
    format : str, optional
        Skeleton name the columns must follow (detected when omitted).
    source : str
        Named in error messages.
    where : callable(row) -> str, optional
        Describes row ``r`` in messages (default ``"row <index label>"``).
    """
    if classified is None:
        classified = classify_columns(list(df.columns), format=format, source=source)
    id_columns, joints, skeleton = classified
    if where is None:
        labels = df.index
        where = lambda r: f"row {labels[r]}"  # noqa: E731
    n = len(df)
    problems = np.full(n, "", dtype=object)
    keypoints = np.full((n, skeleton.n_joints, 2), np.nan)
    scores = np.zeros((n, skeleton.n_joints))
    for joint, cols in joints.items():
        j = skeleton.index(joint)
        keypoints[:, j, 0] = _numeric(df[cols["x"]], where, cols["x"], problems)
        keypoints[:, j, 1] = _numeric(df[cols["y"]], where, cols["y"], problems)
        if "score" in cols:
            scores[:, j] = _numeric(df[cols["score"]], where, cols["score"], problems)
        else:
            scores[:, j] = 1.0

    def column(j, axis):
        cols = joints.get(skeleton.joints[j], {})
        return cols.get(("x", "y", "score")[axis], f"{skeleton.joints[j]}_{('x', 'y', 'score')[axis]}")

    check_values(keypoints, scores, problems, where, column)
    return KeypointTable(keypoints, scores, df[id_columns], skeleton, problems, source, layout)


def sniff_csv(path, delimiter=None):
    """Delimiter and header of a CSV file, with clear errors for unusable files."""
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
            second = handle.readline()
    except UnicodeDecodeError:
        raise KeypointFormatError(f"{path}: not a UTF-8 text file; export the keypoints as CSV text") from None
    except IsADirectoryError:
        raise KeypointFormatError(f"{path}: is a directory; pass a CSV file or a folder of OpenPose JSON "
                                  "files") from None
    if not first.strip():
        raise KeypointFormatError(f"{path}: the file is empty; expected a header line such as "
                                  "frame,nose_x,nose_y,...")
    counts = {d: first.count(d) for d in _DELIMITERS}
    guessed = max(_DELIMITERS, key=lambda d: counts[d])
    if delimiter is None:
        delimiter = guessed
    elif counts.get(delimiter, first.count(delimiter)) == 0 and counts[guessed] > 0:
        raise KeypointFormatError(
            f"{path}: wrong delimiter: the header contains no {delimiter!r} but {counts[guessed]} "
            f"{guessed!r}; the file looks {guessed!r}-separated. Pass --delimiter {guessed!r} or leave "
            "--delimiter out to detect it")
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise KeypointFormatError(f"{path}: cannot read the header line ({exc})") from None
    if len(header) < 2:
        raise KeypointFormatError(f"{path}: the header has a single column ({first.strip()[:60]!r}); "
                                  "expected comma-separated columns such as frame,nose_x,nose_y,...")
    if not second.strip():
        raise KeypointFormatError(f"{path}: has a header but no data rows")
    header = [h.strip() for h in header]
    counted = Counter(header)
    repeated = sorted(h for h, n in counted.items() if n > 1)
    if repeated:
        raise KeypointFormatError(f"{path}: the header repeats column(s) {', '.join(map(repr, repeated))}; "
                                  "every column needs its own name")
    return delimiter, header


def check_csv_header(path, format=None, delimiter=None):
    """Check a wide CSV file's header before reading it: ``(delimiter, id_columns, joints, skeleton)``.

    Raises
    ------
    KeypointFormatError
        An empty file, a wrong delimiter, unknown joint names, a missing
        coordinate column... (what reading the file would raise first).
    """
    delimiter, header = sniff_csv(path, delimiter)
    id_columns, joints, skeleton = classify_columns(header, format=format, source=str(path))
    return delimiter, id_columns, joints, skeleton


def open_csv_chunks(path, **options):
    """``pandas.read_csv(path, chunksize=...)`` with parse failures as KeypointFormatError."""
    try:
        return pd.read_csv(path, **options)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise KeypointFormatError(f"{path}: cannot parse the CSV ({str(exc).strip()})") from None


def next_chunk(reader, path, rows_before):
    """The next chunk of ``reader`` (None at the end), parse failures as KeypointFormatError."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise KeypointFormatError(f"{path}: cannot parse the CSV after data row {rows_before}: "
                                  f"{str(exc).strip()}") from None


class _BadLines:
    """Collects the lines pandas skipped for having the wrong number of fields."""

    def __init__(self):
        self.messages = []

    def __enter__(self):
        self._catcher = warnings.catch_warnings(record=True)
        self._records = self._catcher.__enter__()
        warnings.simplefilter("always", pd.errors.ParserWarning)
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        for record in self._records:
            if issubclass(record.category, pd.errors.ParserWarning):
                self.messages.extend(m.strip() for m in str(record.message).splitlines() if m.strip())
        return False


def iter_wide_csv(path, format=None, delimiter=None, chunk_rows=10_000, block=None, *, classified=None,
                  layout="csv-wide", row_id=None, notes=()):
    """Yield :class:`KeypointTable` chunks of a wide CSV file (memory flat in file size).

    Parameters
    ----------
    path : str or Path
    format : str, optional
        Keypoint format of the columns (``coco17`` ...; None: detect).
    delimiter : str, optional
        None: detect from the header.
    chunk_rows : int
    block : (byte_start, byte_stop, first_row, label), optional
        Parse only these bytes of the file (whole data lines after the
        header), whose first line is data row ``first_row`` (0-based):
        a Dask partition.  Chunks and messages are the ones the whole-file
        read gives for those rows (line numbers are the file's); ``label``
        names the block in pandas' notes on skipped lines, whose line
        numbers are relative to the block.
    classified : (id_columns, joints, skeleton), optional
        The columns' meaning, when another reader worked it out (MediaPipe
        tables); columns in neither are not read.
    layout : str
        Named in the tables (``csv-wide``, ``mediapipe-csv``).
    row_id : str, optional
        Add an id column of this name, first, holding the 0-based data row
        (for tables with no id column of their own).
    notes : sequence of str
        Added to the first chunk's notes.
    """
    delimiter, header = sniff_csv(path, delimiter)
    if classified is None:
        if block is None and "joint" in [h.lower() for h in header]:
            raise KeypointFormatError(f"{path}: has a 'joint' column, so it is a long CSV "
                                      "(frame,joint,x,y[,score]); use --layout csv-long")
        classified = classify_columns(header, format=format, source=str(path))
    id_columns, joints, skeleton = classified
    coordinate_columns = [c for cols in joints.values() for c in cols.values()]
    wanted = set(id_columns) | set(coordinate_columns)
    usecols = None if wanted == set(header) else [h for h in header if h in wanted]
    table_ids = ([row_id] if row_id else []) + list(id_columns)
    notes = list(notes)
    if block is None:
        source, header_row, encoding, rows_before = path, 0, "utf-8-sig", 0
        where, skipped = path, "line skipped"
    else:
        byte_start, byte_stop, rows_before, label = block
        with open(path, "rb") as handle:
            handle.seek(byte_start)
            data = handle.read(byte_stop - byte_start)
        if not data.strip():
            return
        source, header_row, encoding = io.BytesIO(data), None, "utf-8"
        where, skipped = label, "block-relative line, skipped"
    reader = open_csv_chunks(source, sep=delimiter, encoding=encoding, encoding_errors="replace",
                             chunksize=chunk_rows, names=header, header=header_row, usecols=usecols,
                             dtype={c: str for c in id_columns}, keep_default_na=False,
                             na_values={c: NA_VALUES for c in coordinate_columns},
                             on_bad_lines="warn", skipinitialspace=True, low_memory=False)
    while True:
        with _BadLines() as bad:
            chunk = next_chunk(reader, path, rows_before)
        if chunk is None:
            break
        first_line = rows_before + 2
        if row_id:
            chunk.insert(0, row_id, np.arange(rows_before, rows_before + len(chunk)))
        table = table_from_wide(chunk, source=str(path), classified=(table_ids, joints, skeleton),
                                where=lambda r, f=first_line: f"line {f + r}", layout=layout)
        table.notes.extend(notes)
        notes = []
        table.notes.extend(f"{where}: {m} ({skipped})" for m in bad.messages)
        table.line_numbers = np.arange(first_line, first_line + len(chunk))
        table.line_label = "line"
        rows_before += len(chunk)
        yield table
