"""MediaPipe Pose landmark tables: CSV files of the 33 BlazePose landmarks per frame.

MediaPipe itself writes no file; people save ``results.pose_landmarks`` with
one of two column conventions, both read here:

* named: ``nose_x, nose_y, nose_z, nose_visibility, left_eye_inner_x, ...``
  (any case: ``NOSE_x``, ``LEFT_SHOULDER_visibility``), the names of
  ``mp.solutions.pose.PoseLandmark``;
* numbered: ``x0, y0, z0, v0, x1, ...`` (also ``x_0``, ``landmark_0_x``,
  ``lm_0_vis``), numbered from 0 or from 1 (``x1 ... x33``, the common tutorial
  layout with a ``class`` column first).  Numbers beyond the 33 pose
  landmarks (a Holistic export appends face landmarks) are not read.

``_z`` (MediaPipe's relative depth) is ignored; ``visibility`` is the score
(``presence`` is used only when there is no visibility).  Other columns are
ids; a table without a frame-like column gets a ``frame`` column counting
the data rows from 0.  The landmarks are normalised to [0, 1] of the image,
so reading needs ``image_size=(width, height)`` (``--image-size``); see
:mod:`lift2d3d.pixels`.
"""

from __future__ import annotations

import re

from ..skeletons import BLAZEPOSE33
from .csv_wide import iter_wide_csv, sniff_csv
from .table import KeypointFormatError, normalise_joint_name

__all__ = ["mediapipe_columns", "looks_like_mediapipe", "iter_mediapipe_csv"]

_NAMED = re.compile(r"^(?P<name>.+?)[_.](?P<axis>x|y|z|visibility|vis|v|presence)$", re.I)
_NUMBERED = (
    re.compile(r"^(?P<axis>x|y|z|v|vis|visibility|presence)_?(?P<index>\d+)$", re.I),
    re.compile(r"^(?:landmark|lm|kp|keypoint|point|pose)_?(?P<index>\d+)[_.](?P<axis>x|y|z|v|vis|visibility|presence)$",
               re.I),
)
_AXES = {"x": "x", "y": "y", "z": "z", "v": "score", "vis": "score", "visibility": "score", "presence": "presence"}
#: Id columns that already number the rows in time (no ``frame`` column is added then).
_FRAME_LIKE = re.compile(r"frame|time|^t$|^idx$|^index$|image|file|stamp", re.I)


def _named(header):
    joints, others = {}, []
    for column in header:
        match = _NAMED.match(str(column).strip())
        name = normalise_joint_name(match["name"]) if match else None
        if match and name in BLAZEPOSE33._index:
            joints.setdefault(name, {})[_AXES[match["axis"].lower()]] = column
        else:
            others.append(column)
    return joints, others


def _numbered(header):
    found, others = {}, []
    for column in header:
        text = str(column).strip()
        match = next((m for m in (p.match(text) for p in _NUMBERED) if m), None)
        if match:
            found.setdefault(int(match["index"]), {})[_AXES[match["axis"].lower()]] = column
        else:
            others.append(column)
    return found, others


#: Landmarks only BlazePose has (a 3D joints file with COCO names is not MediaPipe's).
_BLAZEPOSE_ONLY = {j for j in BLAZEPOSE33.joints
                   if any(part in j for part in ("eye_inner", "eye_outer", "mouth", "pinky", "index", "thumb"))}


def looks_like_mediapipe(header) -> bool:
    """True for a header of MediaPipe landmarks (named with ``_z`` and visibility, or numbered).

    Named columns count only when every ``<name>_x/_y/_z`` column is a
    BlazePose landmark and the table has MediaPipe's visibility (or presence)
    or a landmark only BlazePose has, so that a 3D joints file or a lifted
    table is not taken for landmarks.
    """
    lower = {str(h).strip().lower() for h in header}
    if "status" in lower and "reprojection_error" in lower:
        return False  # a lifted table (x, y, z per joint), not landmarks
    joints, others = _named(header)
    foreign = [c for c in others if _NAMED.match(str(c).strip()) and str(c).strip()[-2:].lower() in ("_x", "_y", "_z")]
    has_z = len(joints) >= 2 and sum("z" in c for c in joints.values()) >= len(joints) / 2
    scored = any("score" in c or "presence" in c for c in joints.values())
    if has_z and not foreign and (scored or _BLAZEPOSE_ONLY & set(joints)):
        return True
    numbered, _ = _numbered(header)
    with_xy = [i for i, c in numbered.items() if "x" in c and "y" in c]
    return len(with_xy) >= 2


