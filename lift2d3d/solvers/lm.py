"""The Levenberg-Marquardt core every refinement shares: one frame's working set, Jacobian and normal matrix.

Objective (2) of :mod:`lift2d3d.solvers.refine` for fixed outliers, in one
frame's normalised units::

    F(R, c) = 1/2 || (Wc - R̄ S) C_w D ||_F^2 + alpha ||c||_1 + 1/2 || t(R, S) ||^2,   S = sum_i c_i B_i

with the extra terms' residual rows ``t`` (:mod:`lift2d3d.solvers.terms`).  A
Gauss-Newton system is built on the rotation (local exponential coordinates,
``R <- exp([omega]x) R``) and the coefficients of a working set, with the L1
term linear on fixed signs (:func:`frame_system`); a coefficient that would
change sign stops at 0 (:func:`apply_step`), as in feature-sign search (Lee
et al. 2007).  :func:`lm_frame` iterates it for one frame; the temporal
refinement (:mod:`lift2d3d.solvers.temporal`) builds every frame's rows with
the same :func:`frame_system`, adding the acceleration term's gradient and
Jacobian (a :class:`Coupling`), and solves them jointly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from . import terms as _terms
from .geometry import centre_plain, centre_rows, rodrigues, shape_of
from .prox import FASTMATH, KERNEL, cholesky_factor, cholesky_substitute

__all__ = ["Fit", "Iterate", "System", "Coupling", "LM_CAP", "new_fit", "new_iterate", "new_system", "objective",
           "frame_system", "apply_step", "normal_matrix", "damped_step", "lm_frame"]

#: The working set holds at most this many atoms per joint: 2P atoms (for 2P
#: residuals) reached a lower mean objective than 4P on the benchmark frames
#: (0.158 vs 0.162) in 60% of the time, at the same Bandai Namco accuracy.
LM_CAP = 2


class Fit(NamedTuple):
    """One frame's least-squares problem for fixed outliers.

    Attributes
    ----------
    Wc : (2, P) float64
        Keypoints minus outliers, weighted-centred (normalised units).
    w, sqw : (P,) float64
        Joint weights (0 = missing) and their square roots.
    sw : float
        ``sum w``.
    B : (K, 3, P) float64
        Bases.
    alpha : float
        Sparsity weight.
    terms : Terms
        The extra terms (:mod:`lift2d3d.solvers.terms`).
    """

    Wc: np.ndarray
    w: np.ndarray
    sqw: np.ndarray
    sw: float
    B: np.ndarray
    alpha: float
    terms: _terms.Terms


class Iterate(NamedTuple):
    """What the objective fills at a point ``(R, c)``: the centred shape ``S`` and camera points ``X``
    (3, P), the data residual ``res`` (2, P) and the terms' cache (residual rows included)."""

    S: np.ndarray
    X: np.ndarray
    res: np.ndarray
    work: _terms.TermWork


class System(NamedTuple):
    """Buffers of one frame's Gauss-Newton system (``n = 3 + k`` unknowns, at most ``3 + cap``).

    ``Jt`` (n, 2P + T): the Jacobian of the weighted residuals transposed (one row per unknown, so that
    the normal matrix is built from contiguous dot products); ``g`` (n,): the gradient, L1 signs
    included; ``H`` (n, n): ``J^T J``; ``grad`` (K,), ``Q`` (3, P), ``A`` (2, P), ``wres`` (2P + T,):
    working space.
    """

    Jt: np.ndarray
    g: np.ndarray
    H: np.ndarray
    grad: np.ndarray
    Q: np.ndarray
    A: np.ndarray
    wres: np.ndarray


class Coupling(NamedTuple):
    """What the temporal term adds to a frame's system (:mod:`lift2d3d.solvers.temporal`).

    ``G`` (3, P): the acceleration term's gradient with respect to the frame's centred camera points;
    ``lnn``: the weight of their product with themselves in the Gauss-Newton matrix; ``At`` (3 + cap,
    3P), out: their Jacobian transposed.
    """

    G: np.ndarray
    lnn: float
    At: np.ndarray


