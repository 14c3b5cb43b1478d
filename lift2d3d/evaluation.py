"""Scoring lifts against known 3D poses: random cameras, Procrustes, the two error measures.

One place for what the accuracy benchmark (``lift2d3d evaluate``), the basis
learner's model selection (:func:`lift2d3d.learn.lifting_error`), the solver
benchmark (``lift2d3d bench``) and the scripts in ``benchmarks/`` share:

* **cameras**: :func:`camera_rotations` turns (azimuth, elevation, roll) into
  world-to-camera rotations in the lifter's convention (x right, y down, z
  away from the camera); :func:`random_angles` / :func:`random_views` draw
  them, :func:`project_views` and :func:`random_projections` make the 2D
  keypoints a lifter sees;
* **Procrustes**: :func:`kabsch` (the best rotation, no reflections) and
  :func:`similarity_align`;
* **errors**: :func:`pa_mpjpe` (after similarity Procrustes) and
  :func:`scale_translation_error` (the *camera-frame* error: only scale and
  translation aligned, so a depth flip or a wrong rotation cannot hide);
* :func:`score_lifts`: lift keypoints with a given lifter and score them;
* **video**: :func:`clip_starts` cuts clips of consecutive frames from a
  take, :func:`fixed_camera` / :func:`view_clip` show a clip to one camera
  (fixed, or orbiting slowly) with pixel noise and missing joints,
  :func:`acceleration_error` is the jitter measure and :func:`video_errors`
  / :func:`score_clips` score clips lifted frame by frame and as sequences.

Everything here is plain NumPy over arrays; nothing reads files or builds a
lifter, so the learner, the commands and the benchmarks can all use it.

Angles are in degrees.  Azimuth turns about the world's up axis; with ``up``
= +y the camera sits on the +z axis at azimuth 0 and on the +x axis (the
side the shipped bases face) at -90 or 270.  Elevation is the camera's
height above the horizon (positive: looking down at the person); roll turns
the image about the optical axis.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ACCURACY_VIEWS", "VIEW_CAMERA", "camera_rotations", "random_angles", "random_views", "project_views",
           "random_projections", "Projections", "kabsch", "procrustes_rotations", "similarity_align", "pa_mpjpe",
           "scale_translation_error", "lift_errors", "score_lifts", "clip_starts", "fixed_camera", "VideoView",
           "view_clip", "acceleration_error", "video_errors", "score_clips", "NetworkLifts"]

#: The accuracy benchmark's cameras (``lift2d3d evaluate``, ``learn.lifting_error``): ranges of
#: :func:`random_views` in degrees and metres.  The azimuth runs over a full turn from -90 so that
#: the draws, and the published figures, are those of the earlier convention that counted azimuth
#: from the +x axis.
ACCURACY_VIEWS = dict(azimuth=(-90.0, 270.0), elevation=(-15.0, 35.0), roll=(-8.0, 8.0), distance=(3.0, 6.0))

#: Intrinsics of the synthetic views (pixels): a 1280 x 720 image, focal 1000 px.  A dict that
#: ``Lifter(camera=VIEW_CAMERA)`` accepts, so the lifter and the projection agree.
VIEW_CAMERA = dict(focal=1000.0, principal=(640.0, 360.0))

# A camera that looks along the world's -z axis from +z, the world's y up: image x = world x,
# image y (down) = -world y, depth = -world z.
_LOOK_ALONG_MINUS_Z = np.diag([1.0, -1.0, -1.0])


def _up_frame(up) -> np.ndarray:
    """Rows (e1, up, e2): a right-handed world frame whose second axis is ``up`` (the identity for +y)."""
    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    e1 = np.cross(up, [0.0, 0.0, 1.0]) if abs(up[2]) < 0.9 else np.cross(up, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, up, np.cross(e1, up)])


def camera_rotations(angles, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """World-to-camera rotations for camera angles.

    ``R = Rz(-roll) Rx(elevation) diag(1, -1, -1) Ry(azimuth) U``: turn the
    person about the up axis, look at them along -z, tilt the camera down by
    the elevation, roll the image; ``U`` takes the world's ``up`` to +y.

    Parameters
    ----------
    angles : (n, 3) float, degrees
        Azimuth, elevation, roll per camera (see the module docstring).
    up : (3,) float
        The world's up axis (``(0, 1, 0)`` for y-up MoCap and the bases,
        ``(0, 0, 1)`` for z-up BVH files).

    Returns
    -------
    (n, 3, 3) float
        Rows are the camera's x (right), y (down) and z (viewing direction)
        axes in world coordinates: ``camera = R @ world``.
    """
    from scipy.spatial.transform import Rotation

    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3)
    spin = Rotation.from_euler("y", angles[:, 0:1], degrees=True).as_matrix()
    tilt = Rotation.from_euler("x", angles[:, 1:2], degrees=True).as_matrix()
    twist = Rotation.from_euler("z", -angles[:, 2:3], degrees=True).as_matrix()
    R = twist @ tilt @ _LOOK_ALONG_MINUS_Z @ spin
    frame = _up_frame(up)
    # y-up needs no change of frame; skipping the product keeps those rotations bit for bit
    return R if np.array_equal(frame, np.eye(3)) else R @ frame


def random_angles(n: int, rng: np.random.Generator, azimuth=ACCURACY_VIEWS["azimuth"],
                  elevation=ACCURACY_VIEWS["elevation"], roll=ACCURACY_VIEWS["roll"]) -> np.ndarray:
    """Camera angles (n, 3) in degrees (azimuth, elevation, roll), each uniform in its range.

    Draws the azimuths, then the elevations, then the rolls from ``rng``.
    """
    return np.stack([rng.uniform(*azimuth, n), rng.uniform(*elevation, n), rng.uniform(*roll, n)], axis=1)


def random_views(n: int, rng: np.random.Generator, azimuth=ACCURACY_VIEWS["azimuth"],
                 elevation=ACCURACY_VIEWS["elevation"], roll=ACCURACY_VIEWS["roll"],
                 distance=ACCURACY_VIEWS["distance"]):
    """Random camera angles and distances, uniform in the ranges (default :data:`ACCURACY_VIEWS`).

    Returns
    -------
    angles : (n, 3) float, degrees (azimuth, elevation, roll)
    distances : (n,) float, metres
    """
    angles = random_angles(n, rng, azimuth, elevation, roll)
    return angles, rng.uniform(*distance, n)


def project_views(joints3d: np.ndarray, angles: np.ndarray, distances: np.ndarray, up=(0.0, 1.0, 0.0),
                  focal: float = VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"],
                  perspective: bool = True, centre_joint: int = 0):
    """Camera-frame joints and their 2D keypoints.

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres, world frame
    angles : (n, 3) float, degrees
    distances : (n,) float, metres from the camera to ``centre_joint``
    up : (3,) float
        The world's up axis.
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
    rotations = camera_rotations(angles, up)
    centred = joints3d - joints3d[:, centre_joint:centre_joint + 1]
    camera3d = np.einsum("nij,npj->npi", rotations, centred)
    camera3d[..., 2] += distances[:, None]
    if perspective:
        keypoints = focal * camera3d[..., :2] / camera3d[..., 2:3]
    else:
        keypoints = (focal / distances)[:, None, None] * camera3d[..., :2]
    return camera3d, keypoints + np.asarray(principal)


