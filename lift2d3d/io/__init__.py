"""Keypoint readers and lifted-table writers, per format, and streaming batches.

Readers (the format is recognised from the path and the column/key names):

* wide CSV: id columns (``frame``, ``person``, ``video`` ...) + ``<joint>_x``,
  ``<joint>_y`` [, ``<joint>_score``] -- :mod:`.csv_wide`
* long CSV: ``frame,joint,x,y[,score]`` -- :mod:`.csv_long`
* OpenPose JSON folders -- :mod:`.openpose`; COCO keypoint JSON -- :mod:`.coco`
* ``.npy`` / ``.npz`` arrays -- :mod:`.arrays`

Three lines in a notebook::

    table = read_keypoints("examples/sample_coco17.csv")   # KeypointTable
    lifter = Lifter()
    result = lifter.lift(*table.for_lifter(lifter))       # coco17 -> the bases' skeleton

``table.as_arrays()`` gives ``(keypoints (N,P,2), scores (N,P), ids DataFrame,
skeleton name)``; ``table.to_frame()`` a wide DataFrame.  :func:`lift_table`
lifts one in-memory wide DataFrame; :func:`lift_file` streams a whole file to
CSV/JSON/NPZ (what ``lift2d3d lift`` runs).
"""

from .batch import BatchSummary, lift_file, lift_keypoints, lift_table, output_columns
from .readers import LAYOUTS, detect_layout, iter_keypoint_chunks, read_keypoints
from .table import BAD_INPUT, KeypointFormatError, KeypointTable
from .writers import write_lifted

__all__ = ["read_keypoints", "write_lifted", "lift_table", "lift_file", "lift_keypoints", "KeypointTable",
           "KeypointFormatError", "BatchSummary", "iter_keypoint_chunks", "detect_layout", "output_columns",
           "LAYOUTS", "BAD_INPUT"]
