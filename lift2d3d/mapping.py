"""Map keypoints of one skeleton (a detector's format) onto another (the bases').

Each joint of the target skeleton gets an ordered list of *alternatives*; an
alternative is a tuple of source joints whose mean gives the target joint.
Per frame the first alternative whose source joints are all present is
used, so ``pelvis`` is the mid-point of the hips when both hips were seen and
falls back to e.g. OpenPose's ``mid_hip`` otherwise.  A target joint with no
usable alternative is missing (NaN, score 0) and the lifter ignores it.

The rules, in order:

1. the source joint of the same name (``left_wrist`` -> ``left_wrist``);
2. the derivations in :data:`DERIVED_JOINTS`, which follow the definitions of
   the ``body15`` skeleton: pelvis = mid-hips, neck = mid-shoulders,
   head = centre of the skull (mid-ears; for MPII mid(upper_neck, head_top);
   for Human3.6M mid(neck_nose, head_top)).

Eyes and nose alone are deliberately *not* used for the head: they sit about
10 cm in front of the skull centre, which would bias the 3D fit in profile
views; a missing head costs the solver far less than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import status as _status
from .skeletons import Skeleton, get_skeleton

__all__ = ["JointMapping", "DERIVED_JOINTS", "map_keypoints", "valid_keypoints", "check_keypoints",
           "KeypointCheck"]

#: target joint -> alternatives (tuples of source joints to average), tried in order
#: after a same-name source joint.
DERIVED_JOINTS = {
    "pelvis": (("left_hip", "right_hip"), ("mid_hip",)),
    "neck": (("left_shoulder", "right_shoulder"), ("thorax",)),
    "head": (("left_ear", "right_ear"), ("upper_neck", "head_top"), ("neck_nose", "head_top")),
    "mid_hip": (("left_hip", "right_hip"), ("pelvis",)),
    # targets the output of a lift may be asked in (LiftResult.to_skeleton): Human3.6M's thorax
    # sits between the shoulders, its spine joint about half way up the back
    "thorax": (("left_shoulder", "right_shoulder"), ("neck",)),
    "spine": (("pelvis", "neck"), ("pelvis", "thorax")),
}


def valid_keypoints(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Which keypoints are usable: finite coordinates and a score of at least
    :data:`~lift2d3d.status.MIN_SCORE` (near-zero confidences are a detector's "not seen").

    Parameters
    ----------
    keypoints : (..., n_joints, 2) float, pixels
    scores : (..., n_joints) float, confidence (below MIN_SCORE or NaN = missing)

    Returns
    -------
    (..., n_joints) bool
    """
    with np.errstate(invalid="ignore"):
        return np.isfinite(keypoints).all(axis=-1) & (scores >= _status.MIN_SCORE) & np.isfinite(scores)


@dataclass
class KeypointCheck:
    """What :func:`check_keypoints` found: the cleaned arrays and a status per frame.

    Attributes
    ----------
    keypoints : (N, P, 2) float64, pixels; NaN where a joint is missing or bad
    scores : (N, P) float64; 0 where a joint is missing or bad
    status : (N,) int64
        0 when the frame's values are usable, :data:`~lift2d3d.status.NON_FINITE`
        for a non-finite or absurd coordinate (whatever its score),
        :data:`~lift2d3d.status.BAD_INPUT` for a negative or infinite score.
    messages : list of str, per frame ("" when usable), naming the frame, the joint and the value
    bad_coordinates : (N, P, 2) bool, the cells that made a frame ``non_finite``
    bad_scores : (N, P) bool, the scores that made a frame ``bad_input``
    single : bool, the input was one pose (P, 2)
    """

    keypoints: np.ndarray
    scores: np.ndarray
    status: np.ndarray
    messages: list
    bad_coordinates: np.ndarray
    bad_scores: np.ndarray
    single: bool


def _numbers(values, what):
    array = np.asarray(values)
    if array.dtype.kind == "O":
        odd = next((v for v in array.ravel() if isinstance(v, (bool, np.bool_, str, bytes))), None)
        if odd is not None:
            raise ValueError(f"{what} must be numbers; got {type(odd).__name__} values such as {odd!r}")
    elif array.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be numbers; got an array of dtype {array.dtype}"
                         + (" (booleans are not coordinates or scores)" if array.dtype.kind == "b" else ""))
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers ({exc})") from None


