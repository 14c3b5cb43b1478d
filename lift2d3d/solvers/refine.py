"""Refinement of the original (non-convex) problem from the convex solution.

Weak perspective (Zhou et al., TPAMI 2017, Sec. 4; the "convex+refine" method)::

    min_{R̄, c, E}  1/2 || (W - E - R̄ sum_i c_i B_i) C_w D ||_F^2 + alpha ||c||_1 + beta ||E||_1   (2)

solved by alternating minimisation, each block exactly or by a descent step:

* rotation: Procrustes, ``R̄ = polar((W - E) C_w diag(w) S^T)`` (the closest
  2x3 matrix with orthonormal rows), exact for fixed c;
* coefficients: FISTA (Beck & Teboulle 2009) on the Lasso in c with
  gradient restart (O'Donoghue & Candès 2015), warm-started, a few steps per
  sweep; the step 1/L uses ``L = max(w) ||[vec B_1 .. vec B_K]||_2^2``, a
  bound valid for every rotation and weighting (Procrustes rows are
  orthonormal and weighted centring is a projection);
* outliers (robust model): soft threshold of the weighted residual, exact.

The objective never increases across Procrustes and outlier steps, and the
best iterate is kept.

Full perspective (MonoCap, TPAMI 2018) with focal length f and principal
point p, in normalised units (``u' = (u - p) / sigma``, ``rho = f / sigma``)::

    u'_j = (R̄ S_j + tau) / (1 + r3 . S_j / rho)                                    (3)

with ``S_j`` relative to the weighted centroid, which sits at depth ``rho``.
Multiplying through by ``1 + eps_j`` (``eps_j = r3 . S_j / rho``) turns (3)
into a weak-perspective problem on corrected points ``u'_j (1 + eps_j)``
whose residuals, weighted by ``w_j / (1 + eps_j)^2``, equal the perspective
reprojection residuals at the current depths (the POSIT idea of DeMenthon
& Davis 1995), so (3) is solved by re-solving (2) with updated depths.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import polar_2x3

__all__ = ["read_off", "refine_weak", "refine_perspective", "weak_objective"]


@njit(cache=True)
def read_off(Z, Rbar, c):
    """Rotation rows ``R̄`` and coefficients ``c`` from the blocks ``M_i ≈ c_i R̄``.

    The block of largest norm fixes a reference rotation; the others are
    sign-aligned to it and summed before projecting onto the Stiefel set,
    then ``c_i = <M_i, R̄> / 2`` (least squares for the fixed R̄).
    """
    K = Z.shape[1]
    best = -1.0
    ib = 0
    for i in range(K):
        s = 0.0
        for r in range(2):
            for a in range(3):
                s += Z[r, i, a] * Z[r, i, a]
        if s > best:
            best = s
            ib = i
    blk = np.empty((2, 3))
    for r in range(2):
        for a in range(3):
            blk[r, a] = Z[r, ib, a]
    R0 = np.empty((2, 3))
    polar_2x3(blk, R0)
    acc = np.zeros((2, 3))
    for i in range(K):
        d = 0.0
        for r in range(2):
            for a in range(3):
                d += Z[r, i, a] * R0[r, a]
        sgn = 1.0 if d >= 0.0 else -1.0
        for r in range(2):
            for a in range(3):
                acc[r, a] += sgn * Z[r, i, a]
    polar_2x3(acc, Rbar)
    for i in range(K):
        d = 0.0
        for r in range(2):
            for a in range(3):
                d += Z[r, i, a] * Rbar[r, a]
        c[i] = 0.5 * d


@njit(cache=True)
def _shape(B, c, S):
    K, P = B.shape[0], B.shape[2]
    for a in range(3):
        for j in range(P):
            S[a, j] = 0.0
    for i in range(K):
        ci = c[i]
        if ci == 0.0:
            continue
        for a in range(3):
            for j in range(P):
                S[a, j] += ci * B[i, a, j]


@njit(cache=True)
def _centre_rows(X, w, sw):
    rows, P = X.shape
    for r in range(rows):
        acc = 0.0
        for j in range(P):
            acc += w[j] * X[r, j]
        m = acc / sw
        for j in range(P):
            X[r, j] -= m


@njit(cache=True)
def weak_objective(W, w, B, Rbar, c, E, alpha, beta):
    """Objective (2)."""
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    S = np.empty((3, P))
    _shape(B, c, S)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            acc = W[r, j] - E[r, j]
            for a in range(3):
                acc -= Rbar[r, a] * S[a, j]
            R[r, j] = acc
    _centre_rows(R, w, sw)
    f = 0.0
    for r in range(2):
        for j in range(P):
            f += 0.5 * w[j] * R[r, j] * R[r, j]
    for i in range(K):
        f += alpha * abs(c[i])
    if beta > 0.0:
        for r in range(2):
            for j in range(P):
                f += beta * abs(E[r, j])
    return f


@njit(cache=True)
def refine_weak(W, w, B, L0, alpha, beta, robust, E, Rbar, c, max_outer, n_inner, tol):
    """Alternating minimisation of (2) from ``(Rbar, c, E)``, updated in place.

    Parameters
    ----------
    W : (2, P) float64
        Keypoints (any translation; it is eliminated by weighted centring).
    w : (P,) float64
        Joint weights (0 = missing).
    B : (K, 3, P) float64
        Bases.
    L0 : float
        ``||[vec B_1 .. vec B_K]||_2^2`` of the bases (the step bound).
    alpha, beta : float
    robust : bool
        Update the outlier matrix E.
    E : (2, P) float64, in/out
    Rbar : (2, 3) float64, in/out
    c : (K,) float64, in/out
    max_outer, n_inner : int
        Sweeps, and FISTA steps per sweep.
    tol : float
        Stop when the relative decrease of the objective in a sweep is below.

    Returns
    -------
    n_outer : int
    converged : bool
    objective : float
    """
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    wmax = w.max()
    L = max(wmax * L0, 1e-12)
    S = np.empty((3, P))
    Wt = np.empty((2, P))
    Res = np.empty((2, P))
    Q = np.empty((3, P))
    Mx = np.empty((2, 3))
    y = c.copy()
    cn = np.empty(K)
    best_R = Rbar.copy()
    best_c = c.copy()
    best_E = E.copy()
    f_best = weak_objective(W, w, B, Rbar, c, E, alpha, beta if robust else 0.0)
    f_prev = f_best
    converged = False
    outer = 0
    for outer in range(1, max_outer + 1):
        # ---- rotation: Procrustes ----
        for r in range(2):
            for j in range(P):
                Wt[r, j] = W[r, j] - E[r, j]
        _centre_rows(Wt, w, sw)
        _shape(B, c, S)
        _centre_rows(S, w, sw)
        for r in range(2):
            for a in range(3):
                acc = 0.0
                for j in range(P):
                    acc += Wt[r, j] * w[j] * S[a, j]
                Mx[r, a] = acc
        polar_2x3(Mx, Rbar)

        # ---- coefficients: FISTA with gradient restart ----
        for i in range(K):
            y[i] = c[i]
        t = 1.0
        thr = alpha / L
        for k in range(n_inner):
            _shape(B, y, S)
            _centre_rows(S, w, sw)
            for r in range(2):
                for j in range(P):
                    acc = -Wt[r, j]
                    for a in range(3):
                        acc += Rbar[r, a] * S[a, j]
                    Res[r, j] = acc * w[j]
            for a in range(3):
                for j in range(P):
                    Q[a, j] = Rbar[0, a] * Res[0, j] + Rbar[1, a] * Res[1, j]
            restart = 0.0
            for i in range(K):
                g = 0.0
                for a in range(3):
                    for j in range(P):
                        g += B[i, a, j] * Q[a, j]
                v = y[i] - g / L
                if v > thr:
                    v -= thr
                elif v < -thr:
                    v += thr
                else:
                    v = 0.0
                cn[i] = v
                restart += (y[i] - v) * (v - c[i])
            if restart > 0.0:
                t = 1.0
                for i in range(K):
                    c[i] = cn[i]
                    y[i] = cn[i]
            else:
                tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta_m = (t - 1.0) / tn
                for i in range(K):
                    y[i] = cn[i] + beta_m * (cn[i] - c[i])
                    c[i] = cn[i]
                t = tn

        # ---- outliers: exact soft threshold ----
        if robust:
            _shape(B, c, S)
            for r in range(2):
                acc_t = 0.0
                for j in range(P):
                    pr = Rbar[r, 0] * S[0, j] + Rbar[r, 1] * S[1, j] + Rbar[r, 2] * S[2, j]
                    Res[r, j] = W[r, j] - pr
                    acc_t += w[j] * (Res[r, j] - E[r, j])
                tt = acc_t / sw
                for j in range(P):
                    res = Res[r, j] - tt
                    if w[j] > 0.0:
                        th = beta / w[j]
                        if res > th:
                            E[r, j] = res - th
                        elif res < -th:
                            E[r, j] = res + th
                        else:
                            E[r, j] = 0.0
                    else:
                        E[r, j] = 0.0

        f = weak_objective(W, w, B, Rbar, c, E, alpha, beta if robust else 0.0)
        if f < f_best:
            f_best = f
            best_R[:, :] = Rbar
            best_c[:] = c
            best_E[:, :] = E
        if abs(f_prev - f) <= tol * max(abs(f), 1e-12):
            converged = True
            break
        f_prev = f
    Rbar[:, :] = best_R
    c[:] = best_c
    E[:, :] = best_E
    return outer, converged, f_best


@njit(cache=True)
def _rot3(Rbar):
    R = np.empty((3, 3))
    for a in range(3):
        R[0, a] = Rbar[0, a]
        R[1, a] = Rbar[1, a]
    R[2, 0] = Rbar[0, 1] * Rbar[1, 2] - Rbar[0, 2] * Rbar[1, 1]
    R[2, 1] = Rbar[0, 2] * Rbar[1, 0] - Rbar[0, 0] * Rbar[1, 2]
    R[2, 2] = Rbar[0, 0] * Rbar[1, 1] - Rbar[0, 1] * Rbar[1, 0]
    return R


@njit(cache=True)
def perspective_points(B, c, Rbar, w, U, rho, X):
    """Camera-frame points (3, P) of model (3), in normalised units; returns the 2D translation fit.

    The centroid (weights ``w``) of the shape sits at depth ``rho``; ``tau`` is
    the least-squares translation for the current depths.
    """
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    S = np.empty((3, P))
    _shape(B, c, S)
    _centre_rows(S, w, sw)
    R = _rot3(Rbar)
    # tau minimising sum_j w_j ||u'_j (1 + eps_j) - R̄ S_j - tau||^2 / (1 + eps_j)^2
    num0 = 0.0
    num1 = 0.0
    den = 0.0
    for j in range(P):
        z = rho + R[2, 0] * S[0, j] + R[2, 1] * S[1, j] + R[2, 2] * S[2, j]
        z = max(z, 0.05 * rho)
        g = z / rho
        ww = w[j] / (g * g)
        x0 = R[0, 0] * S[0, j] + R[0, 1] * S[1, j] + R[0, 2] * S[2, j]
        x1 = R[1, 0] * S[0, j] + R[1, 1] * S[1, j] + R[1, 2] * S[2, j]
        num0 += ww * (U[0, j] * g - x0)
        num1 += ww * (U[1, j] * g - x1)
        den += ww
        X[0, j] = x0
        X[1, j] = x1
        X[2, j] = z
    t0 = num0 / den
    t1 = num1 / den
    for j in range(P):
        X[0, j] += t0
        X[1, j] += t1
    return t0, t1


@njit(cache=True)
def perspective_residual(U, w, rho, X):
    """Weighted sum of squared reprojection residuals of points X against u' (normalised units)."""
    P = U.shape[1]
    f = 0.0
    for j in range(P):
        z = X[2, j]
        d0 = U[0, j] - rho * X[0, j] / z
        d1 = U[1, j] - rho * X[1, j] / z
        f += 0.5 * w[j] * (d0 * d0 + d1 * d1)
    return f


