"""Solvers: numba kernels for the convex relaxation (ADMM), refinement, the robust
and perspective models, and the CVXPY reference formulation.

Nothing here knows about files or joint names: inputs are arrays.
"""

from .api import ConvexSolution, solve_convex

__all__ = ["ConvexSolution", "solve_convex"]