def check_keypoints(keypoints, scores=None, joint_names=None) -> KeypointCheck:
    """The one validation of 2D keypoints and scores, shared by the Lifter and the readers.

    Rules (one for every floor): a joint is *missing* when a coordinate is
    NaN or its score is NaN or below :data:`~lift2d3d.status.MIN_SCORE` (it
    becomes NaN with score 0); a coordinate
    that is infinite or beyond :data:`~lift2d3d.status.MAX_ABS_PIXELS` makes
    the frame ``non_finite`` whatever its score (corrupt, never silently
    missing); a negative or infinite score makes it
    ``bad_input``.  Bad cells are cleaned too (NaN, score 0), so that nothing
    absurd reaches a solver even if the frame were used.

    Parameters
    ----------
    keypoints : (P, 2) or (N, P, 2) array_like of numbers, pixels
    scores : (P,) or (N, P) array_like of numbers, optional
        Confidences (default 1); a (P,) array applies to every frame.
    joint_names : sequence of str, optional
        The joints' names: fixes P and names joints in messages.

    Returns
    -------
    KeypointCheck

    Raises
    ------
    ValueError
        Wrong shapes or non-numbers (booleans, strings), saying what was
        expected and what arrived.
    """
    names = None if joint_names is None else tuple(joint_names)
    kp = _numbers(keypoints, "keypoints")
    n_joints = len(names) if names is not None else (kp.shape[-2] if kp.ndim in (2, 3) else None)
    if kp.ndim not in (2, 3) or kp.shape[-1] != 2 or kp.shape[-2] != n_joints:
        p = n_joints if n_joints is not None else "P"
        raise ValueError(f"Expected 2D keypoints of shape ({p}, 2) or (n_frames, {p}, 2); got {kp.shape}")
    single = kp.ndim == 2
    kp = kp.reshape(-1, n_joints, 2).copy()
    n = kp.shape[0]
    if scores is None:
        sc = np.ones((n, n_joints))
    else:
        sc = _numbers(scores, "scores")
        if sc.shape not in ((n_joints,), (n, n_joints)) or (single and sc.shape != (n_joints,)):
            expected = f"({n_joints},)" if single else f"({n_joints},) or ({n}, {n_joints})"
            raise ValueError(f"Expected scores of shape {expected} for keypoints of shape "
                             f"{(n_joints, 2) if single else (n, n_joints, 2)}; got {sc.shape}")
        sc = np.broadcast_to(sc, (n, n_joints)).copy()
    name = (lambda j: repr(names[j])) if names is not None else (lambda j: str(j))
    with np.errstate(invalid="ignore"):
        bad_scores = ~np.isnan(sc) & ~((sc >= 0) & np.isfinite(sc))
        # corrupt whatever the score says: a reader that scores a joint by whether it has coordinates
        # (TRC, wide CSV without scores) must not turn -1e400 into a quietly missing joint
        bad_coordinates = np.isinf(kp) | (np.abs(kp) > _status.MAX_ABS_PIXELS)
    status = np.zeros(n, dtype=np.int64)
    messages = [""] * n
    for f in np.flatnonzero(bad_coordinates.any(axis=(1, 2))):
        joints = np.flatnonzero(bad_coordinates[f].any(axis=1))
        j = joints[0]
        a = int(np.flatnonzero(bad_coordinates[f, j])[0])
        status[f] = _status.NON_FINITE
        messages[f] = (f"non-finite or absurd (>|{_status.MAX_ABS_PIXELS:g}| px) coordinates at joint(s) "
                       f"{', '.join(names[k] if names is not None else str(k) for k in joints)} (frame {f}, joint "
                       f"{name(j)}: {'xy'[a]} = {kp[f, j, a]:g}); use NaN for a missing joint")
    for f in np.flatnonzero(bad_scores.any(axis=1) & (status == 0)):
        j = np.flatnonzero(bad_scores[f])[0]
        status[f] = _status.BAD_INPUT
        messages[f] = (f"frame {f}, joint {name(j)}: score {sc[f, j]:g} is not allowed: scores must be >= 0 and "
                       "finite (0 = missing joint)")
    kp[bad_coordinates.any(axis=-1)] = np.nan
    sc[bad_scores] = 0.0
    missing = ~valid_keypoints(kp, sc)
    kp[missing] = np.nan
    sc[missing] = 0.0
    return KeypointCheck(kp, sc, status, messages, bad_coordinates, bad_scores, single)


