"""Lifting many keypoint files, or a dask DataFrame, on a Dask cluster.

The work unit is one :class:`~.partitions.Partition`: a worker reads its
block of an input file, lifts it chunk by chunk with the functions of the
single-machine CLI (:func:`lift2d3d.pipeline.lift_keypoints`) and writes one
output part.  Tasks are pure functions of their partition and the lifter
spec, so when a worker dies Dask recomputes its tasks elsewhere and the
output is the same, row for row and bit for bit, as a single-machine run.

The one thing a block cannot know alone is whether an id already occurred in
an earlier block; each task returns its rows' id hashes and the client flags
those duplicates afterwards (:mod:`.duplicates`), as the single-machine
reader does while streaming.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import status as _status
from ..pipeline import JobOptions, check_not_an_input, lift_chunk, normal_output, output_lock, prepared_chunks
from . import output as _output
from .cluster import open_client
from .duplicates import ids_seen_earlier
from .partitions import (Partition, choose_rows_per_partition, expand_inputs, iter_partition_tables,
                         plan_partitions)
from .worker import LifterSpec, get_lifter

__all__ = ["lift_files", "lift_dataframe", "LiftFilesSummary", "PartResult", "output_path_for"]

# How long a run waits for a remote scheduler to have at least one worker.
WAIT_FOR_WORKERS_S = 120
#: Rows per chunk inside a task: the single-machine CLI's default ``--chunk-size``.
DEFAULT_CHUNK_ROWS = 5000
_ROWS_SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class PartResult:
    """What a worker reports for one partition (the lifted rows stay on disk).

    ``hashes`` are the rows' id hashes (uint64, 8 bytes a row) for the
    cross-partition duplicate check.
    """

    path: str
    number: int
    n_rows: int = 0
    status_counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    worker_pid: int = 0
    part: str = ""
    hashes: np.ndarray = None
    notes: tuple = ()
    first_problems: tuple = ()
    error: str | None = None


@dataclass(frozen=True)
class LiftFilesSummary:
    """Outcome of :func:`lift_files`.

    Attributes
    ----------
    outputs : dict
        Input file -> output directory, for every input lifted completely.
    errors : dict
        Input file -> message naming the file (and rows) and what to do;
        such inputs get no output (an older output of theirs is left as it was).
    n_frames : int
        Rows written (all statuses).
    status_counts : dict
        Per-row ``status`` values over the written outputs.
    n_partitions : int
        Tasks run: one per partition, plus one per partition lifted again
        because it repeats ids of an earlier partition.
    n_workers : int
        Workers of the cluster when the run started.
    seconds : float
        Wall time from planning to the last commit (cluster start-up included
        when the run started its own cluster).
    notes : list of str
        Skipped malformed lines and the first rows with bad input, each
        naming its file.
    unlifted : list of str
        Inputs whose output holds no 3D pose at all (every row bad or
        unliftable): written, but almost surely not what the user wanted.
    """

    outputs: dict
    errors: dict
    n_frames: int
    status_counts: dict
    n_partitions: int
    n_workers: int
    seconds: float
    notes: list = field(default_factory=list)
    unlifted: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No input failed."""
        return not self.errors

    @property
    def n_lifted(self) -> int:
        """Rows with a usable 3D pose (the statuses of :data:`lift2d3d.status.LIFTED`)."""
        return sum(self.status_counts.get(s, 0) for s in _status.LIFTED)

    @property
    def frames_per_second(self) -> float:
        return self.n_frames / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.status_counts.items())) or "none"
        lines = [f"lifted {self.n_lifted} of {self.n_frames} rows from {len(self.outputs)} file(s) in "
                 f"{self.seconds:.1f} s ({self.frames_per_second:.0f} rows/s; {self.n_partitions} partitions "
                 f"on {self.n_workers} worker(s)); status: {counts}"]
        lines += [f"  {src} -> {dst}" for src, dst in self.outputs.items()]
        lines += [f"  note: {note}" for note in self.notes[:10]]
        lines += [f"warning: {path}: no row could be lifted; see the status and message columns of its output"
                  for path in self.unlifted]
        lines += [f"error: {message}" for message in self.errors.values()]
        return "\n".join(lines)


