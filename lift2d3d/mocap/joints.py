"""3D joints from CSV or NPZ files with named joints.

CSV: one row per frame, three columns per joint named ``<joint>_x``,
``<joint>_y``, ``<joint>_z`` (``.`` or ``:`` also accepted as separator);
other columns (``frame``, ``time``, ...) are ignored.  NPZ: either one
array ``joints3d`` (n_frames, n_joints, 3) with ``joint_names``, or one
(n_frames, 3) array per joint named after it.

Joint names are body15's (pelvis, neck, head and the COCO limb names).  The
12 limb joints and the head are required; pelvis and neck, if absent, are
the midpoints of the hips and the shoulders (the body15 definitions).
Empty or NaN cells make the frame NaN; the learner skips and counts such
frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..skeletons import BODY15
from .clip import UNIT_SCALES, MocapClip, assemble_body15
from .rigs import MAPPED_JOINTS

__all__ = ["read_joints"]

_COLUMN = re.compile(r"^(?P<joint>.+?)[_.:](?P<axis>[xyzXYZ])$")


def _from_named(named: dict, source: str, scale: float, up: str) -> MocapClip:
    absent = [joint for joint in MAPPED_JOINTS if joint not in named]
    if absent:
        raise ValueError(f"{source}: no data for joint(s) {', '.join(absent)}; found {', '.join(named) or 'none'}. "
                         f"Name joints as body15 does ({', '.join(BODY15.joints)}); pelvis and neck are optional.")
    limbs = {joint: named[joint] for joint in MAPPED_JOINTS if joint != "head"}
    joints3d = assemble_body15(limbs, named["head"])
    for joint in ("pelvis", "neck"):
        if joint in named:
            joints3d[:, BODY15.index(joint)] = named[joint]
    joints3d = joints3d * scale
    joints3d[~np.all(np.isfinite(joints3d), axis=(1, 2))] = np.nan
    up_vector = {"y": np.array([0.0, 1.0, 0.0]), "z": np.array([0.0, 0.0, 1.0])}[up]
    return MocapClip(joints3d=joints3d, up=up_vector, source=source)


def _read_csv(path: Path) -> dict:
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    columns = {}
    for column in table.columns:
        match = _COLUMN.match(str(column).strip())
        if match:
            columns.setdefault(match["joint"], {})[match["axis"].lower()] = column
    named = {}
    for joint, axes in columns.items():
        if set(axes) != {"x", "y", "z"}:
            raise ValueError(f"{path}: joint {joint!r} has columns for {', '.join(sorted(axes))} only; "
                             f"each joint needs {joint}_x, {joint}_y and {joint}_z")
        values = []
        for axis in "xyz":
            column = axes[axis]
            numeric = pd.to_numeric(table[column], errors="coerce")
            bad = numeric.isna() & table[column].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(f"{path}: row {row + 2} (frame {row}), column {column!r}: "
                                 f"{table[column].iloc[row]!r} is not a number; leave the cell empty "
                                 "or write NaN for a missing joint")
            values.append(numeric.to_numpy(dtype=np.float64))
        named[joint] = np.stack(values, axis=1)
    return named


def _read_npz(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .npz ({exc})") from None
    if "joints3d" in arrays:
        joints3d = arrays["joints3d"]
        names = [str(n) for n in arrays.get("joint_names", [])]
        if joints3d.ndim != 3 or joints3d.shape[2] != 3 or len(names) != joints3d.shape[1]:
            raise ValueError(f"{path}: 'joints3d' must be (n_frames, n_joints, 3) with a matching "
                             f"'joint_names' array; got {joints3d.shape} and {len(names)} names")
        return {name: joints3d[:, i].astype(np.float64) for i, name in enumerate(names)}
    named = {}
    for key, array in arrays.items():
        if array.ndim == 2 and array.shape[1] == 3:
            named[key] = array.astype(np.float64)
    return named


def read_joints(path, units="m", up="y") -> MocapClip:
    """Read 3D joints from a CSV or NPZ file.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.npz`` (see module docstring for the layout).
    units : {"m", "cm", "mm", "inch"} or float
        Units of the values, or metres per unit.
    up : {"y", "z"}
        Vertical axis of the data.

    Returns
    -------
    MocapClip
        body15 joints (n_frames, 15, 3), metres.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    scale = UNIT_SCALES[units] if isinstance(units, str) else float(units)
    if up not in ("y", "z"):
        raise ValueError(f"up must be 'y' or 'z'; got {up!r}")
    if path.suffix.lower() == ".npz":
        named = _read_npz(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        named = _read_csv(path)
    else:
        raise ValueError(f"{path}: unknown joints format {path.suffix!r}; use .csv (named columns) or .npz")
    return _from_named(named, str(path), scale, up)
