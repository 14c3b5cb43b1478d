"""MMPose inferencer predictions (``MMPoseInferencer(..., pred_out_dir=...)``).

The inferencer dumps what ``mmpose.structures.split_instances`` makes of
each image's ``pred_instances``: a list of instances, each
``{"keypoints": [[x, y], ...], "keypoint_scores": [s, ...], "bbox": [[x1, y1,
x2, y2]], "bbox_score": s}`` (pixels).  For a video it writes one file,
``<video>.json``, holding ``[{"frame_id": i, "instances": [...]}, ...]``; for
images one file per image, ``<image>.json``, holding the instance list (so a
folder of them is one input).

Rows get ids ``frame_id`` (video) or ``image`` (the file's stem), then
``person`` (the instance's index in its frame) and ``bbox_score`` when the
instances have one.  A frame or image without instances gives one row with
status ``no_person``.  17 keypoints are COCO's (MMPose's body models);
Halpe-26 and COCO-WholeBody-133 predictions start with the same 17 COCO
keypoints, which are read (the feet, face and hands are not used); other
counts need ``--format``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..skeletons import SKELETONS, get_skeleton
from .jsonfile import json_numbers, load_json
from .table import KeypointFormatError, KeypointTable, check_values

__all__ = ["mmpose_kind", "iter_mmpose", "mmpose_files"]

#: Keypoint counts of MMPose models whose first 17 keypoints are COCO's.
_COCO_PREFIXED = {26: "Halpe-26", 133: "COCO-WholeBody"}


def mmpose_kind(document):
    """``"video"``, ``"image"`` or None for a loaded JSON document."""
    if not isinstance(document, list) or not document:
        return None
    head = [entry for entry in document[:20] if isinstance(entry, dict)]
    if not head:
        return None
    if all("instances" in e and "frame_id" in e for e in head):
        return "video"
    if all("keypoints" in e and "keypoint_scores" in e for e in head):
        return "image"
    return None


def mmpose_files(path):
    """The prediction files of ``path`` (one file, or a folder of per-image files), sorted by name."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
    if not files:
        raise KeypointFormatError(f"{path}: no .json files; expected MMPose predictions (pred_out_dir)")
    return files


def _load(file):
    return load_json(file)


def _skeleton(n_keypoints, format, source):
    if format is not None:
        skeleton = get_skeleton(format)
        if skeleton.n_joints == n_keypoints:
            return skeleton, None
        if skeleton.name == "coco17" and n_keypoints in _COCO_PREFIXED:
            return skeleton, _prefix_note(n_keypoints, source)
        raise KeypointFormatError(f"{source}: the instances have {n_keypoints} keypoints but format "
                                  f"{skeleton.name} has {skeleton.n_joints}")
    if n_keypoints == 17:
        return SKELETONS["coco17"], None
    if n_keypoints in _COCO_PREFIXED:
        return SKELETONS["coco17"], _prefix_note(n_keypoints, source)
    fits = [s.name for s in SKELETONS.values() if s.n_joints == n_keypoints]
    hint = f"; pass --format {fits[0]} if that is the model's order" if fits else ""
    raise KeypointFormatError(f"{source}: the instances have {n_keypoints} keypoints; MMPose models with 17 "
                              f"(COCO), 26 (Halpe) or 133 (COCO-WholeBody) keypoints are recognised{hint}")


def _prefix_note(n_keypoints, source):
    return (f"{source}: {n_keypoints} keypoints per instance ({_COCO_PREFIXED[n_keypoints]}); the first 17 are "
            "COCO's body keypoints and are read, the others are not used")


def _first_keypoints(frames):
    for _, instances in frames:
        for instance in instances:
            if isinstance(instance, dict) and "keypoints" in instance:
                try:
                    return json_numbers(instance["keypoints"])
                except (TypeError, ValueError):
                    continue
    return None


