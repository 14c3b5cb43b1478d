"""Is this input plausible as pixel keypoints of a person in the expected joint order?

A lift that runs is not a lift that is right.  Three mistakes give a 3D pose
without any error, and the lifter flags each as ``suspect_input`` (the pose
is kept for inspection, but the frame is not ``ok``):

* **normalised coordinates** (MediaPipe's landmarks lie in [0, 1] of the
  image): x and y are scaled by different image sides, which distorts the
  pose (the rule is :func:`lift2d3d.pixels.normalised_rows`);
* **a scrambled joint order**: no pose of the bases projects onto the
  keypoints, so the fit leaves a large reprojection error relative to the
  pose's size (:data:`MAX_RELATIVE_REPROJECTION`);
* **left and right swapped for part of the body** (the arms' labels but not
  the legs', or the reverse): the shoulder line and the hip line point in
  opposite directions in the image, which a real torso cannot do unless it
  is seen edge-on (:func:`torso_twisted`).

The limits were set on the training corpus (84 CMU clips retargeted to the
DeepMimic humanoid, 2,520 frames, random cameras, projected with 0-5 px of
noise and 15 % of joints missing), with ``benchmarks/plausibility.py``,
which prints the flag rates: see each constant.
"""

from __future__ import annotations

import numpy as np

from .pixels import IMAGE_SIZE_HINT, normalised_rows

__all__ = ["MAX_RELATIVE_REPROJECTION", "TWIST_COSINE", "relative_reprojection", "torso_twisted",
           "suspect_frames"]

#: A fit whose RMS reprojection error exceeds this fraction of the keypoints' RMS radius is
#: flagged.  Correct joint orders stay under it in 99.7-99.9 % of the corpus frames (median
#: 0.02-0.05 at 0-5 px noise); random joint orders exceed it in about 97 % (median 0.39).
MAX_RELATIVE_REPROJECTION = 0.2

#: Shoulder and hip lines whose image directions have a cosine below this are opposed.  No
#: corpus frame (0 of 2,520) was flagged; 61 % of frames with only the arms' (or only the
#: legs') labels swapped were (the rest are seen too edge-on to tell).
TWIST_COSINE = -0.5
#: ... provided both lines are at least this fraction of the torso's length in the image.
TWIST_MIN_WIDTH = 0.25


def relative_reprojection(keypoints, weights, reprojection_error):
    """RMS reprojection error over the RMS radius of the used keypoints, per frame.

    Parameters
    ----------
    keypoints : (N, P, 2) float, pixels (NaN = missing)
    weights : (N, P) float (0 = unused)
    reprojection_error : (N,) float, pixels

    Returns
    -------
    (N,) float (NaN where no joint is used)
    """
    keypoints = np.nan_to_num(np.asarray(keypoints, dtype=np.float64))
    w = (np.asarray(weights, dtype=np.float64) > 0).astype(np.float64)
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (keypoints * w[..., None]).sum(axis=1) / n[:, None]
        radius = np.sqrt((w * ((keypoints - centre[:, None]) ** 2).sum(axis=-1)).sum(axis=1) / n)
        return np.asarray(reprojection_error, dtype=np.float64) / radius


def torso_twisted(keypoints, weights, skeleton):
    """Frames whose shoulder line and hip line point in opposite image directions.

    Parameters
    ----------
    keypoints : (N, P, 2) float, pixels
    weights : (N, P) float (0 = unused)
    skeleton : Skeleton
        Must name ``left/right_shoulder`` and ``left/right_hip``; otherwise
        nothing is flagged.

    Returns
    -------
    (N,) bool
    """
    try:
        ls, rs, lh, rh = (skeleton.index(j) for j in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    except KeyError:
        return np.zeros(len(keypoints), dtype=bool)
    k = np.asarray(keypoints, dtype=np.float64)
    seen = (np.asarray(weights)[:, [ls, rs, lh, rh]] > 0).all(axis=1)
    shoulders = k[:, ls] - k[:, rs]
    hips = k[:, lh] - k[:, rh]
    torso = np.linalg.norm(0.5 * (k[:, ls] + k[:, rs]) - 0.5 * (k[:, lh] + k[:, rh]), axis=1)
    widths = np.minimum(np.linalg.norm(shoulders, axis=1), np.linalg.norm(hips, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = (shoulders * hips).sum(axis=1) / (np.linalg.norm(shoulders, axis=1) * np.linalg.norm(hips, axis=1))
        return seen & (widths > TWIST_MIN_WIDTH * torso) & (cosine < TWIST_COSINE)


def suspect_frames(keypoints, weights, reprojection_error, skeleton, lifted, converged=None):
    """Why each lifted frame is implausible ("" when it is not).

    Parameters
    ----------
    keypoints : (N, P, 2) float, pixels
    weights : (N, P) float
        The weights the fit used (0 = unused; the robust method's dropped
        joints are 0).
    reprojection_error : (N,) float, pixels, over the used joints
    skeleton : Skeleton
    lifted : (N,) bool
        Frames that were lifted; the others are not checked.
    converged : (N,) bool, optional
        Frames whose solve converged (default: all lifted ones): a bad fit
        is blamed on the input only where the solver did its job.

    Returns
    -------
    (N,) object array of str
    """
    reasons = np.full(len(keypoints), "", dtype=object)
    normalised = np.atleast_1d(normalised_rows(keypoints, weights)) & lifted
    relative = relative_reprojection(keypoints, weights, reprojection_error)
    twisted = torso_twisted(keypoints, weights, skeleton) & lifted
    for n in np.flatnonzero(normalised):
        reasons[n] = ("the coordinates look normalised to the image (all within [0, 1]), not pixels: x and y are "
                      "scaled by different image sides, so the 3D pose is distorted; pass pixels, or "
                      f"{IMAGE_SIZE_HINT}")
    for n in np.flatnonzero(twisted & (reasons == "")):
        reasons[n] = ("the shoulder line and the hip line point in opposite directions: left and right look swapped "
                      "for the arms or for the legs; check the joint order and the left/right labels")
    converged = lifted if converged is None else (np.asarray(converged) & lifted)
    with np.errstate(invalid="ignore"):
        bad_fit = converged & (relative > MAX_RELATIVE_REPROJECTION)
    for n in np.flatnonzero(bad_fit & (reasons == "")):
        reasons[n] = (f"no pose of the bases fits these keypoints (reprojection error {reprojection_error[n]:.1f} px, "
                      f"{100 * relative[n]:.0f}% of the pose's size): joint order? left/right labels? gross "
                      "outliers (method='robust')?")
    return reasons
