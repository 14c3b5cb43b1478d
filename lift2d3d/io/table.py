"""The in-memory keypoint table every reader returns, and the checks shared by readers.

A :class:`KeypointTable` holds one row per (frame, person): id columns kept as
they came, 2D keypoints, confidence scores, the skeleton they follow, and a
per-row ``problems`` message (empty when the row is fine).  Rows with a
problem (a non-numeric cell, an absurd value, a duplicate id) are kept, so
that a batch writes them with status ``bad_input`` and the reason, instead
of dying or dropping them silently.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import status as _status
from ..mapping import JointMapping, check_keypoints
from ..skeletons import SKELETONS, Skeleton, canonical_joint_name, get_skeleton

__all__ = ["KeypointTable", "KeypointFormatError", "normalise_joint_name", "detect_skeleton", "check_values",
           "flag_duplicates", "IdHashSet", "MAX_ABS_COORDINATE", "BAD_INPUT", "NO_PERSON", "NO_PERSON_MESSAGE"]

#: Coordinates beyond this many pixels are treated as corrupt (alias of
#: :data:`lift2d3d.status.MAX_ABS_PIXELS`, kept under its old name).
MAX_ABS_COORDINATE = _status.MAX_ABS_PIXELS

#: Status written for rows the readers rejected (see ``KeypointTable.problems``).
BAD_INPUT = _status.STATUSES[_status.BAD_INPUT].name
#: Status written for a frame in which the detector found nobody (``KeypointTable.no_person``).
NO_PERSON = _status.STATUSES[_status.NO_PERSON].name
NO_PERSON_MESSAGE = "no person in this frame (the detector found nobody); nothing to lift"


class KeypointFormatError(ValueError):
    """The input as a whole cannot be read (the message names the file and the fix)."""


#: Canonical snake_case joint name (``"LShoulder"`` -> ``"left_shoulder"``): the skeletons' rule.
normalise_joint_name = canonical_joint_name


def _known_joints() -> dict:
    known = {}
    for skeleton in SKELETONS.values():
        for joint in skeleton.joints:
            known.setdefault(joint, []).append(skeleton.name)
    return known


def detect_skeleton(joints, format=None, source="input") -> Skeleton:
    """The registered skeleton that the joint names ``joints`` belong to.

    With ``format`` given, every name must be a joint of that skeleton.
    Without it, the skeleton containing all names with the fewest extra joints
    wins (so a COCO table is ``coco17`` rather than the larger ``blazepose33``).

    Raises
    ------
    KeypointFormatError
        Unknown joint names (with the closest known names and the likely
        format), or names that contradict ``format``.
    """
    joints = list(dict.fromkeys(joints))
    if not joints:
        raise KeypointFormatError(f"{source}: no keypoint columns found; expected columns such as "
                                  "nose_x, nose_y (wide CSV) or frame,joint,x,y (long CSV)")
    names = set(joints)
    scored = sorted(((len(names & set(s.joints)), -s.n_joints, s.name) for s in SKELETONS.values()),
                    reverse=True)
    likely = scored[0][2]
    likely_text = f"{likely} ({scored[0][0]} of {len(names)} names match)"
    if format is not None:
        try:
            skeleton = get_skeleton(format)
        except KeyError as exc:
            raise KeypointFormatError(f"{source}: {exc.args[0]}") from None
        foreign = [j for j in joints if j not in skeleton._index]
        if foreign:
            raise KeypointFormatError(
                f"{source}: format mismatch: {len(foreign)} joint(s) are not {skeleton.name} joints: "
                f"{', '.join(foreign[:8])}{' ...' if len(foreign) > 8 else ''}. The columns look like "
                f"{likely_text}; use --format {likely} (format={likely!r}) or leave the format out to "
                "detect it.")
        return skeleton
    known = _known_joints()
    unknown = [j for j in joints if j not in known]
    if unknown:
        hints = []
        for name in unknown[:5]:
            close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
            hints.append(f"{name!r} (did you mean {', '.join(close)}?)" if close else repr(name))
        raise KeypointFormatError(
            f"{source}: unknown joint name(s): {'; '.join(hints)}"
            f"{' ...' if len(unknown) > 5 else ''}. The other names look like {likely_text}. Rename the "
            f"columns to {likely} joint names ({', '.join(get_skeleton(likely).joints[:6])}, ...); "
            f"known formats: {', '.join(SKELETONS)}")
    containing = [s for s in SKELETONS.values() if names <= set(s.joints)]
    if not containing:
        raise KeypointFormatError(
            f"{source}: the joint names mix several formats (closest: {likely_text}); no single format "
            f"has all of {', '.join(sorted(names))}. Pass --format NAME and drop the other columns.")
    return min(containing, key=lambda s: (s.n_joints - len(names), s.name))


@dataclass
class KeypointTable:
    """Keypoints of many frames/persons, with their ids.

    Parameters
    ----------
    keypoints : (n_rows, n_joints, 2) float64, pixels (x right, y down); NaN = missing
    scores : (n_rows, n_joints) float64, confidence; 0 = missing
    ids : pandas.DataFrame with n_rows rows
        Id columns (``frame``, ``person``, ``video``, ...) exactly as read.
    skeleton : Skeleton
        Joint order of ``keypoints``.
    problems : (n_rows,) object array of str
        ``""`` for a good row, else why it cannot be lifted (row and column named).
    source : str
        Where the rows came from (for messages).
    layout : str
        The reader used (``csv-wide``, ``csv-long``, ``openpose-json``, ``coco-json``, ``numpy``,
        ``mmpose-json``, ``mediapipe-csv``, ``deeplabcut-csv``, ``deeplabcut-h5``, ``trc``, ``memory``).
    no_person : (n_rows,) bool, optional
        Rows that stand for a frame in which the detector found nobody (an
        OpenPose ``"people": []`` file, an MMPose frame without instances):
        kept so that every frame of the input has a row, written with status
        ``no_person`` and never lifted.

    Examples
    --------
    >>> table = read_keypoints("examples/sample_coco17.csv")          # doctest: +SKIP
    >>> lifter = Lifter()                                               # doctest: +SKIP
    >>> result = lifter.lift(*table.for_lifter(lifter))                 # doctest: +SKIP
    """

    keypoints: np.ndarray
    scores: np.ndarray
    ids: pd.DataFrame
    skeleton: Skeleton
    problems: np.ndarray = None
    source: str = "<memory>"
    layout: str = "memory"
    notes: list = field(default_factory=list)
    line_numbers: np.ndarray = None
    line_label: str = "row"
    no_person: np.ndarray = None

    def __post_init__(self):
        self.skeleton = get_skeleton(self.skeleton)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float64)
        n = self.keypoints.shape[0]
        if self.keypoints.shape != (n, self.skeleton.n_joints, 2):
            raise ValueError(f"keypoints must have shape (n_rows, {self.skeleton.n_joints}, 2) for "
                             f"{self.skeleton.name}; got {self.keypoints.shape}")
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if self.scores.shape != (n, self.skeleton.n_joints):
            raise ValueError(f"scores must have shape {(n, self.skeleton.n_joints)}; got {self.scores.shape}")
        self.ids = self.ids.reset_index(drop=True)
        if len(self.ids) != n:
            raise ValueError(f"ids have {len(self.ids)} rows but keypoints {n}")
        if self.problems is None:
            self.problems = np.full(n, "", dtype=object)
        self.problems = np.asarray(self.problems, dtype=object)
        self.no_person = (np.zeros(n, dtype=bool) if self.no_person is None
                          else np.asarray(self.no_person, dtype=bool).reshape(n))

    def where(self, row: int) -> str:
        """Where row ``row`` came from, for messages (``"line 17"`` for CSV files)."""
        if self.line_numbers is None:
            return f"{self.line_label} {row}"
        return f"{self.line_label} {self.line_numbers[row]}"

    def take(self, rows) -> "KeypointTable":
        """The rows ``rows`` (a slice, index array or boolean mask) as a new table."""
        ids = self.ids.iloc[rows] if not isinstance(rows, np.ndarray) or rows.dtype != bool else self.ids[rows]
        lines = None if self.line_numbers is None else self.line_numbers[rows]
        return KeypointTable(self.keypoints[rows], self.scores[rows], ids, self.skeleton, self.problems[rows],
                             self.source, self.layout, list(self.notes), lines, self.line_label,
                             self.no_person[rows])

    def __len__(self) -> int:
        return self.keypoints.shape[0]

    @property
    def joint_names(self) -> tuple:
        return self.skeleton.joints

    @property
    def good(self) -> np.ndarray:
        """(n_rows,) bool: rows to lift (no reader problem, and a person in the frame)."""
        return (self.problems == "") & ~self.no_person

    @property
    def bad(self) -> np.ndarray:
        """(n_rows,) bool: rows with a reader problem (status ``bad_input``)."""
        return self.problems != ""

    def as_arrays(self):
        """``(keypoints (N,P,2), scores (N,P), ids DataFrame, skeleton name)``."""
        return self.keypoints, self.scores, self.ids, self.skeleton.name

    def mapping_to(self, target) -> JointMapping:
        """The :class:`~lift2d3d.mapping.JointMapping` onto ``target``.

        ``target`` is a skeleton (or its name), or anything with a
        ``skeleton`` attribute (a ``Lifter``, ``ShapeBases``).
        """
        return JointMapping(self.skeleton, getattr(target, "skeleton", target))

    def map_to(self, target) -> "KeypointTable":
        """This table with its keypoints mapped onto ``target``'s skeleton (see :meth:`mapping_to`)."""
        mapping = self.mapping_to(target)
        if mapping.is_identity:
            return self
        keypoints, scores = mapping.apply(self.keypoints, self.scores)
        return KeypointTable(keypoints, scores, self.ids, mapping.target, self.problems.copy(),
                             self.source, self.layout, self.notes + [mapping.report()], self.line_numbers,
                             self.line_label, self.no_person.copy())

    def for_lifter(self, lifter):
        """``(keypoints, scores)`` in ``lifter.joint_names`` order, ready for ``lifter.lift``.

        Rows with a reader problem get score 0 everywhere, so the lifter
        reports them (``too_few_joints``) instead of fitting garbage.
        """
        mapped = self.map_to(lifter)
        scores = mapped.scores.copy()
        scores[~mapped.good] = 0.0
        return mapped.keypoints, scores

    def to_frame(self) -> pd.DataFrame:
        """Wide DataFrame: id columns, then ``<joint>_x``, ``<joint>_y``, ``<joint>_score``."""
        columns = {name: self.ids[name].to_numpy() for name in self.ids.columns}
        for j, joint in enumerate(self.skeleton.joints):
            columns[f"{joint}_x"] = self.keypoints[:, j, 0]
            columns[f"{joint}_y"] = self.keypoints[:, j, 1]
            columns[f"{joint}_score"] = self.scores[:, j]
        return pd.DataFrame(columns)

    def problem_summary(self, limit: int = 3) -> str:
        """One line on how many rows have problems, with the first few reasons."""
        bad = np.flatnonzero(self.bad)
        if bad.size == 0:
            return ""
        first = "; ".join(self.problems[i] for i in bad[:limit])
        more = f"; and {bad.size - limit} more" if bad.size > limit else ""
        return f"{bad.size} row(s) with bad input are kept with status '{BAD_INPUT}' (first: {first}{more})"


