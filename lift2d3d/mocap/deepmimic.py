"""The DeepMimic humanoid clips that ship with pybullet, as body15 joints.

``pip install pybullet`` installs 15 clips as
``pybullet_data/data/motions/humanoid3d_*.txt`` (JSON with ``Frames``).  A
frame is 44 numbers: duration (s), root position (m), root quaternion
(w, x, y, z), then the chest and neck quaternions, right hip quaternion,
right knee angle (rad), right ankle and right shoulder quaternions, right
elbow angle, and the same for the left side.  Each quaternion is the
joint's rotation in its parent's frame.  The joint offsets come from
``pybullet_data/humanoid/humanoid.urdf`` (y up, x forward, the right side at
+z; knees and elbows revolute about z; wrists fixed at the end of the
forearm), drawn at the ``globalScaling`` of 0.25 that DeepMimic uses.

Joint definitions (body15): the limb joints are the URDF joint origins
(``*_shoulder``, ``*_elbow``, ``*_wrist``, ``*_hip``, ``*_knee``,
``*_ankle``); pelvis and neck are the midpoints of the hips and shoulders;
the head is the centre of the ``neck`` link's sphere (the skull), 0.175 m
above the neck joint along the neck link's y axis.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .clip import MocapClip, assemble_body15

__all__ = ["read_deepmimic", "deepmimic_clips", "deepmimic_data_dir", "urdf_offsets", "DEEPMIMIC_SCALE"]

#: URDF units to metres (DeepMimic loads humanoid.urdf with globalScaling=0.25).
DEEPMIMIC_SCALE = 0.25

_FRAME_LENGTH = 44
# Column of each joint's first value in a frame, and whether it is a quaternion (4) or an angle (1).
_LAYOUT = {"root_position": (1, 3), "root": (4, 4), "chest": (8, 4), "neck": (12, 4),
           "right_hip": (16, 4), "right_knee": (20, 1), "right_ankle": (21, 4),
           "right_shoulder": (25, 4), "right_elbow": (29, 1),
           "left_hip": (30, 4), "left_knee": (34, 1), "left_ankle": (35, 4),
           "left_shoulder": (39, 4), "left_elbow": (43, 1)}


def deepmimic_data_dir() -> Path:
    """``pybullet_data``'s folder; pybullet is needed only to re-learn the bases."""
    try:
        import pybullet_data
    except ImportError:
        raise ImportError("the DeepMimic clips come with pybullet: pip install 'lift2d3d[learn]' "
                          "(or pip install pybullet)") from None
    return Path(pybullet_data.getDataPath())


def deepmimic_clips() -> list:
    """Paths of the 15 humanoid clips, sorted by name."""
    paths = sorted((deepmimic_data_dir() / "data" / "motions").glob("humanoid3d_*.txt"))
    if not paths:
        raise FileNotFoundError(f"no humanoid3d_*.txt clips under {deepmimic_data_dir()}/data/motions")
    return paths


def urdf_offsets(urdf_path=None) -> dict:
    """Joint origins (metres, parent frame) and the head-sphere centre from humanoid.urdf.

    Returns
    -------
    dict of str -> (3,) float
        One entry per URDF joint name, plus ``"head"`` (the neck link's
        collision sphere centre in the neck joint's frame).
    """
    path = Path(urdf_path) if urdf_path else deepmimic_data_dir() / "humanoid" / "humanoid.urdf"
    # pybullet's copy ends in a NUL byte, which XML parsers reject.
    root = ET.fromstring(path.read_bytes().rstrip(b"\x00 \t\r\n"))
    offsets = {}
    for joint in root.iter("joint"):
        origin = joint.find("origin")
        xyz = origin.get("xyz") if origin is not None else "0 0 0"
        offsets[joint.get("name")] = np.array([float(v) for v in xyz.split()]) * DEEPMIMIC_SCALE
    for link in root.iter("link"):
        if link.get("name") == "neck":
            origin = link.find("collision/origin")
            offsets["head"] = np.array([float(v) for v in origin.get("xyz").split()]) * DEEPMIMIC_SCALE
    return offsets


