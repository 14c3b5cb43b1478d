"""Proximal operators and small closed-form linear algebra on 2x3 blocks.

The convex relaxation penalises each block ``M_i`` (2x3) by its spectral norm
``||M_i||_2`` (largest singular value), the convex envelope of ``c |R̄|`` over
scaled 2x3 Stiefel matrices (Zhou et al., TPAMI 2017, Sec. 3).  Its proximal
operator shrinks the singular values ``s1 >= s2`` by projecting them onto the
L1 ball (Moreau decomposition: the dual norm of the spectral norm is the
nuclear norm)::

    prox_{lam ||.||_2}(A) = A - lam * Proj_{||.||_* <= 1}(A / lam)
                          = U diag(min(s_k, tau)) V^T,

with ``tau`` the level at which ``sum_k max(s_k - tau, 0) = lam`` (and the
result 0 when ``s1 + s2 <= lam``).  For two singular values ``tau`` is
closed-form.  We never form V: with A A^T = U diag(s^2) U^T,
``U diag(min(s, tau)) V^T = U diag(min(s, tau) / s) U^T A``.

Every kernel here has a NumPy twin (``*_numpy``) used by the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Fast-math flags for the hot loops: reassociation lets LLVM vectorise the
#: reductions; "nnan"/"ninf" stay off so that finiteness checks keep working.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

#: Options of every solver kernel: cached on disk, free of the GIL (batches run on
#: threads), and IEEE division (a degenerate frame gives inf/NaN, which the
#: finiteness checks turn into a status, instead of raising inside a batch).
KERNEL = dict(cache=True, nogil=True, error_model="numpy")

#: The ADMM's kernels (the relaxation stage, :mod:`.convex`, the 2x3 prox): Python's error model, under
#: which LLVM optimises them together (1.45x faster ADMM iterations, measured); their divisions are all
#: by quantities they have checked are positive, so none can raise.
ADMM_KERNEL = dict(cache=True, nogil=True)

__all__ = ["prox_spectral_2x3", "prox_spectral_numpy", "polar_2x3", "polar_numpy", "spectral_norm_2x3"]


@njit(**ADMM_KERNEL, fastmath=False)
def _sym2_eig(a, b, d):
    """Eigen-decomposition of [[a, b], [b, d]]: (l1 >= l2, cos, sin) of the first eigenvector."""
    half_tr = 0.5 * (a + d)
    diff = 0.5 * (a - d)
    rad = np.sqrt(diff * diff + b * b)
    l1 = half_tr + rad
    l2 = half_tr - rad
    if rad == 0.0:
        return l1, l2, 1.0, 0.0
    # first eigenvector (cos t, sin t) with tan 2t = 2b / (a - d)
    theta = 0.5 * np.arctan2(b, diff)
    return l1, l2, np.cos(theta), np.sin(theta)


@njit(**ADMM_KERNEL)
def spectral_norm_2x3(A):
    """Largest singular value of a 2x3 matrix (from the 2x2 Gram matrix, no trigonometry)."""
    a = A[0, 0] * A[0, 0] + A[0, 1] * A[0, 1] + A[0, 2] * A[0, 2]
    d = A[1, 0] * A[1, 0] + A[1, 1] * A[1, 1] + A[1, 2] * A[1, 2]
    b = A[0, 0] * A[1, 0] + A[0, 1] * A[1, 1] + A[0, 2] * A[1, 2]
    rad = np.sqrt(0.25 * (a - d) * (a - d) + b * b)
    return np.sqrt(max(0.5 * (a + d) + rad, 0.0))


@njit(**ADMM_KERNEL)
def prox_spectral_2x3(A, lam, out):
    """Write ``prox_{lam ||.||_2}(A)`` for a 2x3 ``A`` into ``out``; returns the clipped level.

    No trigonometry: with ``A A^T = [[a, b], [b, d]]`` and eigenvalues
    ``l1 >= l2``, the projector onto the top left singular vector is
    ``P1 = (A A^T - l2 I) / (l1 - l2)``, so ``U diag(f1, f2) U^T = f2 I +
    (f1 - f2) P1``.  ``A`` and ``out`` may be the same array.
    """
    a = A[0, 0] * A[0, 0] + A[0, 1] * A[0, 1] + A[0, 2] * A[0, 2]
    d = A[1, 0] * A[1, 0] + A[1, 1] * A[1, 1] + A[1, 2] * A[1, 2]
    # s1 + s2 <= sqrt(2) ||A||_F: a cheap exit for the (many) inactive blocks
    if 2.0 * (a + d) <= lam * lam:
        for r in range(2):
            for k in range(3):
                out[r, k] = 0.0
        return 0.0
    b = A[0, 0] * A[1, 0] + A[0, 1] * A[1, 1] + A[0, 2] * A[1, 2]
    half_tr = 0.5 * (a + d)
    rad = np.sqrt(0.25 * (a - d) * (a - d) + b * b)
    l1 = half_tr + rad
    l2 = max(half_tr - rad, 0.0)
    s1 = np.sqrt(l1)
    s2 = np.sqrt(l2)
    if s1 + s2 <= lam:
        for r in range(2):
            for k in range(3):
                out[r, k] = 0.0
        return 0.0
    if s1 - s2 >= lam:
        tau = s1 - lam          # only the top singular value is clipped
        f1 = tau / s1
        f2 = 1.0
    else:
        tau = 0.5 * (s1 + s2 - lam)   # both clipped to the common level
        f1 = tau / s1
        f2 = tau / s2 if s2 > 0.0 else 0.0
    if l1 - l2 > 1e-300:
        g = (f1 - f2) / (l1 - l2)
        p00 = f2 + g * (a - l2)
        p11 = f2 + g * (d - l2)
        p01 = g * b
    else:
        p00 = f1
        p11 = f1
        p01 = 0.0
    for k in range(3):
        x0 = A[0, k]
        x1 = A[1, k]
        out[0, k] = p00 * x0 + p01 * x1
        out[1, k] = p01 * x0 + p11 * x1
    return tau


@njit(**KERNEL)
def polar_2x3(A, out):
    """Nearest 2x3 matrix with orthonormal rows (Frobenius), ``(A A^T)^{-1/2} A``.

    This is the Procrustes/Stiefel projection used for the rotation update.
    When ``A`` has rank < 2 the missing direction is completed orthogonally.
    """
    a = A[0, 0] * A[0, 0] + A[0, 1] * A[0, 1] + A[0, 2] * A[0, 2]
    d = A[1, 0] * A[1, 0] + A[1, 1] * A[1, 1] + A[1, 2] * A[1, 2]
    b = A[0, 0] * A[1, 0] + A[0, 1] * A[1, 1] + A[0, 2] * A[1, 2]
    l1, _, cs, sn = _sym2_eig(a, b, d)
    s1 = np.sqrt(max(l1, 0.0))
    scale = max(s1, 1e-300)
    if s1 <= 1e-300:
        # zero matrix: any Stiefel point minimises the distance; take the identity rows
        for r in range(2):
            for k in range(3):
                out[r, k] = 1.0 if r == k else 0.0
        return
    # right singular vectors v1 = A^T u1 / s1, v2 = A^T u2 / s2
    u1x, u1y = cs, sn
    u2x, u2y = -sn, cs
    v1 = np.empty(3)
    v2 = np.empty(3)
    for k in range(3):
        v1[k] = (u1x * A[0, k] + u1y * A[1, k]) / scale
    # second right singular vector: A^T u2, re-orthogonalised against v1 (it is
    # pure round-off when A has rank one), else any unit vector orthogonal to v1
    dot = 0.0
    for k in range(3):
        v2[k] = u2x * A[0, k] + u2y * A[1, k]
        dot += v2[k] * v1[k]
    nrm = 0.0
    for k in range(3):
        v2[k] -= dot * v1[k]
        nrm += v2[k] * v2[k]
    nrm = np.sqrt(nrm)
    if nrm > 1e-8 * s1:
        for k in range(3):
            v2[k] /= nrm
    else:
        ax = 0
        if abs(v1[1]) < abs(v1[ax]):
            ax = 1
        if abs(v1[2]) < abs(v1[ax]):
            ax = 2
        for k in range(3):
            v2[k] = (1.0 if k == ax else 0.0) - v1[ax] * v1[k]
        nrm = np.sqrt(v2[0] * v2[0] + v2[1] * v2[1] + v2[2] * v2[2])
        for k in range(3):
            v2[k] /= nrm
    for k in range(3):
        out[0, k] = u1x * v1[k] + u2x * v2[k]
        out[1, k] = u1y * v1[k] + u2y * v2[k]


def prox_spectral_numpy(A, lam):
    """NumPy twin of :func:`prox_spectral_2x3` via a full SVD (for tests)."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    if lam <= 0.0:
        return A.copy()
    # project s onto the L1 ball of radius lam, subtract (Moreau)
    if s.sum() <= lam:
        return np.zeros_like(A)
    u = np.sort(s)[::-1]
    css = np.cumsum(u)
    rho = np.nonzero(u * np.arange(1, len(u) + 1) > (css - lam))[0][-1]
    theta = (css[rho] - lam) / (rho + 1.0)
    return (U * np.minimum(s, theta)) @ Vt


