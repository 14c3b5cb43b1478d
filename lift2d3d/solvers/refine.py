"""Refinement of the original (non-convex) problem from the convex solution.

Weak perspective (Zhou et al., TPAMI 2017, Sec. 4; the "convex+refine" method)::

    min_{R̄, c, E}  1/2 || (W - E - R̄ sum_i c_i B_i) C_w D ||_F^2 + alpha ||c||_1 + beta ||E||_1
                    + 1/2 || M_b l(S) ||^2                                                       (2)

where ``l(S)`` are the bone lengths of the shape ``S = sum_i c_i B_i`` and each
row of ``M_b`` is one soft linear constraint on them (the kernels take any;
none = 0 rows): the Lifter's rows ``sqrt(gamma) (e_left - e_right)`` ask
mirrored bones (left and right upper arm, forearm, ...) to have equal
lengths, which sparse combinations of the bases need not.

It is solved by a joint Levenberg-Marquardt iteration on the rotation (a
local exponential map) and the coefficients of a working set, with the L1
term linear on fixed signs (:func:`lm_weak`; a coefficient that would change
sign stops at 0, as in feature-sign search).  The robust model alternates
these solves with the exact outlier update (soft threshold of the weighted
residual).  Extra starts (:func:`refine_multistart`) get their coefficients
from the weighted Lasso at their rotation, solved by active-set coordinate
descent (:func:`lasso_cd`); FISTA with gradient restart (Beck & Teboulle
2009; O'Donoghue & Candès 2015) is kept as :func:`lasso_fista`, the
independent twin the tests check it against.  Every accepted step lowers the
objective, and the best start is kept.

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

from . import terms as _terms
from .convex import fit_terms
from .prox import FASTMATH, KERNEL, cholesky_factor, cholesky_substitute, polar_2x3

__all__ = ["read_off", "refine_weak", "refine_perspective", "weak_objective"]


@njit(**KERNEL)
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


@njit(**KERNEL, fastmath=FASTMATH)
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


@njit(**KERNEL, fastmath=FASTMATH)
def _centre_rows(X, w, sw):
    rows, P = X.shape
    for r in range(rows):
        acc = 0.0
        for j in range(P):
            acc += w[j] * X[r, j]
        m = acc / sw
        for j in range(P):
            X[r, j] -= m


@njit(**KERNEL, fastmath=FASTMATH)
def weak_objective(W, w, B, Rbar, c, E, alpha, beta, terms):
    """Objective (2), with the extra terms of :mod:`lift2d3d.solvers.terms` (``terms``)."""
    P = B.shape[2]
    S = np.empty((3, P))
    _shape(B, c, S)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            acc = W[r, j] - E[r, j]
            for a in range(3):
                acc -= Rbar[r, a] * S[a, j]
            R[r, j] = acc
    return fit_terms(R, w, E, beta) + _terms.prior_value(terms, S, _rot3(Rbar), c, alpha)


@njit(**KERNEL, fastmath=FASTMATH)
def projected_bases(B, Rbar, w, A):
    """``A_i = R̄ B_i C_w`` (K, 2, P): the bases seen through the rotation, weighted-centred."""
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    for i in range(K):
        for r in range(2):
            acc = 0.0
            for j in range(P):
                v = Rbar[r, 0] * B[i, 0, j] + Rbar[r, 1] * B[i, 1, j] + Rbar[r, 2] * B[i, 2, j]
                A[i, r, j] = v
                acc += w[j] * v
            m = acc / sw
            for j in range(P):
                A[i, r, j] -= m


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


@njit(**KERNEL)
def _rodrigues(wx, wy, wz, out):
    """out = exp([w]x) (3x3)."""
    th = np.sqrt(wx * wx + wy * wy + wz * wz)
    if th < 1e-12:
        a = 1.0
        b = 1.0
        cc = 0.5
    else:
        a = np.cos(th)
        b = np.sin(th) / th
        cc = (1.0 - a) / (th * th)
    out[0, 0] = a + cc * wx * wx
    out[0, 1] = -b * wz + cc * wx * wy
    out[0, 2] = b * wy + cc * wx * wz
    out[1, 0] = b * wz + cc * wx * wy
    out[1, 1] = a + cc * wy * wy
    out[1, 2] = -b * wx + cc * wy * wz
    out[2, 0] = -b * wy + cc * wx * wz
    out[2, 1] = b * wx + cc * wy * wz
    out[2, 2] = a + cc * wz * wz


@njit(**KERNEL, fastmath=FASTMATH)
def _lm_objective(Wc, w, sw, B, R, c, alpha, S, X, res, terms, work, bres):
    """Objective (2) for fixed outliers; fills the centred shape S, camera points X, residuals res and the
    terms' rows bres (with their ``work``)."""
    K, P = B.shape[0], B.shape[2]
    _shape(B, c, S)
    _centre_rows(S, w, sw)
    f = 0.0
    for j in range(P):
        for a in range(3):
            X[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
        for r in range(2):
            d = Wc[r, j] - X[r, j]
            res[r, j] = d
            f += 0.5 * w[j] * d * d
    for i in range(K):
        f += alpha * abs(c[i])
    if bres.shape[0] > 0:
        f += _terms.values(terms, S, X, work, bres)
    return f


@njit(**KERNEL, fastmath=FASTMATH)
def normal_matrix(Jt, n, H):
    """``H = J^T J`` (n x n) from the first ``n`` rows of ``Jt`` (the Jacobian transposed)."""
    m2 = Jt.shape[1]
    for a in range(n):
        for b in range(a, n):
            acc = 0.0
            for q in range(m2):
                acc += Jt[a, q] * Jt[b, q]
            H[a, b] = acc
            H[b, a] = acc


@njit(**KERNEL, fastmath=FASTMATH)
def damped_step(H, g, hd, n, lam, Hd, mg, L, step):
    """Solve ``(H + lam diag(h)) step = -g`` (Levenberg-Marquardt); False if not positive definite.

    ``hd`` is the damping's scale ``h`` (``diag(H) + 1e-12``); ``Hd``, ``mg``,
    ``L`` are work arrays.
    """
    for a in range(n):
        for b in range(n):
            Hd[a, b] = H[a, b]
        Hd[a, a] += lam * hd[a]
        mg[a] = -g[a]
    if not cholesky_factor(Hd, n, L):
        return False
    cholesky_substitute(L, mg, n, step)
    return True


#: The LM working set holds at most this many atoms per joint: 2P atoms (for
#: 2P residuals) reached a lower mean objective than 4P on the benchmark frames
#: (0.158 vs 0.162) in 60% of the time, at the same Bandai Namco accuracy.
LM_CAP = 2


@njit(**KERNEL, fastmath=FASTMATH)
def lm_weak(Wc, w, B, alpha, R, c, max_iter, tol, terms):
    """Joint damped Gauss-Newton (Levenberg-Marquardt) on rotation and coefficients.

    Minimises (2) for fixed outliers over ``R = exp([omega]x) R`` and the
    coefficients on the working set (non-zero ``c_i`` plus those violating
    ``|dF/dc_i| <= alpha``), where the L1 term is linear (``alpha s^T c`` with
    the signs ``s`` fixed); a coefficient that would change sign stops at 0
    and leaves the set (as in feature-sign search, Lee et al. 2007).
    Alternating rotation and coefficient updates zig-zag along the valley
    where a rotation is traded for a shape change; the joint step does not.
    The damping follows the gain ratio of the actual to the predicted
    decrease (Nielsen 1999).

    The extra terms (``terms``, :mod:`lift2d3d.solvers.terms`) add their
    residual rows to the least-squares problem.  ``Wc`` must be
    weighted-centred.  ``R`` (3x3) and ``c`` are updated in place.  Returns
    (iterations, converged, objective).
    """
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    sqw = np.sqrt(w)
    S = np.empty((3, P))
    X = np.empty((3, P))
    res = np.empty((2, P))
    S2 = np.empty((3, P))
    X2 = np.empty((3, P))
    res2 = np.empty((2, P))
    Q = np.empty((3, P))
    A = np.empty((2, P))
    ws = np.empty(K, dtype=np.int64)
    sg = np.empty(K)
    cap = min(K, LM_CAP * P)
    nmax = 3 + cap
    grad = np.empty(K)
    # Jacobian stored transposed (one row per unknown) so that the normal
    # matrix is built from contiguous dot products
    n_b = _terms.n_rows(terms)
    Jt = np.empty((nmax, 2 * P + n_b))
    wres = np.empty(2 * P + n_b)
    bres = np.zeros(n_b)
    bres2 = np.zeros(n_b)
    work = _terms.new_work(terms)
    work2 = _terms.new_work(terms)
    scratch = np.empty(_terms.scratch_size(terms))
    H = np.empty((nmax, nmax))
    g = np.empty(nmax)
    hd = np.empty(nmax)
    Hd = np.empty((nmax, nmax))
    step = np.empty(nmax)
    mg = np.empty(nmax)
    Lf = np.zeros((nmax, nmax))
    m2 = 2 * P + n_b
    Rn = np.empty((3, 3))
    dR = np.empty((3, 3))
    cn = np.empty(K)
    f = _lm_objective(Wc, w, sw, B, R, c, alpha, S, X, res, terms, work, bres)
    lam = 1e-4
    nu = 2.0
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        # ---- working set: active coefficients plus optimality violators ----
        for a in range(3):
            for j in range(P):
                Q[a, j] = (R[0, a] * res[0, j] + R[1, a] * res[1, j]) * w[j]
        if n_b > 0:
            _terms.shape_gradient(terms, R, X, work, bres, scratch, Q)
        k = 0
        for i in range(K):
            gi = 0.0
            for a in range(3):
                for j in range(P):
                    gi -= B[i, a, j] * Q[a, j]
            grad[i] = gi
            if c[i] != 0.0 and k < cap:
                ws[k] = i
                sg[k] = 1.0 if c[i] > 0.0 else -1.0
                k += 1
        # violators join while there is room (the set is capped at LM_CAP * P
        # atoms: more than 2P unknowns per view are never all identifiable)
        for i in range(K):
            if k >= cap:
                break
            gi = grad[i]
            if c[i] == 0.0 and abs(gi) > alpha * (1.0 + 1e-9):
                ws[k] = i
                sg[k] = -1.0 if gi > 0.0 else 1.0
                k += 1
        n = 3 + k
        # ---- Jacobian of the weighted residual sqrt(w) (Wc - R̄ S C_w) ----
        for kk in range(3):
            # d(R̄ S)/d omega_k = rows 0,1 of e_k x X
            for j in range(P):
                if kk == 0:
                    d0 = 0.0
                    d1 = -X[2, j]
                elif kk == 1:
                    d0 = X[2, j]
                    d1 = 0.0
                else:
                    d0 = -X[1, j]
                    d1 = X[0, j]
                Jt[kk, j] = -sqw[j] * d0
                Jt[kk, P + j] = -sqw[j] * d1
        for m in range(k):
            i = ws[m]
            for r in range(2):
                acc = 0.0
                for j in range(P):
                    v = R[r, 0] * B[i, 0, j] + R[r, 1] * B[i, 1, j] + R[r, 2] * B[i, 2, j]
                    A[r, j] = v
                    acc += w[j] * v
                mean = acc / sw
                for j in range(P):
                    Jt[3 + m, r * P + j] = -sqw[j] * (A[r, j] - mean)
            if n_b > 0:
                _terms.jacobian_atom(terms, R, X, work, bres, B, i, scratch, Jt, 3 + m, 2 * P)
        if n_b > 0:
            _terms.jacobian_rotation(terms, X, work, bres, Jt, 2 * P)
        for t in range(n_b):
            wres[2 * P + t] = bres[t]
        for j in range(P):
            wres[j] = sqw[j] * res[0, j]
            wres[P + j] = sqw[j] * res[1, j]
        for a in range(n):
            acc = 0.0
            for q in range(m2):
                acc += Jt[a, q] * wres[q]
            g[a] = acc
            if a >= 3:
                g[a] += alpha * sg[a - 3]
        normal_matrix(Jt, n, H)
        for a in range(n):
            hd[a] = H[a, a] + 1e-12
        gnorm = 0.0
        for a in range(n):
            gnorm = max(gnorm, abs(g[a]))
        if gnorm <= 1e-12 * max(f, 1e-300):
            converged = True
            break
        # ---- damped step, retried with more damping until the objective drops ----
        accepted = False
        for attempt in range(12):
            ok = damped_step(H, g, hd, n, lam, Hd, mg, Lf, step)
            if not ok:
                lam *= 4.0
                continue
            _rodrigues(step[0], step[1], step[2], dR)
            for a in range(3):
                for b in range(3):
                    Rn[a, b] = dR[a, 0] * R[0, b] + dR[a, 1] * R[1, b] + dR[a, 2] * R[2, b]
            for i in range(K):
                cn[i] = c[i]
            for m in range(k):
                i = ws[m]
                v = c[i] + step[3 + m]
                # a coefficient may reach zero but not cross it within one step
                if v * sg[m] < 0.0:
                    v = 0.0
                cn[i] = v
            fn = _lm_objective(Wc, w, sw, B, Rn, cn, alpha, S2, X2, res2, terms, work2, bres2)
            if fn < f:
                accepted = True
                break
            lam *= nu
            nu *= 2.0
        if not accepted:
            converged = True     # no descent direction left at this resolution
            break
        decrease = f - fn
        for a in range(3):
            for b in range(3):
                R[a, b] = Rn[a, b]
        for i in range(K):
            c[i] = cn[i]
        S, S2 = S2, S
        X, X2 = X2, X
        res, res2 = res2, res
        bres, bres2 = bres2, bres
        work, work2 = work2, work
        # damping from the gain ratio (Nielsen 1999): the quadratic model
        # predicts a decrease of (lam h^T D h - g^T h) / 2 for the step h
        pred = 0.0
        for a in range(n):
            pred += lam * hd[a] * step[a] * step[a] - g[a] * step[a]
        pred *= 0.5
        rho = decrease / pred if pred > 0.0 else 0.0
        f = fn
        lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-9)
        nu = 2.0
        if decrease <= tol * max(f, 1e-300):
            converged = True
            break
    return it, converged, f


