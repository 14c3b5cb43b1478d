"""Weighted Lasso over the bases at a fixed rotation: active-set coordinate descent, and FISTA as its twin.

The refinement's extra starts (:func:`lift2d3d.solvers.refine.refine_multistart`)
and the 3D fit of a reflected pose (:func:`lift2d3d.solvers.reflect.reflected_start`)
need the coefficients that best explain 2D keypoints or 3D points at a given
rotation: ``min_c 1/2 ||y - sum_i c_i A_i||_w^2 + alpha ||c||_1``.  It is solved
by active-set coordinate descent (:func:`lasso_cd`); FISTA with gradient
restart (Beck & Teboulle 2009; O'Donoghue & Candès 2015) is kept as
:func:`lasso_fista`, the independent twin the tests check it against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import FASTMATH, KERNEL

__all__ = ["lasso_cd", "lasso_fista", "lasso_sweeps"]


@njit(**KERNEL, fastmath=FASTMATH)
def lasso_cd(A, y, w, alpha, c, max_passes, tol, max_rounds=20):
    """Weighted Lasso ``min_c 1/2 ||y - sum_i c_i A_i||_w^2 + alpha ||c||_1`` by active-set coordinate descent.

    ``A`` is (K, D, P) and ``y`` (D, P): 2D keypoints (D = 2) or 3D points
    (D = 3), weighted per joint by ``w``.

    Coordinate descent runs on a working set (the non-zero coefficients plus
    the coordinates violating the optimality condition ``|<A_i, r>_w| <=
    alpha``) with its Gram matrix; the full gradient is checked once per
    round, and rounds stop when no coordinate outside the set violates it.
    ``c`` is updated in place; returns the number of CD passes.
    """
    K, D, P = A.shape[0], A.shape[1], A.shape[2]
    r = np.empty((D, P))
    for rr in range(D):
        for j in range(P):
            r[rr, j] = y[rr, j]
    for i in range(K):
        ci = c[i]
        if ci != 0.0:
            for rr in range(D):
                for j in range(P):
                    r[rr, j] -= ci * A[i, rr, j]
    scale = 0.0
    for rr in range(D):
        for j in range(P):
            scale += w[j] * y[rr, j] * y[rr, j]
    thr_delta = tol * np.sqrt(max(scale, 1e-300))
    ws = np.empty(K, dtype=np.int64)
    g = np.empty(K)
    G = np.empty((K, K))
    total = 0
    for rnd in range(max_rounds):
        # gradient (correlations) for every coordinate
        k = 0
        violated = False
        for i in range(K):
            acc = 0.0
            for rr in range(D):
                for j in range(P):
                    acc += w[j] * A[i, rr, j] * r[rr, j]
            g[i] = acc
            if c[i] != 0.0:
                ws[k] = i
                k += 1
            elif abs(acc) > alpha * (1.0 + 1e-9) + thr_delta:
                ws[k] = i
                k += 1
                violated = True
        if not violated and rnd > 0:
            break
        if k == 0:
            break
        for a in range(k):
            ia = ws[a]
            for b in range(a, k):
                ib = ws[b]
                acc = 0.0
                for rr in range(D):
                    for j in range(P):
                        acc += w[j] * A[ia, rr, j] * A[ib, rr, j]
                G[a, b] = acc
                G[b, a] = acc
        gs = np.empty(k)
        cs = np.empty(k)
        for a in range(k):
            gs[a] = g[ws[a]]
            cs[a] = c[ws[a]]
        for p in range(max_passes):
            total += 1
            dmax = 0.0
            for a in range(k):
                gaa = G[a, a]
                if gaa <= 1e-300:
                    continue
                v = cs[a] * gaa + gs[a]
                if v > alpha:
                    cn = (v - alpha) / gaa
                elif v < -alpha:
                    cn = (v + alpha) / gaa
                else:
                    cn = 0.0
                d = cn - cs[a]
                if d != 0.0:
                    cs[a] = cn
                    for b in range(k):
                        gs[b] -= G[b, a] * d
                    ad = abs(d) * np.sqrt(gaa)
                    if ad > dmax:
                        dmax = ad
            if dmax <= thr_delta:
                break
        for a in range(k):
            i = ws[a]
            d = cs[a] - c[i]
            if d != 0.0:
                c[i] = cs[a]
                for rr in range(D):
                    for j in range(P):
                        r[rr, j] -= d * A[i, rr, j]
    return total


@njit(**KERNEL)
def lasso_fista(A, y, w, alpha, L, c, n_steps):
    """Second implementation of :func:`lasso_cd`: FISTA with gradient restart (for tests).

    ``L`` must bound the largest eigenvalue of the weighted Gram of ``A``.
    """
    K, P = A.shape[0], A.shape[2]
    yk = c.copy()
    cn = np.empty(K)
    R = np.empty((2, P))
    t = 1.0
    thr = alpha / L
    for step in range(n_steps):
        for rr in range(2):
            for j in range(P):
                R[rr, j] = -y[rr, j]
        for i in range(K):
            if yk[i] != 0.0:
                for rr in range(2):
                    for j in range(P):
                        R[rr, j] += yk[i] * A[i, rr, j]
        restart = 0.0
        for i in range(K):
            gi = 0.0
            for rr in range(2):
                for j in range(P):
                    gi += w[j] * A[i, rr, j] * R[rr, j]
            v = yk[i] - gi / L
            if v > thr:
                v -= thr
            elif v < -thr:
                v += thr
            else:
                v = 0.0
            cn[i] = v
            restart += (yk[i] - v) * (v - c[i])
        if restart > 0.0:
            t = 1.0
            for i in range(K):
                c[i] = cn[i]
                yk[i] = cn[i]
        else:
            tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            mom = (t - 1.0) / tn
            for i in range(K):
                yk[i] = cn[i] + mom * (cn[i] - c[i])
                c[i] = cn[i]
            t = tn


@njit(**KERNEL, fastmath=FASTMATH)
def lasso_sweeps(A, y, w, alpha, c, n_sweeps):
    """``n_sweeps`` cyclic coordinate-descent sweeps of the weighted Lasso of :func:`lasso_cd`, on the residual.

    No Gram matrix: each coordinate's step reads its atom and updates the residual, so a sweep costs
    ``2 K D P`` however many atoms are active.  The cheap warm start of a fit that many atoms enter at
    once (:func:`lift2d3d.solvers.fused.network_start`), where the Gram of :func:`lasso_cd`'s working set
    would cost ``K^2 D P / 2``.  ``c`` is updated in place.
    """
    K, D, P = A.shape[0], A.shape[1], A.shape[2]
    r = np.empty((D, P))
    for d in range(D):
        for j in range(P):
            r[d, j] = y[d, j]
    norms = np.empty(K)
    for i in range(K):
        acc = 0.0
        for d in range(D):
            for j in range(P):
                acc += w[j] * A[i, d, j] * A[i, d, j]
        norms[i] = acc
        ci = c[i]
        if ci != 0.0:
            for d in range(D):
                for j in range(P):
                    r[d, j] -= ci * A[i, d, j]
    for sweep in range(n_sweeps):
        for i in range(K):
            if norms[i] <= 1e-300:
                continue
            g = 0.0
            for d in range(D):
                for j in range(P):
                    g += w[j] * A[i, d, j] * r[d, j]
            v = c[i] * norms[i] + g
            if v > alpha:
                cn = (v - alpha) / norms[i]
            elif v < -alpha:
                cn = (v + alpha) / norms[i]
            else:
                cn = 0.0
            delta = cn - c[i]
            if delta != 0.0:
                c[i] = cn
                for d in range(D):
                    for j in range(P):
                        r[d, j] -= delta * A[i, d, j]
