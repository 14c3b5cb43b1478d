"""TemporalLifterLearner: the temporal lifting network from 3D MoCap takes alone; its held-out clips and selection.

The learner is :class:`~.learner.LifterLearner` (scikit-learn's MLPRegressor, Adam, the one-cycle learning
rate, fresh samples every epoch) drawing videos instead of single views: every epoch cuts every take into
new videos and films them (:func:`.videos.training_videos`), and the samples of the epoch are shuffled
together.  The result is a :class:`lift2d3d.learned.TemporalNetwork`, whose window is ``n_bins`` time bins
of ``bin_s`` seconds, centred on the frame or (``causal``) ending at it.

Held-out figures (:func:`held_out_clips`, :func:`score_clip_lifts`, :func:`select_temporal`) are those of
``lift2d3d evaluate --video`` and ``benchmarks/temporal.py``: clips of 60 consecutive frames at 30 fps
(:func:`lift2d3d.evaluation.clip_starts`), one camera per clip (:func:`lift2d3d.evaluation.view_clip`:
fixed, or orbiting slowly), pixel noise and missing joints; PA-MPJPE, the camera-frame error and the
acceleration error over the 12 limb joints (:func:`lift2d3d.evaluation.video_errors`).
"""

from __future__ import annotations

import numpy as np

from ..evaluation import VIEW_CAMERA, clip_starts, video_errors, view_clip
from ..learned import TemporalNetwork
from ..learned.temporal import bin_edges
from ..mocap.corpus import performer_folds
from ..skeletons import LIMB_JOINTS, get_skeleton
from .learner import LifterLearner
from .selection import _label
from .videos import TAKE_FPS, TemporalAugmentation, training_videos

__all__ = ["TemporalLifterLearner", "CLIP_CONDITIONS", "held_out_clips", "lift_clips", "score_clip_lifts",
           "select_temporal"]

#: The conditions held-out clips are scored under: (name, perspective, noise px, fraction of joints missing,
#: camera orbit over the clip in degrees).
CLIP_CONDITIONS = (("fixed camera, 1 px", True, 1.0, 0.0, 0.0),
                   ("moving camera (30 deg orbit), 1 px", True, 1.0, 0.0, 30.0),
                   ("weak perspective, 1 px", False, 1.0, 0.0, 0.0),
                   ("fixed camera, 4 px, 10% missing", True, 4.0, 0.1, 0.0))