class Projections(NamedTuple):
    """What :func:`random_projections` returns."""

    #: (n, P, 3) metres, the poses in each camera's frame (the truth to score lifts against)
    camera3d: np.ndarray
    #: (n, P, 2) pixels, what the lifter sees
    keypoints: np.ndarray
    #: (n, 3) degrees, azimuth, elevation, roll of each camera
    angles: np.ndarray
    #: (n,) metres
    distances: np.ndarray


def random_projections(poses3d: np.ndarray, seed: int = 0, perspective: bool = False, ups=None) -> Projections:
    """Each pose seen by its own random camera of the accuracy benchmark (:data:`ACCURACY_VIEWS`).

    Parameters
    ----------
    poses3d : (n, P, 3) float, metres, world frame
    seed : int
        Seed of the cameras: the same seed gives the same cameras.
    perspective : bool
        Pinhole projection with :data:`VIEW_CAMERA`; otherwise weak perspective.
    ups : (n, 3) float, optional
        Each pose's up axis (y-up and z-up sources may be mixed); default +y.

    Returns
    -------
    Projections
    """
    poses3d = np.asarray(poses3d, dtype=np.float64)
    angles, distances = random_views(len(poses3d), np.random.default_rng(seed))
    if ups is None:
        camera3d, keypoints = project_views(poses3d, angles, distances, perspective=perspective)
        return Projections(camera3d, keypoints, angles, distances)
    ups = np.broadcast_to(np.asarray(ups, dtype=np.float64), (len(poses3d), 3))
    camera3d = np.empty_like(poses3d)
    keypoints = np.empty(poses3d.shape[:2] + (2,))
    for up in np.unique(ups, axis=0):
        rows = np.all(ups == up, axis=1)
        camera3d[rows], keypoints[rows] = project_views(poses3d[rows], angles[rows], distances[rows], up=up,
                                                        perspective=perspective)
    return Projections(camera3d, keypoints, angles, distances)