def _quaternion_matrices(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) from quaternions (n, 4) in w, x, y, z order (normalised here)."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def _z_rotations(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, -s, s, c, 1.0
    return out


def deepmimic_fk(frames: np.ndarray, offsets: dict) -> np.ndarray:
    """body15 joints (n_frames, 15, 3), metres, y up, from DeepMimic frames (n_frames, 44)."""
    def block(name):
        start, size = _LAYOUT[name]
        return frames[:, start:start + size]

    def apply(rotation, vector):
        return np.einsum("nij,j->ni", rotation, vector)

    root_position = block("root_position")
    root = _quaternion_matrices(block("root"))
    chest_position = root_position + apply(root, offsets["chest"])
    chest = root @ _quaternion_matrices(block("chest"))
    neck_position = chest_position + apply(chest, offsets["neck"])
    neck = chest @ _quaternion_matrices(block("neck"))
    head = neck_position + apply(neck, offsets["head"])
    limbs = {}
    for side in ("left", "right"):
        hip_position = root_position + apply(root, offsets[f"{side}_hip"])
        hip = root @ _quaternion_matrices(block(f"{side}_hip"))
        knee_position = hip_position + apply(hip, offsets[f"{side}_knee"])
        knee = hip @ _z_rotations(block(f"{side}_knee")[:, 0])
        ankle_position = knee_position + apply(knee, offsets[f"{side}_ankle"])
        shoulder_position = chest_position + apply(chest, offsets[f"{side}_shoulder"])
        shoulder = chest @ _quaternion_matrices(block(f"{side}_shoulder"))
        elbow_position = shoulder_position + apply(shoulder, offsets[f"{side}_elbow"])
        elbow = shoulder @ _z_rotations(block(f"{side}_elbow")[:, 0])
        wrist_position = elbow_position + apply(elbow, offsets[f"{side}_wrist"])
        limbs.update({f"{side}_shoulder": shoulder_position, f"{side}_elbow": elbow_position,
                      f"{side}_wrist": wrist_position, f"{side}_hip": hip_position,
                      f"{side}_knee": knee_position, f"{side}_ankle": ankle_position})
    return assemble_body15(limbs, head)


def read_deepmimic(path, urdf_path=None) -> MocapClip:
    """Read one DeepMimic clip (``humanoid3d_*.txt``) as body15 joints.

    Parameters
    ----------
    path : str or Path
        Clip file.
    urdf_path : str or Path, optional
        The humanoid URDF (default: pybullet's ``humanoid/humanoid.urdf``).

    Returns
    -------
    MocapClip
        (n_frames, 15, 3) metres, y up.  Frames with a non-finite value
        are kept as NaN (the learner skips and counts them).
    """
    path = Path(path)
    try:
        clip = json.loads(path.read_text(encoding="utf-8"))
        frames = clip["Frames"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a DeepMimic motion file (JSON with 'Frames'): {exc}") from None
    rows = []
    for k, frame in enumerate(frames):
        if len(frame) != _FRAME_LENGTH:
            raise ValueError(f"{path}: frame {k} has {len(frame)} values; a humanoid3d frame has {_FRAME_LENGTH}")
        rows.append(frame)
    frames = np.array(rows, dtype=np.float64).reshape(-1, _FRAME_LENGTH)
    joints3d = deepmimic_fk(frames, urdf_offsets(urdf_path))
    bad = ~np.all(np.isfinite(frames), axis=1)
    joints3d[bad] = np.nan
    duration = float(np.median(frames[:, 0])) if len(frames) else float("nan")
    return MocapClip(joints3d=joints3d, up=np.array([0.0, 1.0, 0.0]),
                     fps=1.0 / duration if duration > 0 else float("nan"), source=path.name)
