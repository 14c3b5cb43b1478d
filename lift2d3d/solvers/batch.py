"""Per-frame pipeline and its batch driver (numba kernels, threads over frames).

For each frame: normalise (weighted centroid, unit RMS radius), solve the
convex relaxation by ADMM, read the rotation and coefficients off the
blocks, refine the original problem (weak perspective), and with intrinsics
refine the perspective model.  The stage kernels take the records of
:mod:`lift2d3d.solvers.records` (the frames, what to do, the shape prior,
the working arrays and the solution) and fill the solution plus one
:data:`~lift2d3d.solvers.records.FRAME_RESULT` row per frame; frames whose
``status`` is already set (input validation) are skipped.

Frames are independent, so :func:`solve_frames` runs them on plain threads
(the kernels release the GIL), which compiles far faster than a numba
``prange`` loop and gives the same bits: every frame works on private
copies, so it is solved identically alone or in a batch, on any thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import status as _status
from .convex import admm_frame, convex_objective, relaxation
from .geometry import centre_rows, copy_into, perspective_points, perspective_units, rot3, shape_of
from .fused import GEOMETRIC_START, NETWORK_START, REFLECTED_START, fused_refine, fused_start
from .hinted import hinted_refine
from .prox import ADMM_KERNEL, FASTMATH, KERNEL
from .records import new_work, subset
from .refine import fit_residual, read_off, refine_multistart, refine_perspective, refine_weak, refinement
from .terms import frame_terms

__all__ = ["solve_frames", "metric_units", "stages_for", "uncompiled_stages", "TRIM_FACTOR", "BLOCK"]

ST_OK, ST_NOT_CONVERGED, ST_DEGENERATE = _status.OK, _status.NOT_CONVERGED, _status.DEGENERATE
MIN_JOINTS = _status.MIN_JOINTS


#: A joint whose estimated outlier exceeds this many beta (normalised units)
#: is dropped and the pose re-fitted without it: the L1 outlier term alone acts
#: like a Huber loss, which a flexible shape model can still bend towards.
TRIM_FACTOR = 3.0


@njit(**KERNEL)
def inlier_weights(w, E, threshold):
    """Weights with the joints whose outlier estimate exceeds ``threshold`` set to 0.

    Returns (weights, number dropped); nothing is dropped when fewer than 5
    joints would remain.
    """
    P = w.shape[0]
    wr = w.copy()
    n_drop = 0
    n_keep = 0
    for j in range(P):
        if w[j] > 0.0:
            if np.sqrt(E[0, j] * E[0, j] + E[1, j] * E[1, j]) > threshold:
                wr[j] = 0.0
                n_drop += 1
            else:
                n_keep += 1
    if n_drop == 0 or n_keep < MIN_JOINTS:
        return w.copy(), 0
    return wr, n_drop


@njit(**KERNEL)
def dropped_residuals(W, w, wr, B, Rbar, c, E):
    """Outliers of the dropped joints (w > 0, wr = 0): their residual to the inlier fit."""
    P = B.shape[2]
    S = np.empty((3, P))
    shape_of(B, c, S)
    swr = wr.sum()
    for r in range(2):
        acc = 0.0
        for j in range(P):
            acc += wr[j] * (W[r, j] - E[r, j] - Rbar[r, 0] * S[0, j] - Rbar[r, 1] * S[1, j]
                            - Rbar[r, 2] * S[2, j])
        t = acc / swr
        for j in range(P):
            if wr[j] == 0.0 and w[j] > 0.0:
                E[r, j] = W[r, j] - Rbar[r, 0] * S[0, j] - Rbar[r, 1] * S[1, j] - Rbar[r, 2] * S[2, j] - t


# ---------------------------------------------------------------------------- stages
# Each stage loops over the frames of a block whose ``active`` flag is set, with the weights ``w`` it
# is given (the frames' own, or the robust model's trimmed ones); the driver (_solve_block) runs the
# stages the options call for.  Keeping the big kernels (the ADMM, the refinement) in separate stages
# means each is compiled once and only when a method needs it, instead of being re-optimised inside
# one giant per-frame function.

@njit(**KERNEL)
def normalise_frames(frames, work, active):
    """Weighted centroid and RMS radius of each frame's keypoints; ``work.W`` the normalised keypoints.

    A frame whose used keypoints coincide gets status ``degenerate`` and is deactivated.
    """
    Wpx, w, info, W = frames.Wpx, frames.w, work.info, work.W
    P = Wpx.shape[2]
    for n in range(Wpx.shape[0]):
        if not active[n]:
            continue
        sw = 0.0
        for j in range(P):
            sw += w[n, j]
        t0x = 0.0
        t0y = 0.0
        for j in range(P):
            t0x += w[n, j] * Wpx[n, 0, j]
            t0y += w[n, j] * Wpx[n, 1, j]
        t0x /= sw
        t0y /= sw
        var = 0.0
        for j in range(P):
            dx = Wpx[n, 0, j] - t0x
            dy = Wpx[n, 1, j] - t0y
            var += w[n, j] * (dx * dx + dy * dy)
        sigma = np.sqrt(var / sw)
        scale_ref = max(abs(t0x), abs(t0y), 1.0)
        if not (sigma > 1e-9 * scale_ref):
            frames.status[n] = ST_DEGENERATE
            active[n] = False
            continue
        for j in range(P):
            W[n, 0, j] = (Wpx[n, 0, j] - t0x) / sigma
            W[n, 1, j] = (Wpx[n, 1, j] - t0y) / sigma
        info[n].t0x = t0x
        info[n].t0y = t0y
        info[n].sigma = sigma
        info[n].admm_iterations = 0
        info[n].refine_iterations = 0
        info[n].converged = True


@njit(**ADMM_KERNEL, fastmath=FASTMATH)
def relax_frames(model, opts, work, w, active):
    """The convex relaxation (1) by ADMM, and the rotation and coefficients read off its blocks."""
    hist = np.empty((0, 4))
    settings = relaxation(opts)
    W, Z, E, info = work.W, work.Z, work.E, work.info
    for n in range(W.shape[0]):
        if not active[n]:
            continue
        # private copies: vectorised (fast-math) reductions must not depend on
        # where a frame sits in the batch array, so a frame lifted alone or in a
        # batch gives bit-identical results
        Wn = W[n].copy()
        wn = w[n].copy()
        n_a, conv = admm_frame(Wn, wn, model, settings, Z[n], E[n], hist)
        read_off(Z[n], work.Rbar[n], work.c[n])
        info[n].admm_iterations += n_a
        # a fresh solve: what an earlier attempt (robust, before trimming) did no longer counts
        info[n].converged = conv


@njit(**KERNEL, fastmath=FASTMATH)
def refine_frames(frames, model, opts, work, w, active):
    """The refinement of the original problem (2) from the relaxation (:func:`refine_multistart`)."""
    W, Z, E, Rbar, c, info = work
    for n in range(W.shape[0]):
        if not active[n]:
            continue
        Wn = W[n].copy()
        wn = w[n].copy()
        # the refinement proper ignores the depth-order hints: a frame whose lift already satisfies them
        # is left exactly as it would be without them
        terms = frame_terms(frames, model, opts, n, False)
        E0 = E[n].copy()
        n_r, conv, obj, _ = refine_multistart(Wn, wn, model, opts, terms, E[n], Z[n], Rbar[n], c[n], opts.n_starts)
        n_x, rescued, conv_x, obj = _rescue(Wn, wn, model, opts, terms, E0, work, n, obj)
        n_r += n_x
        if rescued:
            conv = conv_x
        info[n].refine_iterations += n_r
        info[n].converged = info[n].converged and conv
        info[n].objective = obj


@njit(**KERNEL, fastmath=FASTMATH)
def fused_frames(frames, model, opts, work, w, active, bad):
    """The fused refinement (:mod:`lift2d3d.solvers.fused`), with the network's prior term, from the
    network's 3D or from the relaxation's pose reflected towards it.  From the network, a frame whose fit
    then leaves its keypoints (:data:`RESCUE_RESIDUAL`) is marked in ``bad`` for the driver's rescue by
    the relaxation; from the relaxation, it is rescued here as the plain refinement's are."""
    W, Z, E, Rbar, c, info = work
    for n in range(W.shape[0]):
        bad[n] = False
        if not active[n]:
            continue
        Wn = W[n].copy()
        wn = w[n].copy()
        # the refinement proper ignores the depth-order hints: a frame whose lift already satisfies them
        # is left exactly as it would be without them
        terms = frame_terms(frames, model, opts, n, False)
        E0 = E[n].copy()
        n_r, conv, obj = fused_refine(Wn, wn, model, opts, terms, E[n], Rbar[n], c[n])
        if opts.prior_start == NETWORK_START:
            bad[n] = fit_residual(Wn, wn, model.B, Rbar[n], c[n], E[n]) > RESCUE_RESIDUAL
        else:
            n_x, rescued, conv_x, obj = _rescue(Wn, wn, model, opts, terms, E0, work, n, obj)
            n_r += n_x
            if rescued:
                conv = conv_x
        info[n].refine_iterations += n_r
        info[n].converged = info[n].converged and conv
        info[n].objective = obj


