"""Per-frame pipeline and its batch driver (numba kernels, threads over frames).

For each frame: normalise (weighted centroid, unit RMS radius), solve the
convex relaxation by ADMM, read the rotation and coefficients off the
blocks, refine the original problem (weak perspective), and with intrinsics
refine the perspective model.  The kernels take the two records of
:mod:`lift2d3d.solvers.records` (what to do, and the shape prior) and fill
preallocated arrays plus one :data:`~lift2d3d.solvers.records.FRAME_RESULT`
row per frame; frames whose ``status`` is already set (input validation)
are skipped.

Frames are independent, so :func:`solve_frames` runs them on plain threads
(the kernels release the GIL), which compiles far faster than a numba
``prange`` loop and gives the same bits: every frame works on private
copies, so it is solved identically alone or in a batch, on any thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import status as _status
from .convex import admm_frame, convex_objective
from .prox import ADMM_KERNEL, FASTMATH, KERNEL
from .reflect import hint_candidates, reflect_chains, reflected_start
from .refine import (_centre_rows, _copy_into, _rot3, _shape, fit_residual, perspective_points, perspective_units,
                     read_off, refine_multistart, refine_perspective, refine_weak, weak_objective)
from .terms import Terms, frame_terms

__all__ = ["solve_frames", "metric_units", "TRIM_FACTOR", "BLOCK"]

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
    _shape(B, c, S)
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
# Each stage loops over the frames of a block whose ``active`` flag is set; the
# driver (solve_frames) runs the stages the options call for.  Keeping the big
# kernels (the ADMM, the refinement) in separate stages means each is compiled
# once and only when a method needs it, instead of being re-optimised inside
# one giant per-frame function.

@njit(**KERNEL)
def normalise_frames(Wpx, w, active, status, info, W):
    """Weighted centroid and RMS radius of each frame's keypoints; ``W`` the normalised keypoints.

    A frame whose used keypoints coincide gets status ``degenerate`` and is deactivated.
    """
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
            status[n] = ST_DEGENERATE
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
def relax_frames(W, w, active, model, opts, Z, E, Rbar, c, info):
    """The convex relaxation (1) by ADMM, and the rotation and coefficients read off its blocks."""
    hist = np.empty((0, 4))
    for n in range(W.shape[0]):
        if not active[n]:
            continue
        # private copies: vectorised (fast-math) reductions must not depend on
        # where a frame sits in the batch array, so a frame lifted alone or in a
        # batch gives bit-identical results
        Wn = W[n].copy()
        wn = w[n].copy()
        n_a, conv = admm_frame(Wn, wn, model.B, model.T, opts.alpha, opts.beta, opts.robust, model.mu0,
                               opts.max_iter, opts.eps_abs, opts.eps_rel, Z[n], E[n], hist, model.Bt)
        read_off(Z[n], Rbar[n], c[n])
        info[n].admm_iterations += n_a
        # a fresh solve: what an earlier attempt (robust, before trimming) did no longer counts
        info[n].converged = conv


@njit(**KERNEL, fastmath=FASTMATH)
def refine_frames(W, w, active, model, opts, Z, E, Rbar, c, info):
    """The refinement of the original problem (2) from the relaxation (:func:`refine_multistart`)."""
    for n in range(W.shape[0]):
        if not active[n]:
            continue
        Wn = W[n].copy()
        wn = w[n].copy()
        hinted = frame_terms(model, opts, n)
        # the refinement proper ignores the depth-order hints: a frame whose lift already satisfies
        # them is left exactly as it would be without them
        terms = Terms(hinted.edges, hinted.Mb, np.ascontiguousarray(hinted.hints[:0]), hinted.depth_weight,
                      hinted.depth_margin, hinted.depth_tol)
        E0 = E[n].copy()
        n_r, conv, obj, _ = refine_multistart(Wn, wn, model, opts, terms, E[n], Z[n], Rbar[n], c[n], opts.n_starts)
        if opts.n_starts < RESCUE_STARTS and fit_residual(Wn, wn, model.B, Rbar[n], c[n], E[n]) > RESCUE_RESIDUAL:
            # a start that fits badly: try the depth mirror and the next blocks' rotations too
            R1, c1, E1 = Rbar[n].copy(), c[n].copy(), E[n].copy()
            _copy_into(E0, c1, E[n], np.empty(0))
            n_x, conv_x, obj_x, _ = refine_multistart(Wn, wn, model, opts, terms, E[n], Z[n], Rbar[n], c[n],
                                                      RESCUE_STARTS)
            n_r += n_x
            if obj_x < obj:
                obj, conv = obj_x, conv_x
            else:
                _copy_into(R1, c1, Rbar[n], c[n])
                _copy_into(E1, np.empty(0), E[n], np.empty(0))
        info[n].refine_iterations += n_r
        info[n].converged = info[n].converged and conv
        info[n].objective = obj


@njit(**KERNEL, fastmath=FASTMATH)
def hinted_frames(W, w, active, model, opts, E, Rbar, c, relaxed, info):
    """The frames with depth-order hints that their refined lift violates (:func:`_hinted_refine`), after
    :func:`refine_frames`; ``relaxed`` is whether each frame's relaxation converged.  A stage of its
    own, run (and compiled) only for batches with hints."""
    for n in range(W.shape[0]):
        if not active[n] or model.n_hints[n] == 0:
            continue
        Wn = W[n].copy()
        wn = w[n].copy()
        n_x, conv_x, obj_x = _hinted_refine(Wn, wn, model, opts, frame_terms(model, opts, n), E[n], Rbar[n], c[n])
        info[n].refine_iterations += n_x
        if n_x > 0:
            info[n].objective = obj_x
            info[n].converged = relaxed[n] and conv_x


@njit(**KERNEL)
def _hinted_refine(W, w, model, opts, terms, E, Rbar, c):
    """Depth-order hints the lift violates: refine with the hinge terms from the lift itself and from the
    limb-depth reflections that satisfy the most relations, and keep the lowest objective (hinges
    included) in ``Rbar``, ``c``, ``E``.  Returns (iterations, converged, objective); no iterations when
    the lift already satisfies every relation (it is then left as it is)."""
    B = model.B
    beta = opts.beta if opts.robust else 0.0
    if _violated(W, w, model, Rbar, c, terms) == 0:
        return 0, True, 0.0
    # (a) the lift itself, refined with the hinges
    Ra, ca, Ea = Rbar.copy(), c.copy(), E.copy()
    its, conv, f = refine_weak(W, w, B, opts.refine_alpha, beta, Ea, Ra, ca, opts.max_outer, opts.n_inner, opts.tol,
                               terms)
    # (b) a reflection that satisfies more of them
    if model.chains.shape[0] > 0:
        its_b, conv_b, f_b = _reflected_refine(W, w, model, opts, terms, E, Rbar, c)
        its += its_b
        if f_b < f:
            return its, conv_b, f_b
    _copy_into(Ra, ca, Rbar, c)
    _copy_into(Ea, np.empty(0), E, np.empty(0))
    return its, conv, f


@njit(**KERNEL)
def _camera_pose(B, w, Rbar, c):
    """The pose ``sum_i c_i B_i`` (centred on the weighted joints) turned into the camera frame, (3, P)."""
    P = B.shape[2]
    S = np.empty((3, P))
    _shape(B, c, S)
    _centre_rows(S, w, w.sum())
    R = _rot3(Rbar)
    X = np.empty((3, P))
    for a in range(3):
        for j in range(P):
            X[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
    return X


@njit(**KERNEL)
def _violated(W, w, model, Rbar, c, terms):
    """How many depth relations the pose (Rbar, c) violates."""
    X = _camera_pose(model.B, w, Rbar, c)
    # by the relation itself, without the hinge's margin: a lift that obeys the hints stays as it is
    count = 0
    for h in range(terms.hints.shape[0]):
        dz = X[2, terms.hints[h, 0]] - X[2, terms.hints[h, 1]]
        count += (dz >= 0.0) if terms.hints[h, 2] == 0 else (abs(dz) > terms.depth_tol)
    return count


@njit(**KERNEL)
def _reflected_refine(W, w, model, opts, terms, E, Rbar, c):
    """Refine from the reflection of the pose (Rbar, c) that satisfies the most depth relations (of those,
    the one the prior fits best); writes it to ``Rbar``, ``c``, ``E`` only if it returns a finite
    objective.  Returns (iterations, converged, objective; inf when no reflection satisfies more)."""
    B = model.B
    K, P = B.shape[0], B.shape[2]
    R = _rot3(Rbar)
    X = _camera_pose(B, w, Rbar, c)
    masks, mirrors, n_cand = hint_candidates(X, model.chains, terms.hints, terms.depth_margin, terms.depth_tol,
                                             HINT_CANDIDATES)
    if n_cand == 0:
        return 0, True, np.inf
    # of the reflections that satisfy the most relations, start from the one the prior likes best
    Y = np.empty((3, P))
    beta = opts.beta if opts.robust else 0.0
    Rb = np.empty((2, 3))
    cs = np.empty(K)
    best_f = np.inf
    for k in range(n_cand):
        reflect_chains(X, model.chains, masks[k], mirrors[k], Y)
        Rs = R.copy()
        if mirrors[k]:
            # the depth mirror of the rotation: F R F_b (F flips the camera depth, F_b the body's sides)
            lat = model.lateral
            for a in range(2):
                for b in range(3):
                    acc = 0.0
                    for m in range(3):
                        acc += R[a, m] * ((1.0 if m == b else 0.0) - 2.0 * lat[m] * lat[b])
                    Rs[a, b] = acc
            Rs = _rot3(np.ascontiguousarray(Rs[:2]))
        ck = c.copy()
        reflected_start(Y, w, B, Rs, opts.alpha, ck)     # a sparse 3D fit: the refinement follows
        Rk = np.ascontiguousarray(Rs[:2])
        fk = weak_objective(W, w, B, Rk, ck, E, opts.refine_alpha, beta, terms)
        if fk < best_f:
            best_f = fk
            _copy_into(Rk, ck, Rb, cs)
    Es = E.copy()
    its, conv, f = refine_weak(W, w, B, opts.refine_alpha, beta, Es, Rb, cs, opts.max_outer, opts.n_inner, opts.tol,
                               terms)
    _copy_into(Rb, cs, Rbar, c)
    _copy_into(Es, np.empty(0), E, np.empty(0))
    return its, conv, f


@njit(**KERNEL)
def trim_frames(w, active, opts, E, wr):
    """Robust model: drop the joints whose outlier exceeds ``TRIM_FACTOR * beta``; ``active`` keeps the
    frames that dropped any (they are solved again without them)."""
    for n in range(w.shape[0]):
        if not active[n]:
            continue
        trimmed, n_drop = inlier_weights(w[n], E[n], TRIM_FACTOR * opts.beta)
        for j in range(w.shape[1]):
            wr[n, j] = trimmed[j]
        active[n] = n_drop > 0


@njit(**KERNEL)
def dropped_frames(W, w, wr, active, model, Rbar, c, E):
    """Robust model: the dropped joints' outliers are their residuals to the inlier fit."""
    for n in range(W.shape[0]):
        if active[n]:
            dropped_residuals(W[n].copy(), w[n].copy(), wr[n].copy(), model.B, Rbar[n], c[n], E[n])


