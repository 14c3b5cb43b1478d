"""One person's frames in overlapping windows: plan, refine each window, blend the overlaps, outputs.

The temporal refinement (:func:`lift2d3d.solvers.temporal.joint_refine`) costs
time linear in the number of frames, but a video's frames do not all fit in
memory at once, and a streaming pipeline or a cluster must be able to cut a
person's rows into pieces.  So a person's frames (in time order) are cut into
windows of ``window`` frames that overlap by ``overlap`` (:func:`plan_windows`);
each window is refined on its own, from the per-frame solutions of its frames
only (:func:`refine_window`), and where two windows overlap their solutions are
blended with weights that ramp linearly across the overlap
(:func:`stitch`): a window's solution fades out towards its cut ends, where it
knows least.  A hard cut in the middle of the overlap instead leaves a jump:
each window pulls its frames towards its own estimate of the person's
proportions, and the camera-frame joints of two windows of 80 frames differed
by 25 mm on the synthetic clips of the tests.

Everything a window's solution depends on is its own frames, so the same
windows solved in any order, on any thread or machine, and stitched as
:func:`stitch` does, give the same numbers (:func:`solve_sequence` is that
recipe).  The frames ``[start_k, stop_k)`` of window ``k`` depend on windows
``k-1, k, k+1`` only (their overlaps are blended, and the discrete choices of
:func:`owners` come from them), so a pipeline that streams a person's rows
(time order) can emit window ``k``'s frames once window ``k+1``'s rows are in;
:meth:`lift2d3d.Lifter.lift_sequence` on the rows
``[start_{k-1}, stop_{k+1})`` alone gives exactly those frames
(``tests/test_temporal.py`` checks it), and so does a cluster that hands each
worker such a stretch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from . import batch
from .prox import KERNEL
from .labels import SWAP_PENALTY, label_path
from .records import Work, subset
from .temporal import acceleration_rows, joint_refine, perspective_targets, scaled_rows, weak_targets

__all__ = ["plan_windows", "owners", "unswap", "overlap_weights", "WindowSolution", "refine_window", "stitch",
           "sequence_outputs", "solve_sequence", "bone_proportions", "proportion_rows", "fit_weights"]


def plan_windows(n_frames, window, overlap):
    """The windows a sequence of ``n_frames`` (time order) is cut into.

    Window ``k`` covers ``[k (window - overlap), k (window - overlap) + window)``, the last one cut at
    ``n_frames``; consecutive windows share exactly ``overlap`` frames, and no frame is in three.  The
    plan depends on nothing but the three numbers, so a pipeline that streams a person's rows, or
    partitions them among workers, solves the same windows.

    Returns
    -------
    (n_windows, 2) int64
        ``start, stop`` of each window (frame indices).
    """
    window, overlap = int(window), int(overlap)
    if window < 3:
        raise ValueError(f"window must be at least 3 frames; got {window}")
    if not 0 <= overlap <= window // 2:
        raise ValueError(f"overlap must be in [0, window / 2] so that no frame is in three windows; got "
                         f"overlap={overlap} with window={window}")
    stride = window - overlap
    rows = [(0, min(window, n_frames))]
    while rows[-1][1] < n_frames:
        start = rows[-1][0] + stride
        rows.append((start, min(start + window, n_frames)))
    return np.array(rows, dtype=np.int64)


def owners(plan, n_frames):
    """For each frame, the window whose discrete choices it takes (the left/right labelling of
    :mod:`lift2d3d.solvers.labels`): in the frames two windows share, the first half belongs to the
    earlier window and the rest to the later one, so every frame is at least ``overlap // 2`` frames
    from a cut end of its owner."""
    owner = np.zeros(n_frames, dtype=np.int64)
    for k in range(1, len(plan)):
        owner[plan[k, 0] + (plan[k - 1, 1] - plan[k, 0]) // 2:] = k
    return owner


def overlap_weights(overlap):
    """Weights ``(overlap,)`` of the later window over the frames two windows share (the earlier window
    gets one minus them): a linear ramp, 0 towards the later window's cut start, 1 towards the earlier's end."""
    return (np.arange(overlap) + 0.5) / max(overlap, 1)


@njit(**KERNEL)
def bone_fractions(X, edges, out):
    """Each bone's fraction of the frame's total bone length, ``out`` (N, E), for the points ``X`` (N, 3, P).

    Sequential loops, so that a frame gives the same bits wherever its arrays sit (NumPy's SIMD
    reductions depend on memory alignment, which threads do not share).
    """
    for n in range(X.shape[0]):
        total = 0.0
        for e in range(edges.shape[0]):
            a = edges[e, 0]
            b = edges[e, 1]
            d0 = X[n, 0, a] - X[n, 0, b]
            d1 = X[n, 1, a] - X[n, 1, b]
            d2 = X[n, 2, a] - X[n, 2, b]
            out[n, e] = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            total += out[n, e]
        for e in range(edges.shape[0]):
            out[n, e] /= total


def bone_proportions(X, edges):
    """Per-bone median fraction of the total bone length over the frames of ``X`` (N, 3, P), summing to 1;
    None if N = 0."""
    if len(X) == 0:
        return None
    fractions = np.empty((len(X), len(edges)))
    bone_fractions(np.ascontiguousarray(X), edges, fractions)
    median = np.median(fractions, axis=0)
    total = 0.0
    for value in median:          # in order: the same bits on every thread
        total += value
    return median / total


def proportion_rows(proportions, weight):
    """Rows ``sqrt(weight) (e_b - rho_b 1^T)`` of the bone term pulling the lengths ``l`` towards the
    proportions ``rho``: ``weight / 2 sum_b (l_b - rho_b sum l)^2``."""
    return np.sqrt(weight) * (np.eye(len(proportions)) - proportions[:, None])


def fit_weights(w, E, sigma, opts):
    """The weights the temporal fit uses and the outliers it keeps fixed (normalised units).

    The robust model's per-frame fit dropped the joints whose outlier exceeds ``TRIM_FACTOR * beta``;
    they stay out (weight 0, outlier 0 in the fit).  Otherwise ``w`` and ``E / sigma``.
    """
    En = E / sigma[:, None, None]
    if not opts.robust:
        return np.ascontiguousarray(w), np.ascontiguousarray(En)
    dropped = np.hypot(En[:, 0], En[:, 1]) > batch.TRIM_FACTOR * opts.beta
    wr = np.where(dropped, 0.0, w)
    return np.ascontiguousarray(wr), np.ascontiguousarray(np.where(dropped[:, None, :], 0.0, En))


class WindowSolution(NamedTuple):
    """What :func:`refine_window` returns for one window (rows: the window's lifted frames).

    Attributes
    ----------
    frames : (M,) int64
        The lifted frames, as indices within the window.
    R : (M, 3, 3), c : (M, K) float64
        Rotations and coefficients (normalised units).
    objective : (M,) float64
        Each frame's own objective (2) at the solution.
    iterations : int
        Joint iterations (all rounds).
    converged : bool
    """

    frames: np.ndarray
    R: np.ndarray
    c: np.ndarray
    objective: np.ndarray
    iterations: int
    converged: bool


def _aligned(a):
    """A C-contiguous float64 copy of ``a`` on a 64-byte boundary: the kernels' vectorised reductions then
    see every window's arrays at the same alignment, and give the same bits on any thread."""
    a = np.asarray(a, dtype=np.float64)
    buffer = np.empty(a.size + 8)
    start = (-buffer.ctypes.data % 64) // 8
    out = buffer[start:start + a.size].reshape(a.shape)
    out[...] = a
    return out


def refine_window(frames, times, model, opts, topts, sol):
    """The temporal refinement of one window of one person's frames, from their per-frame solutions.

    The records are the window's, in time order, as :func:`lift2d3d.solvers.batch.solve_frames` left them
    (the solution's ``X``, ``R``, ``c`` in its normalised units, ``E`` in pixels); they are not changed.
    The frames it lifted are refined jointly; the others are gaps.  The person's proportions are the
    medians over the window's lifted frames, pulled towards with ``topts.proportions`` (0: off).

    Parameters
    ----------
    frames : Frames
        Keypoints (pixels), weights, statuses, depth relations, prior.
    times : (N,) float
        Frame times (increasing).
    model, opts : SolverModel, SolverOptions
    topts : TemporalOptions
    sol : Solution

    Returns
    -------
    WindowSolution
    """
    frames_all = frames
    lifted = np.flatnonzero(frames.status <= batch.ST_NOT_CONVERGED)
    if len(lifted) == 0:
        K = sol.c.shape[1]
        return WindowSolution(lifted, np.zeros((0, 3, 3)), np.zeros((0, K)), np.zeros(0), 0, True)
    frames = subset(frames_all, lifted)
    Wpx_s = np.ascontiguousarray(frames.Wpx)
    info_s = sol.info[lifted].copy()
    sigma = info_s["sigma"]
    wr, En = fit_weights(frames.w, sol.E[lifted], sigma, opts)
    Mb = model.Mb
    proportions = bone_proportions(sol.X[lifted], model.edges)
    if topts.proportions > 0:
        Mb = np.vstack([Mb, proportion_rows(proportions, topts.proportions)])
    model_w = model._replace(Mb=_aligned(Mb))
    t = times[lifted]
    Rw = np.ascontiguousarray(sol.R[lifted])
    cw = np.ascontiguousarray(sol.c[lifted])
    objective = np.zeros(len(lifted))
    Wc = np.empty((len(lifted), 2, Wpx_s.shape[2]))
    if not opts.perspective:
        centre = np.stack([info_s["t0x"], info_s["t0y"]], axis=1)[:, :, None]
        W = np.ascontiguousarray((Wpx_s - centre) / sigma[:, None, None])
        weak_targets(W, wr, En, Wc)
    total, converged = 0, True
    # a gap longer than max_gap splits the window into segments that share nothing but the proportions:
    # each is solved on its own, so that one segment's iterations cannot depend on another's
    cuts = np.flatnonzero(np.diff(t) > topts.max_gap) + 1
    for seg in np.split(np.arange(len(lifted)), cuts):
        part = slice(seg[0], seg[-1] + 1)
        d = np.ascontiguousarray(scaled_rows(acceleration_rows(t[part], topts.smoothness, topts.max_gap), sigma[part]))
        Rs, cs, fs = Rw[part].copy(), cw[part].copy(), np.zeros(len(seg))
        frames_s = subset(frames, part)
        # private, aligned copies: the terms' vectorised sums must see every window's arrays alike
        frames_s = frames_s._replace(hints=np.ascontiguousarray(frames_s.hints),
                                     n_hints=np.ascontiguousarray(frames_s.n_hints),
                                     prior=_aligned(frames_s.prior), w=_aligned(frames_s.w))
        if opts.perspective:
            wc = np.empty((len(seg), wr.shape[1]))
            Wcs = np.empty((len(seg), 2, Wpx_s.shape[2]))
            for _ in range(topts.n_posit):
                perspective_targets(Wpx_s[part], wr[part], model_w, opts, np.ascontiguousarray(Rs[:, :2]), cs,
                                    info_s[part], Wcs, wc)
                its, conv, _ = joint_refine(Wcs, wc, d, frames_s, model_w, opts, topts, Rs, cs, fs)
                total += its
                converged &= conv
        else:
            its, conv, _ = joint_refine(Wc[part], wr[part], d, frames_s, model_w, opts, topts, Rs, cs, fs)
            total = max(total, its)
            converged &= conv
        Rw[part], cw[part], objective[part] = Rs, cs, fs
    return WindowSolution(lifted, Rw, cw, objective, int(total), bool(converged))


def _matmul3(A, B):
    """``A @ B`` per row of (n, 3, 3) stacks, as sums written out (no alignment-dependent reduction)."""
    return (A[:, :, 0, None] * B[:, None, 0, :] + A[:, :, 1, None] * B[:, None, 1, :]
            + A[:, :, 2, None] * B[:, None, 2, :])


def _blend_rotations(Ra, Rb, t):
    """``Ra exp(t log(Ra^T Rb))`` per row: the rotation a fraction ``t`` of the way from ``Ra`` to ``Rb``."""
    from scipy.spatial.transform import Rotation

    rel = Rotation.from_matrix(_matmul3(np.transpose(Ra, (0, 2, 1)), Rb)).as_rotvec()
    return _matmul3(Ra, Rotation.from_rotvec(t[:, None] * rel).as_matrix())


def stitch(plan, solutions, n_frames, K):
    """Join the windows' solutions: each frame from its window, blended across the overlaps.

    In the ``overlap`` frames two windows share, the later window's weight ramps as
    :func:`overlap_weights`; coefficients and objectives are blended linearly, rotations along the
    geodesic between them.  A frame lifted in neither window stays unset.

    Returns
    -------
    R : (n, 3, 3), c : (n, K), objective : (n,) float64 (NaN where unset), iterations : (n,) int64,
    converged : (n,) bool
    """
    R = np.full((n_frames, 3, 3), np.nan)
    c = np.full((n_frames, K), np.nan)
    objective = np.full(n_frames, np.nan)
    iterations = np.zeros(n_frames, dtype=np.int64)
    converged = np.zeros(n_frames, dtype=bool)
    weight = np.zeros(n_frames)
    for k, ((start, stop), sol) in enumerate(zip(plan, solutions)):
        at = start + sol.frames
        ramp = np.ones(stop - start)
        if k > 0:
            shared = plan[k - 1][1] - start
            ramp[:shared] = overlap_weights(shared)
        if k + 1 < len(plan):
            shared = stop - plan[k + 1][0]
            ramp[stop - start - shared:] = 1.0 - overlap_weights(shared)
        t = ramp[sol.frames]
        fresh = weight[at] == 0
        R[at[fresh]] = sol.R[fresh]
        c[at[fresh]] = sol.c[fresh]
        objective[at[fresh]] = sol.objective[fresh]
        old = ~fresh
        if old.any():
            # the earlier window holds weight 1 - t here; move a fraction t towards this one
            R[at[old]] = _blend_rotations(R[at[old]], sol.R[old], t[old])
            c[at[old]] = (1 - t[old, None]) * c[at[old]] + t[old, None] * sol.c[old]
            objective[at[old]] = (1 - t[old]) * objective[at[old]] + t[old] * sol.objective[old]
        weight[at] += t
        iterations[at] += sol.iterations
        converged[at] = np.where(fresh, sol.converged, converged[at] & sol.converged)
    return R, c, objective, iterations, converged


def sequence_outputs(frames, model, opts, sol):
    """Camera points, translations, reprojection errors, outliers and statuses of the lifted frames at the
    temporal solution (``sol.R``, ``sol.c``), in place (the units of :func:`lift2d3d.solvers.batch.solve_frames`)."""
    lifted = np.flatnonzero(frames.status <= batch.ST_NOT_CONVERGED)
    if len(lifted) == 0:
        return
    part = subset(frames, lifted)
    part = part._replace(Wpx=np.ascontiguousarray(part.Wpx), w=np.ascontiguousarray(part.w), status=part.status.copy())
    info_s = sol.info[lifted].copy()
    sigma = info_s["sigma"]
    wr, En = fit_weights(part.w, sol.E[lifted], sigma, opts)
    active = np.ones(len(lifted), dtype=np.bool_)
    K, P = sol.c.shape[1], part.Wpx.shape[2]
    work = Work(np.zeros((len(lifted), 2, P)), np.zeros((len(lifted), 2, K, 3)), En,
                np.ascontiguousarray(sol.R[lifted][:, :2]), np.ascontiguousarray(sol.c[lifted]), info_s)
    out = type(sol)(np.zeros((len(lifted),) + sol.X.shape[1:]), sol.R[lifted].copy(), sol.c[lifted].copy(),
                    sol.E[lifted].copy(), info_s, part.status)
    if opts.robust:
        info_s["objective"] += opts.beta * np.abs(En).sum(axis=(1, 2))
    if opts.perspective:
        batch.perspective_outputs(part, model, opts, work, wr, active, out)
    else:
        if opts.robust:
            centre = np.stack([info_s["t0x"], info_s["t0y"]], axis=1)[:, :, None]
            W = np.ascontiguousarray((part.Wpx - centre) / sigma[:, None, None])
            batch.dropped_frames(model, work._replace(W=W), part.w, wr, active)
        batch.weak_outputs(part, model, work, active, out)
    batch.pack_frames(work, active, out)
    sol.X[lifted], sol.R[lifted], sol.c[lifted], sol.E[lifted] = out.X, out.R, out.c, out.E
    sol.info[lifted], frames.status[lifted] = info_s, out.status


def solve_sequence(frames, times, model, opts, topts, sol, n_threads=1):
    """Refine one person's frames (time order) in the windows of :func:`plan_windows`, stitch them
    (:func:`stitch`) and write the outputs in place; windows run on ``n_threads`` threads, with the same
    result on any number.  The records are those of :func:`lift2d3d.solvers.batch.solve_frames`.

    A frame whose temporal fit leaves its keypoints by more than ``topts.max_drift`` of the pose's size
    (RMS reprojection error over the keypoints' RMS radius) while its own fit did not (a motion too fast
    for the smoothness, a cut) keeps its per-frame solution.

    Returns
    -------
    (N,) bool
        The frames that kept their per-frame solution.
    """
    plan = plan_windows(len(times), topts.window, topts.overlap)

    def run(row):
        part = slice(row[0], row[1])
        return refine_window(subset(frames, part), times[part], model, opts, topts, subset(sol, part))

    n_threads = max(1, min(int(n_threads), len(plan)))
    if n_threads == 1:
        solutions = [run(row) for row in plan]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            solutions = list(pool.map(run, plan))
    status = frames.status
    own = [a.copy() for a in (sol.X, sol.R, sol.c, sol.E, sol.info, status)]
    Rs, cs, objective, iterations, converged = stitch(plan, solutions, len(times), sol.c.shape[1])
    lifted = status <= batch.ST_NOT_CONVERGED
    sol.R[lifted], sol.c[lifted] = Rs[lifted], cs[lifted]
    sol.info["objective"][lifted] = objective[lifted]
    sol.info["refine_iterations"][lifted] += iterations[lifted]
    # the joint solve runs a fixed budget of iterations from converged per-frame solutions, and every
    # accepted step lowers (4): a frame's ``converged`` stays its per-frame solve's
    sequence_outputs(frames, model, opts, sol)
    with np.errstate(invalid="ignore", divide="ignore"):
        drifted = own[4]["reprojection_error"] / own[4]["sigma"] <= topts.max_drift
        drifted &= sol.info["reprojection_error"] / sol.info["sigma"] > topts.max_drift
    drifted &= lifted
    for mine, kept in zip((sol.X, sol.R, sol.c, sol.E, sol.info, status), own):
        mine[drifted] = kept[drifted]
    return drifted


def unswap(Wpx, w, times, max_gap, plan, perms):
    """Swap back, in place, the frames whose left and right arms or legs a detector swapped.

    :func:`~lift2d3d.solvers.labels.label_path` runs over each window of ``plan`` (:func:`plan_windows`,
    time order); a frame takes the choice of its window's :func:`owners`.

    Parameters
    ----------
    Wpx : (N, 2, P) float64, in/out
        Keypoints, pixels (rows in any order; ``times`` orders them).
    w : (N, P) float64, in/out
    times : (N,) float
    max_gap : float
        Frames further apart are not compared.
    plan : (n_windows, 2) int64
    perms : (4, P) int64
        The labellings (as given, arms swapped, legs swapped, both).

    Returns
    -------
    (N,) int64
        Each frame's state: 0 as given, 1 arms, 2 legs, 3 both swapped back.
    """
    order = np.argsort(times, kind="stable")
    U, wo = np.ascontiguousarray(Wpx[order]), np.ascontiguousarray(w[order])
    sw = np.maximum(wo.sum(axis=1), 1e-300)
    centre = (U * wo[:, None]).sum(axis=2) / sw[:, None]
    sigma = np.sqrt((wo * ((U - centre[:, :, None]) ** 2).sum(axis=1)).sum(axis=1) / sw)
    sigma = np.where(sigma > 0, sigma, 1.0)
    owner = owners(plan, len(times))
    states = np.zeros(len(times), dtype=np.int64)
    for k, (start, stop) in enumerate(plan):
        part = slice(start, stop)
        d = np.ascontiguousarray(acceleration_rows(times[order][part], 1.0, max_gap))
        chosen = np.zeros(stop - start, dtype=np.int64)
        label_path(U[part], wo[part], d, sigma[part], perms, SWAP_PENALTY, chosen)
        mine = owner[part] == k
        states[start:stop][mine] = chosen[mine]
    swapped = np.zeros(len(times), dtype=np.int64)
    swapped[order] = states
    for n in np.flatnonzero(swapped):
        Wpx[n] = Wpx[n][:, perms[swapped[n]]]
        w[n] = w[n][perms[swapped[n]]]
    return swapped


# ---------------------------------------------------------------------------- compilation
def stages_for(opts) -> list:
    """The temporal stage kernels (numba dispatchers) a lift with these options runs (beyond the per-frame ones)."""
    return [joint_refine, label_path, bone_fractions] + (
        [perspective_targets, batch.perspective_outputs] if opts.perspective else [weak_targets, batch.weak_outputs])


def uncompiled_stages(opts) -> list:
    """Names of the temporal stages that are neither compiled in this process nor in numba's on-disk cache."""
    from .cache import uncompiled

    return uncompiled(stages_for(opts))
