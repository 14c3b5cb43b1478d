"""Temporal refinement: one person's frames fitted jointly, with smooth 3D motion.

The frames of a video constrain each other (MonoCap, Zhou et al., TPAMI 2018;
VideoPose3D, Pavllo et al., CVPR 2019): the body's proportions are fixed and
its rotation and pose change smoothly, so a depth flip or a wrong rotation in
one frame is out-voted by its neighbours.  For frames ``n = 0 .. N-1`` at
times ``t_n`` (frame numbers; gaps allowed) the refinement minimises::

    sum_n [ 1/2 || (W_n - R̄_n S_n) C_w D_n ||_F^2 + alpha ||c_n||_1 + 1/2 || M_b l(S_n) ||^2 ]
        + 1/2 sum_n || sum_{a=0,1,2} d_na (sigma_{n-1+a} / sigma_n) X_{n-1+a} ||_F^2                (4)

* the first line is each frame's own objective (2) of
  :mod:`lift2d3d.solvers.refine`, with its extra terms
  (:mod:`lift2d3d.solvers.terms`: bone symmetry, and the person's shared
  proportions), in the frame's normalised units;
* ``X_n = R_n (S_n - mean_j S_n)`` are the frame's camera-frame joints about
  their centroid in its normalised units, and ``sigma_n`` the frame's 2D
  scale (pixels per unit): row ``n`` compares its frames in pixels, divided
  by frame ``n``'s scale (:func:`scaled_rows`), so that the term does not
  depend on which other frames share the window.  Weak perspective
  normalises each frame to unit RMS radius, and a pose seen side-on is
  smaller in the image than the same pose seen frontally: smoothing the
  normalised shapes themselves would smooth the wrong thing;
* ``d_n`` is the second difference (acceleration, per frame squared) at
  unequal spacing ``h1 = t_n - t_{n-1}``, ``h2 = t_{n+1} - t_n``, weighted by
  the time it stands for, ``(h1 + h2) / 2``, and by the ``smoothness``
  (:func:`acceleration_rows`); a gap longer than ``max_gap`` frames splits the
  sequence (no row spans it).  With ``robust_scale = c^2 > 0`` each row's
  squared norm ``s`` counts as ``c^2 log(1 + s / c^2)`` (Cauchy): a cut in the
  video pulls its neighbours with a bounded force.

It is solved by a joint Levenberg-Marquardt iteration over every frame's
rotation (local exponential map) and working-set coefficients, with the L1
term linear on fixed signs, as :func:`lift2d3d.solvers.refine.lm_weak` does for
one frame (:func:`joint_refine`).  The acceleration rows couple each frame
with the two before and after it, so the normal matrix is block-pentadiagonal
and its block Cholesky (:mod:`lift2d3d.solvers.banded`) costs time linear in
the number of frames.  The per-frame terms are the refinement's own kernels
(:func:`lift2d3d.solvers.terms.frame_terms`, :mod:`lift2d3d.solvers.terms`),
so every per-frame term works in temporal mode too.

The stages around the joint solve (:func:`weak_targets`,
:func:`perspective_targets`; the outputs are the per-frame solve's,
:func:`lift2d3d.solvers.batch.perspective_outputs`) and the windowed
driver (:mod:`lift2d3d.solvers.windows`) complete it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .banded import block_cholesky, block_solve
from .geometry import centre_plain, centre_rows, perspective_points, perspective_units
from .lm import Coupling, System, apply_step, frame_system, new_fit, new_iterate, new_system, objective
from .prox import FASTMATH, KERNEL
from .terms import frame_terms

__all__ = ["TemporalOptions", "acceleration_rows", "scaled_rows", "joint_refine", "temporal_value", "weak_targets",
           "perspective_targets"]


class TemporalOptions(NamedTuple):
    """Settings of the temporal refinement (:func:`joint_refine`).

    Attributes
    ----------
    smoothness : float
        Weight of the acceleration term of (4) (normalised units, per frame squared).
    max_gap : float
        Frames further apart than this are not coupled (the sequence splits).
    max_iter : int
        Levenberg-Marquardt iteration cap of the joint solve.
    tol : float
        Relative decrease of the objective that ends the joint solve.
    cap : int
        Largest working set of one frame (atoms).
    n_posit : int
        Depth-correction rounds with a camera (each a joint solve of the corrected weak problem).
    robust_scale : float
        ``c^2`` of the robust (Cauchy) acceleration term (:func:`temporal_value`); 0: quadratic.
    proportions : float
        Weight of the pull of every frame's bone lengths towards the person's proportions (0: off).
    window, overlap : int
        Frames per window and frames two consecutive windows share (:mod:`lift2d3d.solvers.windows`).
    max_drift : float
        A frame whose temporal fit leaves its keypoints by more than this fraction of the pose's size,
        while its own fit does not, keeps its own (:func:`lift2d3d.solvers.windows.solve_sequence`).
    """

    smoothness: float
    max_gap: float
    max_iter: int
    tol: float
    cap: int
    n_posit: int
    robust_scale: float = 0.0
    proportions: float = 0.0
    window: int = 256
    overlap: int = 32
    max_drift: float = np.inf


def acceleration_rows(times, smoothness, max_gap):
    """Coefficients ``d`` (N, 3) of the acceleration residuals of (4) for frame times ``times`` (N,).

    Row ``n`` weighs frames ``n-1, n, n+1``: the second divided difference
    ``2 / (h1 + h2) ((X_{n+1} - X_n) / h2 - (X_n - X_{n-1}) / h1)`` (per frame
    squared), times ``sqrt(smoothness (h1 + h2) / 2)`` so that the sum of
    squares approximates ``smoothness`` times the integral of the squared
    acceleration whatever the spacing.  Rows at the ends, and rows spanning a
    gap longer than ``max_gap`` frames, are zero.  ``times`` must increase
    strictly.
    """
    t = np.asarray(times, dtype=np.float64)
    d = np.zeros((len(t), 3))
    if len(t) < 3 or smoothness <= 0:
        return d
    h1 = t[1:-1] - t[:-2]
    h2 = t[2:] - t[1:-1]
    q = np.sqrt(smoothness * (h1 + h2) / 2)
    rows = np.stack([2 / (h1 * (h1 + h2)), -2 / (h1 * h2), 2 / (h2 * (h1 + h2))], axis=1) * q[:, None]
    rows[(h1 > max_gap) | (h2 > max_gap)] = 0.0
    d[1:-1] = rows
    return d


def scaled_rows(d, sigma):
    """Acceleration rows ``d`` (N, 3) with each frame's scale ratio: ``d[n, a] sigma_{n-1+a} / sigma_n``.

    ``sigma`` (N,) are the frames' 2D normalisations (pixels per normalised unit), so row ``n`` of
    (4) compares the frames' camera points in frame ``n``'s units, whatever the window.
    """
    out = np.array(d, dtype=np.float64, copy=True)
    sigma = np.asarray(sigma, dtype=np.float64)
    if len(sigma) >= 3:
        out[1:-1, 0] *= sigma[:-2] / sigma[1:-1]
        out[1:-1, 2] *= sigma[2:] / sigma[1:-1]
    return out


# ---------------------------------------------------------------------------- pieces
# no fast-math here nor in joint_refine: their sums run over arrays that swap between iterations (the
# iterate's and the trial's), whose alignment differs, and on AVX-512 machines a reassociated sum then
# depends on it (measured: 1e-14 differences between identical calls)
@njit(**KERNEL)
def temporal_value(Xt, d, scale2, r, weights):
    """Acceleration residuals ``r`` (N, 3, P) of the points ``Xt`` (N, 3, P) and the value of their term of (4).

    With ``scale2 > 0`` the term is robust: ``1/2 sum_n scale2 log(1 + |r_n|^2 / scale2)`` (Cauchy), and
    ``weights[n]`` is its derivative ``1 / (1 + |r_n|^2 / scale2)`` with respect to ``|r_n|^2 / 2``
    (the Gauss-Newton weight of row ``n``); otherwise ``1/2 sum |r_n|^2`` and weights 1.
    """
    N, P = Xt.shape[0], Xt.shape[2]
    f = 0.0
    for n in range(N):
        weights[n] = 1.0
        d0, d1, d2 = d[n, 0], d[n, 1], d[n, 2]
        if n == 0 or n == N - 1 or (d0 == 0.0 and d1 == 0.0 and d2 == 0.0):
            for a in range(3):
                for j in range(P):
                    r[n, a, j] = 0.0
            continue
        sq = 0.0
        for a in range(3):
            for j in range(P):
                v = d0 * Xt[n - 1, a, j] + d1 * Xt[n, a, j] + d2 * Xt[n + 1, a, j]
                r[n, a, j] = v
                sq += v * v
        if scale2 > 0.0:
            f += 0.5 * scale2 * np.log1p(sq / scale2)
            weights[n] = 1.0 / (1.0 + sq / scale2)
        else:
            f += 0.5 * sq
    return f


@njit(**KERNEL)
def _coupling(d, weights, n, m):
    """``sum_k weights_k d_k,(n) d_k,(m)``: the weight of ``<dX_n, dX_m>`` in the acceleration term's
    Gauss-Newton matrix (|n - m| <= 2)."""
    N = d.shape[0]
    acc = 0.0
    # residual k involves frames k-1, k, k+1 with coefficients d[k, 0..2]
    for k in range(max(n, m) - 1, min(n, m) + 2):
        if k < 1 or k > N - 2:
            continue
        a = n - k + 1
        b = m - k + 1
        if 0 <= a <= 2 and 0 <= b <= 2:
            acc += weights[k] * d[k, a] * d[k, b]
    return acc


@njit(**KERNEL, fastmath=FASTMATH)
def _gradient_field(d, weights, r, n, G):
    """``G = sum_k weights_k d_k,(n) r_k``: the gradient of the acceleration term with respect to ``Xt_n``."""
    N, P = r.shape[0], r.shape[2]
    for a in range(3):
        for j in range(P):
            G[a, j] = 0.0
    for k in range(n - 1, n + 2):
        if k < 1 or k > N - 2:
            continue
        coef = weights[k] * d[k, n - k + 1]
        if coef == 0.0:
            continue
        for a in range(3):
            for j in range(P):
                G[a, j] += coef * r[k, a, j]


@njit(**KERNEL, fastmath=FASTMATH)
def _cross_block(At, n_a, Bt, n_b, coef, H):
    """``H[a, b] = coef <At[a], Bt[b]>``: the block of the normal matrix coupling two frames."""
    q_len = At.shape[1]
    for a in range(n_a):
        for b in range(n_b):
            acc = 0.0
            for q in range(q_len):
                acc += At[a, q] * Bt[b, q]
            H[a, b] = coef * acc


@njit(**KERNEL, fastmath=FASTMATH)
def _frame_fit(Wc, w, B, alpha, terms):
    """One frame's least-squares problem (:class:`lift2d3d.solvers.lm.Fit`)."""
    P = B.shape[2]
    sw = 0.0
    for j in range(P):
        sw += w[j]
    return new_fit(Wc, w, sw, B, alpha, terms)