@njit(cache=True)
def refine_perspective(U, w, B, L0, alpha, rho, Rbar, c, n_posit, max_outer, n_inner, tol):
    """Refine model (3) from a weak-perspective ``(Rbar, c)`` by depth-corrected re-solves.

    Parameters
    ----------
    U : (2, P) float64
        ``(u - p) / sigma``: keypoints relative to the principal point, normalised.
    w : (P,) float64
    rho : float
        ``f / sigma``.
    n_posit : int
        Maximum depth-correction rounds.

    Returns
    -------
    rounds : int
    converged : bool
    objective : float
        ``1/2 sum_j w_j ||u'_j - proj_j||^2 + alpha ||c||_1``.
    """
    K, P = B.shape[0], B.shape[2]
    X = np.empty((3, P))
    Wc = np.empty((2, P))
    ww = np.empty(P)
    E = np.zeros((2, P))
    best_R = Rbar.copy()
    best_c = c.copy()
    perspective_points(B, c, Rbar, w, U, rho, X)
    l1 = 0.0
    for i in range(K):
        l1 += abs(c[i])
    f_best = perspective_residual(U, w, rho, X) + alpha * l1
    f_prev = f_best
    converged = False
    rounds = 0
    for rounds in range(1, n_posit + 1):
        for j in range(P):
            g = X[2, j] / rho
            Wc[0, j] = U[0, j] * g
            Wc[1, j] = U[1, j] * g
            ww[j] = w[j] / (g * g)
        refine_weak(Wc, ww, B, L0, alpha, 0.0, False, E, Rbar, c, max_outer, n_inner, tol)
        perspective_points(B, c, Rbar, w, U, rho, X)
        l1 = 0.0
        for i in range(K):
            l1 += abs(c[i])
        f = perspective_residual(U, w, rho, X) + alpha * l1
        if f < f_best:
            f_best = f
            best_R[:, :] = Rbar
            best_c[:] = c
        if abs(f_prev - f) <= 10.0 * tol * max(abs(f), 1e-12):
            converged = True
            break
        f_prev = f
    Rbar[:, :] = best_R
    c[:] = best_c
    return rounds, converged, f_best