@njit(**KERNEL, fastmath=FASTMATH)
def refine_weak(W, w, B, alpha, beta, E, Rbar, c, max_outer, n_inner, tol, terms):
    """Refine (2) from ``(Rbar, c, E)`` (updated in place); the LM solve, plus outlier rounds if ``beta > 0``.

    Parameters
    ----------
    W : (2, P) float64
        Keypoints (any translation; it is eliminated by weighted centring).
    w : (P,) float64
        Joint weights (0 = missing).
    B : (K, 3, P) float64
        Bases.
    alpha : float
    beta : float
        Outlier weight; ``beta > 0`` is the robust model: LM solves alternate
        with exact outlier (soft-threshold) updates.
    E : (2, P) float64, in/out
    Rbar : (2, 3) float64, in/out
    c : (K,) float64, in/out
    max_outer : int
        Maximum LM iterations (per outlier round).
    n_inner : int
        Outlier rounds for the robust model.
    tol : float
        Relative objective decrease below which a solve stops.
    terms : Terms
        The extra terms (:mod:`lift2d3d.solvers.terms`).

    Returns
    -------
    n_iterations : int
    converged : bool
    objective : float
    """
    robust = beta > 0.0
    P = B.shape[2]
    sw = w.sum()
    Wc = np.empty((2, P))
    S = np.empty((3, P))
    R = _rot3(Rbar)
    total = 0
    converged = False
    f = 0.0
    rounds = n_inner if robust else 1
    for rnd in range(rounds):
        for r in range(2):
            for j in range(P):
                Wc[r, j] = W[r, j] - E[r, j]
        _centre_rows(Wc, w, sw)
        its, converged, f = lm_weak(Wc, w, B, alpha, R, c, max_outer, tol, terms)
        total += its
        if not robust:
            break
        # outliers: exact soft threshold of the weighted residual
        _shape(B, c, S)
        changed = 0.0
        for r in range(2):
            acc_t = 0.0
            for j in range(P):
                pr = R[r, 0] * S[0, j] + R[r, 1] * S[1, j] + R[r, 2] * S[2, j]
                Wc[r, j] = W[r, j] - pr
                acc_t += w[j] * (Wc[r, j] - E[r, j])
            tt = acc_t / sw
            for j in range(P):
                res = Wc[r, j] - tt
                e = 0.0
                if w[j] > 0.0:
                    th = beta / w[j]
                    if res > th:
                        e = res - th
                    elif res < -th:
                        e = res + th
                changed += abs(e - E[r, j])
                E[r, j] = e
        if changed <= 1e-9:
            break
    for a in range(3):
        Rbar[0, a] = R[0, a]
        Rbar[1, a] = R[1, a]
    f = weak_objective(W, w, B, Rbar, c, E, alpha, beta if robust else 0.0, terms)
    return total, converged, f


