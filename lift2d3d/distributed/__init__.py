"""Lifting datasets that outgrow one machine, on a Dask cluster.

Two ways in:

* :func:`lift_files` (what ``lift2d3d lift INPUT... -o OUTDIR --scheduler
  ADDRESS`` calls) splits wide keypoint CSV files into row blocks (other
  layouts go whole to one worker), lifts them on the cluster's workers and
  writes one partitioned output per input
  (``OUTDIR/<stem>_3d.parquet/part-NNNNN.parquet``, CSV without pyarrow)
  with the columns, rows and values of ``lift2d3d lift`` on one machine;
* :func:`lift_dataframe` maps the lifter over the partitions of a dask
  DataFrame the caller already has.

The shape bases and lifter options travel as one task-graph key, fetched once
per worker; each worker process builds one Lifter and its first lift compiles
the numba kernels (or loads them from numba's on-disk cache).  Tasks are pure,
so a worker that dies has its partitions recomputed elsewhere; a partition
with bad data is reported with its file and rows while the other inputs
complete.  Needs ``pip install 'lift2d3d[distributed]'``.

Examples
--------
>>> from lift2d3d.distributed import lift_files, read_lifted
>>> summary = lift_files("keypoints/*.csv", "lifted", scheduler="local:2")   # doctest: +SKIP
>>> print(summary)                                                           # doctest: +SKIP
>>> frames = read_lifted("lifted/clip01_3d.parquet")                         # doctest: +SKIP
"""

from .cluster import SchedulerSpec, open_client, parse_scheduler
from .engine import LiftFilesSummary, lift_dataframe, lift_files, output_path_for
from .output import read_lifted
from .partitions import Partition, expand_inputs, iter_partition_tables, plan_partitions
from .worker import LifterSpec

__all__ = ["lift_files", "lift_dataframe", "LiftFilesSummary", "read_lifted", "parse_scheduler",
           "open_client", "SchedulerSpec", "LifterSpec", "Partition", "expand_inputs", "plan_partitions",
           "iter_partition_tables", "output_path_for"]
