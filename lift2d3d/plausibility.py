"""Is this input plausible as pixel keypoints of a person in the expected joint order?

A lift that runs is not a lift that is right.  Three mistakes give a 3D pose
without any error, and the lifter flags each as ``suspect_input`` (the pose
is kept for inspection, but the frame is not ``ok``):

* **normalised coordinates** (MediaPipe's landmarks lie in [0, 1] of the
  image): x and y are scaled by different image sides, which distorts the
  pose (the rule is :func:`lift2d3d.pixels.normalised_rows`);
* **a scrambled joint order** (limb columns in the wrong order, another
  skeleton's order read as this one's): the bases can often bend a pose to
  fit the keypoints, but only by cancelling large atoms against each other,
  so the fitted pose's sparse code is far larger than the pose
  (:func:`code_ratio`, :data:`MAX_CODE_RATIO`); or no pose fits at all and
  the reprojection error is large relative to the pose's size
  (:data:`MAX_RELATIVE_RMS`);
* **one wild keypoint** (a joint thousands of pixels off): the pose's size
  is median-based (:func:`pose_size`), so the outlier cannot hide by
  inflating it, and each joint's residual is judged on its own
  (:data:`MAX_RELATIVE_JOINT`; method ``robust`` drops such a joint instead);
* **left and right swapped for part of the body** (the arms' labels but not
  the legs', or the reverse): the shoulder line and the hip line point in
  opposite directions in the image, which a real torso cannot do unless it
  is seen edge-on (:func:`torso_twisted`).

Residuals count with their weights (a joint the detector barely saw counts
as little in the check as in the fit; below :data:`~lift2d3d.status.MIN_SCORE`
a joint is missing).  The limits were set on CMU clips retargeted to the
DeepMimic humanoid (84 clips, 10 frames each, random cameras, projected with
0-5 px of noise and 15 % of joints missing; also COCO-17 input and the
shipped sample), with ``benchmarks/plausibility.py --statistics``, which
prints the flag rates and the statistics' percentiles: see each constant.
The default bases were learned from CMU takes, so these poses are not all
held out; the rates on a detector's real output may be less clean.
"""

from __future__ import annotations

import warnings

import numpy as np

from .pixels import IMAGE_SIZE_HINT, normalised_rows

__all__ = ["MAX_RELATIVE_REPROJECTION", "MAX_RELATIVE_RMS", "MAX_RELATIVE_JOINT", "MAX_CODE_RATIO", "TWIST_COSINE",
           "MAX_GROSS_OUTLIERS", "MAX_SPREAD", "relative_reprojection", "pose_size", "fit_statistics", "code_ratio",
           "code_check", "gross_outliers", "outlier_notes", "torso_twisted",
           "suspect_frames"]

#: A fit whose RMS reprojection error exceeds this fraction of the keypoints' RMS radius is
#: flagged.  Correct joint orders stay under it in 99.7-99.9 % of the corpus frames (median
#: 0.02-0.05 at 0-5 px noise); random joint orders exceed it in about 97 % (median 0.39).
MAX_RELATIVE_REPROJECTION = 0.2

#: A fit whose weighted RMS reprojection error exceeds this fraction of the median-based pose size
#: (:func:`pose_size`) is flagged.  Correct input: 99th percentile 0.07-0.11 (0-5 px noise).
MAX_RELATIVE_RMS = 0.3
#: A fit that leaves one keypoint further than this fraction of the pose size from its projection is
#: flagged: one wild joint.  Correct input: 99th percentile 0.13-0.26; a left wrist 5,000 px off:
#: 1st percentile 0.82.
MAX_RELATIVE_JOINT = 0.6
#: A fitted code whose atoms cancel each other more than this (:func:`code_ratio`: its norm were its
#: atoms all added up, over its norm as they are) is far from every pose the bases were learned
#: from: the bases bend a scrambled skeleton into a fit by playing large atoms against each other.
#: Correct input stays under it in 99.8-100 % of the frames (0-5 px noise, 15 % missing, COCO input,
#: the shipped sample, random mixtures of 3-6 atoms); limb columns shuffled under COCO names exceed
#: it in 94 %, Human3.6M's order read as COCO's in 99 %, a random joint order in 98.5 %
#: (``benchmarks/plausibility.py --statistics``; at 2.0: 96 % of the shuffled limbs, and 0.5 % of the
#: random mixtures).  Only for bases learned with non-negative codes (:func:`code_check`).
MAX_CODE_RATIO = 2.2
#: A robust fit that has to treat more than this many joints as gross outliers (each further than
#: :data:`MAX_RELATIVE_JOINT` of the pose size from the fit) did not find a person in the keypoints:
#: the robust method is for a wild joint or two, not for a cloud of points.
MAX_GROSS_OUTLIERS = 2
#: A keypoint further than this many pose sizes (:func:`pose_size`) from the median of the
#: keypoints is a wild keypoint, whatever the fit made of it (a real pose's farthest joint is 2-4.3
#: pose sizes away, in random mixtures of the bases' atoms too; 5,000 px off is 25-50).
MAX_SPREAD = 8.0

