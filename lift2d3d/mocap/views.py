"""Synthetic 2D views of MoCap and the accuracy measures used to score lifts.

Cameras follow the lifter's convention: x right, y down, z away from the
camera, pixels with x right and y down.  A camera looks at the person's
pelvis from an azimuth around the vertical axis, an elevation above the
horizon (positive: looking down), with a roll about the optical axis.
"""

from __future__ import annotations

import numpy as np

__all__ = ["camera_rotation", "random_views", "project_views", "similarity_align", "procrustes_rotations",
           "pa_mpjpe", "scale_translation_error"]


def camera_rotation(azimuth: float, elevation: float, roll: float, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """World-to-camera rotation (3, 3) for angles in degrees.

    Rows are the camera's x (right), y (down) and z (viewing direction)
    axes in world coordinates.
    """
    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    # two horizontal axes completing a right-handed frame with `up`
    e1 = np.cross(up, [0.0, 0.0, 1.0]) if abs(up[2]) < 0.9 else np.cross(up, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(e1, up)
    az, el, ro = np.deg2rad([azimuth, elevation, roll])
    # camera sits at direction `position` from the person, above the horizon for el > 0
    position = np.cos(el) * (np.cos(az) * e1 + np.sin(az) * e2) + np.sin(el) * up
    z = -position
    y = -up - np.dot(-up, z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    c, s = np.cos(ro), np.sin(ro)
    x, y = c * x + s * y, -s * x + c * y
    return np.stack([x, y, z])


def random_views(n: int, rng: np.random.Generator, azimuth=(0.0, 360.0), elevation=(-15.0, 35.0),
                 roll=(-8.0, 8.0), distance=(3.0, 6.0)):
    """Random camera angles (degrees) and distances (metres), uniform in the ranges.

    Returns
    -------
    angles : (n, 3) float, degrees (azimuth, elevation, roll)
    distances : (n,) float, metres
    """
    angles = np.stack([rng.uniform(*azimuth, n), rng.uniform(*elevation, n), rng.uniform(*roll, n)], axis=1)
    return angles, rng.uniform(*distance, n)


def project_views(joints3d: np.ndarray, angles: np.ndarray, distances: np.ndarray, up=(0.0, 1.0, 0.0),
                  focal: float = 1000.0, principal=(640.0, 360.0), perspective: bool = True,
                  centre_joint: int = 0):
    """Camera-frame joints and their 2D keypoints.

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres, world frame
    angles : (n, 3) float, degrees
    distances : (n,) float, metres from the camera to ``centre_joint``
    focal : float, pixels
    principal : (2,) float, pixels
    perspective : bool
        Pinhole projection; otherwise weak perspective with scale
        ``focal / distance`` about the centre joint's depth.

    Returns
    -------
    camera3d : (n, P, 3) float, metres, camera frame
    keypoints2d : (n, P, 2) float, pixels
    """
    rotations = np.stack([camera_rotation(*a, up=up) for a in angles])
    centred = joints3d - joints3d[:, centre_joint:centre_joint + 1]
    camera3d = np.einsum("nij,npj->npi", rotations, centred)
    camera3d[..., 2] += distances[:, None]
    if perspective:
        keypoints = focal * camera3d[..., :2] / camera3d[..., 2:3]
    else:
        keypoints = (focal / distances)[:, None, None] * camera3d[..., :2]
    return camera3d, keypoints + np.asarray(principal)


def _rotations(p, t):
    """Rotations (n, 3, 3), no reflections, taking centred ``p`` (n, P, 3) closest to ``t``; and ``trace(R p^T t)``."""
    U, S, Vt = np.linalg.svd(np.einsum("npi,npj->nij", p, t))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", np.transpose(Vt, (0, 2, 1)), np.transpose(U, (0, 2, 1)))))
    D = np.tile(np.eye(3), (len(p), 1, 1))
    D[:, 2, 2] = d
    return np.transpose(Vt, (0, 2, 1)) @ D @ np.transpose(U, (0, 2, 1)), np.einsum("ni,nii->n", S, D)


def procrustes_rotations(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) that best turn ``predicted`` (n, P, 3) onto ``truth`` about their centroids.

    The rotation of :func:`similarity_align`; no reflections.
    """
    return _rotations(predicted - predicted.mean(axis=1, keepdims=True),
                      truth - truth.mean(axis=1, keepdims=True))[0]


def similarity_align(predicted: np.ndarray, truth: np.ndarray, rotate: bool = True) -> np.ndarray:
    """Align ``predicted`` (n, P, 3) to ``truth`` by scale, translation and (optionally) rotation.

    Rotation excludes reflections, so a mirrored (depth-flipped) pose stays
    wrong.
    """
    mu_p = predicted.mean(axis=1, keepdims=True)
    mu_t = truth.mean(axis=1, keepdims=True)
    p, t = predicted - mu_p, truth - mu_t
    if rotate:
        R, fit = _rotations(p, t)
        p = np.einsum("nij,npj->npi", R, p)
        scale = fit / np.sum(p ** 2, axis=(1, 2))
    else:
        scale = np.sum(p * t, axis=(1, 2)) / np.sum(p * p, axis=(1, 2))
    return scale[:, None, None] * p + mu_t


def pa_mpjpe(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame mean joint error (same units) after similarity Procrustes alignment."""
    return np.linalg.norm(similarity_align(predicted, truth) - truth, axis=-1).mean(axis=1)


def scale_translation_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame mean joint error in the camera frame after aligning scale and translation only.

    A depth flip or a wrong rotation cannot be aligned away, so this
    catches them where PA-MPJPE does not.
    """
    return np.linalg.norm(similarity_align(predicted, truth, rotate=False) - truth, axis=-1).mean(axis=1)
