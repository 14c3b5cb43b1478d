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
term linear on fixed signs (:func:`lift2d3d.solvers.lm.lm_frame`; a
coefficient that would change sign stops at 0, as in feature-sign search).
The robust model alternates these solves with the exact outlier update (soft
threshold of the weighted residual).  Extra starts (:func:`refine_multistart`)
get their coefficients from the weighted Lasso at their rotation
(:mod:`lift2d3d.solvers.lasso`).  Every accepted step lowers the objective,
and the best start is kept.

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

from typing import NamedTuple

import numpy as np
from numba import njit

from . import terms as _terms
from .convex import fit_terms
from .geometry import centre_rows, copy_into, perspective_points, perspective_residual, projected_bases, rot3, shape_of
from .lasso import lasso_cd
from .lm import lm_frame, new_fit
from .prox import FASTMATH, KERNEL, polar_2x3

__all__ = ["Refinement", "refinement", "read_off", "refine_weak", "refine_multistart", "refine_perspective",
           "weak_objective", "fit_residual"]


class Refinement(NamedTuple):
    """Settings of one refinement of (2).

    Attributes
    ----------
    alpha : float
        Sparsity weight.
    beta : float
        Outlier weight; > 0 is the robust model (LM solves alternate with exact outlier updates).
    max_outer : int
        Levenberg-Marquardt iterations per solve (per outlier round).
    n_inner : int
        Outlier rounds of the robust model.
    tol : float
        Relative objective decrease below which a solve stops.
    """

    alpha: float
    beta: float
    max_outer: int
    n_inner: int
    tol: float


@njit(**KERNEL)
def refinement(opts, robust):
    """The refinement settings of the options record (``robust``: with its outlier weight)."""
    return Refinement(opts.refine_alpha, opts.beta if robust else 0.0, opts.max_outer, opts.n_inner, opts.tol)


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
def weak_objective(W, w, B, Rbar, c, E, alpha, beta, terms):
    """Objective (2), with the extra terms of :mod:`lift2d3d.solvers.terms` (``terms``)."""
    P = B.shape[2]
    S = np.empty((3, P))
    shape_of(B, c, S)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            acc = W[r, j] - E[r, j]
            for a in range(3):
                acc -= Rbar[r, a] * S[a, j]
            R[r, j] = acc
    return fit_terms(R, w, E, beta) + _terms.prior_value(terms, S, rot3(Rbar), c, alpha)


@njit(**KERNEL, fastmath=FASTMATH)
def refine_weak(W, w, B, ref, terms, E, Rbar, c):
    """Refine (2) from ``(Rbar, c, E)`` (updated in place); the LM solve, plus outlier rounds if ``ref.beta > 0``.

    Parameters
    ----------
    W : (2, P) float64
        Keypoints (any translation; it is eliminated by weighted centring).
    w : (P,) float64
        Joint weights (0 = missing).
    B : (K, 3, P) float64
        Bases.
    ref : Refinement
        Sparsity and outlier weights, iteration caps and tolerance.
    terms : Terms
        The extra terms (:mod:`lift2d3d.solvers.terms`).
    E : (2, P) float64, in/out
    Rbar : (2, 3) float64, in/out
    c : (K,) float64, in/out

    Returns
    -------
    n_iterations : int
    converged : bool
    objective : float
    """
    beta = ref.beta
    robust = beta > 0.0
    P = B.shape[2]
    sw = w.sum()
    Wc = np.empty((2, P))
    S = np.empty((3, P))
    R = rot3(Rbar)
    total = 0
    converged = False
    f = 0.0
    rounds = ref.n_inner if robust else 1
    for rnd in range(rounds):
        for r in range(2):
            for j in range(P):
                Wc[r, j] = W[r, j] - E[r, j]
        centre_rows(Wc, w, sw, Wc)
        its, converged, f = lm_frame(new_fit(Wc, w, sw, B, ref.alpha, terms), R, c, ref.max_outer, ref.tol)
        total += its
        if not robust:
            break
        # outliers: exact soft threshold of the weighted residual
        shape_of(B, c, S)
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
    f = weak_objective(W, w, B, Rbar, c, E, ref.alpha, beta, terms)
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
    alpha, robust = opts.refine_alpha, opts.robust
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
    ref = refinement(opts, robust)
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
        centre_rows(Wt, w, sw, Wt)
        # warm start from the read-off coefficients, without the small ones: an
        # early-stopped relaxation leaves many tiny blocks, and every non-zero
        # coefficient widens the working sets of the Lasso and LM steps
        for i in range(K):
            cc[i] = c0[i] if (k == 0 and abs(c0[i]) >= PRUNE * c0_max) else 0.0
        if k > 0:
            projected_bases(B, Rc, w, A)
            lasso_cd(A, Wt, w, alpha, cc, 100, 1e-6, 10)   # near convergence: small alphas need many passes
        its, conv, f = refine_weak(W, w, B, ref, terms, Ec, Rc, cc)
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
    shape_of(B, c, S)
    R = np.empty((2, P))
    for r in range(2):
        for j in range(P):
            R[r, j] = W[r, j] - E[r, j] - Rbar[r, 0] * S[0, j] - Rbar[r, 1] * S[1, j] - Rbar[r, 2] * S[2, j]
    sw = w.sum()
    centre_rows(R, w, sw, R)
    acc = 0.0
    for r in range(2):
        for j in range(P):
            acc += w[j] * R[r, j] * R[r, j]
    return np.sqrt(acc / sw)


