"""Detected poses -> the wide keypoint table the batch lifter reads.

Columns: ``source`` (file name), ``frame`` (0 for an image, the index in a
video), ``person`` (only when some frame has more than one person),
``detect_status`` (``ok``, ``no_person`` or ``unreadable``; passed through by
the lifter as an id column), then ``<joint>_x``, ``<joint>_y``,
``<joint>_score`` in image pixels for the chosen skeleton.  A frame without a
pose keeps its row with empty coordinates, so every input frame is accounted
for and the lifter reports it as ``too_few_joints`` rather than dropping it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..mapping import map_keypoints
from ..skeletons import get_skeleton

#: Output formats of ``lift2d3d detect``.
FORMATS = ("coco17", "blazepose33")


def to_skeleton(keypoints: np.ndarray, scores: np.ndarray, format: str = "coco17"):
    """Map blazepose33 keypoints (..., 33, 2) and scores (..., 33) to ``format``.

    Returns keypoints (..., P, 2) and scores (..., P) in the order of
    ``get_skeleton(format).joints``; joints derived from several landmarks
    (e.g. ``pelvis``) are their mean with the smallest score.
    """
    skeleton = get_skeleton(format)
    if skeleton.name == "blazepose33":
        return np.asarray(keypoints, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    lead = keypoints.shape[:-2]
    kp, sc = map_keypoints(keypoints.reshape(-1, 33, 2), scores.reshape(-1, 33), "blazepose33", skeleton)
    return kp.reshape(lead + kp.shape[-2:]), sc.reshape(lead + sc.shape[-1:])


def columns_for(format: str, with_person: bool) -> list:
    joints = get_skeleton(format).joints
    ids = ["source", "frame"] + (["person"] if with_person else []) + ["detect_status"]
    return ids + [f"{j}_{axis}" for j in joints for axis in ("x", "y", "score")]


def rows_for_frame(source: str, frame_index: int, pose_frame, format: str = "coco17",
                   status: str | None = None) -> list:
    """Rows (dicts) for one frame: one per person, or one empty row when none."""
    joints = get_skeleton(format).joints
    if pose_frame is None or pose_frame.n_people == 0:
        row = {"source": source, "frame": frame_index, "person": 0,
               "detect_status": status or (pose_frame.status if pose_frame is not None else "unreadable")}
        for j in joints:
            row.update({f"{j}_x": np.nan, f"{j}_y": np.nan, f"{j}_score": 0.0})
        return [row]
    kp, sc = to_skeleton(pose_frame.keypoints, pose_frame.scores, format)
    rows = []
    for p in range(pose_frame.n_people):
        row = {"source": source, "frame": frame_index, "person": p, "detect_status": "ok"}
        for j, name in enumerate(joints):
            row.update({f"{name}_x": kp[p, j, 0], f"{name}_y": kp[p, j, 1], f"{name}_score": sc[p, j]})
        rows.append(row)
    return rows


def rows_to_table(rows: list, format: str = "coco17") -> pd.DataFrame:
    """Assemble rows into the wide table; ``person`` only when needed."""
    with_person = any(r["person"] > 0 for r in rows)
    frame = pd.DataFrame(rows, columns=columns_for(format, True))
    if not with_person:
        frame = frame.drop(columns=["person"])
    return frame.reset_index(drop=True)
