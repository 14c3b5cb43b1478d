"""lift2d3d: recover 3D human pose from 2D keypoints.

The two-stage geometric method: 2D keypoints (from any detector, or the
bundled ONNX BlazePose) are lifted to 3D by fitting a rotation and sparse
coefficients of 3D shape bases learned from motion capture, through the
convex relaxation of Zhou et al. (TPAMI 2017) solved by ADMM, then refined.

>>> import numpy as np, lift2d3d
>>> lifter = lift2d3d.Lifter()                       # shipped bases and network, fused
>>> lifter.joint_names[:3]
('pelvis', 'neck', 'head')
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"   # the one source of the version (setup.cfg reads it)

# Public names resolve lazily so that `import lift2d3d` stays light (numba,
# cvxpy and pandas load only when the piece that needs them is used).
_EXPORTS = {
    "Lifter": "lift2d3d.lifter",
    "LiftResult": "lift2d3d.result",
    "Camera": "lift2d3d.options",
    "Options": "lift2d3d.options",
    "ShapeBases": "lift2d3d.bases",
    "load_bases": "lift2d3d.bases",
    "BasesFileError": "lift2d3d.bases",
    "Skeleton": "lift2d3d.skeletons",
    "get_skeleton": "lift2d3d.skeletons",
    "SKELETONS": "lift2d3d.skeletons",
    "BasisLearner": "lift2d3d.learn",
    "LiftingNetwork": "lift2d3d.learned",
    "load_network": "lift2d3d.learned",
    "read_keypoints": "lift2d3d.io",
    "write_lifted": "lift2d3d.io",
    "lift_table": "lift2d3d.pipeline",
    "lift_file": "lift2d3d.pipeline",
    "KeypointTable": "lift2d3d.io",
    "PoseDetector": "lift2d3d.detect",
    "detect_keypoints": "lift2d3d.detect",
    "solve_convex": "lift2d3d.solvers",
}
_SUBMODULES = ("viz", "distributed", "detect", "io", "pipeline", "evaluation", "mocap", "solvers", "skeletons", "bases",
               "lifter", "learn", "learned", "status")

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"lift2d3d.{name}")
    raise AttributeError(f"module 'lift2d3d' has no attribute {name!r}")


def __dir__():
    return __all__ + list(_SUBMODULES)