@njit(**KERNEL, fastmath=FASTMATH)
def _frame_value(fit, R, c, it, Xt):
    """The frame's own objective (2) at ``(R, c)`` (the iterate ``it`` filled there); fills its temporal
    points ``Xt``."""
    f = objective(fit, R, c, it)
    centre_plain(it.X, Xt)
    return f


# ---------------------------------------------------------------------------- the joint solve
#: Initial damping of the joint solve, relative to the normal matrix's diagonal: the per-frame
#: solutions are close, but the shared proportions move every frame at once, and from 1e-4 (the
#: per-frame refinement's) the first step was rejected three times out of three on the CMU clips.
LAMBDA0 = 1e-2


@njit(**KERNEL)
def joint_refine(Wc, w, d, frames, model, opts, topts, R, c, f_frame):
    """Minimise (4) jointly over every frame's rotation and coefficients, from ``(R, c)`` (updated in place).

    Parameters
    ----------
    Wc : (N, 2, P) float64
        Normalised keypoints (minus the robust model's outliers), weighted-centred.
    w : (N, P) float64
        Joint weights (0 = missing).
    d : (N, 3) float64
        Acceleration rows of (4), with the frames' scale ratios (:func:`acceleration_rows`,
        :func:`scaled_rows`).
    frames : Frames
        The frames' own data (depth-order relations, a network's prior), rows as here.
    model : SolverModel
        The shape prior (:mod:`lift2d3d.solvers.records`); each frame's extra
        terms (bone symmetry, the person's shared proportions, its relations and
        prior) are :func:`lift2d3d.solvers.terms.frame_terms`, as in the per-frame
        refinement.
    opts : SolverOptions
        The refinement's sparsity weight ``refine_alpha`` and the terms' settings.
    topts : TemporalOptions
    R : (N, 3, 3) float64, in/out
        Rotations.
    c : (N, K) float64, in/out
        Coefficients.
    f_frame : (N,) float64, out
        Each frame's own objective (2) at the solution.

    Returns
    -------
    iterations : int
    converged : bool
    objective : float
        (4) at the solution.
    """
    B = model.B
    alpha = opts.refine_alpha
    N, K, P = c.shape[0], B.shape[0], B.shape[2]
    # private copies: the vectorised (fast-math) reductions must not depend on where the caller's arrays
    # sit in memory, so that a window gives the same bits whoever allocated it
    R_out, c_out = R, c
    Wc, w, d, R, c = Wc.copy(), w.copy(), d.copy(), R.copy(), c.copy()
    cap = min(K, topts.cap)
    nmax = 3 + cap
    ws = np.zeros((N, cap), dtype=np.int64)
    sg = np.zeros((N, cap))
    sizes = np.zeros(N, dtype=np.int64)
    At = np.zeros((N, nmax, 3 * P))
    g = np.zeros((N, nmax))
    step = np.zeros((N, nmax))
    hd = np.zeros((N, nmax))
    D = np.zeros((N, nmax, nmax))
    E1 = np.zeros((N, nmax, nmax))
    E2 = np.zeros((N, nmax, nmax))
    Df = np.zeros((N, nmax, nmax))
    E1f = np.zeros((N, nmax, nmax))
    E2f = np.zeros((N, nmax, nmax))
    Linv = np.zeros((N, nmax, nmax))
    G = np.zeros((3, P))
    Xt = np.zeros((N, 3, P))
    Xt2 = np.zeros((N, 3, P))
    r = np.zeros((N, 3, P))
    rw = np.ones(N)
    Rn = np.zeros((N, 3, 3))
    cn = np.zeros((N, K))
    f2 = np.zeros(N)
    f = 0.0
    for n in range(N):
        fit = _frame_fit(Wc[n], w[n], B, alpha, frame_terms(frames, model, opts, n))
        f_frame[n] = _frame_value(fit, R[n], c[n], new_iterate(fit), Xt[n])
        f += f_frame[n]
    f += temporal_value(Xt, d, topts.robust_scale, r, rw)
    lam = LAMBDA0
    nu = 2.0
    converged = False
    it = 0
    for it in range(1, topts.max_iter + 1):
        # ---- per-frame rows, diagonal blocks, and the blocks coupling each frame with the two before ----
        gnorm = 0.0
        for n in range(N):
            _gradient_field(d, rw, r, n, G)
            fit = _frame_fit(Wc[n], w[n], B, alpha, frame_terms(frames, model, opts, n))
            point = new_iterate(fit)
            objective(fit, R[n], c[n], point)
            buf = new_system(fit, cap)
            system = System(buf.Jt, g[n], D[n], buf.grad, buf.Q, buf.A, buf.wres)
            k = frame_system(fit, R[n], c[n], point, cap, ws[n], sg[n], system,
                             Coupling(G, _coupling(d, rw, n, n), At[n]))
            bn = 3 + k
            sizes[n] = bn
            for a in range(bn):
                hd[n, a] = D[n, a, a] + 1e-12
                gnorm = max(gnorm, abs(g[n, a]))
            if n >= 1:
                _cross_block(At[n], bn, At[n - 1], sizes[n - 1], _coupling(d, rw, n, n - 1), E1[n])
            if n >= 2:
                _cross_block(At[n], bn, At[n - 2], sizes[n - 2], _coupling(d, rw, n, n - 2), E2[n])
        if gnorm <= 1e-12 * max(f, 1e-300):
            converged = True
            break
        # ---- damped joint step, retried with more damping until (4) drops ----
        accepted = False
        fn = f
        for attempt in range(12):
            # the factorisation overwrites its blocks: work on copies, damped
            for n in range(N):
                bn = sizes[n]
                for a in range(bn):
                    for q in range(nmax):
                        Df[n, a, q] = D[n, a, q]
                        E1f[n, a, q] = E1[n, a, q]
                        E2f[n, a, q] = E2[n, a, q]
                    Df[n, a, a] += lam * hd[n, a]
                    step[n, a] = -g[n, a]
            if not block_cholesky(Df, E1f, E2f, sizes, N, Linv):
                lam *= 4.0
                continue
            block_solve(Linv, E1f, E2f, sizes, N, step, step)
            fn = 0.0
            for n in range(N):
                apply_step(R[n], c[n], ws[n], sg[n], sizes[n] - 3, step[n], Rn[n], cn[n])
                fit = _frame_fit(Wc[n], w[n], B, alpha, frame_terms(frames, model, opts, n))
                f2[n] = _frame_value(fit, Rn[n], cn[n], new_iterate(fit), Xt2[n])
                fn += f2[n]
            fn += temporal_value(Xt2, d, topts.robust_scale, r, rw)
            if fn < f:
                accepted = True
                break
            lam *= nu
            nu *= 2.0
        if not accepted:
            # r holds the last trial's residuals: restore those of the iterate
            temporal_value(Xt, d, topts.robust_scale, r, rw)
            converged = True
            break
        decrease = f - fn
        for n in range(N):
            for a in range(3):
                for b2 in range(3):
                    R[n, a, b2] = Rn[n, a, b2]
            for i in range(K):
                c[n, i] = cn[n, i]
            f_frame[n] = f2[n]
        Xt, Xt2 = Xt2, Xt
        pred = 0.0
        for n in range(N):
            for a in range(sizes[n]):
                pred += lam * hd[n, a] * step[n, a] * step[n, a] - g[n, a] * step[n, a]
        pred *= 0.5
        rho = decrease / pred if pred > 0.0 else 0.0
        f = fn
        lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-9)
        nu = 2.0
        if decrease <= topts.tol * max(f, 1e-300):
            converged = True
            break
    for n in range(N):
        for a in range(3):
            for b2 in range(3):
                R_out[n, a, b2] = R[n, a, b2]
        for i in range(K):
            c_out[n, i] = c[n, i]
    return it, converged, f