#: Read-off coefficients below this fraction of the largest are not used as a warm start.
PRUNE = 0.05


@njit(**KERNEL)
def refine_multistart(W, w, model, opts, terms, E, Z, Rbar, c, n_starts):
    """Refine (2) from several rotations read off the convex blocks; keep the best.

    Starts, in order: the sign-aligned sum of the blocks (:func:`read_off`),
    the same rotation mirrored in depth, then the rotations of the 2nd, 3rd,
    ... largest blocks, each followed by its mirror.  The depth mirror of
    ``R`` is ``F R F_b`` (``F = diag(1, 1, -1)`` flips the camera depth,
    ``F_b`` reflects the body across its sagittal plane, normal ``lateral``):
    it projects the shape's reflection to the same 2D points, the inherent
    ambiguity of weak perspective, which only the bases' prior can resolve.
    The first start keeps the relaxation's own coefficients (those under 5%
    of the largest dropped); the others get the exact Lasso fit for their
    rotation.  On the Bandai Namco takes the relaxation's coefficients start
    the refinement better than a Lasso re-fit for the read-off rotation
    (54.6 vs 56.9 mm PA-MPJPE, 77 vs 81 mm camera-frame), at 1.5x the time.

    ``model`` and ``opts`` are the records of :mod:`lift2d3d.solvers.records`
    (the sparsity is ``opts.refine_alpha``); ``terms`` the extra terms;
    ``n_starts`` the number of starts.  Writes the winner to ``Rbar``, ``c`` and
    ``E``; returns (total LM iterations, converged, objective, index of the
    winning start).
    """
    B, lateral = model.B, model.lateral
    alpha, beta, robust = opts.refine_alpha, opts.beta, opts.robust
    K, P = B.shape[0], B.shape[2]
    # blocks by decreasing norm, as far as the starts need them (explicit loops compile far
    # faster than argsort over an array expression)
    norms = np.empty(K)
    for i in range(K):
        acc = 0.0
        for r in range(2):
            for a in range(3):
                acc += Z[r, i, a] * Z[r, i, a]
        norms[i] = acc
    n_order = min(K, n_starts // 2 + 1)
    order = np.empty(n_order, dtype=np.int64)
    taken = np.zeros(K, dtype=np.bool_)
    for m in range(n_order):
        best = -1.0
        ib = 0
        for i in range(K):
            if not taken[i] and norms[i] > best:
                best = norms[i]
                ib = i
        taken[ib] = True
        order[m] = ib
    Rc = np.empty((2, 3))
    cc = np.empty(K)
    Ec = np.empty((2, P))
    E0 = E.copy()
    Wt = np.empty((2, P))
    A = np.empty((K, 2, P))
    blk = np.empty((2, 3))
    c0 = np.empty(K)
    read_off(Z, Rc, c0)
    c0_max = 0.0
    for i in range(K):
        c0_max = max(c0_max, abs(c0[i]))
    F_b = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            F_b[a, b] = (1.0 if a == b else 0.0) - 2.0 * lateral[a] * lateral[b]
    sw = w.sum()
    best_f = np.inf
    best_k = 0
    total = 0
    conv_best = False
    R_base = Rc.copy()
    for k in range(n_starts):
        base = k // 2
        if base == 0:
            for r in range(2):
                for a in range(3):
                    Rc[r, a] = R_base[r, a]
        else:
            if base >= K:
                break
            ib = order[base]
            for r in range(2):
                for a in range(3):
                    blk[r, a] = Z[r, ib, a]
            if blk[0, 0] == 0.0 and blk[0, 1] == 0.0 and blk[0, 2] == 0.0 and blk[1, 0] == 0.0:
                break
            polar_2x3(blk, Rc)
        if k % 2 == 1:
            for r in range(2):
                m0 = Rc[r, 0] * F_b[0, 0] + Rc[r, 1] * F_b[1, 0] + Rc[r, 2] * F_b[2, 0]
                m1 = Rc[r, 0] * F_b[0, 1] + Rc[r, 1] * F_b[1, 1] + Rc[r, 2] * F_b[2, 1]
                m2 = Rc[r, 0] * F_b[0, 2] + Rc[r, 1] * F_b[1, 2] + Rc[r, 2] * F_b[2, 2]
                Rc[r, 0] = m0
                Rc[r, 1] = m1
                Rc[r, 2] = m2
        for r in range(2):
            for j in range(P):
                Ec[r, j] = E0[r, j]
                Wt[r, j] = W[r, j] - E0[r, j]
        _centre_rows(Wt, w, sw)
        # warm start from the read-off coefficients, without the small ones: an
        # early-stopped relaxation leaves many tiny blocks, and every non-zero
        # coefficient widens the working sets of the Lasso and LM steps
        for i in range(K):
            cc[i] = c0[i] if (k == 0 and abs(c0[i]) >= PRUNE * c0_max) else 0.0
        if k > 0:
            projected_bases(B, Rc, w, A)
            lasso_cd(A, Wt, w, alpha, cc, 100, 1e-6, 10)   # near convergence: small alphas need many passes
        its, conv, f = refine_weak(W, w, B, alpha, beta if robust else 0.0, Ec, Rc, cc, opts.max_outer, opts.n_inner,
                                   opts.tol, terms)
        total += its
        if f < best_f:
            best_f = f
            best_k = k
            conv_best = conv
            for r in range(2):
                for a in range(3):
                    Rbar[r, a] = Rc[r, a]
                for j in range(P):
                    E[r, j] = Ec[r, j]
            for i in range(K):
                c[i] = cc[i]
    return total, conv_best, best_f, best_k


@njit(**KERNEL, fastmath=FASTMATH)
def fit_residual(W, w, B, Rbar, c, E):
    """RMS (weighted) 2D residual of the fit ``W - E ≈ R̄ S C_w``, in the units of ``W``.

    ``W`` is normalised to unit RMS radius, so this is the reprojection error
    relative to the pose's size.
    """
    P = B.shape[2]
    S = np.empty((3, P))
    _shape(B, c, S)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            R[r, j] = W[r, j] - E[r, j] - Rbar[r, 0] * S[0, j] - Rbar[r, 1] * S[1, j] - Rbar[r, 2] * S[2, j]
    sw = w.sum()
    _centre_rows(R, w, sw)
    acc = 0.0
    for r in range(2):
        for j in range(P):
            acc += w[j] * R[r, j] * R[r, j]
    return np.sqrt(acc / sw)


@njit(**KERNEL)
def _rot3(Rbar):
    R = np.empty((3, 3))
    for a in range(3):
        R[0, a] = Rbar[0, a]
        R[1, a] = Rbar[1, a]
    R[2, 0] = Rbar[0, 1] * Rbar[1, 2] - Rbar[0, 2] * Rbar[1, 1]
    R[2, 1] = Rbar[0, 2] * Rbar[1, 0] - Rbar[0, 0] * Rbar[1, 2]
    R[2, 2] = Rbar[0, 0] * Rbar[1, 1] - Rbar[0, 1] * Rbar[1, 0]
    return R


@njit(**KERNEL)
def _copy_into(R_from, c_from, R_to, c_to):
    """R_to, c_to = R_from, c_from (element loops: slice assignment compiles a shape-checking error path)."""
    for r in range(R_from.shape[0]):
        for a in range(R_from.shape[1]):
            R_to[r, a] = R_from[r, a]
    for i in range(min(c_from.shape[0], c_to.shape[0])):
        c_to[i] = c_from[i]


@njit(**KERNEL)
def perspective_units(Wpx, px, py, focal, sigma, U):
    """``U`` (2, P): one frame's keypoints (2, P) relative to the principal point ``(px, py)``, in the
    frame's normalised units (divided by ``sigma``); returns ``rho = focal / sigma``."""
    for j in range(Wpx.shape[1]):
        U[0, j] = (Wpx[0, j] - px) / sigma
        U[1, j] = (Wpx[1, j] - py) / sigma
    return focal / sigma


@njit(**KERNEL)
def perspective_points(B, c, Rbar, w, U, rho, X):
    """Camera-frame points (3, P) of model (3), in normalised units; returns the 2D translation fit.

    The centroid (weights ``w``) of the shape sits at depth ``rho``; ``tau`` is
    the least-squares translation for the current depths.
    """
    P = B.shape[2]
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


@njit(**KERNEL)
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


@njit(**KERNEL)
def refine_perspective(U, w, B, alpha, rho, Rbar, c, n_posit, max_outer, n_inner, tol, terms):
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
    P = B.shape[2]
    X = np.empty((3, P))
    S = np.empty((3, P))
    Wc = np.empty((2, P))
    ww = np.empty(P)
    E = np.zeros((2, P))
    best_R = Rbar.copy()
    best_c = c.copy()
    perspective_points(B, c, Rbar, w, U, rho, X)
    _shape(B, c, S)
    f_best = perspective_residual(U, w, rho, X) + _terms.prior_value(terms, S, _rot3(Rbar), c, alpha)
    f_prev = f_best
    converged = False
    rounds = 0
    for rounds in range(1, n_posit + 1):
        for j in range(P):
            g = X[2, j] / rho
            Wc[0, j] = U[0, j] * g
            Wc[1, j] = U[1, j] * g
            ww[j] = w[j] / (g * g)
        refine_weak(Wc, ww, B, alpha, 0.0, E, Rbar, c, max_outer, n_inner, tol, terms)
        perspective_points(B, c, Rbar, w, U, rho, X)
        _shape(B, c, S)
        f = perspective_residual(U, w, rho, X) + _terms.prior_value(terms, S, _rot3(Rbar), c, alpha)
        if f < f_best:
            f_best = f
            _copy_into(Rbar, c, best_R, best_c)
        if abs(f_prev - f) <= 10.0 * tol * max(abs(f), 1e-12):
            converged = True
            break
        f_prev = f
    _copy_into(best_R, best_c, Rbar, c)
    return rounds, converged, f_best
