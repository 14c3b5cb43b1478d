"""Writers for lifted tables: CSV, JSON or NPZ, chosen by the output's extension.

The lifted table (what :func:`lift2d3d.lift_table` returns; its column order
is :func:`output_columns`) has the id columns, then ``<joint>_x``, ``<joint>_y``, ``<joint>_z`` (metres, camera
frame: x right, y down, z away from the camera) for every joint, then
``status``, ``reprojection_error`` (pixels), ``iterations`` and ``message``,
and, when asked for (``--write-camera``), the camera columns
:data:`CAMERA_COLUMNS`.  Every writer goes through a temporary file and a
rename, so a crash never leaves a half-written output.

Id columns keep their type: the CSV readers hold ids as text (so that a CSV
output copies them byte for byte), and the JSON, NPZ and Parquet writers turn
a text column whose every value is a plain number back into numbers
(:func:`typed_ids`); text such as ``"007"`` stays text.

A table in the **world frame** (:mod:`lift2d3d.world`; ``world=`` the metadata
of each person's estimate) says so: JSON holds ``"frame": "world"`` and the
metadata under ``"world"``, NPZ a ``frame`` array and ``world_json``, and a CSV
gets a sidecar ``<output>.world.json`` (:func:`world_sidecar`).  BVH and TRC
files hold one person's clip and are written by :func:`lift2d3d.io.write_bvh`
and :func:`lift2d3d.io.write_trc` (:data:`CLIP_SUFFIXES`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_lifted", "output_columns", "OUTPUT_SUFFIXES", "RESULT_COLUMNS", "CAMERA_COLUMNS", "FLOAT_FORMAT",
           "joints_of", "write_part", "read_part", "write_csv_part", "join_csv_parts", "csv_header", "csv_rows",
           "atomic_path", "typed_ids", "check_suffix", "CLIP_SUFFIXES", "TABLE_SUFFIXES", "world_sidecar",
           "WORLD_UNITS", "CAMERA_UNITS"]

#: Columns after the joints, in this order.
RESULT_COLUMNS = ("status", "reprojection_error", "iterations", "message")
#: Optional columns after the result columns (``--write-camera``): the rotation ``r11 ... r33``
#: (row-major, from the bases' frame to the camera frame), ``scale`` (pixels per metre) and the
#: translation ``tx, ty, tz`` (weak perspective: the pose centroid's image position in pixels,
#: tz = 0; perspective camera: the centroid in metres, camera frame).
ROTATION_COLUMNS = tuple(f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3))
CAMERA_COLUMNS = ROTATION_COLUMNS + ("scale", "tx", "ty", "tz")
#: Fixed float format of CSV output (micrometres / micro-pixels), so two runs compare equal byte for byte.
FLOAT_FORMAT = "%.6f"
#: Outputs holding the lifted table (every row).
TABLE_SUFFIXES = (".csv", ".json", ".npz")
#: Outputs holding one person's clip in the world frame (one file per person).
CLIP_SUFFIXES = (".bvh", ".trc")
OUTPUT_SUFFIXES = TABLE_SUFFIXES + CLIP_SUFFIXES
#: What the joint columns mean, per frame of reference.
CAMERA_UNITS = "metres; camera frame: x right, y down, z away from the camera"
WORLD_UNITS = ("metres; world frame: Y up (against gravity), X the camera's x on the floor, Z = X x Y; the floor at "
               "Y = 0")


def world_sidecar(path) -> Path:
    """The file beside a CSV, BVH or TRC output that holds its world frame's metadata: ``<output>.world.json``."""
    path = Path(path)
    return path.with_name(path.name + ".world.json")


def output_columns(id_columns, joint_names, write_camera=False) -> list:
    """Column order of a lifted table: ids, ``<joint>_x/_y/_z`` per joint, the result columns
    [, the camera columns :data:`CAMERA_COLUMNS`]."""
    return (list(id_columns) + [f"{j}_{a}" for j in joint_names for a in "xyz"] + list(RESULT_COLUMNS)
            + (list(CAMERA_COLUMNS) if write_camera else []))


def joints_of(frame: pd.DataFrame) -> list:
    """Joint names of a lifted table, from its ``<joint>_z`` columns, in order."""
    return [c[:-2] for c in frame.columns if isinstance(c, str) and c.endswith("_z")]


def _id_columns(frame: pd.DataFrame, joints) -> list:
    taken = {f"{j}_{a}" for j in joints for a in "xyz"} | set(RESULT_COLUMNS) | set(CAMERA_COLUMNS)
    return [c for c in frame.columns if c not in taken]


def _has_camera(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for c in CAMERA_COLUMNS)


_INTEGER = r"-?(?:0|[1-9][0-9]*)"
_DECIMAL = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"


