"""Poses as the learner and the corpus walk compare them: normalised, torso-aligned, thinned.

Every pose of a take is centred on its joint centroid and scaled to a common
total bone length (:func:`normalise_poses`), rotated onto a reference torso
(:func:`align_torso`, generalised Procrustes with :func:`lift2d3d.evaluation.kabsch`),
and near-duplicates of a take are dropped (:func:`thin_poses`).  The shape
learner (:mod:`lift2d3d.learn`) and the corpus walk (:mod:`.corpus`) share
these, so both see the same poses.  The augmentations both learners use
(:func:`mirror_poses`, :func:`jitter_proportions`) live here too, so that the
shape learner and the network learner (:mod:`lift2d3d.learn_lifter`), which sit
on one floor, draw other people and rigs the same way.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import kabsch
from ..skeletons import BODY15, get_skeleton

__all__ = ["TORSO_JOINTS", "normalise_poses", "align_torso", "thin_poses", "bone_sum", "bone_lengths",
           "redraw_with_lengths", "mirror_poses", "jitter_proportions", "PROPORTION_RANGES"]

#: Joints whose rigid fit defines a pose's orientation.
TORSO_JOINTS = ("pelvis", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip")


def bone_sum(poses: np.ndarray, skeleton) -> np.ndarray:
    """Total bone length (n,) of poses (n, 3, P)."""
    edges = np.array(skeleton.edge_indices())
    return np.linalg.norm(poses[:, :, edges[:, 0]] - poses[:, :, edges[:, 1]], axis=1).sum(axis=1)


def normalise_poses(poses: np.ndarray, skeleton=BODY15, size: float | None = None):
    """Centre each pose and scale it to a common total bone length.

    Parameters
    ----------
    poses : (n, 3, P) float, metres
    skeleton : Skeleton or str
    size : float, metres, optional
        Target total bone length; default: the median over ``poses``.

    Returns
    -------
    normalised : (n, 3, P) float, metres
    size : float
        The total bone length used.
    """
    skeleton = get_skeleton(skeleton)
    centred = poses - poses.mean(axis=2, keepdims=True)
    lengths = bone_sum(centred, skeleton)
    if size is None:
        size = float(np.median(lengths))
    return centred * (size / lengths)[:, None, None], size


def align_torso(poses: np.ndarray, skeleton=BODY15, reference: np.ndarray | None = None, n_iter: int = 5):
    """Rotate each pose so that its torso best matches a reference torso.

    Parameters
    ----------
    poses : (n, 3, P) float
        Centred poses.
    skeleton : Skeleton or str
    reference : (3, P) float, optional
        Target pose; default: generalised Procrustes, starting from the first
        pose and re-estimating the mean torso ``n_iter`` times.

    Returns
    -------
    aligned : (n, 3, P) float
    reference : (3, P) float
        The reference the poses were aligned to.
    """
    skeleton = get_skeleton(skeleton)
    torso = [skeleton.index(j) for j in TORSO_JOINTS]
    part = poses[:, :, torso]
    part = part - part.mean(axis=2, keepdims=True)
    fixed = reference is not None
    reference = (np.array(reference) if fixed else poses[0]).astype(np.float64)
    for _ in range(1 if fixed else n_iter):
        ref_part = reference[:, torso] - reference[:, torso].mean(axis=1, keepdims=True)
        rotations = kabsch(np.swapaxes(part, 1, 2), ref_part.T)
        aligned = rotations @ poses
        if not fixed:
            reference = aligned.mean(axis=0)
    return aligned, reference


def thin_poses(poses: np.ndarray, min_distance: float, skeleton=BODY15) -> np.ndarray:
    """Indices of the poses to keep so that no two kept poses are near-duplicates.

    Poses are compared after centring, scaling to a common total bone length
    (the median of ``poses``) and torso alignment, by the mean joint
    distance; a pose is kept when it is at least ``min_distance`` from every
    pose kept before it (a greedy sweep in frame order, so the first of a
    group of repeats is the one kept).

    Parameters
    ----------
    poses : (n, P, 3) float, metres
        One take (NaN frames are never kept).
    min_distance : float, metres
        0 keeps every valid pose.

    Returns
    -------
    (m,) int
        Increasing frame indices.
    """
    poses = np.asarray(poses, dtype=np.float64)
    valid = np.flatnonzero(np.all(np.isfinite(poses), axis=(1, 2)))
    if min_distance <= 0 or len(valid) < 2:
        return valid
    skeleton = get_skeleton(skeleton)
    normalised, _ = normalise_poses(poses[valid].transpose(0, 2, 1), skeleton)
    aligned, _ = align_torso(normalised, skeleton)
    flat = aligned.transpose(0, 2, 1)      # (n, P, 3)
    kept = np.empty_like(flat)
    kept[0] = flat[0]
    keep, m = [0], 1
    for i in range(1, len(flat)):
        distance = np.linalg.norm(kept[:m] - flat[i], axis=2).mean(axis=1)
        if distance.min() >= min_distance:
            kept[m] = flat[i]
            m += 1
            keep.append(i)
    return valid[np.array(keep)]


#: Bone groups and the (low, high) factors by which augmentation scales them.  The spread is
#: wider than adult anthropometry because MoCap rigs place shoulder, hip and head joints
#: differently (e.g. a rig's shoulder joint may sit at the clavicle's end, 20-35 cm apart).
PROPORTION_RANGES = {
    "shoulder": (0.55, 1.10), "hip": (0.70, 1.20), "torso": (0.80, 1.10), "head": (0.80, 1.40),
    "upper_arm": (0.85, 1.10), "forearm": (0.85, 1.10), "thigh": (0.90, 1.10), "shank": (0.90, 1.10),
}


def _bone_group(parent: str, child: str) -> str:
    name = child.replace("left_", "").replace("right_", "")
    return {"neck": "torso", "head": "head", "shoulder": "shoulder", "elbow": "upper_arm",
            "wrist": "forearm", "hip": "hip", "knee": "thigh", "ankle": "shank"}.get(name, name)


def bone_lengths(poses: np.ndarray, skeleton) -> np.ndarray:
    """Bone lengths (n, n_edges) of poses (n, 3, P), in the order of ``skeleton.edges``."""
    edges = np.array(skeleton.edge_indices())
    return np.linalg.norm(poses[:, :, edges[:, 0]] - poses[:, :, edges[:, 1]], axis=1)


def redraw_with_lengths(pose: np.ndarray, lengths: np.ndarray, skeleton=BODY15) -> np.ndarray:
    """Re-draw a pose with given bone lengths, keeping its bone directions.

    Parameters
    ----------
    pose : (3, P) float
    lengths : (n_edges,) float, metres
        In the order of ``skeleton.edges``.

    Returns
    -------
    (3, P) float
        Centred on the joint centroid.
    """
    skeleton = get_skeleton(skeleton)
    out = pose.copy()
    for (a, b), length in zip(skeleton.edge_indices(), lengths):
        direction = pose[:, b] - pose[:, a]
        out[:, b] = out[:, a] + length * direction / max(np.linalg.norm(direction), 1e-12)
    return out - out.mean(axis=1, keepdims=True)


def mirror_poses(poses: np.ndarray, skeleton=BODY15) -> np.ndarray:
    """Left-right mirror images: negate x and swap left and right joints.

    Parameters
    ----------
    poses : (n, 3, P) float

    Returns
    -------
    (n, 3, P) float
        Re-align them afterwards: the mirror of a torso-aligned pose faces
        the other way.
    """
    skeleton = get_skeleton(skeleton)
    mirrored = poses[:, :, skeleton.mirror_permutation()].copy()
    mirrored[:, 0] *= -1
    return mirrored


def jitter_proportions(poses: np.ndarray, rng: np.random.Generator, skeleton=BODY15,
                       ranges: dict = PROPORTION_RANGES, shared: bool = False) -> np.ndarray:
    """Re-draw poses with bone groups scaled by random factors (left and right alike).

    Parameters
    ----------
    poses : (n, 3, P) float
    rng : numpy.random.Generator
    ranges : dict of group -> (low, high)
        Factors are log-uniform in each range; groups are named by
        :data:`PROPORTION_RANGES`.
    shared : bool
        One draw of factors for all the poses (one person's frames: a video);
        default a draw per pose.

    Returns
    -------
    (n, 3, P) float
        Every bone keeps its direction; its length is scaled.  Edges are
        walked parent-first, so each child follows its re-drawn parent.
    """
    skeleton = get_skeleton(skeleton)
    groups = sorted(ranges)
    low = np.log([ranges[g][0] for g in groups])
    high = np.log([ranges[g][1] for g in groups])
    factors = np.exp(rng.uniform(low, high, size=(1 if shared else len(poses), len(groups))))
    factors = np.broadcast_to(factors, (len(poses), len(groups)))
    out = poses.copy()
    for (a, b), (pa, pb) in zip(skeleton.edge_indices(), skeleton.edges):
        f = factors[:, groups.index(_bone_group(pa, pb))]
        out[:, :, b] = out[:, :, a] + f[:, None] * (poses[:, :, b] - poses[:, :, a])
    return out
