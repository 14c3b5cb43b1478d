"""Long keypoint tables: one row per joint, ``frame,joint,x,y[,score]``.

Every column other than ``joint``, ``x``, ``y`` and the score is an id column
(``frame``, ``person``, ``video`` ...); the rows of one frame must be
consecutive, which is how every exporter we know writes them.  A frame whose
rows are split over the file is reported as a duplicate id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .csv_wide import NA_VALUES, _BadLines, _numeric, next_chunk, open_csv_chunks, sniff_csv
from .table import KeypointFormatError, KeypointTable, check_values, detect_skeleton, normalise_joint_name

__all__ = ["iter_long_csv", "long_columns"]

_SCORE_NAMES = ("score", "conf", "confidence", "visibility")


def long_columns(header, source="input"):
    """``(joint_col, x_col, y_col, score_col or None, id_columns)`` of a long table header."""
    lower = {str(h).strip().lower(): h for h in header}
    missing = [name for name in ("joint", "x", "y") if name not in lower]
    if missing:
        raise KeypointFormatError(f"{source}: a long keypoint CSV needs columns joint, x, y (and id columns "
                                  f"such as frame); missing {', '.join(missing)}; found {', '.join(map(str, header))}")
    score = next((lower[s] for s in _SCORE_NAMES if s in lower), None)
    taken = {lower["joint"], lower["x"], lower["y"], score}
    ids = [h for h in header if h not in taken]
    if not ids:
        raise KeypointFormatError(f"{source}: no id column; a long CSV needs e.g. a 'frame' column to say "
                                  "which rows belong to the same pose (frame,joint,x,y[,score])")
    return lower["joint"], lower["x"], lower["y"], score, ids


def _joint_names(path, delimiter, header, joint_col, format):
    # The skeleton must be known before the first chunk is parsed, and a
    # later chunk may name joints the first did not: scan the one column.
    names = set()
    reader = open_csv_chunks(path, sep=delimiter, usecols=[joint_col], dtype=str, keep_default_na=False,
                             chunksize=1_000_000, encoding="utf-8-sig", encoding_errors="replace",
                             on_bad_lines="skip", names=header, header=0, skipinitialspace=True)
    while (part := next_chunk(reader, path, len(names))) is not None:
        names.update(part[joint_col].unique())
    normalised = sorted({normalise_joint_name(n) for n in names if str(n).strip()})
    return detect_skeleton(normalised, format=format, source=str(path))


def _assemble(chunk, columns, skeleton, source):
    joint_col, x_col, y_col, score_col, id_columns = columns
    lines = chunk["_line"].to_numpy()
    ids = chunk[id_columns]
    hashes = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    starts = np.ones(len(chunk), dtype=bool)
    starts[1:] = hashes[1:] != hashes[:-1]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    n, p = len(first), skeleton.n_joints
    row_problems = np.full(len(chunk), "", dtype=object)
    where_row = lambda r: f"line {lines[r]}"  # noqa: E731
    x = _numeric(chunk[x_col], where_row, x_col, row_problems)
    y = _numeric(chunk[y_col], where_row, y_col, row_problems)
    s = _numeric(chunk[score_col], where_row, score_col, row_problems) if score_col else np.ones(len(chunk))
    lookup = {name: skeleton._index.get(normalise_joint_name(name), -1) for name in chunk[joint_col].unique()}
    joint = chunk[joint_col].map(lookup).to_numpy(dtype=np.int64)
    for r in np.flatnonzero(joint < 0):
        row_problems[r] = row_problems[r] or f"line {lines[r]}: empty joint name"
    slot = group * p + np.maximum(joint, 0)
    repeated = pd.Series(slot).duplicated().to_numpy() & (joint >= 0)
    for r in np.flatnonzero(repeated):
        row_problems[r] = row_problems[r] or (f"line {lines[r]}: joint {chunk[joint_col].iat[r]!r} given twice "
                                              "for the same id; keep one row per joint")
    problems = np.full(n, "", dtype=object)
    for r in np.flatnonzero(row_problems != ""):
        if not problems[group[r]]:
            problems[group[r]] = row_problems[r]
    keypoints = np.full((n, p, 2), np.nan)
    scores = np.zeros((n, p))
    use = (joint >= 0) & ~repeated
    keypoints[group[use], joint[use], 0] = x[use]
    keypoints[group[use], joint[use], 1] = y[use]
    scores[group[use], joint[use]] = s[use]
    first_lines = lines[first]
    check_values(keypoints, scores, problems, lambda g: f"line {first_lines[g]}",
                 lambda j, a: f"{(x_col, y_col, score_col or 'score')[a]} (joint {skeleton.joints[j]})")
    table = KeypointTable(keypoints, scores, ids.iloc[first], skeleton, problems, source, "csv-long")
    table.line_numbers, table.line_label = first_lines, "line"
    return table


def iter_long_csv(path, format=None, delimiter=None, chunk_rows=10_000):
    """Yield :class:`KeypointTable` chunks (about ``chunk_rows`` poses each) of a long CSV."""
    delimiter, header = sniff_csv(path, delimiter)
    columns = long_columns(header, source=str(path))
    joint_col, x_col, y_col, score_col, id_columns = columns
    skeleton = _joint_names(path, delimiter, header, joint_col, format)
    numeric = [c for c in (x_col, y_col, score_col) if c]
    reader = open_csv_chunks(path, sep=delimiter, encoding="utf-8-sig", encoding_errors="replace",
                             chunksize=chunk_rows * skeleton.n_joints, names=header, header=0,
                             dtype={c: str for c in id_columns + [joint_col]}, keep_default_na=False,
                             na_values={c: NA_VALUES for c in numeric}, on_bad_lines="warn",
                             skipinitialspace=True, low_memory=False)
    carry, rows_before = None, 0
    while True:
        with _BadLines() as bad:
            chunk = next_chunk(reader, path, rows_before)
        if chunk is not None:
            chunk["_line"] = np.arange(rows_before, rows_before + len(chunk)) + 2
            rows_before += len(chunk)
            if carry is not None:
                chunk = pd.concat([carry, chunk], ignore_index=True)
            # The last pose may continue in the next chunk: hold it back.
            hashes = pd.util.hash_pandas_object(chunk[id_columns], index=False).to_numpy()
            tail = len(chunk)
            while tail > 0 and hashes[tail - 1] == hashes[-1]:
                tail -= 1
            if tail == 0:
                carry = chunk
                continue
            carry = chunk.iloc[tail:].reset_index(drop=True)
            chunk = chunk.iloc[:tail].reset_index(drop=True)
        else:
            if carry is None:
                break
            chunk, carry = carry, None
        table = _assemble(chunk, columns, skeleton, str(path))
        table.notes.extend(f"{path}: {m} (line skipped)" for m in bad.messages)
        yield table