@njit(**KERNEL, fastmath=FASTMATH)
def geometric_prior_frames(frames, model, opts, work, w, active):
    """The geometric fit's answers refined with the network's prior term (and, the ``reflected`` start, their
    limb-depth reflections closest to the network's depths, refined the same way: the lower objective
    wins)."""
    W, Z, E, Rbar, c, info = work
    for n in range(W.shape[0]):
        if not active[n]:
            continue
        terms = frame_terms(frames, model, opts, n, False)
        Wn = W[n].copy()
        wn = w[n].copy()
        ref = refinement(opts, opts.robust)
        R0, c0, E0 = Rbar[n].copy(), c[n].copy(), E[n].copy()
        n_r, conv, obj = refine_weak(Wn, wn, model.B, ref, terms, E[n], Rbar[n], c[n])
        # the geometric answer's limb-depth reflection closest to the network's, refined the same way
        if opts.prior_start == REFLECTED_START and fused_start(wn, model, opts, terms.prior, R0, c0):
            n_x, conv_x, obj_x = refine_weak(Wn, wn, model.B, ref, terms, E0, R0, c0)
            n_r += n_x
            if obj_x < obj:
                obj, conv = obj_x, conv_x
                copy_into(R0, c0, Rbar[n], c[n])
                copy_into(E0, np.empty(0), E[n], np.empty(0))
        info[n].refine_iterations += n_r
        info[n].converged = info[n].converged and conv
        info[n].objective = obj