def typed_id(values: pd.Series) -> pd.Series:
    """A text id column as numbers when every value is a plain number, else unchanged.

    ``"12"`` -> 12 and ``"0.5"`` -> 0.5, but ``"007"`` or ``"1e"`` keep the whole
    column as text, so that no id changes its meaning.  Missing values stay
    missing (integers with gaps become pandas' nullable ``Int64``).
    """
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values
    present = values[values.notna() & (values.astype(str) != "")]
    if len(present) == 0 or not all(isinstance(v, str) for v in present):
        return values
    text = present.str.strip()
    missing = len(present) < len(values)
    if text.str.fullmatch(_INTEGER).all():
        numbers = pd.to_numeric(values.where(values.notna() & (values.astype(str) != "")), errors="coerce")
        try:
            return numbers.astype("Int64") if missing else numbers.astype(np.int64)
        except (OverflowError, TypeError, ValueError):
            return values
    if text.str.fullmatch(_DECIMAL).all():
        return pd.to_numeric(values.where(values.notna() & (values.astype(str) != "")), errors="coerce")
    return values


def typed_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its id columns passed through :func:`typed_id` (a copy when any changes)."""
    joints = joints_of(frame)
    converted = {c: typed_id(frame[c]) for c in _id_columns(frame, joints)}
    changed = {c: v for c, v in converted.items() if v is not frame[c]}
    if not changed:
        return frame
    frame = frame.copy()
    for column, values in changed.items():
        frame[column] = values
    return frame


def check_suffix(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{path}: unknown output type {suffix or '(no extension)'!r}; use one of "
                         f"{', '.join(OUTPUT_SUFFIXES)}")
    return suffix


class atomic_path:
    """Context manager giving a temporary sibling path that replaces ``path`` on success."""

    def __init__(self, path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp{self.path.suffix}")

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            try:
                self.tmp.unlink()
            except FileNotFoundError:
                pass
        return False


def _frames(data):
    if isinstance(data, pd.DataFrame):
        yield data
    else:
        yield from data


def write_lifted(data, path, world=None) -> Path:
    """Write a lifted table (or an iterable of table chunks) to ``path``.

    Parameters
    ----------
    data : pandas.DataFrame or iterable of DataFrames
        Output of :func:`lift2d3d.lift_table`; chunks are written one after the other
        (CSV streams them; JSON and NPZ gather them first).
    path : str or Path
        ``.csv`` (fixed float format, missing = empty cell), ``.json``
        (``{"joint_names", "frames": [{ids..., "joints3d": [[x, y, z], ...],
        "status", ...}]}``, missing = null) or ``.npz`` (``joints3d`` (N, P, 3),
        ``joint_names``, ``status``, ``reprojection_error``, ``iterations``,
        ``message``, one array per id column and ``id_columns``).  With the
        camera columns (:data:`CAMERA_COLUMNS`) JSON frames also hold
        ``rotation`` (3 x 3), ``scale`` and ``translation`` (3,), and NPZ
        ``rotation`` (N, 3, 3), ``scale`` (N,), ``translation`` (N, 3).
    world : dict, optional
        The joints are in the world frame (:mod:`lift2d3d.world`): each person's estimate's metadata
        (JSON-ready), by person.  Recorded as the module docstring says.

    Returns
    -------
    Path
    """
    path = Path(path)
    suffix = check_suffix(path)
    if suffix in CLIP_SUFFIXES:
        raise ValueError(f"{path}: a {suffix} file holds one person's clip in the world frame, not a lifted table: "
                         "write it with lift2d3d.io.write_bvh / write_trc, or lift_file(..., output) (one file per "
                         "person)")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                header = True
                for frame in _frames(data):
                    if header:
                        handle.write(csv_header(frame.columns))
                        header = False
                    handle.write(csv_rows(frame))
                if header:
                    raise ValueError("nothing to write: no lifted tables were given")
        else:
            frames = list(_frames(data))
            if not frames:
                raise ValueError("nothing to write: no lifted tables were given")
            frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            if suffix == ".json":
                _write_json(frame, tmp, world)
            else:
                _write_npz(frame, tmp, world)
    if suffix == ".csv":
        _write_sidecar(path, world)
    return path


def _write_sidecar(path, world):
    """The CSV's world-frame sidecar (removed when the table is in the camera frame: no stale one is left)."""
    sidecar = world_sidecar(path)
    if world is None:
        if sidecar.exists():
            sidecar.unlink()
        return
    with atomic_path(sidecar) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"frame": "world", "units": WORLD_UNITS, "file": Path(path).name, "world": world}, handle,
                      indent=1)