def polar_numpy(A):
    """NumPy twin of :func:`polar_2x3` (full-rank case)."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


@njit(**KERNEL, fastmath=FASTMATH)
def cholesky_factor(A, n, L):
    """Lower Cholesky factor of ``A[:n, :n]`` into ``L``; False if not positive definite.

    Written out rather than calling LAPACK so that a frame gives bit-identical
    results whichever thread solves it.  Column by column, each column scaled by the reciprocal of its pivot (one
    division per column, not per entry).
    """
    for j in range(n):
        acc = A[j, j]
        for k in range(j):
            acc -= L[j, k] * L[j, k]
        if not acc > 0.0:
            return False
        d = np.sqrt(acc)
        L[j, j] = d
        inv = 1.0 / d
        for i in range(j + 1, n):
            acc = A[i, j]
            for k in range(j):
                acc -= L[i, k] * L[j, k]
            L[i, j] = acc * inv
    return True


@njit(**KERNEL, fastmath=FASTMATH)
def cholesky_substitute(L, b, n, out):
    """Solve ``L L^T x = b`` with the factor from :func:`cholesky_factor`."""
    for i in range(n):
        acc = b[i]
        for k in range(i):
            acc -= L[i, k] * out[k]
        out[i] = acc / L[i, i]
    for i in range(n - 1, -1, -1):
        acc = out[i]
        for k in range(i + 1, n):
            acc -= L[k, i] * out[k]
        out[i] = acc / L[i, i]
