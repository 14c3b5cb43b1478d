"""The convex relaxation written in CVXPY: the reference the fast solver is tested against.

Zhou, Zhu, Leonardos & Daniilidis, "Sparse Representation for 3D Shape
Estimation: A Convex Relaxation Approach", TPAMI 2017, eq. (8), with per-joint
weights ``w`` (``D = diag(sqrt(w))``) and the translation eliminated by
weighted centring ``C_w = I - w 1^T / sum(w)``::

    min_{M_1..M_K}  1/2 || (W - sum_i M_i B_i) C_w D ||_F^2  +  alpha sum_i ||M_i||_2

``||.||_2`` is the spectral norm (largest singular value): on 2x3 blocks it is
the gauge of the convex hull of scaled Stiefel matrices ``{c R̄}``, which makes
the relaxation tight when one block is active.  The robust model adds
``+ beta ||E||_1`` with ``W`` replaced by ``W - E``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_convex_reference"]


def solve_convex_reference(W, bases, alpha, weights=None, beta=None, solver=None, **solver_options):
    """Solve the relaxation with CVXPY (slow; for tests and teaching).

    Parameters
    ----------
    W : (2, P) array_like
        2D keypoints (the translation is eliminated, so no centring is needed).
    bases : (K, 3, P) array_like
        Shape bases ``B_i``.
    alpha : float
        Weight of the spectral-norm penalty.
    weights : (P,) array_like, optional
        Joint weights (0 = missing); default all ones.
    beta : float, optional
        If given, solve the robust model with an outlier matrix ``E``.
    solver : str, optional
        CVXPY solver name (default: CLARABEL if installed, else SCS).

    Returns
    -------
    M : (K, 2, 3) ndarray
        The blocks ``M_i``.
    objective : float
        Optimal value.
    E : (2, P) ndarray or None
        Outliers for the robust model.
    """
    import cvxpy as cp

    W = np.asarray(W, dtype=float)
    bases = np.asarray(bases, dtype=float)
    K, _, P = bases.shape
    w = np.ones(P) if weights is None else np.asarray(weights, dtype=float)
    # X C_w = X - (X w / sum w) 1^T: subtract the weighted column mean
    Cw = np.eye(P) - np.outer(w, np.ones(P)) / w.sum()
    CD = Cw @ np.diag(np.sqrt(w))
    Bs = bases.reshape(3 * K, P)
    M = cp.Variable((2, 3 * K))
    target = W
    E = None
    if beta is not None:
        E = cp.Variable((2, P))
        target = W - E
    residual = (target - M @ Bs) @ CD
    penalty = sum(cp.norm(M[:, 3 * i:3 * i + 3], 2) for i in range(K))
    objective = 0.5 * cp.sum_squares(residual) + alpha * penalty
    if beta is not None:
        objective = objective + beta * cp.sum(cp.abs(E))
    problem = cp.Problem(cp.Minimize(objective))
    if solver is None:
        solver = "CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS"
    problem.solve(solver=solver, **solver_options)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"CVXPY reference solve failed: {problem.status}")
    blocks = np.asarray(M.value).reshape(2, K, 3).transpose(1, 0, 2)
    return blocks, float(problem.value), (None if E is None else np.asarray(E.value))