# ------------------------------------------------------------------------------------------ Procrustes
def _rotations(H: np.ndarray):
    """Kabsch from the cross-covariances ``H`` (n, 3, 3) = source^T target: the rotations (no reflections)
    and ``trace(R H)``, the fit a similarity scale needs."""
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", np.transpose(Vt, (0, 2, 1)), np.transpose(U, (0, 2, 1)))))
    D = np.tile(np.eye(3), (len(H), 1, 1))
    D[:, 2, 2] = d  # rotations only: a reflection would mirror the person
    return np.transpose(Vt, (0, 2, 1)) @ D @ np.transpose(U, (0, 2, 1)), np.einsum("ni,nii->n", S, D)


def _kabsch(p: np.ndarray, t: np.ndarray):
    """Rotations (n, 3, 3) taking centred ``p`` (n, P, 3) closest to ``t``; and ``trace(R p^T t)``."""
    return _rotations(np.einsum("npi,npj->nij", p, t))


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) minimising ``sum_p |R source_p - target_p|^2``; no reflections.

    Parameters
    ----------
    source : (n, P, 3) float
        Point sets already centred (the rotation is about the origin).
    target : (n, P, 3) or (P, 3) float
        Centred targets (one target for all is broadcast).
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    # a matrix product (not einsum) for the covariances: with one (P, 3) target these are the
    # learner's torso alignment's products, bit for bit
    return _rotations(np.swapaxes(source, -1, -2) @ target)[0]


def procrustes_rotations(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) that best turn ``predicted`` (n, P, 3) onto ``truth`` about their centroids.

    The rotation of :func:`similarity_align`; no reflections.
    """
    return _kabsch(predicted - predicted.mean(axis=1, keepdims=True),
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
        R, fit = _kabsch(p, t)
        p = np.einsum("nij,npj->npi", R, p)
        scale = fit / np.sum(p ** 2, axis=(1, 2))
    else:
        scale = np.sum(p * t, axis=(1, 2)) / np.sum(p * p, axis=(1, 2))
    return scale[:, None, None] * p + mu_t


# --------------------------------------------------------------------------------------------- errors
def pa_mpjpe(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame mean joint error (same units) after similarity Procrustes alignment; (n, P, 3) -> (n,)."""
    return np.linalg.norm(similarity_align(predicted, truth) - truth, axis=-1).mean(axis=1)