class TemporalLifterLearner(LifterLearner):
    """Learn a temporal lifting network from MoCap takes (estimator style).

    Parameters
    ----------
    hidden : tuple of int, default (512, 512, 512)
        Units of the hidden layers (ReLU).
    n_bins : int, default 5
        Time bins of the window.
    bin_s : float, default 0.1
        Width of a bin, seconds (three frames at 30 fps): the default window reaches 0.25 s before
        and after the frame (chosen on held-out performers, ``bases/README.md``).
    causal : bool, default False
        The window ends at the frame (live use) instead of being centred on it.
    edges : sequence of float, optional
        The bins' edges in seconds, overriding ``n_bins``, ``bin_s`` and ``causal`` (uneven bins).
    n_epochs : int, default 40
    augmentation : TemporalAugmentation or dict, optional
    random_state, log
        As :class:`~.learner.LifterLearner`.
    **training
        :class:`~.learner.LifterLearner`'s training settings, with other defaults (:data:`TRAINING`), and:
    views_per_pose : int, default 2
        Times each take is cut into videos and filmed per epoch.
    batch_size : int, default 256
    learning_rate : float, default 1e-3
    take_fps : float, default 30
        Frame rate of the takes given to :meth:`fit`.
    flip : bool, default True
        The network averages each answer with that of the mirrored sequence at run time
        (:meth:`lift2d3d.learned.TemporalNetwork.predict_sequence`; the card's ``test_time_flip``): about
        5 % less error at twice the work (on, as for the per-frame network: chosen on held-out performers).

    Attributes
    ----------
    network_ : TemporalNetwork
    loss_curve_, n_samples_, seconds_
        As :class:`~.learner.LifterLearner`.
    n_poses_ : int
        Frames of the takes.
    n_takes_ : int
    """

    _augmentation_class = TemporalAugmentation

    #: The training settings taken as keywords, with this learner's defaults.
    TRAINING = dict(LifterLearner.TRAINING, views_per_pose=2, batch_size=256, learning_rate=1e-3, take_fps=TAKE_FPS)

    def __init__(self, hidden=(512, 512, 512), n_bins=5, bin_s=0.1, causal=False, edges=None, n_epochs=40,
                 augmentation=None, random_state=0, log=None, **training):
        super().__init__(hidden=hidden, n_epochs=n_epochs, augmentation=augmentation, random_state=random_state,
                         log=log, **training)
        self.n_bins = n_bins
        self.bin_s = bin_s
        self.causal = causal
        self.edges = edges

    def get_params(self) -> dict:
        """The settings as given (the card's ``method``), with the window's edges worked out."""
        params = super().get_params()
        params.update(n_bins=int(self.n_bins), bin_s=float(self.bin_s), causal=bool(self.causal),
                      edges=None if self.edges is None else [float(e) for e in self.edges],
                      take_fps=float(self.take_fps), flip=bool(self.flip),
                      bin_edges_s=[round(float(e), 9) for e in self.window_edges()])
        return params

    def window_edges(self) -> np.ndarray:
        """The bins' edges (seconds) of the network this learner makes."""
        if self.edges is not None:
            edges = np.asarray(self.edges, dtype=np.float64)
            if edges.ndim != 1 or len(edges) < 2 or not (np.diff(edges) > 0).all() or not edges[0] < 0 <= edges[-1]:
                raise ValueError(f"edges must be increasing times in seconds, the first negative, the last >= 0; "
                                 f"got {list(self.edges)}")
            return edges
        return bin_edges(self.n_bins, self.bin_s, self.causal)

    def _check(self, takes):
        skeleton = get_skeleton(self.skeleton)
        if isinstance(takes, np.ndarray) and takes.ndim == 3:
            takes = [takes]
        pieces = []
        for take in takes:
            take = np.asarray(take, dtype=np.float64)
            if take.ndim != 3 or take.shape[1:] != (skeleton.n_joints, 3):
                raise ValueError(f"expected takes of shape (n_frames, {skeleton.n_joints}, 3) in metres "
                                 f"({skeleton.name} joint order); got {take.shape}")
            # a frame with NaN breaks the take's time: the stretches between such frames are takes of their own
            valid = np.all(np.isfinite(take), axis=(1, 2))
            bounds = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
            pieces += [take[a:b] for a, b in zip(bounds[0::2], bounds[1::2]) if b - a >= 2]
        if sum(len(p) for p in pieces) < 2:
            raise ValueError("need takes with at least 2 consecutive valid frames to learn a temporal network")
        _, hidden = super()._check(np.concatenate(pieces))
        self.window_edges()
        return pieces, hidden

    def _fit(self, takes, hidden, MLPRegressor):
        super()._fit(takes, hidden, MLPRegressor)
        self.n_takes_ = len(takes)
        self.n_poses_ = int(sum(len(t) for t in takes))

    def _samples(self, takes, rng, augmentation):
        """One epoch's samples: every take cut into videos and filmed ``views_per_pose`` times, shuffled together."""
        order = rng.permutation(len(takes))
        views = training_videos([takes[i] for i in order], rng, self.window_edges(), augmentation,
                                int(self.views_per_pose), self.skeleton, float(self.take_fps))
        shuffle = rng.permutation(len(views.inputs))
        return views.inputs[shuffle], views.targets[shuffle]

    def _network(self, weights, biases, standardisation, metadata):
        metadata = dict(metadata, test_time_flip=bool(self.flip))
        return TemporalNetwork(weights=weights, biases=biases, input_offset=standardisation[0],
                               input_scale=standardisation[1], output_offset=standardisation[2],
                               output_scale=standardisation[3], skeleton=self.skeleton, edges=self.window_edges(),
                               metadata=metadata)

    def to_network(self, **metadata) -> TemporalNetwork:
        """The fitted network with its card (as :meth:`LifterLearner.to_network`, plus the takes' count)."""
        network = super().to_network(**metadata)
        network.metadata["training"]["n_takes"] = int(self.n_takes_)
        return network


