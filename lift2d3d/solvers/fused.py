"""The fused refinement: a lifting network's 3D as the start and as a prior of the geometric fit.

The network (:mod:`lift2d3d.learned`), trained on MoCap alone, answers each
frame's camera-frame joints ``Xhat``; the geometric fit answers a sparse
combination of the bases that reprojects to the keypoints.  They err
differently: the fit chooses each limb's direction in depth by its prior
(which the 2D cannot tell), the network by what it learned of how people
hold their limbs, but its 2D is only approximately the keypoints.  Fused:

* **start** (``Options.fused_start``): ``network``, the bases fitted to the
  network's 3D (rotation by Horn's quaternion, coefficients by a 3D Lasso,
  alternated: :func:`network_start`), with no convex relaxation at all but
  for the frames whose fit then leaves its keypoints (the driver rescues
  those from the relaxation, :func:`lift2d3d.solvers.batch.solve_frames`);
  or ``relaxation``: of the pose read off the relaxation and its limb-depth
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

from .geometry import camera_pose, centre_rows, depth_mirror, kabsch, rot3, shape_of
from .prox import KERNEL
from .lasso import lasso_sweeps
from .reflect import reflect_chains, reflected_start
from .refine import refine_weak, refinement

__all__ = ["closest_reflection", "fused_start", "network_start", "fused_refine", "NETWORK_START", "GEOMETRIC_START",
           "REFLECTED_START",
           "NETWORK_START_ROUNDS", "NETWORK_START_SWEEPS"]

#: ``opts.prior_start`` of the start from the network's 3D (``records.START_OF["network"]``).
NETWORK_START = 2
#: ``opts.prior_start`` of the starts from the geometric fit's answer, alone and with its reflection
#: candidate (``records.START_OF``).
GEOMETRIC_START = 3
REFLECTED_START = 4
#: Rounds of the network start's alternation (shape for the rotation, rotation for the shape), and the
#: Lasso sweeps of each: on the bench frames with the provisional network, 3 rounds of 10 sweeps took
#: 150 us per frame and left the refinement 15 iterations (objective 0.107), 2 of 5 70 us and 21
#: iterations (0.115), a Lasso to convergence 600 us and 12 iterations (0.101).
NETWORK_START_ROUNDS = 3
NETWORK_START_SWEEPS = 10


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
    """Move the start ``(Rbar, c)`` to its limb-depth reflection closest to the network's ``prior`` (3, P),
    fitted by the bases in 3D (:func:`reflected_start`); unchanged when the start itself is the closest.
    Returns whether it moved."""
    B = model.B
    P = B.shape[2]
    if model.chains.shape[0] == 0:
        return False
    X = camera_pose(B, w, Rbar, c)
    mask, mirror = closest_reflection(X, model.chains, prior, w)
    if mask == 0 and not mirror:
        return False
    Y = np.empty((3, P))
    reflect_chains(X, model.chains, mask, mirror, Y)
    R = rot3(Rbar)
    Rs = depth_mirror(R, model.lateral) if mirror else R
    reflected_start(Y, w, B, Rs, opts.alpha, c)
    for a in range(3):
        Rbar[0, a] = Rs[0, a]
        Rbar[1, a] = Rs[1, a]
    return True


@njit(**KERNEL)
def network_start(w, model, opts, prior, Rbar, c):
    """``(Rbar, c)``: the bases fitted to the network's camera-frame joints ``prior`` (3, P): the rotation
    that turns the mean pose onto them (:func:`lift2d3d.solvers.geometry.kabsch`), then
    :data:`NETWORK_START_ROUNDS` times the coefficients for that rotation (:data:`NETWORK_START_SWEEPS`
    sweeps of the 3D Lasso, :func:`lift2d3d.solvers.lasso.lasso_sweeps`) and the rotation for that shape."""
    B = model.B
    K, P = B.shape[0], B.shape[2]
    sw = w.sum()
    R = np.empty((3, 3))
    S = np.empty((3, P))
    for a in range(3):
        for j in range(P):
            S[a, j] = model.mean[a, j]
    centre_rows(S, w, sw, S)
    kabsch(S, prior, w, R)
    # the bases centred on the weighted joints, as the 3D fit sees them
    A = np.empty((K, 3, P))
    for i in range(K):
        c[i] = 0.0
        centre_rows(B[i], w, sw, A[i])
    target = np.empty((3, P))
    for rnd in range(NETWORK_START_ROUNDS):
        for a in range(3):
            for j in range(P):
                target[a, j] = R[0, a] * prior[0, j] + R[1, a] * prior[1, j] + R[2, a] * prior[2, j]
        centre_rows(target, w, sw, target)
        lasso_sweeps(A, target, w, opts.alpha, c, NETWORK_START_SWEEPS)
        shape_of(B, c, S)
        centre_rows(S, w, sw, S)
        kabsch(S, prior, w, R)
    for a in range(3):
        Rbar[0, a] = R[0, a]
        Rbar[1, a] = R[1, a]


@njit(**KERNEL)
def fused_refine(W, w, model, opts, terms, E, Rbar, c):
    """Refine (2) with the prior term ``terms`` from the fused start: the network's 3D
    (:func:`network_start`) or the relaxation's pose reflected towards it (:func:`fused_start`).

    ``Rbar``, ``c`` hold the read-off start (relaxation start) and receive the answer; ``E`` the
    outliers.  Returns (iterations, converged, objective).
    """
    if opts.prior_start == NETWORK_START:
        network_start(w, model, opts, terms.prior, Rbar, c)
        return refine_weak(W, w, model.B, refinement(opts, opts.robust), terms, E, Rbar, c)
    if opts.prior_start >= GEOMETRIC_START:      # (the driver refines those, from the geometric answer)
        return 0, True, 0.0
    K = c.shape[0]
    # the read-off coefficients without the small ones (as the plain refinement's first start)
    c_max = 0.0
    for i in range(K):
        c_max = max(c_max, abs(c[i]))
    for i in range(K):
        if abs(c[i]) < PRUNE * c_max:
            c[i] = 0.0
    ref = refinement(opts, opts.robust)
    R1, c1, E1 = Rbar.copy(), c.copy(), E.copy()
    its, conv, f = refine_weak(W, w, model.B, ref, terms, E, Rbar, c)
    # the start's limb-depth reflection closest to the network's depths, refined the same way: the lower
    # objective (the prior term included) wins
    if not fused_start(w, model, opts, terms.prior, R1, c1):
        return its, conv, f
    its1, conv1, f1 = refine_weak(W, w, model.B, ref, terms, E1, R1, c1)
    if f1 < f:
        for a in range(3):
            Rbar[0, a] = R1[0, a]
            Rbar[1, a] = R1[1, a]
        for i in range(K):
            c[i] = c1[i]
        for r in range(2):
            for j in range(E.shape[1]):
                E[r, j] = E1[r, j]
        return its + its1, conv1, f1
    return its + its1, conv, f


#: Read-off coefficients below this fraction of the largest are not used as a warm start
#: (:data:`lift2d3d.solvers.refine.PRUNE`).
PRUNE = 0.05