@njit(**KERNEL, fastmath=FASTMATH)
def _rescue(Wn, wn, model, opts, terms, E0, work, n, obj):
    """A refinement that fits badly (:data:`RESCUE_RESIDUAL`) is tried again from the depth mirror and the
    next blocks' rotations too; the lower objective wins.  Returns (iterations, whether the rescue won,
    its converged flag, the objective kept)."""
    Z, E, Rbar, c = work.Z, work.E, work.Rbar, work.c
    if opts.n_starts >= RESCUE_STARTS or fit_residual(Wn, wn, model.B, Rbar[n], c[n], E[n]) <= RESCUE_RESIDUAL:
        return 0, False, False, obj
    R1, c1, E1 = Rbar[n].copy(), c[n].copy(), E[n].copy()
    copy_into(E0, c1, E[n], np.empty(0))
    n_x, conv_x, obj_x, _ = refine_multistart(Wn, wn, model, opts, terms, E[n], Z[n], Rbar[n], c[n], RESCUE_STARTS)
    if obj_x < obj:
        return n_x, True, conv_x, obj_x
    copy_into(R1, c1, Rbar[n], c[n])
    copy_into(E1, np.empty(0), E[n], np.empty(0))
    return n_x, False, conv_x, obj


@njit(**KERNEL, fastmath=FASTMATH)
def hinted_frames(frames, model, opts, work, w, active, relaxed):
    """The frames with depth-order hints that their refined lift violates (:func:`hinted_refine`), after
    :func:`refine_frames`; ``relaxed`` is whether each frame's relaxation converged.  A stage of its
    own, run (and compiled) only for batches with hints."""
    W, info = work.W, work.info
    for n in range(W.shape[0]):
        if not active[n] or frames.n_hints[n] == 0:
            continue
        Wn = W[n].copy()
        wn = w[n].copy()
        n_x, conv_x, obj_x = hinted_refine(Wn, wn, model, opts, frame_terms(frames, model, opts, n), work.E[n],
                                           work.Rbar[n], work.c[n])
        info[n].refine_iterations += n_x
        if n_x > 0:
            info[n].objective = obj_x
            info[n].converged = relaxed[n] and conv_x