def output_path_for(input_path, output_dir, fmt: str) -> Path:
    """Output directory of one input: ``OUTDIR/<name without extension>_3d.<fmt>/`` holding its parts."""
    name = Path(input_path).name
    for suffix in (".csv", ".tsv", ".txt", ".json", ".npy", ".npz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return Path(output_dir) / f"{name}_3d.{fmt}"


def _estimate_rows(files) -> int:
    """Rows of all inputs from their sizes and the mean length of their first lines."""
    total = 0
    for path in files:
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                sample = handle.read(_ROWS_SAMPLE_BYTES)
        except OSError:
            continue
        if sample:
            total += int(size / (len(sample) / max(sample.count(b"\n"), 1)))
    return total


def _status_counts(frame) -> dict:
    return {str(k): int(v) for k, v in frame["status"].value_counts(sort=False).items()}


def _lift_partition(partition: Partition, spec: LifterSpec, staging: str, fmt: str, skeleton_name,
                    delimiter, chunk_rows: int, earlier_ids=None, options: JobOptions = JobOptions(),
                    reader_options=None) -> PartResult:
    """Worker task: read, lift and write one partition; a data error becomes a report, not a crash."""
    import pandas as pd

    start = time.perf_counter()
    try:
        lifter = get_lifter(spec)
        frames, hashes, notes, problems = [], [], [], []

        def tables():
            for table, row_hashes in iter_partition_tables(partition, skeleton_name, delimiter, chunk_rows,
                                                           earlier_ids, **(reader_options or {})):
                hashes.append(row_hashes)
                yield table

        # the chunks a single-machine run lifts, with the same neighbours (a sequence's partition is its file)
        for chunk in prepared_chunks(tables(), lifter, options):
            table = chunk.table
            frames.append(lift_chunk(chunk, lifter, options))
            notes.extend(table.notes)
            problems.extend(str(p) for p in table.problems[table.bad][: 3 - len(problems)])
        if not frames:
            return PartResult(partition.path, partition.number, worker_pid=os.getpid(),
                              seconds=time.perf_counter() - start, hashes=np.zeros(0, np.uint64))
        lifted = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        part = _output.write_part(lifted, staging, partition.number, fmt)
    except Exception as exc:  # any failure belongs to this partition and is reported with its location
        message = str(exc)
        if message.startswith(partition.path):  # io errors start with the file; describe() names it
            message = message[len(partition.path):].lstrip(": ")
        return PartResult(partition.path, partition.number, worker_pid=os.getpid(),
                          error=f"{partition.describe()}: {message} ({type(exc).__name__})")
    return PartResult(partition.path, partition.number, n_rows=len(lifted), status_counts=_status_counts(lifted),
                      seconds=time.perf_counter() - start, worker_pid=os.getpid(), part=str(part),
                      hashes=np.concatenate(hashes) if hashes else np.zeros(0, np.uint64),
                      notes=tuple(notes[:10]), first_problems=tuple(problems))


def _identity(value):
    return value


def _spec(lifter, bases, lifter_options) -> LifterSpec:
    """The workers' lifter recipe: from ``lifter``, or from ``bases`` and the Lifter options."""
    if lifter is None:
        return LifterSpec.create(bases, **lifter_options)
    if lifter_options or not (isinstance(bases, str) and bases == "default"):
        raise ValueError("give either lifter= or bases= and Lifter options, not both")
    return LifterSpec.from_lifter(lifter)


#: :func:`lift_files`' own keyword options and their defaults (the others are the Lifter's, or the job's
#: :class:`~lift2d3d.pipeline.JobOptions`: ``sequence``, ``fps``, ``write_camera``).
FILES_OPTIONS = dict(format=None, layout=None, delimiter=None, output_format=None, rows_per_partition=None,
                     chunk_rows=DEFAULT_CHUNK_ROWS, image_size=None, joint_map=None)
#: The job options a cluster run takes.
JOB_OPTIONS = ("sequence", "fps", "write_camera")


def lift_files(inputs, output_dir, *, lifter=None, scheduler="local", bases="default", progress=False,
               **options) -> LiftFilesSummary:
    """Lift keypoint files on a Dask cluster into partitioned outputs.

    Parameters
    ----------
    inputs : str, path or list of them
        Keypoint files or glob patterns (``"clips/*.csv"``).  Wide CSV files
        are split into row blocks; other layouts are read whole by one task.
    output_dir : path
        Receives one directory per input, ``<stem>_3d.parquet/part-NNNNN.parquet``
        (``.csv`` without pyarrow), whose parts concatenated in name order
        are the table ``lift2d3d lift`` writes for that input: same columns,
        rows and values.  Workers must see this path (a shared file system
        on a real cluster); read it back with :func:`~.output.read_lifted`.
    lifter : Lifter, optional
        The lifter to run on the workers (its bases and ``get_params()``,
        :meth:`LifterSpec.from_lifter`); or give ``bases`` and
        ``**lifter_options`` instead.
    scheduler : str or distributed.Client
        ``"local"``, ``"local:N"``, ``"tcp://HOST:PORT"``, a scheduler JSON
        file, or a connected client (left open).
    bases : str, path or ShapeBases
        Shape bases for :class:`~lift2d3d.lifter.Lifter` (without ``lifter``).
    format, layout, delimiter : str or None
        As for :func:`lift2d3d.io.read_keypoints` (None: detect).
    output_format : {"parquet", "csv"} or None
        None: Parquet when pyarrow is installed, else CSV (in the CLI's fixed
        float format).
    rows_per_partition : int or None
        Frames per task, rounded up to a multiple of ``chunk_rows``; None:
        about four tasks per worker thread, 5,000 to 50,000 rows each.
    chunk_rows : int
        Frames per lifter call inside a task (the CLI's ``--chunk-size``).
    progress : bool
        Show a progress bar (rows) on stderr.

    The remaining keywords (``**options``): ``format``, ``layout``, ``delimiter``, ``output_format``,
    ``rows_per_partition``, ``chunk_rows``, ``image_size``, ``joint_map`` (:data:`FILES_OPTIONS`), the
    job's ``sequence``, ``fps``, ``write_camera``, and any :class:`~lift2d3d.lifter.Lifter` option:

    sequence : bool
        Lift each person's rows as a sequence, as ``lift2d3d lift
        --sequence`` does: one task per file (a person's rows may be
        anywhere in it), its chunks lifted with the same neighbouring rows
        (:func:`lift2d3d.pipeline.prepared_chunks`), so the output is
        the single-machine run's.
    fps : float
        The video's frame rate, for ``sequence``.
    image_size, joint_map
        Reader options, as for :func:`lift2d3d.io.read_keypoints` (normalised
        coordinates to pixels; DeepLabCut/TRC part names to joints).
    write_camera : bool
        Add the camera columns (rotation, scale, translation), as ``lift2d3d
        lift --write-camera``.
    **lifter_options
        Passed to :class:`~lift2d3d.lifter.Lifter` (``method``, ``alpha``,
        ``camera``, ...; without ``lifter``); ``n_threads`` defaults to 1 per task.

    Returns
    -------
    LiftFilesSummary
        An input with any failed partition gets no output and an entry in
        ``errors``; the other inputs are unaffected.

    Raises
    ------
    FileNotFoundError, ValueError, ConnectionError
        Before any work starts: no input, bad options, unreachable scheduler,
        or two inputs that would write the same output.

    Examples
    --------
    >>> from lift2d3d.distributed import lift_files
    >>> summary = lift_files("clips/*.csv", "lifted", scheduler="local:2")   # doctest: +SKIP
    >>> summary.ok, summary.n_frames                                         # doctest: +SKIP
    """
    from ..io import load_joint_map, split_format
    from ..pixels import check_image_size

    start = time.perf_counter()
    mine = {name: options.pop(name, default) for name, default in FILES_OPTIONS.items()}
    job = JobOptions(**{name: options.pop(name) for name in JOB_OPTIONS if name in options})
    job = JobOptions(sequence=bool(job.sequence), fps=float(job.fps), write_camera=bool(job.write_camera))
    reader_options = {"image_size": check_image_size(mine["image_size"]),
                      "joint_map": None if mine["joint_map"] is None else load_joint_map(mine["joint_map"])}
    if int(mine["chunk_rows"]) < 1:
        raise ValueError(f"chunk_rows must be at least 1; got {mine['chunk_rows']}")
    spec = _spec(lifter, bases, options)     # what is left are the Lifter's options
    files = expand_inputs(inputs)
    skeleton_name, layout = split_format(mine["format"], mine["layout"])
    fmt = _output.output_format(mine["output_format"])
    output_dir = normal_output(output_dir)     # a/../../x is ../x: no stray a/ is made for it
    finals = {}
    for path in files:
        final = output_path_for(path, output_dir, fmt)
        clash = [other for other, taken in finals.items() if taken == final]
        if clash:
            raise ValueError(f"inputs {clash[0]} and {path} would both write {final}; lift them into separate "
                             "output directories or rename one")
        finals[path] = final
    for path in files:
        check_not_an_input(finals[path], files)
    output_dir.mkdir(parents=True, exist_ok=True)
    # one run per output: a second run on the same outputs refuses, naming the first; what a killed run
    # left behind (its staging folders) is cleared once its locks are taken over
    with ExitStack() as locks:
        for final in sorted(set(finals.values())):
            locks.enter_context(output_lock(final))
            _output.remove_leftovers(final)
        return _lift_locked(_Run(files, finals, start, spec, scheduler, progress, job),
                            dict(reader_options, skeleton_name=skeleton_name, layout=layout, fmt=fmt,
                                 delimiter=mine["delimiter"], chunk_rows=mine["chunk_rows"],
                                 rows_per_partition=mine["rows_per_partition"]))


class _Run(NamedTuple):
    """A cluster run of :func:`lift_files`: the inputs and their outputs, when it started, the lifter's spec,
    the scheduler, whether to show progress, and the job's options."""

    files: list
    finals: dict
    start: float
    spec: object
    scheduler: object
    progress: bool
    job: JobOptions


def _lift_locked(run, how):
    """:func:`lift_files` once its outputs are locked (``how``: the reader options, the input's skeleton and
    layout, the output format, the delimiter, rows per chunk and per partition)."""
    files, finals, start, spec, scheduler, progress = run.files, run.finals, run.start, run.spec, run.scheduler, \
        run.progress
    options = run.job
    sequence = options.sequence
    reader_options = {"image_size": how["image_size"], "joint_map": how["joint_map"]}
    skeleton_name, layout, fmt, delimiter = how["skeleton_name"], how["layout"], how["fmt"], how["delimiter"]
    chunk_rows, rows_per_partition = how["chunk_rows"], how["rows_per_partition"]
    run_id = uuid.uuid4().hex[:12]
    stagings = {path: _output.staging_dir(finals[path], run_id) for path in files}
    file_numbers = {path: number for number, path in enumerate(files)}

    try:
        with open_client(scheduler) as client:
            if not client.scheduler_info().get("workers"):
                client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
            nthreads = client.nthreads()
            if rows_per_partition is not None and int(rows_per_partition) < 1:
                raise ValueError(f"rows_per_partition must be at least 1; got {rows_per_partition}")
            if sequence:    # a person's rows may be anywhere in a file: one task per file, as lift_file runs it
                rows = np.iinfo(np.int64).max // 2
            elif rows_per_partition is None:
                rows = choose_rows_per_partition(_estimate_rows(files), sum(nthreads.values()), int(chunk_rows))
            else:
                rows = -(-int(rows_per_partition) // int(chunk_rows)) * int(chunk_rows)
            plan = plan_partitions(files, rows, skeleton_name, layout, delimiter)
            errors = {path: str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                      for path, exc in plan.items() if isinstance(exc, Exception)}
            # One graph key holds the lifter recipe: each worker fetches it once and keeps it.
            spec_future = client.submit(_identity, spec, key=f"lift2d3d-spec-{spec.key}", pure=False)

            def submit(jobs, stage):
                """Run ``[(partition, earlier_ids)]``; returns ``{(path, number): PartResult}``."""
                futures, where = [], {}
                for partition, earlier in jobs:
                    key = f"lift2d3d-{run_id}-{stage}-{file_numbers[partition.path]}-{partition.number}"
                    future = client.submit(_lift_partition, partition, spec_future, str(stagings[partition.path]),
                                           fmt, skeleton_name, delimiter, int(chunk_rows), earlier, options,
                                           reader_options, key=key, pure=False)
                    futures.append(future)
                    where[future.key] = partition
                try:
                    return _gather(futures, where, progress and stage == "lift")
                finally:
                    client.cancel(futures)

            jobs = [(partition, None) for path in files if path not in errors for partition in plan[path]]
            results = submit(jobs, "lift")
            # Second pass, rare: blocks holding ids first seen in an earlier block of their file.
            redo = []
            for path in files:
                parts = [results[(path, p.number)] for p in plan[path]] if path not in errors else []
                if len(parts) > 1 and not any(r.error for r in parts):
                    for partition, earlier in zip(plan[path], ids_seen_earlier([r.hashes for r in parts])):
                        if earlier.size:
                            redo.append((partition, earlier))
            if redo:
                results.update(submit(redo, "dedup"))
            n_tasks = len(jobs) + len(redo)
            n_workers = len(nthreads)
    except BaseException:
        # the cluster failed or the user interrupted: leave no partial output behind
        for staging in stagings.values():
            _output.discard(staging)
        raise

    outputs, n_frames, counts, notes, unlifted = {}, 0, Counter(), [], []
    for path in files:
        if path in errors:
            _output.discard(stagings[path])
            continue
        parts = [results[(path, p.number)] for p in plan[path]]
        failed = [r.error for r in parts if r.error]
        if not failed and sum(r.n_rows for r in parts) == 0:
            failed = [f"{path}: holds no keypoint rows"]
        if failed:
            more = f" (and {len(failed) - 1} more failed partition(s))" if len(failed) > 1 else ""
            errors[path] = failed[0] + more + "; no output was written for this file"
            _output.discard(stagings[path])
            continue
        outputs[path] = _output.commit(stagings[path], finals[path])
        file_counts = Counter()
        for r in parts:
            n_frames += r.n_rows
            file_counts.update(r.status_counts)
            notes.extend(r.notes)
        counts.update(file_counts)
        notes.extend(f"{path}: {p}" for r in parts for p in r.first_problems[:3])
        if not any(file_counts.get(s, 0) for s in _status.LIFTED):
            unlifted.append(path)
    return LiftFilesSummary(outputs=outputs, errors=errors, n_frames=n_frames, status_counts=dict(counts),
                            n_partitions=n_tasks, n_workers=n_workers,
                            seconds=time.perf_counter() - start, notes=notes, unlifted=unlifted)


def _gather(futures, where, progress) -> dict:
    """Wait for every partition; a task the cluster could not run (e.g. it killed workers repeatedly) is an error."""
    from distributed import as_completed

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(p.n_rows for p in where.values()) or None, unit="row", desc="lift")
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
    finally:
        if bar is not None:
            bar.close()
    return results


def _lift_frame(frame, spec: LifterSpec, format, sequence=False, image_size=None, write_camera=False):
    from ..pipeline import lift_table

    return lift_table(frame, get_lifter(spec), format=format, sequence=sequence, image_size=image_size,
                      write_camera=write_camera)


def lift_dataframe(ddf, bases="default", *, lifter=None, format=None, sequence=False, image_size=None,
                   write_camera=False, **lifter_options):
    """Lift every partition of a dask DataFrame of wide keypoints.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Wide keypoint table (id columns and ``<joint>_x``, ``<joint>_y``
        [, ``<joint>_score``] in pixels), as :func:`lift2d3d.lift_table` takes.
    bases : str, path or ShapeBases
        Shape bases for the lifter (without ``lifter``).
    lifter : Lifter, optional
        The lifter to run (its bases and ``get_params()``), instead of
        ``bases`` and ``**lifter_options``.
    format : str or None
        Keypoint format of the columns (None: detect from the names).
    sequence : bool
        Lift each person's rows of a partition together with shared bone
        proportions (:meth:`~lift2d3d.lifter.Lifter.lift_sequence`); keep a
        person's rows in one partition (e.g. one file per video) for this.
    image_size : (width, height), optional
        Converts normalised coordinates to pixels (see :func:`lift2d3d.lift_table`).
    write_camera : bool
        Add the camera columns (rotation, scale, translation).
    **lifter_options
        Passed to :class:`~lift2d3d.lifter.Lifter`; ``n_threads`` defaults to 1.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy, one output partition per input partition: id columns,
        ``<joint>_x/_y/_z`` (metres, camera frame), ``status``,
        ``reprojection_error``, ``iterations``, ``message``, exactly as
        :func:`lift2d3d.lift_table` gives for each partition (duplicate
        ids are flagged within a partition only).  The lifter recipe is one
        graph key, fetched once by each worker.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from lift2d3d.distributed import lift_dataframe
    >>> lifted = lift_dataframe(dd.read_csv("keypoints/*.csv", dtype={"frame": str}))  # doctest: +SKIP
    >>> lifted.to_parquet("lifted/")                                                     # doctest: +SKIP
    """
    import dask

    from ..pixels import check_image_size

    image_size = check_image_size(image_size)
    spec = _spec(lifter, bases, lifter_options)
    meta = _lift_meta(ddf, spec, format, bool(write_camera))
    spec_key = dask.delayed(spec, pure=True, traverse=False)
    return ddf.map_partitions(_lift_frame, spec_key, format, bool(sequence), image_size, bool(write_camera), meta=meta,
                              align_dataframes=False)


def _lift_meta(ddf, spec, format, write_camera=False):
    """Empty frame with the output columns and dtypes (lift_table accepts an empty table)."""
    from ..pipeline import lift_table

    return lift_table(ddf._meta, get_lifter(spec), format=format, write_camera=write_camera)
