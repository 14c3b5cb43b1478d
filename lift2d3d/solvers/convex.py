"""ADMM for the convex relaxation (Zhou et al., TPAMI 2017, Alg. 1).

The relaxed problem, with per-joint weights ``w`` (D = diag(sqrt(w))) and the
translation eliminated by weighted centring (``C_w = I - w 1^T / sum(w)``)::

    min_M  1/2 || (W - sum_i M_i B_i) C_w D ||_F^2  +  alpha sum_i ||M_i||_2          (1)

    W    (2, P)      normalised 2D keypoints (weighted centroid 0, unit RMS radius)
    B_i  (3, P)      shape bases (scaled to unit RMS radius)
    M_i  (2, 3)      M_i = c_i R̄ for a feasible point of the original problem

ADMM splits M (data term) from Z (penalty) with the scaled-free dual Λ::

    M <- (W D G^T + mu Z - Λ)(G G^T + mu I)^{-1},   G = B C_w D  (3K x P)
    Z_i <- prox_{(alpha/mu) ||.||_2}(M_i + Λ_i / mu)
    Λ <- Λ + mu (M - Z)

``G G^T`` is 3K x 3K but has rank <= P, so by Woodbury

    (G G^T + mu I)^{-1} = (I - G (G^T G + mu I)^{-1} G^T) / mu,

and ``G^T G = D C_w^T (B^T B) C_w D`` is P x P with ``B^T B`` shared by every
frame: an ADMM step costs two (2 x 3K)(3K x P) products plus a P x P solve
that is refreshed only when the adaptive penalty ``mu`` changes (residual
balancing, Boyd et al. 2011, Sec. 3.4.1, on the residuals relative to their
tolerances, with the step sqrt of the imbalance as in Wohlberg 2017).  The robust model adds a sparse
outlier matrix E with weight beta, updated in closed form (soft threshold)
after each sweep.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from typing import NamedTuple

from .geometry import centre_rows
from .prox import ADMM_KERNEL, FASTMATH, KERNEL, cholesky_factor, cholesky_substitute, prox_spectral_2x3, \
    spectral_norm_2x3

__all__ = ["Relaxation", "relaxation", "admm_frame", "gram_centred", "fit_terms", "convex_objective"]


class Relaxation(NamedTuple):
    """Settings of one ADMM solve of (1).

    Attributes
    ----------
    alpha : float
        Sparsity weight on the blocks.
    beta : float
        Outlier weight (robust only).
    robust : bool
        Add the outlier matrix E (``beta ||E||_1``).
    max_iter : int
    eps_abs, eps_rel : float
        Stopping tolerances on the primal and dual residuals (Boyd et al.).
    relax : float
        Over-relaxation factor in [1, 1.8] (Eckstein & Bertsekas 1992).  1.0 (none): with the
        adaptive penalty, over-relaxation took more iterations on the benchmark frames (288 vs 532
        at ``eps_rel = 1e-3`` for 1.0 vs 1.6).
    """

    alpha: float
    beta: float
    robust: bool
    max_iter: int
    eps_abs: float
    eps_rel: float
    relax: float = 1.0


@njit(**ADMM_KERNEL, fastmath=FASTMATH)
def gram_centred(T, w, out):
    """``out = D C_w^T T C_w D`` for symmetric ``T`` (P x P) and weights ``w``."""
    P = w.shape[0]
    sw = 0.0
    for j in range(P):
        sw += w[j]
    v = np.zeros(P)
    for j in range(P):
        acc = 0.0
        for k in range(P):
            acc += T[j, k] * w[k]
        v[j] = acc / sw
    m = 0.0
    for j in range(P):
        m += w[j] * v[j]
    m /= sw
    for j in range(P):
        sj = np.sqrt(w[j])
        for k in range(P):
            out[j, k] = sj * np.sqrt(w[k]) * (T[j, k] - v[j] - v[k] + m)


@njit(**ADMM_KERNEL)
def _times_bases(X, B, out):
    """out (2, P) = sum_i X_i B_i for X (2, K, 3), B (K, 3, P)."""
    K, P = B.shape[0], B.shape[2]
    for r in range(2):
        for j in range(P):
            out[r, j] = 0.0
    for i in range(K):
        for a in range(3):
            x0 = X[0, i, a]
            x1 = X[1, i, a]
            if x0 == 0.0 and x1 == 0.0:
                continue
            for j in range(P):
                b = B[i, a, j]
                out[0, j] += x0 * b
                out[1, j] += x1 * b


@njit(**ADMM_KERNEL)
def _refresh_inverse(GtG, mu, H):
    P = GtG.shape[0]
    A = GtG.copy()
    for j in range(P):
        A[j, j] += mu
    L = np.zeros((P, P))
    cholesky_factor(A, P, L)            # mu > 0 keeps A positive definite
    e = np.zeros(P)
    col = np.empty(P)
    for k in range(P):
        e[k] = 1.0
        cholesky_substitute(L, e, P, col)
        e[k] = 0.0
        for j in range(P):
            H[j, k] = col[j]


@njit(**KERNEL)
def fit_terms(R, w, E, beta):
    """``1/2 ||R C_w D||_F^2 + beta ||E||_1`` for the residual ``R`` (2, P), which is centred in place.

    The data and outlier terms shared by objectives (1) and (2).
    """
    P = w.shape[0]
    sw = 0.0
    for j in range(P):
        sw += w[j]
    centre_rows(R, w, sw, R)
    f = 0.0
    for r in range(2):
        for j in range(P):
            f += 0.5 * w[j] * R[r, j] * R[r, j]
    if beta > 0.0:
        for r in range(2):
            for j in range(P):
                f += beta * abs(E[r, j])
    return f


@njit(**KERNEL)
def convex_objective(W, w, B, Z, E, alpha, beta):
    """Objective (1) at Z, plus ``beta ||E||_1`` for the robust model (E = 0 otherwise)."""
    K, P = B.shape[0], B.shape[2]
    ZB = np.empty((2, P))
    _times_bases(Z, B, ZB)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            R[r, j] = W[r, j] - E[r, j] - ZB[r, j]
    f = fit_terms(R, w, E, beta)
    blk = np.empty((2, 3))
    for i in range(K):
        for r in range(2):
            for a in range(3):
                blk[r, a] = Z[r, i, a]
        f += alpha * spectral_norm_2x3(blk)
    return f


@njit(**KERNEL)
def relaxation(opts):
    """The ADMM settings of the options record."""
    return Relaxation(opts.alpha, opts.beta, opts.robust, opts.max_iter, opts.eps_abs, opts.eps_rel, 1.0)


#: The penalty is adapted at most this many times per frame: a penalty that
#: keeps changing can cycle instead of converging (0.1% of the bench frames did).
MAX_ADAPT = 30


@njit(**ADMM_KERNEL, fastmath=FASTMATH)
def admm_frame(W, w, model, settings, Z, E, history):
    """Solve (1) for one frame by ADMM.

    Parameters
    ----------
    W : (2, P) float64
        Normalised keypoints (weighted centroid at 0, unit RMS radius).
    w : (P,) float64
        Joint weights, 0 = missing.  At least one must be positive.
    model : SolverModel
        The bases ``B`` (K, 3, P, scaled to unit RMS radius), ``B^T`` contiguous (``Bt``), ``T = sum_i
        B_i^T B_i`` (shared by all frames) and the initial penalty ``mu0`` (<= 0 picks ``trace(G^T G) /
        3K``).
    settings : Relaxation
        Weights, iteration cap, tolerances.
    Z : (2, K, 3) float64, out
        Solution (the blocks M_i, exactly sparse).
    E : (2, P) float64, out
        Outlier estimate (zeros unless robust).
    history : (n, 4) float64, out
        Per-iteration [objective, primal residual, dual residual, mu]; pass
        an array with 0 rows to skip recording.

    Returns
    -------
    n_iter : int
    converged : bool

    Notes
    -----
    Only one (2 x P)(P x 3K) product is needed per iteration.  With
    ``Wd = (W - E) C_w diag(w)`` and the Woodbury correction ``Y'`` (2 x P),
    ``M = Z - Λ/mu + (Wd - Y') B^T / mu``; every other quantity the step
    needs is kept in the P-dimensional image of the bases: ``Z B`` (sparse,
    from the active blocks), ``Λ B`` (updated alongside Λ) and ``M B =
    (X B - Y' T) / mu`` with ``T = B^T B``.
    """
    B, T, Bt, mu0 = model.B, model.T, model.Bt, model.mu0
    alpha, beta, robust, relax = settings.alpha, settings.beta, settings.robust, settings.relax
    max_iter, eps_abs, eps_rel = settings.max_iter, settings.eps_abs, settings.eps_rel
    K, P = B.shape[0], B.shape[2]
    n3 = 3 * K
    n = 2 * n3
    # the blocks as one (2, 3K) matrix (copied into Z at the end: no reshape in the kernel)
    Zf = np.empty((2, n3))
    sw = 0.0
    for j in range(P):
        sw += w[j]
    sqw = np.sqrt(w)

    GtG = np.empty((P, P))
    gram_centred(T, w, GtG)
    mu = mu0
    if mu <= 0.0:
        tr = 0.0
        for j in range(P):
            tr += GtG[j, j]
        mu = max(tr / (3.0 * K), 1e-8)
    H = np.empty((P, P))
    _refresh_inverse(GtG, mu, H)

    for r in range(2):
        for j in range(P):
            E[r, j] = 0.0
    Wd = np.empty((2, P))
    centre_rows(W, w, sw, Wd)
    for r in range(2):
        for j in range(P):
            Wd[r, j] *= w[j]
    WdT = np.empty((2, P))
    _times_sym(Wd, T, WdT)

    Lam = np.zeros((2, n3))
    Zold = np.zeros((2, n3))
    M = np.empty((2, n3))
    ZB = np.zeros((2, P))
    LB = np.zeros((2, P))
    XB = np.empty((2, P))
    XG = np.empty((2, P))
    Y = np.empty((2, P))
    YT = np.empty((2, P))
    MB = np.empty((2, P))
    D = np.empty((2, P))
    blk = np.empty((2, 3))
    outb = np.empty((2, 3))
    active = np.empty(K, dtype=np.int64)
    for r in range(2):
        for k in range(n3):
            Zf[r, k] = 0.0

    n_hist = history.shape[0]
    converged = False
    it = 0
    last_adapt = 0
    n_adapt = 0
    for it in range(1, max_iter + 1):
        # ---- M-update (Woodbury), all in the P-dimensional image ----
        for r in range(2):
            for j in range(P):
                XB[r, j] = WdT[r, j] + mu * ZB[r, j] - LB[r, j]
        centre_rows(XB, w, sw, XG)
        for r in range(2):
            for j in range(P):
                XG[r, j] *= sqw[j]
        for r in range(2):
            for j in range(P):
                acc = 0.0
                for k in range(P):
                    acc += XG[r, k] * H[k, j]
                Y[r, j] = acc
        for r in range(2):           # Y' = Y D C_w^T
            s = 0.0
            for j in range(P):
                Y[r, j] *= sqw[j]
                s += Y[r, j]
            for j in range(P):
                Y[r, j] -= w[j] * s / sw
        _times_sym(Y, T, YT)
        inv_mu = 1.0 / mu
        for r in range(2):
            for j in range(P):
                MB[r, j] = (XB[r, j] - YT[r, j]) * inv_mu
                D[r, j] = (Wd[r, j] - Y[r, j]) * inv_mu
        # M = Z - Λ/mu + D B^T: the one (2 x P)(P x 3K) product per iteration
        for r in range(2):
            for k in range(n3):
                M[r, k] = Zf[r, k] - Lam[r, k] * inv_mu
            for j in range(P):
                d = D[r, j]
                for k in range(n3):
                    M[r, k] += d * Bt[j, k]

        # ---- Z-update: blockwise prox of the spectral norm at relaxed M + Λ/mu ----
        lam = alpha * inv_mu
        for r in range(2):
            for k in range(n3):
                Zold[r, k] = Zf[r, k]
            for j in range(P):
                ZB[r, j] = 0.0
        n_active = 0
        for i in range(K):
            for r in range(2):
                for a in range(3):
                    k = 3 * i + a
                    blk[r, a] = relax * M[r, k] + (1.0 - relax) * Zold[r, k] + Lam[r, k] * inv_mu
            nrm = prox_spectral_2x3(blk, lam, outb)
            for r in range(2):
                for a in range(3):
                    Zf[r, 3 * i + a] = outb[r, a]
            if nrm > 0.0:
                active[n_active] = i
                n_active += 1
        # Z B: from the active blocks while few are active, else as 2P dense
        # (contiguous) dot products with the rows of B^T
        if 4 * n_active > K:
            for r in range(2):
                for j in range(P):
                    acc = 0.0
                    for k in range(n3):
                        acc += Zf[r, k] * Bt[j, k]
                    ZB[r, j] = acc
        else:
            for m in range(n_active):
                i = active[m]
                for a in range(3):
                    z0 = Zf[0, 3 * i + a]
                    z1 = Zf[1, 3 * i + a]
                    for j in range(P):
                        b = B[i, a, j]
                        ZB[0, j] += z0 * b
                        ZB[1, j] += z1 * b
        # ---- dual update and residuals ----
        r_pri = 0.0
        s_dual = 0.0
        znorm2 = 0.0
        mnorm2 = 0.0
        lnorm2 = 0.0
        for r in range(2):
            for k in range(n3):
                z = Zf[r, k]
                mh = relax * M[r, k] + (1.0 - relax) * Zold[r, k]
                Lam[r, k] += mu * (mh - z)
                d = M[r, k] - z
                r_pri += d * d
                dz = z - Zold[r, k]
                s_dual += dz * dz
                znorm2 += z * z
                mnorm2 += M[r, k] * M[r, k]
                lnorm2 += Lam[r, k] * Lam[r, k]
        # Λ B follows Λ: relaxed M B minus Z B (Z_old B = X B terms recombined)
        for r in range(2):
            for j in range(P):
                zb_old = (XB[r, j] - WdT[r, j] + LB[r, j]) * inv_mu
                mhb = relax * MB[r, j] + (1.0 - relax) * zb_old
                LB[r, j] += mu * (mhb - ZB[r, j])
        r_pri = np.sqrt(r_pri)
        s_dual = mu * np.sqrt(s_dual)

        # ---- E-update (robust): soft threshold of the weighted residual ----
        if robust:
            for r in range(2):
                acc = 0.0
                for j in range(P):
                    acc += w[j] * (W[r, j] - E[r, j] - MB[r, j])
                t = acc / sw
                for j in range(P):
                    res = W[r, j] - MB[r, j] - t
                    if w[j] > 0.0:
                        thr = beta / w[j]
                        if res > thr:
                            E[r, j] = res - thr
                        elif res < -thr:
                            E[r, j] = res + thr
                        else:
                            E[r, j] = 0.0
                    else:
                        E[r, j] = 0.0
            for r in range(2):
                for j in range(P):
                    XG[r, j] = W[r, j] - E[r, j]
            centre_rows(XG, w, sw, Wd)
            for r in range(2):
                for j in range(P):
                    Wd[r, j] *= w[j]
            _times_sym(Wd, T, WdT)

        if it <= n_hist:
            _blocks_from_flat(Zf, Z)
            history[it - 1, 0] = convex_objective(W, w, B, Z, E, alpha, beta if robust else 0.0)
            history[it - 1, 1] = r_pri
            history[it - 1, 2] = s_dual
            history[it - 1, 3] = mu

        eps_pri = np.sqrt(n) * eps_abs + eps_rel * max(np.sqrt(mnorm2), np.sqrt(znorm2))
        eps_dual = np.sqrt(n) * eps_abs + eps_rel * np.sqrt(lnorm2)
        if r_pri <= eps_pri and s_dual <= eps_dual and it > 1:
            converged = True
            break

        # ---- adaptive penalty: balance the residuals relative to their
        # tolerances (a factor-2 imbalance triggers mu *= sqrt(imbalance), at
        # most x/÷ 10), at most every 2nd iteration early and every 10th later:
        # 198 instead of 383 iterations on the bench frames at eps_rel 5e-4 ----
        if n_adapt < MAX_ADAPT and it - last_adapt >= (2 if it < 50 else 10):
            # relative residuals (each against its own tolerance scale)
            ratio = (r_pri / max(eps_pri, 1e-300)) / max(s_dual / max(eps_dual, 1e-300), 1e-300)
            if ratio > 2.0 or ratio < 0.5:
                mu *= min(max(np.sqrt(ratio), 0.1), 10.0)
                _refresh_inverse(GtG, mu, H)
                last_adapt = it
                n_adapt += 1
    _blocks_from_flat(Zf, Z)
    return it, converged


@njit(**ADMM_KERNEL)
def _blocks_from_flat(Zf, Z):
    """Z (2, K, 3) from the flat (2, 3K) blocks."""
    for r in range(2):
        for i in range(Z.shape[1]):
            for a in range(3):
                Z[r, i, a] = Zf[r, 3 * i + a]


@njit(**ADMM_KERNEL, fastmath=FASTMATH)
def _times_sym(X, T, out):
    """out (2, P) = X T."""
    P = T.shape[0]
    for r in range(2):
        for j in range(P):
            acc = 0.0
            for k in range(P):
                acc += X[r, k] * T[k, j]
            out[r, j] = acc
