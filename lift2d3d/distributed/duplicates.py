"""Duplicate ids across partitions of one file.

The single-machine reader flags a row whose id columns repeat an earlier
row's (status ``bad_input``, "duplicate id ... already seen at an earlier
chunk") and does not lift it.  A worker sees one block, so it flags repeats
within its block; the ids of earlier blocks are known only when all tasks
are back.  Each task returns its rows' id hashes (8 bytes a row); the client
finds, per block, the ids that first occurred in an earlier block, and the
few blocks holding such repeats are lifted once more with those ids marked
as seen.  Re-lifting (rather than patching rows) keeps every lifter call on
exactly the rows a single-machine run passes it, so the output stays
identical bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ids_seen_earlier"]


def ids_seen_earlier(hash_blocks) -> list:
    """Per block, the id hashes that already occurred in an earlier block.

    Parameters
    ----------
    hash_blocks : list of (n_rows_k,) uint64 arrays
        Id hashes of each block's rows, blocks in file order.

    Returns
    -------
    list of uint64 arrays
        Sorted unique hashes; empty for blocks without such repeats (always
        for the first block).
    """
    lengths = [len(h) for h in hash_blocks]
    if sum(lengths) == 0:
        return [np.zeros(0, dtype=np.uint64) for _ in hash_blocks]
    everything = np.concatenate(hash_blocks).astype(np.uint64, copy=False)
    _, first, inverse = np.unique(everything, return_index=True, return_inverse=True)
    starts = np.repeat(np.cumsum([0] + lengths[:-1]), lengths)
    earlier = first[inverse.ravel()] < starts
    offsets = np.cumsum([0] + lengths)
    return [np.unique(everything[offsets[k]:offsets[k + 1]][earlier[offsets[k]:offsets[k + 1]]])
            for k in range(len(hash_blocks))]