#: Shoulder and hip lines whose image directions have a cosine below this are opposed.  No
#: corpus frame (0 of 2,520) was flagged; 61 % of frames with only the arms' (or only the
#: legs') labels swapped were (the rest are seen too edge-on to tell).
TWIST_COSINE = -0.5
#: ... provided both lines are at least this fraction of the torso's length in the image.
TWIST_MIN_WIDTH = 0.25


def relative_reprojection(keypoints, weights, reprojection_error):
    """RMS reprojection error over the RMS radius of the used keypoints, per frame (the former test,
    kept for comparison in ``benchmarks/plausibility.py``; one wild joint inflates the radius).

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


def pose_size(keypoints, weights):
    """A size of each frame's pose that one wild joint cannot change: the median distance of the used
    keypoints from their coordinate-wise median, pixels.

    Parameters
    ----------
    keypoints : (N, P, 2) float, pixels; weights : (N, P) float (0 = unused)

    Returns
    -------
    (N,) float (NaN where no joint is used)
    """
    k = np.where((np.asarray(weights) > 0)[..., None], np.asarray(keypoints, dtype=np.float64), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN frames: NaN, judged as unused
        centre = np.nanmedian(k, axis=1)
        return np.nanmedian(np.linalg.norm(k - centre[:, None], axis=-1), axis=1)


def fit_statistics(keypoints, weights, projected):
    """The two numbers the fit is judged by, per frame, relative to :func:`pose_size`.

    Each joint's residual is its distance to the fitted pose's projection,
    scaled by the square root of its weight relative to the frame's largest
    (a joint the detector barely saw counts as little as it weighs in the fit).

    Parameters
    ----------
    keypoints : (N, P, 2) float, pixels; weights : (N, P) float (0 = unused)
    projected : (N, P, 2) float, pixels: the fitted pose's projection

    Returns
    -------
    rms : (N,) float, weighted RMS residual / pose size
    worst : (N,) float, largest residual / pose size
    worst_joint : (N,) int, the joint of ``worst`` (-1 where no joint is used)
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    w = np.where(np.asarray(weights, dtype=np.float64) > 0, np.asarray(weights, dtype=np.float64), 0.0)
    size = pose_size(keypoints, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = np.linalg.norm(np.asarray(projected, dtype=np.float64) - keypoints, axis=-1)
        residual = np.where(w > 0, residual, 0.0)
        relative_w = w / w.max(axis=1, keepdims=True)
        rms = np.sqrt((w * residual ** 2).sum(axis=1) / w.sum(axis=1)) / size
        scaled = np.sqrt(relative_w) * residual
        scaled = np.where(np.isfinite(scaled), scaled, np.inf)
        worst_joint = np.where(w.sum(axis=1) > 0, np.argmax(np.where(w > 0, scaled, -1.0), axis=1), -1)
        worst = np.take_along_axis(scaled, np.maximum(worst_joint, 0)[:, None], axis=1)[:, 0] / size
    return rms, worst, worst_joint


def code_ratio(coefficients, bases):
    """How much of the fitted code cancels itself: the pose's norm if its atoms all added up, over
    its norm as they are, ``sqrt(|c|^T |G| |c|) / sqrt(c^T G c)`` with ``G`` the atoms' Gram matrix.

    1 when nothing cancels (and always for orthogonal atoms); large when big
    atoms are played against each other to bend the bases onto keypoints no
    pose of theirs explains.  Independent of the bases' units and of the
    pose's scale.

    Parameters
    ----------
    coefficients : (N, K) float (NaN for frames not lifted)
    bases : (K, 3, P) float

    Returns
    -------
    (N,) float (NaN for frames not lifted)
    """
    c = np.asarray(coefficients, dtype=np.float64)
    flat = np.asarray(bases, dtype=np.float64).reshape(len(bases), -1)
    G = flat @ flat.T
    finite = np.isfinite(c).all(axis=1)
    c = np.where(finite[:, None], c, 0.0)
    loud = np.einsum("ni,ij,nj->n", np.abs(c), np.abs(G), np.abs(c))
    quiet = np.einsum("ni,ij,nj->n", c, G, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, np.sqrt(loud / np.maximum(quiet, 1e-300 * np.maximum(loud, 1e-300))), np.nan)


def code_check(coefficients, shape_bases):
    """:func:`code_ratio` of the fits where it means something, else None.

    Bases learned by :class:`lift2d3d.learn.BasisLearner` (their metadata
    names the ``learner``) code every training pose with non-negative
    coefficients, so a person's pose needs no atoms played against each
    other; for other bases (made by hand, or learned with signed codes, such
    as the tests' toy atoms around one standing pose) cancelling atoms are how
    they express poses, and the check is not made.

    Parameters
    ----------
    coefficients : (N, K) float; shape_bases : ShapeBases
    """
    if "learner" not in getattr(shape_bases, "metadata", {}):
        return None
    return code_ratio(coefficients, shape_bases.bases)


def gross_outliers(outliers, keypoints, weights):
    """(N, P) bool: the joints a robust fit left grossly off (outlier estimate beyond
    :data:`MAX_RELATIVE_JOINT` of the pose size of the joints it kept).

    Parameters
    ----------
    outliers : (N, 2, P) float, the fit's outlier estimates (pixels; 0 = an inlier)
    keypoints : (N, P, 2) float, pixels; weights : (N, P) float (0 = unused)
    """
    E = np.linalg.norm(np.nan_to_num(np.asarray(outliers, dtype=np.float64)), axis=1)
    kept = np.asarray(weights, dtype=np.float64) * ~(E > 0)
    size = pose_size(keypoints, kept)
    with np.errstate(invalid="ignore"):
        return (E > MAX_RELATIVE_JOINT * size[:, None]) & (np.asarray(weights) > 0)


def outlier_notes(outliers, keypoints, weights, joint_names, lifted):
    """Per frame, the joints a robust fit left grossly off (:func:`gross_outliers`), for its message.

    Returns
    -------
    list of N str ("" where none)
    """
    gross = gross_outliers(outliers, keypoints, weights)
    E = np.linalg.norm(np.nan_to_num(np.asarray(outliers, dtype=np.float64)), axis=1)
    notes = [""] * len(gross)
    for n in np.flatnonzero(np.asarray(lifted) & gross.any(axis=1)):
        notes[n] = "; dropped as outlier(s): " + ", ".join(f"{joint_names[j]} ({E[n, j]:.0f} px off)"
                                                           for j in np.flatnonzero(gross[n]))
    return notes


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


def suspect_frames(keypoints, weights, reprojection_error, skeleton, lifted, converged=None, projected=None,
                   code=None, gross=None):
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
    projected : (N, P, 2) float, pixels, optional
        The fitted poses' projections: the fit is then judged joint by joint
        against a median-based pose size (:func:`fit_statistics`); without
        them by the RMS error over the RMS radius (:func:`relative_reprojection`).
    code : (N,) float, optional
        :func:`code_ratio` of the fits (flagged above :data:`MAX_CODE_RATIO`).
    gross : (N, P) bool, optional
        :func:`gross_outliers` of a robust fit (flagged above :data:`MAX_GROSS_OUTLIERS` joints).

    Returns
    -------
    (N,) object array of str
    """
    reasons = np.full(len(keypoints), "", dtype=object)
    normalised = np.atleast_1d(normalised_rows(keypoints, weights)) & lifted
    twisted = torso_twisted(keypoints, weights, skeleton) & lifted
    for n in np.flatnonzero(normalised):
        reasons[n] = ("the coordinates look normalised to the image (all within [0, 1]), not pixels: x and y are "
                      "scaled by different image sides, so the 3D pose is distorted; pass pixels, or "
                      f"{IMAGE_SIZE_HINT}")
    for n in np.flatnonzero(twisted & (reasons == "")):
        reasons[n] = ("the shoulder line and the hip line point in opposite directions: left and right look swapped "
                      "for the arms or for the legs; check the joint order and the left/right labels")
    converged = lifted if converged is None else (np.asarray(converged) & lifted)
    if projected is None:
        relative = relative_reprojection(keypoints, weights, reprojection_error)
        with np.errstate(invalid="ignore"):
            bad_fit = converged & (relative > MAX_RELATIVE_REPROJECTION)
        for n in np.flatnonzero(bad_fit & (reasons == "")):
            reasons[n] = (f"no pose of the bases fits these keypoints (reprojection error "
                          f"{reprojection_error[n]:.1f} px, {100 * relative[n]:.0f}% of the pose's size): joint "
                          "order? left/right labels? gross outliers (method='robust')?")
        return reasons
    rms, worst, joint = fit_statistics(keypoints, weights, projected)
    size = pose_size(keypoints, weights)
    used = np.asarray(weights) > 0
    k = np.where(used[..., None], np.asarray(keypoints, dtype=np.float64), np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.linalg.norm(k - np.nanmedian(k, axis=1)[:, None], axis=-1) / size[:, None]
    spread = np.where(used & np.isfinite(spread), spread, 0.0)
    for n in np.flatnonzero(lifted & (spread.max(axis=1) > MAX_SPREAD) & (reasons == "")):
        j = int(np.argmax(spread[n]))
        reasons[n] = (f"keypoint {skeleton.joints[j]} lies {spread[n, j] * size[n]:.0f} px from the others "
                      f"({spread[n, j]:.0f} times the pose's size): a wild keypoint (method='robust' drops it)? "
                      "joint order?")
    with np.errstate(invalid="ignore"):
        bad_rms = converged & ~(rms <= MAX_RELATIVE_RMS)
        bad_joint = converged & ~(worst <= MAX_RELATIVE_JOINT)
        bad_code = converged & (np.zeros(len(reasons), dtype=bool) if code is None else ~(code <= MAX_CODE_RATIO))
    n_gross = np.zeros(len(reasons), dtype=int) if gross is None else np.asarray(gross).sum(axis=1)
    for n in np.flatnonzero(converged & (n_gross > MAX_GROSS_OUTLIERS) & (reasons == "")):
        reasons[n] = (f"the robust fit had to drop {n_gross[n]} joints as gross outliers (more than "
                      f"{MAX_GROSS_OUTLIERS}): these keypoints do not look like a person; joint order? units?")
    for n in np.flatnonzero(bad_joint & (reasons == "")):
        name = skeleton.joints[joint[n]] if joint[n] >= 0 else "?"
        reasons[n] = (f"keypoint {name} lies {worst[n] * size[n]:.0f} px from where the fitted pose puts it "
                      f"({100 * worst[n]:.0f}% of the pose's size): a wild keypoint (method='robust' drops it)? "
                      "joint order?")
    for n in np.flatnonzero(bad_rms & (reasons == "")):
        reasons[n] = (f"no pose of the bases fits these keypoints (reprojection error {reprojection_error[n]:.1f} px, "
                      f"{100 * rms[n]:.0f}% of the pose's size): joint order? left/right labels? gross "
                      "outliers (method='robust')?")
    for n in np.flatnonzero(bad_code & (reasons == "")):
        reasons[n] = (f"the fitted pose is far from every pose of the bases (its atoms cancel each other: "
                      f"{code[n]:.1f} times the pose's size, limit {MAX_CODE_RATIO:g}): joints in the wrong "
                      "columns, or another skeleton's order (Human3.6M read as COCO?)")
    return reasons
