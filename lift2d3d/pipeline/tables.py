"""Lift one keypoint table in memory: map it onto the bases' skeleton, lift it, tabulate the result.

:func:`lift_keypoints` takes a :class:`~lift2d3d.io.KeypointTable` (what every
reader returns), :func:`lift_table` a wide DataFrame; both give one output row
per input row, in input order, with the columns of
:func:`lift2d3d.io.output_columns`.  ``sequence=True`` lifts each person's
rows together (:func:`person_groups`).  These are pure functions of their
rows, so a file lifted in chunks (:mod:`.stream`) or on a Dask cluster gives
the same rows as one call on the whole table.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import status as _status
from ..io import CAMERA_COLUMNS, NO_PERSON_MESSAGE, KeypointFormatError, KeypointTable, output_columns, \
    table_from_frame

__all__ = ["lift_keypoints", "lift_table", "person_columns", "person_groups", "sequence_frames", "time_column",
           "TIME_COLUMNS", "SequenceContext", "sequence_context", "CONTEXT_FRAMES",
           "context_frames"]

#: Id columns that number frames in time rather than name a person or a video.
TIME_COLUMNS = ("frame", "frame_id", "frame_idx", "frame_index", "time", "timestamp", "t")


def person_columns(ids: pd.DataFrame) -> list:
    """The id columns that name a person: all but the time ones (:data:`TIME_COLUMNS`)."""
    return [c for c in ids.columns if str(c).lower() not in TIME_COLUMNS]


def person_groups(ids: pd.DataFrame, rows: np.ndarray) -> list:
    """Row indices per person: rows equal in every id column except the time ones (:func:`person_columns`)."""
    keys = person_columns(ids)
    if not keys or len(rows) == 0:
        return [rows]
    groups = ids.iloc[rows][keys].astype(str).groupby(keys, sort=False).indices
    return [rows[g] for g in groups.values()]


def time_column(ids: pd.DataFrame):
    """The id column that numbers frames in time (the first of :data:`TIME_COLUMNS` present), or None."""
    by_name = {str(c).lower(): c for c in ids.columns}
    return next((by_name[name] for name in TIME_COLUMNS if name in by_name), None)


def sequence_frames(ids: pd.DataFrame, group: np.ndarray):
    """Frame numbers of one person's rows and the rows that cannot join the sequence.

    Returns ``(frames, alone)``: ``frames`` (float, one per row of ``group``)
    from the time column, or None when the table has none (the rows are then
    consecutive frames in row order); ``alone`` maps a row to the reason it is
    lifted on its own: a frame number that is missing or not a number, or one
    that an earlier row of the same person already has.
    """
    column = time_column(ids)
    if column is None:
        return None, {}
    frames = pd.to_numeric(ids[column].iloc[group], errors="coerce").to_numpy(dtype=np.float64)
    alone = {}
    seen = {}
    for row, frame in zip(group, frames):
        if not np.isfinite(frame):
            alone[row] = f"{column} {ids[column].iloc[row]!r} is not a number, so this row is not part of the " \
                         "person's sequence: lifted on its own"
        elif frame in seen:
            alone[row] = (f"{column} {frame:g} appears again for this person (first at row {seen[frame] + 1}): "
                          "lifted on its own; give each person one row per frame")
        else:
            seen[frame] = row
    return frames, alone


def output_joints(lifter, output_skeleton=None) -> tuple:
    """The joints a lifted table has columns for: the bases', or ``output_skeleton``'s
    (:meth:`lift2d3d.lifter.LiftResult.to_skeleton`)."""
    if output_skeleton is None:
        return tuple(lifter.joint_names)
    from ..skeletons import get_skeleton

    try:
        return get_skeleton(output_skeleton).joints
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


class SequenceContext(NamedTuple):
    """Rows from the chunks before and after a chunk, for the sequences of the people in it."""

    ids: pd.DataFrame
    keypoints: np.ndarray       # (n, P, 2), mapped onto the lifter's skeleton
    scores: np.ndarray          # (n, P)


#: Frames of a person taken from each neighbouring chunk (the temporal windows' default overlap).
CONTEXT_FRAMES = 32


def context_frames(lifter, fps: float) -> int:
    """Frames of a person to take from each neighbouring chunk: :data:`CONTEXT_FRAMES`, or more when the
    fused method's temporal network sees further (its receptive field at ``fps``), so that the frames at a
    chunk's edge get the prior they would get in one piece."""
    n = CONTEXT_FRAMES
    if lifter.resolved_params()["method"] == "fused" and lifter.temporal_network is not None:
        n = max(n, int(np.ceil(max(lifter.temporal_network.receptive_field) * float(fps))) + 1)
    return n


