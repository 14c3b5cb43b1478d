"""Keypoint readers and lifted-table writers, per format: io knows formats, nothing else.

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
skeleton name)``; ``table.to_frame()`` a wide DataFrame.  :func:`write_lifted`
writes a lifted table (:func:`output_columns`) to CSV, JSON or NPZ, and
:func:`read_lifted` reads it (or a 3D TRC) back; one person's clip in the
world frame goes to BVH (:func:`write_bvh`, a rig by inverse kinematics) or 3D
TRC (:func:`write_trc`, read back by :func:`read_trc3d`).  Lifting
tables and files in chunks, with resume, is the pipeline's job
(:func:`lift2d3d.lift_table`, :func:`lift2d3d.lift_file`, :mod:`lift2d3d.pipeline`).

The building blocks the pipeline and the Dask backend share with the readers
are public here too: :func:`table_from_frame` (a wide DataFrame as a table),
:func:`iter_csv_block` (one byte block of a wide CSV, parsed as the whole-file
reader parses it), :func:`check_csv_header`, :func:`flag_duplicates` and
:class:`IdHashSet` (repeated ids across chunks), the part files of a
resumable output (:func:`write_csv_part`, :func:`join_csv_parts`,
:func:`write_part`, :func:`read_part`, :func:`csv_header`, :func:`csv_rows`).
"""

from .csv_wide import check_csv_header
from .depth_order import DepthOrderTable, read_depth_order
from .layouts import LAYOUT_RECORDS, layouts_help
from .names import load_joint_map
from .readers import (LAYOUTS, detect_layout, iter_csv_block, iter_keypoint_chunks, prepare_chunk, read_keypoints,
                      split_format, table_from_frame)
from .table import (BAD_INPUT, NO_PERSON, NO_PERSON_MESSAGE, IdHashSet, KeypointFormatError, KeypointTable,
                    flag_duplicates)
from .writers import (CAMERA_COLUMNS, CLIP_SUFFIXES, RESULT_COLUMNS, TABLE_SUFFIXES, atomic_path, check_suffix,
                      csv_header, csv_rows, join_csv_parts, output_columns, read_part, typed_ids, world_sidecar,
                      write_csv_part, write_lifted, write_part)
from .bvh import BVH_RIGS, BVH_UNITS, write_bvh
from .trc import read_trc3d, write_trc
from .lifted import LiftedFile, read_lifted

__all__ = ["read_keypoints", "write_lifted", "KeypointTable", "KeypointFormatError", "iter_keypoint_chunks",
           "detect_layout", "split_format", "output_columns", "LAYOUTS", "BAD_INPUT", "NO_PERSON", "NO_PERSON_MESSAGE",
           "CAMERA_COLUMNS", "RESULT_COLUMNS", "table_from_frame", "iter_csv_block", "check_csv_header",
           "prepare_chunk", "load_joint_map", "flag_duplicates", "IdHashSet", "check_suffix", "atomic_path",
           "typed_ids", "csv_header", "csv_rows", "write_csv_part", "join_csv_parts", "write_part", "read_part",
           "DepthOrderTable", "read_depth_order", "CLIP_SUFFIXES", "TABLE_SUFFIXES", "world_sidecar", "write_bvh",
           "BVH_RIGS", "BVH_UNITS", "write_trc", "read_trc3d", "read_lifted", "LiftedFile", "LAYOUT_RECORDS",
           "layouts_help"]
