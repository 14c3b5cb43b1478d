"""Array-level entry points to the kernels, for users who want one piece alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .convex import Relaxation, admm_frame, convex_objective
from .records import solver_model

__all__ = ["ConvexSolution", "solve_convex"]


@dataclass(frozen=True)
class ConvexSolution:
    """Result of :func:`solve_convex`.

    Attributes
    ----------
    blocks : (K, 2, 3) ndarray
        ``M_i`` (exactly zero for inactive bases).
    objective : float
        Value of the relaxation at ``blocks`` (plus ``beta ||E||_1`` if robust).
    iterations : int
    converged : bool
    outliers : (2, P) ndarray
        ``E`` (zeros unless robust).
    history : (n, 4) ndarray
        Per iteration: objective, primal residual, dual residual, penalty mu
        (empty unless ``return_history``).
    """

    blocks: np.ndarray
    objective: float
    iterations: int
    converged: bool
    outliers: np.ndarray
    history: np.ndarray


def solve_convex(W, bases, alpha, weights=None, *, beta=None, mu0=0.0, max_iter=10000,
                 eps_abs=1e-7, eps_rel=1e-5, return_history=False) -> ConvexSolution:
    """Solve the convex relaxation (see :mod:`lift2d3d.solvers.reference`) by ADMM.

    Parameters
    ----------
    W : (2, P) array_like
        2D keypoints in any units (the translation is eliminated).
    bases : (K, 3, P) array_like
    alpha : float
        Spectral-norm penalty weight.
    weights : (P,) array_like, optional
        Joint weights (0 = missing).
    beta : float, optional
        Solve the robust model with outlier weight ``beta``.
    mu0 : float
        Initial ADMM penalty (<= 0: automatic).
    max_iter : int
    eps_abs, eps_rel : float
        ADMM stopping tolerances.
    return_history : bool
        Record objective and residuals per iteration (slower).

    Examples
    --------
    >>> import numpy as np
    >>> from lift2d3d.solvers import solve_convex
    >>> rng = np.random.default_rng(0)
    >>> B = rng.standard_normal((8, 3, 12))
    >>> sol = solve_convex(rng.standard_normal((2, 12)), B, alpha=0.1)
    >>> sol.blocks.shape, sol.converged
    ((8, 2, 3), True)
    """
    W = np.ascontiguousarray(W, dtype=np.float64)
    B = np.ascontiguousarray(bases, dtype=np.float64)
    K, three, P = B.shape
    if three != 3 or W.shape != (2, P):
        raise ValueError(f"expected W of shape (2, P) and bases (K, 3, P); got {W.shape} and {B.shape}")
    w = np.ones(P) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if w.shape != (P,) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be P non-negative numbers, not all zero")
    model = solver_model(B, np.zeros(3), np.zeros((0, 2), dtype=np.int64), np.zeros((0, 0)))._replace(mu0=float(mu0))
    Z = np.empty((2, K, 3))
    E = np.zeros((2, P))
    history = np.full((max_iter if return_history else 0, 4), np.nan)
    robust = beta is not None
    settings = Relaxation(float(alpha), float(beta or 0.0), robust, int(max_iter), float(eps_abs), float(eps_rel))
    n_iter, converged = admm_frame(W, w, model, settings, Z, E, history)
    objective = convex_objective(W, w, model.B, Z, E, float(alpha), float(beta or 0.0))
    return ConvexSolution(blocks=Z.transpose(1, 0, 2).copy(), objective=float(objective),
                          iterations=int(n_iter), converged=bool(converged), outliers=E,
                          history=history[:n_iter])
