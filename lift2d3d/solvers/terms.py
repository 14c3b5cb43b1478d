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

Adding a term
-------------
Give it its data in :class:`Terms` (a field, built by
:func:`lift2d3d.solvers.batch.frame_terms`), its cache in :class:`TermWork`,
one ``<term>_*`` kernel per function above, and a line in each dispatcher
below.  The refinement code does not change.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .prox import FASTMATH

__all__ = ["Terms", "TermWork", "n_rows", "new_work", "scratch_size", "values", "shape_gradient",
           "jacobian_rotation", "jacobian_atom", "prior_value"]

KERNEL = dict(cache=True, nogil=True, error_model="numpy")


class Terms(NamedTuple):
    """What the refinement's extra terms read, for one frame.

    Attributes
    ----------
    edges : (E, 2) int64
        Bones as joint indices.
    Mb : (T, E) float64
        Rows of the bone-length term (0 rows: off).
    """

    edges: np.ndarray
    Mb: np.ndarray


class TermWork(NamedTuple):
    """What the terms cache at an iterate for its Jacobian (one per iterate; swapped on acceptance).

    Attributes
    ----------
    lengths : (E,) float64
        Bone lengths.
    units : (E, 3) float64
        Unit bone vectors.
    """

    lengths: np.ndarray
    units: np.ndarray


# ----------------------------------------------------------------------------- bones
@njit(**KERNEL, fastmath=FASTMATH)
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


@njit(**KERNEL, fastmath=FASTMATH)
def bone_values(terms, S, work, res):
    return bone_residuals(S, terms.edges, terms.Mb, work.lengths, work.units, res)


@njit(**KERNEL, fastmath=FASTMATH)
def bone_shape_gradient(terms, work, res, scratch, Q):
    # minus the gradient with respect to S: sum_e kappa_e d|S_a - S_b|/dS with kappa = Mb^T res
    edges, Mb, units = terms.edges, terms.Mb, work.units
    n_e, n_b = edges.shape[0], Mb.shape[0]
    kappa = scratch[:n_e]
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


@njit(**KERNEL, fastmath=FASTMATH)
def bone_jacobian_atom(terms, work, B, i, scratch, Jt, row, col0):
    edges, Mb, units = terms.edges, terms.Mb, work.units
    n_e, n_b = edges.shape[0], Mb.shape[0]
    dl = scratch[:n_e]
    for e in range(n_e):
        acc = 0.0
        for x in range(3):
            acc += units[e, x] * (B[i, x, edges[e, 0]] - B[i, x, edges[e, 1]])
        dl[e] = acc
    for t in range(n_b):
        acc = 0.0
        for e in range(n_e):
            acc += Mb[t, e] * dl[e]
        Jt[row, col0 + t] = acc


# ----------------------------------------------------------------------------- dispatch
@njit(**KERNEL)
def n_rows(terms):
    """Residual rows of all terms."""
    return terms.Mb.shape[0]


@njit(**KERNEL)
def new_work(terms):
    """A :class:`TermWork` for ``terms``."""
    n_e = terms.edges.shape[0]
    return TermWork(np.zeros(n_e), np.zeros((n_e, 3)))


@njit(**KERNEL)
def scratch_size(terms):
    """Length of the ``scratch`` array the Jacobian and gradient kernels may overwrite."""
    return terms.edges.shape[0]


@njit(**KERNEL, fastmath=FASTMATH)
def values(terms, S, X, work, res):
    """Fill the residual rows ``res`` at shape ``S`` and camera points ``X``; return 1/2 their sum of squares."""
    f = 0.0
    if terms.Mb.shape[0] > 0:
        f += bone_values(terms, S, work, res)
    return f


@njit(**KERNEL, fastmath=FASTMATH)
def shape_gradient(terms, R, work, res, scratch, Q):
    """Subtract the terms' gradient with respect to ``S`` from ``Q`` (3, P)."""
    if terms.Mb.shape[0] > 0:
        bone_shape_gradient(terms, work, res, scratch, Q)


@njit(**KERNEL, fastmath=FASTMATH)
def jacobian_rotation(terms, X, work, Jt, col0):
    """Columns ``col0 + t`` of the rotation rows 0-2 of the transposed Jacobian ``Jt``."""
    for t in range(terms.Mb.shape[0]):
        for k in range(3):
            Jt[k, col0 + t] = 0.0     # bone lengths do not depend on the rotation


@njit(**KERNEL, fastmath=FASTMATH)
def jacobian_atom(terms, R, work, B, i, scratch, Jt, row, col0):
    """Columns ``col0 + t`` of row ``row`` of ``Jt``: the terms' derivatives by the coefficient of atom ``i``."""
    if terms.Mb.shape[0] > 0:
        bone_jacobian_atom(terms, work, B, i, scratch, Jt, row, col0)


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
    return f + values(terms, S, X, new_work(terms), np.empty(n_rows(terms)))
