"""Joint sets (skeletons) and the edges that draw them.

A :class:`Skeleton` is an ordered list of joint names plus the bones that
connect them.  ``body15`` is the canonical skeleton of the shipped shape
bases: the pelvis, neck and head, then the twelve limb joints under their
COCO names.  Other formats (``coco17``, ``h36m17``, ...) and their mappings
onto a bases' skeleton live beside it in the registry, so that readers,
the lifter and the pictures all agree on one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Skeleton", "SKELETONS", "get_skeleton", "register_skeleton", "BODY15", "LIMB_JOINTS"]


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


SKELETONS: dict = {}


def register_skeleton(skeleton: Skeleton) -> Skeleton:
    """Add ``skeleton`` to the registry (replacing one of the same name)."""
    SKELETONS[skeleton.name] = skeleton
    return skeleton


def get_skeleton(name) -> Skeleton:
    """Look a skeleton up by name; a :class:`Skeleton` passes through."""
    if isinstance(name, Skeleton):
        return name
    try:
        return SKELETONS[name]
    except KeyError:
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
