"""The pipeline: keypoint tables in, lifted tables out, in chunks, resumable, grouped by person.

Between the readers and writers of :mod:`lift2d3d.io` (which know formats)
and the :class:`~lift2d3d.lifter.Lifter` (which knows arrays), the pipeline
knows chunks, resume and grouping:

* :func:`lift_keypoints` / :func:`lift_table` -- one table in memory (a
  :class:`~lift2d3d.io.KeypointTable` or a wide DataFrame) mapped onto the
  bases' skeleton, lifted and tabulated, one output row per input row
  (:mod:`.tables`); :func:`person_groups` says which rows are one person
  for ``sequence=True``;
* :func:`lift_file` -- a whole file streamed in chunks to CSV/JSON/NPZ,
  never half-written, with ``resume`` (:mod:`.stream`; the parts folder's
  manifest in :mod:`.resume`, from the lifter's ``get_params()``); with
  ``frame="world"`` each person's joints in their world frame, and to BVH/TRC
  one clip per person (:mod:`.clips`).

The Dask backend (:mod:`lift2d3d.distributed`) runs the same
:func:`lift_keypoints` on each partition, so both give the same rows.

>>> import lift2d3d
>>> lifted = lift2d3d.lift_table(dataframe, lift2d3d.Lifter())           # doctest: +SKIP
>>> summary = lift2d3d.lift_file("keypoints.csv", "lifted.csv", lifter)    # doctest: +SKIP
"""

from .jobs import Chunk, JobOptions, lift_chunk, prepared_chunks
from .outputs import OutputBusyError, check_not_an_input, normal_output, output_lock
from .resume import lifter_settings
from .stream import BatchSummary, lift_file
from .clips import person_clips, world_table, write_clips
from .tables import TIME_COLUMNS, lift_keypoints, lift_table, person_groups

__all__ = ["lift_table", "lift_keypoints", "lift_file", "BatchSummary", "person_groups", "TIME_COLUMNS",
           "lifter_settings", "person_clips", "world_table", "write_clips", "output_lock", "OutputBusyError",
           "normal_output", "check_not_an_input", "JobOptions", "Chunk", "prepared_chunks", "lift_chunk"]
