"""Joint sets (skeletons) and the edges that draw them.

A :class:`Skeleton` is an ordered list of joint names plus the bones that
connect them.  ``body15`` is the canonical skeleton of the shipped shape
bases: the pelvis, neck and head, then the twelve limb joints under their
COCO names.  Other formats (``coco17``, ``h36m17``, ...) and their mappings
onto a bases' skeleton live beside it in the registry, so that readers,
the lifter and the pictures all agree on one definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Skeleton", "SKELETONS", "SKELETON_ALIASES", "get_skeleton", "register_skeleton", "canonical_joint_name",
           "BODY15",
           "COCO17", "H36M17", "MPII16", "OPENPOSE25", "BLAZEPOSE33", "LIMB_JOINTS"]


@dataclass(frozen=True)
class Skeleton:
    """An ordered joint set with its bones.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"body15"``.
    joints : tuple of str
        Joint names in array order.
    edges : tuple of (str, str)
        Bones as pairs of joint names, parent first.
    description : str
        One line on where the joint set comes from.
    """

    name: str
    joints: tuple
    edges: tuple
    description: str = ""
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        index = {name: i for i, name in enumerate(self.joints)}
        if len(index) != len(self.joints):
            raise ValueError(f"skeleton {self.name!r} has duplicate joint names")
        for a, b in self.edges:
            if a not in index or b not in index:
                raise ValueError(f"skeleton {self.name!r}: edge ({a}, {b}) names an unknown joint")
        object.__setattr__(self, "_index", index)

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Position of ``joint`` in the array order (KeyError names the skeleton)."""
        try:
            return self._index[joint]
        except KeyError:
            raise KeyError(f"skeleton {self.name!r} has no joint {joint!r}; its joints are "
                           f"{', '.join(self.joints)}") from None

    def edge_indices(self) -> list:
        """Bones as pairs of array indices."""
        return [(self._index[a], self._index[b]) for a, b in self.edges]

    def side(self, joint: str) -> str:
        """``"left"``, ``"right"`` or ``"centre"``, from the joint's name."""
        if joint.startswith("left") or joint.startswith("l_"):
            return "left"
        if joint.startswith("right") or joint.startswith("r_"):
            return "right"
        return "centre"

    def edge_sides(self) -> list:
        """Side of each bone: a bone is left/right when its child joint is."""
        return [self.side(b) if self.side(b) != "centre" else self.side(a) for a, b in self.edges]

    def mirrored_bones(self) -> list:
        """Left bones and their right mirrors, as joint indices ``(a_left, b_left, a_right, b_right)``."""
        def mirror(joint):
            for left, right in (("left", "right"), ("l_", "r_")):
                if joint.startswith(left):
                    return right + joint[len(left):]
            return joint

        bones = {frozenset(edge): edge for edge in self.edges}
        pairs = []
        for a, b in self.edges:
            if "left" not in (self.side(a), self.side(b)) or "right" in (self.side(a), self.side(b)):
                continue
            other = bones.get(frozenset((mirror(a), mirror(b))))
            if other is not None:
                ra, rb = (mirror(a), mirror(b)) if other == (mirror(a), mirror(b)) else (mirror(b), mirror(a))
                pairs.append((self._index[a], self._index[b], self._index[ra], self._index[rb]))
        return pairs

    def mirror_permutation(self) -> list:
        """Index permutation that swaps left and right joints (for mirror augmentation)."""
        perm = []
        for name in self.joints:
            if name.startswith("left_"):
                twin = "right_" + name[5:]
            elif name.startswith("right_"):
                twin = "left_" + name[6:]
            else:
                twin = name
            perm.append(self._index.get(twin, self._index[name]))
        return perm


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def canonical_joint_name(name: str) -> str:
    """Canonical snake_case joint name: ``"LShoulder"`` -> ``"left_shoulder"``.

    Handles CamelCase (OpenPose), ``l_``/``r_`` prefixes (MPII tools), spaces,
    dashes and case, so that exports of common tools match the registry.
    """
    text = str(name).strip()
    text = _CAMEL.sub("_", text)
    text = re.sub(r"[\s\-\.]+", "_", text).lower()
    text = re.sub(r"_+", "_", text).strip("_")
    if text.startswith("l_"):
        text = "left_" + text[2:]
    elif text.startswith("r_"):
        text = "right_" + text[2:]
    return text


