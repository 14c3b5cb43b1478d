"""Pictures for ``lift2d3d run``: image + 2D skeleton | 3D camera view | 3D novel view.

Drawing itself is :func:`lift2d3d.viz.render_lift`; this module pairs the
detected keypoints (mapped onto the lifter's skeleton) with the lifted joints
of each frame and writes a PNG/JPEG or an MP4.  Frames are read a second
time from the input rather than kept from detection, so a long video never
sits in memory.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..io import atomic_path
from ..mapping import map_keypoints
from ..status import LIFTED
from .pose import as_bgr
from .sources import iter_media


def _frame_arrays(table, lifted, lifter, row):
    """2D keypoints and scores on the lifter's skeleton, and the 3D joints, of one table row."""
    coco = [c[:-2] for c in table.columns if c.endswith("_x")]
    kp = table[[f"{j}_{a}" for j in coco for a in "xy"]].iloc[row].to_numpy(dtype=np.float64).reshape(-1, 2)
    sc = table[[f"{j}_score" for j in coco]].iloc[row].to_numpy(dtype=np.float64)
    kp2, sc2 = map_keypoints(kp[None], sc[None], "coco17", lifter.skeleton)
    joints3d = lifted[[f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]].iloc[row]
    return kp2[0], sc2[0], joints3d.to_numpy(dtype=np.float64).reshape(-1, 3)


def write_overlay(path, source, table, lifted, lifter, height: int = 480, fps: float = 30.0) -> bool:
    """Write the overlay picture(s); False when no frame has a lifted pose.

    Parameters
    ----------
    path : str or Path
        ``.png``/``.jpg``: the first frame with a lifted pose; ``.mp4``: every
        frame (frames without a lift show the image alone).
    source : str or Path
        The image, video or folder that was detected (read again here).
    table : pandas.DataFrame
        Wide coco17 keypoint table from :func:`lift2d3d.detect.detect_keypoints`.
    lifted : pandas.DataFrame
        Its lifted table (same rows).
    lifter : Lifter
    height : int
        Picture height in pixels (the width is three times that).
    fps : float
        Frame rate of the MP4 (the input video's).
    """
    from ..viz import pose_limits, render_lift

    path = Path(path)
    ok = lifted["status"].isin(LIFTED).to_numpy()
    if not ok.any():
        return False
    # First person of each frame (the table has one row per frame and person).
    rows = {}
    for r in range(len(table)):
        rows.setdefault((str(table["source"].iat[r]), int(table["frame"].iat[r])), r)

    # One cube size for the whole video (each frame centred on its pose), so the
    # 3D panels do not zoom in and out from frame to frame.
    xyz = [f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]
    poses = lifted.loc[ok, xyz].to_numpy(dtype=np.float64).reshape(-1, len(lifter.joint_names), 3)
    half_width = max(pose_limits(pose)[1] for pose in poses)

    def picture(image, r):
        rgb = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2RGB)
        kp, sc, joints3d = _frame_arrays(table, lifted, lifter, r)
        return render_lift(rgb, kp, joints3d, skeleton=lifter.skeleton, scores=sc, score_threshold=0.3,
                           height=height, limits=(pose_limits(joints3d)[0], half_width))

    if path.suffix.lower() != ".mp4":
        for frame in iter_media(source):
            r = rows.get((frame.source, frame.index))
            if frame.image is not None and r is not None and ok[r]:
                with atomic_path(path) as tmp:
                    if not cv2.imwrite(str(tmp), cv2.cvtColor(picture(frame.image, r), cv2.COLOR_RGB2BGR)):
                        raise OSError(f"{path}: could not write the picture")
                return True
        return False

    with atomic_path(path) as tmp:
        writer = None
        try:
            for frame in iter_media(source):
                r = rows.get((frame.source, frame.index))
                if frame.image is None or r is None:
                    continue
                if not ok[r]:
                    rgb = cv2.cvtColor(as_bgr(frame.image), cv2.COLOR_BGR2RGB)
                    kp, sc, joints3d = _frame_arrays(table, lifted, lifter, r)
                    # 2D only: the video keeps its timing through frames without a lift.
                    image = render_lift(rgb, kp, np.full_like(joints3d, np.nan), skeleton=lifter.skeleton,
                                        scores=sc, score_threshold=0.3, height=height)
                else:
                    image = picture(frame.image, r)
                if writer is None:
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                             (image.shape[1], image.shape[0]))
                    if not writer.isOpened():
                        raise OSError(f"{path}: OpenCV cannot write MP4 here")
                writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        finally:
            if writer is not None:
                writer.release()
    return True
