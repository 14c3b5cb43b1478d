"""Small geometry kernels every solver stage shares, written once.

Shapes, centring, rotations and the camera models' points: the pieces the
relaxation, the per-frame refinement, the hinted and the temporal solves all
use.  Plain functions over contiguous float64 arrays (no allocation where the
caller passes the output).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import FASTMATH, KERNEL

__all__ = ["shape_of", "centre_rows", "centre_plain", "rot3", "rodrigues", "copy_into", "camera_pose",
           "projected_bases", "perspective_units", "perspective_points", "perspective_residual", "depth_mirror",
           "kabsch"]


@njit(**KERNEL, fastmath=FASTMATH)
def shape_of(B, c, S):
    """``S = sum_i c_i B_i`` (3, P) for bases ``B`` (K, 3, P); zero coefficients are skipped."""
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
def centre_rows(X, w, sw, out):
    """``out = X C_w``: every row of ``X`` minus its mean weighted by ``w`` (``sw = sum w``); ``out`` may be ``X``."""
    rows, P = X.shape
    for r in range(rows):
        acc = 0.0
        for j in range(P):
            acc += w[j] * X[r, j]
        m = acc / sw
        for j in range(P):
            out[r, j] = X[r, j] - m


@njit(**KERNEL, fastmath=FASTMATH)
def centre_plain(X, Xt):
    """``Xt = X - mean_j X``: points about their plain (unweighted) centroid, row by row."""
    P = X.shape[1]
    for a in range(X.shape[0]):
        m = 0.0
        for j in range(P):
            m += X[a, j]
        m /= P
        for j in range(P):
            Xt[a, j] = X[a, j] - m


@njit(**KERNEL)
def rot3(Rbar):
    """The rotation (3, 3) whose first two rows are ``Rbar`` (2, 3); the third is their cross product."""
    R = np.empty((3, 3))
    for a in range(3):
        R[0, a] = Rbar[0, a]
        R[1, a] = Rbar[1, a]
    R[2, 0] = Rbar[0, 1] * Rbar[1, 2] - Rbar[0, 2] * Rbar[1, 1]
    R[2, 1] = Rbar[0, 2] * Rbar[1, 0] - Rbar[0, 0] * Rbar[1, 2]
    R[2, 2] = Rbar[0, 0] * Rbar[1, 1] - Rbar[0, 1] * Rbar[1, 0]
    return R


@njit(**KERNEL)
def rodrigues(wx, wy, wz, out):
    """``out = exp([w]x)`` (3, 3): the rotation by the vector ``w``."""
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


@njit(**KERNEL)
def copy_into(R_from, c_from, R_to, c_to):
    """R_to, c_to = R_from, c_from (element loops: slice assignment compiles a shape-checking error path)."""
    for r in range(R_from.shape[0]):
        for a in range(R_from.shape[1]):
            R_to[r, a] = R_from[r, a]
    for i in range(min(c_from.shape[0], c_to.shape[0])):
        c_to[i] = c_from[i]


@njit(**KERNEL)
def camera_pose(B, w, Rbar, c):
    """The pose ``sum_i c_i B_i`` (centred on the weighted joints) turned into the camera frame, (3, P)."""
    P = B.shape[2]
    S = np.empty((3, P))
    shape_of(B, c, S)
    centre_rows(S, w, w.sum(), S)
    R = rot3(Rbar)
    X = np.empty((3, P))
    for a in range(3):
        for j in range(P):
            X[a, j] = R[a, 0] * S[0, j] + R[a, 1] * S[1, j] + R[a, 2] * S[2, j]
    return X


@njit(**KERNEL)
def depth_mirror(R, lateral):
    """``F R F_b`` (3, 3): ``R`` with the camera depth flipped (``F``) and the body reflected across its
    sagittal plane (``F_b``, normal ``lateral``): the same image of the mirrored shape, the inherent
    ambiguity of weak perspective."""
    Rs = np.empty((2, 3))
    for a in range(2):
        for b in range(3):
            acc = 0.0
            for m in range(3):
                acc += R[a, m] * ((1.0 if m == b else 0.0) - 2.0 * lateral[m] * lateral[b])
            Rs[a, b] = acc
    return rot3(Rs)


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
    shape_of(B, c, S)
    centre_rows(S, w, sw, S)
    R = rot3(Rbar)
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
def _jacobi_top_vector(N, q):
    """The eigenvector (4,) of the largest eigenvalue of the symmetric 4x4 ``N`` (overwritten), by cyclic
    Jacobi rotations (no LAPACK: the same bits on every thread)."""
    V = np.eye(4)
    for sweep in range(30):
        off = 0.0
        for a in range(4):
            for b in range(a + 1, 4):
                off += N[a, b] * N[a, b]
        if off <= 1e-30:
            break
        for p in range(4):
            for r in range(p + 1, 4):
                if abs(N[p, r]) <= 1e-300:
                    continue
                theta = (N[r, r] - N[p, p]) / (2.0 * N[p, r])
                t = (1.0 if theta >= 0.0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                cs = 1.0 / np.sqrt(t * t + 1.0)
                sn = t * cs
                for k in range(4):          # N <- J^T N J, columns then rows
                    nkp = N[k, p]
                    nkr = N[k, r]
                    N[k, p] = cs * nkp - sn * nkr
                    N[k, r] = sn * nkp + cs * nkr
                for k in range(4):
                    npk = N[p, k]
                    nrk = N[r, k]
                    N[p, k] = cs * npk - sn * nrk
                    N[r, k] = sn * npk + cs * nrk
                for k in range(4):
                    vkp = V[k, p]
                    vkr = V[k, r]
                    V[k, p] = cs * vkp - sn * vkr
                    V[k, r] = sn * vkp + cs * vkr
    best = 0
    for a in range(1, 4):
        if N[a, a] > N[best, best]:
            best = a
    for k in range(4):
        q[k] = V[k, best]


@njit(**KERNEL)
def kabsch(S, Y, w, R):
    """``R`` (3, 3): the rotation that best turns the points ``S`` onto ``Y`` (3, P each, both centred on
    the weights ``w``), minimising ``sum_j w_j |R S_j - Y_j|^2`` (Horn's unit quaternion, 1987)."""
    M = np.zeros((3, 3))
    for j in range(S.shape[1]):
        for a in range(3):
            for b in range(3):
                M[a, b] += w[j] * S[a, j] * Y[b, j]
    N = np.empty((4, 4))
    N[0, 0] = M[0, 0] + M[1, 1] + M[2, 2]
    N[1, 1] = M[0, 0] - M[1, 1] - M[2, 2]
    N[2, 2] = -M[0, 0] + M[1, 1] - M[2, 2]
    N[3, 3] = -M[0, 0] - M[1, 1] + M[2, 2]
    N[0, 1] = N[1, 0] = M[1, 2] - M[2, 1]
    N[0, 2] = N[2, 0] = M[2, 0] - M[0, 2]
    N[0, 3] = N[3, 0] = M[0, 1] - M[1, 0]
    N[1, 2] = N[2, 1] = M[0, 1] + M[1, 0]
    N[1, 3] = N[3, 1] = M[2, 0] + M[0, 2]
    N[2, 3] = N[3, 2] = M[1, 2] + M[2, 1]
    q = np.empty(4)
    _jacobi_top_vector(N, q)
    q0, q1, q2, q3 = q[0], q[1], q[2], q[3]
    R[0, 0] = q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3
    R[0, 1] = 2.0 * (q1 * q2 - q0 * q3)
    R[0, 2] = 2.0 * (q1 * q3 + q0 * q2)
    R[1, 0] = 2.0 * (q1 * q2 + q0 * q3)
    R[1, 1] = q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3
    R[1, 2] = 2.0 * (q2 * q3 - q0 * q1)
    R[2, 0] = 2.0 * (q1 * q3 - q0 * q2)
    R[2, 1] = 2.0 * (q2 * q3 + q0 * q1)
    R[2, 2] = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