def sequence_context(current: KeypointTable, before=None, after=None, n_frames: int = CONTEXT_FRAMES):
    """The :class:`SequenceContext` of chunk ``current``: for each person in it, that person's last
    ``n_frames`` usable rows of the chunk ``before`` and first ``n_frames`` of the chunk ``after``
    (each a ``(KeypointTable, keypoints, scores)`` or None), by the frame column."""
    keys = person_columns(current.ids)
    people = set(current.ids[keys].astype(str).itertuples(index=False, name=None)) if keys else {()}
    picked = []
    for neighbour, last in ((before, True), (after, False)):
        if neighbour is None:
            continue
        table, keypoints, scores = neighbour
        rows = np.flatnonzero(table.good)
        for group in person_groups(table.ids, rows):
            person = tuple(table.ids[keys].iloc[group[0]].astype(str)) if keys else ()
            if person not in people:
                continue
            frames, alone = sequence_frames(table.ids, group)
            keep = np.array([r not in alone for r in group], dtype=bool)
            group = group[keep]
            if frames is not None:
                group = group[np.argsort(frames[keep], kind="stable")]
            group = group[-n_frames:] if last else group[:n_frames]
            picked.append((table.ids.iloc[group], keypoints[group], scores[group]))
    if not picked:
        return None
    return SequenceContext(pd.concat([p[0] for p in picked], ignore_index=True),
                           np.concatenate([p[1] for p in picked]), np.concatenate([p[2] for p in picked]))


def lift_keypoints(table: KeypointTable, lifter, sequence: bool = False, write_camera: bool = False,
                   output_skeleton=None, depth_order=None, fps: float = 30.0) -> pd.DataFrame:
    """Map a :class:`~lift2d3d.io.KeypointTable` onto ``lifter``'s skeleton, lift it, and tabulate the result.

    Rows with a reader problem are not lifted: they get status ``bad_input``
    and the problem as their message; rows of frames without a person get
    ``no_person``.  The output has one row per input row, in input order
    (see :func:`lift2d3d.io.output_columns`).  ``sequence``: the rows of each
    person (:func:`person_groups`) are lifted together by
    :meth:`Lifter.lift_sequence`, sharing bone proportions.  ``write_camera``:
    add the rotation, scale and translation columns (NaN where not lifted).
    ``output_skeleton``: write the joints in that skeleton's order (e.g.
    ``h36m17``; joints the bases cannot give are empty).  ``depth_order``: a
    :class:`~lift2d3d.io.DepthOrderTable` of ordinal depth hints by row id.
    ``fps``: the video's frame rate, for ``sequence`` (the frame column,
    :func:`time_column`, orders a person's rows and spaces them in time).
    """
    keypoints, scores = table.mapping_to(lifter).apply(table.keypoints, table.scores)
    return lift_mapped(table, keypoints, scores, lifter, sequence, write_camera, output_skeleton, depth_order, fps)


