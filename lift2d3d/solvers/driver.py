"""The solvers' public face: a batch of frames, or one person's frames over time, from records to a solution.

:func:`solve` lifts a batch frame by frame (:mod:`lift2d3d.solvers.batch`);
:func:`solve_sequence` lifts one person's frames jointly: each frame on its
own first, then all of them together in overlapping windows
(:mod:`lift2d3d.solvers.windows`, :mod:`lift2d3d.solvers.temporal`), after the
frames whose left and right limbs a detector swapped are swapped back
(:mod:`lift2d3d.solvers.labels`).  A lifting network (:mod:`lift2d3d.learned`)
enters as each frame's prior (:class:`~lift2d3d.solvers.records.Frames`), filled
from the normalised keypoints as the frames are solved.  :func:`prepare`
compiles what a run needs before it starts.
"""

from __future__ import annotations

import numpy as np

from .. import status as _status
from . import batch, windows
from .records import Solution, new_solution, subset
from .temporal import TemporalOptions

__all__ = ["solve", "solve_sequence", "sequence_options", "prepare", "network_prior", "sequence_prior",
           "TEMPORAL_FPS"]

#: Joint iterations of the temporal refinement (each one solves every frame of a window together).
#: On 60 CMU clips (30 DeepMimic-retargeted, 30 BVH, 60 frames, 1 px) and 10 synthetic ones, PA-MPJPE
#: / camera-frame error relative to per frame: 3 iterations 0.93 / 0.92, 5 0.92 / 0.92, 8 0.91 / 0.91
#: (acceleration error 0.28, 0.23, 0.20), at 0.76, 0.94 and 1.26 ms per frame with the per-frame lift.
TEMPORAL_ITERATIONS = 5
#: Depth-correction rounds of the temporal refinement with a camera: on the 30 DeepMimic-retargeted
#: clips 1, 2, 3 rounds gave camera-frame errors 70.0, 69.4, 69.2 mm (per frame 77.1) at 1.2, 1.8,
#: 2.5 ms per frame.
TEMPORAL_POSIT_ROUNDS = 2
#: ``c^2`` of the Cauchy loss on each acceleration row (:func:`lift2d3d.solvers.temporal.temporal_value`):
#: a cut in the video, or another person taking over a track, then pulls its neighbours with a bounded
#: force.  On the CMU clips 0 (quadratic), 1 and 3 gave the same errors within 0.3 mm.
TEMPORAL_ROBUST_SCALE = 3.0
#: A frame whose temporal fit leaves its keypoints by more than this fraction of the plausibility
#: limit (:data:`lift2d3d.status.MAX_RELATIVE_REPROJECTION`, of the pose's size), while its
#: own fit does not, keeps its own lift, so that smoothing alone never makes a frame
#: ``suspect_input`` (before this rule, 1 to 3 of the 3,000 frames of the CMU clips of
#: ``benchmarks/temporal.py`` were, at up to 24 %); a cut in a video is the other case.
TEMPORAL_MAX_DRIFT = 0.75
#: The frame rate at which the temporal weights were chosen (their time unit is one frame at this rate).
TEMPORAL_FPS = 30.0


def sequence_options(smoothness, proportions, max_gap, window, overlap, tol, n_joints, n_bases):
    """The temporal options of a sequence lift (the rest at the values chosen on the CMU clips, above)."""
    return TemporalOptions(smoothness=float(smoothness), max_gap=float(max_gap), max_iter=TEMPORAL_ITERATIONS,
                           tol=float(tol), cap=min(2 * n_joints, n_bases), n_posit=TEMPORAL_POSIT_ROUNDS,
                           robust_scale=TEMPORAL_ROBUST_SCALE, proportions=float(proportions), window=int(window),
                           overlap=int(overlap),
                           max_drift=TEMPORAL_MAX_DRIFT * _status.MAX_RELATIVE_REPROJECTION)


def network_prior(network, opts):
    """The function that fills a block's prior from its normalised keypoints (None without a network):
    the network's camera-frame joints for ``(W, w, info)`` of the block's active frames."""
    if network is None:
        return None

    def predict(W, w, info):
        return network.predict(W, w, _views(opts, np.stack([info["t0x"], info["t0y"]], axis=1), info["sigma"]))

    return predict


def _views(opts, t0, sigma):
    """The networks' perspective rows ``[sigma / f, (t0x - px) / f, (t0y - py) / f]`` (None: weak perspective)."""
    if not opts.perspective:
        return None
    return np.stack([sigma / opts.focal, (t0[:, 0] - opts.px) / opts.focal, (t0[:, 1] - opts.py) / opts.focal], axis=1)


