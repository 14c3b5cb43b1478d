"""TRC marker files (OpenSim's Track Row Column format): 2D keypoints in pixels in, 3D joints out.

Layout (tab-separated, as Pose2Sim and Sports2D write it)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    30  30  120  26  m  30  0  120
    Frame#  Time  Nose        LEye ...       (each name over its three columns)
                  X1  Y1  Z1  X2  Y2  Z2 ...
    <blank line, optional>
    0  0.0  612.3  201.5  0  ...

Sports2D writes the keypoints of each person in pixels to ``*_px.trc`` with
``Z = 0`` (and labels the units ``m`` whatever they are); Pose2Sim and
OpenSim write *3D* markers in metres, which are refused with a clear message
(they are already 3D).  A file whose Z are all 0 is read as 2D pixels.

The image y axis points down; some tools write Y pointing up (OpenSim's
convention).  Which one a file uses is read from the poses themselves: in
most frames of a person the head and shoulders are above the hips and
ankles.  Y pointing up is turned into image y as ``y = H - Y`` when
``image_size`` gives the height H, else ``y = -Y`` (exact when the file wrote
``-y``; otherwise only a shift, which changes no 3D pose under the
weak-perspective camera; the perspective camera needs the true image y, so
pass ``--image-size``).

Markers are matched to joints by name (:mod:`.names`): Pose2Sim/Sports2D's
``RHip``, ``LBigToe``, ``Neck``, ``Hip`` (the mid-hip), ``Head`` (the top of
the head, Halpe's convention) ...; ``joint_map`` (``--map FILE``) names others.
A marker at (0, 0) is missing (Sports2D fills gaps with zeros).  Ids are
``frame`` (``Frame#``) and ``time`` (seconds).

**3D output** (:func:`write_trc`, what ``lift2d3d lift -o clip.trc`` writes):
one person's clip in the world frame (:mod:`lift2d3d.world`), metres, OpenSim's
axes (Y up), the layout Pose2Sim writes, markers named as Pose2Sim names them
(:data:`TRC_MARKERS`: ``Hip`` for body15's pelvis, ``RShoulder``, ``LKnee`` ...;
``Head`` is body15's head, the centre of the head, lower than Halpe's top of
the head: give it a small weight in OpenSim's inverse kinematics).  A frame that
was not lifted keeps its row with empty cells (OpenSim skips missing markers).
:func:`read_trc3d` reads such a file (or any 3D TRC) back; lifting it as 2D
keypoints stays refused.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .csv_wide import _BadLines, _numeric, next_chunk, open_csv_chunks
from .names import load_joint_map, resolve_parts
from .table import KeypointFormatError, KeypointTable, check_values

__all__ = ["looks_like_trc", "read_trc_header", "iter_trc", "write_trc", "read_trc3d", "Trc3D", "TRC_MARKERS"]

#: Marker names of the 3D TRC writer (Pose2Sim's), by body15 joint.
TRC_MARKERS = {"pelvis": "Hip", "neck": "Neck", "head": "Head", "left_shoulder": "LShoulder",
               "right_shoulder": "RShoulder", "left_elbow": "LElbow", "right_elbow": "RElbow", "left_wrist": "LWrist",
               "right_wrist": "RWrist", "left_hip": "LHip", "right_hip": "RHip", "left_knee": "LKnee",
               "right_knee": "RKnee", "left_ankle": "LAnkle", "right_ankle": "RAnkle"}
#: Metres per unit of a TRC's ``Units``.
TRC_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}

#: Markers named like the head and shoulders vs the hips and legs, for the y direction.
_UPPER = ("nose", "neck", "head_top", "left_shoulder", "right_shoulder", "left_eye", "right_eye", "left_ear",
          "right_ear")
_LOWER = ("left_hip", "right_hip", "mid_hip", "pelvis", "left_knee", "right_knee", "left_ankle", "right_ankle")
#: A person in pixels spans far more than this; a smaller span means metres (e.g. Sports2D's ``*_m.trc``).
_MIN_PIXEL_SPAN = 20.0


def looks_like_trc(first_line: str) -> bool:
    """True for the first line of a TRC file (``PathFileType``)."""
    return first_line.lstrip("\ufeff").strip().lower().startswith("pathfiletype")


def read_trc_header(path):
    """``(settings dict, marker names, header line count)`` of a TRC file."""
    try:
        with open(path, "r", encoding="utf-8-sig", errors="replace") as handle:
            lines = [handle.readline() for _ in range(6)]
    except OSError as exc:
        raise KeypointFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not looks_like_trc(lines[0]):
        raise KeypointFormatError(f"{path}: not a TRC file (the first line does not start with PathFileType)")
    keys = [k.strip() for k in lines[1].rstrip("\r\n").split("\t")]
    values = [v.strip() for v in lines[2].rstrip("\r\n").split("\t")]
    settings = dict(zip(keys, values))
    labels = lines[3].rstrip("\r\n").split("\t")
    if len(labels) < 3 or labels[0].strip().lower() not in ("frame#", "frame"):
        raise KeypointFormatError(f"{path}: line 4 must name the columns (Frame#, Time, then the markers); "
                                  f"found {lines[3].strip()[:60]!r}")
    names = [n.strip() for n in labels[2:] if n.strip()]
    if not names:
        raise KeypointFormatError(f"{path}: no marker names on line 4")
    declared = settings.get("NumMarkers")
    if declared and declared.isdigit() and int(declared) != len(names):
        raise KeypointFormatError(f"{path}: NumMarkers says {declared} but line 4 names {len(names)} markers")
    return settings, names, 5


def _y_points_up(markers_y, joints_of_marker):
    """True when, in most frames, the head/shoulder markers have larger Y than the hip/leg markers."""
    upper = [k for k, j in enumerate(joints_of_marker) if j in _UPPER]
    lower = [k for k, j in enumerate(joints_of_marker) if j in _LOWER]
    if not upper or not lower:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        difference = np.nanmean(markers_y[:, upper], axis=1) - np.nanmean(markers_y[:, lower], axis=1)
    difference = difference[np.isfinite(difference)]
    if difference.size == 0:
        return None
    return bool(np.median(difference) > 0)


def iter_trc(path, format=None, chunk_rows=10_000, joint_map=None, image_size=None):
    """Yield :class:`~.table.KeypointTable` chunks of a 2D (pixel) TRC file.

    Raises
    ------
    KeypointFormatError
        A 3D TRC (markers with Z), one in metres, unknown marker names, or a
        broken header.
    """
    settings, names, n_header = read_trc_header(path)
    units = settings.get("Units", "?")
    used, skeleton, notes = resolve_parts(names, joint_map=load_joint_map(joint_map), aliases={"head": "head_top"},
                                          format=format, source=str(path), what="marker")
    marker_index = {name: k for k, name in enumerate(names)}
    columns = [f"c{k}" for k in range(2 + 3 * len(names) + 3)]  # room for trailing tabs
    reader = open_csv_chunks(path, sep="\t", header=None, skiprows=n_header, names=columns, index_col=False,
                             chunksize=chunk_rows, skip_blank_lines=True, encoding="utf-8-sig",
                             encoding_errors="replace", on_bad_lines="warn", low_memory=False,
                             dtype=str, keep_default_na=False)
    joints_of_marker = [used.get(name) for name in names]
    y_up, offset, rows_before = None, None, 0
    while True:
        with _BadLines() as bad:
            chunk = next_chunk(reader, path, rows_before)
        if chunk is None:
            break
        n = len(chunk)
        first_line = n_header + rows_before + 1
        problems = np.full(n, "", dtype=object)
        where = lambda r, f=first_line: f"line {f + r}"  # noqa: E731
        # a cell that is not a number marks its row (bad_input), as in every CSV reader
        data = np.column_stack([_numeric(chunk[columns[2 + k]], where, f"{names[k // 3]} {'XYZ'[k % 3]}", problems)
                                for k in range(3 * len(names))]).reshape(n, len(names), 3)
        z = data[..., 2]
        if (np.isfinite(z) & (z != 0)).any():
            row, marker = np.argwhere(np.isfinite(z) & (z != 0))[0]
            raise KeypointFormatError(
                f"{path}: a 3D TRC (marker {names[marker]} has Z = {z[row, marker]:g} {units} on line "
                f"{first_line + row}): these markers are already 3D (Pose2Sim/OpenSim output, or lift2d3d's own "
                "-o clip.trc), there is nothing to lift. lift2d3d lifts 2D keypoints: a pixel TRC such as Sports2D's "
                "*_px.trc (Z = 0), or the 2D keypoints the 3D came from. To look at the 3D: lift2d3d view FILE.trc; "
                "to read it: lift2d3d.io.read_trc3d")
        xy = data[..., :2].copy()
        xy[(xy[..., 0] == 0) & (xy[..., 1] == 0)] = np.nan  # Sports2D writes gaps as zeros
        if rows_before == 0:
            finite = xy[np.isfinite(xy).all(axis=2)]
            span = float(np.ptp(finite, axis=0).max()) if len(finite) else 0.0
            if len(finite) and span < _MIN_PIXEL_SPAN:
                raise KeypointFormatError(
                    f"{path}: the 2D markers span only {span:.3g} {units}: this TRC holds metres (e.g. Sports2D's "
                    "*_m.trc), not pixels. Lift the pixel file (Sports2D's *_px.trc)")
            y_up = _y_points_up(xy[..., 1], joints_of_marker)
            if y_up is None:
                y_up = False
                notes.append(f"{path}: no head/shoulder and hip/leg markers to tell the y direction; Y is taken as "
                             "image y (pointing down)")
            elif y_up:
                height = None if image_size is None else float(image_size[1])
                if height is not None:
                    offset = height
                    how = f"y = {height:g} - Y (--image-size height)"
                elif not (finite[:, 1] > 0).any():
                    offset = 0.0
                    how = "y = -Y"
                else:
                    # keep the coordinates positive, as pixels are: a shift changes no weak-perspective pose
                    offset = float(np.ceil(np.nanmax(finite[:, 1])))
                    how = (f"y = {offset:g} - Y, shifted from the image's y (no 3D pose changes under the "
                           "weak-perspective camera; pass --image-size W H for the perspective camera)")
                notes.append(f"{path}: Y points up (the head is above the hips in most frames): {how}")
            else:
                notes.append(f"{path}: Y points down, as image y (the head is above the hips in most frames)")
        if y_up:
            xy[..., 1] = offset - xy[..., 1]
        keypoints = np.full((n, skeleton.n_joints, 2), np.nan)
        for name, joint in used.items():
            keypoints[:, skeleton.index(joint)] = xy[:, marker_index[name]]
        scores = np.isfinite(keypoints).all(axis=2).astype(np.float64)
        frame = pd.to_numeric(chunk["c0"], errors="coerce")
        if np.isfinite(frame.to_numpy(dtype=np.float64)).all() and (frame == frame.round()).all():
            frame = frame.astype(np.int64)
        else:
            frame = chunk["c0"].astype(str)
        ids = pd.DataFrame({"frame": frame.to_numpy(), "time": pd.to_numeric(chunk["c1"], errors="coerce").to_numpy()})
        marker_of = {joint: name for name, joint in used.items()}
        check_values(keypoints, scores, problems, where,
                     lambda j, a: f"{marker_of.get(skeleton.joints[j], skeleton.joints[j])} {'XYZ'[a]}")
        table = KeypointTable(keypoints, scores, ids, skeleton, problems, str(path), "trc",
                              line_numbers=np.arange(first_line, first_line + n), line_label="line")
        if rows_before == 0:
            table.notes.extend(notes)
        table.notes.extend(f"{path}: {m} (line skipped)" for m in bad.messages)
        rows_before += n
        yield table


def write_trc(path, joints3d, joint_names, fps: float, frames=None):
    """Write one person's clip as a 3D TRC (metres, Y up; Pose2Sim's layout and marker names), atomically.

    Parameters
    ----------
    path : str or Path
    joints3d : (N, P, 3) float, metres
        The world frame (:mod:`lift2d3d.world`: Y up); NaN where a frame was not lifted (empty cells).
    joint_names : sequence of str
        body15's names are written as :data:`TRC_MARKERS` names them; others as given.
    fps : float
        ``DataRate`` and ``CameraRate``; ``Time = Frame# / fps``.
    frames : (N,) int, optional
        ``Frame#`` of each row (default ``0 .. N-1``).
    """
    from pathlib import Path

    from .writers import atomic_path

    joints3d = np.asarray(joints3d, dtype=np.float64)
    names = [TRC_MARKERS.get(j, j) for j in joint_names]
    if joints3d.ndim != 3 or joints3d.shape[1:] != (len(names), 3):
        raise ValueError(f"expected joints of shape (N, {len(names)}, 3); got {joints3d.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"the frame rate must be a positive number; got {fps!r}")
    n = len(joints3d)
    frames = np.arange(n) if frames is None else np.asarray(frames).astype(np.int64)
    rate = f"{float(fps):g}"
    first = int(frames[0]) if n else 0
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{Path(path).name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate}\t{rate}\t{n}\t{len(names)}\tm\t{rate}\t{first}\t{n}",
             "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
             "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, len(names) + 1)),
             ""]
    values = joints3d.reshape(n, -1)
    cells = np.char.mod("%.6f", values).astype(object)
    cells[~np.isfinite(values)] = ""
    cells[cells == "-0.000000"] = "0.000000"
    for frame, row in zip(frames, cells):
        lines.append(f"{int(frame)}\t{int(frame) / float(fps):.6f}\t" + "\t".join(row))
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
    return Path(path)


class Trc3D(NamedTuple):
    """What :func:`read_trc3d` returns."""

    #: (N, M, 3) float, metres (NaN where a cell is empty)
    joints3d: np.ndarray
    #: the markers as body15 joint names where :data:`TRC_MARKERS` (or the name itself) gives one, else as written
    joint_names: tuple
    #: the marker names as written
    markers: tuple
    #: (N,) Frame#, (N,) Time in seconds
    frame: np.ndarray
    time: np.ndarray
    #: DataRate (frames per second; NaN when not given)
    rate: float


def read_trc3d(path) -> Trc3D:
    """Read a 3D TRC (lift2d3d's, Pose2Sim's, OpenSim's) into metres.

    Raises
    ------
    KeypointFormatError
        Not a TRC, unknown units, or a cell that is neither empty nor a number (naming its line and column).
    """
    from ..skeletons import canonical_joint_name

    settings, markers, n_header = read_trc_header(path)
    units = settings.get("Units", "m").strip().lower()
    if units not in TRC_UNITS:
        raise KeypointFormatError(f"{path}: Units {units!r} is not one of {', '.join(TRC_UNITS)}; fix the header's "
                                  "Units")
    columns = 2 + 3 * len(markers)
    table = pd.read_csv(path, sep="\t", header=None, skiprows=n_header, skip_blank_lines=True, dtype=str,
                        keep_default_na=False, encoding="utf-8-sig", usecols=range(columns),
                        names=list(range(columns)), index_col=False)
    values = np.full((len(table), columns), np.nan)
    for c in range(columns):
        text = table[c].fillna("").str.strip()
        number = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = number.isna() & (text != "") & (text.str.lower() != "nan")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            what = "Frame#" if c == 0 else "Time" if c == 1 else f"{markers[(c - 2) // 3]} {'XYZ'[(c - 2) % 3]}"
            raise KeypointFormatError(f"{path}: line {n_header + 2 + row}, {what}: {text.iloc[row]!r} is not a number "
                                      "(leave a missing marker's cells empty)")
        values[:, c] = number.to_numpy(dtype=np.float64)
    scale = TRC_UNITS[units]
    joints3d = values[:, 2:].reshape(len(table), len(markers), 3) * scale
    by_marker = {v: k for k, v in TRC_MARKERS.items()}
    names = []
    for marker in markers:
        name = by_marker.get(marker, canonical_joint_name(marker))
        names.append(name)
    try:
        rate = float(settings.get("DataRate", "nan"))
    except ValueError:
        rate = float("nan")
    frame = values[:, 0]
    if np.isfinite(frame).all() and (frame == np.round(frame)).all():
        frame = frame.astype(np.int64)
    return Trc3D(joints3d=joints3d, joint_names=tuple(names), markers=tuple(markers), frame=frame, time=values[:, 1],
                 rate=rate)
