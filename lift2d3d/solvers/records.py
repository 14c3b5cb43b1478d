"""The records the kernels take and fill: options, model, frames, working arrays, solution, one result row.

Every solver variant is a setting in :class:`SolverOptions` (built once per
lift from the Lifter's resolved :class:`lift2d3d.options.Options`) or a term
in :mod:`lift2d3d.solvers.terms`; the shape bases and everything derived from
them live in :class:`SolverModel`; a batch's per-frame inputs (keypoints,
weights, statuses, depth relations, a network's prior) in :class:`Frames`,
the stages' working arrays in :class:`Work` and the outputs in
:class:`Solution`; each frame's scalar outcome is one row of the structured
array :data:`FRAME_RESULT`, read back by field name.  The records are named
tuples, which numba passes into the kernels as typed values, so a new option
is one field here and no kernel signature changes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SolverOptions", "SolverModel", "Frames", "Work", "Solution", "FRAME_RESULT", "frame_results",
           "solver_model", "edge_differences", "solver_options", "frames_record", "subset", "new_work",
           "new_solution", "no_hints",
           "DEPTH_MARGIN", "DEPTH_TOLERANCE"]

#: The fused method's starts (``Options.fused_start``) as the kernels number them.
START_OF = {"relaxation": 1, "network": 2, "geometric": 3, "reflected": 4}

#: Depth-order hints (normalised units, where the 2D pose has unit RMS radius, about 0.45 m of a person):
#: the margin by which "nearer" must hold, and the tolerance of "about equal".
DEPTH_MARGIN = 0.02
DEPTH_TOLERANCE = 0.1


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
    prior_weight, prior_scale : float
        Weight of the network prior term (0: no network) and the scale of its Cauchy loss.
    prior_start : int
        The fused method's start (:mod:`lift2d3d.solvers.fused`): 0 none (no network), 1 the relaxation's
        pose reflected towards the network's limb depths, 2 the network's 3D itself (no relaxation but
        for the frames that fit badly).
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
    prior_weight: float = 0.0
    prior_scale: float = 1.0
    prior_start: int = 0


def solver_options(resolved) -> SolverOptions:
    """The options record for resolved Lifter options (:meth:`lift2d3d.options.Options.resolve`: ``method``,
    ``loss``, ``camera`` and the weights), every field cast to the type the kernels are compiled for."""
    r = resolved
    camera = r["camera"]
    perspective = camera is not None
    fused = r["method"] == "fused"
    return SolverOptions(
        refine=r["method"] != "convex", robust=r["loss"] == "robust", perspective=perspective,
        alpha=float(r["alpha"]), refine_alpha=float(r["refine_alpha"]), beta=float(r["beta"]),
        max_iter=int(r["max_iter"]), eps_abs=float(r["admm_tol"]) * 1e-2, eps_rel=float(r["admm_tol"]), max_outer=100,
        n_inner=8, tol=float(r["tol"]), focal=float(camera.focal) if perspective else 0.0,
        px=float(camera.principal[0]) if perspective else 0.0, py=float(camera.principal[1]) if perspective else 0.0,
        n_posit=20, n_starts=int(r["n_starts"]), depth_weight=float(r["depth_weight"]), depth_margin=DEPTH_MARGIN,
        depth_tol=DEPTH_TOLERANCE, prior_weight=float(r["prior_weight"]) if fused else 0.0,
        prior_scale=float(r["prior_scale"]), prior_start=START_OF[r["fused_start"]] if fused else 0)


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
    chains : (C, 3) int64
        Limb chains (root, middle, end): shoulder-elbow-wrist, hip-knee-ankle
        per side, whose segments :mod:`lift2d3d.solvers.reflect` reflects.
    dB : (K, E, 3) float64
        Each atom's bone vectors, ``B_i[:, a] - B_i[:, b]`` per bone: the bone terms' Jacobian reads
        them contiguously.
    mean : (3, P) float64
        The bases' mean pose, centred, in the same units: the first shape a network's 3D is aligned to.
    """

    B: np.ndarray
    Bt: np.ndarray
    T: np.ndarray
    mu0: float
    lateral: np.ndarray
    edges: np.ndarray
    Mb: np.ndarray
    chains: np.ndarray
    dB: np.ndarray
    mean: np.ndarray


def no_hints(n: int = 0):
    """``(hints, n_hints)`` of ``n`` frames without depth-order relations."""
    return np.zeros((n, 0, 3), dtype=np.int64), np.zeros(n, dtype=np.int64)


