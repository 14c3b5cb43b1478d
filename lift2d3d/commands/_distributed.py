"""The ``--scheduler`` side of ``lift2d3d lift``: many inputs, one Dask cluster.

``lift2d3d lift INPUT... -o OUTDIR --scheduler tcp://HOST:PORT`` (or
``local:N``) lifts every input on the cluster and writes
``OUTDIR/<stem>_3d.parquet/part-NNNNN.parquet`` per input.  The lift command
adds these options and hands over to :func:`run_distributed` when
``--scheduler`` is given; nothing here imports dask until then.  The lifter
comes from the shared options (:mod:`._options`), so both paths build it the
same way; the cluster receives its ``get_params()``
(:meth:`lift2d3d.distributed.LifterSpec.from_lifter`).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_arguments", "run_distributed"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the distributed options to the ``lift`` sub-command's parser."""
    group = parser.add_argument_group(
        "distributed (Dask)", "with --scheduler, INPUT may be several files or quoted glob patterns and -o "
        "names an output directory receiving <stem>_3d.parquet/part-NNNNN.parquet per input (csv without "
        "pyarrow); needs pip install 'lift2d3d[distributed]'")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster: tcp://HOST:PORT of a running `dask scheduler`, a scheduler "
                            "JSON file, or local:N for N worker processes on this machine")
    group.add_argument("--rows-per-partition", type=int, metavar="N",
                       help="frames per task (default: about 4 tasks per worker, 5000-50000 rows, a multiple "
                            "of --chunk-size)")
    group.add_argument("--output-format", choices=("parquet", "csv"),
                       help="format of the output parts (default: parquet if pyarrow is installed, else csv)")


def _error(message: str, code: int = 2) -> int:
    print(f"lift2d3d lift: error: {message}", file=sys.stderr)
    return code


def run_distributed(args) -> int:
    """Run ``lift2d3d lift --scheduler ...``.

    Returns
    -------
    int
        0 done; 1 an input had no liftable row (its output is written); 2 an
        input or an option was unusable (the other inputs are written).
    """
    from ..bases import BasesFileError
    from ..distributed import lift_files
    from ._options import lifter_from_args

    for flag, name in (("output_skeleton", "--output-skeleton"), ("depth_order", "--depth-order")):
        if getattr(args, flag, None) is not None:
            return _error(f"{name} is not available with --scheduler yet; lift the file without --scheduler")
    if getattr(args, "resume", False):
        return _error("--resume is not needed with --scheduler: finished outputs are complete, so rerun the "
                      "inputs that failed")
    try:
        lifter = lifter_from_args(args)     # --workers: threads per task (default 1)
    except (BasesFileError, ValueError) as exc:
        return _error(str(exc))
    inputs = args.input if isinstance(args.input, (list, tuple)) else [args.input]
    try:
        summary = lift_files(inputs, args.output, lifter=lifter, scheduler=args.scheduler, format=args.format,
                             layout=args.layout, delimiter=args.delimiter, output_format=args.output_format,
                             rows_per_partition=args.rows_per_partition, chunk_rows=args.chunk_size,
                             progress=bool(args.progress) and not args.quiet,
                             sequence=args.sequence, image_size=getattr(args, "image_size", None),
                             joint_map=getattr(args, "joint_map", None),
                             write_camera=getattr(args, "write_camera", False), fps=getattr(args, "fps", 30.0))
    except ImportError as exc:
        return _error(f"{exc}; install the distributed extra: pip install 'lift2d3d[distributed]'")
    except (BasesFileError, ValueError, FileNotFoundError, ConnectionError, PermissionError) as exc:
        return _error(str(exc))
    if not args.quiet:
        print(summary, file=sys.stderr)
    else:  # -q prints only errors
        for message in summary.errors.values():
            print(f"lift2d3d lift: error: {message}", file=sys.stderr)
    if args.stats_json:
        stats = {"outputs": {k: str(v) for k, v in summary.outputs.items()}, "errors": summary.errors,
                 "rows": summary.n_frames, "lifted": summary.n_lifted, "status_counts": summary.status_counts,
                 "partitions": summary.n_partitions, "workers": summary.n_workers,
                 "seconds_total": summary.seconds, "rows_per_second": summary.frames_per_second}
        with open(args.stats_json, "w", encoding="utf-8") as handle:
            json.dump(stats, handle, indent=1)
    if summary.errors:
        return _error(f"{len(summary.errors)} of {len(summary.errors) + len(summary.outputs)} input(s) failed "
                      "(see above); the others were written")
    if summary.unlifted:
        return _error(f"no row of {', '.join(summary.unlifted)} could be lifted; see the status and message "
                      "columns of the output", code=1)
    return 0
