"""The hinted refinement: depth-order relations that a frame's lift violates (Pavlakos, Zhou & Daniilidis 2018).

A frame whose refined lift already obeys its relations is left exactly as
it is.  One that violates them is refined again with the squared-hinge terms
of :mod:`lift2d3d.solvers.terms`, from the lift itself and from the
limb-depth reflection that satisfies the most relations
(:mod:`lift2d3d.solvers.reflect`), so that a hint flips a segment rather
than bending it; the lower objective (hinges included) wins.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import camera_pose, copy_into, depth_mirror, rot3
from .prox import KERNEL
from .reflect import hint_candidates, reflect_chains, reflected_start
from .refine import refine_weak, refinement, weak_objective

__all__ = ["hinted_refine", "HINT_CANDIDATES"]

#: Depth-order hints: at most this many reflections (those satisfying the most relations, fewest
#: flips first) are fitted to choose the refinement's start.  On 336 CMU corpus frames with 3
#: relations each, 1 and 4 candidates gave the same accuracy (PA-MPJPE 0.97x, camera-frame 0.96x
#: of no hints), and 4 took the hinted lift from 0.83x to 0.5x the speed of a plain one.
HINT_CANDIDATES = 1


@njit(**KERNEL)
def hinted_refine(W, w, model, opts, terms, E, Rbar, c):
    """Depth-order hints the lift violates: refine with the hinge terms from the lift itself and from the
    limb-depth reflections that satisfy the most relations, and keep the lowest objective (hinges
    included) in ``Rbar``, ``c``, ``E``.  Returns (iterations, converged, objective); no iterations when
    the lift already satisfies every relation (it is then left as it is)."""
    B = model.B
    if _violated(w, model, Rbar, c, terms) == 0:
        return 0, True, 0.0
    ref = refinement(opts, opts.robust)
    # (a) the lift itself, refined with the hinges
    Ra, ca, Ea = Rbar.copy(), c.copy(), E.copy()
    its, conv, f = refine_weak(W, w, B, ref, terms, Ea, Ra, ca)
    # (b) a reflection that satisfies more of them
    if model.chains.shape[0] > 0:
        its_b, conv_b, f_b = _reflected_refine(W, w, model, opts, terms, E, Rbar, c)
        its += its_b
        if f_b < f:
            return its, conv_b, f_b
    copy_into(Ra, ca, Rbar, c)
    copy_into(Ea, np.empty(0), E, np.empty(0))
    return its, conv, f


@njit(**KERNEL)
def _violated(w, model, Rbar, c, terms):
    """How many depth relations the pose (Rbar, c) violates."""
    X = camera_pose(model.B, w, Rbar, c)
    # by the relation itself, without the hinge's margin: a lift that obeys the hints stays as it is
    count = 0
    for h in range(terms.hints.shape[0]):
        dz = X[2, terms.hints[h, 0]] - X[2, terms.hints[h, 1]]
        count += (dz >= 0.0) if terms.hints[h, 2] == 0 else (abs(dz) > terms.depth_tol)
    return count


@njit(**KERNEL)
def _reflected_refine(W, w, model, opts, terms, E, Rbar, c):
    """Refine from the reflection of the pose (Rbar, c) that satisfies the most depth relations (of those,
    the one the prior fits best); writes it to ``Rbar``, ``c``, ``E`` only if it returns a finite
    objective.  Returns (iterations, converged, objective; inf when no reflection satisfies more)."""
    B = model.B
    K, P = B.shape[0], B.shape[2]
    R = rot3(Rbar)
    X = camera_pose(B, w, Rbar, c)
    masks, mirrors, n_cand = hint_candidates(X, model.chains, terms.hints, terms.depth_margin, terms.depth_tol,
                                             HINT_CANDIDATES)
    if n_cand == 0:
        return 0, True, np.inf
    # of the reflections that satisfy the most relations, start from the one the prior likes best
    Y = np.empty((3, P))
    ref = refinement(opts, opts.robust)
    Rb = np.empty((2, 3))
    cs = np.empty(K)
    best_f = np.inf
    for k in range(n_cand):
        reflect_chains(X, model.chains, masks[k], mirrors[k], Y)
        Rs = depth_mirror(R, model.lateral) if mirrors[k] else R.copy()
        ck = c.copy()
        reflected_start(Y, w, B, Rs, opts.alpha, ck)     # a sparse 3D fit: the refinement follows
        Rk = np.ascontiguousarray(Rs[:2])
        fk = weak_objective(W, w, B, Rk, ck, E, ref.alpha, ref.beta, terms)
        if fk < best_f:
            best_f = fk
            copy_into(Rk, ck, Rb, cs)
    Es = E.copy()
    its, conv, f = refine_weak(W, w, B, ref, terms, Es, Rb, cs)
    copy_into(Rb, cs, Rbar, c)
    copy_into(Es, np.empty(0), E, np.empty(0))
    return its, conv, f
