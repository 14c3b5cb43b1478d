"""MoCap readers: every reader returns a :class:`MocapClip` of body15 joints in metres.

Readers
-------
read_asf_amc
    Acclaim ASF/AMC takes (CMU's native format; HDM05 and Vicon exports).
read_bvh
    BVH takes of any rig (shipped maps for CMU conversions, cgspeed's
    Daz-friendly CMU BVH, Mixamo and the Bandai Namco dataset, or a user
    JSON/YAML map).
read_deepmimic, deepmimic_clips
    The DeepMimic humanoid clips that ship with pybullet, and clips
    retargeted onto that humanoid.
read_joints
    3D joints from CSV (named columns) or NPZ files.
read_corpus, find_takes
    A corpus of mixed formats in folders: performer per take, resampling,
    near-duplicate thinning and a per-file report with SHA-256.
"""

from .acclaim import AcclaimError, find_asf, load_amc, load_asf, parse_amc, parse_asf, read_asf_amc
from .bvh import BVHError, forward_kinematics, load_bvh, parse_bvh, read_bvh
from .clip import MocapClip
from .corpus import Corpus, Take, TakeFile, find_takes, read_corpus
from .deepmimic import deepmimic_clips, read_deepmimic
from .joints import read_joints
from .rigs import RIGS, load_joint_map

__all__ = ["MocapClip", "BVHError", "parse_bvh", "load_bvh", "forward_kinematics", "read_bvh",
           "AcclaimError", "parse_asf", "load_asf", "parse_amc", "load_amc", "find_asf", "read_asf_amc",
           "read_deepmimic", "deepmimic_clips", "read_joints", "RIGS", "load_joint_map",
           "Corpus", "Take", "TakeFile", "find_takes", "read_corpus"]
