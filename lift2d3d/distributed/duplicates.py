"""Duplicate ids across partitions of one file.

The single-machine reader flags a row whose id columns repeat an earlier
row's (status ``bad_input``, "duplicate id ... already seen at an earlier
chunk") and does not lift it.  A worker sees one block, so it flags repeats
within its block; the ids of earlier blocks are known only when all tasks
are back.  Each task returns its rows' id hashes (8 bytes a row); the client
finds the rows whose id first occurred in an earlier block and patches those
rows of the written part, which is rare and leaves every other row as it was.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

__all__ = ["flag_cross_partition_duplicates"]


def _first_earlier(hash_blocks) -> list:
    """Per block, the row indices whose hash occurs in an earlier block.

    Parameters
    ----------
    hash_blocks : list of (n_rows_k,) uint64 arrays

    Returns
    -------
    list of int arrays
    """
    lengths = [len(h) for h in hash_blocks]
    if sum(lengths) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in hash_blocks]
    everything = np.concatenate(hash_blocks)
    _, first, inverse = np.unique(everything, return_index=True, return_inverse=True)
    starts = np.repeat(np.cumsum([0] + lengths[:-1]), lengths)
    earlier = first[inverse.ravel()] < starts
    offsets = np.cumsum([0] + lengths)
    return [np.flatnonzero(earlier[offsets[k]:offsets[k + 1]]) for k in range(len(hash_blocks))]


def flag_cross_partition_duplicates(results, partitions, fmt: str) -> list:
    """Mark rows repeating an id of an earlier partition as ``bad_input``, in their parts.

    Parameters
    ----------
    results : list of PartResult
        One file's results, in partition order (no errors).
    partitions : list of Partition
        The same file's partitions.
    fmt : {"parquet", "csv"}
        Format of the parts.

    Returns
    -------
    list of PartResult
        With updated ``status_counts`` where rows were flagged.
    """
    from ..io import BAD_INPUT
    from ..io.table import IdHashSet, flag_duplicates
    from ..io.writers import RESULT_COLUMNS, joints_of
    from .output import read_part, write_part

    if len(results) < 2 or any(r.hashes is None or len(r.hashes) != r.n_rows for r in results):
        return list(results)
    repeated = _first_earlier([r.hashes for r in results])
    patched = []
    for result, partition, rows in zip(results, partitions, repeated):
        if rows.size == 0:
            patched.append(result)
            continue
        frame = read_part(result.part)
        rows = rows[frame["status"].to_numpy()[rows] != BAD_INPUT]  # a row's first problem stays its reason
        if rows.size == 0:
            patched.append(result)
            continue
        joints = joints_of(frame)
        taken = {f"{j}_{a}" for j in joints for a in "xyz"} | set(RESULT_COLUMNS)
        ids = frame.loc[rows, [c for c in frame.columns if c not in taken]].astype(object).reset_index(drop=True)
        lines = partition.first_row + 2 + rows
        problems = np.full(rows.size, "", dtype=object)
        where = lambda r: f"line {lines[r]}"  # noqa: E731
        # the io's own check words the message; its hashes of these ids seed the "seen" set
        seen = IdHashSet()
        seen.add(flag_duplicates(ids, np.full(rows.size, "x", dtype=object), where))
        flag_duplicates(ids, problems, where, seen)
        # CSV parts are read back as text so untouched cells are rewritten byte for byte
        missing, zero = (np.nan, 0) if fmt == "parquet" else ("", "0")
        frame.loc[rows, [f"{j}_{a}" for j in joints for a in "xyz"] + ["reprojection_error"]] = missing
        frame.loc[rows, "iterations"] = zero
        frame.loc[rows, "status"] = BAD_INPUT
        frame.loc[rows, "message"] = problems
        write_part(frame, Path(result.part).parent, partition.number, fmt)
        counts = {str(k): int(v) for k, v in frame["status"].value_counts(sort=False).items()}
        patched.append(dataclasses.replace(result, status_counts=counts,
                                           first_problems=result.first_problems + tuple(problems[:1])))
    return patched

