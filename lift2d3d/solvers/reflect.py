"""Limb-depth reflections: the alternatives a single view cannot tell apart, and a start from one.

Under weak perspective a limb segment (upper arm, forearm, thigh, shank) can
point towards or away from the camera with the same image and the same bone
length: reflecting the child joint's depth about its parent's, and moving the
rest of the chain with it, keeps every keypoint where it is.  With 8 segments
there are 256 such poses (times the global depth mirror) that fit the 2D
equally well; the shape prior alone often picks the wrong one.

A hint ("this joint is nearer than that one", :mod:`lift2d3d.depth_order`)
decides between them.  :func:`best_reflection` finds the reflection that
satisfies the most relations (with the fewest flips); :func:`reflected_start`
draws it and fits the bases to it in 3D (a Lasso at the current rotation),
which gives the refinement a start on the right side of the barrier instead
of bending the segment there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import FASTMATH, KERNEL
from .geometry import centre_rows
from .lasso import lasso_cd

__all__ = ["reflect_chains", "best_reflection", "hint_candidates", "reflected_start"]


@njit(**KERNEL)
def reflect_chains(X, chains, mask, mirror, Y):
    """``Y`` (3, P): the camera-frame points ``X`` with the segments in ``mask`` reflected in depth.

    ``chains`` (C, 3) holds (root, middle, end) joints of each limb (shoulder,
    elbow, wrist; hip, knee, ankle); bit ``2c`` of ``mask`` flips chain c's
    first segment (the middle and end joints move), bit ``2c + 1`` its second
    (the end joint).  ``mirror`` first reflects every depth about the mean
    (the global ambiguity).
    """
    P = X.shape[1]
    mean = 0.0
    for j in range(P):
        mean += X[2, j]
    mean /= P
    for a in range(3):
        for j in range(P):
            Y[a, j] = X[a, j]
    if mirror:
        for j in range(P):
            Y[2, j] = 2.0 * mean - X[2, j]
    for ch in range(chains.shape[0]):
        root, middle, end = chains[ch, 0], chains[ch, 1], chains[ch, 2]
        if (mask >> (2 * ch)) & 1:
            shift = 2.0 * (Y[2, root] - Y[2, middle])
            Y[2, middle] += shift
            Y[2, end] += shift
        if (mask >> (2 * ch + 1)) & 1:
            Y[2, end] = 2.0 * Y[2, middle] - Y[2, end]


@njit(**KERNEL)
def _satisfied(Y, hints, margin, tol):
    count = 0
    for h in range(hints.shape[0]):
        dz = Y[2, hints[h, 0]] - Y[2, hints[h, 1]]
        if hints[h, 2] == 0:
            count += dz < -margin
        else:
            count += abs(dz) <= tol
    return count


@njit(**KERNEL)
def best_reflection(X, chains, hints, margin, tol):
    """(mask, mirror, satisfied) of the reflection of ``X`` that satisfies the most ``hints``.

    Ties go to the fewest flipped segments, then to no mirror, so the pose as
    lifted wins whenever it already does as well as any reflection.
    """
    n_masks = 1 << (2 * chains.shape[0])
    Y = np.empty_like(X)
    best_mask, best_mirror, best_count, best_flips = 0, False, -1, 1 << 30
    for mirror_int in range(2):
        mirror = mirror_int == 1
        for mask in range(n_masks):
            reflect_chains(X, chains, mask, mirror, Y)
            count = _satisfied(Y, hints, margin, tol)
            flips = mirror_int * 2 * chains.shape[0]
            m = mask
            while m:
                flips += m & 1
                m >>= 1
            if count > best_count or (count == best_count and flips < best_flips):
                best_mask, best_mirror, best_count, best_flips = mask, mirror, count, flips
    return best_mask, best_mirror, best_count


@njit(**KERNEL)
def hint_candidates(X, chains, hints, margin, tol, max_candidates):
    """Reflections of ``X`` that satisfy more hints than ``X`` does, as many as any reflection can.

    Returns (masks, mirrors, n) with the ``n <= max_candidates`` candidates of
    fewest flips first (n = 0 when no reflection satisfies more than ``X``).
    """
    n_masks = 1 << (2 * chains.shape[0])
    Y = np.empty_like(X)
    current = _satisfied(X, hints, margin, tol)
    counts = np.empty(2 * n_masks, dtype=np.int64)
    flips = np.empty(2 * n_masks, dtype=np.int64)
    best = current
    for mirror_int in range(2):
        for mask in range(n_masks):
            reflect_chains(X, chains, mask, mirror_int == 1, Y)
            k = mirror_int * n_masks + mask
            counts[k] = _satisfied(Y, hints, margin, tol)
            f = mirror_int * 2 * chains.shape[0]
            m = mask
            while m:
                f += m & 1
                m >>= 1
            flips[k] = f
            best = max(best, counts[k])
    masks = np.zeros(max_candidates, dtype=np.int64)
    mirrors = np.zeros(max_candidates, dtype=np.bool_)
    if best == current:
        return masks, mirrors, 0
    n = 0
    for f in range(2 * chains.shape[0] + 2 * chains.shape[0] + 1):
        for k in range(2 * n_masks):
            if n < max_candidates and counts[k] == best and flips[k] == f:
                masks[n] = k % n_masks
                mirrors[n] = k >= n_masks
                n += 1
    return masks, mirrors, n


@njit(**KERNEL, fastmath=FASTMATH)
def reflected_start(Y, w, B, R, alpha, c):
    """Coefficients ``c`` of the bases for the camera-frame pose ``Y`` at rotation ``R`` (3x3).

    A weighted Lasso in 3D, ``min_c 1/2 ||R^T Y C_w - sum_i c_i B_i C_w||_w^2
    + alpha ||c||_1``, warm-started from ``c``; ``R`` stays (a limb
    reflection leaves the torso, which fixes the rotation, in place).
    """
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    target = np.empty((3, P))
    for a in range(3):
        for j in range(P):
            target[a, j] = R[0, a] * Y[0, j] + R[1, a] * Y[1, j] + R[2, a] * Y[2, j]
    centre_rows(target, w, sw, target)
    A = np.empty((K, 3, P))
    for i in range(K):
        for a in range(3):
            acc = 0.0
            for j in range(P):
                A[i, a, j] = B[i, a, j]
                acc += w[j] * B[i, a, j]
            m = acc / sw
            for j in range(P):
                A[i, a, j] -= m
    lasso_cd(A, target, w, alpha, c, 30, 1e-4, 3)
