"""The common output of every MoCap reader: named body15 joints in metres."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeletons import BODY15, Skeleton

__all__ = ["MocapClip", "assemble_body15", "UNIT_SCALES"]

#: Metres per file unit for the unit names the readers accept.
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "in": 0.0254, "dm": 0.1}


@dataclass(frozen=True, eq=False)
class MocapClip:
    """A take mapped onto a canonical skeleton.

    Attributes
    ----------
    joints3d : (n_frames, n_joints, 3) float, metres
        World positions in the source's axes; frames that could not be read
        hold NaN (see ``n_invalid``).
    skeleton : Skeleton
        ``body15`` for every shipped reader.
    up : (3,) float
        Unit vector of the source's vertical axis (``(0, 1, 0)`` for y-up).
    fps : float
        Frames per second (NaN when unknown).
    source : str
        Where the clip came from (file name, clip name).
    """

    joints3d: np.ndarray
    skeleton: Skeleton = BODY15
    up: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0, 0.0]))
    fps: float = float("nan")
    source: str = ""

    def __len__(self) -> int:
        return self.joints3d.shape[0]

    @property
    def valid(self) -> np.ndarray:
        """(n_frames,) bool: frames whose joints are all finite."""
        return np.all(np.isfinite(self.joints3d), axis=(1, 2))

    @property
    def n_invalid(self) -> int:
        """Number of frames with a NaN or inf joint (skipped by the learner)."""
        return int(np.count_nonzero(~self.valid))


def assemble_body15(limbs: dict, head: np.ndarray) -> np.ndarray:
    """Stack limb joints and head into body15 order, deriving pelvis and neck.

    Parameters
    ----------
    limbs : dict of str -> (n_frames, 3) float
        The 12 limb joints under their body15 names.
    head : (n_frames, 3) float
        Head centre.

    Returns
    -------
    (n_frames, 15, 3) float
        Pelvis = midpoint of the hip joints, neck = midpoint of the shoulder
        joints (the body15 definitions), so every reader agrees on them.
    """
    pelvis = 0.5 * (limbs["left_hip"] + limbs["right_hip"])
    neck = 0.5 * (limbs["left_shoulder"] + limbs["right_shoulder"])
    named = dict(limbs, pelvis=pelvis, neck=neck, head=head)
    return np.stack([named[name] for name in BODY15.joints], axis=1)
