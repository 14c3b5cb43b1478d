"""Pixels or normalised coordinates: the one rule every floor uses to tell them apart.

Detectors such as MediaPipe write landmarks *normalised* to the image
(x / width, y / height, so a visible person lies within [0, 1]); lifted as
if they were pixels they give a wrong 3D pose without any error.  This module
holds the test "these keypoints look normalised" and the conversion to
pixels, so that the readers (which refuse to lift such a table without the
image size) and the lifter's plausibility check apply the same rule.

A row (one pose) looks normalised when it has at least two used joints
(finite coordinates, score > 0), its used joints do not all coincide, and
every used coordinate lies within :data:`NORMALISED_RANGE`.  The range is
[0, 1] widened by one image on each side, because MediaPipe places landmarks
outside the picture (a foot below the bottom edge has y > 1); no pose in
pixels fits in a 3 x 3 pixel square, so the margin cannot mistake pixels for
normalised coordinates.
"""

from __future__ import annotations

import numpy as np

from .mapping import valid_keypoints

__all__ = ["NORMALISED_RANGE", "normalised_rows", "looks_normalised", "to_pixels", "check_image_size",
           "IMAGE_SIZE_HINT"]

#: Coordinates of a normalised pose lie within this range (see the module notes).
NORMALISED_RANGE = (-1.0, 2.0)

#: What to pass to convert normalised coordinates (the CLI flag and the API keyword).
IMAGE_SIZE_HINT = "--image-size WIDTH HEIGHT (image_size=(width, height) in the API)"


def _used(keypoints, scores):
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if scores is None:
        return keypoints, np.isfinite(keypoints).all(axis=-1)
    return keypoints, valid_keypoints(keypoints, np.asarray(scores, dtype=np.float64))


def normalised_rows(keypoints, scores=None) -> np.ndarray:
    """Which poses look normalised to the image rather than in pixels.

    Parameters
    ----------
    keypoints : (n_rows, n_joints, 2) or (n_joints, 2) float
        2D keypoints; NaN = missing.
    scores : (n_rows, n_joints) or (n_joints,) float, optional
        Confidences; joints with score <= 0 are not used.

    Returns
    -------
    (n_rows,) bool (a bool for one pose)
        True where the row has >= 2 used joints, not all at one point, all
        within :data:`NORMALISED_RANGE`.
    """
    keypoints, used = _used(keypoints, scores)
    single = keypoints.ndim == 2
    if single:
        keypoints, used = keypoints[None], used[None]
    low, high = NORMALISED_RANGE
    with np.errstate(invalid="ignore"):
        inside = ((keypoints >= low) & (keypoints <= high)).all(axis=-1) | ~used
    masked = np.where(used[..., None], keypoints, np.nan)
    with np.errstate(invalid="ignore"), _quiet_nan():
        spread = np.nanmax(masked, axis=1) - np.nanmin(masked, axis=1)
    spread = np.nan_to_num(spread, nan=0.0).max(axis=-1)
    rows = (used.sum(axis=1) >= 2) & inside.all(axis=1) & (spread > 0)
    return bool(rows[0]) if single else rows


def looks_normalised(keypoints, scores=None) -> bool:
    """True when most poses with usable joints look normalised (:func:`normalised_rows`).

    "Most" (more than half) rather than "all": a table of MediaPipe landmarks
    keeps its normalised verdict when a few frames hold a wild outlier, and a
    pixel table cannot reach half by accident.
    """
    keypoints, used = _used(keypoints, scores)
    if keypoints.ndim == 2:
        keypoints, used = keypoints[None], used[None]
    posed = used.sum(axis=1) >= 2
    if not posed.any():
        return False
    # ``used`` already folds in the scores: pass it as 0/1 weights
    return bool(normalised_rows(keypoints, used.astype(np.float64))[posed].mean() > 0.5)


def check_image_size(image_size):
    """``image_size`` as ``(width, height)`` floats in pixels, or None.

    Raises
    ------
    ValueError
        Not two positive finite numbers.
    """
    if image_size is None:
        return None
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (width, height) in pixels; got {image_size!r}") from None
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"image_size must be two positive numbers (width, height) in pixels; got {image_size!r}")
    return width, height


def to_pixels(keypoints, image_size) -> np.ndarray:
    """Normalised coordinates times the image size: ``(x * width, y * height)``.

    Parameters
    ----------
    keypoints : (..., 2) float, normalised to the image
    image_size : (width, height), pixels

    Returns
    -------
    (..., 2) float64, pixels (NaN stays NaN)
    """
    width, height = check_image_size(image_size)
    return np.asarray(keypoints, dtype=np.float64) * np.array([width, height])


class _quiet_nan:
    """Silence numpy's "All-NaN slice" RuntimeWarning (rows without used joints are expected)."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        return False
