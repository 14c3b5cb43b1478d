"""Per-frame pipeline and its parallel batch driver (numba, ``prange`` over frames).

For each frame: normalise (weighted centroid, unit RMS radius), solve the
convex relaxation by ADMM, read the rotation and coefficients off the
blocks, refine the original problem (weak perspective), and with intrinsics
refine the perspective model.  Everything the Python layer needs comes back
in preallocated arrays; frames whose ``status`` is already non-zero (input
validation) are skipped.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .convex import admm_frame, convex_objective
from .refine import (read_off, refine_multistart, refine_perspective, perspective_points, _shape,
                     _centre_rows, _rot3)

__all__ = ["lift_frames", "MODE_CONVEX", "MODE_REFINE"]

MODE_CONVEX = 0
MODE_REFINE = 1

ST_OK, ST_NOT_CONVERGED, ST_TOO_FEW, ST_NON_FINITE, ST_DEGENERATE = 0, 1, 2, 3, 4


#: A joint whose estimated outlier exceeds this many beta (normalised units)
#: is dropped and the pose re-fitted without it: the L1 outlier term alone acts
#: like a Huber loss, which a flexible shape model can still bend towards.
TRIM_FACTOR = 3.0


@njit(cache=True)
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
    if n_drop == 0 or n_keep < 5:
        return w.copy(), 0
    return wr, n_drop


@njit(cache=True)
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


@njit(cache=True)
def lift_one(Wpx, w, B, Bt, T, mode, robust, alpha, alpha_refine, beta, mu0, max_iter, eps_abs, eps_rel,
             max_outer, n_inner, tol, perspective, focal, px, py, n_posit, lateral, n_starts, edges, Mb,
             X_out, R_out, c_out, E_out, norm_out, info_out):
    """Lift one frame; returns the status code.

    ``alpha`` weights the relaxation's sparsity, ``alpha_refine`` the
    refinement's; ``edges`` (E, 2) and ``Mb`` (T, E) are the refinement's
    bone-length terms (0 rows: none); ``Bt`` is ``B`` as (P, 3K), contiguous.

    ``norm_out`` = [t0x, t0y, sigma, tau_x, tau_y, rho]; ``info_out`` =
    [objective, admm_iterations, refine_iterations, converged, reprojection_error_px].
    ``X_out`` (3, P): camera-frame points in normalised units (weak: centred
    at the weighted centroid with depth 0 there; perspective: model (3)).
    """
    K, P = B.shape[0], B.shape[2]
    # private copies: vectorised (fast-math) reductions must not depend on
    # where a frame sits in the batch array, so a frame lifted alone or in a
    # batch gives bit-identical results
    Wpx = Wpx.copy()
    w = w.copy()
    sw = 0.0
    for j in range(P):
        sw += w[j]
    t0x = 0.0
    t0y = 0.0
    for j in range(P):
        t0x += w[j] * Wpx[0, j]
        t0y += w[j] * Wpx[1, j]
    t0x /= sw
    t0y /= sw
    var = 0.0
    for j in range(P):
        dx = Wpx[0, j] - t0x
        dy = Wpx[1, j] - t0y
        var += w[j] * (dx * dx + dy * dy)
    sigma = np.sqrt(var / sw)
    scale_ref = max(abs(t0x), abs(t0y), 1.0)
    if not (sigma > 1e-9 * scale_ref):
        return ST_DEGENERATE
    W = np.empty((2, P))
    for j in range(P):
        W[0, j] = (Wpx[0, j] - t0x) / sigma
        W[1, j] = (Wpx[1, j] - t0y) / sigma

    Z = np.empty((2, K, 3))
    E = np.zeros((2, P))
    hist = np.empty((0, 4))
    Rbar = np.empty((2, 3))
    c = np.empty(K)
    n_admm = 0
    n_ref = 0
    conv = True
    obj = 0.0
    wr = w
    # the robust model runs twice: the L1 outlier term flags gross errors, then
    # the whole solve (relaxation included, for a fresh global start) is
    # repeated without the flagged joints
    for attempt in range(2 if (robust and mode == MODE_REFINE) else 1):
        if attempt == 1:
            wr, n_drop = inlier_weights(w, E, TRIM_FACTOR * beta)
            if n_drop == 0:
                break
        n_a, conv = admm_frame(W, wr, B, T, alpha, beta, robust, mu0, max_iter, eps_abs, eps_rel, Z, E, hist, Bt)
        n_admm += n_a
        read_off(Z, Rbar, c)
        if mode == MODE_REFINE:
            n_r, conv_ref, obj, _ = refine_multistart(W, wr, B, alpha_refine, beta, robust, E, Z, lateral, n_starts,
                                                      max_outer, n_inner, tol, edges, Mb, Rbar, c)
            n_ref += n_r
            conv = conv and conv_ref
    if robust and mode == MODE_REFINE:
        dropped_residuals(W, w, wr, B, Rbar, c, E)
    if mode != MODE_REFINE:
        # method "convex": the objective of the relaxation (1) at its solution
        obj = convex_objective(W, w, B, Z, E, alpha, beta if robust else 0.0)
    tau_x = 0.0
    tau_y = 0.0
    rho = 0.0
    S = np.empty((3, P))
    if perspective:
        rho = focal / sigma
        U = np.empty((2, P))
        for j in range(P):
            U[0, j] = (Wpx[0, j] - px) / sigma
            U[1, j] = (Wpx[1, j] - py) / sigma
        n_p, conv_p, obj = refine_perspective(U, w, B, alpha_refine, rho, Rbar, c, n_posit,
                                              max_outer, n_inner, tol, edges, Mb)
        n_ref += n_p
        conv = conv and conv_p
        tau_x, tau_y = perspective_points(B, c, Rbar, w, U, rho, X_out)
        err = 0.0
        cnt = 0.0
        for j in range(P):
            if w[j] > 0.0:
                ux = px + focal * X_out[0, j] / X_out[2, j]
                uy = py + focal * X_out[1, j] / X_out[2, j]
                err += (ux - Wpx[0, j]) ** 2 + (uy - Wpx[1, j]) ** 2
                cnt += 1.0
        reproj = np.sqrt(err / cnt)
    else:
        _shape(B, c, S)
        _centre_rows(S, w, sw)
        R = _rot3(Rbar)
        for a in range(3):
            for j in range(P):
                X_out[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
        # translation of the fit: minus the weighted mean of the outliers
        for j in range(P):
            tau_x -= w[j] * E[0, j]
            tau_y -= w[j] * E[1, j]
        tau_x /= sw
        tau_y /= sw
        err = 0.0
        cnt = 0.0
        for j in range(P):
            if w[j] > 0.0:
                ux = sigma * (X_out[0, j] + tau_x) + t0x
                uy = sigma * (X_out[1, j] + tau_y) + t0y
                err += (ux - Wpx[0, j]) ** 2 + (uy - Wpx[1, j]) ** 2
                cnt += 1.0
        reproj = np.sqrt(err / cnt)
    R = _rot3(Rbar)
    for a in range(3):
        for b in range(3):
            R_out[a, b] = R[a, b]
    for i in range(K):
        c_out[i] = c[i]
    for r in range(2):
        for j in range(P):
            E_out[r, j] = E[r, j] * sigma
    norm_out[0] = t0x
    norm_out[1] = t0y
    norm_out[2] = sigma
    norm_out[3] = tau_x
    norm_out[4] = tau_y
    norm_out[5] = rho
    info_out[0] = obj
    info_out[1] = n_admm
    info_out[2] = n_ref
    info_out[3] = 1.0 if conv else 0.0
    info_out[4] = reproj
    for a in range(3):
        for j in range(P):
            if not np.isfinite(X_out[a, j]):
                return ST_DEGENERATE
    return ST_OK if conv else ST_NOT_CONVERGED


@njit(cache=True, parallel=True)
def lift_frames(Wpx, w, status, B, T, mode, robust, alpha, alpha_refine, beta, mu0, max_iter, eps_abs, eps_rel,
                max_outer, n_inner, tol, perspective, focal, px, py, n_posit, lateral, n_starts, edges, Mb,
                X_out, R_out, c_out, E_out, norm_out, info_out):
    """Lift N frames in parallel (see :func:`lift_one`); ``status`` is updated in place."""
    N = Wpx.shape[0]
    K, P = B.shape[0], B.shape[2]
    Bt = np.ascontiguousarray(B.reshape(3 * K, P).T)     # (P, 3K), shared by the frames
    for n in prange(N):
        if status[n] != ST_OK:
            continue
        status[n] = lift_one(Wpx[n], w[n], B, Bt, T, mode, robust, alpha, alpha_refine, beta, mu0, max_iter,
                             eps_abs, eps_rel, max_outer, n_inner, tol, perspective, focal, px, py,
                             n_posit, lateral, n_starts, edges, Mb, X_out[n], R_out[n], c_out[n], E_out[n], norm_out[n], info_out[n])


@njit(cache=True)
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