def check_values(keypoints, scores, problems, where, columns):
    """Flag rows with infinite or absurd coordinates or bad scores, in place.

    The rules are :func:`lift2d3d.mapping.check_keypoints`' (the Lifter's
    too): a joint missing by its score (0) or a NaN coordinate becomes NaN
    with score 0; an infinite or absurd coordinate (whatever its score), or a
    negative or infinite score, makes the row's problem, which names the row
    and the column.

    Parameters
    ----------
    keypoints : (n, P, 2) float; scores : (n, P) float; problems : (n,) object
    where : callable(row) -> str
        Describes a row for messages ("line 17", "file x.json").
    columns : callable(joint_index, axis) -> str
        Names the offending column (axis 0 = x, 1 = y, 2 = score).
    """
    if len(keypoints) == 0:
        return
    check = check_keypoints(keypoints, scores)
    for r in np.flatnonzero(check.status != 0):
        if problems[r]:
            continue
        hit = np.argwhere(check.bad_coordinates[r])
        if hit.size:
            j, a = hit[0]
            problems[r] = (f"{where(r)}, column {columns(j, a)}: value {float(keypoints[r, j, a]):g} is not a "
                           f"plausible pixel coordinate (limit ±{MAX_ABS_COORDINATE:g})")
        else:
            j = np.flatnonzero(check.bad_scores[r])[0]
            problems[r] = (f"{where(r)}, column {columns(j, 2)}: score {float(scores[r, j]):g} must be a finite "
                           "number >= 0 (0 = missing)")
    # A bad value must not reach the solver even if the row were used; a missing joint is plainly
    # missing (OpenPose and COCO write 0, 0, 0 for "not detected").
    keypoints[...] = check.keypoints
    scores[...] = check.scores