SKELETONS: dict = {}

#: Other names people use for the registered formats (alias -> registry name).
SKELETON_ALIASES = {
    "coco": "coco17", "mmpose": "coco17", "h36m": "h36m17", "human36m": "h36m17", "mpii": "mpii16",
    "openpose": "openpose25", "body25": "openpose25", "body_25": "openpose25",
    "blazepose": "blazepose33", "mediapipe": "blazepose33",
}


def register_skeleton(skeleton: Skeleton) -> Skeleton:
    """Add ``skeleton`` to the registry (replacing one of the same name)."""
    SKELETONS[skeleton.name] = skeleton
    return skeleton


def get_skeleton(name) -> Skeleton:
    """Look a skeleton up by name; a :class:`Skeleton` passes through."""
    if isinstance(name, Skeleton):
        return name
    try:
        return SKELETONS[SKELETON_ALIASES.get(name, name)]
    except (KeyError, TypeError):
        raise KeyError(f"unknown skeleton {name!r}; known skeletons: {', '.join(sorted(SKELETONS))}") from None


#: The twelve limb joints (COCO names) over which accuracy is reported.
LIMB_JOINTS = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

BODY15 = register_skeleton(Skeleton(
    name="body15",
    joints=("pelvis", "neck", "head") + LIMB_JOINTS,
    edges=(
        ("pelvis", "neck"), ("neck", "head"),
        ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("pelvis", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("pelvis", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ),
    description=("Canonical skeleton of the shipped bases: pelvis (mid-hips), neck (mid-shoulders), "
                 "head (top of the head region), and the 12 COCO limb joints."),
))


def _edges(joints, pairs):
    return tuple((joints[a], joints[b]) for a, b in pairs)


_COCO17_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = register_skeleton(Skeleton(
    name="coco17",
    joints=_COCO17_JOINTS,
    edges=_edges(_COCO17_JOINTS, (
        (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
        (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16))),
    description="COCO keypoints (17), as written by MMPose, Detectron2 and COCO results files.",
))

# Human3.6M's 17-joint subset of its 32-joint MoCap skeleton (the order used by
# VideoPose3D and most lifting papers).  "neck_nose" is the MoCap "Head" joint
# (top of the neck, which projects near the nose); "head_top" is the head end site.
_H36M17_JOINTS = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head_top",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)
H36M17 = register_skeleton(Skeleton(
    name="h36m17",
    joints=_H36M17_JOINTS,
    edges=_edges(_H36M17_JOINTS, (
        (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
        (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16))),
    description="Human3.6M 17 joints (VideoPose3D order): pelvis root, spine, thorax, neck/nose, head top.",
))

_MPII16_JOINTS = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "pelvis", "thorax", "upper_neck", "head_top",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)
MPII16 = register_skeleton(Skeleton(
    name="mpii16",
    joints=_MPII16_JOINTS,
    edges=_edges(_MPII16_JOINTS, (
        (6, 2), (2, 1), (1, 0), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
        (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15))),
    description="MPII Human Pose 16 joints (annotation ids 0-15).",
))

_OPENPOSE25_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
OPENPOSE25 = register_skeleton(Skeleton(
    name="openpose25",
    joints=_OPENPOSE25_JOINTS,
    edges=_edges(_OPENPOSE25_JOINTS, (
        (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
        (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18),
        (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24))),
    description="OpenPose BODY_25: COCO joints plus neck, mid-hip and six foot points.",
))

_BLAZEPOSE33_JOINTS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
BLAZEPOSE33 = register_skeleton(Skeleton(
    name="blazepose33",
    joints=_BLAZEPOSE33_JOINTS,
    edges=_edges(_BLAZEPOSE33_JOINTS, (
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
        (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
        (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
        (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
        (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32))),
    description="MediaPipe BlazePose 33 landmarks (MediaPipe Pose / PoseLandmarker order).",
))