def _escaped(values: pd.Series) -> list:
    """Cells as CSV text: missing -> empty, quoted when they hold a comma, quote or newline."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    need = text.str.contains(r'[",\r\n]', regex=True)
    if need.any():
        text = text.where(~need, '"' + text.str.replace('"', '""', regex=False) + '"')
    return text.tolist()


def _fixed(values: np.ndarray) -> list:
    """Rows of floats in FLOAT_FORMAT joined by commas; NaN -> empty cell."""
    fmt = ",".join([FLOAT_FORMAT] * values.shape[1])
    # one %-format per row is ~5x faster than DataFrame.to_csv(float_format=...)
    return [(fmt % row).replace("nan", "") for row in map(tuple, values.tolist())]


def csv_rows(frame: pd.DataFrame) -> str:
    """The rows of a lifted table as CSV text without the header (ids verbatim, floats in FLOAT_FORMAT)."""
    joints = joints_of(frame)
    ids = _id_columns(frame, joints)
    if len(frame) == 0:
        return ""
    cells = [_escaped(frame[c]) for c in ids]
    cells.append(_fixed(_joints3d(frame, joints).reshape(len(frame), -1)))
    cells.append(_escaped(frame["status"]))
    cells.append(_fixed(frame[["reprojection_error"]].to_numpy(dtype=np.float64)))
    cells.append(frame["iterations"].to_numpy(dtype=np.int64).astype(str).tolist())
    cells.append(_escaped(frame["message"]))
    if _has_camera(frame):
        cells.append(_fixed(frame[list(CAMERA_COLUMNS)].to_numpy(dtype=np.float64)))
    return "".join(",".join(row) + "\n" for row in zip(*cells))


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _write_json(frame, tmp, world=None):
    frame = typed_ids(frame)
    joints = joints_of(frame)
    ids = _id_columns(frame, joints)
    camera = frame[list(CAMERA_COLUMNS)].to_numpy(dtype=np.float64) if _has_camera(frame) else None
    xyz = _joints3d(frame, joints)
    records = []
    id_values = {c: frame[c].tolist() for c in ids}
    status, error = frame["status"].tolist(), frame["reprojection_error"].to_numpy()
    iterations, message = frame["iterations"].tolist(), frame["message"].tolist()
    for r in range(len(frame)):
        record = {c: _plain(id_values[c][r]) for c in ids}
        record["joints3d"] = [[None if not math.isfinite(v) else round(float(v), 6) for v in joint]
                              for joint in xyz[r]]
        record.update(status=status[r], reprojection_error=_plain(error[r]), iterations=_plain(iterations[r]),
                      message=message[r])
        if camera is not None:
            values = [None if not math.isfinite(v) else round(float(v), 9) for v in camera[r]]
            record.update(rotation=[values[0:3], values[3:6], values[6:9]], scale=values[9],
                          translation=values[10:13])
        records.append(record)
    document = {"format": "lift2d3d-lifted", "format_version": 1, "joint_names": joints,
                "units": CAMERA_UNITS if world is None else WORLD_UNITS,
                "id_columns": ids, "frames": records}
    if world is not None:
        document.update(frame="world", world=world)
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, allow_nan=False)


def _joints3d(frame, joints):
    columns = [f"{j}_{a}" for j in joints for a in "xyz"]
    return frame[columns].to_numpy(dtype=np.float64).reshape(len(frame), len(joints), 3)


def _array(values: pd.Series):
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and values.dtype.kind in "iuf":
        values = values.astype(np.float64)  # nullable integers: missing -> NaN
    array = values.to_numpy()
    return array.astype(str) if array.dtype == object else array


def _write_npz(frame, tmp, world=None):
    frame = typed_ids(frame)
    joints = joints_of(frame)
    ids = _id_columns(frame, joints)
    arrays = {f"id_{c}": _array(frame[c]) for c in ids}
    arrays.update(joints3d=_joints3d(frame, joints), joint_names=np.array(joints),
                  id_columns=np.array(ids, dtype=str),
                  status=_array(frame["status"]), message=_array(frame["message"]),
                  reprojection_error=frame["reprojection_error"].to_numpy(dtype=np.float64),
                  iterations=frame["iterations"].to_numpy(dtype=np.int64))
    if _has_camera(frame):
        camera = frame[list(CAMERA_COLUMNS)].to_numpy(dtype=np.float64)
        arrays.update(rotation=camera[:, :9].reshape(-1, 3, 3), scale=camera[:, 9], translation=camera[:, 10:13])
    if world is not None:
        arrays.update(frame=np.array("world"), world_json=np.array(json.dumps(world)))
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def csv_header(columns) -> str:
    """The header line of a lifted CSV."""
    return ",".join(_escaped(pd.Series(list(columns), dtype=object))) + "\n"


def write_csv_part(frame: pd.DataFrame, path) -> Path:
    """Store one lifted chunk as header-less CSV text (atomically); parts concatenate into the output."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(csv_rows(frame))
    return Path(path)


def join_csv_parts(header: str, parts, path) -> Path:
    """Write ``header`` then the bytes of each part file to ``path`` (atomically)."""
    import shutil

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out:
            out.write(header.encode("utf-8"))
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
    return Path(path)


def write_part(frame: pd.DataFrame, path) -> Path:
    """Store one lifted chunk as a pickle-free ``.npz`` (atomically), column by column."""
    arrays = {f"c{k}": _array(frame[c]) for k, c in enumerate(frame.columns)}
    arrays["columns"] = np.array([str(c) for c in frame.columns], dtype=str)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    return Path(path)


def read_part(path) -> pd.DataFrame:
    """Read a chunk written by :func:`write_part`."""
    with np.load(path, allow_pickle=False) as data:
        names = data["columns"].tolist()
        columns = {}
        for k, name in enumerate(names):
            array = data[f"c{k}"]
            columns[name] = array.astype(object) if array.dtype.kind == "U" else array
    return pd.DataFrame(columns, columns=names)
