"""Training views: 3D MoCap poses seen by random cameras as a detector would report them.

Each call draws, for every pose and view, a fresh person and camera:

1. **the person**: bone groups re-scaled (:func:`lift2d3d.mocap.poses.jitter_proportions`, other
   people and rigs), mirrored left-right with probability 1/2;
2. **the camera**: azimuth, elevation and roll uniform in their ranges; weak perspective or, with
   probability ``perspective``, a pinhole camera with a focal length log-uniform in ``focal``
   (pixels of a 1280 x 720 image: fields of view from about 150 to 30 degrees), the person's
   centroid ``distance`` metres away and off the optical axis anywhere in the inner
   ``off_centre`` of the image;
3. **the detector**: Gaussian noise whose spread is a random fraction of the pose's RMS radius plus
   a random number of pixels, ``extremity_noise`` times as much at wrists and ankles; an
   occasional gross error at one joint; missing joints (at random, a limb's end, the head, the
   pelvis or neck when a hip or shoulder is missing, as mapped detectors lose them); occasional
   left/right swaps of the arms' or the legs' labels.

The inputs are what :meth:`lift2d3d.learned.LiftingNetwork.predict` feeds the network
(:func:`lift2d3d.learned.encode_frames` of the frame normalised over its used joints); the
targets are the true camera-frame joints (every joint, missing ones too) in the same units,
centred at the used joints' 3D centroid: divided by the 2D RMS radius under weak perspective,
scaled so that the centroid sits at depth ``focal / sigma`` under perspective.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from ..evaluation import camera_rotations
from ..learned import encode_frames, normalise_keypoints
from ..mocap.poses import jitter_proportions, mirror_poses
from ..skeletons import get_skeleton

__all__ = ["Augmentation", "TrainingViews", "training_views", "IMAGE_HALF_SIZE"]

#: Half the nominal image (pixels) that ``focal`` and ``off_centre`` refer to: 1280 x 720.
IMAGE_HALF_SIZE = (640.0, 360.0)


@dataclass(frozen=True)
class Augmentation:
    """How training views are drawn (angles in degrees, distances in metres, focal lengths in pixels).

    The defaults are the shipped network's (chosen on held-out CMU performers, ``bases/README.md``).
    """

    azimuth: tuple = (0.0, 360.0)
    elevation: tuple = (-30.0, 50.0)
    roll: tuple = (-15.0, 15.0)
    #: fraction of views through a pinhole camera (the rest weak perspective)
    perspective: float = 0.5
    focal: tuple = (400.0, 2500.0)
    distance: tuple = (2.0, 10.0)
    #: the person's centroid lies in this central fraction of the image (each axis)
    off_centre: float = 0.8
    mirror: bool = True
    proportions: bool = True
    #: fraction of views without noise; the others: noise of a log-uniform fraction of the RMS radius
    clean: float = 0.15
    noise: tuple = (0.002, 0.06)
    #: plus up to this many pixels (uniform)
    noise_px: float = 1.5
    #: noise multiplier at wrists and ankles (elbows and knees get the square root of it)
    extremity_noise: float = 2.0
    #: probability of one joint displaced by 10-40 % of the RMS radius
    outlier: float = 0.03
    #: fraction of views with every joint present
    complete: float = 0.5
    #: the others lose each joint with a probability uniform in (0, missing)
    missing: float = 0.15
    #: and, each with this probability, a limb's end (elbow and wrist, knee and ankle, wrist or ankle)
    missing_limb: float = 0.2
    #: and the head
    missing_head: float = 0.1
    #: probability that the arms' (and, independently, the legs') left/right labels are swapped
    swap: float = 0.02

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> "Augmentation":
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown augmentation setting(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(sorted(known))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class TrainingViews(NamedTuple):
    """What :func:`training_views` returns (rows: samples)."""

    #: (n, 3P + 3) float32, the network's unstandardised inputs
    inputs: np.ndarray
    #: (n, 3P) float32, camera-frame joints [x (P), y (P), z (P)] in the inputs' units
    targets: np.ndarray
    #: (n, P) bool, the joints the network saw
    used: np.ndarray
    #: (n,) bool, pinhole views
    perspective: np.ndarray


def _limb_joints(skeleton):
    names = skeleton.joints
    sides = ("left", "right")
    index = {n: i for i, n in enumerate(names)}

    def pair(a, b):
        return [index[f"{s}_{a}"] for s in sides], [index[f"{s}_{b}"] for s in sides]

    return index, pair


def training_views(poses3d: np.ndarray, rng: np.random.Generator, augmentation: Augmentation = Augmentation(),
                   n_views: int = 1, skeleton="body15", up=(0.0, 1.0, 0.0)) -> TrainingViews:
    """Random detector-like 2D views of 3D poses, with the network's inputs and targets.

    Parameters
    ----------
    poses3d : (n, P, 3) float, metres, world frame (``up`` is up)
    rng : numpy.random.Generator
        Draws everything (a seed gives the same views).
    augmentation : Augmentation
    n_views : int
        Views of each pose (each with its own person, camera and detector).
    skeleton : str or Skeleton
        ``body15`` (the names of the wrists, ankles, hips, shoulders and head are used).

    Returns
    -------
    TrainingViews
        In pose-major order; views the encoding cannot use (fewer than two
        distinct joints left) are dropped.
    """
    aug = augmentation
    skeleton = get_skeleton(skeleton)
    P = skeleton.n_joints
    poses = np.repeat(np.asarray(poses3d, dtype=np.float64).transpose(0, 2, 1), int(n_views), axis=0)
    n = len(poses)
    if aug.proportions:
        poses = jitter_proportions(poses, rng, skeleton)
    if aug.mirror:
        flip = rng.random(n) < 0.5
        poses[flip] = mirror_poses(poses[flip], skeleton)
    poses = poses - poses.mean(axis=2, keepdims=True)

    angles = np.stack([rng.uniform(*aug.azimuth, n), rng.uniform(*aug.elevation, n), rng.uniform(*aug.roll, n)], 1)
    camera = camera_rotations(angles, up) @ poses                      # (n, 3, P), centred
    pinhole = rng.random(n) < aug.perspective
    focal = np.exp(rng.uniform(*np.log(aug.focal), n))
    distance = rng.uniform(*aug.distance, n)
    off = rng.uniform(-aug.off_centre, aug.off_centre, (n, 2)) * np.asarray(IMAGE_HALF_SIZE) / focal[:, None]
    # pinhole: the centroid at (off * d, d); weak perspective: the scale focal / d about it
    camera[pinhole, :2] += (off[pinhole] * distance[pinhole, None])[:, :, None]
    camera[:, 2] += distance[:, None]
    pixels = np.empty((n, 2, P))
    pixels[pinhole] = focal[pinhole, None, None] * camera[pinhole, :2] / camera[pinhole, 2:3]
    pixels[~pinhole] = (focal / distance)[~pinhole, None, None] * camera[~pinhole, :2]

    # the detector: noise, a gross error, lost joints, swapped labels
    index, pair = _limb_joints(skeleton)
    radius = np.sqrt(((pixels - pixels.mean(axis=2, keepdims=True)) ** 2).sum(axis=1).mean(axis=1))
    spread = np.exp(rng.uniform(*np.log(aug.noise), n)) * radius + rng.uniform(0.0, aug.noise_px, n)
    spread[rng.random(n) < aug.clean] = 0.0
    joint_scale = np.ones(P)
    wrists_ankles = pair("elbow", "wrist")[1] + pair("knee", "ankle")[1]
    elbows_knees = pair("elbow", "wrist")[0] + pair("knee", "ankle")[0]
    joint_scale[wrists_ankles] = aug.extremity_noise
    joint_scale[elbows_knees] = np.sqrt(aug.extremity_noise)
    pixels = pixels + rng.normal(size=pixels.shape) * (spread[:, None, None] * joint_scale)
    gross = np.flatnonzero(rng.random(n) < aug.outlier)
    if len(gross):
        which = rng.integers(0, P, len(gross))
        direction = rng.normal(size=(len(gross), 2))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        pixels[gross, :, which] += direction * (rng.uniform(0.1, 0.4, len(gross)) * radius[gross])[:, None]

    used = np.ones((n, P), dtype=bool)
    partial = rng.random(n) >= aug.complete
    rate = rng.uniform(0.0, aug.missing, n)
    used &= ~(partial[:, None] & (rng.random((n, P)) < rate[:, None]))
    limb_ends = [pair("elbow", "wrist")[0] + pair("elbow", "wrist")[1], pair("knee", "ankle")[0]
                 + pair("knee", "ankle")[1]]
    for s in range(2):           # one side's elbow+wrist, knee+ankle, wrist or ankle
        lose = partial & (rng.random(n) < aug.missing_limb)
        kind = rng.integers(0, 4, n)
        for k, joints in enumerate(([limb_ends[0][s], limb_ends[0][2 + s]], [limb_ends[1][s], limb_ends[1][2 + s]],
                                    [limb_ends[0][2 + s]], [limb_ends[1][2 + s]])):
            used[np.ix_(lose & (kind == k), joints)] = False
    used[partial & (rng.random(n) < aug.missing_head), index["head"]] = False
    # a detector without pelvis and neck points: they come from both hips / both shoulders
    derived = partial & (rng.random(n) < 0.5)
    hips, shoulders = pair("hip", "shoulder")
    used[derived & ~used[:, hips].all(axis=1), index["pelvis"]] = False
    used[derived & ~used[:, shoulders].all(axis=1), index["neck"]] = False

    arms = [index[f"{s}_{j}"] for j in ("shoulder", "elbow", "wrist") for s in ("left", "right")]
    legs = [index[f"{s}_{j}"] for j in ("hip", "knee", "ankle") for s in ("left", "right")]
    for joints in (arms, legs):
        swap = rng.random(n) < aug.swap
        order = np.arange(P)
        order[joints[0::2]], order[joints[1::2]] = joints[1::2], joints[0::2]
        pixels[swap] = pixels[swap][:, :, order]
        used[swap] = used[swap][:, order]

    # what the solver would hand the network, and the truth in its units
    W, t0, sigma = normalise_keypoints(pixels, used.astype(np.float64))
    row = np.zeros((n, 3))
    row[pinhole, 0] = sigma[pinhole] / focal[pinhole]
    row[pinhole, 1:] = t0[pinhole] / focal[pinhole, None]
    inputs, r, ok = encode_frames(W, used.astype(np.float64), row)
    weights = used.astype(np.float64)
    centre = (camera * weights[:, None, :]).sum(axis=2) / np.maximum(weights.sum(axis=1), 1.0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(pinhole, focal / (sigma * centre[:, 2]), (focal / distance) / sigma)
        targets = (camera - centre[:, :, None]) * scale[:, None, None] / r[:, None, None]
    ok &= np.isfinite(targets).all(axis=(1, 2))
    return TrainingViews(inputs[ok].astype(np.float32), targets[ok].reshape(int(ok.sum()), 3 * P).astype(np.float32),
                         used[ok], pinhole[ok])
