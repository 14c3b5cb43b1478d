"""Write ``examples/sample_coco17.csv``: a synthetic COCO-17 keypoint CSV for the README's first command.

A person walks in place and slowly turns (240 frames at 30 fps).  The body is
the shipped bases' own mean pose (so bone lengths are the bases'), its limbs
swung by a simple walking cycle, seen by a weak-perspective camera (350 px
per metre, 1280x720 image) with 1.5 px of detector noise.  The face points
are placed around the bases' head joint (ears 7.5 cm either side, so the
head derived from them is the bases' head) and left empty in every fourth
frame, as a detector does when the face is turned away.  Scores are 0.5-1.

Deliberately bad rows, so that the output shows how each is reported:

=====  ============================================  ========================
frame  what is wrong                                 status in the output
=====  ============================================  ========================
50     ``left_wrist_x`` is ``n/a`` (not a number)     ``bad_input`` (line, column)
100    only 3 joints detected                        ``too_few_joints``
150    ``right_knee_y`` is 1e12 (absurd)               ``bad_input``
199    the frame appears twice                       ``bad_input`` (duplicate id)
=====  ============================================  ========================

Run ``python examples/make_sample_csv.py [--bases default|PATH] [-o PATH]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_FRAMES = 240
FPS = 30.0
PIXELS_PER_METRE = 350.0
IMAGE_CENTRE = np.array([640.0, 380.0])
NOISE_PX = 1.5
BAD_FRAMES = {50: "non-numeric", 100: "too few joints", 150: "absurd value", 199: "duplicate id"}


def _unit(v):
    return v / np.linalg.norm(v)


def body_frame(mean_pose, skeleton):
    """Orthonormal (left, up, forward) axes of the bases' mean pose, shape (3, 3) rows."""
    at = lambda name: mean_pose[:, skeleton.index(name)]  # noqa: E731
    up = _unit(at("neck") - at("pelvis"))
    left = at("left_shoulder") - at("right_shoulder") + at("left_hip") - at("right_hip")
    left = _unit(left - up * (left @ up))
    return np.stack([left, up, np.cross(left, up)])


def _rotate_about_left(points, origin, angle):
    """Rotate (n, 3) body-frame points (left, up, forward) about the left axis through ``origin``."""
    c, s = np.cos(angle), np.sin(angle)
    d = points - origin
    up = c * d[:, 1] - s * d[:, 2]
    forward = s * d[:, 1] + c * d[:, 2]
    return np.stack([d[:, 0], up, forward], axis=1) + origin


def walking_poses(mean_pose, skeleton, n=N_FRAMES):
    """(n, P, 3) body-frame poses (metres; left, up, forward), a walking cycle in place."""
    axes = body_frame(mean_pose, skeleton)
    rest = (mean_pose - mean_pose[:, [skeleton.index("pelvis")]]).T @ axes.T        # (P, 3)
    index = skeleton.index
    poses = []
    for t in np.arange(n) / FPS:
        phase = 2 * np.pi * 0.9 * t
        pose = rest.copy()
        for side, sign in (("left", 1.0), ("right", -1.0)):
            hip, knee, ankle = index(f"{side}_hip"), index(f"{side}_knee"), index(f"{side}_ankle")
            swing = 0.35 * sign * np.sin(phase)
            pose[[knee, ankle]] = _rotate_about_left(pose[[knee, ankle]], pose[hip], swing)
            bend = 0.5 * max(0.0, -sign * np.sin(phase + 0.6))
            pose[[ankle]] = _rotate_about_left(pose[[ankle]], pose[knee], -bend)
            shoulder, elbow, wrist = (index(f"{side}_shoulder"), index(f"{side}_elbow"), index(f"{side}_wrist"))
            arm = -0.3 * sign * np.sin(phase)
            pose[[elbow, wrist]] = _rotate_about_left(pose[[elbow, wrist]], pose[shoulder], arm)
            pose[[wrist]] = _rotate_about_left(pose[[wrist]], pose[elbow], 0.25 + 0.15 * np.sin(phase))
        poses.append(pose)
    return np.array(poses)


def coco17_rows(poses, skeleton, seed=0):
    """Project body-frame poses to a wide COCO-17 table (pixels) with face points around the head."""
    from lift2d3d.skeletons import get_skeleton

    coco = get_skeleton("coco17")
    rng = np.random.default_rng(seed)
    n = len(poses)
    heading = np.linspace(-0.6, 0.9, n)                   # the person turns about 85 degrees
    head = poses[:, skeleton.index("head")]
    face = {"left_ear": (0.075, 0.0, -0.01), "right_ear": (-0.075, 0.0, -0.01), "nose": (0.0, -0.04, 0.1),
            "left_eye": (0.032, 0.0, 0.085), "right_eye": (-0.032, 0.0, 0.085)}
    columns = {"video": np.full(n, "walk"), "frame": np.arange(n), "person": np.zeros(n, dtype=int)}
    for joint in coco.joints:
        if joint in face:
            points = head + np.array(face[joint])
        else:
            points = poses[:, skeleton.index(joint)]
        # camera: the person faces it at heading 0 (their left appears on the image's right)
        x = np.cos(heading) * points[:, 0] + np.sin(heading) * points[:, 2]
        pixels = np.stack([x, -points[:, 1]], axis=1) * PIXELS_PER_METRE + IMAGE_CENTRE
        pixels += rng.normal(scale=NOISE_PX, size=pixels.shape)
        score = rng.uniform(0.5, 1.0, size=n)
        if joint in face:
            hidden = np.arange(n) % 4 == 3
            pixels[hidden] = np.nan
            score[hidden] = 0.0
        columns[f"{joint}_x"] = np.round(pixels[:, 0], 2)
        columns[f"{joint}_y"] = np.round(pixels[:, 1], 2)
        columns[f"{joint}_score"] = np.round(score, 2)
    return pd.DataFrame(columns)


def add_bad_rows(frame):
    """Make the rows listed in BAD_FRAMES bad, each in its own way."""
    frame = frame.astype({"left_wrist_x": object})
    frame.loc[50, "left_wrist_x"] = "n/a"
    keep = {"left_shoulder", "right_shoulder", "left_hip"}
    for column in frame.columns:
        joint = column.rsplit("_", 1)[0]
        if column.endswith(("_x", "_y")) and joint not in keep:
            frame.loc[100, column] = np.nan
        elif column.endswith("_score") and joint not in keep:
            frame.loc[100, column] = 0.0
    frame.loc[150, "right_knee_y"] = 1e12
    duplicate = frame.loc[[199]]
    return pd.concat([frame.iloc[:200], duplicate, frame.iloc[200:]], ignore_index=True)


def make_sample(bases="default", seed=0) -> pd.DataFrame:
    """The sample table (with its bad rows) for ``bases`` (name, path or ShapeBases)."""
    from lift2d3d.bases import ShapeBases

    bases = ShapeBases.load(bases)
    poses = walking_poses(bases.mean_pose, bases.skeleton)
    return add_bad_rows(coco17_rows(poses, bases.skeleton, seed=seed))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", default="default", help="bases name or .npz path (default: %(default)s)")
    parser.add_argument("-o", "--output", default=str(HERE / "sample_coco17.csv"))
    args = parser.parse_args(argv)
    frame = make_sample(args.bases)
    frame.to_csv(args.output, index=False, float_format="%.2f")
    print(f"wrote {args.output}: {len(frame)} rows, {Path(args.output).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