def mediapipe_columns(header, format=None, source="input"):
    """``(classified, notes)`` of a MediaPipe header for :func:`~.csv_wide.iter_wide_csv`.

    ``classified`` is ``(id_columns, joints, skeleton)`` with ``joints``
    mapping each BlazePose landmark to its ``x``, ``y`` and score columns.

    Raises
    ------
    KeypointFormatError
        A landmark with only one of x/y, or ``format`` other than blazepose33.
    """
    if format is not None and format != BLAZEPOSE33.name:
        raise KeypointFormatError(f"{source}: MediaPipe landmark columns are BlazePose's 33 landmarks "
                                  f"(format blazepose33), not {format}; leave --format out")
    joints, others = _named(header)
    notes = []
    if len(joints) < 2:
        numbered, others = _numbered(header)
        if not numbered:
            raise KeypointFormatError(f"{source}: no MediaPipe landmark columns (nose_x, ... or x0, y0, ...)")
        # 1-based only when the numbers run 1..33 without a 0 (x1 ... x33); a subset such as
        # x11 ... x24 keeps MediaPipe's own 0-based landmark numbers
        base = 1 if 0 not in numbered and 1 in numbered and 33 in numbered else 0
        joints = {}
        skipped = []
        for index, cols in sorted(numbered.items()):
            landmark = index - base
            if 0 <= landmark < BLAZEPOSE33.n_joints:
                joints[BLAZEPOSE33.joints[landmark]] = cols
            else:
                skipped.append(index)
        notes.append(f"{source}: numbered landmarks from {base} (column {base} is {BLAZEPOSE33.joints[0]})")
        if skipped:
            notes.append(f"{source}: landmark numbers {skipped[0]}-{skipped[-1]} are beyond BlazePose's 33 pose "
                         "landmarks (e.g. Holistic face points) and are not read")
    classified = {}
    for joint, cols in joints.items():
        missing = [a for a in ("x", "y") if a not in cols]
        if missing:
            raise KeypointFormatError(f"{source}: landmark {joint} has no {missing[0]} column (found "
                                      f"{', '.join(map(str, cols.values()))}); every landmark needs x and y")
        entry = {"x": cols["x"], "y": cols["y"]}
        score = cols.get("score", cols.get("presence"))
        if score is not None:
            entry["score"] = score
        classified[joint] = entry
    z_columns = [cols["z"] for cols in joints.values() if "z" in cols]
    if z_columns:
        notes.append(f"{source}: MediaPipe's relative depth ({len(z_columns)} z columns) is not used; the lift "
                     "estimates depth from the 2D landmarks")
    return (others, classified, BLAZEPOSE33), notes


def iter_mediapipe_csv(path, format=None, delimiter=None, chunk_rows=10_000):
    """Yield :class:`~.table.KeypointTable` chunks (blazepose33, *normalised* coordinates) of a MediaPipe CSV.

    The coordinates are as written (normalised); the caller converts them
    with the image size (see :func:`lift2d3d.io.readers.iter_keypoint_chunks`).
    """
    delimiter, header = sniff_csv(path, delimiter)
    (ids, joints, skeleton), notes = mediapipe_columns(header, format=format, source=str(path))
    row_id = None if any(_FRAME_LIKE.search(str(c)) for c in ids) else "frame"
    if row_id:
        notes.append(f"{path}: no frame column; the rows are numbered in a new '{row_id}' column from 0")
    yield from iter_wide_csv(path, delimiter=delimiter, chunk_rows=chunk_rows, classified=(ids, joints, skeleton),
                             layout="mediapipe-csv", row_id=row_id, notes=notes)
