"""Depth-order files: ordinal depth hints for ``lift2d3d lift --depth-order FILE``.

A CSV with the keypoint input's id columns (``frame``, ``person``, ``video``
... as many as identify a row) and three more: ``joint_a``, ``relation``
(``<``: joint_a is nearer the camera than joint_b; ``>``: farther; ``=``:
about the same depth) and ``joint_b``.  One line per relation; a row of the
input may have several.  Joint names are any supported skeleton's
(:func:`lift2d3d.skeletons.canonical_joint_name`); the relations themselves
are checked per frame when lifting (:mod:`lift2d3d.depth_order`), so a bad
relation marks its frame, not the whole file::

    frame,person,joint_a,relation,joint_b
    12,0,left_wrist,<,left_elbow
    12,0,left_knee,>,right_knee
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .table import KeypointFormatError

__all__ = ["DepthOrderTable", "read_depth_order", "RELATION_COLUMNS"]

#: The columns after the id columns.
RELATION_COLUMNS = ("joint_a", "relation", "joint_b")


@dataclass
class DepthOrderTable:
    """Relations by row id.

    Attributes
    ----------
    id_columns : tuple of str
        The id columns the file names rows by.
    relations : dict
        ``{id tuple (as text): [(joint_a, relation, joint_b), ...]}``.
    source : str
    """

    id_columns: tuple
    relations: dict
    source: str

    def for_rows(self, ids: pd.DataFrame):
        """Per row of ``ids`` (the keypoint table's id columns), its list of relations (maybe empty).

        Raises
        ------
        KeypointFormatError
            The keypoint rows lack one of the file's id columns.
        """
        missing = [c for c in self.id_columns if c not in ids.columns]
        if missing:
            raise KeypointFormatError(f"{self.source}: names rows by {', '.join(self.id_columns)}, but the keypoint "
                                      f"input has no column {', '.join(missing)} (its id columns: "
                                      f"{', '.join(map(str, ids.columns)) or 'none'})")
        keys = ids[list(self.id_columns)].astype(str).itertuples(index=False, name=None)
        return [self.relations.get(tuple(key), []) for key in keys]

    def unmatched(self, seen_keys) -> int:
        """How many of the file's rows name an id outside ``seen_keys`` (id tuples as text)."""
        return sum(len(v) for k, v in self.relations.items() if k not in seen_keys)


def read_depth_order(path) -> DepthOrderTable:
    """Read a depth-order CSV (see the module notes).

    Raises
    ------
    KeypointFormatError
        The file is missing, empty, or lacks the relation columns (the message names the file and the fix).
    """
    path = Path(path)
    if not path.is_file():
        raise KeypointFormatError(f"{path}: no such depth-order file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise KeypointFormatError(f"{path}: not a readable CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    absent = [c for c in RELATION_COLUMNS if c not in frame.columns]
    if absent:
        raise KeypointFormatError(f"{path}: a depth-order file needs the columns joint_a, relation, joint_b after the "
                                  f"input's id columns; it lacks {', '.join(absent)} "
                                  f"(it has {', '.join(frame.columns)})")
    id_columns = tuple(c for c in frame.columns if c not in RELATION_COLUMNS)
    if not id_columns:
        raise KeypointFormatError(f"{path}: no id column: name the rows the relations are about with the keypoint "
                                  "input's id columns (e.g. frame, person)")
    relations = {}
    for row in frame.itertuples(index=False):
        values = dict(zip(frame.columns, row))
        key = tuple(str(values[c]).strip() for c in id_columns)
        relations.setdefault(key, []).append(tuple(str(values[c]).strip() for c in RELATION_COLUMNS))
    return DepthOrderTable(id_columns=id_columns, relations=relations, source=str(path))
