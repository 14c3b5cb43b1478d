"""Lifting many keypoint files, or a dask DataFrame, on a Dask cluster.

The work unit is one :class:`~.partitions.Partition`: a worker reads its
block of an input file, lifts it with the same pure chunk function as the
single-machine CLI (:func:`lift2d3d.io.lift_table`) and writes one output
part.  Tasks are pure functions of their partition and the lifter spec, so
when a worker dies Dask recomputes its tasks elsewhere and the output is the
same, row for row and bit for bit, as a single-machine run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import open_client
from .output import commit, discard, output_format, staging_dir, write_part
from .partitions import Partition, choose_rows_per_partition, expand_inputs, plan_partitions, read_partition
from .worker import LifterSpec, get_lifter

__all__ = ["lift_files", "lift_dataframe", "LiftFilesSummary", "PartResult", "output_path_for"]

# How long a run waits for a remote scheduler to have at least one worker.
WAIT_FOR_WORKERS_S = 120
_ROWS_SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class PartResult:
    """What a worker reports for one partition (the rows stay on disk)."""

    path: str
    number: int
    n_rows: int = 0
    status_counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    worker_pid: int = 0
    error: str | None = None


@dataclass(frozen=True)
class LiftFilesSummary:
    """Outcome of :func:`lift_files`.

    Attributes
    ----------
    outputs : dict
        Input file -> output directory, for every input lifted completely.
    errors : dict
        Input file -> message naming the file (and rows) and what to do.
    n_frames : int
        Frames lifted (rows of the committed outputs).
    status_counts : dict
        Per-frame ``status`` values over the committed outputs.
    n_partitions : int
        Tasks run (one per partition).
    n_workers : int
        Workers of the cluster when the run started.
    seconds : float
        Wall time from planning to the last commit.
    """

    outputs: dict
    errors: dict
    n_frames: int
    status_counts: dict
    n_partitions: int
    n_workers: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def frames_per_second(self) -> float:
        return self.n_frames / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.status_counts.items())) or "none"
        lines = [f"lifted {self.n_frames} frames from {len(self.outputs)} file(s) in {self.seconds:.1f} s "
                 f"({self.frames_per_second:.0f} frames/s; {self.n_partitions} partitions on "
                 f"{self.n_workers} worker(s)); status: {counts}"]
        lines += [f"  {src} -> {dst}" for src, dst in self.outputs.items()]
        lines += [f"error: {message}" for message in self.errors.values()]
        return "\n".join(lines)


def output_path_for(input_path, output_dir, fmt: str) -> Path:
    """Output directory of one input: ``OUTDIR/<stem>_3d.<fmt>/`` holding its parts."""
    stem = Path(input_path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".json", ".jsonl"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return Path(output_dir) / f"{stem}_3d.{fmt}"


def _estimate_rows(files) -> int:
    """Rows of all CSV inputs from their sizes and the mean length of their first lines."""
    total = 0
    for path in files:
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                sample = handle.read(_ROWS_SAMPLE_BYTES)
        except OSError:
            continue
        lines = max(sample.count(b"\n"), 1)
        total += int(size / (len(sample) / lines)) if sample else 0
    return total


def _status_counts(frame) -> dict:
    if "status" not in frame.columns:
        return {}
    return {str(k): int(v) for k, v in frame["status"].value_counts(sort=False).items()}


def _lift_partition(partition: Partition, spec: LifterSpec, staging: str, fmt: str,
                    input_format) -> PartResult:
    """Worker task: read, lift and write one partition; a data error becomes a report."""
    from ..io import lift_table

    start = time.perf_counter()
    try:
        frame = read_partition(partition)
        lifted = lift_table(frame, get_lifter(spec), format=input_format)
        write_part(lifted, staging, partition.number, fmt)
    except Exception as exc:  # any failure is this partition's, reported with its location
        return PartResult(partition.path, partition.number, worker_pid=os.getpid(),
                          error=f"{partition.describe()}: {type(exc).__name__}: {exc}")
    return PartResult(partition.path, partition.number, n_rows=len(lifted),
                      status_counts=_status_counts(lifted), seconds=time.perf_counter() - start,
                      worker_pid=os.getpid())


def _identity(value):
    return value


def lift_files(inputs, output_dir, *, scheduler="local", bases="default", input_format=None,
               output_format_name=None, rows_per_partition=None, progress=False,
               **lifter_options) -> LiftFilesSummary:
    """Lift keypoint files on a Dask cluster into partitioned outputs.

    Parameters
    ----------
    inputs : str, path or list of them
        Keypoint files (CSV files are split into row blocks; other formats
        are read whole by :func:`lift2d3d.io.read_keypoints`) or glob patterns.
    output_dir : path
        Receives one directory per input, ``<stem>_3d.parquet/part-NNNNN.parquet``
        (``.csv`` without pyarrow), with the columns of the single-machine CLI.
        Workers must see this path (a shared file system on a real cluster).
    scheduler : str or distributed.Client
        ``"local"``, ``"local:N"``, ``"tcp://HOST:PORT"``, a scheduler JSON
        file, or a connected client (left open).
    bases : str, path or ShapeBases
        Shape bases for :class:`~lift2d3d.lifter.Lifter`.
    input_format : str or None
        Keypoint format for :func:`lift2d3d.io.lift_table` (None: detect from the columns).
    output_format_name : {"parquet", "csv"} or None
        None: Parquet when pyarrow is installed, else CSV.
    rows_per_partition : int or None
        Frames per task; None sizes them to give each worker thread about
        four tasks, between 2,000 and 50,000 rows.
    progress : bool
        Show a progress bar (frames) on stderr.
    **lifter_options
        Passed to :class:`~lift2d3d.lifter.Lifter` (``method``, ``alpha``, ``camera``, ...).

    Returns
    -------
    LiftFilesSummary
        Outputs, per-input errors and figures.  An input with any failed
        partition gets no output (its previous output, if any, is kept) and
        an entry in ``errors``; the other inputs are unaffected.

    Raises
    ------
    FileNotFoundError, ValueError, ConnectionError
        Before any work starts: no input, bad options, unreachable scheduler,
        or two inputs that would write the same output.
    """
    start = time.perf_counter()
    files = expand_inputs(inputs)
    fmt = output_format(output_format_name)
    spec = LifterSpec.create(bases, **lifter_options)
    output_dir = Path(output_dir)
    finals = {}
    for path in files:
        final = output_path_for(path, output_dir, fmt)
        if final in finals.values():
            other = next(k for k, v in finals.items() if v == final)
            raise ValueError(f"inputs {other} and {path} would both write {final}; lift them into separate "
                             "output directories or rename one")
        finals[path] = final
    output_dir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]

    with open_client(scheduler) as client:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        n_threads = sum(client.nthreads().values())
        n_workers = len(client.nthreads())
        rows = rows_per_partition or choose_rows_per_partition(_estimate_rows(files), n_threads)
        if rows < 1:
            raise ValueError(f"rows_per_partition must be positive; got {rows}")
        plan = plan_partitions(files, int(rows))
        errors = {path: f"{path}: {exc}" for path, exc in plan.items() if isinstance(exc, Exception)}
        spec_future = client.submit(_identity, spec, key=f"lift2d3d-spec-{spec.key}", pure=False)
        stagings = {path: staging_dir(finals[path], run_id) for path in files}
        futures, where = [], {}
        for file_number, path in enumerate(files):
            if path in errors:
                continue
            for partition in plan[path]:
                future = client.submit(_lift_partition, partition, spec_future, str(stagings[path]), fmt,
                                       input_format, key=f"lift2d3d-{run_id}-{file_number}-{partition.number}",
                                       pure=False)
                futures.append(future)
                where[future.key] = partition
        results = _gather(futures, where, progress)
        del spec_future

    outputs, n_frames, counts = {}, 0, Counter()
    for path in files:
        if path in errors:
            discard(stagings[path])
            continue
        parts = [results[(path, p.number)] for p in plan[path]]
        failed = [r.error for r in parts if r.error]
        if failed:
            more = f" (and {len(failed) - 1} more failed partition(s))" if len(failed) > 1 else ""
            errors[path] = failed[0] + more + "; no output was written for this file"
            discard(stagings[path])
            continue
        outputs[path] = commit(stagings[path], finals[path])
        n_frames += sum(r.n_rows for r in parts)
        for r in parts:
            counts.update(r.status_counts)
    return LiftFilesSummary(outputs=outputs, errors=errors, n_frames=n_frames, status_counts=dict(counts),
                            n_partitions=len(futures), n_workers=n_workers,
                            seconds=time.perf_counter() - start)


def _gather(futures, where, progress) -> dict:
    """Wait for every partition; a task that could not run (e.g. killed its worker repeatedly) is an error."""
    from distributed import as_completed

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(p.n_rows for p in where.values()) or None, unit="frame", desc="lift")
    results = {}
    try:
        for future in as_completed(futures):
            partition = where[future.key]
            if future.status == "error":
                exc = future.exception()
                result = PartResult(partition.path, partition.number,
                                    error=f"{partition.describe()}: the task failed on the cluster "
                                          f"({type(exc).__name__}: {exc})")
            else:
                result = future.result()
            results[(partition.path, partition.number)] = result
            if bar is not None:
                bar.update(partition.n_rows)
            future.release()
    finally:
        if bar is not None:
            bar.close()
    return results


def _lift_frame(frame, spec: LifterSpec, input_format):
    from ..io import lift_table

    return lift_table(frame, get_lifter(spec), format=input_format)


def lift_dataframe(ddf, bases="default", *, input_format=None, **lifter_options):
    """Lift every partition of a dask DataFrame of wide keypoints.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Wide keypoint table (id columns and ``<joint>_x``, ``<joint>_y``
        [, ``<joint>_score``] in pixels), as :func:`lift2d3d.io.lift_table` takes.
    bases : str, path or ShapeBases
        Shape bases for the lifter.
    input_format : str or None
        Keypoint format (None: detect from the columns).
    **lifter_options
        Passed to :class:`~lift2d3d.lifter.Lifter`.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy: id columns, ``<joint>_x/_y/_z`` (metres, camera frame),
        ``status``, ``reprojection_error``, ``iterations``; one output
        partition per input partition, same index.  Compute it with any
        scheduler; with ``distributed`` the lifter spec is one graph key,
        fetched once by each worker.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from lift2d3d.distributed import lift_dataframe
    >>> lifted = lift_dataframe(dd.read_csv("keypoints/*.csv"))      # doctest: +SKIP
    >>> lifted.to_parquet("lifted/")                                  # doctest: +SKIP
    """
    import dask

    spec = LifterSpec.create(bases, **lifter_options)
    meta = _lift_meta(ddf, spec, input_format)
    spec_key = dask.delayed(spec, pure=True, traverse=False)
    return ddf.map_partitions(_lift_frame, spec_key, input_format, meta=meta, align_dataframes=False)


def _lift_meta(ddf, spec, input_format):
    """Empty frame with the output columns and dtypes, from lifting dask's placeholder rows."""
    from ..io import lift_table

    lifter = get_lifter(spec)
    try:
        return lift_table(ddf._meta, lifter, format=input_format)
    except Exception:
        # some checks refuse an empty table; dask's non-empty placeholder rows lift to
        # degenerate frames but give the same columns and dtypes
        return lift_table(ddf._meta_nonempty, lifter, format=input_format).iloc[:0]
