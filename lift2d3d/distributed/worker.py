"""What each worker holds: the lifter recipe, shipped once, built once.

The client wraps the shape bases and the lifter's parameters (its
``get_params()``) in a :class:`LifterSpec` and puts it in the task graph as a single key.  Dask
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
        Keyword arguments of :class:`~lift2d3d.lifter.Lifter` other than
        ``bases`` (those set, from ``get_params()``).
    key : str
        Digest of the bases' arrays and the options: equal keys build equal lifters.
    """

    bases: object
    options: tuple
    key: str

    @classmethod
    def from_lifter(cls, lifter) -> "LifterSpec":
        """The spec of an existing lifter: its bases and its ``get_params()``.

        Parameters left at their default (None) stay so, and are worked out
        on the worker as the client would; ``n_threads`` defaults to 1 per
        task (the cluster's parallelism comes from its worker processes)
        unless the lifter sets it.  The worker builds a plain
        :class:`~lift2d3d.lifter.Lifter` with these parameters.
        """
        shape_bases = lifter.bases
        params = {k: v for k, v in lifter.get_params().items() if k != "bases" and v is not None}
        params.setdefault("n_threads", 1)
        options = tuple(sorted(params.items()))
        digest = hashlib.sha256()
        digest.update(str(shape_bases.metadata.get("arrays_sha256")).encode())
        digest.update(shape_bases.bases.tobytes())
        digest.update(shape_bases.mean_pose.tobytes())
        digest.update(json.dumps([shape_bases.skeleton.name, list(shape_bases.skeleton.joints)]).encode())
        digest.update(repr(options).encode())
        return cls(bases=shape_bases, options=options, key=digest.hexdigest()[:16])

    @classmethod
    def create(cls, bases="default", **lifter_options) -> "LifterSpec":
        """The spec of ``Lifter(bases, **lifter_options)`` (built here, so bad options fail on the client).

        Parameters
        ----------
        bases : str, path or ShapeBases
            As for :class:`~lift2d3d.lifter.Lifter`.
        **lifter_options
            Any other :class:`~lift2d3d.lifter.Lifter` parameter; ``n_threads``
            defaults to 1 (see :meth:`from_lifter`).
        """
        from ..lifter import Lifter

        return cls.from_lifter(Lifter(bases=bases, **lifter_options))

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