@njit(**KERNEL)
def trim_frames(opts, work, w, active, wr):
    """Robust model: drop the joints whose outlier exceeds ``TRIM_FACTOR * beta``; ``active`` keeps the
    frames that dropped any (they are solved again without them)."""
    for n in range(w.shape[0]):
        if not active[n]:
            continue
        trimmed, n_drop = inlier_weights(w[n], work.E[n], TRIM_FACTOR * opts.beta)
        for j in range(w.shape[1]):
            wr[n, j] = trimmed[j]
        active[n] = n_drop > 0


@njit(**KERNEL)
def dropped_frames(model, work, w, wr, active):
    """Robust model: the dropped joints' outliers are their residuals to the inlier fit."""
    for n in range(w.shape[0]):
        if active[n]:
            dropped_residuals(work.W[n].copy(), w[n].copy(), wr[n].copy(), model.B, work.Rbar[n], work.c[n],
                              work.E[n])


@njit(**KERNEL)
def convex_objectives(model, opts, work, w, active):
    """Method ``convex``: the objective of the relaxation (1) at its solution."""
    for n in range(w.shape[0]):
        if active[n]:
            work.info[n].objective = convex_objective(work.W[n].copy(), w[n].copy(), model.B, work.Z[n], work.E[n],
                                                      opts.alpha, opts.beta if opts.robust else 0.0)