def scale_translation_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame mean joint error in the camera frame after aligning scale and translation only.

    A depth flip or a wrong rotation cannot be aligned away, so this
    catches them where PA-MPJPE does not.  (n, P, 3) -> (n,).
    """
    return np.linalg.norm(similarity_align(predicted, truth, rotate=False) - truth, axis=-1).mean(axis=1)


def lift_errors(joints3d: np.ndarray, camera3d: np.ndarray, joints=None) -> dict:
    """Both errors of lifted poses against the truth, in millimetres, over the frames that were lifted.

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres
        Lifted poses; a frame with any NaN (not lifted) counts as failed.
    camera3d : (n, P, 3) float, metres
        The true poses in the camera frame.
    joints : sequence of int, optional
        The joints scored (default: all).

    Returns
    -------
    dict
        ``pa`` and ``st`` ((n_lifted,) mm: PA-MPJPE and the camera-frame
        error), ``failed`` (frames not lifted) and ``lifted`` ((n,) bool).
    """
    joints3d = np.asarray(joints3d, dtype=np.float64)
    camera3d = np.asarray(camera3d, dtype=np.float64)
    index = slice(None) if joints is None else list(joints)
    ok = np.all(np.isfinite(joints3d), axis=(1, 2))
    predicted, truth = joints3d[ok][:, index], camera3d[ok][:, index]
    return dict(pa=pa_mpjpe(predicted, truth) * 1000.0, st=scale_translation_error(predicted, truth) * 1000.0,
                failed=int(np.count_nonzero(~ok)), lifted=ok)


def sample_depth_relations(camera3d: np.ndarray, joint_names, k: int, rng: np.random.Generator,
                           threshold: float = 0.1, wrong: float = 0.0) -> list:
    """``k`` true ordinal depth relations per frame, as an annotator would give them.

    Parameters
    ----------
    camera3d : (n, P, 3) float, metres
        The true poses in the camera frame (z away from the camera).
    joint_names : sequence of str
    k : int
        Relations per frame: pairs drawn uniformly from those whose depths
        differ by more than ``threshold`` (fewer if there are not enough).
    rng : numpy.random.Generator
    threshold : float, metres
    wrong : float
        Fraction of relations turned round (a wrong hint), for robustness checks.

    Returns
    -------
    list of lists of (joint_a, "<" | ">", joint_b)
        One list per frame (:mod:`lift2d3d.depth_order`).
    """
    frames = []
    P = camera3d.shape[1]
    pairs_all = [(a, b) for a in range(P) for b in range(a + 1, P)]
    for z in np.asarray(camera3d)[..., 2]:
        pairs = [(a, b) for a, b in pairs_all if abs(z[a] - z[b]) > threshold]
        relations = []
        for index in rng.permutation(len(pairs))[:k]:
            a, b = pairs[index]
            nearer = z[a] < z[b]
            if rng.random() < wrong:
                nearer = not nearer
            relations.append((joint_names[a], "<" if nearer else ">", joint_names[b]))
        frames.append(relations)
    return frames


def score_lifts(lifter, keypoints: np.ndarray, camera3d: np.ndarray, takes=None, joints=None,
                depth_order=None, sequence_options=None) -> dict:
    """Lift ``keypoints`` with ``lifter`` and score the lifts against ``camera3d``.

    Parameters
    ----------
    lifter : Lifter
        Any object with ``lift``, ``lift_sequence`` and ``skeleton``.
    keypoints : (n, P, 2) float, pixels
        In ``lifter.joint_names`` order.
    camera3d : (n, P, 3) float, metres
        The true poses in the camera frame.
    takes : (n,) int, optional
        Take of each frame: the frames of a take are lifted together as one
        person's sequence (:meth:`~lift2d3d.lifter.Lifter.lift_sequence`);
        default: every frame on its own.
    joints : sequence of str, optional
        Joints scored (default: the 12 limb joints,
        :data:`lift2d3d.skeletons.LIMB_JOINTS`).
    depth_order : list of lists, optional
        Ordinal depth hints per frame (:func:`sample_depth_relations`).
    sequence_options : dict, optional
        Keyword arguments of :meth:`~lift2d3d.lifter.Lifter.lift_sequence` (e.g.
        ``smoothness=0`` for frames that are not a video: a random camera each).

    Returns
    -------
    dict
        As :func:`lift_errors`, plus ``seconds`` (the lifting's wall time).
    """
    import time

    from .skeletons import LIMB_JOINTS

    keypoints = np.asarray(keypoints, dtype=np.float64)
    start = time.perf_counter()
    hints = {} if depth_order is None else {"depth_order": depth_order}
    if takes is None:
        joints3d = lifter.lift(keypoints, **hints).joints3d
    else:
        takes = np.asarray(takes)
        joints3d = np.empty(keypoints.shape[:2] + (3,))
        for take in np.unique(takes):
            rows = np.flatnonzero(takes == take)
            take_hints = {} if depth_order is None else {"depth_order": [depth_order[r] for r in rows]}
            joints3d[rows] = lifter.lift_sequence(keypoints[rows], **take_hints, **(sequence_options or {})).joints3d
    seconds = time.perf_counter() - start
    index = [lifter.skeleton.index(j) for j in (LIMB_JOINTS if joints is None else joints)]
    return dict(lift_errors(joints3d, camera3d, index), seconds=seconds)


# ---------------------------------------------------------------------------------------------- video
def clip_starts(n_frames: int, clip_frames: int, n_clips: int) -> np.ndarray:
    """First frames of up to ``n_clips`` clips of ``clip_frames`` consecutive frames, evenly spread over a take.

    The clips overlap only when the take is shorter than ``n_clips *
    clip_frames``; none when the take is shorter than one clip.

    Returns
    -------
    (m,) int, increasing, m <= n_clips
    """
    if n_frames < clip_frames or n_clips < 1:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, n_frames - clip_frames, n_clips).round().astype(int))


def fixed_camera(joints3d: np.ndarray, up, rng: np.random.Generator, perspective: bool = True,
                 orbit_deg: float = 0.0, focal: float = VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"]):
    """One camera for a whole clip, looking at the clip's mean pelvis from a random direction and distance.

    The camera does not follow the person: they move in the image as in a
    video from a tripod.  Its angles and distance are one draw of
    :func:`random_views` (the azimuth counted as
    :func:`lift2d3d.mocap.views.camera_rotation` counts it, so that
    ``benchmarks/temporal.py`` keeps the cameras of its published figures).

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres, world frame
        Consecutive frames; joint 0 is the pelvis.
    up : (3,) float
        The world's up axis.
    rng : numpy.random.Generator
    perspective : bool
        Pinhole projection; otherwise weak perspective with scale
        ``focal / distance``.
    orbit_deg : float, degrees
        The camera turns this far about the up axis through the mean pelvis
        over the clip, at a constant rate (0: a fixed camera).

    Returns
    -------
    camera3d : (n, P, 3) float, metres, camera frame
    keypoints2d : (n, P, 2) float, pixels
    """
    angles, distance = random_views(1, rng)
    angles = angles[0] - [90.0, 0.0, 0.0]
    centred = joints3d - joints3d[:, 0].mean(axis=0)
    if orbit_deg:
        path = np.tile(angles, (len(joints3d), 1))
        path[:, 0] += np.linspace(0.0, orbit_deg, len(joints3d))
        camera3d = np.einsum("nij,npj->npi", camera_rotations(path, up), centred)
    else:
        camera3d = np.einsum("ij,npj->npi", camera_rotations(angles[None], up)[0], centred)
    camera3d[..., 2] += distance[0]
    if perspective:
        return camera3d, focal * camera3d[..., :2] / camera3d[..., 2:3] + np.asarray(principal)
    return camera3d, (focal / distance[0]) * camera3d[..., :2] + np.asarray(principal)


class VideoView(NamedTuple):
    """What :func:`view_clip` returns."""

    #: (n, P, 3) metres, the clip in the camera's frame (the truth)
    camera3d: np.ndarray
    #: (n, P, 2) pixels, with noise; NaN where a joint is missing
    keypoints: np.ndarray
    #: (n, P) 1 where a joint is seen, 0 where it is missing
    scores: np.ndarray


def view_clip(joints3d: np.ndarray, up, rng: np.random.Generator, noise_px: float = 0.0, missing: float = 0.0,
              perspective: bool = True, orbit_deg: float = 0.0) -> VideoView:
    """A clip seen by :func:`fixed_camera`, with Gaussian pixel noise and joints missing at random.

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres, world frame
    up : (3,) float
    rng : numpy.random.Generator
        Draws the camera, then the noise, then (when ``missing > 0``) the
        missing joints.
    noise_px : float, pixels
        Standard deviation of the noise added to each coordinate.
    missing : float
        Probability that a joint is missing in a frame (NaN, score 0).
    perspective, orbit_deg
        As :func:`fixed_camera`.
    """
    camera3d, keypoints = fixed_camera(joints3d, up, rng, perspective=perspective, orbit_deg=orbit_deg)
    keypoints = keypoints + rng.normal(0.0, noise_px, keypoints.shape)
    scores = np.ones(keypoints.shape[:2])
    if missing > 0:
        gone = rng.random(scores.shape) < missing
        keypoints[gone] = np.nan
        scores[gone] = 0.0
    return VideoView(camera3d, keypoints, scores)


def acceleration_error(joints3d: np.ndarray, truth: np.ndarray) -> float:
    """VideoPose3D's acceleration error of one clip (units of the inputs per frame^2).

    The mean over joints and inner frames of ``|(x_{t+1} - 2 x_t + x_{t-1})
    - (same for the truth)|``, both centred on their joints' mean each
    frame, the lift scaled to the truth by one factor for the clip.

    Parameters
    ----------
    joints3d, truth : (n, P, 3) float
        Consecutive frames, n >= 3.
    """
    a = joints3d - joints3d.mean(axis=1, keepdims=True)
    b = truth - truth.mean(axis=1, keepdims=True)
    a = a * (a * b).sum() / (a * a).sum()
    return float(np.linalg.norm((a[2:] - 2 * a[1:-1] + a[:-2]) - (b[2:] - 2 * b[1:-1] + b[:-2]), axis=-1).mean())


def video_errors(joints3d: np.ndarray, camera3d: np.ndarray, joints=None) -> dict:
    """:func:`lift_errors` of one clip, plus its acceleration error ``accel`` (mm/frame^2).

    ``accel`` is NaN when a frame of the clip was not lifted (a gap breaks
    the second differences).
    """
    errors = lift_errors(joints3d, camera3d, joints)
    index = slice(None) if joints is None else list(joints)
    ok = errors["lifted"]
    predicted = np.asarray(joints3d, dtype=np.float64)[ok][:, index]
    truth = np.asarray(camera3d, dtype=np.float64)[ok][:, index]
    accel = 1000.0 * acceleration_error(predicted, truth) if ok.all() and len(ok) >= 3 else np.nan
    return dict(errors, accel=accel)


class NetworkLifts:
    """A lifting network alone, without the geometric fit, behind the face :func:`score_lifts` and
    :func:`score_clips` use (``lift``, ``lift_sequence``, ``skeleton``): the fused method's first component.

    Parameters
    ----------
    network : LiftingNetwork or str
        A network or its name/path (:func:`lift2d3d.learned.load_network`).
    camera : dict or Camera, optional
        ``focal`` and ``principal`` of a pinhole camera (default: weak perspective).
    temporal : TemporalNetwork or str, optional
        The temporal network ``lift_sequence`` runs (:func:`lift2d3d.learned.load_temporal_network`);
        None: ``network`` frame by frame.
    """

    def __init__(self, network="default", camera=None, temporal=None):
        from .learned import load_network, load_temporal_network

        self.network = load_network(network)
        self.temporal = None if temporal is None else load_temporal_network(temporal)
        self.camera = None if camera is None else dict(focal=_field(camera, "focal"),
                                                        principal=_field(camera, "principal"))

    @property
    def skeleton(self):
        return self.network.skeleton

    def lift(self, keypoints, scores=None, **_):
        """The network's 3D of pixel keypoints (N, P, 2): an object with ``joints3d`` (N, P, 3), in pixels at
        the person's depth (the errors here align scale)."""
        from types import SimpleNamespace

        return SimpleNamespace(joints3d=self.network.predict_keypoints(keypoints, scores, **(self.camera or {})))

    def lift_sequence(self, keypoints, scores=None, fps=30.0, **_):
        """The temporal network over the frames (rows consecutive at ``fps``); without one, frame by frame."""
        from types import SimpleNamespace

        if self.temporal is None:
            return self.lift(keypoints, scores)
        return SimpleNamespace(joints3d=self.temporal.predict_keypoints(keypoints, scores, fps=fps,
                                                                         **(self.camera or {})))


def _field(record, name):
    return record[name] if isinstance(record, dict) else getattr(record, name)


def score_clips(lifter, views, fps: float = 30.0, joints=None, sequence_options=None) -> dict:
    """Lift clips frame by frame (``lifter.lift``) and as sequences (``lifter.lift_sequence``) and score both.

    Parameters
    ----------
    lifter : Lifter
    views : sequence of VideoView
        One per clip (:func:`view_clip`), keypoints in ``lifter.joint_names`` order.
    fps : float
        The clips' frame rate (passed to ``lift_sequence``).
    joints : sequence of str, optional
        Joints scored (default: the 12 limb joints).
    sequence_options : dict, optional
        Further keyword arguments of ``lift_sequence``.

    Returns
    -------
    dict
        ``per_frame`` and ``temporal``: lists of :func:`video_errors`, one per
        clip; ``seconds``: the wall time of each way (dict).
    """
    import time

    from .skeletons import LIMB_JOINTS

    index = [lifter.skeleton.index(j) for j in (LIMB_JOINTS if joints is None else joints)]
    out, seconds = {}, {}
    for way in ("per_frame", "temporal"):
        start = time.perf_counter()
        lifts = [lifter.lift(v.keypoints, v.scores) if way == "per_frame" else
                 lifter.lift_sequence(v.keypoints, v.scores, fps=fps, **(sequence_options or {})) for v in views]
        seconds[way] = time.perf_counter() - start
        out[way] = [video_errors(lift.joints3d, v.camera3d, index) for lift, v in zip(lifts, views)]
    return dict(out, seconds=seconds)