# ---------------------------------------------------------------------------- stages around the joint solve
@njit(**KERNEL, fastmath=FASTMATH)
def weak_targets(W, w, E, Wc):
    """``Wc = (W - E) C_w``: the weak-perspective problem's keypoints, weighted-centred (N, 2, P)."""
    N, P = W.shape[0], W.shape[2]
    for n in range(N):
        wn = w[n].copy()
        sw = 0.0
        for j in range(P):
            sw += wn[j]
        centre_rows(W[n] - E[n], wn, sw, Wc[n])


@njit(**KERNEL, fastmath=FASTMATH)
def perspective_targets(Wpx, w, model, opts, Rbar, c, info, Wc, wc):
    """The weak problem whose solution refines model (3) at the current depths (the POSIT step of
    :func:`lift2d3d.solvers.refine.refine_perspective`): corrected points ``u' (1 + eps_j)``,
    weighted-centred, into ``Wc`` and weights ``w_j / (1 + eps_j)^2`` into ``wc``."""
    B = model.B
    N, P = Wpx.shape[0], B.shape[2]
    U = np.empty((2, P))
    X = np.empty((3, P))
    for n in range(N):
        sigma = info[n].sigma
        rho = perspective_units(Wpx[n], opts.px, opts.py, opts.focal, sigma, U)
        wn = w[n].copy()
        perspective_points(B, c[n].copy(), Rbar[n].copy(), wn, U, rho, X)
        V = np.empty((2, P))
        wv = np.empty(P)
        sw = 0.0
        for j in range(P):
            g = X[2, j] / rho
            V[0, j] = U[0, j] * g
            V[1, j] = U[1, j] * g
            wv[j] = wn[j] / (g * g)
            sw += wv[j]
        for j in range(P):
            wc[n, j] = wv[j]
        centre_rows(V, wv, sw, Wc[n])