@njit(**KERNEL)
def convex_objectives(W, w, active, model, opts, Z, E, info):
    """Method ``convex``: the objective of the relaxation (1) at its solution."""
    for n in range(W.shape[0]):
        if active[n]:
            info[n].objective = convex_objective(W[n].copy(), w[n].copy(), model.B, Z[n], E[n], opts.alpha,
                                                 opts.beta if opts.robust else 0.0)


@njit(**KERNEL)
def weak_outputs(Wpx, w, active, model, Rbar, c, E, X_out, info):
    """Weak perspective: camera-frame points, the fit's translation and the reprojection error."""
    B = model.B
    P = B.shape[2]
    S = np.empty((3, P))
    for n in range(Wpx.shape[0]):
        if not active[n]:
            continue
        wn = w[n].copy()
        sw = 0.0
        for j in range(P):
            sw += wn[j]
        sigma, t0x, t0y = info[n].sigma, info[n].t0x, info[n].t0y
        _shape(B, c[n], S)
        _centre_rows(S, wn, sw)
        R = _rot3(Rbar[n])
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
def perspective_frames(Wpx, w, wr, active, model, opts, Rbar, c, E, X_out, info):
    """Full perspective (model (3)) from the weak solution, with the camera points and reprojection error.

    The robust model's trimmed weights ``wr`` keep the joints it dropped out of the fit; their outliers
    become their residuals to the perspective fit.
    """
    B = model.B
    P = B.shape[2]
    U = np.empty((2, P))
    for n in range(Wpx.shape[0]):
        if not active[n]:
            continue
        sigma = info[n].sigma
        wn = w[n].copy()
        wrn = wr[n].copy()
        rho = perspective_units(Wpx[n], opts.px, opts.py, opts.focal, sigma, U)
        n_p, conv, obj = refine_perspective(U, wrn, B, opts.refine_alpha, rho, Rbar[n], c[n], opts.n_posit,
                                            opts.max_outer, opts.n_inner, opts.tol, frame_terms(model, opts, n))
        info[n].refine_iterations += n_p
        info[n].converged = info[n].converged and conv
        info[n].objective = obj
        tau_x, tau_y = perspective_points(B, c[n], Rbar[n], wrn, U, rho, X_out[n])
        err = 0.0
        cnt = 0.0
        for j in range(P):
            if wn[j] > 0.0:
                ux = opts.px + opts.focal * X_out[n, 0, j] / X_out[n, 2, j]
                uy = opts.py + opts.focal * X_out[n, 1, j] / X_out[n, 2, j]
                err += (ux - Wpx[n, 0, j]) ** 2 + (uy - Wpx[n, 1, j]) ** 2
                cnt += 1.0
                if opts.robust:
                    # outliers: the dropped joints' residuals to the perspective fit (normalised units)
                    E[n, 0, j] = (Wpx[n, 0, j] - ux) / sigma if wrn[j] == 0.0 else 0.0
                    E[n, 1, j] = (Wpx[n, 1, j] - uy) / sigma if wrn[j] == 0.0 else 0.0
        info[n].tau_x = tau_x
        info[n].tau_y = tau_y
        info[n].tau_z = rho
        info[n].reprojection_error = np.sqrt(err / cnt)


