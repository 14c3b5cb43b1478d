"""Every per-frame status, and the limits that decide them: one table, one place.

A lifted frame (or a row of a lifted table) carries one status.  The solver
kernels return the integer ``code``; results, tables and files carry the
``name``; :data:`LIFTED` is the set of names whose rows hold a trustworthy 3D
pose, :data:`HAS_POSE` those whose rows hold a 3D pose at all (a
``suspect_input`` frame keeps its pose for inspection, but is not ``ok``).

The readers' and the pipeline's statuses (``bad_input``, ``no_person``) live in
the same table, so that every floor names a status the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Status", "STATUSES", "BY_NAME", "LIFTED", "HAS_POSE", "MIN_JOINTS", "MIN_SCORE", "MAX_ABS_PIXELS",
           "MAX_RELATIVE_REPROJECTION",
           "OK", "NOT_CONVERGED", "TOO_FEW_JOINTS", "NON_FINITE", "DEGENERATE", "SUSPECT_INPUT", "BAD_INPUT",
           "NO_PERSON", "name_of", "names_of"]


@dataclass(frozen=True)
class Status:
    """One row of the status table.

    Attributes
    ----------
    code : int
        What the kernels return (and the index into :data:`STATUSES`).
    name : str
        What results and files carry.
    has_pose : bool
        The row holds a 3D pose.
    lifted : bool
        The row holds a 3D pose that may be used as it is (counted as lifted).
    meaning : str
        One line for documentation and messages.
    """

    code: int
    name: str
    has_pose: bool
    lifted: bool
    meaning: str


STATUSES = (
    Status(0, "ok", True, True, "converged"),
    Status(1, "not_converged", True, True, "the iteration cap was reached; the best iterate is returned"),
    Status(2, "too_few_joints", False, False, "fewer usable joints than a rotation and a shape need"),
    Status(3, "non_finite", False, False, "non-finite or absurd coordinates at a used joint"),
    Status(4, "degenerate", False, False, "all used keypoints coincide, or the fit collapsed"),
    Status(5, "suspect_input", True, False,
           "the input is implausible as pixel keypoints of a person in this joint order "
           "(normalised coordinates? joint order?); the pose is kept for inspection"),
    Status(6, "bad_input", False, False, "the reader could not use the row (the message says why)"),
    Status(7, "no_person", False, False, "the frame holds no person (an empty detection)"),
)

# Integer codes, as the numba kernels see them (module constants compile to literals).
OK, NOT_CONVERGED, TOO_FEW_JOINTS, NON_FINITE, DEGENERATE, SUSPECT_INPUT, BAD_INPUT, NO_PERSON = range(8)

BY_NAME = {status.name: status for status in STATUSES}
#: Names of the statuses whose rows hold a usable 3D pose.
LIFTED = tuple(status.name for status in STATUSES if status.lifted)
#: Names of the statuses whose rows hold a 3D pose (usable or kept for inspection).
HAS_POSE = tuple(status.name for status in STATUSES if status.has_pose)

#: Fewer usable joints than this cannot pin down a rotation and a shape.
MIN_JOINTS = 5
#: A joint scored below this is missing (a weight of 0), on every floor
#: (:func:`lift2d3d.mapping.valid_keypoints`).  Detectors write near-zero confidences for joints
#: they did not see (MediaPipe: the landmark at a guessed place with visibility ~0.001); as a
#: weight such a joint still moves a fit by 7-16 mm on average (the sparse, non-convex fit is
#: sensitive to any pull; ``benchmarks/plausibility.py --low-scores``), as missing by nothing.
MIN_SCORE = 0.01
#: Coordinates beyond this many pixels are corrupt, not a pose (no camera image is a million pixels wide).
MAX_ABS_PIXELS = 1e6
#: A refined fit whose RMS reprojection error exceeds this fraction of the keypoints' RMS radius does not
#: explain its input (:mod:`lift2d3d.plausibility`): wrong joint order, left/right labels, outliers.
MAX_RELATIVE_REPROJECTION = 0.2


def name_of(code: int) -> str:
    """The name of a status code."""
    return STATUSES[int(code)].name


def names_of(codes):
    """Names (an array of str) of an array of status codes."""
    import numpy as np

    return np.array([s.name for s in STATUSES], dtype=object)[np.asarray(codes, dtype=np.int64)].astype(str)
