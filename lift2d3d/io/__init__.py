"""Keypoint readers and lifted-table writers, per format, and streaming batches.

Readers (the layout is sniffed from the content and the path; :mod:`.readers`):

* wide CSV: id columns (``frame``, ``person``, ``video`` ...) + ``<joint>_x``,
  ``<joint>_y`` [, ``<joint>_score``] -- :mod:`.csv_wide`
* long CSV: ``frame,joint,x,y[,score]`` -- :mod:`.csv_long`
* OpenPose JSON folders -- :mod:`.openpose`; COCO keypoint JSON (AlphaPose too) -- :mod:`.coco`
* MMPose inferencer predictions -- :mod:`.mmpose`; MediaPipe landmark CSV -- :mod:`.mediapipe`
* DeepLabCut CSV/H5 -- :mod:`.deeplabcut` (user-named parts by name, :mod:`.names`)
* pixel TRC (Sports2D) -- :mod:`.trc`; ``.npy`` / ``.npz`` arrays -- :mod:`.arrays`
* in memory: an (N, P, 2|3) array with ``format=`` naming its joint order, or a wide DataFrame

Normalised coordinates (MediaPipe's 0-1) need ``image_size=(W, H)``; without
it they are an error, never a silent lift (:mod:`lift2d3d.pixels`).

Three lines in a notebook::

    table = read_keypoints("examples/sample_coco17.csv")   # KeypointTable
    lifter = Lifter()
    result = lifter.lift(*table.for_lifter(lifter))       # coco17 -> the bases' skeleton

or from your own array in COCO order: ``read_keypoints(keypoints, format="coco17")``.

``table.as_arrays()`` gives ``(keypoints (N,P,2), scores (N,P), ids DataFrame,
skeleton name)``; ``table.to_frame()`` a wide DataFrame.  :func:`lift_table`
lifts one in-memory wide DataFrame; :func:`lift_file` streams a whole file to
CSV/JSON/NPZ (what ``lift2d3d lift`` runs).
"""

from .batch import BatchSummary, lift_file, lift_keypoints, lift_table, output_columns
from .readers import LAYOUTS, detect_layout, iter_keypoint_chunks, read_keypoints
from .table import BAD_INPUT, NO_PERSON, KeypointFormatError, KeypointTable
from .writers import CAMERA_COLUMNS, write_lifted

__all__ = ["read_keypoints", "write_lifted", "lift_table", "lift_file", "lift_keypoints", "KeypointTable",
           "KeypointFormatError", "BatchSummary", "iter_keypoint_chunks", "detect_layout", "output_columns",
           "LAYOUTS", "BAD_INPUT", "NO_PERSON", "CAMERA_COLUMNS"]