@njit(**KERNEL)
def refine_perspective(U, w, B, ref, rho, Rbar, c, n_posit, terms):
    """Refine model (3) from a weak-perspective ``(Rbar, c)`` by depth-corrected re-solves.

    Parameters
    ----------
    U : (2, P) float64
        ``(u - p) / sigma``: keypoints relative to the principal point, normalised.
    w : (P,) float64
    B : (K, 3, P) float64
    ref : Refinement
        The inner weak-perspective solves' settings (their outlier weight is not used).
    rho : float
        ``f / sigma``.
    Rbar : (2, 3), c : (K,) float64, in/out
    n_posit : int
        Maximum depth-correction rounds.
    terms : Terms

    Returns
    -------
    rounds : int
    converged : bool
    objective : float
        ``1/2 sum_j w_j ||u'_j - proj_j||^2 + alpha ||c||_1``.
    """
    P = B.shape[2]
    alpha = ref.alpha
    inner = Refinement(alpha, 0.0, ref.max_outer, ref.n_inner, ref.tol)
    X = np.empty((3, P))
    S = np.empty((3, P))
    Wc = np.empty((2, P))
    ww = np.empty(P)
    E = np.zeros((2, P))
    best_R = Rbar.copy()
    best_c = c.copy()
    perspective_points(B, c, Rbar, w, U, rho, X)
    shape_of(B, c, S)
    f_best = perspective_residual(U, w, rho, X) + _terms.prior_value(terms, S, rot3(Rbar), c, alpha)
    f_prev = f_best
    converged = False
    rounds = 0
    for rounds in range(1, n_posit + 1):
        for j in range(P):
            g = X[2, j] / rho
            Wc[0, j] = U[0, j] * g
            Wc[1, j] = U[1, j] * g
            ww[j] = w[j] / (g * g)
        refine_weak(Wc, ww, B, inner, terms, E, Rbar, c)
        perspective_points(B, c, Rbar, w, U, rho, X)
        shape_of(B, c, S)
        f = perspective_residual(U, w, rho, X) + _terms.prior_value(terms, S, rot3(Rbar), c, alpha)
        if f < f_best:
            f_best = f
            copy_into(Rbar, c, best_R, best_c)
        if abs(f_prev - f) <= 10.0 * ref.tol * max(abs(f), 1e-12):
            converged = True
            break
        f_prev = f
    copy_into(best_R, best_c, Rbar, c)
    return rounds, converged, f_best
