"""Which solver stages a run would compile: neither compiled in this process nor in numba's on-disk cache."""

from __future__ import annotations

__all__ = ["uncompiled"]


def uncompiled(stages) -> list:
    """Names of the stage kernels (numba dispatchers) neither compiled in this process nor in numba's
    on-disk cache: the ones a run would compile."""
    cold = []
    for stage in stages:
        if stage.overloads:
            continue
        try:
            cached = bool(stage._cache._cache_file._load_index())
        except Exception:     # numba's cache layout is internal; when in doubt, say nothing
            cached = True
        if not cached:
            cold.append(stage.__name__)
    return cold
