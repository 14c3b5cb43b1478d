"""A lifted table's people as clips: time order, the world frame, and one BVH or TRC file per person.

A BVH or TRC file holds one person's motion on a regular timeline, and the
world frame (:mod:`lift2d3d.world`) is estimated from one person's clip.  Here
the rows of a lifted table (:func:`~.tables.lift_keypoints`' output, with the
camera columns) are grouped by person as ``--sequence`` groups them
(:func:`~.tables.person_groups`: every id column but the time ones), put in
the order of the frame column (a ``time``/``timestamp``/``t`` column counts
seconds and is multiplied by ``fps``; without one, the rows are consecutive
frames), and placed on a timeline of consecutive frames from the person's
first to last.

* :func:`world_table`: the table with each person's joints in that person's
  world frame, and the metadata of each estimate.  Only rows whose status
  counts as lifted (:data:`lift2d3d.status.LIFTED`) shape the estimate; every
  row with joints is moved into the world frame.
* :func:`write_clips`: one file per person.  One person: the output path as
  given; several: ``<stem>_<person><suffix>`` (``clip_person-2.bvh``), each
  with its ``.world.json`` sidecar (:func:`lift2d3d.io.world_sidecar`).  A
  BVH needs every frame: frames of the timeline with no lifted row are
  interpolated from their neighbours (held at the ends) and counted in the
  notes; a TRC leaves them empty.  A person with no lifted frame gets no
  file (a note says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import status as _status
from ..io import CAMERA_COLUMNS, write_bvh, write_trc
from ..io import world_sidecar as _sidecar
from .tables import person_columns, person_groups, time_column

__all__ = ["PersonClip", "person_clips", "world_table", "write_clips", "SECONDS_COLUMNS"]

#: Time columns that count seconds rather than frames.
SECONDS_COLUMNS = ("time", "timestamp", "t")


@dataclass
class PersonClip:
    """One person's rows on a timeline.

    Attributes
    ----------
    label : str
        ``"person-2"`` from the person's id values (``""`` when the table has no person column).
    key : dict
        The person's id values by column.
    rows : (n,) int
        Their rows of the table.
    slot : (n,) int
        Each row's frame on the timeline (-1: a row with no usable frame number).
    frames : (T,) int
        The timeline: consecutive frame numbers from the first to the last.
    first_row : (T,) int
        The row giving each frame's pose (the first lifted row of that frame; -1: none).
    """

    label: str
    key: dict
    rows: np.ndarray
    slot: np.ndarray
    frames: np.ndarray
    first_row: np.ndarray


def _label(key: dict) -> str:
    text = "_".join(f"{c}-{v}" for c, v in key.items())
    return re.sub(r"[^A-Za-z0-9.\-]+", "-", text).strip("-.") or "person"


def person_clips(table: pd.DataFrame, id_columns, fps: float) -> list:
    """The :class:`PersonClip` of each person of a lifted table (in order of first appearance)."""
    ids = table[list(id_columns)]
    # the rows whose pose is trusted (ok, not_converged): a suspect_input row's pose is not placed in a clip
    lifted = np.isin(table["status"].to_numpy(dtype=str), _status.LIFTED)
    keys = person_columns(ids)
    column = time_column(ids)
    clips = []
    for group in person_groups(ids, np.arange(len(table))):
        key = {c: ids[c].iloc[group[0]] for c in keys}
        if column is None:
            numbers = np.arange(len(group), dtype=np.float64)
        else:
            numbers = pd.to_numeric(ids[column].iloc[group], errors="coerce").to_numpy(dtype=np.float64)
            if str(column).lower() in SECONDS_COLUMNS:
                numbers = numbers * fps
        usable = np.isfinite(numbers)
        frame_of = np.where(usable, np.round(np.where(usable, numbers, 0)), 0).astype(np.int64)
        if not usable.any():
            frames = np.zeros(0, dtype=np.int64)
        else:
            frames = np.arange(frame_of[usable].min(), frame_of[usable].max() + 1)
        slot = np.where(usable, frame_of - (frames[0] if len(frames) else 0), -1)
        first_row = np.full(len(frames), -1, dtype=np.int64)
        # the first lifted row of each frame gives its pose (a repeated frame's later rows do not)
        for k in np.flatnonzero(usable & lifted[group])[::-1]:
            first_row[slot[k]] = group[k]
        clips.append(PersonClip(_label(key), key, group, slot, frames, first_row))
    return clips


def _on_timeline(clip: PersonClip, values: np.ndarray) -> np.ndarray:
    """Per-row ``values`` (rows, ...) of the table placed on the clip's timeline (NaN where no row)."""
    out = np.full((len(clip.frames),) + values.shape[1:], np.nan)
    have = clip.first_row >= 0
    out[have] = values[clip.first_row[have]]
    return out


