"""Recognise a keypoint file's layout and read it, whole or in chunks.

Layouts: ``csv-wide`` (id columns + ``<joint>_x/_y[/_score]``), ``csv-long``
(``frame,joint,x,y[,score]``), ``openpose-json`` (a folder of OpenPose files),
``coco-json`` (COCO keypoint results/annotations), ``numpy`` (.npy/.npz).
The layout comes from the path (folder, extension) and, for CSV, the header;
the skeleton (``coco17``, ``h36m17`` ...) from the joint names or counts.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..skeletons import SKELETON_ALIASES, SKELETONS
from .arrays import iter_numpy
from .coco import iter_coco_json
from .csv_long import iter_long_csv
from .csv_wide import iter_wide_csv, sniff_csv
from .openpose import iter_openpose
from .table import IdHashSet, KeypointFormatError, KeypointTable, flag_duplicates

__all__ = ["LAYOUTS", "detect_layout", "iter_keypoint_chunks", "read_keypoints", "split_format"]

LAYOUTS = ("csv-wide", "csv-long", "openpose-json", "coco-json", "numpy")
_LAYOUT_ALIASES = {"wide": "csv-wide", "csv": "csv-wide", "long": "csv-long", "openpose-dir": "openpose-json",
                   "coco-results": "coco-json", "npy": "numpy", "npz": "numpy"}


def split_format(format=None, layout=None):
    """Sort a user's ``format`` into ``(skeleton name or None, layout or None)``.

    ``format`` may name a skeleton (``coco17``, ``h36m``) or a file layout
    (``csv-long``), so that ``--format`` covers both.
    """
    if format is not None:
        name = str(format).strip().lower()
        if name in LAYOUTS or name in _LAYOUT_ALIASES:
            if layout is not None:
                raise KeypointFormatError(f"format {format!r} is a layout, and layout={layout!r} was also given")
            return None, _LAYOUT_ALIASES.get(name, name)
        if name not in SKELETONS and name not in SKELETON_ALIASES:
            raise KeypointFormatError(f"unknown format {format!r}; keypoint formats: {', '.join(SKELETONS)}; "
                                      f"file layouts: {', '.join(LAYOUTS)}")
        format = SKELETON_ALIASES.get(name, name)
    if layout is not None:
        name = str(layout).strip().lower()
        layout = _LAYOUT_ALIASES.get(name, name)
        if layout not in LAYOUTS:
            raise KeypointFormatError(f"unknown layout {name!r}; layouts: {', '.join(LAYOUTS)}")
    return format, layout


def detect_layout(path, delimiter=None) -> str:
    """The layout of ``path`` (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise KeypointFormatError(f"{path}: no such file or folder")
    if path.is_dir():
        return "openpose-json"
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return "numpy"
    if suffix == ".json":
        with open(path, "rb") as handle:
            head = handle.read(4096).lstrip()
        if not head:
            raise KeypointFormatError(f"{path}: the file is empty")
        if head.startswith(b"[") or b'"people"' not in head:
            return "coco-json"
        return "openpose-json"
    _, header = sniff_csv(path, delimiter)
    return "csv-long" if "joint" in [h.lower() for h in header] else "csv-wide"


def iter_keypoint_chunks(path, format=None, layout=None, chunk_rows=10_000, delimiter=None,
                         check_duplicates=True):
    """Yield :class:`KeypointTable` chunks of about ``chunk_rows`` poses, in file order.

    Memory stays flat in the file size for CSV and ``.npy`` (JSON and
    ``.npz`` files are parsed whole).  Duplicate ids are flagged across chunks.

    Raises
    ------
    KeypointFormatError
        When the input as a whole cannot be read.
    """
    format, layout = split_format(format, layout)
    layout = layout or detect_layout(path, delimiter)
    if layout == "csv-wide":
        chunks = iter_wide_csv(path, format=format, delimiter=delimiter, chunk_rows=chunk_rows)
    elif layout == "csv-long":
        chunks = iter_long_csv(path, format=format, delimiter=delimiter, chunk_rows=chunk_rows)
    elif layout == "openpose-json":
        chunks = iter_openpose(path, format=format, chunk_rows=chunk_rows)
    elif layout == "coco-json":
        chunks = iter_coco_json(path, format=format, chunk_rows=chunk_rows)
    else:
        chunks = iter_numpy(path, format=format, chunk_rows=chunk_rows)
    seen = IdHashSet() if check_duplicates else None
    for table in chunks:
        if seen is not None:
            seen.add(flag_duplicates(table.ids, table.problems, table.where, seen))
        yield table


def _concat(tables, source) -> KeypointTable:
    if not tables:
        raise KeypointFormatError(f"{source}: holds no keypoint rows")
    first = tables[0]
    lines = (None if any(t.line_numbers is None for t in tables)
             else np.concatenate([t.line_numbers for t in tables]))
    return KeypointTable(np.concatenate([t.keypoints for t in tables]),
                         np.concatenate([t.scores for t in tables]),
                         pd.concat([t.ids for t in tables], ignore_index=True), first.skeleton,
                         np.concatenate([t.problems for t in tables]), first.source, first.layout,
                         [n for t in tables for n in t.notes], lines, first.line_label)


def read_keypoints(path, format=None, layout=None, delimiter=None, numeric_ids=True) -> KeypointTable:
    """Read a whole keypoint file into a :class:`KeypointTable`.

    Parameters
    ----------
    path : str or Path
        A CSV (wide or long), a COCO keypoint JSON, an OpenPose JSON folder
        (or one file), or a ``.npy``/``.npz`` array.
    format : str, optional
        Keypoint format (``coco17``, ``h36m17``, ``mpii16``, ``openpose25``,
        ``blazepose33``, ``body15``; detected from names when omitted), or a
        file layout (``csv-wide``, ``csv-long``, ``openpose-json``,
        ``coco-json``, ``numpy``).
    layout : str, optional
        File layout, when ``format`` names the skeleton.
    delimiter : str, optional
        CSV delimiter (detected from the header when omitted).
    numeric_ids : bool
        Turn id columns that hold only numbers into numbers (CSV readers keep
        ids as text so the batch writer can copy them verbatim).

    Returns
    -------
    KeypointTable
        ``table.keypoints`` (N, P, 2) pixels, ``table.scores`` (N, P),
        ``table.ids`` (DataFrame), ``table.skeleton``; rows that could not be
        read have a reason in ``table.problems`` (a warning says how many).
        ``table.for_lifter(lifter)`` maps onto the lifter's skeleton.

    Examples
    --------
    >>> from lift2d3d import Lifter
    >>> from lift2d3d.io import read_keypoints
    >>> table = read_keypoints("examples/sample_coco17.csv")       # doctest: +SKIP
    >>> lifter = Lifter()                                            # doctest: +SKIP
    >>> result = lifter.lift(*table.for_lifter(lifter))              # doctest: +SKIP
    """
    table = _concat(list(iter_keypoint_chunks(path, format, layout, chunk_rows=100_000, delimiter=delimiter)),
                    str(path))
    if numeric_ids:
        for column in table.ids.columns:
            if not pd.api.types.is_numeric_dtype(table.ids[column]):
                try:
                    table.ids[column] = pd.to_numeric(table.ids[column])
                except (ValueError, TypeError):
                    pass
    summary = table.problem_summary()
    if summary:
        warnings.warn(f"{path}: {summary}", stacklevel=2)
    return table
