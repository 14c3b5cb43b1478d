"""The refinement's extra terms: each a small kernel, all joined through one record.

The Levenberg-Marquardt refinement (:func:`lift2d3d.solvers.refine.lm_weak`)
minimises the data term of objective (2) plus ``alpha ||c||_1`` plus the sum
of squares of the residual rows of every term here.  A term sees the current
shape ``S`` (3, P; ``S = sum_i c_i B_i``), the camera-frame points
``X = R S`` (3, P) and the rotation ``R``, and provides

* its residual rows (:func:`values`), with what its Jacobian needs cached in
  a :class:`TermWork` record that travels with the iterate;
* minus its gradient with respect to ``S`` (:func:`shape_gradient`), which
  decides the working set of atoms;
* its Jacobian columns: with respect to the rotation's local exponential
  coordinates (:func:`jacobian_rotation`) and to one atom's coefficient
  (:func:`jacobian_atom`).

Terms
-----
bones
    ``1/2 || M_b l(S) ||^2`` on the bone lengths ``l``: every row of ``M_b``
    is a soft linear constraint.  The Lifter's rows are ``sqrt(symmetry)
    (e_left - e_right)`` for mirrored bones, and in the second pass of
    ``lift_sequence`` ``sqrt(w) (e_b - rho_b 1^T)`` pulling a person's
    proportions towards their median ``rho``.
depth order (ordinal depth hints, Pavlakos, Zhou & Daniilidis, CVPR 2018)
    one hinge per relation on the camera depths ``z = (R S)_3``: "a nearer
    than b" costs ``w/2 max(0, z_a - z_b + m)^2`` (margin ``m``), "a at about
    b's depth" costs ``w/2 max(0, |z_a - z_b| - t)^2`` (tolerance ``t``).
    Relations are rows ``(a, b, kind)`` of ``Terms.hints`` (kind 0: a nearer
    than b; 1: about equal).  The weight is large, so that a correct hint wins
    over the prior; the hinge is zero once the relation holds.
prior (the reconstruction component: a lifting network's 3D, :mod:`lift2d3d.learned`)
    ``w/2 sum_j v_j (z_j - zbar - (zhat_j - zhatbar))^2``: the camera depths
    ``z = (R S)_3`` about their mean (weights ``v``, the joints' confidences)
    pulled towards the network's depths ``zhat`` about theirs, each joint's
    squared residual ``r^2`` under a Cauchy loss ``c^2 log(1 + r^2 / c^2)``
    (``prior_scale``): a network that is wrong pulls with a bounded force,
    so the fit stays on its keypoints.  The answer stays a sparse
    combination of the bases that reprojects to the keypoints; the network
    decides what the 2D cannot (which way a limb points in depth).

Adding a term
-------------
Three files: here, its data as a field of :class:`Terms` (filled by
:func:`frame_terms` from the options record and the frames), one
``<term>_*`` kernel per function above and a line in each dispatcher below;
its weight as a field of :class:`lift2d3d.options.Options` (the Lifter's
parameter, its default, its check and its CLI flag all follow from that
record) and of :class:`~lift2d3d.solvers.records.SolverOptions`
(``solvers/records.py``); and a test against an independent oracle.  The
refinement, the temporal solve and the warm-up do not change.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .prox import FASTMATH, KERNEL

__all__ = ["Terms", "TermWork", "frame_terms", "n_rows", "new_work", "values", "shape_gradient",
           "jacobian_rotation", "jacobian_atom", "jacobian_atoms", "prior_value", "no_prior"]


class Terms(NamedTuple):
    """What the refinement's extra terms read, for one frame.

    Attributes
    ----------
    edges : (E, 2) int64
        Bones as joint indices.
    Mb : (T, E) float64
        Rows of the bone-length term (0 rows: off).
    hints : (H, 3) int64
        Depth-order relations ``(a, b, kind)`` (0 rows: off).
    depth_weight, depth_margin, depth_tol : float
        Weight, margin and "about equal" tolerance of the depth-order term (normalised units).
    prior : (3, P) float64
        The network's camera-frame joints, centred on the joints ``prior_w`` weighs (normalised units).
    prior_w : (P,) float64
        The prior's per-joint weights (the keypoints' confidences).
    prior_weight : float
        Weight of the prior term (0: off).
    prior_scale : float
        Scale ``c`` of the prior term's Cauchy loss (normalised units).
    dB : (K, E, 3) float64
        The bases' bone vectors per atom (:func:`lift2d3d.solvers.records.edge_differences`), for the
        bone term's Jacobian.
    """

    edges: np.ndarray
    Mb: np.ndarray
    hints: np.ndarray = np.zeros((0, 3), dtype=np.int64)
    depth_weight: float = 0.0
    depth_margin: float = 0.0
    depth_tol: float = 0.0
    prior: np.ndarray = np.zeros((3, 0))
    prior_w: np.ndarray = np.zeros(0)
    prior_weight: float = 0.0
    prior_scale: float = 1.0
    dB: np.ndarray = np.zeros((0, 0, 3))


class TermWork(NamedTuple):
    """What the terms cache at an iterate (one per iterate; swapped on acceptance).

    Attributes
    ----------
    lengths : (E,) float64
        Bone lengths.
    units : (E, 3) float64
        Unit bone vectors.
    res : (T,) float64
        The terms' residual rows (bones, depth relations, prior).
    scratch : (E,) float64
        Working space the gradient and Jacobian kernels may overwrite.
    gain : (P,) float64
        The prior's robust rows' derivative by their plain residual (1 for small ones).
    """

    lengths: np.ndarray
    units: np.ndarray
    res: np.ndarray
    scratch: np.ndarray
    gain: np.ndarray


def no_prior(P: int):
    """``(prior, prior_w)`` of a frame without a network prior: zeros of the shapes :class:`Terms` holds."""
    return np.zeros((3, P)), np.zeros(P)


# ----------------------------------------------------------------------------- bones
@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def bone_residuals(S, edges, Mb, lengths, units, out):
    """Residuals ``out = Mb l`` of the bone lengths ``l`` of the shape S; returns 1/2 their sum of squares.

    ``edges`` (E, 2) joint indices; ``Mb`` (T, E) one row per term (e.g.
    ``sqrt(gamma) (e_left - e_right)`` for a mirrored pair).  Fills
    ``lengths`` (E,) and the unit bone vectors ``units`` (E, 3), which the
    Jacobian needs.
    """
    for e in range(edges.shape[0]):
        a = edges[e, 0]
        b = edges[e, 1]
        n2 = 0.0
        for x in range(3):
            d = S[x, a] - S[x, b]
            units[e, x] = d
            n2 += d * d
        nrm = np.sqrt(n2)
        lengths[e] = nrm
        inv = 1.0 / nrm if nrm > 1e-12 else 0.0
        for x in range(3):
            units[e, x] *= inv
    f = 0.0
    for t in range(Mb.shape[0]):
        acc = 0.0
        for e in range(edges.shape[0]):
            acc += Mb[t, e] * lengths[e]
        out[t] = acc
        f += 0.5 * acc * acc
    return f


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def bone_values(terms, S, work, res):
    return bone_residuals(S, terms.edges, terms.Mb, work.lengths, work.units, res)


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def bone_shape_gradient(terms, work, res, Q):
    # minus the gradient with respect to S: sum_e kappa_e d|S_a - S_b|/dS with kappa = Mb^T res
    edges, Mb, units = terms.edges, terms.Mb, work.units
    n_e, n_b = edges.shape[0], Mb.shape[0]
    kappa = work.scratch
    for e in range(n_e):
        acc = 0.0
        for t in range(n_b):
            acc += Mb[t, e] * res[t]
        kappa[e] = acc
    for e in range(n_e):
        for x in range(3):
            gx = kappa[e] * units[e, x]
            Q[x, edges[e, 0]] -= gx
            Q[x, edges[e, 1]] += gx


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def bone_jacobian_atom(terms, work, i, Jt, row, col0):
    edges, Mb, units, dB = terms.edges, terms.Mb, work.units, terms.dB
    n_e, n_b = edges.shape[0], Mb.shape[0]
    dl = work.scratch      # indexed, not sliced: a slice in this loop costs its reference counting
    for e in range(n_e):
        acc = 0.0
        for x in range(3):
            acc += units[e, x] * dB[i, e, x]
        dl[e] = acc
    for t in range(n_b):
        acc = 0.0
        for e in range(n_e):
            acc += Mb[t, e] * dl[e]
        Jt[row, col0 + t] = acc


# ----------------------------------------------------------------------------- depth order
@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def _depth_violation(terms, X, h):
    """(violation v, sign s) of relation ``h``: the residual is sqrt(w) max(v, 0) and dv/dz = s (dz_a - dz_b)."""
    a, b = terms.hints[h, 0], terms.hints[h, 1]
    dz = X[2, a] - X[2, b]
    if terms.hints[h, 2] == 0:
        return dz + terms.depth_margin, 1.0
    if dz >= 0.0:
        return dz - terms.depth_tol, 1.0
    return -dz - terms.depth_tol, -1.0


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def depth_values(terms, X, res):
    root = np.sqrt(terms.depth_weight)
    f = 0.0
    for h in range(terms.hints.shape[0]):
        v, _ = _depth_violation(terms, X, h)
        r = root * v if v > 0.0 else 0.0
        res[h] = r
        f += 0.5 * r * r
    return f


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def depth_shape_gradient(terms, R, X, res, Q):
    # F = 1/2 r^2 with dr/dS_a = sqrt(w) s R[2], dr/dS_b = -sqrt(w) s R[2]
    root = np.sqrt(terms.depth_weight)
    for h in range(terms.hints.shape[0]):
        if res[h] == 0.0:
            continue
        _, sgn = _depth_violation(terms, X, h)
        a, b = terms.hints[h, 0], terms.hints[h, 1]
        g = res[h] * root * sgn
        for x in range(3):
            Q[x, a] -= g * R[2, x]
            Q[x, b] += g * R[2, x]


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def depth_jacobian_rotation(terms, X, res, Jt, col0):
    # dz_j / d omega = (X_1j, -X_0j, 0) for R <- exp([omega]x) R
    root = np.sqrt(terms.depth_weight)
    for h in range(terms.hints.shape[0]):
        if res[h] == 0.0:
            for k in range(3):
                Jt[k, col0 + h] = 0.0
            continue
        _, sgn = _depth_violation(terms, X, h)
        a, b = terms.hints[h, 0], terms.hints[h, 1]
        Jt[0, col0 + h] = root * sgn * (X[1, a] - X[1, b])
        Jt[1, col0 + h] = -root * sgn * (X[0, a] - X[0, b])
        Jt[2, col0 + h] = 0.0


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def depth_jacobian_atom(terms, R, X, res, B, i, Jt, row, col0):
    # dz_a/dc_i - dz_b/dc_i = R[2] . (B_i[:, a] - B_i[:, b]) (the centring cancels in the difference)
    root = np.sqrt(terms.depth_weight)
    for h in range(terms.hints.shape[0]):
        if res[h] == 0.0:
            Jt[row, col0 + h] = 0.0
            continue
        _, sgn = _depth_violation(terms, X, h)
        a, b = terms.hints[h, 0], terms.hints[h, 1]
        acc = 0.0
        for x in range(3):
            acc += R[2, x] * (B[i, x, a] - B[i, x, b])
        Jt[row, col0 + h] = root * sgn * acc


# ----------------------------------------------------------------------------- prior (a network's depths)

@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def _prior_means(terms, X):
    """Weighted means (weights ``prior_w``) of the camera points' three rows and of the prior's depths."""
    v = terms.prior_w
    sw = 0.0
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    mp = 0.0
    for j in range(v.shape[0]):
        sw += v[j]
        m0 += v[j] * X[0, j]
        m1 += v[j] * X[1, j]
        m2 += v[j] * X[2, j]
        mp += v[j] * terms.prior[2, j]
    return m0 / sw, m1 / sw, m2 / sw, mp / sw


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def prior_values(terms, X, res, gain):
    # plain residual r_j = s_j (z_j - zbar - (zhat_j - zhatbar)), s_j = sqrt(w v_j); the row is the robust
    # rho_j = sign(r_j) sqrt(c^2 log(1 + r_j^2 / c^2)), so that rho_j^2 / 2 is the Cauchy loss, and
    # gain_j = d rho_j / d r_j = r_j / (rho_j (1 + r_j^2 / c^2)) (1 as r_j -> 0)
    _, _, zbar, pbar = _prior_means(terms, X)
    c2 = terms.prior_scale * terms.prior_scale
    f = 0.0
    for j in range(terms.prior_w.shape[0]):
        r = np.sqrt(terms.prior_weight * terms.prior_w[j]) * (X[2, j] - zbar - terms.prior[2, j] + pbar)
        q = r * r / c2
        if q < 1e-12:
            rho = r
            gain[j] = 1.0
        else:
            rho = np.sqrt(c2 * np.log1p(q))
            if r < 0.0:
                rho = -rho
            gain[j] = r / (rho * (1.0 + q))
        res[j] = rho
        f += 0.5 * rho * rho
    return f


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def prior_shape_gradient(terms, R, res, gain, Q):
    # dF/dS_k = R[2] (t_k - v_k / sum v * sum_j t_j) with t_j = rho_j gain_j s_j
    v = terms.prior_w
    P = v.shape[0]
    sv = 0.0
    total = 0.0
    for j in range(P):
        sv += v[j]
        total += np.sqrt(terms.prior_weight * v[j]) * gain[j] * res[j]
    for k in range(P):
        g = np.sqrt(terms.prior_weight * v[k]) * gain[k] * res[k] - v[k] / sv * total
        for x in range(3):
            Q[x, k] -= g * R[2, x]


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def prior_jacobian_rotation(terms, X, gain, Jt, col0):
    # d(z_j - zbar)/d omega = (X_1j - X_1bar, -(X_0j - X_0bar), 0) for R <- exp([omega]x) R
    m0, m1, _, _ = _prior_means(terms, X)
    for j in range(terms.prior_w.shape[0]):
        s = np.sqrt(terms.prior_weight * terms.prior_w[j]) * gain[j]
        Jt[0, col0 + j] = s * (X[1, j] - m1)
        Jt[1, col0 + j] = -s * (X[0, j] - m0)
        Jt[2, col0 + j] = 0.0


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def prior_jacobian_atom(terms, R, gain, B, i, Jt, row, col0):
    # d(z_j - zbar)/dc_i = R[2] . (B_i[:, j] - weighted mean of B_i's columns)
    v = terms.prior_w
    P = v.shape[0]
    sv = 0.0
    mean = 0.0
    for j in range(P):
        zj = R[2, 0] * B[i, 0, j] + R[2, 1] * B[i, 1, j] + R[2, 2] * B[i, 2, j]
        sv += v[j]
        mean += v[j] * zj
    mean /= sv
    for j in range(P):
        zj = R[2, 0] * B[i, 0, j] + R[2, 1] * B[i, 1, j] + R[2, 2] * B[i, 2, j]
        Jt[row, col0 + j] = np.sqrt(terms.prior_weight * v[j]) * gain[j] * (zj - mean)


# ----------------------------------------------------------------------------- dispatch
@njit(**KERNEL)
def frame_terms(frames, model, opts, n, hints=True):
    """The terms of frame ``n``: settings from the options record, the bones from the model record, the
    frame's own data (depth relations, the network's prior) from the frames record; without its depth
    relations when ``hints`` is False (the refinement proper, which a frame's hints must not change)."""
    n_hints = frames.n_hints[n] if hints else 0
    return Terms(model.edges, model.Mb, np.ascontiguousarray(frames.hints[n, :n_hints]), opts.depth_weight,
                 opts.depth_margin, opts.depth_tol, frames.prior[n], frames.w[n], opts.prior_weight,
                 opts.prior_scale, model.dB)


@njit(**KERNEL, inline="always")
def _n_prior(terms):
    return terms.prior_w.shape[0] if terms.prior_weight > 0.0 else 0


@njit(**KERNEL)
def n_rows(terms):
    """Residual rows of all terms (bones first, then depth relations, then the prior's joints)."""
    return terms.Mb.shape[0] + terms.hints.shape[0] + _n_prior(terms)


@njit(**KERNEL)
def new_work(terms):
    """A :class:`TermWork` for ``terms``."""
    n_e = terms.edges.shape[0]
    return TermWork(np.zeros(n_e), np.zeros((n_e, 3)), np.zeros(n_rows(terms)), np.empty(n_e),
                    np.ones(_n_prior(terms)))


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def values(terms, S, X, work):
    """Fill the residual rows ``work.res`` at shape ``S`` and camera points ``X``; return 1/2 their sum of
    squares."""
    res = work.res
    n_b, n_h = terms.Mb.shape[0], terms.hints.shape[0]
    f = 0.0
    if n_b > 0:
        f += bone_values(terms, S, work, res[:n_b])
    if n_h > 0:
        f += depth_values(terms, X, res[n_b:n_b + n_h])
    if _n_prior(terms) > 0:
        f += prior_values(terms, X, res[n_b + n_h:], work.gain)
    return f


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def shape_gradient(terms, R, X, work, Q):
    """Subtract the terms' gradient with respect to ``S`` from ``Q`` (3, P)."""
    res = work.res
    n_b, n_h = terms.Mb.shape[0], terms.hints.shape[0]
    if n_b > 0:
        bone_shape_gradient(terms, work, res[:n_b], Q)
    if n_h > 0:
        depth_shape_gradient(terms, R, X, res[n_b:n_b + n_h], Q)
    if _n_prior(terms) > 0:
        prior_shape_gradient(terms, R, res[n_b + n_h:], work.gain, Q)


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def jacobian_rotation(terms, X, work, Jt, col0):
    """Columns ``col0 + t`` of the rotation rows 0-2 of the transposed Jacobian ``Jt``."""
    n_b, n_h = terms.Mb.shape[0], terms.hints.shape[0]
    for t in range(n_b):
        for k in range(3):
            Jt[k, col0 + t] = 0.0     # bone lengths do not depend on the rotation
    if n_h > 0:
        depth_jacobian_rotation(terms, X, work.res[n_b:n_b + n_h], Jt, col0 + n_b)
    if _n_prior(terms) > 0:
        prior_jacobian_rotation(terms, X, work.gain, Jt, col0 + n_b + n_h)


@njit(**KERNEL, fastmath=FASTMATH, inline="always")
def jacobian_atom(terms, R, X, work, B, i, Jt, row, col0):
    """Columns ``col0 + t`` of row ``row`` of ``Jt``: the terms' derivatives by the coefficient of atom ``i``."""
    n_b, n_h = terms.Mb.shape[0], terms.hints.shape[0]
    if n_b > 0:
        bone_jacobian_atom(terms, work, i, Jt, row, col0)
    if n_h > 0:
        depth_jacobian_atom(terms, R, X, work.res[n_b:n_b + n_h], B, i, Jt, row, col0 + n_b)
    if _n_prior(terms) > 0:
        prior_jacobian_atom(terms, R, work.gain, B, i, Jt, row, col0 + n_b + n_h)


@njit(**KERNEL, fastmath=FASTMATH)
def jacobian_atoms(terms, R, X, work, B, ws, k, Jt, col0):
    """Columns ``col0 + t`` of rows ``3 .. 3 + k`` of ``Jt``: the terms' derivatives by the coefficients of
    the working set's atoms ``ws[:k]`` (row ``3 + m`` for atom ``ws[m]``).

    The bone rows, the hot part, run over plain arrays taken from the records once: reading a record's
    arrays inside the atoms' loop costs their reference counting every time (2.5x this loop's time).
    """
    n_b, n_h = terms.Mb.shape[0], terms.hints.shape[0]
    if n_b > 0:
        _bone_rows(work.units, terms.dB, terms.Mb, ws, k, Jt, col0, work.scratch)
    if n_h > 0 or _n_prior(terms) > 0:
        for m in range(k):
            i = ws[m]
            if n_h > 0:
                depth_jacobian_atom(terms, R, X, work.res[n_b:n_b + n_h], B, i, Jt, 3 + m, col0 + n_b)
            if _n_prior(terms) > 0:
                prior_jacobian_atom(terms, R, work.gain, B, i, Jt, 3 + m, col0 + n_b + n_h)


@njit(**KERNEL, fastmath=FASTMATH)
def _bone_rows(units, dB, Mb, ws, k, Jt, col0, dl):
    """The bone term's columns of the working set's rows (:func:`bone_jacobian_atom` for every atom)."""
    n_e, n_b = dB.shape[1], Mb.shape[0]
    for m in range(k):
        i = ws[m]
        for e in range(n_e):
            acc = 0.0
            for x in range(3):
                acc += units[e, x] * dB[i, e, x]
            dl[e] = acc
        for t in range(n_b):
            acc = 0.0
            for e in range(n_e):
                acc += Mb[t, e] * dl[e]
            Jt[3 + m, col0 + t] = acc


@njit(**KERNEL, fastmath=FASTMATH)
def prior_value(terms, S, R, c, alpha):
    """``alpha ||c||_1`` plus the terms at shape ``S`` seen through ``R``: the prior of (2)."""
    f = 0.0
    for i in range(c.shape[0]):
        f += alpha * abs(c[i])
    if n_rows(terms) == 0:
        return f
    P = S.shape[1]
    X = np.empty((3, P))
    for a in range(3):
        for j in range(P):
            X[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
    return f + values(terms, S, X, new_work(terms))