@dataclass(frozen=True)
class JointMapping:
    """How each joint of ``target`` is obtained from ``source`` keypoints.

    Parameters
    ----------
    source, target : Skeleton or str
        The keypoints' skeleton and the skeleton to map onto (the bases').

    Attributes
    ----------
    rules : tuple of (target_joint, alternatives)
        ``alternatives`` is a tuple of tuples of source joint names; empty
        when the joint cannot be obtained (missing).

    Examples
    --------
    >>> m = JointMapping("coco17", "body15")
    >>> dict(m.rules)["pelvis"][0]
    ('left_hip', 'right_hip')
    """

    source: Skeleton
    target: Skeleton

    def __post_init__(self):
        object.__setattr__(self, "source", get_skeleton(self.source))
        object.__setattr__(self, "target", get_skeleton(self.target))
        have = set(self.source.joints)
        rules = []
        for joint in self.target.joints:
            candidates = ((joint,),) + DERIVED_JOINTS.get(joint, ())
            usable = []
            for alternative in candidates:
                if all(name in have for name in alternative) and alternative not in usable:
                    usable.append(alternative)
            rules.append((joint, tuple(usable)))
        object.__setattr__(self, "rules", tuple(rules))

    @property
    def direct(self) -> tuple:
        """Target joints copied from a same-name source joint."""
        return tuple(j for j, alts in self.rules if alts and alts[0] == (j,))

    @property
    def derived(self) -> tuple:
        """Target joints computed from other source joints."""
        return tuple(j for j, alts in self.rules if alts and alts[0] != (j,))

    @property
    def missing(self) -> tuple:
        """Target joints the source format cannot provide."""
        return tuple(j for j, alts in self.rules if not alts)

    @property
    def unused(self) -> tuple:
        """Source joints no rule reads."""
        used = {name for _, alts in self.rules for alt in alts for name in alt}
        return tuple(j for j in self.source.joints if j not in used)

    @property
    def is_identity(self) -> bool:
        return self.source.joints == self.target.joints

    def apply(self, keypoints: np.ndarray, scores: np.ndarray):
        """Map keypoints and scores onto the target skeleton.

        Parameters
        ----------
        keypoints : (n_frames, n_source_joints, 2) float, pixels
        scores : (n_frames, n_source_joints) float, confidence (0 or NaN = missing)

        Returns
        -------
        keypoints : (n_frames, n_target_joints, 2) float64, pixels; NaN where missing
        scores : (n_frames, n_target_joints) float64; 0 where missing.  A derived
            joint gets the smallest score of its sources (it is only as good
            as its weakest source).
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (self.source.n_joints, 2):
            raise ValueError(f"expected keypoints of shape (n_frames, {self.source.n_joints}, 2) for "
                             f"skeleton {self.source.name!r}; got {keypoints.shape}")
        if scores.shape != keypoints.shape[:2]:
            raise ValueError(f"expected scores of shape {keypoints.shape[:2]}; got {scores.shape}")
        n = keypoints.shape[0]
        valid = valid_keypoints(keypoints, scores)
        out_kp = np.full((n, self.target.n_joints, 2), np.nan)
        out_sc = np.zeros((n, self.target.n_joints))
        for t, (_, alternatives) in enumerate(self.rules):
            todo = np.ones(n, dtype=bool)
            for alternative in alternatives:
                idx = [self.source.index(name) for name in alternative]
                use = todo & valid[:, idx].all(axis=1)
                if not use.any():
                    continue
                out_kp[use, t] = keypoints[use][:, idx].mean(axis=1)
                out_sc[use, t] = scores[use][:, idx].min(axis=1)
                todo &= ~use
        return out_kp, out_sc

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """Map points of any dimension (e.g. 3D joints) onto the target skeleton.

        Parameters
        ----------
        points : (..., n_source_joints, D) float; NaN = missing

        Returns
        -------
        (..., n_target_joints, D) float64; NaN where the target joint cannot be obtained
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim < 2 or points.shape[-2] != self.source.n_joints:
            raise ValueError(f"expected points of shape (..., {self.source.n_joints}, D) for skeleton "
                             f"{self.source.name!r}; got {points.shape}")
        lead = points.shape[:-2]
        flat = points.reshape((-1,) + points.shape[-2:])
        valid = np.isfinite(flat).all(axis=-1)
        out = np.full((flat.shape[0], self.target.n_joints, flat.shape[-1]), np.nan)
        for t, (_, alternatives) in enumerate(self.rules):
            todo = np.ones(flat.shape[0], dtype=bool)
            for alternative in alternatives:
                idx = [self.source.index(name) for name in alternative]
                use = todo & valid[:, idx].all(axis=1)
                if use.any():
                    out[use, t] = flat[use][:, idx].mean(axis=1)
                    todo &= ~use
        return out.reshape(lead + out.shape[1:])

    def report(self) -> str:
        """A few lines saying what was mapped, derived and left missing."""
        lines = [f"joint mapping {self.source.name} -> {self.target.name}:"]
        if self.is_identity:
            lines.append(f"  identity ({self.target.n_joints} joints)")
            return "\n".join(lines)
        lines.append(f"  direct ({len(self.direct)}): {', '.join(self.direct) or '-'}")
        rules = dict(self.rules)
        derived = []
        for joint in self.derived:
            text = " or ".join(_describe(alt) for alt in rules[joint])
            derived.append(f"{joint} = {text}")
        lines.append(f"  derived ({len(derived)}): {'; '.join(derived) or '-'}")
        lines.append(f"  missing ({len(self.missing)}): {', '.join(self.missing) or '-'}")
        lines.append(f"  unused source joints ({len(self.unused)}): {', '.join(self.unused) or '-'}")
        return "\n".join(lines)


def _describe(alternative) -> str:
    if len(alternative) == 1:
        return alternative[0]
    return f"mean({', '.join(alternative)})"


def map_keypoints(keypoints, scores, source, target):
    """Functional form of :meth:`JointMapping.apply` (see there for shapes)."""
    return JointMapping(source, target).apply(keypoints, scores)