def iter_mmpose(path, format=None, chunk_rows=10_000):
    """Yield :class:`~.table.KeypointTable` chunks of MMPose predictions (a file or a folder)."""
    files = mmpose_files(path)
    frames, id_name, kinds = [], None, set()
    for file in files:
        document = _load(file)
        kind = mmpose_kind(document)
        if kind is None and document == [] and len(files) > 1:
            kind = "image"  # an image without people, in a folder of per-image predictions
        if kind is None:
            raise KeypointFormatError(f"{file}: not MMPose predictions; expected [{{frame_id, instances: [...]}}] "
                                      "(a video) or [{keypoints, keypoint_scores, bbox}, ...] (an image)")
        kinds.add(kind)
        if kind == "video":
            id_name = "frame_id"
            for entry in document:
                if not isinstance(entry, dict):
                    continue
                instances = entry.get("instances")
                frames.append((entry.get("frame_id"), instances if isinstance(instances, list) else []))
        else:
            id_name = "image"
            frames.append((file.stem, document))
    if len(kinds) > 1:
        raise KeypointFormatError(f"{path}: mixes video and image predictions; lift them separately")
    first = _first_keypoints(frames)
    if first is None:
        skeleton, note = (get_skeleton(format) if format is not None else SKELETONS["coco17"]), None
        expected = skeleton.n_joints
    else:
        if first.ndim != 2 or first.shape[1] not in (2, 3):
            raise KeypointFormatError(f"{path}: 'keypoints' must be [[x, y], ...]; got shape {first.shape}")
        if first.shape[1] == 3:
            raise KeypointFormatError(f"{path}: the keypoints have three coordinates (x, y, z): these are MMPose's "
                                      "3D (pose3d) predictions, already lifted; lift its 2D (pose2d) predictions")
        skeleton, note = _skeleton(first.shape[0], format, str(path))
        expected = first.shape[0]
    with_bbox_score = any(isinstance(i, dict) and "bbox_score" in i for _, inst in frames[:200] for i in inst)

    rows = []
    for frame_key, instances in frames:
        if not instances:
            rows.append((frame_key, 0, None))
        for person, instance in enumerate(instances):
            rows.append((frame_key, person, instance))
    p = skeleton.n_joints
    for start in range(0, len(rows), chunk_rows):
        block = rows[start:start + chunk_rows]
        n = len(block)
        keypoints = np.full((n, p, 2), np.nan)
        scores = np.zeros((n, p))
        problems = np.full(n, "", dtype=object)
        no_person = np.zeros(n, dtype=bool)
        ids = {id_name: [], "person": []}
        if with_bbox_score:
            ids["bbox_score"] = []
        for r, (frame_key, person, instance) in enumerate(block):
            ids[id_name].append(frame_key)
            ids["person"].append(person)
            where = f"{id_name}={frame_key}, person {person}"
            if with_bbox_score:
                value = instance.get("bbox_score") if isinstance(instance, dict) else None
                ids["bbox_score"].append(_number(value))
            if instance is None:
                no_person[r] = True
                continue
            try:
                xy = json_numbers(instance["keypoints"])
                if xy.ndim != 2 or xy.shape[1] != 2:
                    raise ValueError(f"shape {xy.shape}, expected ({expected}, 2)")
                if "keypoint_scores" in instance:
                    sc = json_numbers(instance["keypoint_scores"]).ravel()
                    if sc.size != xy.shape[0]:
                        raise ValueError(f"{sc.size} keypoint_scores for {xy.shape[0]} keypoints")
                else:
                    sc = np.ones(xy.shape[0])
            except (KeyError, TypeError, ValueError) as exc:
                problems[r] = f"{where}: bad 'keypoints' ({exc})"
                continue
            if xy.shape[0] != expected:
                problems[r] = f"{where}: {xy.shape[0]} keypoints, but the first instance has {expected}"
                continue
            keypoints[r], scores[r] = xy[:p], sc[:p]
        check_values(keypoints, scores, problems, lambda r, b=block: f"{id_name}={b[r][0]}, person {b[r][1]}",
                     lambda j, a: f"{skeleton.joints[j]} {('x', 'y', 'score')[a]}")
        table = KeypointTable(keypoints, scores, pd.DataFrame(ids), skeleton, problems, str(path), "mmpose-json",
                              line_numbers=np.arange(start, start + n), line_label="instance",
                              no_person=no_person)
        if start == 0 and note:
            table.notes.append(note)
        yield table


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan
