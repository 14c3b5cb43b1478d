"""The world frame: gravity-aligned, the floor at height 0, metres, estimated from one person's lifted clip.

A lift is in the camera frame (x right, y down, z away from the camera;
:mod:`lift2d3d.lifter`).  Animation tools, OpenSim and a viewer want the
person standing on a floor instead.  :func:`estimate_world` finds that floor
from the clip itself and :func:`to_world` applies it to a
:class:`~lift2d3d.lifter.LiftResult`.

World axes (OpenSim's and OpenGL's convention): **Y up** (against gravity),
**X** the camera's x axis (image right) laid onto the floor, **Z = X x Y**,
pointing from the scene towards the camera's side of it.  Origin: on the
floor, under the pelvis of the first lifted frame.  Units: metres.

How each part is obtained (the metadata of the result says which applied):

1. **The body's up** (a prior): the median over the lifted frames of the
   unit vector from the ankles' midpoint to the neck (upright people) --
   what a clip without foot contacts falls back to.
2. **Foot contacts**: in each frame the lower ankle along the current up.
   With a perspective camera the joints are camera coordinates, so a planted
   foot stands still: contacts are weighted by the ankle's speed
   (:data:`CONTACT_SPEED`).  Under weak perspective each frame is centred on
   its own centroid; the floor is still one plane in that moving frame, since
   walking over a floor moves the body parallel to it.
3. **The ground plane**: a weighted least-squares plane through the contacts
   (heights along the up prior as a linear function of the two horizontal
   coordinates, so the plane's normal is ``up - a e1 - b e2`` exactly), with a
   Gaussian prior of :data:`PRIOR_TILT_DEG` (weak perspective:
   :data:`PRIOR_TILT_WEAK_DEG`) on its tilt from the body's up, so contacts
   that do not spread over the floor (someone standing still) cannot tilt it
   far; contacts more than :data:`CONTACT_BAND` above the
   plane (a foot in the air) are dropped and the fit repeated.  Gravity is the
   plane's normal; the camera's pitch and roll follow from it.
4. **The floor's height**: the contacts' median height is the ankles' height
   at contact; the floor lies :data:`ANKLE_HEIGHT` times the person's stature
   below it (the ankle joint is above the sole).
5. **The root's trajectory**: with a perspective camera the joints' own
   camera coordinates (metric when the scale is); under weak perspective the
   image motion of the pose's centre divided by the scale gives the motion
   across the image (kept along X), the depth motion is not recovered, and
   each frame is lowered or raised so that its lower ankle is at the contact
   height (smoothed over :data:`GROUNDING_SMOOTH_S`): someone who sits down
   stays on the floor, a jump does not leave it.
6. **Scale** is the lift's: ``height=`` (the person's stature, ``--height``)
   when it was given, the bases' average proportions otherwise.

Everything here is NumPy over arrays (the lifter's result is read by its
field names only), so the pipeline, the writers' callers and notebooks share
one estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["WorldFrame", "WorldResult", "estimate_world", "to_world", "clip_stature", "ANKLE_HEIGHT",
           "PRIOR_TILT_DEG", "PRIOR_TILT_WEAK_DEG", "CONTACT_BAND", "CONTACT_SPEED", "GROUNDING_SMOOTH_S",
           "STATURE_HEAD_SOLE", "fit_ground_plane"]

#: Height of the ankle joint above the floor when the foot is planted, as a fraction of stature: the
#: median over 60 clips of the CMU corpus (ASF/AMC, BVH and DeepMimic takes; 10-90 %: 0.028-0.078;
#: ``python benchmarks/exports.py --part world --mocap /tmp/cmu --calibrate``).  Rigs place their
#: "ankle" differently: Bandai Namco's sits at 0.072 of stature.
ANKLE_HEIGHT = 0.048
#: Standard deviation of the Gaussian prior on the floor's tilt from the body's up, degrees, with a
#: perspective camera (the contacts are where the feet stood on the floor) and under weak perspective
#: (each frame centred on itself: the contacts' heights mix the gait's heel and toe phases, and on the
#: CMU clips any weaker prior than 1 degree made gravity worse than the body's up alone).
PRIOR_TILT_DEG = 3.0
PRIOR_TILT_WEAK_DEG = 1.0
#: Noise of one contact's height (metres) and how long contacts stay correlated (seconds): each
#: frame's contact counts as ``1 / (CONTACT_CORRELATION_S * fps)`` of an independent one.
CONTACT_NOISE = 0.03
CONTACT_CORRELATION_S = 0.2
#: A contact more than this (metres) above the fitted plane is a foot in the air: dropped.
CONTACT_BAND = 0.06
#: Perspective camera: a contact ankle moving faster than this (metres per second) weighs e^-1 of a
#: still one.
CONTACT_SPEED = 0.5
#: Weak perspective: the per-frame grounding is smoothed by a Gaussian of this width (seconds).
GROUNDING_SMOOTH_S = 0.1
#: Head centre to the top of the head plus ankle to sole, metres: the lifter's rule for stature from
#: the ankle-knee-hip-pelvis-neck-head chain (``Lifter`` without a ``stature_m`` in the bases' card).
STATURE_HEAD_SOLE = 0.18
_ROUNDS = 6


def _unit(v, axis=-1):
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=axis, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _joint(names, *candidates):
    """Index of the first of ``candidates`` in ``names`` (None if none is there)."""
    index = {n: i for i, n in enumerate(names)}
    return next((index[c] for c in candidates if c in index), None)


def _points(joints3d, names):
    """The points the estimate uses, (N, 3) each: ankles, pelvis (or mid-hips), neck (or mid-shoulders)."""
    la, ra = _joint(names, "left_ankle"), _joint(names, "right_ankle")
    if la is None or ra is None:
        raise ValueError("the world frame needs both ankles (left_ankle, right_ankle) among the joints; got "
                         + ", ".join(names))
    pelvis = _joint(names, "pelvis", "mid_hip")
    hips = (_joint(names, "left_hip"), _joint(names, "right_hip"))
    if pelvis is not None:
        root = joints3d[:, pelvis]
    elif None not in hips:
        root = 0.5 * (joints3d[:, hips[0]] + joints3d[:, hips[1]])
    else:
        raise ValueError("the world frame needs the pelvis or both hips among the joints; got " + ", ".join(names))
    neck = _joint(names, "neck", "thorax")
    shoulders = (_joint(names, "left_shoulder"), _joint(names, "right_shoulder"))
    if neck is not None:
        top = joints3d[:, neck]
    elif None not in shoulders:
        top = 0.5 * (joints3d[:, shoulders[0]] + joints3d[:, shoulders[1]])
    else:
        raise ValueError("the world frame needs the neck or both shoulders among the joints; got "
                         + ", ".join(names))
    return joints3d[:, la], joints3d[:, ra], root, top


def clip_stature(joints3d, joint_names) -> float:
    """The person's stature (metres) from a clip: the median lengths of the ankle-knee-hip-pelvis-neck-head
    chain (both sides averaged) plus :data:`STATURE_HEAD_SOLE`, the lifter's rule; NaN without those joints.

    Parameters
    ----------
    joints3d : (N, P, 3) float, metres
    joint_names : sequence of str
    """
    names = list(joint_names)
    joints3d = np.asarray(joints3d, dtype=np.float64).reshape(-1, len(names), 3)
    total = 0.0
    for side in ("left", "right"):
        chain = [_joint(names, f"{side}_ankle"), _joint(names, f"{side}_knee"), _joint(names, f"{side}_hip"),
                 _joint(names, "pelvis"), _joint(names, "neck"), _joint(names, "head")]
        if None in chain:
            return float("nan")
        lengths = np.linalg.norm(joints3d[:, chain[1:]] - joints3d[:, chain[:-1]], axis=-1)
        lengths = lengths[np.isfinite(lengths).all(axis=1)]
        if len(lengths) == 0:
            return float("nan")
        total += float(np.median(lengths, axis=0).sum())
    return total / 2 + STATURE_HEAD_SOLE


def _perpendicular_basis(u):
    """Two unit vectors completing ``u`` to a right-handed orthonormal frame."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    e1 = _unit(np.cross(u, helper))
    return e1, np.cross(u, e1)


