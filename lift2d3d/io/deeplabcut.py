"""DeepLabCut pose files: the CSV and HDF5 tables ``analyze_videos`` (and labelling) write.

DeepLabCut stores a pandas DataFrame whose columns are a MultiIndex
``scorer / bodyparts / coords`` (single animal) or ``scorer / individuals /
bodyparts / coords`` (multi-animal), ``coords`` being ``x, y, likelihood``
(``x, y`` in labelled data), and whose index is the frame number (or the
image path of labelled frames, split in up to three columns).  The CSV is
``DataFrame.to_csv``: one header row per column level, the level's name in
the first cell; the HDF5 file is ``DataFrame.to_hdf(key="df_with_missing")``, read with h5py
in a child process without unpickling anything (:mod:`.hdf5`; ``pip install
"lift2d3d[h5]"``).

Body parts are named by the user, so they are matched to registry joints by
name (:mod:`.names`: ``LeftShoulder``, ``l_shoulder``, ``shoulder_left`` ...);
a part that matches none is an error listing it, unless ``joint_map``
(``--map FILE``) names its joint or ignores it (``null``).  ``head`` must be
mapped explicitly (``head`` is the skull centre, ``head_top`` the crown).
Rows: one per frame (single animal; id ``frame``) or per frame and
individual (ids ``frame``, ``individual``); DeepLabCut's ``single``
individual (unique, non-animal parts) is not read.  ``likelihood`` is the
score; empty cells are missing joints.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from .csv_wide import NA_VALUES, _numeric, next_chunk, open_csv_chunks
from .hdf5 import H5_HINT, is_hdf5, read_pandas_hdf
from .names import load_joint_map, resolve_parts
from .table import KeypointFormatError, KeypointTable, check_values

__all__ = ["looks_like_deeplabcut", "iter_deeplabcut_csv", "iter_deeplabcut_h5", "H5_HINT", "is_hdf5"]

_LEVELS = ("scorer", "individuals", "bodyparts", "coords")
_UNIQUE_INDIVIDUAL = "single"
_AMBIGUOUS = {"head": "the skull centre is 'head', the top of the head 'head_top'; say which with --map"}


def looks_like_deeplabcut(first_line: str, second_line: str = "bodyparts") -> bool:
    """True for the first two lines of a DeepLabCut CSV (``scorer,...`` then ``bodyparts,...`` or
    ``individuals,...``)."""
    cells = next(csv.reader([first_line]), [])
    second = next(csv.reader([second_line]), [""])
    return (bool(cells) and cells[0].strip().lower() == "scorer" and len(cells) > 1
            and bool(second) and second[0].strip().lower() in ("bodyparts", "individuals"))


class _Layout:
    """Where each individual's body parts are among the data columns, and which joint each part is."""

    def __init__(self, columns, level_names, source, format=None, joint_map=None):
        level_names = [str(n).lower() if n is not None else "" for n in level_names]
        if "bodyparts" not in level_names or "coords" not in level_names:
            raise KeypointFormatError(f"{source}: a DeepLabCut table needs 'bodyparts' and 'coords' column levels; "
                                      f"found {', '.join(level_names)}")
        has_individuals = "individuals" in level_names
        place = {}
        individuals, parts, skipped = [], [], []
        for k, column in enumerate(columns):
            entry = dict(zip(level_names, column))
            individual = str(entry.get("individuals", "")) if has_individuals else ""
            part, coord = str(entry["bodyparts"]), str(entry["coords"]).strip().lower()
            if has_individuals and individual == _UNIQUE_INDIVIDUAL:
                if part not in skipped:
                    skipped.append(part)
                continue
            if individual not in individuals:
                individuals.append(individual)
            if part not in parts:
                parts.append(part)
            if coord not in ("x", "y", "likelihood"):
                raise KeypointFormatError(f"{source}: coordinate {coord!r} of {part}; DeepLabCut coords are x, y, "
                                          "likelihood (a 3D DeepLabCut file has z: lift its 2D files)")
            place[(individual, part, coord)] = k
        if not individuals:
            raise KeypointFormatError(f"{source}: no body part columns")
        self.joints, self.skeleton, self.notes = resolve_parts(
            parts, joint_map=load_joint_map(joint_map), format=format, source=source, ambiguous=_AMBIGUOUS)
        if skipped:
            self.notes.append(f"{source}: the unique body parts of DeepLabCut's '{_UNIQUE_INDIVIDUAL}' individual "
                              f"({', '.join(skipped)}) are not read")
        for individual in individuals:
            for part in self.joints:
                for coord in ("x", "y"):
                    if (individual, part, coord) not in place:
                        raise KeypointFormatError(f"{source}: body part {part}"
                                                  f"{' of ' + individual if individual else ''} has no {coord} column")
        self.place, self.individuals, self.has_individuals = place, individuals, has_individuals
        self.n_columns = len(columns)

    def tables(self, values, index, source, layout, first_row, where_row):
        """KeypointTables of one block of frames.

        values : (n_frames, n_columns) float; index : DataFrame of the frames' ids;
        where_row : callable(frame row) -> str.
        """
        skeleton, n = self.skeleton, len(values)
        k = len(self.individuals)
        keypoints = np.full((n, k, skeleton.n_joints, 2), np.nan)
        scores = np.zeros((n, k, skeleton.n_joints))
        for i, individual in enumerate(self.individuals):
            for part, joint in self.joints.items():
                j = skeleton.index(joint)
                keypoints[:, i, j, 0] = values[:, self.place[(individual, part, "x")]]
                keypoints[:, i, j, 1] = values[:, self.place[(individual, part, "y")]]
                where = self.place.get((individual, part, "likelihood"))
                scores[:, i, j] = 1.0 if where is None else values[:, where]
        keypoints = keypoints.reshape(n * k, skeleton.n_joints, 2)
        scores = scores.reshape(n * k, skeleton.n_joints)
        ids = index.loc[np.repeat(np.arange(n), k)].reset_index(drop=True)
        if self.has_individuals:
            ids["individual"] = np.tile(np.array(self.individuals, dtype=object), n)
        problems = np.full(n * k, "", dtype=object)
        label = (lambda r: f"{where_row(r // k)}, individual {self.individuals[r % k]}") if self.has_individuals \
            else (lambda r: where_row(r))
        parts = {joint: part for part, joint in self.joints.items()}
        check_values(keypoints, scores, problems, label,
                     lambda j, a: f"{parts.get(skeleton.joints[j], skeleton.joints[j])} "
                                  f"{('x', 'y', 'likelihood')[a]}")
        return KeypointTable(keypoints, scores, ids, skeleton, problems, source, layout,
                             line_numbers=np.repeat(np.arange(first_row, first_row + n), k), line_label="frame index")


