"""Shared helpers of the io/CLI tests: small real bases and synthetic keypoint files.

The tests must not need the shipped bases or any MoCap, so they build a real
:class:`ShapeBases` over ``body15`` from a hand-made standing pose plus a few
smooth deformation atoms, and make keypoints by projecting sparse
combinations of those atoms -- data the lifter can fit exactly.
"""

import numpy as np
import pandas as pd

from lift2d3d.bases import ShapeBases
from lift2d3d.skeletons import BODY15, get_skeleton

# A standing person (metres; x left-right, y down, z depth), body15 order.
STANDING = {
    "pelvis": (0, 0, 0), "neck": (0, -0.5, 0), "head": (0, -0.72, 0.02),
    "left_shoulder": (0.18, -0.5, 0), "right_shoulder": (-0.18, -0.5, 0),
    "left_elbow": (0.3, -0.26, 0.05), "right_elbow": (-0.3, -0.27, 0.05),
    "left_wrist": (0.33, -0.02, 0.1), "right_wrist": (-0.33, -0.03, 0.1),
    "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0),
    "left_knee": (0.11, 0.43, 0.02), "right_knee": (-0.11, 0.43, 0.02),
    "left_ankle": (0.12, 0.85, 0.0), "right_ankle": (-0.12, 0.85, 0.0),
}


def toy_bases(n_bases=6, seed=0) -> ShapeBases:
    """Real ShapeBases (metres) over body15: the standing pose and smooth limb deformations."""
    rng = np.random.default_rng(seed)
    mean = np.array([STANDING[j] for j in BODY15.joints], dtype=float).T
    atoms = [mean]
    # the limbs and the head deform; the shoulder and hip lines stay a person's (a deformed torso could
    # cross its shoulders, which the lifter's plausibility check rightly flags)
    moving = np.array([j.split("_")[-1] in ("elbow", "wrist", "knee", "ankle", "head") for j in BODY15.joints])
    for _ in range(n_bases - 1):
        atom = mean + rng.normal(scale=0.08, size=mean.shape) * moving
        atoms.append(atom)
    metadata = dict(skeleton="body15", joint_names=list(BODY15.joints), n_bases=n_bases, alpha=0.1,
                    source="tests/test_io_support.py toy bases", training_error=0.0, sparsity=0.0,
                    inputs_sha256="", format_version=1, arrays_sha256="")
    return ShapeBases(np.array(atoms), mean, "body15", metadata)


def rotation_y(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def body15_poses(n, bases=None, seed=1):
    """(n, 15, 3) metres: sparse combinations of the toy atoms, turned about the vertical."""
    bases = bases or toy_bases()
    rng = np.random.default_rng(seed)
    coefficients = np.zeros((n, bases.n_bases))
    coefficients[:, 0] = 1.0
    coefficients[:, 1:] = rng.normal(scale=0.3, size=(n, bases.n_bases - 1)) * (rng.random((n, bases.n_bases - 1)) < 0.5)  # noqa: E501
    shapes = np.einsum("nk,kap->npa", coefficients, bases.bases)
    angles = rng.uniform(-0.8, 0.8, size=n)
    return np.stack([shapes[i] @ rotation_y(angles[i]).T for i in range(n)])


def coco17_frame(n=20, seed=1, face=False) -> pd.DataFrame:
    """A wide COCO-17 table in pixels (face columns empty unless ``face``)."""
    poses = body15_poses(n, seed=seed)
    pixels = 300.0 * poses[..., :2] + np.array([320.0, 240.0])
    coco = get_skeleton("coco17")
    columns = {"frame": np.arange(n), "person": np.zeros(n, dtype=int)}
    for joint in coco.joints:
        if joint in BODY15.joints:
            xy = pixels[:, BODY15.index(joint)]
        elif face:
            head = pixels[:, BODY15.index("head")]
            offset = {"nose": (0, 8), "left_eye": (6, 2), "right_eye": (-6, 2),
                      "left_ear": (12, 0), "right_ear": (-12, 0)}[joint]
            xy = head + np.array(offset)
        else:
            xy = np.full((n, 2), np.nan)
        columns[f"{joint}_x"], columns[f"{joint}_y"] = xy[:, 0], xy[:, 1]
        columns[f"{joint}_score"] = np.where(np.isnan(xy[:, 0]), 0.0, 0.9)
    return pd.DataFrame(columns)


def test_toy_bases_are_valid_and_poses_have_bone_lengths_near_the_mean():
    bases = toy_bases()
    assert bases.bases.shape == (6, 3, 15)
    poses = body15_poses(5)
    assert poses.shape == (5, 15, 3) and np.isfinite(poses).all()
    frame = coco17_frame(4)
    assert frame["nose_x"].isna().all() and frame["left_wrist_x"].notna().all()