def fit_ground_plane(contacts, weights, prior_up, noise=None, prior_tilt_deg=None, band=None):
    """The floor through foot contacts, its tilt pulled towards ``prior_up``.

    Heights ``h = prior_up . p`` are fitted as ``d + a x + b y`` over the two
    horizontal coordinates ``x = e1 . p``, ``y = e2 . p`` by weighted least
    squares with a Gaussian prior ``a, b ~ N(0, tan(prior_tilt)^2)``; the
    plane's unit normal is ``(prior_up - a e1 - b e2) / |...|``.  Contacts more
    than ``band`` above the plane are dropped and the plane refitted (twice).

    Parameters
    ----------
    contacts : (n, 3) float, metres
    weights : (n,) float
        Each contact's weight in independent contacts (0 drops it).
    prior_up : (3,) unit float
    noise, prior_tilt_deg, band : float, optional
        Default :data:`CONTACT_NOISE`, :data:`PRIOR_TILT_DEG`, :data:`CONTACT_BAND`.

    Returns
    -------
    up : (3,) unit normal, level : float (the contacts' median height along ``up`` over the inliers),
    inliers : (n,) bool
    """
    noise = CONTACT_NOISE if noise is None else noise
    prior_tilt_deg = PRIOR_TILT_DEG if prior_tilt_deg is None else prior_tilt_deg
    band = CONTACT_BAND if band is None else band
    u = _unit(prior_up)
    e1, e2 = _perpendicular_basis(u)
    h, x, y = contacts @ u, contacts @ e1, contacts @ e2
    inliers = weights > 0
    precision = 1.0 / np.tan(np.radians(prior_tilt_deg)) ** 2
    coefficients = np.zeros(3)
    for _ in range(3):
        w = np.where(inliers, weights, 0.0) / noise ** 2
        if w.sum() <= 0:
            break
        design = np.stack([np.ones_like(x), x, y], axis=1)
        normal = (design * w[:, None]).T @ design + np.diag([0.0, precision, precision])
        # the level d is free: a tiny ridge keeps the system solvable when every weight is tiny
        normal[0, 0] += 1e-12
        coefficients = np.linalg.solve(normal, (design * w[:, None]).T @ h)
        residual = h - design @ coefficients
        inliers = (weights > 0) & (residual < band)
    d, a, b = coefficients
    up = _unit(u - a * e1 - b * e2)
    heights = contacts @ up
    used = inliers if inliers.any() else weights > 0
    level = float(np.median(heights[used])) if used.any() else float("nan")
    return up, level, inliers