# ------------------------------------------------------------------------------------ held-out clips
def held_out_clips(takes, seed: int = 0, perspective: bool = True, noise_px: float = 1.0, missing: float = 0.0,
                   orbit_deg: float = 0.0, clip_frames: int = 60, clips_per_take: int = 2, ups=None) -> list:
    """Clips of the takes seen by one camera each (:func:`lift2d3d.evaluation.view_clip`).

    Parameters
    ----------
    takes : list of (n_i, P, 3) float arrays, metres
        Consecutive frames at the clips' frame rate.
    seed : int
        Seeds the cameras, noise and missing joints (drawn clip after clip in one generator).
    perspective, noise_px, missing, orbit_deg
        As :func:`lift2d3d.evaluation.view_clip` (pinhole f = 1000 px, principal point (640, 360)).
    clip_frames : int
    clips_per_take : int
        Evenly spread clips per take (:func:`lift2d3d.evaluation.clip_starts`).
    ups : list of (3,) float, optional
        Each take's up axis (default +y).

    Returns
    -------
    list of VideoView
    """
    rng = np.random.default_rng(seed)
    views = []
    for i, take in enumerate(takes):
        up = np.array([0.0, 1.0, 0.0]) if ups is None else np.asarray(ups[i], dtype=np.float64)
        for start in clip_starts(len(take), clip_frames, clips_per_take):
            views.append(view_clip(np.asarray(take[start:start + clip_frames], dtype=np.float64), up, rng,
                                   noise_px=noise_px, missing=missing, perspective=perspective, orbit_deg=orbit_deg))
    return views


