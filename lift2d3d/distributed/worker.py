"""What each worker holds: the lifter recipe, shipped once, built once.

The client wraps the shape bases and the lifter options in a
:class:`LifterSpec` and puts it in the task graph as a single key.  Dask
moves that key to a worker the first time one of its tasks needs it and keeps
it in the worker's memory, so the bases cross the network once per worker
however many partitions follow; if the worker dies the key is simply
recomputed from the graph.  The :class:`~lift2d3d.lifter.Lifter` itself is
built on first use in each worker process and cached there, and its first
lift compiles (or loads from numba's on-disk cache) the solver kernels.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass

__all__ = ["LifterSpec", "get_lifter"]

_LIFTERS: dict = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class LifterSpec:
    """Everything a worker needs to build the same Lifter as the client.

    Attributes
    ----------
    bases : ShapeBases
        The shape bases (a few hundred kB at most).
    options : tuple of (str, object)
        Keyword arguments of :class:`~lift2d3d.lifter.Lifter` other than ``bases``.
    key : str
        Digest of the bases' arrays and the options: equal keys build equal lifters.
    """

    bases: object
    options: tuple
    key: str

    @classmethod
    def create(cls, bases="default", **lifter_options) -> "LifterSpec":
        """Build the spec, checking the options by constructing a Lifter here.

        Parameters
        ----------
        bases : str, path or ShapeBases
            As for :class:`~lift2d3d.lifter.Lifter`.
        **lifter_options
            ``method``, ``alpha``, ``beta``, ``camera``, ``height``,
            ``max_iter``, ``tol``, ``n_threads``.  ``n_threads`` defaults to 1:
            the cluster's parallelism comes from its worker processes.
        """
        from ..bases import ShapeBases
        from ..lifter import Lifter

        shape_bases = ShapeBases.load(bases)
        lifter_options.setdefault("n_threads", 1)
        options = tuple(sorted(lifter_options.items()))
        Lifter(bases=shape_bases, **dict(options))  # bad options fail here, on the client, not on every worker
        digest = hashlib.sha256()
        digest.update(str(shape_bases.metadata.get("arrays_sha256")).encode())
        digest.update(shape_bases.bases.tobytes())
        digest.update(shape_bases.mean_pose.tobytes())
        digest.update(json.dumps([shape_bases.skeleton.name, list(shape_bases.skeleton.joints)]).encode())
        digest.update(repr(options).encode())
        return cls(bases=shape_bases, options=options, key=digest.hexdigest()[:16])

    def __dask_tokenize__(self):
        return ("lift2d3d.LifterSpec", self.key)

    def build(self):
        """A new Lifter from this spec."""
        from ..lifter import Lifter

        return Lifter(bases=self.bases, **dict(self.options))


def get_lifter(spec: LifterSpec):
    """The process's Lifter for ``spec``, built on first call.

    Tasks on the threads of one worker share it; the lock only guards the
    one-time construction.
    """
    lifter = _LIFTERS.get(spec.key)
    if lifter is None:
        with _LOCK:
            lifter = _LIFTERS.get(spec.key)
            if lifter is None:
                lifter = spec.build()
                _LIFTERS[spec.key] = lifter
    return lifter
