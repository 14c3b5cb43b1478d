"""Training videos: MoCap takes filmed by random cameras as a detector would report them, frame after frame.

The temporal network (:class:`lift2d3d.learned.TemporalNetwork`) learns from *videos*: each take is
cut into segments of random length, and every segment is filmed once per view with its own

1. **person**: one mirror and one set of proportions for all its frames
   (:func:`lift2d3d.mocap.poses.jitter_proportions` with ``shared=True``);
2. **clock**: a frame rate from ``rates`` (24, 25, 30, 50, 60 fps), a random phase, and the motion
   played ``tempo`` times as fast (backwards in a fraction ``reverse`` of the videos); poses between
   the corpus' 30 fps frames are Catmull-Rom interpolated (:func:`take_poses`);
3. **camera**: one pinhole (probability ``perspective``) or weak-perspective camera aimed at the
   segment's mean pelvis (azimuth, elevation, roll, distance and focal length as the per-frame
   :class:`~.views.Augmentation` draws them, the person off the optical axis by up to
   ``off_centre`` of the image); fixed, or with probability ``moving`` orbiting, panning and
   dollying slowly (up to ``orbit`` deg/s, ``pan`` deg/s and ``dolly`` m/s); pushed back when the
   person would come closer than 1 m or leave the image;
4. **detector**: white noise of one level per video (a random fraction of the person's RMS radius
   plus up to ``noise_px`` pixels, ``extremity_noise`` at wrists and ankles) and temporally
   correlated jitter (an AR(1) process, ``jitter`` of the white level, correlation time ``jitter_s``);
   occasional gross errors; joints missing at random, in occlusion runs (a limb's end or the head for
   ``occlusion_s`` seconds, ``occlusions`` per second) and derived (the pelvis and neck without both
   hips or shoulders); runs of ``swap_frames`` frames with the arms' or legs' left/right labels
   swapped; dropped frames (at random, and gaps of ``gap_s`` seconds).

Then, per video, exactly what the runtime does: each frame normalised as the solver normalises it,
its perspective row, and the window encoding (:func:`lift2d3d.learned.temporal.window_inputs`) at
the video's frame times.  The targets are each frame's true camera-frame joints in its units, as
:func:`.views.training_views` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter

from ..evaluation import camera_rotations
from ..learned import encode_frames, normalise_keypoints
from ..learned.temporal import window_inputs, window_prefix
from ..mocap.poses import jitter_proportions, mirror_poses
from ..skeletons import get_skeleton
from .views import IMAGE_HALF_SIZE, Augmentation, TrainingViews, _limb_joints

__all__ = ["TemporalAugmentation", "training_videos", "take_poses", "film_video", "video_samples", "Video",
           "TAKE_FPS"]

#: Frame rate of the corpus' takes (:func:`lift2d3d.mocap.corpus.read_corpus`'s default).
TAKE_FPS = 30.0

#: Nearest the camera any joint may come (metres; a person closer is pushed back).
MIN_DEPTH = 1.0


@dataclass(frozen=True)
class TemporalAugmentation(Augmentation):
    """How training videos are drawn: the per-frame :class:`~.views.Augmentation` fields, per video, and these.

    Seconds, degrees, metres, pixels.  The defaults are the shipped temporal network's.
    """

    #: frame rates, drawn uniformly
    rates: tuple = (24.0, 25.0, 30.0, 50.0, 60.0)
    #: the motion played this many times as fast (log-uniform)
    tempo: tuple = (0.8, 1.25)
    #: seconds of take per video (log-uniform)
    duration: tuple = (0.5, 3.0)
    #: fraction of videos that play the take backwards (more motions from the same takes)
    reverse: float = 0.0
    #: fraction of videos whose camera moves (the others: fixed)
    moving: float = 0.5
    #: largest orbit about the person, pan (yaw and pitch) and dolly rates of a moving camera (deg/s, deg/s, m/s)
    orbit: float = 15.0
    pan: float = 6.0
    dolly: float = 0.4
    #: correlated jitter: its level as a fraction of the white noise (uniform), its correlation time (log-uniform)
    jitter: tuple = (0.0, 1.0)
    jitter_s: tuple = (0.05, 0.5)
    #: occlusion runs per second of a video with missing joints, and their length in seconds (uniform)
    occlusions: float = 0.3
    occlusion_s: tuple = (0.1, 1.5)
    #: length in frames of a run of swapped labels (``swap`` is now the probability that a frame starts one)
    swap_frames: tuple = (1, 8)
    #: dropped frames: a per-video rate uniform in (0, drop), and gaps per second of ``gap_s`` seconds
    drop: float = 0.05
    gaps: float = 0.05
    gap_s: tuple = (0.1, 1.0)
    # per video rather than per view, a swapped label is a run of frames
    swap: float = 0.01
    #: frames per second of video that become samples (at random; every frame is filmed and encoded): a 60 fps
    #: video would otherwise give twice the (nearly repeated) samples of a 30 fps one
    samples_per_s: float = 30.0


def take_poses(joints3d: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """A take's poses at fractional frame positions, Catmull-Rom interpolated (the frames themselves at integers).

    Parameters
    ----------
    joints3d : (n, P, 3) float
    positions : (m,) float, in [0, n - 1]

    Returns
    -------
    (m, P, 3) float
    """
    n = len(joints3d)
    positions = np.clip(np.asarray(positions, dtype=np.float64), 0.0, n - 1)
    i = np.minimum(np.floor(positions).astype(int), max(n - 2, 0))
    f = (positions - i)[:, None, None]
    p0, p1 = joints3d[np.maximum(i - 1, 0)], joints3d[i]
    p2, p3 = joints3d[np.minimum(i + 1, n - 1)], joints3d[np.minimum(i + 2, n - 1)]
    return p1 + 0.5 * f * ((p2 - p0) + f * ((2 * p0 - 5 * p1 + 4 * p2 - p3) + f * (3 * (p1 - p2) + p3 - p0)))


class Video(NamedTuple):
    """One filmed video (:func:`film_video`)."""

    #: (m,) seconds, strictly increasing (dropped frames are gone)
    times: np.ndarray
    #: (m, 2, P) pixels relative to the principal point, with the detector's noise, swaps and outliers
    keypoints: np.ndarray
    #: (m, P) bool, the joints the detector reports
    used: np.ndarray
    #: (m, 3, P) metres, the true joints in the camera frame (labels never swapped)
    camera3d: np.ndarray
    #: a pinhole camera (else weak perspective)
    pinhole: bool
    #: pixels
    focal: float
    #: (m,) pixels per metre of weak perspective (focal / depth of the aim point)
    weak_scale: np.ndarray


def _log_uniform(rng, bounds):
    low, high = bounds
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _runs(rng, m, n_runs, length_frames):
    """``n_runs`` boolean (m,) masks, each a run of frames of a length uniform in ``length_frames`` (low, high) at a
    random start (runs may start before the first frame or end after the last)."""
    out = []
    for _ in range(int(n_runs)):
        length = int(rng.integers(int(length_frames[0]), int(max(length_frames[1], length_frames[0])) + 1))
        start = int(rng.integers(-length + 1, m))
        mask = np.zeros(m, dtype=bool)
        mask[max(start, 0):max(start + length, 0)] = True
        out.append(mask)
    return out


def film_video(joints3d: np.ndarray, start: float, duration: float, rng: np.random.Generator,
               augmentation: TemporalAugmentation = TemporalAugmentation(), skeleton="body15",
               take_fps: float = TAKE_FPS) -> Video:
    """Film ``duration`` seconds of a take from ``start`` (seconds) with a random person, clock, camera, detector.

    Parameters
    ----------
    joints3d : (n, P, 3) float, metres, y up
        The take at ``take_fps``.
    start, duration : float, seconds of the take
    rng : numpy.random.Generator
    augmentation : TemporalAugmentation
    skeleton : str or Skeleton

    Returns
    -------
    Video
        At least one frame.
    """
    aug = augmentation
    skeleton = get_skeleton(skeleton)
    P = skeleton.n_joints
    index, pair = _limb_joints(skeleton)

    # the clock: frame rate, phase, tempo
    rate = float(rng.choice(np.asarray(aug.rates, dtype=np.float64)))
    tempo = _log_uniform(rng, aug.tempo)
    video_s = duration / tempo
    times = rng.uniform(0.0, 1.0 / rate) + np.arange(max(int(np.floor(video_s * rate)), 1)) / rate
    take_times = start + duration - tempo * times if rng.random() < aug.reverse else start + tempo * times
    poses = take_poses(joints3d, take_times * take_fps).transpose(0, 2, 1)      # (m, 3, P)
    m = len(times)

    # the person
    if aug.mirror and rng.random() < 0.5:
        poses = mirror_poses(poses, skeleton)
    if aug.proportions:
        poses = jitter_proportions(poses, rng, skeleton, shared=True)

    # the camera: aimed at the mean pelvis, maybe orbiting, panning, dollying
    moving = rng.random() < aug.moving
    rates = rng.uniform(-1.0, 1.0, 4) * np.array([aug.orbit, aug.pan, aug.pan, aug.dolly]) * moving
    angles = np.tile([rng.uniform(*aug.azimuth), rng.uniform(*aug.elevation), rng.uniform(*aug.roll)], (m, 1))
    angles[:, 0] += rates[0] * times
    pinhole = bool(rng.random() < aug.perspective)
    focal = _log_uniform(rng, aug.focal)
    distance = rng.uniform(*aug.distance) + rates[3] * times
    aim = poses[:, :, skeleton.index("pelvis")].mean(axis=0)
    camera = camera_rotations(angles) @ (poses - aim[None, :, None])
    camera[:, 2] += np.maximum(distance, MIN_DEPTH + 1.0)[:, None]
    # a pan turns the camera about its centre: the person off the axis by up to off_centre of the image
    off = rng.uniform(-aug.off_centre, aug.off_centre, 2) * np.asarray(IMAGE_HALF_SIZE) / focal
    yaw = -np.arctan(off[0]) + np.radians(rates[1]) * times
    pitch = np.arctan(off[1]) + np.radians(rates[2]) * times
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    turn = np.zeros((m, 3, 3))
    turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = cy, sy, 1.0, -sy, cy
    tilt = np.zeros((m, 3, 3))
    tilt[:, 0, 0], tilt[:, 1, 1], tilt[:, 1, 2], tilt[:, 2, 1], tilt[:, 2, 2] = 1.0, cp, -sp, sp, cp
    camera = tilt @ turn @ camera
    # pushed back (along the optical axis) so that no joint comes nearer than MIN_DEPTH and the person stays
    # within the image
    centre = camera.mean(axis=2)
    limit = 1.1 * np.asarray(IMAGE_HALF_SIZE) / focal
    push = max(0.0, float((MIN_DEPTH - camera[:, 2]).max()),
               float((np.abs(centre[:, :2]) / limit - centre[:, 2:3]).max()) if pinhole else 0.0)
    camera[:, 2] += push
    aim_depth = (tilt @ turn @ np.stack([np.zeros(m), np.zeros(m), np.maximum(distance, MIN_DEPTH + 1.0)],
                                        axis=1)[:, :, None])[:, 2, 0] + push
    weak_scale = focal / aim_depth
    pixels = focal * camera[:, :2] / camera[:, 2:3] if pinhole else weak_scale[:, None, None] * camera[:, :2]

    # the detector: white noise and correlated jitter of one level per video, gross errors
    radius = np.sqrt(((pixels - pixels.mean(axis=2, keepdims=True)) ** 2).sum(axis=1).mean(axis=1))
    spread = 0.0 if rng.random() < aug.clean else (_log_uniform(rng, aug.noise) * float(np.median(radius))
                                                    + rng.uniform(0.0, aug.noise_px))
    joint_scale = np.ones(P)
    joint_scale[pair("elbow", "wrist")[1] + pair("knee", "ankle")[1]] = aug.extremity_noise
    joint_scale[pair("elbow", "wrist")[0] + pair("knee", "ankle")[0]] = np.sqrt(aug.extremity_noise)
    white = rng.normal(size=pixels.shape)
    level = rng.uniform(*aug.jitter)
    a = np.exp(-1.0 / (rate * _log_uniform(rng, aug.jitter_s)))
    # an AR(1) process of unit variance from the first frame: x_j = a x_{j-1} + sqrt(1 - a^2) e_j, x_0 = e_0
    shocks = rng.normal(size=pixels.shape)
    shocks[1:] *= np.sqrt(1.0 - a * a)
    jitter = lfilter([1.0], [1.0, -a], shocks, axis=0)
    pixels = pixels + (white + level * jitter) * (spread * joint_scale)
    gross = np.flatnonzero(rng.random(m) < aug.outlier)
    if len(gross):
        which = rng.integers(0, P, len(gross))
        direction = rng.normal(size=(len(gross), 2))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        pixels[gross, :, which] += direction * (rng.uniform(0.1, 0.4, len(gross)) * radius[gross])[:, None]

    # missing joints: at random, in occlusion runs, derived pelvis and neck
    used = np.ones((m, P), dtype=bool)
    if rng.random() >= aug.complete:
        used &= rng.random((m, P)) >= rng.uniform(0.0, aug.missing)
        ends = [pair("elbow", "wrist"), pair("knee", "ankle")]
        for run in _runs(rng, m, rng.poisson(aug.occlusions * video_s), np.asarray(aug.occlusion_s) * rate):
            side, kind = int(rng.integers(0, 2)), int(rng.integers(0, 6))
            joints = ([ends[0][1][side]], [ends[0][0][side], ends[0][1][side]], [ends[1][1][side]],
                      [ends[1][0][side], ends[1][1][side]], [index["head"]], [int(rng.integers(0, P))])[kind]
            used[np.ix_(run, joints)] = False
        if rng.random() < 0.5:     # a detector without pelvis and neck points: they come from both hips/shoulders
            hips, shoulders = pair("hip", "shoulder")
            used[~used[:, hips].all(axis=1), index["pelvis"]] = False
            used[~used[:, shoulders].all(axis=1), index["neck"]] = False

    # swapped labels, in runs of frames
    arms = [index[f"{s}_{j}"] for j in ("shoulder", "elbow", "wrist") for s in ("left", "right")]
    legs = [index[f"{s}_{j}"] for j in ("hip", "knee", "ankle") for s in ("left", "right")]
    for run in _runs(rng, m, (rng.random(m) < aug.swap).sum(), aug.swap_frames):
        joints = arms if rng.random() < 0.5 else legs
        order = np.arange(P)
        order[joints[0::2]], order[joints[1::2]] = joints[1::2], joints[0::2]
        pixels[run] = pixels[run][:, :, order]
        used[run] = used[run][:, order]

    # dropped frames: at random, and gaps
    keep = rng.random(m) >= rng.uniform(0.0, aug.drop)
    for run in _runs(rng, m, rng.poisson(aug.gaps * video_s), np.asarray(aug.gap_s) * rate):
        keep &= ~run
    if not keep.any():
        keep[int(rng.integers(0, m))] = True
    return Video(times[keep], pixels[keep], used[keep], camera[keep], pinhole, focal, weak_scale[keep])


def video_samples(video: Video, edges: np.ndarray, chosen=None):
    """The temporal network's inputs and targets of a video's usable frames (the runtime's encoding).

    ``chosen`` : (m,) bool, optional: only these frames become samples (all frames are encoded as neighbours).

    Returns
    -------
    TrainingViews
        ``inputs`` (n, n_in) float32, ``targets`` (n, 3P) float32 in each frame's plain units centred
        at its used joints' 3D centroid, ``used`` (n, P), ``perspective`` (n,).
    """
    m, _, P = video.keypoints.shape
    weights = video.used.astype(np.float64)
    W, t0, sigma = normalise_keypoints(video.keypoints, weights)
    row = np.zeros((m, 3))
    if video.pinhole:
        row[:, 0] = sigma / video.focal
        row[:, 1:] = t0 / video.focal
    row = np.nan_to_num(row)
    frame_inputs, r, ok = encode_frames(W, weights, row)
    centre = (video.camera3d * weights[:, None, :]).sum(axis=2) / np.maximum(weights.sum(axis=1), 1.0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (video.focal / (sigma * centre[:, 2])) if video.pinhole else video.weak_scale / sigma
        targets = (video.camera3d - centre[:, :, None]) * (scale / r)[:, None, None]
    ok &= np.isfinite(targets).all(axis=(1, 2))
    if chosen is not None:
        ok &= chosen
    rows = np.flatnonzero(ok)
    inputs = window_inputs(frame_inputs, window_prefix(frame_inputs, P), video.times, edges, rows)
    return TrainingViews(inputs, targets[rows].reshape(len(rows), 3 * P).astype(np.float32), video.used[rows],
                         np.full(len(rows), video.pinhole))


def training_videos(takes, rng: np.random.Generator, edges: np.ndarray,
                    augmentation: TemporalAugmentation = TemporalAugmentation(), n_views: int = 1,
                    skeleton="body15", take_fps: float = TAKE_FPS) -> TrainingViews:
    """Every take cut into videos (``n_views`` times, each a new cut) and filmed: the temporal network's samples.

    Parameters
    ----------
    takes : list of (n_i, P, 3) float arrays, metres, y up, at ``take_fps``
        Consecutive frames (takes shorter than two frames are skipped).
    rng : numpy.random.Generator
    edges : (n_bins + 1,) float, seconds
        The network's time bins.
    augmentation : TemporalAugmentation
    n_views : int
    skeleton : str or Skeleton

    Returns
    -------
    TrainingViews
        Samples in take, view and frame order.
    """
    parts = []
    for take in takes:
        take = np.asarray(take, dtype=np.float64)
        length = (len(take) - 1) / take_fps
        if length <= 0:
            continue
        for _ in range(int(n_views)):
            start = 0.0
            while start < length:
                duration = min(_log_uniform(rng, augmentation.duration), length - start)
                video = film_video(take, start, duration, rng, augmentation, skeleton, take_fps)
                start += duration
                rate = 1.0 / np.median(np.diff(video.times)) if len(video.times) > 1 else take_fps
                samples = video_samples(video, edges, rng.random(len(video.times)) < augmentation.samples_per_s / rate)
                if len(samples.inputs):
                    parts.append(samples)
    if not parts:
        P = get_skeleton(skeleton).n_joints
        from ..learned.temporal import n_temporal_inputs

        return TrainingViews(np.zeros((0, n_temporal_inputs(P, len(edges) - 1)), np.float32),
                             np.zeros((0, 3 * P), np.float32), np.zeros((0, P), bool), np.zeros(0, bool))
    return TrainingViews(*(np.concatenate([getattr(p, name) for p in parts]) for name in TrainingViews._fields))
