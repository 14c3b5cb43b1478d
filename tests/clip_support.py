"""A walking person with known floor and gravity, and the camera that sees them: the oracle of the world-frame,
BVH, TRC and viewer tests.

The walk is built from contacts, not from MoCap: each ankle is planted at step positions on the floor
(``ANKLE_Y`` above it) for the stance half of its cycle and swings to the next one on a raised arc; the
pelvis moves steadily forward at ``SPEED``, the knees bend forward of the hip-ankle line, the torso leans
forward by ``lean_deg``, and the arms swing.  World frame: metres, y up, the floor at y = 0, walking along +z.
"""

from __future__ import annotations

import numpy as np

from lift2d3d.evaluation import camera_rotations
from lift2d3d.skeletons import BODY15

ANKLE_Y = 0.08
SPEED = 1.0
STEP = 0.6
PELVIS_Y = 0.92


def walking_clip(n_frames=120, fps=30.0, lean_deg=0.0, rigid=False):
    """World joints (n_frames, 15, 3) of a walk (see the module docstring); ``rigid``: every frame redrawn with
    the first frame's bone lengths (the drawn knees and arms otherwise stretch a little)."""
    t = np.arange(n_frames) / fps
    period = 2 * STEP / SPEED                       # one left and one right step
    joints = {}
    pelvis = np.stack([np.zeros_like(t), PELVIS_Y + 0.02 * np.cos(4 * np.pi * t / period), SPEED * t], axis=1)
    lean = np.radians(lean_deg)
    up = np.array([0.0, np.cos(lean), np.sin(lean)])
    for side, sign, phase in (("left", 1.0, 0.0), ("right", -1.0, 0.5)):
        hip = pelvis + [sign * 0.1, 0.0, 0.0]
        # the foot's cycle: stance (planted) for half the period, swing for the other half
        u = (t / period + phase) % 1.0
        cycle = np.floor(t / period + phase)
        planted_at = (cycle * 2 + (1 if side == "right" else 0)) * STEP - STEP / 2
        swing = np.clip((u - 0.5) / 0.5, 0.0, 1.0)
        z = np.where(u < 0.5, planted_at, planted_at + 2 * STEP * (3 * swing ** 2 - 2 * swing ** 3))
        y = ANKLE_Y + np.where(u < 0.5, 0.0, 0.12 * np.sin(np.pi * swing))
        ankle = np.stack([np.full_like(t, sign * 0.11), y, z], axis=1)
        knee = 0.5 * (hip + ankle) + [0.0, 0.0, 0.06]
        swing_arm = 0.25 * np.sin(2 * np.pi * (t / period + phase))
        shoulder = pelvis + 0.52 * up + [sign * 0.19, 0.0, 0.0]
        elbow = shoulder + np.stack([np.zeros_like(t), -0.29 * np.cos(swing_arm), -0.29 * np.sin(swing_arm)], axis=1)
        wrist = elbow + np.stack([np.zeros_like(t), -0.25 * np.cos(swing_arm + 0.3),
                                  -0.25 * np.sin(swing_arm + 0.3)], axis=1)
        joints.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle, f"{side}_shoulder": shoulder,
                       f"{side}_elbow": elbow, f"{side}_wrist": wrist})
    joints["pelvis"] = 0.5 * (joints["left_hip"] + joints["right_hip"])
    joints["neck"] = 0.5 * (joints["left_shoulder"] + joints["right_shoulder"])
    joints["head"] = joints["neck"] + 0.2 * up
    world = np.stack([joints[j] for j in BODY15.joints], axis=1)
    if rigid:
        from lift2d3d.learn import redraw_with_lengths

        edges = np.array(BODY15.edge_indices())
        lengths = np.linalg.norm(world[0, edges[:, 0]] - world[0, edges[:, 1]], axis=-1)
        world = np.stack([redraw_with_lengths(p.T, lengths, BODY15).T for p in world])
    return world


def seen(world, azimuth=30.0, elevation=20.0, roll=5.0, distance=5.0, perspective=True, focal=1000.0,
         principal=(640.0, 360.0)):
    """The clip in a fixed camera's frame and its pixel keypoints; and the world's up in the camera's frame.

    The camera looks at the clip's mean pelvis from ``distance``; weak perspective scales by
    ``focal / distance``.
    """
    R = camera_rotations([[azimuth, elevation, roll]])[0]
    centre = world[:, 0].mean(axis=0)
    camera = np.einsum("ij,npj->npi", R, world - centre) + [0.0, 0.0, distance]
    if perspective:
        keypoints = focal * camera[..., :2] / camera[..., 2:] + principal
    else:
        keypoints = focal / distance * camera[..., :2] + principal
    return camera, keypoints, R @ np.array([0.0, 1.0, 0.0])


def wide_csv(path, keypoints, people=None, fps=None):
    """A wide keypoint CSV of one or several people's clips (``frame`` [, ``person``] ids)."""
    import pandas as pd

    clips = [keypoints] if people is None else keypoints
    rows = []
    for k, clip in enumerate(clips):
        for f, pose in enumerate(clip):
            row = {"frame": f}
            if people is not None:
                row["person"] = people[k]
            for j, name in enumerate(BODY15.joints):
                row[f"{name}_x"], row[f"{name}_y"] = pose[j]
            rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