def _index_frame(index_values, n_levels):
    """Ids of the frames: ``frame`` (numbers) or ``image`` (the labelled image's path)."""
    columns = [pd.Series(v) for v in index_values]
    if n_levels == 1:
        values = columns[0]
        numbers = pd.to_numeric(values, errors="coerce")
        if np.isfinite(numbers.to_numpy(dtype=np.float64)).all() and (numbers == numbers.round()).all():
            return pd.DataFrame({"frame": numbers.astype(np.int64).to_numpy()})
        return pd.DataFrame({"image": values.astype(str).to_numpy()})
    joined = columns[0].astype(str)
    for more in columns[1:]:
        joined = joined + "/" + more.astype(str)
    return pd.DataFrame({"image": joined.to_numpy()})


def _read_header(path):
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            rows = []
            for row in reader:
                rows.append(row)
                if len(rows) >= 6:
                    break
    except UnicodeDecodeError:
        raise KeypointFormatError(f"{path}: not a UTF-8 text file") from None
    levels = []
    for row in rows:
        if row and row[0].strip().lower() in _LEVELS:
            levels.append(row)
        else:
            break
    if not levels or levels[0][0].strip().lower() != "scorer":
        raise KeypointFormatError(f"{path}: not a DeepLabCut CSV (the first cell is not 'scorer')")
    n_index = 1
    while n_index < len(levels[0]) and not levels[0][n_index].strip():
        n_index += 1
    skip = len(levels)
    # pandas writes the index name(s) on a line of their own when the index is named
    if len(rows) > skip and rows[skip] and all(not c.strip() for c in rows[skip][n_index:]):
        skip += 1
    width = len(levels[-1])
    if any(len(row) != width for row in levels):
        raise KeypointFormatError(f"{path}: the DeepLabCut header rows have different lengths")
    level_names = [row[0].strip().lower() for row in levels]
    columns = [tuple(row[k].strip() for row in levels) for k in range(n_index, width)]
    return level_names, columns, n_index, skip