def _clip_world(table, clip, joint_names, fps, perspective, height):
    from ..world import estimate_world

    columns = [f"{j}_{a}" for j in joint_names for a in "xyz"]
    joints = table[columns].to_numpy(dtype=np.float64).reshape(len(table), len(joint_names), 3)
    on_line = _on_timeline(clip, joints)
    ok = np.isfinite(on_line).all(axis=(1, 2))
    shift = None
    if not perspective and all(c in table.columns for c in CAMERA_COLUMNS):
        camera = table[["tx", "ty", "scale"]].to_numpy(dtype=np.float64)
        camera = _on_timeline(clip, camera)
        with np.errstate(invalid="ignore", divide="ignore"):
            # the centre's image motion over the scale; the median position as the reference
            shift = (camera[:, :2] - np.nanmedian(camera[ok, :2], axis=0)) / camera[:, 2:3]
    frame = estimate_world(on_line, joint_names, ok=ok, perspective=perspective, image_shift=shift, fps=fps,
                           height=height)
    return frame, on_line, ok


def world_table(table: pd.DataFrame, id_columns, joint_names, fps: float, perspective: bool, height=None):
    """``table`` with each person's joints in that person's world frame, and the estimates' metadata.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table (a copy) and ``{person label: metadata}`` (``"all"`` without person columns).  A person
        without a lifted frame keeps NaN joints (only rows that were lifted have joints) and a metadata entry
        saying so.
    """
    out = table.copy()
    columns = [f"{j}_{a}" for j in joint_names for a in "xyz"]
    joints = table[columns].to_numpy(dtype=np.float64).reshape(len(table), len(joint_names), 3)
    world = joints.copy()
    metadata = {}
    for clip in person_clips(table, id_columns, fps):
        label = clip.label if clip.key else "all"
        if not (clip.first_row >= 0).any():
            metadata[label] = {"frame": "world", "note": "no frame of this person was lifted"}
            world[clip.rows] = np.nan
            continue
        frame, _, _ = _clip_world(table, clip, joint_names, fps, perspective, height)
        slot = np.where(clip.slot >= 0, clip.slot, int(np.median(clip.slot[clip.slot >= 0]))
                        if (clip.slot >= 0).any() else 0)
        world[clip.rows] = (np.einsum("ij,npj->npi", frame.rotation, joints[clip.rows])
                            + frame.offset[slot][:, None, :])
        metadata[label] = dict(frame.metadata, person=_plain_key(clip.key))
    out[columns] = world.reshape(len(table), -1)
    return out, metadata


def _plain_key(key):
    return {str(c): (v.item() if hasattr(v, "item") else v) for c, v in key.items()}


def _fill(values):
    """(T, P, 3) with NaN frames interpolated linearly per coordinate, held at the ends."""
    out = values.reshape(len(values), -1).copy()
    good = np.isfinite(out).all(axis=1)
    index = np.arange(len(out))
    for c in range(out.shape[1]):
        out[:, c] = np.interp(index, index[good], out[good, c])
    return out.reshape(values.shape)


def write_clips(table: pd.DataFrame, id_columns, joint_names, output, fps: float, perspective: bool, height=None,
                rig="cmu", units="m"):
    """Write each person's clip of a lifted table (camera frame, with the camera columns) to a BVH or TRC file.

    Returns
    -------
    (list of Path, list of str, dict)
        The files written, notes (interpolated frames, people without a lifted frame), and the metadata of
        each file's world frame by file name.

    Raises
    ------
    ValueError
        When no person has a lifted frame.
    """
    import json

    from ..io import atomic_path

    output = Path(output)
    suffix = output.suffix.lower()
    clips = person_clips(table, id_columns, fps)
    several = len(clips) > 1
    written, notes, metadata = [], [], {}
    for clip in clips:
        who = f"person {clip.label}" if clip.key else "the clip"
        if not (clip.first_row >= 0).any():
            notes.append(f"{who}: no frame was lifted; no {suffix} file written")
            continue
        path = output.with_name(f"{output.stem}_{clip.label}{output.suffix}") if several else output
        frame, on_line, ok = _clip_world(table, clip, joint_names, fps, perspective, height)
        world = frame.apply(on_line)
        info = dict(frame.metadata, person=_plain_key(clip.key), file=path.name, fps=float(fps),
                    first_frame=int(clip.frames[0]), frames=int(len(clip.frames)))
        if suffix == ".bvh":
            missing = int((~ok).sum())
            motion = write_bvh(path, _fill(world), joint_names, fps, rig=rig, units=units)
            info.update(bvh_rig=rig, bvh_units=units, interpolated_frames=missing,
                        bone_lengths_m={k: round(v, 5) for k, v in motion.lengths.items()})
            if missing:
                notes.append(f"{path}: {missing} of {len(ok)} frames had no lifted pose and were interpolated from "
                             "their neighbours (held at the ends)")
        else:
            write_trc(path, np.where(ok[:, None, None], world, np.nan), joint_names, fps, frames=clip.frames)
            info.update(empty_frames=int((~ok).sum()))
            if (~ok).any():
                notes.append(f"{path}: {int((~ok).sum())} of {len(ok)} frames had no lifted pose; their markers are "
                             "empty")
        with atomic_path(_sidecar(path)) as tmp:
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump({"frame": "world", "file": path.name, "world": {clip.label if clip.key else "all": info}},
                          handle, indent=1)
        written.append(path)
        metadata[path.name] = info
    if not written:
        raise ValueError(f"{output}: no person has a lifted frame, so there is no clip to write "
                         f"({'; '.join(notes)})")
    if several:
        notes.insert(0, f"{len(clips)} people in the table: one {suffix} file each ("
                     + ", ".join(p.name for p in written) + ")")
    return written, notes, metadata