@njit(**KERNEL)
def pack_frames(active, status, Rbar, c, E, X_out, R_out, c_out, E_out, info):
    """Write the rotations, coefficients and outliers (pixels), and each frame's status."""
    K, P = c.shape[1], E.shape[2]
    for n in range(active.shape[0]):
        if not active[n]:
            continue
        R = _rot3(Rbar[n])
        for a in range(3):
            for b in range(3):
                R_out[n, a, b] = R[a, b]
        for i in range(K):
            c_out[n, i] = c[n, i]
        sigma = info[n].sigma
        for r in range(2):
            for j in range(P):
                E_out[n, r, j] = E[n, r, j] * sigma
        finite = True
        for a in range(3):
            for j in range(P):
                if not np.isfinite(X_out[n, a, j]):
                    finite = False
        status[n] = (ST_OK if info[n].converged else ST_NOT_CONVERGED) if finite else ST_DEGENERATE


#: A refinement whose 2D residual exceeds this fraction of the pose's size is tried again from
#: RESCUE_STARTS starts (the depth mirror and the next blocks' rotations), keeping the lower
#: objective: the single start of the default method lands in a bad local minimum on about 1 in
#: 60 of the bench's synthetic frames (residual 47 % of the pose, against 2 % after the rescue).
#: Half the plausibility limit (:data:`lift2d3d.plausibility.MAX_RELATIVE_REPROJECTION`).
RESCUE_RESIDUAL = 0.1
RESCUE_STARTS = 4
#: Depth-order hints: at most this many reflections (those satisfying the most relations, fewest
#: flips first) are fitted to choose the refinement's start.  On 336 CMU corpus frames with 3
#: relations each, 1 and 4 candidates gave the same accuracy (PA-MPJPE 0.97x, camera-frame 0.96x
#: of no hints), and 4 took the hinted lift from 0.83x to 0.5x the speed of a plain one.
HINT_CANDIDATES = 1

