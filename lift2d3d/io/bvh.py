"""BVH writer: one person's clip in the world frame as a skeleton and its motion, for Blender and game engines.

The skeleton is :data:`lift2d3d.kinematics.RIG` (a T-pose facing +Z, Y up,
the character's left along +X: the rest pose Blender's importer and
retargeting tools expect), its joints named after one of two conventions
(``rig``):

``cmu`` (default)
    The names of the CMU MoCap BVH conversions and MotionBuilder:
    ``Hips``, ``Spine``, ``Neck``, ``Head``, ``LeftShoulder`` (clavicle),
    ``LeftArm``, ``LeftForeArm``, ``LeftHand``, ``LeftUpLeg``, ``LeftLeg``,
    ``LeftFoot`` and the ``Right`` ones.  Blender's BVH importer and
    Rokoko / Auto-Rig Pro / Unity Humanoid / MotionBuilder's
    characterisation map these names by themselves.
``mixamo``
    The same joints with Mixamo's ``mixamorig:`` prefix, for tools with a
    Mixamo preset (Unreal's IK Retargeter, Mixamo converters).

Channels: the root ``Xposition Yposition Zposition Zrotation Xrotation
Yrotation``, every other joint ``Zrotation Xrotation Yrotation`` (Euler
angles in degrees, ``R = Rz Rx Ry``, MotionBuilder's order); positions in
metres (``units="m"``, Blender at scale 1) or centimetres (``"cm"``, the unit
of most BVH files and of Unreal/MotionBuilder).  ``Frame Time`` is
``1 / fps``.  lift2d3d's own reader (:func:`lift2d3d.mocap.read_bvh`, rig
``cmu``) reads the file back to the same body15 joints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..kinematics import RIG, RIG_JOINT_NAMES, RigMotion, euler_angles, fit_rig
from .writers import atomic_path

__all__ = ["BVH_RIGS", "BVH_UNITS", "bvh_joint_names", "write_bvh", "bvh_text"]

#: Metres -> file units.
BVH_UNITS = {"m": 1.0, "cm": 100.0}
#: The rig conventions and the prefix of their joint names.
BVH_RIGS = {"cmu": "", "mixamo": "mixamorig:"}
_ROOT_CHANNELS = "Xposition Yposition Zposition Zrotation Xrotation Yrotation"
_CHANNELS = "Zrotation Xrotation Yrotation"


def bvh_joint_names(rig: str = "cmu") -> tuple:
    """The rig's joint names in :data:`lift2d3d.kinematics.RIG` order (``left_fore_arm`` -> ``LeftForeArm``)."""
    if rig not in BVH_RIGS:
        raise ValueError(f"unknown BVH rig {rig!r}; choose one of {', '.join(BVH_RIGS)}")
    return tuple(BVH_RIGS[rig] + "".join(part.capitalize() for part in name.split("_")) for name in RIG_JOINT_NAMES)


def _number(value) -> str:
    text = f"{value:.6f}"
    return "0.000000" if text == "-0.000000" else text


def bvh_text(motion: RigMotion, fps: float, rig: str = "cmu", units: str = "m") -> str:
    """The BVH file of a fitted rig (see the module docstring)."""
    if units not in BVH_UNITS:
        raise ValueError(f"unknown BVH units {units!r}; choose one of {', '.join(BVH_UNITS)}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"the frame rate must be a positive number; got {fps!r}")
    names = bvh_joint_names(rig)
    scale = BVH_UNITS[units]
    children = {k: [c for c, j in enumerate(RIG) if j.parent == k] for k in range(len(RIG))}
    lines = ["HIERARCHY"]

    def joint(k, depth):
        pad = "\t" * depth
        keyword = "ROOT" if RIG[k].parent < 0 else "JOINT"
        lines.append(f"{pad}{keyword} {names[k]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET " + " ".join(_number(v) for v in motion.offsets[k] * scale))
        channels = _ROOT_CHANNELS if RIG[k].parent < 0 else _CHANNELS
        lines.append(f"{pad}\tCHANNELS {len(channels.split())} {channels}")
        for child in children[k]:
            joint(child, depth + 1)
        if not children[k]:
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET " + " ".join(_number(v) for v in motion.end_sites[k] * scale))
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    joint(0, 0)
    order = []

    def visit(k):
        order.append(k)
        for child in children[k]:
            visit(child)

    visit(0)
    n = len(motion.root)
    angles = euler_angles(motion.rotations[:, order], "ZXY")         # (N, J, 3): z, x, y
    values = np.concatenate([motion.root * scale, angles.reshape(n, -1)], axis=1)
    lines += ["MOTION", f"Frames: {n}", f"Frame Time: {1.0 / float(fps):.8f}"]
    fmt = " ".join(["%.6f"] * values.shape[1])
    lines += [(fmt % tuple(row)).replace("-0.000000", "0.000000") for row in values.tolist()]
    return "\n".join(lines) + "\n"


def write_bvh(path, joints3d, joint_names, fps: float, rig: str = "cmu", units: str = "m") -> RigMotion:
    """Fit the rig to a clip (:func:`lift2d3d.kinematics.fit_rig`) and write it as BVH (atomically).

    Parameters
    ----------
    path : str or Path
    joints3d : (N, P, 3) float, metres
        One person's clip in the world frame (Y up; :mod:`lift2d3d.world`), consecutive frames, every
        value finite.
    joint_names : sequence of str
        Must include body15's joints.
    fps : float
        Frames per second (``Frame Time = 1 / fps``).
    rig : {"cmu", "mixamo"}
    units : {"m", "cm"}

    Returns
    -------
    RigMotion
        What was written (bone lengths in ``lengths``).
    """
    if rig not in BVH_RIGS:
        raise ValueError(f"unknown BVH rig {rig!r}; choose one of {', '.join(BVH_RIGS)}")
    if units not in BVH_UNITS:
        raise ValueError(f"unknown BVH units {units!r}; choose one of {', '.join(BVH_UNITS)}")
    motion = fit_rig(joints3d, joint_names)
    text = bvh_text(motion, fps, rig, units)
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return motion