def lift_mapped(table: KeypointTable, keypoints, scores, lifter, sequence: bool = False,
                write_camera: bool = False, output_skeleton=None, depth_order=None,
                fps: float = 30.0, context=None) -> pd.DataFrame:
    """:func:`lift_keypoints` for a table whose keypoints (N, P, 2) and scores (N, P) are already
    mapped onto ``lifter``'s skeleton (so that a caller who needs them too maps once).

    ``context`` (a :class:`SequenceContext`, with ``sequence``): rows of the
    neighbouring chunks that join their person's sequence, so that a person
    whose rows span chunks is lifted across the cut; they are not written.
    """
    joints = output_joints(lifter, output_skeleton)
    relations = depth_order.for_rows(table.ids) if depth_order is not None else None
    clash = [c for c in table.ids.columns if c in set(output_columns([], joints, write_camera=write_camera))]
    if clash:
        raise KeypointFormatError(f"{table.source}: id column(s) {', '.join(map(str, clash))} clash with "
                                  "output columns; rename them")
    n, p = len(table), len(joints)
    xyz = np.full((n, p, 3), np.nan)
    status = np.full(n, _status.name_of(_status.BAD_INPUT), dtype=object)
    message = table.problems.astype(object).copy()
    empty = table.no_person & ~table.bad
    status[empty] = _status.name_of(_status.NO_PERSON)
    message[empty] = NO_PERSON_MESSAGE
    error = np.full(n, np.nan)
    iterations = np.zeros(n, dtype=np.int64)
    pose = np.full((n, len(CAMERA_COLUMNS)), np.nan) if write_camera else None
    rows = np.flatnonzero(table.good)
    ids = table.ids
    if sequence and context is not None and len(context.ids):
        # rows of the neighbouring chunks join their person's sequence; only the table's rows are written
        ids = pd.concat([table.ids, context.ids.astype(table.ids.dtypes.to_dict(), errors="ignore")],
                        ignore_index=True)
        keypoints = np.concatenate([keypoints, context.keypoints])
        scores = np.concatenate([scores, context.scores])
        if relations is not None:
            relations = list(relations) + [[] for _ in range(len(context.ids))]
        rows = np.concatenate([rows, n + np.arange(len(context.ids))])
    lifts = []      # (rows, lift method, its timing arguments, why a row is lifted alone): one call each
    for group in (person_groups(ids, rows) if sequence else [rows]):
        if len(group) == 0 or (group >= n).all():
            continue
        if not sequence:
            lifts.append((group, lifter.lift, {}, {}))
            continue
        frames, alone = sequence_frames(ids, group)
        keep = np.array([r not in alone for r in group], dtype=bool)
        timing = {"fps": fps} if frames is None else {"fps": fps, "frames": frames[keep]}
        if keep.any():
            lifts.append((group[keep], lifter.lift_sequence, timing, {}))
        if not keep.all():
            lifts.append((group[~keep], lifter.lift, {}, alone))
    for every, lift, timing, why in lifts:
        hints = {} if relations is None else {"depth_order": [relations[r] for r in every]}
        result = lift(keypoints[every], scores[every], **timing, **hints)
        if output_skeleton is not None:
            result = result.to_skeleton(output_skeleton)
        own = every < n
        group = every[own]
        if not own.all():
            result = result[own]
        xyz[group] = result.joints3d
        status[group] = result.status
        message[group] = [f"{why[r]}; {m}" if r in why else m for r, m in zip(group, result.message)]
        error[group] = result.reprojection_error
        iterations[group] = result.iterations
        if write_camera:
            pose[group, :9] = np.asarray(result.rotation, dtype=np.float64).reshape(len(group), 9)
            pose[group, 9] = result.scale
            pose[group, 10:] = np.asarray(result.translation, dtype=np.float64).reshape(len(group), 3)
    columns = {c: table.ids[c].to_numpy() for c in table.ids.columns}
    for j, joint in enumerate(joints):
        for a, axis in enumerate("xyz"):
            columns[f"{joint}_{axis}"] = xyz[:, j, a]
    columns.update(status=status, reprojection_error=error, iterations=iterations, message=message)
    if write_camera:
        # the pose of a row that was not lifted is unknown, whatever the solver left there
        pose[~np.isfinite(xyz).any(axis=(1, 2))] = np.nan
        columns.update({name: pose[:, k] for k, name in enumerate(CAMERA_COLUMNS)})
    return pd.DataFrame(columns, columns=output_columns(table.ids.columns, joints, write_camera=write_camera))


def lift_table(df: pd.DataFrame, lifter, format=None, sequence: bool = False, image_size=None,
               write_camera: bool = False, output_skeleton=None, depth_order=None,
               fps: float = 30.0) -> pd.DataFrame:
    """Lift one in-memory wide keypoint table (a pure function: same rows -> same output).

    Parameters
    ----------
    df : pandas.DataFrame
        Id columns plus ``<joint>_x``, ``<joint>_y`` [, ``<joint>_score``] in
        pixels (empty/NaN = missing joint), for any registered format.
    lifter : Lifter
        Its ``joint_names`` decide the output joints.
    format : str, optional
        Skeleton of the columns (detected from the names when omitted).
    sequence : bool, default False
        Lift each person's rows together (:meth:`Lifter.lift_sequence`,
        shared bone proportions); a person is the rows that agree in every
        id column except frame/time ones (:func:`person_groups`).
    image_size : (width, height), optional
        Convert normalised coordinates (within 0-1, e.g. MediaPipe's) to
        pixels; normalised coordinates without it are an error.
    write_camera : bool, default False
        Add the camera columns ``r11 ... r33``, ``scale``, ``tx``, ``ty``, ``tz``
        (:data:`lift2d3d.io.CAMERA_COLUMNS`).
    output_skeleton : str, optional
        Write the joints in another skeleton's order (``h36m17``, ``coco17``
        ...); joints the bases cannot give are NaN.
    depth_order : DepthOrderTable or path, optional
        Ordinal depth hints by row id (:func:`lift2d3d.io.read_depth_order`).
    fps : float, default 30
        The video's frame rate, for ``sequence``.

    Returns
    -------
    pandas.DataFrame
        Id columns as given, ``<joint>_x``, ``<joint>_y``, ``<joint>_z``
        (metres, camera frame) for every joint in ``lifter.joint_names``,
        then ``status``, ``reprojection_error`` (pixels), ``iterations`` and
        ``message``.  Bad rows are kept with their status and reason; an
        empty ``df`` gives an empty table with the same columns.

    Raises
    ------
    KeypointFormatError
        When the columns cannot be understood (no id column, unknown joints...),
        or the coordinates look normalised and no ``image_size`` is given.
    """
    table = table_from_frame(df, format=format, image_size=image_size, source="table")
    if depth_order is not None and not hasattr(depth_order, "for_rows"):
        from ..io import read_depth_order

        depth_order = read_depth_order(depth_order)
    return lift_keypoints(table, lifter, sequence=sequence, write_camera=write_camera,
                          output_skeleton=output_skeleton, depth_order=depth_order, fps=fps)
