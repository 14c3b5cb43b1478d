"""The fused refinement: a lifting network's 3D as the start and as a prior of the geometric fit.

The network (:mod:`lift2d3d.learned`), trained on MoCap alone, answers each
frame's camera-frame joints ``Xhat``; the geometric fit answers a sparse
combination of the bases that reprojects to the keypoints.  They err
differently: the fit chooses each limb's direction in depth by its prior
(which the 2D cannot tell), the network by what it learned of how people
hold their limbs, but its 2D is only approximately the keypoints.  Fused:

* **start**: of the pose read off the relaxation and its limb-depth
  reflections (:mod:`lift2d3d.solvers.reflect`: each forearm, upper arm,
  thigh and shank flipped in depth, and the global depth mirror; all with
  the same image), the one whose depths are closest to the network's
  (weighted by the joints' confidences), fitted by the bases in 3D;
* **prior**: the refinement adds ``prior_weight / 2 sum_j v_j (z_j - zbar -
  zhat_j)^2`` (:mod:`lift2d3d.solvers.terms`), so the answer is still a
  sparse-basis pose that reprojects to the keypoints, pulled towards the
  network's depths.

A start that fits the keypoints badly is rescued as the plain refinement's is
(:data:`lift2d3d.solvers.batch.RESCUE_RESIDUAL`); the lower objective, prior
included, wins.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import camera_pose, depth_mirror, rot3
from .prox import KERNEL
from .reflect import reflect_chains, reflected_start
from .refine import refine_weak, refinement

__all__ = ["closest_reflection", "fused_start", "fused_refine"]


@njit(**KERNEL)
def closest_reflection(X, chains, prior, w):
    """(mask, mirror) of the limb-depth reflection of ``X`` (3, P) whose depths, about their weighted mean,
    are closest to those of ``prior`` (3, P) in the weights ``w`` (see :func:`reflect_chains`)."""
    P = X.shape[1]
    n_masks = 1 << (2 * chains.shape[0])
    sw = 0.0
    pm = 0.0
    for j in range(P):
        sw += w[j]
        pm += w[j] * prior[2, j]
    pm /= sw
    Y = np.empty_like(X)
    best = np.inf
    best_mask = 0
    best_mirror = False
    for mirror_int in range(2):
        for mask in range(n_masks):
            reflect_chains(X, chains, mask, mirror_int == 1, Y)
            ym = 0.0
            for j in range(P):
                ym += w[j] * Y[2, j]
            ym /= sw
            d = 0.0
            for j in range(P):
                e = (Y[2, j] - ym) - (prior[2, j] - pm)
                d += w[j] * e * e
            if d < best:
                best = d
                best_mask = mask
                best_mirror = mirror_int == 1
    return best_mask, best_mirror


@njit(**KERNEL)
def fused_start(w, model, opts, prior, Rbar, c):
    """Move the start ``(Rbar, c)`` (read off the relaxation) to its limb-depth reflection closest to the
    network's ``prior`` (3, P), fitted by the bases in 3D (:func:`reflected_start`); unchanged when the
    start itself is the closest."""
    B = model.B
    P = B.shape[2]
    if model.chains.shape[0] == 0:
        return
    X = camera_pose(B, w, Rbar, c)
    mask, mirror = closest_reflection(X, model.chains, prior, w)
    if mask == 0 and not mirror:
        return
    Y = np.empty((3, P))
    reflect_chains(X, model.chains, mask, mirror, Y)
    R = rot3(Rbar)
    Rs = depth_mirror(R, model.lateral) if mirror else R
    reflected_start(Y, w, B, Rs, opts.alpha, c)
    for a in range(3):
        Rbar[0, a] = Rs[0, a]
        Rbar[1, a] = Rs[1, a]


@njit(**KERNEL)
def fused_refine(W, w, model, opts, terms, E, Rbar, c):
    """Refine (2) with the prior term ``terms`` from the network-chosen start (:func:`fused_start`).

    ``Rbar``, ``c`` hold the read-off start and receive the answer; ``E`` the outliers.  Returns
    (iterations, converged, objective).
    """
    K = c.shape[0]
    # the read-off coefficients without the small ones (as the plain refinement's first start)
    c_max = 0.0
    for i in range(K):
        c_max = max(c_max, abs(c[i]))
    for i in range(K):
        if abs(c[i]) < PRUNE * c_max:
            c[i] = 0.0
    fused_start(w, model, opts, terms.prior, Rbar, c)
    return refine_weak(W, w, model.B, refinement(opts, opts.robust), terms, E, Rbar, c)


#: Read-off coefficients below this fraction of the largest are not used as a warm start
#: (:data:`lift2d3d.solvers.refine.PRUNE`).
PRUNE = 0.05