@njit(**KERNEL)
def weak_outputs(frames, model, work, active, sol):
    """Weak perspective: camera-frame points, the fit's translation and the reprojection error."""
    B = model.B
    P = B.shape[2]
    S = np.empty((3, P))
    Wpx, info, X_out, E = frames.Wpx, work.info, sol.X, work.E
    for n in range(Wpx.shape[0]):
        if not active[n]:
            continue
        wn = frames.w[n].copy()
        sw = 0.0
        for j in range(P):
            sw += wn[j]
        sigma, t0x, t0y = info[n].sigma, info[n].t0x, info[n].t0y
        shape_of(B, work.c[n], S)
        centre_rows(S, wn, sw, S)
        R = rot3(work.Rbar[n])
        for a in range(3):
            for j in range(P):
                X_out[n, a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
        # translation of the fit: minus the weighted mean of the outliers
        tau_x = 0.0
        tau_y = 0.0
        for j in range(P):
            tau_x -= wn[j] * E[n, 0, j]
            tau_y -= wn[j] * E[n, 1, j]
        tau_x /= sw
        tau_y /= sw
        err = 0.0
        cnt = 0.0
        for j in range(P):
            if wn[j] > 0.0:
                ux = sigma * (X_out[n, 0, j] + tau_x) + t0x
                uy = sigma * (X_out[n, 1, j] + tau_y) + t0y
                err += (ux - Wpx[n, 0, j]) ** 2 + (uy - Wpx[n, 1, j]) ** 2
                cnt += 1.0
        info[n].tau_x = tau_x
        info[n].tau_y = tau_y
        info[n].tau_z = 0.0
        info[n].reprojection_error = np.sqrt(err / cnt)


@njit(**KERNEL, fastmath=FASTMATH)
def perspective_frames(frames, model, opts, work, wr, active):
    """Full perspective (model (3)) from the weak solution (:func:`refine_perspective`).

    The robust model's trimmed weights ``wr`` keep the joints it dropped out of the fit.
    """
    B = model.B
    P = B.shape[2]
    U = np.empty((2, P))
    ref = refinement(opts, False)
    info = work.info
    for n in range(frames.Wpx.shape[0]):
        if not active[n]:
            continue
        wrn = wr[n].copy()
        rho = perspective_units(frames.Wpx[n], opts.px, opts.py, opts.focal, info[n].sigma, U)
        n_p, conv, obj = refine_perspective(U, wrn, B, ref, rho, work.Rbar[n], work.c[n], opts.n_posit,
                                            frame_terms(frames, model, opts, n))
        info[n].refine_iterations += n_p
        info[n].converged = info[n].converged and conv
        info[n].objective = obj


@njit(**KERNEL)
def perspective_outputs(frames, model, opts, work, wr, active, sol):
    """Model (3) at the solution: camera points, translation, reprojection error, and the robust model's
    outliers of the joints it dropped (their residuals to the perspective fit, normalised units)."""
    B = model.B
    P = B.shape[2]
    U = np.empty((2, P))
    Wpx, info, E = frames.Wpx, work.info, work.E
    for n in range(Wpx.shape[0]):
        if not active[n]:
            continue
        sigma = info[n].sigma
        rho = perspective_units(Wpx[n], opts.px, opts.py, opts.focal, sigma, U)
        X = np.empty((3, P))
        tau_x, tau_y = perspective_points(B, work.c[n].copy(), work.Rbar[n].copy(), wr[n].copy(), U, rho, X)
        err = 0.0
        cnt = 0.0
        for j in range(P):
            for a in range(3):
                sol.X[n, a, j] = X[a, j]
            if frames.w[n, j] > 0.0:
                ux = opts.px + opts.focal * X[0, j] / X[2, j]
                uy = opts.py + opts.focal * X[1, j] / X[2, j]
                err += (ux - Wpx[n, 0, j]) ** 2 + (uy - Wpx[n, 1, j]) ** 2
                cnt += 1.0
                if opts.robust:
                    E[n, 0, j] = (Wpx[n, 0, j] - ux) / sigma if wr[n, j] == 0.0 else 0.0
                    E[n, 1, j] = (Wpx[n, 1, j] - uy) / sigma if wr[n, j] == 0.0 else 0.0
        info[n].tau_x = tau_x
        info[n].tau_y = tau_y
        info[n].tau_z = rho
        info[n].reprojection_error = np.sqrt(err / cnt)


@njit(**KERNEL)
def pack_frames(work, active, sol):
    """Write the rotations, coefficients and outliers (pixels), and each frame's status."""
    K, P = work.c.shape[1], work.E.shape[2]
    info = work.info
    for n in range(active.shape[0]):
        if not active[n]:
            continue
        R = rot3(work.Rbar[n])
        for a in range(3):
            for b in range(3):
                sol.R[n, a, b] = R[a, b]
        for i in range(K):
            sol.c[n, i] = work.c[n, i]
        sigma = info[n].sigma
        for r in range(2):
            for j in range(P):
                sol.E[n, r, j] = work.E[n, r, j] * sigma
        finite = True
        for a in range(3):
            for j in range(P):
                if not np.isfinite(sol.X[n, a, j]):
                    finite = False
        sol.status[n] = (ST_OK if info[n].converged else ST_NOT_CONVERGED) if finite else ST_DEGENERATE


#: A refinement whose 2D residual exceeds this fraction of the pose's size is tried again from
#: RESCUE_STARTS starts (the depth mirror and the next blocks' rotations), keeping the lower
#: objective: the single start of the default method lands in a bad local minimum on about 1 in
#: 60 of the bench's synthetic frames (residual 47 % of the pose, against 2 % after the rescue).
#: Half the plausibility limit (:data:`lift2d3d.plausibility.MAX_RELATIVE_REPROJECTION`).
RESCUE_RESIDUAL = 0.1
RESCUE_STARTS = 4

#: Frames per block: the unit of work of one thread, and of the stages' working arrays.
BLOCK = 256


def _refine(frames, model, opts, work, w, active, hints: bool):
    """The refinement stage after a relaxation (or, fused from the network, none), then (``hints``) the
    hinted one, which needs to know whether each frame's relaxation converged."""
    relaxed = work.info["converged"].copy()
    if opts.prior_start in (GEOMETRIC_START, REFLECTED_START):
        # the geometric fit's answer, then refined with the network's prior term
        refine_frames(frames, model, opts._replace(prior_weight=0.0), work, w, active)
        geometric_prior_frames(frames, model, opts, work, w, active)
    elif not opts.prior_start:
        refine_frames(frames, model, opts, work, w, active)
    else:
        bad = np.zeros(len(active), dtype=np.bool_)
        fused_frames(frames, model, opts, work, w, active, bad)
        if bad.any():
            _rescue_by_relaxation(frames, model, opts, work, w, bad)
    if hints:
        hinted_frames(frames, model, opts, work, w, active, relaxed)


def _rescue_by_relaxation(frames, model, opts, work, w, bad):
    """Frames the fused refinement from the network left off their keypoints: relax them and refine from
    the relaxation (its starts, the network's prior term included); the lower objective wins."""
    rows = np.flatnonzero(bad)
    kept = [a[rows].copy() for a in (work.Rbar, work.c, work.E, work.info)]
    relax_frames(model, opts, work, w, bad)
    refine_frames(frames, model, opts, work, w, bad)
    info = work.info
    worse = info["objective"][rows] >= kept[3]["objective"]
    for array, old in zip((work.Rbar, work.c, work.E), kept[:3]):
        array[rows[worse]] = old[worse]
    iterations = kept[3]["refine_iterations"] + info["refine_iterations"][rows]
    admm = info["admm_iterations"][rows].copy()
    info[rows[worse]] = kept[3][worse]
    info["refine_iterations"][rows] = iterations
    info["admm_iterations"][rows] = admm


def _solve_block(frames, model, opts, sol, predict=None):
    """Run the stages the options call for over one block of frames (the records' views of the block);
    ``predict`` fills the frames' prior from their normalised keypoints (a lifting network)."""
    N, _, P = frames.Wpx.shape
    active = frames.status == ST_OK
    if not active.any():
        return
    work = new_work(N, P, model.B.shape[0], sol.info)
    w = frames.w
    normalise_frames(frames, work, active)
    lifted = active.copy()
    if predict is not None and active.any():
        frames.prior[active] = predict(work.W[active], w[active], work.info[active])
    hints = bool(frames.n_hints.any())
    relax = not (opts.refine and opts.prior_start == NETWORK_START)
    if relax:
        relax_frames(model, opts, work, w, active)
    if opts.refine:
        _refine(frames, model, opts, work, w, active, hints)
    wr = w
    if opts.robust and opts.refine:
        # the L1 outlier term flags gross errors; the whole solve (relaxation included, for a
        # fresh global start) is repeated without the flagged joints
        wr = np.ascontiguousarray(w.copy())
        again = active.copy()
        trim_frames(opts, work, w, again, wr)
        if predict is not None and again.any():
            # the network saw the dropped joints too: its prior again, without them
            frames.prior[again] = predict(work.W[again], wr[again], work.info[again])
        if relax:
            relax_frames(model, opts, work, wr, again)
        _refine(frames, model, opts, work, wr, again, hints)
        dropped_frames(model, work, w, wr, active)
    if not opts.refine:
        convex_objectives(model, opts, work, w, active)
    if opts.perspective:
        perspective_frames(frames, model, opts, work, wr, active)
        perspective_outputs(frames, model, opts, work, wr, active, sol)
    else:
        weak_outputs(frames, model, work, active, sol)
    pack_frames(work, lifted, sol)


def stages_for(opts, hints: bool = False) -> list:
    """The stage kernels (numba dispatchers) a lift with these options runs (``hints``: with depth-order
    relations)."""
    stages = [normalise_frames, relax_frames, pack_frames, metric_units]
    if opts.refine:
        if opts.prior_start in (GEOMETRIC_START, REFLECTED_START):     # what _refine runs for each start
            stages += [refine_frames, geometric_prior_frames]
        else:
            stages += [fused_frames, refine_frames] if opts.prior_start else [refine_frames]
        if hints:
            stages.append(hinted_frames)
    else:
        stages.append(convex_objectives)
    if opts.robust and opts.refine:
        stages += [trim_frames, dropped_frames]
    stages += [perspective_frames, perspective_outputs] if opts.perspective else [weak_outputs]
    return stages


def uncompiled_stages(opts, hints: bool = False) -> list:
    """Names of the stages these options (and ``hints``) need that are neither compiled in this process
    nor in numba's on-disk cache (a cold first run compiles them)."""
    from .cache import uncompiled

    return uncompiled(stages_for(opts, hints))


_BLAS = []


def _blas_controller():
    """threadpoolctl's view of the BLAS libraries, found once per process (finding them reads the process's
    maps: about 1 ms, which a single-frame lift would pay every time)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0]


def solve_frames(frames, model, opts, sol, n_threads=1, predict=None):
    """Lift every frame whose ``status`` is ``ok`` (validation sets the others), on ``n_threads`` threads.

    Parameters
    ----------
    frames : Frames
        Keypoints (pixels), weights, statuses (in/out), depth relations, network prior.
    model, opts : SolverModel, SolverOptions
    sol : Solution, out
        Camera-frame points (normalised units), rotations, coefficients, outliers (pixels), result rows.
    n_threads : int
        Blocks of :data:`BLOCK` frames are shared among this many threads; the
        outputs do not depend on it.
    predict : callable, optional
        ``predict(W, w, info) -> (n, 3, P)``: a block's prior (``frames.prior``) from the normalised
        keypoints, weights and result rows of its active frames (:func:`lift2d3d.solvers.driver.network_prior`).
    """
    N = frames.Wpx.shape[0]
    blocks = [slice(lo, min(lo + BLOCK, N)) for lo in range(0, N, BLOCK)]

    def run(block):
        _solve_block(subset(frames, block), model, opts, subset(sol, block), predict)

    n_threads = max(1, min(int(n_threads), len(blocks)))
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import nullcontext

    # the network's products (predict) run on one BLAS thread, whatever n_threads: OpenBLAS's own
    # threads, spinning after each product, took the cores from the other workers' kernels (the fused
    # method on 2 threads: 1,670 frames/s with them, 2,341 without), and one setting for every n_threads
    # keeps the outputs independent of it
    limits = nullcontext() if predict is None else _blas_controller().limit(limits=1, user_api="blas")
    with limits:
        if n_threads == 1:
            for block in blocks:
                run(block)
            return
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for _ in pool.map(run, blocks):
                pass


@njit(**KERNEL)
def metric_units(X, edges, ref, out):
    """Normalised units per metre for each frame: least-squares match of bone lengths to ``ref``.

    ``out[n] = sum_e |X_a - X_b| ref_e / sum_e ref_e^2`` over the bones
    ``edges`` (E, 2).  A sequential loop, so that a frame gives the same bits
    alone or in a batch (NumPy's SIMD reductions depend on memory alignment).
    """
    N = X.shape[0]
    E = edges.shape[0]
    den = 0.0
    for e in range(E):
        den += ref[e] * ref[e]
    for n in range(N):
        num = 0.0
        for e in range(E):
            a = edges[e, 0]
            b = edges[e, 1]
            d0 = X[n, 0, a] - X[n, 0, b]
            d1 = X[n, 1, a] - X[n, 1, b]
            d2 = X[n, 2, a] - X[n, 2, b]
            num += np.sqrt(d0 * d0 + d1 * d1 + d2 * d2) * ref[e]
        out[n] = num / den
