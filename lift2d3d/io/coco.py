"""COCO keypoint JSON: detection results or ground-truth annotations.

Results files (MMPose, Detectron2, ``pycocotools``) are a list of
``{"image_id", "category_id", "keypoints": [x, y, v] * 17, "score"}``; the
``v`` values are confidences.  Annotation files are a dict with an
``"annotations"`` list of the same entries, where ``v`` is a visibility flag
(0 = not labelled, 1 = labelled but hidden, 2 = visible), so any ``v > 0``
counts as a full-weight keypoint.  Rows get ids ``image_id`` and ``person``
(the index among that image's entries), plus ``detection_score`` when given.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from ..skeletons import SKELETONS, get_skeleton
from .jsonfile import json_numbers, load_json
from .table import KeypointFormatError, KeypointTable, check_values

__all__ = ["read_coco_json", "iter_coco_json", "coco_entries"]


def coco_entries(document, source="input"):
    """``(entries, is_annotation_file)`` of a loaded COCO JSON document."""
    if isinstance(document, dict) and isinstance(document.get("annotations"), list):
        return document["annotations"], True
    if isinstance(document, list) and all(isinstance(e, dict) for e in document[:100]):
        if document and not any("keypoints" in e for e in document[:100]):
            raise KeypointFormatError(f"{source}: a JSON list without 'keypoints' entries; expected COCO "
                                      "keypoint results [{image_id, keypoints: [x, y, v, ...]}, ...]")
        return document, False
    raise KeypointFormatError(f"{source}: not COCO keypoint JSON (expected a list of results or a dict "
                              "with 'annotations')")


def read_coco_json(path, format=None) -> KeypointTable:
    """Read a COCO keypoint results/annotations file into one :class:`KeypointTable`."""
    document = load_json(path)
    return table_from_coco(document, format=format, source=str(path))


def table_from_coco(document, format=None, source="input") -> KeypointTable:
    entries, annotations = coco_entries(document, source)
    if not entries:
        raise KeypointFormatError(f"{source}: holds no keypoint entries")
    skeleton = get_skeleton(format) if format is not None else SKELETONS["coco17"]
    n, p = len(entries), skeleton.n_joints
    keypoints = np.full((n, p, 2), np.nan)
    scores = np.zeros((n, p))
    problems = np.full(n, "", dtype=object)
    ids, counter = [], {}
    with_score = any(isinstance(e, dict) and "score" in e for e in entries[:100])
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        image = entry.get("image_id")
        key = image if isinstance(image, (int, str, float)) else str(image)
        person = counter.get(key, 0)
        counter[key] = person + 1
        row = {"image_id": image, "person": person}
        if with_score:
            row["detection_score"] = entry.get("score")
        ids.append(row)
        try:
            flat = json_numbers(entry["keypoints"]).ravel()
            if flat.size != 3 * p:
                hint = "" if format is not None else " (pass --format for another skeleton)"
                raise ValueError(f"{flat.size} numbers, expected {3 * p} for {skeleton.name}{hint}")
        except (KeyError, TypeError, ValueError) as exc:
            problems[i] = f"entry {i} (image_id={image}): bad 'keypoints' ({exc})"
            continue
        triples = flat.reshape(p, 3)
        keypoints[i] = triples[:, :2]
        scores[i] = (triples[:, 2] > 0).astype(float) if annotations else triples[:, 2]
    # COCO marks an unlabelled joint as (0, 0, 0): check_values makes a zero confidence missing
    check_values(keypoints, scores, problems, lambda r: f"entry {r} (image_id={ids[r]['image_id']})",
                 lambda j, a: f"{skeleton.joints[j]} {'xyv'[a]}")
    return KeypointTable(keypoints, scores, pd.DataFrame(ids), skeleton, problems, source, "coco-json",
                         line_label="entry")


def iter_coco_json(path, format=None, chunk_rows=10_000):
    """Chunks of a COCO JSON file (the file itself is parsed at once)."""
    table = read_coco_json(path, format=format)
    table.line_numbers = np.arange(len(table))
    for start in range(0, len(table), chunk_rows):
        yield table.take(slice(start, start + chunk_rows))