def iter_deeplabcut_csv(path, format=None, chunk_rows=10_000, joint_map=None):
    """Yield :class:`~.table.KeypointTable` chunks of a DeepLabCut CSV (``chunk_rows`` frames each)."""
    level_names, columns, n_index, skip = _read_header(path)
    layout = _Layout(columns, level_names, str(path), format=format, joint_map=joint_map)
    names = [f"_index{k}" for k in range(n_index)] + [f"c{k}" for k in range(len(columns))]
    reader = open_csv_chunks(path, header=None, skiprows=skip, names=names, chunksize=chunk_rows,
                             dtype={n: str for n in names[:n_index]}, keep_default_na=False,
                             na_values={n: NA_VALUES for n in names[n_index:]}, encoding="utf-8-sig",
                             skipinitialspace=True, low_memory=False, on_bad_lines="error")
    rows_before, first = 0, True
    while (chunk := next_chunk(reader, path, rows_before)) is not None:
        first_line = skip + rows_before + 1
        where_row = lambda r, f=first_line: f"line {f + r}"  # noqa: E731
        problems = np.full(len(chunk), "", dtype=object)
        values = np.column_stack([_numeric(chunk[f"c{k}"], where_row, "/".join(columns[k][1:]), problems)
                                  for k in range(len(columns))])
        index = _index_frame([chunk[f"_index{k}"].to_numpy() for k in range(n_index)], n_index)
        table = layout.tables(values, index, str(path), "deeplabcut-csv", rows_before, where_row)
        k = len(layout.individuals)
        for r in np.flatnonzero(problems != ""):
            for i in range(k):
                table.problems[r * k + i] = table.problems[r * k + i] or problems[r]
        if first:
            table.notes.extend(layout.notes)
            first = False
        rows_before += len(chunk)
        yield table


def iter_deeplabcut_h5(path, format=None, chunk_rows=10_000, joint_map=None):
    """Yield :class:`~.table.KeypointTable` chunks of a DeepLabCut ``.h5`` file.

    The file is decoded by :func:`~.hdf5.read_pandas_hdf` (h5py in a child process, nothing unpickled).
    """
    values_all, columns, level_names, index_values, _ = read_pandas_hdf(path)
    if columns.ndim != 2 or columns.shape[1] < 2:
        raise KeypointFormatError(f"{path}: the table has no scorer/bodyparts/coords column levels; not a "
                                  "DeepLabCut pose file")
    columns = [tuple(str(v) for v in c) for c in columns.tolist()]
    layout = _Layout(columns, level_names, str(path), format=format, joint_map=joint_map)
    n_rows, index_levels = len(values_all), len(index_values)
    for start in range(0, n_rows, chunk_rows):
        stop = min(n_rows, start + chunk_rows)
        index = _index_frame([v[start:stop] for v in index_values], index_levels)
        table = layout.tables(values_all[start:stop], index, str(path), "deeplabcut-h5", start,
                              lambda r, s=start: f"frame index {s + r}")
        if start == 0:
            table.notes.extend(layout.notes)
        yield table
