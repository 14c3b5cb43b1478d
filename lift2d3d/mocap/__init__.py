"""MoCap readers: every reader returns a :class:`MocapClip` of body15 joints in metres.

Readers
-------
read_bvh
    BVH takes of any rig (shipped maps for CMU conversions, Mixamo and the
    Bandai Namco dataset, or a user JSON/YAML map).
read_deepmimic, deepmimic_clips
    The DeepMimic humanoid clips that ship with pybullet.
read_joints
    3D joints from CSV (named columns) or NPZ files.
"""

from .bvh import BVHError, forward_kinematics, load_bvh, parse_bvh, read_bvh
from .clip import MocapClip
from .deepmimic import deepmimic_clips, read_deepmimic
from .joints import read_joints
from .rigs import RIGS, load_joint_map

__all__ = ["MocapClip", "BVHError", "parse_bvh", "load_bvh", "forward_kinematics", "read_bvh",
           "read_deepmimic", "deepmimic_clips", "read_joints", "RIGS", "load_joint_map"]