def sequence_prior(frames, times, opts, temporal, network=None) -> None:
    """Fill ``frames.prior`` from a temporal lifting network over the whole sequence (each frame from the
    frames around it), and, for the frames it cannot lift, from the per-frame ``network``.

    ``times`` are in frames at :data:`TEMPORAL_FPS` (each once, any order); frames whose status is not
    ``ok`` count as frames without keypoints for their neighbours.  The prior is in each frame's
    normalised units, as :func:`network_prior` gives it (the NumPy normalisation of
    :func:`lift2d3d.learned.normalise_keypoints`, equal to the kernels' to rounding).
    """
    from ..learned import normalise_keypoints

    order = np.argsort(times, kind="stable")
    usable = frames.status[order] == _status.OK
    w = np.where(usable[:, None], frames.w[order], 0.0)
    W, t0, sigma = normalise_keypoints(frames.Wpx[order], w)
    lost = ~np.isfinite(sigma)
    w[lost] = 0.0
    W = np.where(np.isfinite(W), W, 0.0)
    view = _views(opts, np.where(lost[:, None], 0.0, t0), np.where(lost, 0.0, sigma))
    if view is not None:
        view[lost] = 0.0
    X = temporal.predict_sequence(W, w, np.asarray(times, dtype=np.float64)[order] / TEMPORAL_FPS, view)
    missing = usable & ~lost & ~np.isfinite(X).all(axis=(1, 2))
    if network is not None and missing.any():
        X[missing] = network.predict(W[missing], w[missing], None if view is None else view[missing])
    X[~np.isfinite(X).all(axis=(1, 2))] = 0.0
    frames.prior[order] = X


def solve(frames, model, opts, network=None, n_threads=1) -> Solution:
    """Lift a batch of frames, each on its own.

    Parameters
    ----------
    frames : Frames
        Keypoints, weights, statuses (validation's; in/out), depth relations; the prior is filled
        here when a ``network`` is given.
    model, opts : SolverModel, SolverOptions
    network : LiftingNetwork, optional
        The reconstruction component of the fused method (:mod:`lift2d3d.learned`).
    n_threads : int

    Returns
    -------
    Solution
        Camera-frame points in each frame's normalised units (see :mod:`lift2d3d.solvers.batch`).
    """
    N, _, P = frames.Wpx.shape
    sol = new_solution(N, P, model.B.shape[0], frames.status)
    batch.solve_frames(frames, model, opts, sol, n_threads=n_threads, predict=network_prior(network, opts))
    return sol


def solve_sequence(frames, times, model, opts, topts, network=None, n_threads=1, temporal=None):
    """Lift one person's frames jointly (:mod:`lift2d3d.solvers.temporal`), in overlapping windows.

    Every frame is first lifted on its own (:func:`solve`); then, with ``topts.smoothness`` or
    ``topts.proportions`` above 0, all of them together in time order.

    Parameters
    ----------
    frames : Frames
    times : (N,) float64
        Frame times in the units the temporal weights were chosen in (frames at :data:`TEMPORAL_FPS`),
        each once, any order.
    model, opts : SolverModel, SolverOptions
    topts : TemporalOptions
    network : LiftingNetwork, optional
        The per-frame lifting network: each frame's prior (the ``fused`` method), or, with ``temporal``,
        the prior of the frames the temporal network cannot lift.
    n_threads : int
    temporal : TemporalNetwork, optional
        The temporal lifting network: each frame's prior from the frames around it
        (:func:`sequence_prior`), in the per-frame lifts and the joint refinement alike.

    Returns
    -------
    solution : Solution
    drifted : (N,) bool
        The frames that kept their per-frame lift (:func:`lift2d3d.solvers.windows.solve_sequence`).
    """
    if temporal is not None and opts.prior_weight > 0:
        sequence_prior(frames, times, opts, temporal, network)
        network = None
    sol = solve(frames, model, opts, network=network, n_threads=n_threads)
    drifted = np.zeros(len(times), dtype=bool)
    if topts.smoothness > 0 or topts.proportions > 0:
        order = np.argsort(times, kind="stable")
        frames_o = type(frames)(*[np.ascontiguousarray(a) for a in subset(frames, order)])
        sol_o = type(sol)(*[np.ascontiguousarray(a) for a in subset(sol, order)])._replace(status=frames_o.status)
        drifted[order] = windows.solve_sequence(frames_o, np.asarray(times)[order], model, opts, topts, sol_o,
                                                n_threads=n_threads)
        for mine, ordered in zip(sol, sol_o):
            mine[order] = ordered
    return sol, drifted


_ANNOUNCED = set()


def prepare(opts, method, hints=False, temporal=False, log=None) -> None:
    """Before a cold first run: compile the stages the run needs (the per-frame ones in two processes, the
    hinted refinement only for a batch with ``hints``; with ``temporal`` the temporal solver's), saying
    so through ``log`` (once per process): what is compiled, each stage as it is ready (on a terminal, one
    line that updates) and the time it took."""
    import sys
    import time

    from . import warm

    key = (temporal, hints, opts.refine, opts.robust, opts.perspective, opts.prior_start)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    cold = windows.uncompiled_stages(opts) if temporal else batch.uncompiled_stages(opts, hints)
    if not cold:
        return
    what = "temporal solver" if temporal else f"solver ({method})"
    start = time.perf_counter()
    done = []
    live = log is not None and sys.stderr.isatty()
    if log is not None:
        log(f"lift2d3d: compiling the {what} kernels, {len(cold)} stages: first run only (numba caches them on "
            "disk for the next runs)")

    def progress(name):
        done.append(name)
        if live:
            sys.stderr.write(f"\r  {len(done)}/{len(cold)} stages ready ({name}), {time.perf_counter() - start:.0f} s ")
            sys.stderr.flush()

    compile_ = warm.compile_temporal_stages if temporal else warm.prepare
    compile_(cold, method, opts.perspective, progress)
    if live:
        sys.stderr.write("\n")
    if log is not None:
        log(f"lift2d3d: compiled the {what} kernels in {time.perf_counter() - start:.1f} s")