@njit(**KERNEL)
def new_fit(Wc, w, sw, B, alpha, terms):
    """A :class:`Fit` (``sqw`` worked out here)."""
    P = w.shape[0]
    sqw = np.empty(P)
    for j in range(P):
        sqw[j] = np.sqrt(w[j])
    return Fit(Wc, w, sqw, sw, B, alpha, terms)


@njit(**KERNEL)
def new_iterate(fit):
    P = fit.w.shape[0]
    return Iterate(np.empty((3, P)), np.empty((3, P)), np.empty((2, P)), _terms.new_work(fit.terms))


@njit(**KERNEL)
def new_system(fit, cap):
    K, P = fit.B.shape[0], fit.B.shape[2]
    nmax = 3 + cap
    m2 = 2 * P + _terms.n_rows(fit.terms)
    return System(np.empty((nmax, m2)), np.empty(nmax), np.empty((nmax, nmax)), np.empty(K), np.empty((3, P)),
                  np.empty((2, P)), np.empty(m2))


@njit(**KERNEL, fastmath=FASTMATH)
def objective(fit, R, c, it):
    """Objective (2) for fixed outliers at ``(R, c)``; fills the iterate ``it``."""
    B, w, Wc = fit.B, fit.w, fit.Wc
    K, P = B.shape[0], B.shape[2]
    S, X, res = it.S, it.X, it.res
    shape_of(B, c, S)
    centre_rows(S, w, fit.sw, S)
    f = 0.0
    for j in range(P):
        for a in range(3):
            X[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
        for r in range(2):
            d = Wc[r, j] - X[r, j]
            res[r, j] = d
            f += 0.5 * w[j] * d * d
    for i in range(K):
        f += fit.alpha * abs(c[i])
    if it.work.res.shape[0] > 0:
        f += _terms.values(fit.terms, S, X, it.work)
    return f


@njit(**KERNEL, fastmath=FASTMATH)
def frame_system(fit, R, c, it, cap, ws, sg, sys, coupling):
    """The frame's Gauss-Newton system at ``(R, c)`` (``it`` filled there by :func:`objective`).

    The working set: the non-zero coefficients (when there are more than ``cap``: the first ``cap`` by
    index for one frame's solve, the ``cap`` largest with a ``coupling``; the others keep their values),
    then those violating ``|dF/dc_i| <= alpha`` while there is room; their indices into
    ``ws`` and L1 signs into ``sg``.  Fills ``sys.Jt``, ``sys.g``, ``sys.H``; with a ``coupling`` (not
    None) also its Jacobian ``coupling.At``, and its gradient and product in ``g`` and ``H``.  Returns
    the working set's size ``k`` (``n = 3 + k`` unknowns).
    """
    B, w, sqw, terms, alpha = fit.B, fit.w, fit.sqw, fit.terms, fit.alpha
    K, P = B.shape[0], B.shape[2]
    X, res, work = it.X, it.res, it.work
    Jt, g, H, grad, Q, A, wres = sys.Jt, sys.g, sys.H, sys.grad, sys.Q, sys.A, sys.wres
    n_b = work.res.shape[0]
    # ---- minus the gradient with respect to S: data, terms (and the temporal term R^T G) ----
    if coupling is None:
        for a in range(3):
            for j in range(P):
                Q[a, j] = (R[0, a] * res[0, j] + R[1, a] * res[1, j]) * w[j]
    else:
        G = coupling.G
        for a in range(3):
            for j in range(P):
                Q[a, j] = (R[0, a] * res[0, j] + R[1, a] * res[1, j]) * w[j] \
                    - (R[0, a] * G[0, j] + R[1, a] * G[1, j] + R[2, a] * G[2, j])
    if n_b > 0:
        _terms.shape_gradient(terms, R, X, work, Q)
    n_nz = 0
    for i in range(K):
        if c[i] != 0.0:
            n_nz += 1
    if n_nz < cap:
        # the gradient decides which coefficients join; a full set takes none
        for i in range(K):
            gi = 0.0
            for a in range(3):
                for j in range(P):
                    gi -= B[i, a, j] * Q[a, j]
            grad[i] = gi
    # ---- working set: active coefficients plus optimality violators ----
    k = 0
    if n_nz <= cap or coupling is None:
        # all of them, or (one frame's solve) the first cap by index: its start, read off the
        # relaxation, often holds more, and which of them move is part of the tuned solver
        for i in range(K):
            if c[i] != 0.0 and k < cap:
                ws[k] = i
                sg[k] = 1.0 if c[i] > 0.0 else -1.0
                k += 1
    else:
        # (the joint solve) the largest coefficients move; the others keep their values
        taken = np.zeros(K, dtype=np.bool_)
        for m in range(cap):
            best = 0.0
            ib = -1
            for i in range(K):
                if not taken[i] and abs(c[i]) > best:
                    best = abs(c[i])
                    ib = i
            taken[ib] = True
            ws[k] = ib
            sg[k] = 1.0 if c[ib] > 0.0 else -1.0
            k += 1
    # violators join while there is room (the set is capped at LM_CAP * P atoms: more than 2P unknowns
    # per view are never all identifiable)
    for i in range(K):
        if k >= cap:
            break
        gi = grad[i]
        if c[i] == 0.0 and abs(gi) > alpha * (1.0 + 1e-9):
            ws[k] = i
            sg[k] = -1.0 if gi > 0.0 else 1.0
            k += 1
    n = 3 + k
    m2 = 2 * P + n_b
    # ---- Jacobian of the weighted residual sqrt(w) (Wc - R̄ S C_w): d(R̄ S)/d omega_k = rows 0, 1 of e_k x X ----
    for j in range(P):
        Jt[0, j] = 0.0
        Jt[0, P + j] = sqw[j] * X[2, j]
        Jt[1, j] = -sqw[j] * X[2, j]
        Jt[1, P + j] = 0.0
        Jt[2, j] = sqw[j] * X[1, j]
        Jt[2, P + j] = -sqw[j] * X[0, j]
    if coupling is not None:
        _temporal_rotation_rows(X, coupling.At)
    for m in range(k):
        i = ws[m]
        for r in range(2):
            acc = 0.0
            for j in range(P):
                v = R[r, 0] * B[i, 0, j] + R[r, 1] * B[i, 1, j] + R[r, 2] * B[i, 2, j]
                A[r, j] = v
                acc += w[j] * v
            mean = acc / fit.sw
            for j in range(P):
                Jt[3 + m, r * P + j] = -sqw[j] * (A[r, j] - mean)
        if coupling is not None:
            _temporal_atom_row(R, B, i, coupling.At, 3 + m)
    if n_b > 0:
        _terms.jacobian_atoms(terms, R, X, work, B, ws, k, Jt, 2 * P)
        _terms.jacobian_rotation(terms, X, work, Jt, 2 * P)
    for t in range(n_b):
        wres[2 * P + t] = work.res[t]
    for j in range(P):
        wres[j] = sqw[j] * res[0, j]
        wres[P + j] = sqw[j] * res[1, j]
    for a in range(n):
        acc = 0.0
        for q in range(m2):
            acc += Jt[a, q] * wres[q]
        if coupling is not None:
            acc2 = 0.0
            for r in range(3):
                for j in range(P):
                    acc2 += coupling.At[a, r * P + j] * coupling.G[r, j]
            acc = acc + acc2
        g[a] = acc
        if a >= 3:
            g[a] += alpha * sg[a - 3]
    normal_matrix(Jt, n, H)
    if coupling is not None and coupling.lnn != 0.0:
        At, lnn = coupling.At, coupling.lnn
        for a in range(n):
            for b in range(a, n):
                acc = 0.0
                for q in range(3 * P):
                    acc += At[a, q] * At[b, q]
                H[a, b] += lnn * acc
                if b != a:
                    H[b, a] += lnn * acc
    return k


@njit(**KERNEL, fastmath=FASTMATH)
def _temporal_rotation_rows(X, At):
    """Rows 0-2 of the temporal Jacobian: ``dXt/d omega_k = e_k x Xt`` with ``Xt`` the points about their
    plain centroid (the temporal term's points)."""
    P = X.shape[1]
    Xc = np.empty((3, P))
    centre_plain(X, Xc)
    for j in range(P):
        x0 = Xc[0, j]
        x1 = Xc[1, j]
        x2 = Xc[2, j]
        At[0, j] = 0.0
        At[0, P + j] = -x2
        At[0, 2 * P + j] = x1
        At[1, j] = x2
        At[1, P + j] = 0.0
        At[1, 2 * P + j] = -x0
        At[2, j] = -x1
        At[2, P + j] = x0
        At[2, 2 * P + j] = 0.0


@njit(**KERNEL, fastmath=FASTMATH)
def _temporal_atom_row(R, B, i, At, row):
    """Row ``row`` of the temporal Jacobian: ``R B_i`` about its plain centroid."""
    P = B.shape[2]
    for r in range(3):
        acc = 0.0
        for j in range(P):
            v = R[r, 0] * B[i, 0, j] + R[r, 1] * B[i, 1, j] + R[r, 2] * B[i, 2, j]
            At[row, r * P + j] = v
            acc += v
        mean = acc / P
        for j in range(P):
            At[row, r * P + j] -= mean


@njit(**KERNEL)
def apply_step(R, c, ws, sg, k, step, Rn, cn):
    """``Rn, cn``: the point ``step`` leads to from ``(R, c)`` (rotation by the exponential map; a working
    coefficient that would change sign stops at 0)."""
    K = c.shape[0]
    dR = np.empty((3, 3))
    rodrigues(step[0], step[1], step[2], dR)
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


@njit(**KERNEL, fastmath=FASTMATH)
def normal_matrix(Jt, n, H):
    """``H = J^T J`` (n x n) from the first ``n`` rows of ``Jt`` (the Jacobian transposed).

    Four columns at a time share each load of row ``a`` (1.25x faster than one at a time for n = 33;
    each entry is still its own dot product).
    """
    m2 = Jt.shape[1]
    for a in range(n):
        b = a
        while b + 4 <= n:
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for q in range(m2):
                x = Jt[a, q]
                s0 += x * Jt[b, q]
                s1 += x * Jt[b + 1, q]
                s2 += x * Jt[b + 2, q]
                s3 += x * Jt[b + 3, q]
            H[a, b] = s0
            H[b, a] = s0
            H[a, b + 1] = s1
            H[b + 1, a] = s1
            H[a, b + 2] = s2
            H[b + 2, a] = s2
            H[a, b + 3] = s3
            H[b + 3, a] = s3
            b += 4
        while b < n:
            acc = 0.0
            for q in range(m2):
                acc += Jt[a, q] * Jt[b, q]
            H[a, b] = acc
            H[b, a] = acc
            b += 1


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


@njit(**KERNEL, fastmath=FASTMATH)
def lm_frame(fit, R, c, max_iter, tol):
    """Minimise (2) for fixed outliers by Levenberg-Marquardt on rotation and coefficients.

    Alternating rotation and coefficient updates zig-zag along the valley
    where a rotation is traded for a shape change; the joint step does not.
    The damping follows the gain ratio of the actual to the predicted
    decrease (Nielsen 1999).  ``fit.Wc`` must be weighted-centred.  ``R``
    (3x3) and ``c`` are updated in place.  Returns (iterations, converged,
    objective).
    """
    K, P = fit.B.shape[0], fit.B.shape[2]
    cap = min(K, LM_CAP * P)
    nmax = 3 + cap
    it, trial = new_iterate(fit), new_iterate(fit)
    sys = new_system(fit, cap)
    ws = np.empty(K, dtype=np.int64)
    sg = np.empty(K)
    hd = np.empty(nmax)
    Hd = np.empty((nmax, nmax))
    step = np.empty(nmax)
    mg = np.empty(nmax)
    Lf = np.zeros((nmax, nmax))
    Rn = np.empty((3, 3))
    cn = np.empty(K)
    H, g = sys.H, sys.g
    f = objective(fit, R, c, it)
    lam = 1e-4
    nu = 2.0
    converged = False
    n_it = 0
    for n_it in range(1, max_iter + 1):
        k = frame_system(fit, R, c, it, cap, ws, sg, sys, None)
        n = 3 + k
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
        fn = f
        for attempt in range(12):
            ok = damped_step(H, g, hd, n, lam, Hd, mg, Lf, step)
            if not ok:
                lam *= 4.0
                continue
            apply_step(R, c, ws, sg, k, step, Rn, cn)
            fn = objective(fit, Rn, cn, trial)
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
        it, trial = trial, it
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
    return n_it, converged, f
