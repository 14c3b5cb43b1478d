"""Reading lifted output back: the tables of :func:`~.writers.write_lifted` and 3D TRC files.

:func:`read_lifted` returns a :class:`LiftedFile`: the lifted table (the
columns of :func:`~.writers.output_columns`), its joint names, and whether
the joints are in the camera or the world frame with the world frame's
metadata.  A 3D TRC (lift2d3d's ``-o clip.trc``, Pose2Sim's, OpenSim's) reads
as a table with ``frame`` and ``time`` ids, status ``ok`` where every marker
has a value and ``bad_input`` where one is empty.  This is what ``lift2d3d
view`` opens; the BVH files lift2d3d writes are read by
:func:`lift2d3d.mocap.read_bvh`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .table import KeypointFormatError
from .writers import RESULT_COLUMNS, joints_of, world_sidecar

__all__ = ["LiftedFile", "read_lifted", "LIFTED_SUFFIXES"]

#: What :func:`read_lifted` reads.
LIFTED_SUFFIXES = (".csv", ".json", ".npz", ".trc")


class LiftedFile(NamedTuple):
    """What :func:`read_lifted` returns."""

    #: the lifted table: ids, ``<joint>_x/_y/_z``, ``status``, ``reprojection_error``, ``iterations``, ``message``
    table: pd.DataFrame
    joint_names: tuple
    #: ``"camera"`` (x right, y down, z away from the camera) or ``"world"`` (Y up, the floor at 0)
    frame: str
    #: the world frame's metadata by person (empty in the camera frame)
    metadata: dict
    source: str

    def joints3d(self) -> np.ndarray:
        """(N, P, 3) float, metres."""
        columns = [f"{j}_{a}" for j in self.joint_names for a in "xyz"]
        return self.table[columns].to_numpy(dtype=np.float64).reshape(len(self.table), len(self.joint_names), 3)


def read_lifted(path) -> LiftedFile:
    """Read a lifted output (CSV, JSON, NPZ) or a 3D TRC.

    Raises
    ------
    KeypointFormatError
        A file that is not a lifted output (the message says what was expected).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise KeypointFormatError(f"{path}: file not found")
    if suffix == ".trc":
        return _from_trc(path)
    if suffix == ".csv":
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        joints = joints_of(table)
        _check(table, joints, path)
        for joint in joints:
            for axis in "xyz":
                table[f"{joint}_{axis}"] = pd.to_numeric(table[f"{joint}_{axis}"].replace("", np.nan), errors="coerce")
        sidecar = world_sidecar(path)
        if sidecar.is_file():
            world = json.loads(sidecar.read_text(encoding="utf-8"))
            return LiftedFile(table, tuple(joints), "world", world.get("world", {}), str(path))
        return LiftedFile(table, tuple(joints), "camera", {}, str(path))
    if suffix == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KeypointFormatError(f"{path}: not a lifted JSON output ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != "lift2d3d-lifted":
            raise KeypointFormatError(f"{path}: not a lifted JSON output (no \"format\": \"lift2d3d-lifted\"); "
                                      "lift2d3d lift -o FILE.json writes one")
        joints = list(document["joint_names"])
        rows = []
        for record in document["frames"]:
            row = {c: record.get(c) for c in document.get("id_columns", [])}
            for joint, xyz in zip(joints, record["joints3d"]):
                for axis, value in zip("xyz", xyz):
                    row[f"{joint}_{axis}"] = np.nan if value is None else value
            row.update({c: record.get(c) for c in RESULT_COLUMNS})
            rows.append(row)
        table = pd.DataFrame(rows)
        _check(table, joints, path)
        frame = document.get("frame", "camera")
        return LiftedFile(table, tuple(joints), frame, document.get("world", {}), str(path))
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            if "joints3d" not in data.files or "joint_names" not in data.files:
                raise KeypointFormatError(f"{path}: not a lifted NPZ output (no joints3d and joint_names arrays)")
            joints = [str(j) for j in data["joint_names"]]
            xyz = data["joints3d"]
            ids = [str(c) for c in data["id_columns"]] if "id_columns" in data.files else []
            columns = {c: data[f"id_{c}"] for c in ids}
            for k, joint in enumerate(joints):
                for a, axis in enumerate("xyz"):
                    columns[f"{joint}_{axis}"] = xyz[:, k, a]
            for c in RESULT_COLUMNS:
                if c in data.files:
                    columns[c] = data[c]
            frame = str(data["frame"]) if "frame" in data.files else "camera"
            world = json.loads(str(data["world_json"])) if "world_json" in data.files else {}
        table = pd.DataFrame(columns)
        _check(table, joints, path)
        return LiftedFile(table, tuple(joints), frame, world, str(path))
    raise KeypointFormatError(f"{path}: unknown lifted output type {suffix or '(no extension)'!r}; read "
                              f"{', '.join(LIFTED_SUFFIXES)} (a BVH: lift2d3d.mocap.read_bvh)")


def _check(table, joints, path):
    if not joints:
        raise KeypointFormatError(f"{path}: no <joint>_x, <joint>_y, <joint>_z columns: not a lifted output "
                                  "(lift2d3d lift writes one)")
    if "status" not in table.columns:
        raise KeypointFormatError(f"{path}: no status column: not a lifted output (lift2d3d lift writes one)")


def _from_trc(path) -> LiftedFile:
    from .trc import read_trc3d

    trc = read_trc3d(path)
    n = len(trc.joints3d)
    columns = {"frame": trc.frame, "time": trc.time}
    for k, joint in enumerate(trc.joint_names):
        for a, axis in enumerate("xyz"):
            columns[f"{joint}_{axis}"] = trc.joints3d[:, k, a]
    complete = np.isfinite(trc.joints3d).all(axis=(1, 2))
    columns.update(status=np.where(complete, "ok", "bad_input"), reprojection_error=np.full(n, np.nan),
                   iterations=np.zeros(n, dtype=np.int64),
                   message=np.where(complete, "3D markers from the TRC", "a marker has no value in the TRC"))
    metadata = {}
    sidecar = world_sidecar(path)
    if sidecar.is_file():
        metadata = json.loads(sidecar.read_text(encoding="utf-8")).get("world", {})
    return LiftedFile(pd.DataFrame(columns), trc.joint_names, "world", metadata, str(path))
