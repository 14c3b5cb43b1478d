"""Splitting keypoint files into partitions that workers read on their own.

A wide CSV file is cut at line boundaries into blocks of ``rows_per_partition``
data rows.  The client scans each file once for the byte offsets of those
boundaries (a sequential read at disk speed, far cheaper than lifting), so a
worker can seek straight to its block and every partition knows its first
row: error messages then name the real line of the file, and the id columns
and row order of the output are those of a single-machine run.

Files in other layouts (long CSV, JSON, OpenPose and MMPose folders,
MediaPipe, DeepLabCut and TRC files, NumPy) are read whole by
:func:`lift2d3d.io.iter_keypoint_chunks` in one partition each.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Partition", "expand_inputs", "plan_partitions", "plan_csv_partitions", "iter_partition_tables",
           "choose_rows_per_partition"]

# Partition sizing.  A task costs the scheduler about a millisecond; lifting
# runs at thousands of frames per second per worker, so blocks of tens of
# thousands of rows keep scheduling overhead far below 1% while leaving
# several tasks per worker for load balance and cheap recomputation when a
# worker dies.
MIN_ROWS_PER_PARTITION = 2_000
MAX_ROWS_PER_PARTITION = 50_000
TASKS_PER_WORKER = 4

_READ_BLOCK = 1 << 24  # 16 MiB: large sequential reads while scanning for row boundaries


@dataclass(frozen=True)
class Partition:
    """One block of one input file.

    Attributes
    ----------
    path : str
        The input file.
    number : int
        Position of the block within the file (0-based); names the output part.
    first_row : int
        0-based index of the block's first data row (the header is not a row);
        the row is on line ``first_row + 2`` of the file.
    n_rows : int
        Data rows in the block (blank lines included).
    byte_start, byte_stop : int
        Byte range of the block's rows; ``byte_stop = -1`` means the whole
        file, read by :func:`lift2d3d.io.iter_keypoint_chunks`.
    layout : str
        The file's layout (``csv-wide`` for row blocks; any layout of
        :mod:`lift2d3d.io` for whole files).
    """

    path: str
    number: int
    first_row: int
    n_rows: int
    byte_start: int = 0
    byte_stop: int = -1
    layout: str = "csv-wide"

    @property
    def whole_file(self) -> bool:
        return self.byte_stop < 0

    def describe(self) -> str:
        """Human-readable location, e.g. ``a.csv rows 0-49999 (lines 2-50001)``."""
        if self.whole_file:
            return self.path
        last = self.first_row + self.n_rows - 1
        return f"{self.path} rows {self.first_row}-{last} (lines {self.first_row + 2}-{last + 2})"


def expand_inputs(inputs) -> list:
    """Resolve input paths and glob patterns into a sorted, de-duplicated file list.

    Parameters
    ----------
    inputs : str, path or iterable of them
        Files, directories of per-frame files, or glob patterns
        (``"runs/*/keypoints.csv"``, ``**`` allowed).

    Returns
    -------
    list of str
        Each pattern's matches sorted by name, in the order given.

    Raises
    ------
    FileNotFoundError
        Naming the first path or pattern that matches nothing.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files, seen = [], set()
    for item in inputs:
        item = os.fspath(item)
        if glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise FileNotFoundError(f"input pattern {item!r} matches no file; quote the pattern so the "
                                        "shell does not expand it, and check the directory")
        elif os.path.exists(item):
            matches = [item]
        else:
            raise FileNotFoundError(f"input {item!r} not found; check the path")
        for match in matches:
            key = os.path.abspath(match)
            if key not in seen:
                seen.add(key)
                files.append(match)
    return files