#: Frames per block: the unit of work of one thread, and of the stages' working arrays.
BLOCK = 256


def _refine(W, w, active, model, opts, Z, E, Rbar, c, info, hints: bool):
    """The refinement stage after a relaxation, then (``hints``) the hinted one, which needs to know
    whether each frame's relaxation converged."""
    relaxed = info["converged"].copy()
    refine_frames(W, w, active, model, opts, Z, E, Rbar, c, info)
    if hints:
        hinted_frames(W, w, active, model, opts, E, Rbar, c, relaxed, info)


def _solve_block(Wpx, w, status, model, opts, X_out, R_out, c_out, E_out, info):
    """Run the stages the options call for over one block of frames (arrays are the block's views)."""
    N, _, P = Wpx.shape
    K = model.B.shape[0]
    active = status == ST_OK
    if not active.any():
        return
    W = np.zeros((N, 2, P))
    normalise_frames(Wpx, w, active, status, info, W)
    Z = np.zeros((N, 2, K, 3))
    E = np.zeros((N, 2, P))
    Rbar = np.zeros((N, 2, 3))
    c = np.zeros((N, K))
    lifted = active.copy()
    hints = bool(model.n_hints.any())
    relax_frames(W, w, active, model, opts, Z, E, Rbar, c, info)
    if opts.refine:
        _refine(W, w, active, model, opts, Z, E, Rbar, c, info, hints)
    wr = w
    if opts.robust and opts.refine:
        # the L1 outlier term flags gross errors; the whole solve (relaxation included, for a
        # fresh global start) is repeated without the flagged joints
        wr = np.ascontiguousarray(w.copy())
        again = active.copy()
        trim_frames(w, again, opts, E, wr)
        relax_frames(W, wr, again, model, opts, Z, E, Rbar, c, info)
        _refine(W, wr, again, model, opts, Z, E, Rbar, c, info, hints)
        dropped_frames(W, w, wr, active, model, Rbar, c, E)
    if not opts.refine:
        convex_objectives(W, w, active, model, opts, Z, E, info)
    if opts.perspective:
        perspective_frames(Wpx, w, wr, active, model, opts, Rbar, c, E, X_out, info)
    else:
        weak_outputs(Wpx, w, active, model, Rbar, c, E, X_out, info)
    pack_frames(lifted, status, Rbar, c, E, X_out, R_out, c_out, E_out, info)


