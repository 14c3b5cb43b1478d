"""The bases as the solvers see them: the model record, the bone-length terms, the labellings of a swap.

Everything here is worked out from a :class:`~lift2d3d.bases.ShapeBases`
(and its skeleton) once per lifter: the normalised bases and the body's
lateral axis (:class:`~lift2d3d.solvers.records.SolverModel`), the metric
reference of the results (:class:`Assembly`), the rows of
the symmetry term, and the joint permutations of a detector's left/right
swaps.
"""

from __future__ import annotations

import numpy as np

from typing import NamedTuple, Optional

from .options import Camera

__all__ = ["Assembly", "solver_setup", "bone_terms", "swap_permutations", "chain_height"]


class Assembly(NamedTuple):
    """What turns a solution (normalised units) into a :class:`LiftResult`: the bases' scale and the lift's
    settings.

    Attributes
    ----------
    skeleton : Skeleton
        The bases' joints.
    edges : (E, 2) int64
        Bones as joint indices.
    ref_bones : (E,) float
        The bases' mean bone lengths, metres: the metric scale's reference.
    kappa : float
        The bases' normalisation (metres per normalised unit of the mean pose).
    stature_ref : float
        The bases' stature, metres (``height`` rescales by ``height / stature_ref``).
    camera : Camera or None
    height : float or None
    refined : bool
        A refinement ran (the plausibility of the fit is judged only then).
    bases : ShapeBases
        The bases themselves (the plausibility of a fit's code, :func:`lift2d3d.plausibility.code_check`).
    """

    skeleton: object
    edges: np.ndarray
    ref_bones: np.ndarray
    kappa: float
    stature_ref: float
    camera: Optional[Camera]
    height: Optional[float]
    refined: bool
    bases: object = None


def solver_setup(bases):
    """``(model, assembly)`` for ``bases``: the solver's model record (normalised bases, no bone rows yet)
    and what turns its solutions into metres (:func:`lift2d3d.result.assemble`)."""
    from .solvers.records import solver_model

    mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
    # internal units: the mean pose has unit RMS radius, as the normalised 2D input does
    kappa = float(np.sqrt((mean ** 2).sum(axis=0).mean()))
    sk = bases.skeleton
    edges = np.ascontiguousarray(sk.edge_indices(), dtype=np.int64)
    # the body's lateral axis (left minus right joints of the mean pose), for depth-mirrored starts
    left = [i for i, j in enumerate(sk.joints) if sk.side(j) == "left"]
    right = [i for i, j in enumerate(sk.joints) if sk.side(j) == "right"]
    lateral = bases.mean_pose[:, left].mean(axis=1) - bases.mean_pose[:, right].mean(axis=1)
    chains = [[sk.index(f"{side}_{j}") for j in joints] for side in ("left", "right")
              for joints in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))
              if all(f"{side}_{j}" in sk._index for j in joints)]
    model = solver_model(bases.bases / kappa, lateral / np.linalg.norm(lateral), edges, np.zeros((0, len(edges))),
                         np.array(chains, dtype=np.int64).reshape(-1, 3), mean / kappa)
    stature = bases.metadata.get("stature_m")
    stature_ref = float(stature) if stature else chain_height(sk, bases.mean_pose) + 0.18
    return model, Assembly(sk, edges, bases.bone_lengths(), kappa, stature_ref, None, None, True, bases)


def bone_terms(skeleton, symmetry):
    """Rows of the refinement's bone-length term M_b (see :mod:`lift2d3d.solvers.terms`):
    ``sqrt(symmetry) (e_left - e_right)`` per mirrored bone pair (none for ``symmetry`` 0)."""
    edges = skeleton.edge_indices()
    edge_of = {tuple(e): i for i, e in enumerate(np.asarray(edges).tolist())}
    rows = []
    if symmetry > 0:
        for a, b, a2, b2 in skeleton.mirrored_bones():
            row = np.zeros(len(edge_of))
            row[edge_of[(a, b)]] = 1.0
            row[edge_of[(a2, b2)]] = -1.0
            rows.append(np.sqrt(symmetry) * row)
    return np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(-1, len(edge_of)))


def swap_permutations(skeleton):
    """Joint permutations (4, P) of the labellings :func:`~lift2d3d.solvers.labels.unswap` considers: as
    given, left and right arms swapped, legs swapped, both."""
    mirror = np.array(skeleton.mirror_permutation())
    leg = np.array([any(word in j for word in ("hip", "knee", "ankle", "heel", "toe", "foot"))
                    for j in skeleton.joints])
    identity = np.arange(skeleton.n_joints)
    arms = np.where(~leg, mirror, identity)
    legs = np.where(leg, mirror, identity)
    return np.ascontiguousarray(np.stack([identity, arms, legs, mirror]), dtype=np.int64)


def chain_height(skeleton, pose):
    """Ankle-knee-hip-pelvis-neck-head chain length of ``pose`` (3, P, metres), both sides averaged."""
    total = 0.0
    for side in ("left", "right"):
        chain = [f"{side}_ankle", f"{side}_knee", f"{side}_hip", "pelvis", "neck", "head"]
        idx = [skeleton.index(j) for j in chain]
        total += sum(np.linalg.norm(pose[:, a] - pose[:, b]) for a, b in zip(idx[:-1], idx[1:]))
    return total / 2