def choose_rows_per_partition(total_rows: int, n_worker_threads: int, chunk_rows: int = 5000) -> int:
    """Rows per block: enough tasks for balance, few enough to keep overhead small.

    Parameters
    ----------
    total_rows : int
        Frames across all inputs.
    n_worker_threads : int
        Task slots in the cluster.
    chunk_rows : int
        The single-machine reader's chunk; blocks are whole multiples of it
        so that chunk-dependent messages match a single-machine run.

    Returns
    -------
    int
        ``total_rows / (TASKS_PER_WORKER * n_worker_threads)`` clipped to
        ``[MIN_ROWS_PER_PARTITION, MAX_ROWS_PER_PARTITION]``, rounded up to
        a multiple of ``chunk_rows``.
    """
    wanted = -(-max(total_rows, 1) // (TASKS_PER_WORKER * max(n_worker_threads, 1)))
    rows = min(MAX_ROWS_PER_PARTITION, max(MIN_ROWS_PER_PARTITION, wanted))
    return int(-(-rows // chunk_rows) * chunk_rows)


def _row_boundaries(path: str, data_start: int, rows_per_partition: int):
    """Byte offsets where each block of ``rows_per_partition`` rows starts, and the row count."""
    boundaries = [data_start]
    size = os.path.getsize(path)
    rows_before_chunk = 0  # complete rows seen before the current chunk
    next_boundary_row = rows_per_partition
    last_byte = b""
    with open(path, "rb") as handle:
        handle.seek(data_start)
        position = data_start
        while True:
            chunk = handle.read(_READ_BLOCK)
            if not chunk:
                break
            n_newlines = chunk.count(b"\n")
            if rows_before_chunk + n_newlines >= next_boundary_row:
                newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 0x0A)
                # newline k of the chunk ends row rows_before_chunk + k + 1
                k = next_boundary_row - rows_before_chunk - 1
                while k < len(newlines):
                    boundaries.append(position + int(newlines[k]) + 1)
                    next_boundary_row += rows_per_partition
                    k += rows_per_partition
            rows_before_chunk += n_newlines
            position += len(chunk)
            last_byte = chunk[-1:]
    n_rows = rows_before_chunk + (1 if size > data_start and last_byte != b"\n" else 0)
    if boundaries[-1] >= size and len(boundaries) > 1:
        boundaries.pop()  # the file ends exactly on a block boundary
    return boundaries, size, n_rows


def plan_csv_partitions(path: str, rows_per_partition: int) -> list:
    """Cut one CSV file into :class:`Partition` blocks at line boundaries.

    Quoted fields spanning lines are not supported (keypoint tables have none).
    """
    with open(path, "rb") as handle:
        header = handle.readline()
    data_start = len(header)
    if not header.strip():
        raise ValueError(f"{path}: empty file or empty header line; a keypoint CSV starts with a header "
                         "naming its columns (e.g. frame,nose_x,nose_y,nose_score,...)")
    boundaries, size, n_rows = _row_boundaries(path, data_start, rows_per_partition)
    partitions = []
    for number, start in enumerate(boundaries):
        stop = boundaries[number + 1] if number + 1 < len(boundaries) else size
        first_row = number * rows_per_partition
        count = min(rows_per_partition, n_rows - first_row)
        partitions.append(Partition(path=path, number=number, first_row=first_row, n_rows=max(count, 0),
                                    byte_start=start, byte_stop=stop))
    return partitions


def plan_partitions(files, rows_per_partition: int, skeleton_name=None, layout=None, delimiter=None) -> dict:
    """Partitions of every input: wide CSV files in row blocks, other layouts whole.

    Parameters
    ----------
    files : list of str
    rows_per_partition : int
    skeleton_name, layout, delimiter
        Keypoint format, file layout and CSV delimiter (None: detect), as
        :func:`lift2d3d.io.split_format` returns them; checked here, on the
        client, so that an unusable file is reported before any work starts.

    Returns
    -------
    dict
        ``{path: list of Partition}`` in input order; a file that cannot be
        planned maps to the exception that says why (it names the file).
    """
    from ..io import check_csv_header, detect_layout

    plan = {}
    for path in files:
        try:
            file_layout = layout or detect_layout(path, delimiter)
            if file_layout == "csv-wide" and os.path.isfile(path):
                check_csv_header(path, format=skeleton_name, delimiter=delimiter)
                plan[path] = plan_csv_partitions(path, rows_per_partition)
            else:
                plan[path] = [Partition(path=path, number=0, first_row=0, n_rows=0, layout=file_layout)]
        except (OSError, ValueError) as exc:  # KeypointFormatError is a ValueError
            plan[path] = exc
    return plan


def iter_partition_tables(partition: Partition, skeleton_name=None, delimiter=None, chunk_rows: int = 5000,
                          earlier_ids=None, image_size=None, joint_map=None):
    """Yield the partition's rows as :class:`~lift2d3d.io.KeypointTable` chunks of ``chunk_rows``.

    A row block is parsed exactly as :func:`lift2d3d.io.iter_keypoint_chunks`
    parses the whole file (same pandas options, same per-row problem
    messages with the file's line numbers, duplicate ids flagged across the
    block's chunks), so that with ``rows_per_partition`` a multiple of
    ``chunk_rows`` every chunk, and so every output row, is the one a
    single-machine run produces.  A whole-file partition is read by
    ``iter_keypoint_chunks`` itself.

    Parameters
    ----------
    partition : Partition
    skeleton_name : str or None
        Keypoint format of the columns (``coco17`` ...; None: detect).
    delimiter : str or None
        CSV delimiter (None: detect from the header).
    chunk_rows : int
        Rows per chunk, as ``lift2d3d lift --chunk-size``.
    earlier_ids : uint64 array, optional
        Id hashes of earlier partitions of the file that recur in this one
        (see :mod:`.duplicates`); their rows are flagged as duplicates.
    image_size, joint_map
        Reader options, as for :func:`lift2d3d.io.iter_keypoint_chunks`.

    Yields
    ------
    (KeypointTable, hashes)
        The chunk and its rows' id hashes (uint64), for the cross-partition
        duplicate check.
    """
    from ..io import IdHashSet, flag_duplicates, iter_csv_block, iter_keypoint_chunks

    if partition.whole_file:
        chunks = iter_keypoint_chunks(partition.path, skeleton_name, partition.layout, chunk_rows=chunk_rows,
                                      delimiter=delimiter, check_duplicates=False, image_size=image_size,
                                      joint_map=joint_map)
    else:
        chunks = iter_csv_block(partition.path, partition.byte_start, partition.byte_stop, partition.first_row,
                                label=partition.describe(), format=skeleton_name, delimiter=delimiter,
                                chunk_rows=chunk_rows, image_size=image_size)
    seen = IdHashSet()
    if earlier_ids is not None:
        seen.add(np.asarray(earlier_ids, dtype=np.uint64))
    for table in chunks:
        hashes = flag_duplicates(table.ids, table.problems, table.where, seen)
        seen.add(hashes)
        yield table, hashes
