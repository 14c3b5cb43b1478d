"""Splitting keypoint files into partitions that workers read on their own.

A CSV file is cut at line boundaries into blocks of ``rows_per_partition``
data rows.  The client scans each file once for the byte offsets of those
boundaries (a sequential read at disk speed, far cheaper than lifting), so a
worker can seek straight to its block and every partition knows its first
row: error messages then name the real line of the file, and the id columns
and row order of the output are those of a single-machine run.

Files in other formats (JSON, per-frame folders, ...) are read whole by
:func:`lift2d3d.io.read_keypoints` in one partition each.
"""

from __future__ import annotations

import glob
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Partition", "expand_inputs", "plan_partitions", "plan_csv_partitions", "read_partition",
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
        file through :func:`lift2d3d.io.read_keypoints`.
    header : bytes
        The file's header line, prepended to each block when it is parsed.
    """

    path: str
    number: int
    first_row: int
    n_rows: int
    byte_start: int = 0
    byte_stop: int = -1
    header: bytes = b""

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


def choose_rows_per_partition(total_rows: int, n_worker_threads: int) -> int:
    """Rows per block: enough tasks for balance, few enough to keep overhead small.

    Parameters
    ----------
    total_rows : int
        Frames across all inputs.
    n_worker_threads : int
        Task slots in the cluster.

    Returns
    -------
    int
        ``total_rows / (TASKS_PER_WORKER * n_worker_threads)`` clipped to
        ``[MIN_ROWS_PER_PARTITION, MAX_ROWS_PER_PARTITION]``.
    """
    wanted = -(-max(total_rows, 1) // (TASKS_PER_WORKER * max(n_worker_threads, 1)))
    return int(min(MAX_ROWS_PER_PARTITION, max(MIN_ROWS_PER_PARTITION, wanted)))


def _is_csv(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith((".csv", ".tsv", ".txt"))


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
    if not header.endswith(b"\n"):
        header += b"\n"  # a header-only file without a final newline
    boundaries, size, n_rows = _row_boundaries(path, data_start, rows_per_partition)
    partitions = []
    for number, start in enumerate(boundaries):
        stop = boundaries[number + 1] if number + 1 < len(boundaries) else size
        first_row = number * rows_per_partition
        count = min(rows_per_partition, n_rows - first_row)
        partitions.append(Partition(path=path, number=number, first_row=first_row, n_rows=max(count, 0),
                                    byte_start=start, byte_stop=stop, header=header))
    return partitions


def plan_partitions(files, rows_per_partition: int) -> dict:
    """Partitions of every input: CSV files in row blocks, other formats whole.

    Returns
    -------
    dict
        ``{path: list of Partition}`` in input order; a file that cannot be
        planned maps to the ``OSError``/``ValueError`` that says why.
    """
    plan = {}
    for path in files:
        try:
            if _is_csv(path):
                plan[path] = plan_csv_partitions(path, rows_per_partition)
            else:
                plan[path] = [Partition(path=path, number=0, first_row=0, n_rows=0)]
        except (OSError, ValueError) as exc:
            plan[path] = exc
    return plan


def read_partition(partition: Partition):
    """Read one block into a DataFrame whose index is the file's row number.

    Returns
    -------
    pandas.DataFrame
        The block's rows with the file's header; index ``first_row, first_row+1, ...``.
    """
    import pandas as pd

    if partition.whole_file:
        from ..io import read_keypoints

        return read_keypoints(partition.path)
    with open(partition.path, "rb") as handle:
        handle.seek(partition.byte_start)
        block = handle.read(partition.byte_stop - partition.byte_start)
    sep = "\t" if partition.path.lower().endswith(".tsv") else ","
    frame = pd.read_csv(io.BytesIO(partition.header + block), sep=sep)
    frame.index = pd.RangeIndex(partition.first_row, partition.first_row + len(frame))
    return frame