def stages_for(opts, hints: bool = False) -> list:
    """The stage kernels (numba dispatchers) a lift with these options runs (``hints``: with depth-order
    relations)."""
    stages = [normalise_frames, relax_frames, pack_frames, metric_units]
    if opts.refine:
        stages.append(refine_frames)
        if hints:
            stages.append(hinted_frames)
    else:
        stages.append(convex_objectives)
    if opts.robust and opts.refine:
        stages += [trim_frames, dropped_frames]
    stages.append(perspective_frames if opts.perspective else weak_outputs)
    return stages


def uncompiled_stages(opts, hints: bool = False) -> list:
    """Names of the stages these options (and ``hints``) need that are neither compiled in this process
    nor in numba's on-disk cache (a cold first run compiles them)."""
    from .cache import uncompiled

    return uncompiled(stages_for(opts, hints))


def solve_frames(Wpx, w, status, model, opts, X_out, R_out, c_out, E_out, info, n_threads=1):
    """Lift every frame whose ``status`` is ``ok`` (validation sets the others), on ``n_threads`` threads.

    Parameters
    ----------
    Wpx : (N, 2, P) float64
        Keypoints, pixels.
    w : (N, P) float64
        Joint weights (0 = missing).
    status : (N,) int64, in/out
        Status codes (:mod:`lift2d3d.status`).
    model, opts : SolverModel, SolverOptions
    X_out : (N, 3, P), R_out : (N, 3, 3), c_out : (N, K), E_out : (N, 2, P) float64, out
        Camera-frame points (normalised units), rotations, coefficients, outliers (pixels).
    info : (N,) FRAME_RESULT, out
    n_threads : int
        Blocks of :data:`BLOCK` frames are shared among this many threads; the
        outputs do not depend on it.
    """
    N = Wpx.shape[0]
    blocks = [slice(lo, min(lo + BLOCK, N)) for lo in range(0, N, BLOCK)]

    def run(block):
        # the per-frame data of the model (depth-order relations) follows the block
        block_model = model._replace(hints=model.hints[block], n_hints=model.n_hints[block])
        _solve_block(Wpx[block], w[block], status[block], block_model, opts, X_out[block], R_out[block],
                     c_out[block], E_out[block], info[block])

    n_threads = max(1, min(int(n_threads), len(blocks)))
    if n_threads == 1:
        for block in blocks:
            run(block)
        return
    from concurrent.futures import ThreadPoolExecutor

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
