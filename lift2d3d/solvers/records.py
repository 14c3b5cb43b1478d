"""The records the kernels take and fill: one options record, one model record, one result row.

Every solver variant is a setting in :class:`SolverOptions` (built once per
lift from :meth:`lift2d3d.Lifter.get_params`) or a term in
:mod:`lift2d3d.solvers.terms`; the shape bases and everything derived from
them live in :class:`SolverModel`; each frame's scalar outcome is one row of
the structured array :data:`FRAME_RESULT`, read back by field name.  Both
records are named tuples, which numba passes into the kernels as typed
values, so a new option is one field here and no kernel signature changes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SolverOptions", "SolverModel", "FRAME_RESULT", "frame_results", "solver_model", "solver_options",
           "no_hints"]


class SolverOptions(NamedTuple):
    """Settings of one lift, in the kernels' normalised units (see :mod:`lift2d3d.solvers.batch`).

    Attributes
    ----------
    refine : bool
        Refine the original problem after the relaxation (methods
        ``convex+refine`` and ``robust``).
    robust : bool
        Add the L1 outlier term and drop the joints it flags.
    perspective : bool
        Full-perspective refinement with ``focal``, ``px``, ``py``.
    alpha : float
        Sparsity weight of the relaxation (1).
    refine_alpha : float
        Sparsity weight of the refinement (2).
    beta : float
        Outlier weight (robust only).
    max_iter : int
        ADMM iteration cap.
    eps_abs, eps_rel : float
        ADMM stopping tolerances.
    max_outer : int
        Levenberg-Marquardt iteration cap per solve.
    n_inner : int
        Outlier rounds of the robust refinement.
    tol : float
        Relative objective decrease that ends a refinement.
    focal, px, py : float
        Pinhole intrinsics, pixels (perspective only).
    n_posit : int
        Depth-correction rounds of the perspective refinement.
    n_starts : int
        Refinement starts (:func:`lift2d3d.solvers.refine.refine_multistart`).
    depth_weight, depth_margin, depth_tol : float
        The depth-order term (:mod:`lift2d3d.solvers.terms`): weight, margin of
        "nearer than", tolerance of "about equal" (normalised units).
    """

    refine: bool
    robust: bool
    perspective: bool
    alpha: float
    refine_alpha: float
    beta: float
    max_iter: int
    eps_abs: float
    eps_rel: float
    max_outer: int
    n_inner: int
    tol: float
    focal: float
    px: float
    py: float
    n_posit: int
    n_starts: int
    depth_weight: float = 0.0
    depth_margin: float = 0.0
    depth_tol: float = 0.0


def solver_options(method, alpha, refine_alpha, beta, max_iter, admm_tol, tol, n_starts, depth_weight,
                   depth_margin, depth_tol, focal=None, principal=(0.0, 0.0)) -> SolverOptions:
    """The options record for a method (``convex``, ``convex+refine``, ``robust``) and a camera
    (``focal`` None: weak perspective), every field cast to the type the kernels are compiled for."""
    perspective = focal is not None
    return SolverOptions(
        refine=method != "convex", robust=method == "robust", perspective=perspective, alpha=float(alpha),
        refine_alpha=float(refine_alpha), beta=float(beta), max_iter=int(max_iter), eps_abs=float(admm_tol) * 1e-2,
        eps_rel=float(admm_tol), max_outer=100, n_inner=8, tol=float(tol),
        focal=float(focal) if perspective else 0.0, px=float(principal[0]), py=float(principal[1]), n_posit=20,
        n_starts=int(n_starts), depth_weight=float(depth_weight), depth_margin=float(depth_margin),
        depth_tol=float(depth_tol))


class SolverModel(NamedTuple):
    """The shape prior as the kernels see it (normalised units: the mean pose has unit RMS radius).

    Attributes
    ----------
    B : (K, 3, P) float64
        Bases.
    Bt : (P, 3K) float64
        ``B`` transposed, contiguous (the ADMM's one dense product).
    T : (P, P) float64
        ``sum_i B_i^T B_i``.
    mu0 : float
        Initial ADMM penalty.
    lateral : (3,) float64
        The body's left-right axis in the bases' frame (depth-mirrored starts).
    edges : (E, 2) int64
        Bones as joint indices.
    Mb : (T, E) float64
        Rows of the refinement's bone-length term (:func:`lift2d3d.solvers.terms.bone_values`).
    hints : (N, H, 3) int64
        Per frame, the depth-order relations ``(a, b, kind)`` (the first
        ``n_hints[n]`` rows of frame ``n``; :mod:`lift2d3d.solvers.terms`).
    n_hints : (N,) int64
    chains : (C, 3) int64
        Limb chains (root, middle, end): shoulder-elbow-wrist, hip-knee-ankle
        per side, whose segments :mod:`lift2d3d.solvers.reflect` reflects.
    """

    B: np.ndarray
    Bt: np.ndarray
    T: np.ndarray
    mu0: float
    lateral: np.ndarray
    edges: np.ndarray
    Mb: np.ndarray
    hints: np.ndarray
    n_hints: np.ndarray
    chains: np.ndarray


def no_hints(n: int = 0):
    """``(hints, n_hints)`` of ``n`` frames without depth-order relations."""
    return np.zeros((n, 0, 3), dtype=np.int64), np.zeros(n, dtype=np.int64)


def solver_model(B, lateral, edges, Mb, chains=None) -> SolverModel:
    """The model record for normalised bases ``B`` (K, 3, P), bone-term rows ``Mb`` (T, E) and limb
    ``chains`` (C, 3)."""
    B = np.ascontiguousarray(B, dtype=np.float64)
    K, _, P = B.shape
    T = np.einsum("iaj,iak->jk", B, B)
    # initial ADMM penalty: a tenth of the mean eigenvalue of G G^T (fewest
    # iterations over alpha in [0.03, 1] on MoCap-like frames)
    mu0 = 0.1 * float(np.trace(T)) / (3 * K)
    return SolverModel(B=B, Bt=np.ascontiguousarray(B.reshape(3 * K, P).T), T=T, mu0=mu0,
                       lateral=np.ascontiguousarray(lateral, dtype=np.float64),
                       edges=np.ascontiguousarray(edges, dtype=np.int64),
                       Mb=np.ascontiguousarray(np.asarray(Mb, dtype=np.float64).reshape(-1, len(edges))),
                       hints=no_hints()[0], n_hints=no_hints()[1],
                       chains=np.ascontiguousarray(np.zeros((0, 3)) if chains is None else chains, dtype=np.int64))


#: One frame's scalar outcome.  ``t0x, t0y, sigma``: the normalisation (weighted
#: centroid and RMS radius of the keypoints, pixels); ``tau_x, tau_y``: the
#: fit's 2D translation and ``tau_z`` the centroid's depth (perspective), in
#: normalised units; ``objective`` of the solved problem; iteration counts;
#: ``reprojection_error`` in pixels.
FRAME_RESULT = np.dtype([
    ("t0x", "f8"), ("t0y", "f8"), ("sigma", "f8"), ("tau_x", "f8"), ("tau_y", "f8"), ("tau_z", "f8"),
    ("objective", "f8"), ("admm_iterations", "i8"), ("refine_iterations", "i8"), ("converged", "?"),
    ("reprojection_error", "f8"),
])


def frame_results(n: int) -> np.ndarray:
    """``n`` result rows: NaN for every float field, 0 / False for the others."""
    out = np.zeros(n, dtype=FRAME_RESULT)
    for name in FRAME_RESULT.names:
        if FRAME_RESULT[name].kind == "f":
            out[name] = np.nan
    return out
