"""OpenPose JSON output: a folder of ``<video>_<frame>_keypoints.json`` files.

Each file holds ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...]}, ...]}``;
every person becomes a row with ids ``video``, ``frame`` and ``person``
(the index in the file).  OpenPose writes ``0, 0, 0`` for an undetected
joint, so confidence 0 means missing.  A corrupt file becomes a row with
its reason instead of stopping the batch; a file with ``"people": []`` (nobody
detected) becomes one row, ``person`` 0, with status ``no_person``, so that
every frame of the video has a row in the output.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..skeletons import SKELETONS, get_skeleton
from .jsonfile import json_numbers, load_json
from .table import KeypointFormatError, KeypointTable, check_values

__all__ = ["iter_openpose", "openpose_files"]

_FRAME = re.compile(r"^(?P<video>.*?)_?(?P<frame>\d+)(?:_keypoints)?$")


def openpose_files(path):
    """The JSON files of an OpenPose output folder (or the one file), in frame order."""
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.iterdir() if p.suffix.lower() == ".json"]
    if not files:
        raise KeypointFormatError(f"{path}: no .json files; expected OpenPose output "
                                  "(<video>_000000000000_keypoints.json per frame)")

    def key(p):
        match = _FRAME.match(p.stem)
        return (match["video"], int(match["frame"]), p.name) if match else (p.stem, -1, p.name)
    return sorted(files, key=key)


def _skeleton_for(length, format, where):
    if length % 3:
        raise ValueError(f"{where}: pose_keypoints_2d has {length} numbers, not a multiple of 3 (x, y, c)")
    joints = length // 3
    if format is not None:
        skeleton = get_skeleton(format)
        if skeleton.n_joints != joints:
            raise ValueError(f"{where}: {joints} joints per person but format {skeleton.name} has "
                             f"{skeleton.n_joints}")
        return skeleton
    if joints == 25:
        return SKELETONS["openpose25"]
    hint = " (OpenPose's COCO-18 model; run OpenPose with --model_pose BODY_25)" if joints == 18 else ""
    raise ValueError(f"{where}: {joints} joints per person{hint}; only BODY_25 (25 joints) is recognised "
                     "without --format")


def iter_openpose(path, format=None, chunk_rows=10_000):
    """Yield :class:`KeypointTable` chunks of an OpenPose JSON folder."""
    files = openpose_files(path)
    skeleton = get_skeleton(format) if format is not None else SKELETONS["openpose25"]
    rows, keypoints, problems, empty = [], [], [], []

    def flush():
        n = len(rows)
        kp = np.full((n, skeleton.n_joints, 3), np.nan)
        for i, flat in enumerate(keypoints):
            if flat is not None:
                kp[i] = flat
        probs = np.array(problems, dtype=object)
        scores = kp[:, :, 2].copy()
        xy = kp[:, :, :2].copy()
        names = [r["_file"] for r in rows]
        check_values(xy, scores, probs, lambda r: f"file {names[r]}",
                     lambda j, a: f"{skeleton.joints[j]} {'xyc'[a]}")
        ids = pd.DataFrame([{k: v for k, v in r.items() if k != "_file"} for r in rows],
                           columns=["video", "frame", "person"])
        return KeypointTable(xy, scores, ids, skeleton, probs, str(path), "openpose-json",
                             no_person=np.array(empty, dtype=bool))

    for file in files:
        match = _FRAME.match(file.stem)
        video, frame = (match["video"], int(match["frame"])) if match else (file.stem, 0)
        try:
            people = load_json(file)["people"]
            if not isinstance(people, list):
                raise ValueError("'people' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            rows.append({"video": video, "frame": frame, "person": 0, "_file": file.name})
            keypoints.append(None)
            problems.append(f"file {file.name}: not OpenPose JSON ({type(exc).__name__}: {exc})")
            empty.append(False)
            continue
        if not people:
            # a frame in which OpenPose found nobody keeps its row (status no_person)
            rows.append({"video": video, "frame": frame, "person": 0, "_file": file.name})
            keypoints.append(None)
            problems.append("")
            empty.append(True)
        for person, entry in enumerate(people):
            rows.append({"video": video, "frame": frame, "person": person, "_file": file.name})
            empty.append(False)
            try:
                flat = json_numbers(entry["pose_keypoints_2d"]).ravel()
                where = f"file {file.name}, person {person}"
                if format is None and skeleton.n_joints * 3 != flat.size:
                    _skeleton_for(flat.size, None, where)
                _skeleton_for(flat.size, skeleton.name, where)
                keypoints.append(flat.reshape(-1, 3))
                problems.append("")
            except (KeyError, TypeError, ValueError) as exc:
                keypoints.append(None)
                text = str(exc) if str(exc).startswith("file ") else f"bad pose_keypoints_2d ({exc})"
                problems.append(text if text.startswith("file ") else f"file {file.name}, person {person}: {text}")
        if len(rows) >= chunk_rows:
            yield flush()
            rows, keypoints, problems, empty = [], [], [], []
    if rows:
        yield flush()
