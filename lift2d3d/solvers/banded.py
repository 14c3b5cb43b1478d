"""Block-pentadiagonal Cholesky: the linear solve of the temporal refinement, linear in the number of frames.

The temporal refinement (:mod:`lift2d3d.solvers.temporal`) couples each frame's
unknowns with those of the two frames before and after it (second differences
span three frames), so its normal matrix is block-pentadiagonal, with blocks of
varying size (each frame has its own working set)::

    H = [ D_0  E1_1^T E2_2^T                ]
        [ E1_1 D_1    E1_2^T E2_3^T         ]
        [ E2_2 E1_2   D_2    E1_3^T  ...    ]
        [      E2_3   E1_3   D_3     ...    ]

Its Cholesky factor has the same block pattern (no fill outside the band), so
factor and solve cost ``O(N b^3)`` and ``O(N b^2)`` for ``N`` frames of ``b``
unknowns: linear in the number of frames.  Frame by frame (left-looking)::

    L2_n = E2_n L_{n-2}^{-T}
    L1_n = (E1_n - L2_n L1_{n-1}^T) L_{n-1}^{-T}
    L_n L_n^T = D_n - L2_n L2_n^T - L1_n L1_n^T

Each diagonal factor is inverted once (``b^3 / 6``), so that every other
step is a product of contiguous rows, which vectorises; the few
sequential operations (the small Cholesky factors and their inverses) are a
tenth of the work.

Storage: ``D[n]``, ``E1[n]``, ``E2[n]`` (N, b_max, b_max) hold the blocks
``H[n, n]``, ``H[n, n-1]``, ``H[n, n-2]`` in their leading ``sizes[n] x
sizes[m]`` corners.  :func:`block_dense` assembles the dense matrix (for
tests), and :func:`block_solve_numpy` is the NumPy twin of factor + solve.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import FASTMATH, KERNEL

__all__ = ["block_cholesky", "block_solve", "block_dense", "block_solve_numpy"]


@njit(**KERNEL, fastmath=FASTMATH)
def _cholesky_inverse(A, n, Linv, work):
    """``Linv = L^{-1}`` for the lower Cholesky factor ``L`` of ``A[:n, :n]``; False if not positive definite.

    ``work`` (b_max, b_max) holds ``L``.
    """
    for j in range(n):
        acc = A[j, j]
        for k in range(j):
            acc -= work[j, k] * work[j, k]
        if not acc > 0.0:
            return False
        d = np.sqrt(acc)
        work[j, j] = d
        inv = 1.0 / d
        for i in range(j + 1, n):
            acc = A[i, j]
            for k in range(j):
                acc -= work[i, k] * work[j, k]
            work[i, j] = acc * inv
    # rows of L^{-1} (lower triangular): row i = (e_i - sum_{k<i} L[i, k] row k) / L[i, i], as
    # contiguous row updates
    for i in range(n):
        for j in range(n):
            Linv[i, j] = 0.0
        for k in range(i):
            lik = work[i, k]
            for j in range(k + 1):
                Linv[i, j] -= lik * Linv[k, j]
        Linv[i, i] = 1.0
        inv = 1.0 / work[i, i]
        for j in range(i + 1):
            Linv[i, j] *= inv
    return True


@njit(**KERNEL, fastmath=FASTMATH)
def _times_inverse_transposed(E, na, Linv, nb, out):
    """``out = E Linv^T`` for ``E`` (na, nb) and lower-triangular ``Linv`` (nb, nb)."""
    for a in range(na):
        for q in range(nb):
            acc = 0.0
            for t in range(q + 1):
                acc += E[a, t] * Linv[q, t]
            out[a, q] = acc


@njit(**KERNEL, fastmath=FASTMATH)
def block_cholesky(D, E1, E2, sizes, N, Linv):
    """Factor the block-pentadiagonal matrix in place; False if it is not positive definite.

    Parameters
    ----------
    D, E1, E2 : (N, b, b) float64, in/out
        The blocks ``H[n, n]``, ``H[n, n-1]``, ``H[n, n-2]`` (leading corners).
        ``D`` is overwritten by the Schur complements, ``E1`` and ``E2`` by the
        factor's blocks ``L1_n``, ``L2_n``.
    sizes : (N,) int64
        Unknowns of each frame.
    N : int
        Frames in use.
    Linv : (N, b, b) float64, out
        Inverses of the diagonal factors ``L_n``.
    """
    bmax = D.shape[1]
    tmp = np.empty((bmax, bmax))
    work = np.empty((bmax, bmax))
    for n in range(N):
        bn = sizes[n]
        if n >= 2:
            b2 = sizes[n - 2]
            _times_inverse_transposed(E2[n], bn, Linv[n - 2], b2, tmp)
            for a in range(bn):
                for q in range(b2):
                    E2[n, a, q] = tmp[a, q]
        if n >= 1:
            b1 = sizes[n - 1]
            if n >= 2:
                b2 = sizes[n - 2]
                for a in range(bn):
                    for q in range(b1):
                        acc = 0.0
                        for t in range(b2):
                            acc += E2[n, a, t] * E1[n - 1, q, t]
                        E1[n, a, q] -= acc
            _times_inverse_transposed(E1[n], bn, Linv[n - 1], b1, tmp)
            for a in range(bn):
                for q in range(b1):
                    E1[n, a, q] = tmp[a, q]
            for a in range(bn):
                for q in range(a + 1):
                    acc = 0.0
                    for t in range(b1):
                        acc += E1[n, a, t] * E1[n, q, t]
                    if n >= 2:
                        for t in range(sizes[n - 2]):
                            acc += E2[n, a, t] * E2[n, q, t]
                    D[n, a, q] -= acc
        if not _cholesky_inverse(D[n], bn, Linv[n], work):
            return False
    return True


@njit(**KERNEL, fastmath=FASTMATH)
def block_solve(Linv, E1, E2, sizes, N, rhs, x):
    """Solve ``H x = rhs`` with the factor of :func:`block_cholesky`; ``rhs``, ``x`` (N, b) (may be the same)."""
    bmax = Linv.shape[1]
    v = np.empty(bmax)
    for n in range(N):
        bn = sizes[n]
        for a in range(bn):
            acc = rhs[n, a]
            if n >= 1:
                for t in range(sizes[n - 1]):
                    acc -= E1[n, a, t] * x[n - 1, t]
            if n >= 2:
                for t in range(sizes[n - 2]):
                    acc -= E2[n, a, t] * x[n - 2, t]
            v[a] = acc
        for a in range(bn):
            acc = 0.0
            for t in range(a + 1):
                acc += Linv[n, a, t] * v[t]
            x[n, a] = acc
    for n in range(N - 1, -1, -1):
        bn = sizes[n]
        for a in range(bn):
            acc = x[n, a]
            if n + 1 < N:
                for q in range(sizes[n + 1]):
                    acc -= E1[n + 1, q, a] * x[n + 1, q]
            if n + 2 < N:
                for q in range(sizes[n + 2]):
                    acc -= E2[n + 2, q, a] * x[n + 2, q]
            v[a] = acc
        for a in range(bn):
            acc = 0.0
            for t in range(a, bn):
                acc += Linv[n, t, a] * v[t]
            x[n, a] = acc


def block_dense(D, E1, E2, sizes, N):
    """The dense symmetric matrix the blocks stand for (unknowns frame by frame)."""
    sizes = np.asarray(sizes[:N])
    off = np.concatenate([[0], np.cumsum(sizes)])
    H = np.zeros((off[-1], off[-1]))
    for n in range(N):
        bn = sizes[n]
        blk = np.tril(D[n, :bn, :bn])
        H[off[n]:off[n + 1], off[n]:off[n + 1]] = blk + np.tril(blk, -1).T
        for back, E in ((1, E1), (2, E2)):
            m = n - back
            if m >= 0:
                H[off[n]:off[n + 1], off[m]:off[m + 1]] = E[n, :bn, :sizes[m]]
                H[off[m]:off[m + 1], off[n]:off[n + 1]] = E[n, :bn, :sizes[m]].T
    return H


def block_solve_numpy(D, E1, E2, sizes, N, rhs):
    """NumPy twin of :func:`block_cholesky` + :func:`block_solve`: a dense solve, ``x`` as (N, b) (for tests)."""
    sizes = np.asarray(sizes[:N])
    b = np.concatenate([rhs[n, :sizes[n]] for n in range(N)])
    flat = np.linalg.solve(block_dense(D, E1, E2, sizes, N), b)
    x = np.zeros((N, D.shape[1]))
    off = np.concatenate([[0], np.cumsum(sizes)])
    for n in range(N):
        x[n, :sizes[n]] = flat[off[n]:off[n + 1]]
    return x
