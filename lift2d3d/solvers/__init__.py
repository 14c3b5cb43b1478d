"""Solvers: numba kernels for the convex relaxation (ADMM), the refinement, its terms (robust, perspective,
depth order, a network's prior), the temporal solve, and the CVXPY reference formulation.

Nothing here knows about files or joint names: inputs are arrays, in the records of
:mod:`lift2d3d.solvers.records`.  The public face: :func:`solve` (a batch, frame by frame),
:func:`solve_sequence` (one person's frames jointly), :func:`prepare` (compile what a run needs),
and :func:`solve_convex` (the relaxation of one frame, for teaching and tests).
"""

from .api import ConvexSolution, solve_convex
from .records import (Frames, SolverModel, SolverOptions, Solution, frames_record, no_hints, solver_model,
                      solver_options)
from .driver import TEMPORAL_FPS, prepare, sequence_options, sequence_prior, solve, solve_sequence

__all__ = ["ConvexSolution", "solve_convex", "solve", "solve_sequence", "sequence_prior", "prepare", "sequence_options",
           "TEMPORAL_FPS",
           "Frames", "SolverModel", "SolverOptions", "Solution", "frames_record", "no_hints", "solver_model",
           "solver_options"]