def solver_model(B, lateral, edges, Mb, chains=None, mean=None) -> SolverModel:
    """The model record for normalised bases ``B`` (K, 3, P), bone-term rows ``Mb`` (T, E), limb
    ``chains`` (C, 3) and the mean pose ``mean`` (3, P; default: the bases' average atom)."""
    B = np.ascontiguousarray(B, dtype=np.float64)
    Mb = np.asarray(Mb, dtype=np.float64)
    K, _, P = B.shape
    T = np.einsum("iaj,iak->jk", B, B)
    # initial ADMM penalty: a tenth of the mean eigenvalue of G G^T (fewest
    # iterations over alpha in [0.03, 1] on MoCap-like frames)
    mu0 = 0.1 * float(np.trace(T)) / (3 * K)
    return SolverModel(B=B, Bt=np.ascontiguousarray(B.reshape(3 * K, P).T), T=T, mu0=mu0,
                       lateral=np.ascontiguousarray(lateral, dtype=np.float64),
                       edges=np.ascontiguousarray(edges, dtype=np.int64),
                       Mb=np.ascontiguousarray(Mb.reshape(Mb.shape[0] if Mb.ndim == 2 else -1, len(edges))),
                       chains=np.ascontiguousarray(np.zeros((0, 3)) if chains is None else chains, dtype=np.int64),
                       dB=edge_differences(B, edges),
                       mean=np.ascontiguousarray(B.mean(axis=0) if mean is None else mean, dtype=np.float64))


def edge_differences(B, edges):
    """``dB`` (K, E, 3): every atom's bone vectors ``B_i[:, a] - B_i[:, b]`` for the bones ``edges`` (E, 2)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return np.ascontiguousarray((B[:, :, edges[:, 0]] - B[:, :, edges[:, 1]]).transpose(0, 2, 1), dtype=np.float64)


class Frames(NamedTuple):
    """A batch's per-frame inputs.

    Attributes
    ----------
    Wpx : (N, 2, P) float64
        Keypoints, pixels.
    w : (N, P) float64
        Joint weights (0 = missing).
    status : (N,) int64, in/out
        Status codes (:mod:`lift2d3d.status`): validation sets them, the solve the lifted frames'.
    hints : (N, H, 3) int64
        Per frame, the depth-order relations ``(a, b, kind)`` (the first ``n_hints[n]`` rows of frame
        ``n``; :mod:`lift2d3d.solvers.terms`).
    n_hints : (N,) int64
    prior : (N, 3, P) float64
        A lifting network's camera-frame joints per frame, centred on the weighted joints, in the
        frame's normalised units (zeros without a network; :mod:`lift2d3d.learned`).
    """

    Wpx: np.ndarray
    w: np.ndarray
    status: np.ndarray
    hints: np.ndarray
    n_hints: np.ndarray
    prior: np.ndarray


def frames_record(Wpx, w, status, hints=None, prior=None) -> Frames:
    """The frames record (``hints``: ``(hints, n_hints)``; None: no relations, no prior)."""
    N, _, P = Wpx.shape
    hints, n_hints = no_hints(N) if hints is None else hints
    prior = np.zeros((N, 3, P)) if prior is None else prior
    return Frames(np.ascontiguousarray(Wpx, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64),
                  status, np.ascontiguousarray(hints, dtype=np.int64), np.ascontiguousarray(n_hints, dtype=np.int64),
                  np.ascontiguousarray(prior, dtype=np.float64))


def subset(record, index):
    """The record's rows ``index`` (a slice keeps views: the block's stages write through to the batch)."""
    return type(record)(*[field[index] for field in record])


class Work(NamedTuple):
    """The stages' working arrays for a block of N frames, in normalised units.

    ``W`` (N, 2, P): the normalised keypoints; ``Z`` (N, 2, K, 3): the relaxation's blocks; ``E``
    (N, 2, P): the outliers; ``Rbar`` (N, 2, 3), ``c`` (N, K): rotation rows and coefficients; ``info``
    (N,) :data:`FRAME_RESULT`.
    """

    W: np.ndarray
    Z: np.ndarray
    E: np.ndarray
    Rbar: np.ndarray
    c: np.ndarray
    info: np.ndarray


def new_work(N, P, K, info) -> Work:
    return Work(np.zeros((N, 2, P)), np.zeros((N, 2, K, 3)), np.zeros((N, 2, P)), np.zeros((N, 2, 3)),
                np.zeros((N, K)), info)


class Solution(NamedTuple):
    """What a solve returns, per frame: camera-frame points ``X`` (N, 3, P, normalised units), rotations
    ``R`` (N, 3, 3), coefficients ``c`` (N, K), outliers ``E`` (N, 2, P, pixels), the result rows ``info``
    and the statuses ``status`` (the frames record's array)."""

    X: np.ndarray
    R: np.ndarray
    c: np.ndarray
    E: np.ndarray
    info: np.ndarray
    status: np.ndarray


def new_solution(N, P, K, status) -> Solution:
    """A solution record of NaN points, rotations and coefficients, zero outliers and fresh result rows."""
    return Solution(np.full((N, 3, P), np.nan), np.full((N, 3, 3), np.nan), np.full((N, K), np.nan),
                    np.zeros((N, 2, P)), frame_results(N), status)


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