def flag_duplicates(ids: pd.DataFrame, problems, where, seen=None):
    """Flag rows whose id tuple already occurred (in this table or in ``seen``), in place.

    ``seen`` is an optional :class:`IdHashSet` carrying ids of earlier chunks.
    Returns the row hashes (uint64) for the caller to add to ``seen``.
    """
    if ids.shape[1] == 0 or len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy()
    dup_here = pd.Series(hashes).duplicated().to_numpy()
    dup_before = seen.contains(hashes) if seen is not None else np.zeros(len(hashes), dtype=bool)
    flagged = np.flatnonzero(dup_here | dup_before)
    first_row = {}
    if flagged.size:
        for r, h in enumerate(hashes):
            first_row.setdefault(h, r)
    for r in flagged:
        if problems[r]:
            continue
        key = ", ".join(f"{c}={ids.iat[r, k]}" for k, c in enumerate(ids.columns))
        earlier = where(first_row[hashes[r]]) if dup_here[r] else "an earlier chunk"
        problems[r] = f"{where(r)}: duplicate id ({key}) already seen at {earlier}; row not lifted"
    return hashes


class IdHashSet:
    """Set of 64-bit id hashes for duplicate checks across chunks.

    A few sorted NumPy arrays merged like a binary counter (insert amortised
    O(log n), lookup by binary search), so 10 million ids cost 80 MB instead
    of the ~1 GB of a Python set.
    """

    def __init__(self):
        self._levels = []

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for level in self._levels:
            if len(level) == 0:
                continue
            pos = np.searchsorted(level, hashes)
            pos[pos == len(level)] = 0
            found |= level[pos] == hashes
        return found

    def add(self, hashes: np.ndarray):
        merged = np.sort(np.asarray(hashes, dtype=np.uint64))
        if merged.size == 0:
            return
        while self._levels and len(self._levels[-1]) <= len(merged):
            merged = np.sort(np.concatenate([self._levels.pop(), merged]))
        self._levels.append(merged)