def lift_clips(network, views, perspective: bool, fps: float = 30.0) -> list:
    """Each clip lifted by a network alone: a TemporalNetwork (the clip's frames at ``fps``) or a LiftingNetwork.

    Returns
    -------
    list of (n, P, 3) float arrays, pixels at the person's depth (NaN where not lifted)
    """
    camera = dict(focal=VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"]) if perspective else {}
    if isinstance(network, TemporalNetwork):
        return [network.predict_keypoints(v.keypoints, v.scores, fps=fps, **camera) for v in views]
    return [network.predict_keypoints(v.keypoints, v.scores, **camera) for v in views]


def score_clip_lifts(lifts, views, skeleton="body15") -> dict:
    """PA-MPJPE and camera-frame error (per frame, mm) and the acceleration error (per clip, mm/frame^2).

    Returns
    -------
    dict
        ``pa``, ``st``: (n_frames,) over the lifted frames; ``accel``: (n_clips,) (NaN for a clip with a
        frame not lifted); ``failed``: frames not lifted.
    """
    skeleton = get_skeleton(skeleton)
    limbs = [skeleton.index(j) for j in LIMB_JOINTS]
    errors = [video_errors(lift, v.camera3d, limbs) for lift, v in zip(lifts, views)]
    return dict(pa=np.concatenate([e["pa"] for e in errors]), st=np.concatenate([e["st"] for e in errors]),
                accel=np.array([e["accel"] for e in errors]), failed=int(sum(e["failed"] for e in errors)))


def _figures(scores: dict) -> dict:
    return dict(pa_mpjpe_mm=round(float(scores["pa"].mean()), 2), camera_error_mm=round(float(scores["st"].mean()), 2),
                accel_mm_per_frame2=round(float(np.nanmean(scores["accel"])), 2), failed=scores["failed"])


def select_temporal(takes, performers, grid, n_folds: int = 3, folds=None, clips_per_take: int = 2,
                    clip_frames: int = 60, seed: int = 0, log=None, **base) -> dict:
    """Score candidate settings by training without a fold of performers and lifting that fold's clips.

    Parameters
    ----------
    takes : list of (n_i, P, 3) float arrays, metres, consecutive frames at 30 fps
    performers : sequence of str, one per take (folds never split a performer)
    grid : list of dict
        Candidates: keyword arguments of :class:`TemporalLifterLearner` on top of ``base``.
    n_folds : int
    folds : sequence of int, optional
        The folds scored (default all); each trains on the other folds.
    clips_per_take : int
        Clips of each held-out take, under each of :data:`CLIP_CONDITIONS`.
    clip_frames : int
        Frames per clip (60: 2 s at 30 fps).
    seed : int
        Seeds the held-out views (fold ``k`` uses ``seed + k``).
    log : callable, optional
    **base
        Settings every candidate shares.

    Returns
    -------
    dict
        ``table``: a row per candidate (settings, figures per condition pooled over the folds scored,
        ``score``: the mean over the conditions of (PA-MPJPE + camera-frame error) / 2, per-fold scores,
        training seconds); ``best``; ``n_folds``, ``folds``, ``fold_performers``, ``clips``, ``frames``.
    """
    takes = [np.asarray(t, dtype=np.float64) for t in takes]
    if len(takes) != len(performers):
        raise ValueError(f"performers must name the performer of each take: {len(performers)} for {len(takes)} takes")
    fold_of = performer_folds(performers, n_folds, weights=[len(t) for t in takes])
    folds = list(range(n_folds)) if folds is None else [int(f) for f in folds]
    prepared = []
    for fold in folds:
        held = [t for t, f in zip(takes, fold_of) if f == fold]
        views = {name: held_out_clips(held, seed + fold, persp, noise, missing, orbit, clip_frames=clip_frames,
                                      clips_per_take=clips_per_take)
                 for name, persp, noise, missing, orbit in CLIP_CONDITIONS}
        if not views[CLIP_CONDITIONS[0][0]]:
            raise ValueError(f"fold {fold} has no take of {clip_frames} frames to cut a held-out clip from")
        prepared.append((fold, [t for t, f in zip(takes, fold_of) if f != fold], views))
    table = []
    for candidate in grid:
        settings = dict(base, **candidate)
        pooled = {name: [] for name, *_ in CLIP_CONDITIONS}
        fold_scores, seconds = [], []
        for fold, train, views in prepared:
            learner = TemporalLifterLearner(**settings).fit(train)
            fold_sum = 0.0
            for name, persp, *_ in CLIP_CONDITIONS:
                scores = score_clip_lifts(lift_clips(learner.network_, views[name], persp), views[name])
                pooled[name].append(scores)
                fold_sum += 0.5 * (scores["pa"].mean() + scores["st"].mean())
            fold_scores.append(round(float(fold_sum / len(CLIP_CONDITIONS)), 2))
            seconds.append(round(float(learner.seconds_), 1))
            if log:
                log(f"  {_label(candidate)}  fold {fold}: score {fold_scores[-1]:.1f} mm ({seconds[-1]:.0f} s)")
        figures = {}
        for name, parts in pooled.items():
            figures[name] = _figures(dict(pa=np.concatenate([p["pa"] for p in parts]),
                                          st=np.concatenate([p["st"] for p in parts]),
                                          accel=np.concatenate([p["accel"] for p in parts]),
                                          failed=sum(p["failed"] for p in parts)))
        score = float(np.mean([0.5 * (f["pa_mpjpe_mm"] + f["camera_error_mm"]) for f in figures.values()]))
        row = dict(settings=candidate, figures=figures, score=round(score, 2), folds_score=fold_scores, seconds=seconds)
        table.append(row)
        if log:
            log(f"{_label(candidate)}: score {row['score']:.1f} mm; " + "; ".join(
                f"{name} {f['pa_mpjpe_mm']:.1f}/{f['camera_error_mm']:.1f}/{f['accel_mm_per_frame2']:.1f}"
                for name, f in figures.items()))
    best = min(table, key=lambda r: r["score"])
    n_clips = sum(len(views[CLIP_CONDITIONS[0][0]]) for _, _, views in prepared)
    return dict(table=table, best=best["settings"], n_folds=n_folds, folds=folds, folds_by="performer",
                fold_performers=[sorted({str(p) for p, f in zip(performers, fold_of) if f == k})
                                 for k in range(n_folds)],
                clips=n_clips, clip_frames=clip_frames, clips_per_take=clips_per_take,
                score="mean over the conditions of (PA-MPJPE + camera-frame error) / 2, 12 limb joints, mm",
                conditions=[dict(name=n, perspective=p, noise_px=x, missing=m, orbit_deg=o)
                            for n, p, x, m, o in CLIP_CONDITIONS])
