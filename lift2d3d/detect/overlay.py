"""Pictures for ``lift2d3d run``: image + 2D skeleton | 3D camera view | 3D novel view.

Drawing itself is :func:`lift2d3d.viz.render_lift`; this module only pairs
the detected keypoints (mapped onto the lifter's skeleton) with the lifted
joints per frame and writes a PNG/JPEG or an MP4.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..io.writers import atomic_path
from ..mapping import map_keypoints


def _frame_arrays(table, lifted, lifter, row):
    coco = [c[:-2] for c in table.columns if c.endswith("_x")]
    kp = np.stack([table[[f"{j}_x", f"{j}_y"]].to_numpy(dtype=np.float64)[row] for j in coco])
    sc = np.array([float(table[f"{j}_score"].iat[row]) for j in coco])
    kp2, sc2 = map_keypoints(kp[None], sc[None], "coco17", lifter.skeleton)
    joints3d = np.stack([lifted[[f"{j}_x", f"{j}_y", f"{j}_z"]].to_numpy(dtype=np.float64)[row]
                         for j in lifter.joint_names])
    return kp2[0], sc2[0], joints3d


def write_overlay(path, table, lifted, lifter, images: dict, height: int = 480, fps: float = 30.0) -> bool:
    """Write the overlay picture(s); False when no frame has a lifted pose.

    Parameters
    ----------
    path : .png/.jpg (first lifted frame) or .mp4 (every frame in ``images``)
    table : wide keypoint table (coco17) from :func:`lift2d3d.detect.detect_keypoints`
    lifted : its lifted table (same rows)
    lifter : the Lifter used
    images : {(source, frame): BGR image}
    height : int, picture height in pixels (width is three times that)
    fps : float, frame rate of the MP4 (the input video's)
    """
    from ..viz import render_lift

    path = Path(path)
    ok = lifted["status"].isin(["ok", "not_converged"]).to_numpy()
    rows = {}
    for r in range(len(table)):
        key = (table["source"].iat[r], int(table["frame"].iat[r]))
        if key in images and (key not in rows or ok[r]):
            rows[key] = r
    if not rows or not ok[list(rows.values())].any():
        return False

    def picture(key, r):
        rgb = cv2.cvtColor(images[key], cv2.COLOR_BGR2RGB) if images[key].ndim == 3 else images[key]
        kp, sc, joints3d = _frame_arrays(table, lifted, lifter, r)
        if not ok[r]:
            # Still show the frame (2D only) so the video keeps its timing.
            joints3d = np.full_like(joints3d, np.nan)
        return render_lift(rgb, kp, joints3d, skeleton=lifter.skeleton, scores=sc, score_threshold=0.3,
                           height=height)

    if path.suffix.lower() == ".mp4":
        keys = sorted(rows)
        with atomic_path(path) as tmp:
            writer = None
            try:
                for key in keys:
                    frame = picture(key, rows[key])
                    if writer is None:
                        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                                 (frame.shape[1], frame.shape[0]))
                        if not writer.isOpened():
                            raise OSError(f"{path}: OpenCV cannot write MP4 here")
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            finally:
                if writer is not None:
                    writer.release()
        return True
    key = next(k for k in sorted(rows) if ok[rows[k]])
    frame = picture(key, rows[key])
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not write the picture")
    return True
