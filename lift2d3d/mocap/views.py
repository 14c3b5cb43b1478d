"""Synthetic 2D views of MoCap and the accuracy measures: kept here for existing imports.

The one implementation lives in :mod:`lift2d3d.evaluation`; this module
re-exports it.  :func:`camera_rotation` keeps its own azimuth convention
(counted 90 degrees earlier than :func:`lift2d3d.evaluation.camera_rotations`'),
so explicit angles give the cameras they always gave; the random views of
:func:`random_views` and :func:`project_views` are evaluation's, whose draws
give the same cameras as before.
"""

from __future__ import annotations

import numpy as np

from ..evaluation import (pa_mpjpe, procrustes_rotations, project_views, random_views, scale_translation_error,
                          similarity_align)
from ..evaluation import camera_rotations as _camera_rotations

__all__ = ["camera_rotation", "random_views", "project_views", "similarity_align", "procrustes_rotations",
           "pa_mpjpe", "scale_translation_error"]


def camera_rotation(azimuth: float, elevation: float, roll: float, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """World-to-camera rotation (3, 3) for angles in degrees (rows: the camera's x right, y down, z ahead).

    The camera sits at ``azimuth`` around the ``up`` axis (0 along the
    frame's first horizontal axis), ``elevation`` above the horizon (looking
    down for > 0) and rolls by ``roll`` about its optical axis.
    """
    return _camera_rotations(np.array([[azimuth - 90.0, elevation, roll]]), up)[0]
