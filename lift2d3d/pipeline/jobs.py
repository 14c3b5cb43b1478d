"""One lifting job's options, and the two steps every runner takes per chunk: prepare it, lift it.

The single-machine stream (:func:`~.stream.lift_file`) and the Dask engine
(:mod:`lift2d3d.distributed`) both read chunks, map them onto the lifter's
skeleton (with the neighbouring chunks' rows of a sequence) and lift them;
they share :class:`JobOptions` and these functions by their public names, so
a job's behaviour is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from ..io import KeypointFormatError, KeypointTable
from .tables import context_frames, lift_mapped, sequence_context

__all__ = ["JobOptions", "Chunk", "prepared_chunks", "lift_chunk"]


@dataclass(frozen=True)
class JobOptions:
    """What a job does with each chunk besides the lifter's own settings.

    Attributes
    ----------
    sequence : bool
        Lift each person's rows as one sequence (:meth:`Lifter.lift_sequence`).
    fps : float
        The video's frame rate, for ``sequence``.
    write_camera : bool
        Add the camera columns.
    output_skeleton : str, optional
        Write the joints in another skeleton's order.
    depth_order : DepthOrderTable, optional
        Ordinal depth hints by row id (:func:`lift2d3d.io.read_depth_order`).
    """

    sequence: bool = False
    fps: float = 30.0
    write_camera: bool = False
    output_skeleton: Optional[str] = None
    depth_order: Any = None


@dataclass
class Chunk:
    """A chunk read and mapped onto the lifter's skeleton.

    ``keypoints`` (N, P, 2) and ``scores`` (N, P) in the lifter's joint
    order; ``context`` the neighbouring chunks' rows of its people's
    sequences (``sequence`` jobs only).
    """

    table: KeypointTable
    keypoints: np.ndarray
    scores: np.ndarray
    context: Any = None


def prepared_chunks(tables, lifter, options: JobOptions) -> Iterator[Chunk]:
    """The chunks of ``tables`` mapped onto ``lifter``'s skeleton (once: for lifting and for counting the
    rows that give each joint); with ``options.sequence``, each with the rows of the neighbouring chunks
    that join its people's sequences (:func:`~.tables.sequence_context`; the next chunk is read before a
    chunk is yielded).

    Raises
    ------
    KeypointFormatError
        No joint of the input's skeleton maps onto the lifter's.
    """
    previous = current = None
    first = True
    n_context = context_frames(lifter, options.fps) if options.sequence else 0
    for table in tables:
        if first:
            mapping = table.mapping_to(lifter)
            if not (mapping.direct or mapping.derived):
                raise KeypointFormatError(f"{table.source}: no joint of {table.skeleton.name} maps onto the bases' "
                                          f"skeleton {lifter.skeleton.name}")
            first = False
        item = Chunk(table, *table.mapping_to(lifter).apply(table.keypoints, table.scores))
        if not options.sequence:
            yield item
            continue
        if current is not None:
            current.context = sequence_context(current.table, _pair(previous), _pair(item), n_context)
            yield current
        previous, current = current, item
    if options.sequence and current is not None:
        current.context = sequence_context(current.table, _pair(previous), None, n_context)
        yield current


def _pair(chunk):
    return None if chunk is None else (chunk.table, chunk.keypoints, chunk.scores)


def lift_chunk(chunk: Chunk, lifter, options: JobOptions):
    """The lifted table (a DataFrame, one row per input row) of a prepared chunk."""
    return lift_mapped(chunk.table, chunk.keypoints, chunk.scores, lifter, options.sequence,
                       write_camera=options.write_camera, output_skeleton=options.output_skeleton,
                       depth_order=options.depth_order, fps=options.fps, context=chunk.context)
