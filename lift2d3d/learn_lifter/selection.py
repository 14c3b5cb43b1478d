"""Choosing a network's settings on held-out performers, and the figures that score a network.

:func:`held_out_views` shows poses to the accuracy benchmark's cameras
(:func:`lift2d3d.evaluation.random_projections`: azimuth 0-360, elevation -15..35,
roll +-8 degrees, 3-6 m, f = 1000 px) with optional pixel noise and missing joints;
:func:`score_network` lifts them with a network alone and scores the 12 limb joints (PA-MPJPE and
the camera-frame error, mm, as :func:`lift2d3d.evaluation.score_lifts`).  :func:`select_lifter`
trains each candidate setting on all but one fold of performers
(:func:`lift2d3d.mocap.corpus.performer_folds`, as ``learn-bases --select``) and scores it on the
held-out fold.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import VIEW_CAMERA, lift_errors, random_projections
from ..mocap.corpus import performer_folds
from ..skeletons import LIMB_JOINTS, get_skeleton

__all__ = ["CONDITIONS", "held_out_views", "score_network", "select_lifter", "evenly_spaced"]

#: The conditions a network is scored under: (name, perspective, noise in pixels, missing joints per frame).
CONDITIONS = (("weak", False, 0.0, 0), ("perspective", True, 0.0, 0),
              ("weak, 6 px, 2 missing", False, 6.0, 2), ("perspective, 6 px, 2 missing", True, 6.0, 2))


def evenly_spaced(n_frames: int, count: int) -> np.ndarray:
    """Up to ``count`` evenly spaced frame indices of a take (all when ``count`` is 0 or the take is shorter)."""
    if not count or n_frames <= count:
        return np.arange(n_frames)
    return np.linspace(0, n_frames - 1, count).round().astype(int)


def held_out_views(poses3d, seed: int = 0, perspective: bool = False, noise_px: float = 0.0, n_missing: int = 0,
                   ups=None):
    """The accuracy benchmark's views of poses, optionally with noise and missing joints.

    Parameters
    ----------
    poses3d : (n, P, 3) float, metres
    seed : int
        Seeds the cameras (as ``lift2d3d evaluate --seed``) and, from ``seed + 11``, the noise and the
        missing joints.
    perspective : bool
        Pinhole (f = 1000 px, principal point (640, 360)) or weak perspective.
    noise_px : float
        Standard deviation of Gaussian noise on each coordinate, pixels.
    n_missing : int
        Joints per frame removed at random (NaN).
    ups : (n, 3) float, optional
        Each pose's up axis (default +y).

    Returns
    -------
    camera3d : (n, P, 3) float, metres, the truth
    keypoints : (n, P, 2) float, pixels, NaN where missing
    """
    camera3d, keypoints = random_projections(poses3d, seed, perspective, ups)[:2]
    rng = np.random.default_rng(seed + 11)
    if noise_px > 0:
        keypoints = keypoints + rng.normal(0.0, noise_px, keypoints.shape)
    if n_missing > 0:
        keypoints = keypoints.copy()
        order = np.argsort(rng.random(keypoints.shape[:2]), axis=1)[:, :int(n_missing)]
        np.put_along_axis(keypoints, order[:, :, None], np.nan, axis=1)
    return camera3d, keypoints


def score_network(network, camera3d, keypoints, perspective: bool) -> dict:
    """Lift pixel keypoints with a network alone and score the 12 limb joints.

    Returns
    -------
    dict
        As :func:`lift2d3d.evaluation.lift_errors`: ``pa`` and ``st`` (n,) mm, ``failed``, ``lifted``.
    """
    camera = dict(focal=VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"]) if perspective else {}
    joints3d = network.predict_keypoints(keypoints, **camera)
    skeleton = get_skeleton(network.skeleton)
    return lift_errors(joints3d, camera3d, [skeleton.index(j) for j in LIMB_JOINTS])


def _fold_frames(clips, fold_of, fold, frames_per_take):
    return np.concatenate([clip[evenly_spaced(len(clip), frames_per_take)]
                           for clip, f in zip(clips, fold_of) if f == fold])


def select_lifter(clips, performers, grid, n_folds: int = 3, frames_per_take: int = 20, seed: int = 0, log=None,
                  **base):
    """Score candidate settings by training without each fold of performers and lifting that fold.

    Parameters
    ----------
    clips : list of (n_i, P, 3) float arrays, metres
        The takes.
    performers : sequence of str
        The performer of each take (folds never split a performer).
    grid : list of dict
        Candidate settings: keyword arguments of :class:`~.learner.LifterLearner` on top of ``base``.
    n_folds : int
    frames_per_take : int
        Evenly spaced frames of each held-out take that are lifted.
    seed : int
        Seeds the held-out cameras (fold ``k`` uses ``seed + k``).
    log : callable, optional
        A line per candidate and fold.
    **base
        Settings every candidate shares.

    Returns
    -------
    dict
        ``table``: a row per candidate (its settings, the mean figures per condition of
        :data:`CONDITIONS` over the folds' frames, ``score``: the mean of PA-MPJPE and camera-frame
        error over the conditions, per-fold scores and training seconds); ``best``: the settings with
        the lowest score; ``fold_performers``; ``n_folds``; ``frames``.
    """
    from .learner import LifterLearner

    clips = [np.asarray(c, dtype=np.float64) for c in clips]
    if len(clips) != len(performers):
        raise ValueError(f"performers must name the performer of each take: {len(performers)} for {len(clips)} takes")
    fold_of = performer_folds(performers, n_folds, weights=[len(c) for c in clips])
    folds = []
    for fold in range(n_folds):
        held = _fold_frames(clips, fold_of, fold, frames_per_take)
        views = {name: held_out_views(held, seed + fold, persp, noise, missing)
                 for name, persp, noise, missing in CONDITIONS}
        train = [c for c, f in zip(clips, fold_of) if f != fold]
        folds.append((train, views, len(held)))
    table = []
    for candidate in grid:
        settings = dict(base, **candidate)
        sums = {name: np.zeros(2) for name, *_ in CONDITIONS}
        fold_scores, seconds, frames = [], [], 0
        for fold, (train, views, n_held) in enumerate(folds):
            learner = LifterLearner(**settings).fit(train)
            network = learner.network_
            fold_sum = 0.0
            for name, persp, _, _ in CONDITIONS:
                scores = score_network(network, *views[name], perspective=persp)
                sums[name] += [scores["pa"].sum(), scores["st"].sum()]
                fold_sum += 0.5 * (scores["pa"].mean() + scores["st"].mean())
            fold_scores.append(round(float(fold_sum / len(CONDITIONS)), 2))
            seconds.append(round(float(learner.seconds_), 1))
            frames += n_held
            if log:
                log(f"  {_label(candidate)}  fold {fold}: score {fold_scores[-1]:.1f} mm ({seconds[-1]:.0f} s)")
        figures = {name: dict(pa_mpjpe_mm=round(float(pa / frames), 2), camera_error_mm=round(float(st / frames), 2))
                   for name, (pa, st) in sums.items()}
        score = float(np.mean([0.5 * (f["pa_mpjpe_mm"] + f["camera_error_mm"]) for f in figures.values()]))
        row = dict(settings=candidate, figures=figures, score=round(score, 2), folds_score=fold_scores,
                   seconds=seconds)
        table.append(row)
        if log:
            log(f"{_label(candidate)}: score {row['score']:.1f} mm; " + "; ".join(
                f"{name} {f['pa_mpjpe_mm']:.1f}/{f['camera_error_mm']:.1f}" for name, f in figures.items()))
    best = min(table, key=lambda r: r["score"])
    return dict(table=table, best=best["settings"], n_folds=n_folds, frames_per_take=frames_per_take,
                frames=int(sum(f[2] for f in folds)), folds_by="performer",
                fold_performers=[sorted({str(p) for p, f in zip(performers, fold_of) if f == k})
                                 for k in range(n_folds)],
                score="mean over the conditions of (PA-MPJPE + camera-frame error) / 2, 12 limb joints, mm",
                conditions=[dict(name=n, perspective=p, noise_px=x, missing_joints=m) for n, p, x, m in CONDITIONS])


def _label(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "(base settings)"