def _gaussian_smooth(values, sigma):
    """``values`` (n,) smoothed by a Gaussian of ``sigma`` samples (edges renormalised)."""
    if sigma <= 0 or len(values) < 3:
        return values
    # np.convolve's "same" output is as long as the longer input: the kernel must not outgrow a short clip
    radius = min(int(np.ceil(3 * sigma)), (len(values) - 1) // 2)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    weight = np.convolve(np.ones_like(values), kernel, mode="same")
    return np.convolve(values, kernel, mode="same") / weight


@dataclass(frozen=True)
class WorldFrame:
    """A camera-to-world transform per frame: ``world = rotation @ camera + offset[n]``.

    Attributes
    ----------
    rotation : (3, 3) float
        Rows: the world's X, Y (up) and Z axes in camera coordinates.
    offset : (N, 3) float, metres
        Per frame (the same for every frame with a perspective camera).
    up : (3,) float
        Gravity's opposite in camera coordinates (``rotation[1]``).
    pitch_deg, roll_deg : float
        The camera's pitch (positive: looking down at the floor) and roll, from ``up``, as
        :func:`lift2d3d.evaluation.camera_rotations` counts its elevation and roll.
    stature : float, metres
        The person's stature in the clip (:func:`clip_stature`).
    metadata : dict
        How each part was obtained (JSON-ready): ``gravity``, ``floor``, ``scale``, ``trajectory``,
        ``axes``, ``contacts`` and the figures.
    """

    rotation: np.ndarray
    offset: np.ndarray
    up: np.ndarray
    pitch_deg: float
    roll_deg: float
    stature: float
    metadata: dict = field(default_factory=dict)

    def apply(self, joints3d) -> np.ndarray:
        """Camera-frame joints ``(N, P, 3)`` (the frames this was estimated for) in the world frame."""
        joints3d = np.asarray(joints3d, dtype=np.float64)
        if joints3d.ndim != 3 or joints3d.shape[0] != len(self.offset) or joints3d.shape[2] != 3:
            raise ValueError(f"expected joints of shape ({len(self.offset)}, P, 3) (the clip's frames); "
                             f"got {joints3d.shape}")
        return np.einsum("ij,npj->npi", self.rotation, joints3d) + self.offset[:, None, :]


def estimate_world(joints3d, joint_names, ok=None, perspective=False, image_shift=None, fps=30.0,
                   height=None) -> WorldFrame:
    """Estimate the world frame (gravity, floor, trajectory) of one person's clip.

    Parameters
    ----------
    joints3d : (N, P, 3) float, metres, camera frame
        The clip's lifted joints, in time order (NaN in frames not lifted).
    joint_names : sequence of str
        Must include both ankles, the pelvis (or both hips) and the neck (or both shoulders).
    ok : (N,) bool, optional
        Frames with a usable lift (default: the frames whose joints are all finite).
    perspective : bool
        The joints are camera coordinates (a lift with intrinsics); otherwise each frame is centred on
        its own centroid (weak perspective).
    image_shift : (N, 2) float, metres, optional
        Weak perspective: the pose centre's image motion divided by the scale (``translation[:, :2] /
        scale``), the motion across the image kept along X.
    fps : float
        Frames per second (contact speed, smoothing, correlation).
    height : float, optional
        The stature the lift was scaled to (``Lifter(height=...)``), for the metadata; None: the bases'
        average proportions set the scale.

    Returns
    -------
    WorldFrame

    Raises
    ------
    ValueError
        Missing joints, or no frame with a usable lift.
    """
    names = list(joint_names)
    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim != 3 or joints3d.shape[1:] != (len(names), 3):
        raise ValueError(f"expected joints of shape (N, {len(names)}, 3) for the {len(names)} joint names; got "
                         f"{joints3d.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}")
    n = len(joints3d)
    finite = np.isfinite(joints3d).all(axis=(1, 2))
    ok = finite if ok is None else (np.asarray(ok, dtype=bool).reshape(n) & finite)
    if not ok.any():
        raise ValueError("no frame of the clip was lifted: there is nothing to place on a floor")
    left, right, root, top = _points(joints3d, names)
    stature = clip_stature(joints3d[ok], names)
    stature_note = "the clip's median bone lengths (ankle-knee-hip-pelvis-neck-head + 0.18 m)"
    if not np.isfinite(stature):
        stature = 1.7 if height is None else float(height)
        stature_note = "assumed (the joints lack the ankle-knee-hip-pelvis-neck-head chain)"

    # 1. the body's up: ankles' midpoint to neck, the median of each coordinate (camera y points down, so this
    #    is about -y); the median over the mean: 8.3 against 8.9 degrees from the truth on the CMU clips
    body = np.median(_unit(top[ok] - 0.5 * (left[ok] + right[ok])), axis=0)
    prior = _unit(body) if np.linalg.norm(body) > 0.2 else np.array([0.0, -1.0, 0.0])

    # 2.-3. contacts and the plane through them
    speed = np.zeros(n)
    if perspective and n > 1:
        # per ankle, metres per second between lifted neighbours (a gap gives no speed: weight 1)
        velocity = {}
        for k, ankle in (("l", left), ("r", right)):
            v = np.full(n, np.nan)
            step = np.linalg.norm(np.diff(ankle, axis=0), axis=1) * fps
            both = ok[1:] & ok[:-1]
            v[1:][both] = step[both]
            v[:-1] = np.fmin(v[:-1], np.where(both, step, np.nan))
            velocity[k] = np.nan_to_num(v, nan=0.0)
    per_contact = 1.0 / max(CONTACT_CORRELATION_S * fps, 1.0)
    up = prior
    inliers = np.zeros(n, dtype=bool)
    level = float("nan")
    for _ in range(_ROUNDS):
        lower_is_left = (left @ up) <= (right @ up)
        contacts = np.where(lower_is_left[:, None], left, right)
        weights = np.where(ok, per_contact, 0.0)
        if perspective and n > 1:
            speed = np.where(lower_is_left, velocity["l"], velocity["r"])
            weights = weights * np.exp(-(speed / CONTACT_SPEED) ** 2)
        safe = np.where(ok[:, None], contacts, 0.0)
        up, level, inliers = fit_ground_plane(safe, weights, prior,
                                              prior_tilt_deg=PRIOR_TILT_DEG if perspective else PRIOR_TILT_WEAK_DEG)
    tilt_from_body = float(np.degrees(np.arccos(np.clip(up @ prior, -1.0, 1.0))))

    # the world axes: Y = up; X = the camera's x laid on the floor; Z = X x Y
    x_axis = np.array([1.0, 0.0, 0.0]) - up[0] * up
    if np.linalg.norm(x_axis) < 1e-6:           # looking straight down or up: the image's y instead
        x_axis = np.array([0.0, 1.0, 0.0]) - up[1] * up
    x_axis = _unit(x_axis)
    rotation = np.stack([x_axis, up, np.cross(x_axis, up)])
    pitch = float(np.degrees(np.arcsin(np.clip(-up[2], -1.0, 1.0))))
    roll = float(np.degrees(np.arctan2(-up[0], -up[1])))

    # 4. the floor: ANKLE_HEIGHT * stature below the ankles' contact height
    ankle_height = ANKLE_HEIGHT * stature
    floor = level - ankle_height
    world_root = root @ rotation.T
    first = int(np.flatnonzero(ok)[0])
    offset = np.zeros((n, 3))
    if perspective:
        offset[:] = [-world_root[first, 0], -floor, -world_root[first, 2]]
        trajectory = ("the joints' camera coordinates (perspective camera): the root moves as lifted, in depth "
                      "too")
    else:
        # 5. weak perspective: each frame's lower ankle at the contact height (smoothed), image motion along X
        lowest = np.minimum(left @ up, right @ up)
        lowest = np.where(ok, lowest, np.nan)
        filled = _fill(lowest)
        grounded = _gaussian_smooth(filled, GROUNDING_SMOOTH_S * fps)
        offset[:, 1] = -(grounded - level) - floor
        offset[:, 0] = -world_root[first, 0]
        offset[:, 2] = -world_root[first, 2]
        if image_shift is not None:
            shift = np.asarray(image_shift, dtype=np.float64).reshape(n, 2)
            across = np.concatenate([shift, np.zeros((n, 1))], axis=1) @ x_axis
            across = _fill(np.where(ok & np.isfinite(across), across, np.nan))
            offset[:, 0] += across - across[first]
            trajectory = ("weak perspective: the motion across the image (the pose centre's image motion over the "
                          "scale) along X; the depth motion is not recovered; each frame's lower ankle is put at "
                          f"the contact height (smoothed over {GROUNDING_SMOOTH_S:g} s)")
        else:
            trajectory = ("weak perspective without the image motion: the root stays above the origin; each "
                          f"frame's lower ankle is put at the contact height (smoothed over {GROUNDING_SMOOTH_S:g} s)")
    n_contacts = int(inliers.sum())
    spread = _spread(np.where(ok[:, None], left, 0.0), np.where(ok[:, None], right, 0.0), inliers, up, perspective,
                     lower_is_left)
    metadata = {
        "frame": "world",
        "axes": "metres; Y up (against gravity), X the camera's x (image right) on the floor, Z = X x Y (towards "
                "the camera's side); origin on the floor under the pelvis of the first lifted frame",
        "gravity": (f"normal of the ground plane through {n_contacts} foot contacts (the lower ankle of each "
                    f"frame{', weighted by how still it is' if perspective else ''}; contacts over "
                    f"{spread[0]:.2f} x {spread[1]:.2f} m of floor), its tilt pulled towards the body's up "
                    f"(ankles' midpoint to neck) with a {PRIOR_TILT_DEG if perspective else PRIOR_TILT_WEAK_DEG:g} "
                    f"degree prior; {tilt_from_body:.1f} "
                    "degrees from the body's up"),
        "camera_pitch_deg": round(pitch, 2),
        "camera_roll_deg": round(roll, 2),
        "floor": (f"{ANKLE_HEIGHT:g} x stature ({ankle_height:.3f} m) below the ankles' median height at the "
                  "contacts"),
        "stature_m": round(float(stature), 4),
        "stature": stature_note,
        "scale": (f"height={float(height):g} m given (--height)" if height is not None else
                  "the bases' average proportions (pass --height / height= with the person's stature for "
                  "metric scale)"),
        "trajectory": trajectory,
        "up_in_camera": [round(float(v), 6) for v in up],
        "frames_lifted": int(ok.sum()),
        "frames": int(n),
    }
    if perspective:
        camera = -(rotation @ np.zeros(3)) + offset[0]
        metadata["camera_position_m"] = [round(float(v), 4) for v in camera]
        metadata["camera_height_m"] = round(float(camera[1]), 4)
    return WorldFrame(rotation=rotation, offset=offset, up=up, pitch_deg=pitch, roll_deg=roll,
                      stature=float(stature), metadata=metadata)


def _spread(left, right, inliers, up, perspective, lower_is_left):
    """Extent (metres, the 5-95 % range along the two horizontal axes, larger first) of the inlier contacts."""
    contacts = np.where(lower_is_left[:, None], left, right)[inliers]
    if len(contacts) < 2:
        return (0.0, 0.0)
    e1, e2 = _perpendicular_basis(up)
    ranges = sorted((float(np.subtract(*np.percentile(contacts @ e, [95, 5]))) for e in (e1, e2)), reverse=True)
    return tuple(ranges)


def _fill(values):
    """NaN entries of ``values`` (n,) interpolated linearly, held at the ends (all NaN: zeros)."""
    values = np.asarray(values, dtype=np.float64)
    good = np.isfinite(values)
    if not good.any():
        return np.zeros_like(values)
    index = np.arange(len(values))
    return np.interp(index, index[good], values[good])


@dataclass(frozen=True)
class WorldResult:
    """A lifted clip in the world frame (what :func:`to_world` returns).

    Attributes
    ----------
    joints3d : (N, P, 3) float, metres, world frame (Y up, floor at 0); NaN in frames not lifted
    joint_names : tuple of str
    ok : (N,) bool
    frame : WorldFrame
        The transform and the metadata saying how each part was obtained.
    """

    joints3d: np.ndarray
    joint_names: tuple
    ok: np.ndarray
    frame: WorldFrame

    @property
    def metadata(self) -> dict:
        return self.frame.metadata


def to_world(result, height=None, fps=30.0, perspective=None) -> WorldResult:
    """A lifted clip of one person (a batched :class:`~lift2d3d.lifter.LiftResult`) in the world frame.

    Parameters
    ----------
    result : LiftResult
        ``lifter.lift_sequence(...)`` or ``lifter.lift(...)`` of one person's frames in time order.
    height : float, optional
        The stature the lifter was given (``Lifter(height=...)``), recorded in the metadata; the scale
        is the lift's.
    fps : float
        The clip's frame rate.
    perspective : bool, optional
        Whether the lift used a perspective camera; default: read from the result (weak perspective
        writes ``translation[:, 2] = 0``).

    Returns
    -------
    WorldResult

    Examples
    --------
    >>> import numpy as np, lift2d3d
    >>> from lift2d3d.world import to_world
    >>> lifter = lift2d3d.Lifter()
    >>> keypoints = 400.0 * lifter.bases.mean_pose[:2].T + [320.0, 240.0]
    >>> world = to_world(lifter.lift(np.stack([keypoints] * 4)))
    >>> from lift2d3d.world import ANKLE_HEIGHT
    >>> bool(abs(np.nanmin(world.joints3d[..., 1]) - world.frame.stature * ANKLE_HEIGHT) < 0.02)
    True
    """
    joints3d = np.asarray(result.joints3d, dtype=np.float64)
    if joints3d.ndim != 3:
        raise ValueError("to_world needs a clip: a batched LiftResult of one person's frames (N, P, 3); "
                         f"got joints of shape {joints3d.shape}")
    ok = np.asarray(result.ok, dtype=bool).reshape(len(joints3d))
    translation = np.asarray(result.translation, dtype=np.float64).reshape(len(joints3d), 3)
    if perspective is None:
        tz = translation[ok, 2]
        perspective = bool(len(tz) and np.all(np.isfinite(tz)) and np.all(tz != 0))
    shift = None
    if not perspective:
        scale = np.asarray(result.scale, dtype=np.float64).reshape(len(joints3d))
        centre = np.nanmedian(translation[ok, :2], axis=0) if ok.any() else np.zeros(2)
        with np.errstate(invalid="ignore", divide="ignore"):
            # the centre's image motion over the scale, from its median position (the principal point is not
            # known; this keeps its error small)
            shift = (translation[:, :2] - centre) / scale[:, None]
    frame = estimate_world(joints3d, result.joint_names, ok=ok, perspective=perspective, image_shift=shift, fps=fps,
                           height=height)
    world = frame.apply(np.where(ok[:, None, None], joints3d, np.nan))
    return WorldResult(joints3d=world, joint_names=tuple(result.joint_names), ok=ok, frame=frame)
