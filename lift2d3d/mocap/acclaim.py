"""Acclaim ASF/AMC motion capture (CMU's native format, also HDM05 and Vicon exports).

An ASF file describes a skeleton, an AMC file the motion of that skeleton.
This module parses both, runs forward kinematics, and maps the bones onto
``body15`` (:func:`read_asf_amc`).

ASF conventions (Acclaim ASF definition V1.10, with CMU's reading of it)
-----------------------------------------------------------------------
* ``:units``: ``length L`` is a multiplier of the file's base unit, the
  inch: one file unit is ``0.0254 / L`` metres (CMU's ``length 0.45``: one
  unit is 1/0.45 inch = 0.05644 m, as the CMU FAQ states).  ``angle deg``
  or ``rad`` applies to the ASF's angles and, unless the AMC says
  ``:DEGREES`` or ``:RADIANS``, to the AMC's.
* ``:root``: ``order`` lists the root's AMC values (``TX TY TZ RX RY RZ`` in
  any order and subset); ``axis`` is the order of the ``orientation``
  offset's rotations; ``position`` and ``orientation`` are pre-set offsets.
* Each bone has ``direction`` (a unit vector in the world frame of the rest
  pose), ``length``, ``axis a b c ORDER`` (the bone's local frame ``C``:
  rotations by ``a``, ``b``, ``c`` about x, y, z applied in ``ORDER``) and
  ``dof`` (a subset of ``rx ry rz`` in any order: the order of the bone's
  AMC values and the order in which they are applied).
* A rotation "in order XYZ" applies x first, then y, then z, each about the
  fixed axes: ``R = Rz(c) @ Ry(b) @ Rx(a)`` (for column vectors).

Forward kinematics
------------------
The root's world rotation is ``R_axis(orientation) @ M_root`` and its
position ``position + (tx, ty, tz)``.  A bone's world rotation is
``R_parent @ C @ M @ C^-1`` with ``M`` the rotation of its dof angles; its
end point is its parent's end point (the root's position for the root's
children) plus ``length * R @ direction``.  Translation and length dofs
(``tx ty tz l``) on bones other than the root are refused with a clear
error: the corpora this reader was written for (CMU, HDM05, Vicon
BodyBuilder) do not use them, and readers disagree on their meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["AcclaimError", "AcclaimBone", "AcclaimSkeleton", "AcclaimMotion", "parse_asf", "load_asf",
           "parse_amc", "load_amc", "acclaim_forward_kinematics", "rotation_sequence", "read_asf_amc",
           "find_asf", "ACCLAIM_MAP", "INCH"]

#: Metres per inch: the base unit of ASF lengths.
INCH = 0.0254

_ROTATION_DOFS = ("rx", "ry", "rz")
_ROOT_TOKENS = ("tx", "ty", "tz", "rx", "ry", "rz")

#: body15 joints as bone *end points* of the CMU/Vicon skeleton (a list: the midpoint of the
#: listed bones' ends).  The head is the midpoint of the ``head`` bone (from the end of
#: ``upperneck`` to the end of ``head``): see :func:`read_asf_amc`.
ACCLAIM_MAP = {
    "left_shoulder": "lclavicle", "left_elbow": "lhumerus", "left_wrist": "lradius",
    "left_hip": "lhipjoint", "left_knee": "lfemur", "left_ankle": "ltibia",
    "right_shoulder": "rclavicle", "right_elbow": "rhumerus", "right_wrist": "rradius",
    "right_hip": "rhipjoint", "right_knee": "rfemur", "right_ankle": "rtibia",
    "head": ["upperneck", "head"],
}


class AcclaimError(ValueError):
    """An ASF or AMC file is malformed or truncated (the message names the file and line)."""


@dataclass
class AcclaimBone:
    """One bone of an ASF skeleton.

    Parameters
    ----------
    name : str
    direction : (3,) float
        Unit vector, world frame of the rest pose.
    length : float, file units
    axis : (3,) float, radians
        Angles about x, y, z of the bone's local frame.
    axis_order : str
        Order in which the ``axis`` rotations are applied, e.g. ``"XYZ"``.
    dof : tuple of str
        Subset of ``rx ry rz`` in AMC value order.
    parent : str
        Parent bone name (``"root"`` for the root's children).
    line : int
        Line of the ASF where the bone begins (for messages).
    """

    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axis_order: str = "XYZ"
    dof: tuple = ()
    parent: str = ""
    line: int = 0


@dataclass
class AcclaimSkeleton:
    """A parsed ASF file.

    Attributes
    ----------
    bones : list of AcclaimBone
        Parents before children (hierarchy order).
    length_unit : float
        The ``:units length`` multiplier (file units are ``0.0254 / length_unit`` m).
    angle_unit : {"deg", "rad"}
    root_order : tuple of str
        The root's AMC value order, lower case (``("tx", "ty", "tz", "rx", "ry", "rz")``).
    root_axis : str
        Rotation order of the root's ``orientation`` offset.
    root_position : (3,) float, file units
    root_orientation : (3,) float, radians
    source : str
    """

    bones: list
    length_unit: float = 1.0
    angle_unit: str = "deg"
    root_order: tuple = _ROOT_TOKENS
    root_axis: str = "XYZ"
    root_position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    root_orientation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    source: str = "<string>"

    @property
    def bone_names(self) -> list:
        return [bone.name for bone in self.bones]

    def bone(self, name: str) -> AcclaimBone:
        for bone in self.bones:
            if bone.name == name:
                return bone
        raise KeyError(name)

    @property
    def metres_per_unit(self) -> float:
        return INCH / self.length_unit


@dataclass
class AcclaimMotion:
    """A parsed AMC file.

    Attributes
    ----------
    frame_numbers : (n_frames,) int
    root : (n_frames, len(root_order)) float
        Root values in the skeleton's ``root_order`` (file units, angles in radians).
    bones : dict of str -> (n_frames, n_dof) float, radians
        Each bone's values in its dof order.
    source : str
    """

    frame_numbers: np.ndarray
    root: np.ndarray
    bones: dict
    source: str = "<string>"

    @property
    def n_frames(self) -> int:
        return len(self.frame_numbers)


# ----------------------------------------------------------------------------------------- rotations
def _axis_rotations(axis: str, angles: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations by ``angles`` (radians) about coordinate axis ``axis`` ('x', 'y' or 'z')."""
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros(angles.shape + (3, 3))
    i = "xyz".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    out[:, i, i] = 1.0
    out[:, j, j] = c
    out[:, k, k] = c
    out[:, j, k] = -s
    out[:, k, j] = s
    return out


def rotation_sequence(order: str, angles: np.ndarray) -> np.ndarray:
    """Rotations applied in ``order`` about fixed axes.

    Parameters
    ----------
    order : str
        Axis letters in the order they are applied, e.g. ``"XYZ"``.
    angles : (n, len(order)) float, radians
        One column per letter of ``order``.

    Returns
    -------
    (n, 3, 3) float
        ``R = R_last @ ... @ R_first``: ``"XYZ"`` gives ``Rz @ Ry @ Rx``.
    """
    angles = np.atleast_2d(np.asarray(angles, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), (angles.shape[0], 3, 3)).copy()
    for column, letter in enumerate(order.lower()):
        out = _axis_rotations(letter, angles[:, column]) @ out
    return out


# ----------------------------------------------------------------------------------------- ASF
def _tokens(line: str) -> list:
    # the definition makes commas and parentheses whitespace; '#' starts a comment
    return line.split("#", 1)[0].replace(",", " ").replace("(", " ").replace(")", " ").split()


def _number(token: str, source: str, line_no: int, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise AcclaimError(f"{source}: line {line_no}: {what}: {token!r} is not a number") from None
    if not np.isfinite(value):
        raise AcclaimError(f"{source}: line {line_no}: {what}: {token!r} is not a finite number")
    return value


def _numbers(tokens, n, source, line_no, what) -> np.ndarray:
    if len(tokens) != n:
        raise AcclaimError(f"{source}: line {line_no}: {what} needs {n} numbers; got {len(tokens)}: "
                           f"{' '.join(tokens)!r}")
    return np.array([_number(t, source, line_no, what) for t in tokens])


def _order_token(token: str, source: str, line_no: int, what: str) -> str:
    if len(token) != 3 or sorted(token.lower()) != ["x", "y", "z"]:
        raise AcclaimError(f"{source}: line {line_no}: {what}: rotation order {token!r} must be a permutation "
                           "of XYZ")
    return token.upper()


def parse_asf(text: str, source: str = "<string>") -> AcclaimSkeleton:
    """Parse ASF text.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        Name used in error messages.

    Returns
    -------
    AcclaimSkeleton

    Raises
    ------
    AcclaimError
        Unknown keywords, non-numbers, a bone without name, direction or
        length, unsupported dofs, a hierarchy naming an unknown bone or
        leaving a bone unattached, or a file that ends inside a block;
        the message names the line.
    """
    lines = text.splitlines()
    skeleton = AcclaimSkeleton(bones=[], source=source)
    angle_scale = np.pi / 180.0
    section = None
    bones: dict = {}
    current = None     # dict of the bone being read
    in_block = False   # inside begin/end
    last_key = None    # "limits" continues over several lines
    root_seen = {}
    hierarchy: list = []
    saw_bonedata = saw_hierarchy = False
    for index, raw in enumerate(lines):
        line_no = index + 1
        stripped = raw.strip()
        if stripped.startswith(":"):
            if in_block:
                raise AcclaimError(f"{source}: line {line_no}: {stripped.split()[0]!r} inside a begin/end block "
                                   "(a missing 'end')")
            parts = stripped.split()
            section = parts[0][1:].lower()
            if section == "bonedata":
                saw_bonedata = True
            elif section == "hierarchy":
                saw_hierarchy = True
            continue
        tokens = _tokens(raw)
        if not tokens or section in (None, "version", "name", "documentation"):
            if section is None and tokens:
                raise AcclaimError(f"{source}: line {line_no}: not an ASF file: expected a ':keyword' line "
                                   f"(e.g. ':version'), got {stripped[:40]!r}")
            continue
        key = tokens[0].lower()
        if section == "units":
            if key == "length":
                skeleton.length_unit = _number(tokens[1] if len(tokens) > 1 else "", source, line_no, "length unit")
                if skeleton.length_unit <= 0:
                    raise AcclaimError(f"{source}: line {line_no}: length unit must be positive")
            elif key == "angle":
                unit = tokens[1].lower() if len(tokens) > 1 else ""
                if unit not in ("deg", "rad"):
                    raise AcclaimError(f"{source}: line {line_no}: angle unit must be 'deg' or 'rad'; got {unit!r}")
                skeleton.angle_unit = unit
                angle_scale = np.pi / 180.0 if unit == "deg" else 1.0
            # mass and vendor units are irrelevant to kinematics
        elif section == "root":
            if key == "order":
                order = tuple(t.lower() for t in tokens[1:])
                bad = [t for t in order if t not in _ROOT_TOKENS]
                if bad or len(set(order)) != len(order):
                    raise AcclaimError(f"{source}: line {line_no}: root order {' '.join(tokens[1:])!r}: expected "
                                       "distinct tokens from TX TY TZ RX RY RZ")
                skeleton.root_order = order
            elif key == "axis":
                skeleton.root_axis = _order_token(tokens[1] if len(tokens) > 1 else "", source, line_no, "root axis")
            elif key == "position":
                skeleton.root_position = _numbers(tokens[1:], 3, source, line_no, "root position")
            elif key == "orientation":
                skeleton.root_orientation = _numbers(tokens[1:], 3, source, line_no, "root orientation") * angle_scale
            else:
                raise AcclaimError(f"{source}: line {line_no}: unknown root keyword {tokens[0]!r} (expected order, "
                                   "axis, position, orientation)")
            root_seen[key] = line_no
        elif section == "bonedata":
            if key == "begin":
                if in_block:
                    raise AcclaimError(f"{source}: line {line_no}: 'begin' inside a bone (a missing 'end')")
                in_block, current, last_key = True, {"line": line_no}, None
            elif key == "end":
                if not in_block:
                    raise AcclaimError(f"{source}: line {line_no}: 'end' without 'begin'")
                in_block = False
                bone = _finish_bone(current, source, line_no)
                if bone.name in bones or bone.name == "root":
                    raise AcclaimError(f"{source}: line {line_no}: bone {bone.name!r} is defined twice")
                bones[bone.name] = bone
            elif not in_block:
                raise AcclaimError(f"{source}: line {line_no}: {tokens[0]!r} outside a begin/end block")
            elif key == "id":
                pass
            elif key == "name":
                if len(tokens) != 2:
                    raise AcclaimError(f"{source}: line {line_no}: 'name' needs one bone name")
                current["name"] = tokens[1]
            elif key == "direction":
                current["direction"] = _numbers(tokens[1:], 3, source, line_no, "direction")
            elif key == "length":
                current["length"] = _numbers(tokens[1:], 1, source, line_no, "length")[0]
            elif key == "axis":
                if len(tokens) != 5:
                    raise AcclaimError(f"{source}: line {line_no}: 'axis' needs three angles and an order "
                                       f"(e.g. 'axis 0 0 20 XYZ'); got {' '.join(tokens[1:])!r}")
                current["axis"] = _numbers(tokens[1:4], 3, source, line_no, "axis") * angle_scale
                current["axis_order"] = _order_token(tokens[4], source, line_no, "axis")
            elif key == "dof":
                dof = tuple(t.lower() for t in tokens[1:])
                other = [t for t in dof if t not in _ROTATION_DOFS]
                if [t for t in other if t not in ("tx", "ty", "tz", "l")]:
                    raise AcclaimError(f"{source}: line {line_no}: unknown dof(s) {', '.join(other)}; expected "
                                       "rx ry rz (tx ty tz l)")
                if other:
                    raise AcclaimError(f"{source}: line {line_no}: bone dof(s) {', '.join(other)} (translation or "
                                       "length) are not supported; only the root may translate")
                if len(set(dof)) != len(dof):
                    raise AcclaimError(f"{source}: line {line_no}: a dof is listed twice: {' '.join(dof)}")
                current["dof"] = dof
            elif key in ("limits", "bodymass", "cofmass"):
                pass   # joint limits, masses: not needed for kinematics
            elif last_key == "limits" and all(_is_number_or_inf(t) for t in tokens):
                pass   # continuation lines of limits
            else:
                raise AcclaimError(f"{source}: line {line_no}: unknown bone keyword {tokens[0]!r} (expected id, "
                                   "name, direction, length, axis, dof, limits)")
            if key in ("limits", "begin", "end", "id", "name", "direction", "length", "axis", "dof", "bodymass",
                       "cofmass"):
                last_key = key
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            hierarchy.append((tokens, line_no))
        # other sections (:skin, vendor extensions) are ignored
    if in_block:
        raise AcclaimError(f"{source}: line {len(lines)}: file ends inside a bone block (the file is truncated)")
    if not saw_bonedata or not bones:
        raise AcclaimError(f"{source}: line {len(lines)}: no :bonedata (the file is truncated or not an ASF file)")
    if not saw_hierarchy or not hierarchy:
        raise AcclaimError(f"{source}: line {len(lines)}: no :hierarchy (the file is truncated)")
    parents = {}
    for tokens, line_no in hierarchy:
        for name in tokens:
            if name != "root" and name not in bones:
                raise AcclaimError(f"{source}: line {line_no}: hierarchy names bone {name!r}, which :bonedata "
                                   "does not define")
        for child in tokens[1:]:
            if child in parents:
                raise AcclaimError(f"{source}: line {line_no}: bone {child!r} has two parents")
            parents[child] = tokens[0]
    orphans = [name for name in bones if name not in parents]
    if orphans:
        raise AcclaimError(f"{source}: :hierarchy does not attach bone(s) {', '.join(orphans)}")
    # order parents first (breadth-first from the root, children in file order)
    ordered, frontier = [], ["root"]
    while frontier:
        parent = frontier.pop(0)
        for name in bones:
            if parents[name] == parent:
                bones[name].parent = parent
                ordered.append(bones[name])
                frontier.append(name)
    if len(ordered) != len(bones):
        unreachable = sorted(set(bones) - {b.name for b in ordered})
        raise AcclaimError(f"{source}: :hierarchy has a cycle; bone(s) {', '.join(unreachable)} do not descend "
                           "from root")
    skeleton.bones = ordered
    return skeleton


def _is_number_or_inf(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _finish_bone(entry: dict, source: str, line_no: int) -> AcclaimBone:
    for key in ("name", "direction", "length"):
        if key not in entry:
            raise AcclaimError(f"{source}: line {line_no}: the bone that begins on line {entry['line']} has no "
                               f"{key!r}")
    direction = entry["direction"]
    norm = float(np.linalg.norm(direction))
    if norm == 0.0 and entry["length"] != 0.0:
        raise AcclaimError(f"{source}: line {line_no}: bone {entry['name']!r} has a zero direction")
    return AcclaimBone(name=entry["name"], direction=direction / norm if norm else direction,
                       length=float(entry["length"]), axis=entry.get("axis", np.zeros(3)),
                       axis_order=entry.get("axis_order", "XYZ"), dof=entry.get("dof", ()), line=entry["line"])


def load_asf(path) -> AcclaimSkeleton:
    """Read and parse an ASF file (see :func:`parse_asf`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AcclaimError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_asf(text, source=str(path))


# ----------------------------------------------------------------------------------------- AMC
_INTEGER = re.compile(r"^\d+$")


def parse_amc(text: str, skeleton: AcclaimSkeleton, source: str = "<string>") -> AcclaimMotion:
    """Parse AMC text for ``skeleton``.

    Parameters
    ----------
    text : str
        The whole file: optional comments (``#``) and ``:FULLY-SPECIFIED``,
        ``:DEGREES`` or ``:RADIANS`` lines, then frames: a frame number on
        its own line, then one ``bone v1 v2 ...`` line per bone with dofs
        (values in the bone's dof order; the root's in ``root_order``).

    Returns
    -------
    AcclaimMotion
        Angles in radians.

    Raises
    ------
    AcclaimError
        A bone the ASF does not define, a bone line with the wrong number
        of values or a non-number, a bone twice in one frame, a frame that
        lacks a bone (a truncated last frame included), frame numbers that
        do not count up by one, or no frames; the message names the line.
    """
    lines = text.splitlines()
    angle_scale = np.pi / 180.0 if skeleton.angle_unit == "deg" else 1.0
    expected = {bone.name: len(bone.dof) for bone in skeleton.bones if bone.dof}
    expected["root"] = len(skeleton.root_order)
    rows = {name: [] for name in expected}
    frame_numbers, frame_lines = [], []
    seen: dict = {}
    ordered = list(expected)

    def close_frame(end_line):
        if not frame_numbers:
            return
        missing = [name for name in ordered if name not in seen]
        if missing:
            what = "the last frame" if end_line is None else f"frame {frame_numbers[-1]}"
            where = len(lines) if end_line is None else end_line
            hint = " (the file is truncated)" if end_line is None else ""
            raise AcclaimError(f"{source}: line {where}: {what} (from line {frame_lines[-1]}) lacks bone(s) "
                               f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}{hint}")

    for index, raw in enumerate(lines):
        line_no = index + 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(":"):
            if frame_numbers:
                raise AcclaimError(f"{source}: line {line_no}: header keyword {stripped!r} after the first frame")
            keyword = stripped.split()[0].upper()
            if keyword == ":DEGREES":
                angle_scale = np.pi / 180.0
            elif keyword == ":RADIANS":
                angle_scale = 1.0
            continue   # :FULLY-SPECIFIED and vendor keywords
        tokens = stripped.split()
        if len(tokens) == 1 and _INTEGER.match(tokens[0]):
            close_frame(line_no)
            number = int(tokens[0])
            if frame_numbers and number != frame_numbers[-1] + 1:
                raise AcclaimError(f"{source}: line {line_no}: frame {number} follows frame {frame_numbers[-1]}; "
                                   "frame numbers must count up by one")
            frame_numbers.append(number)
            frame_lines.append(line_no)
            seen = {}
            continue
        if not frame_numbers:
            raise AcclaimError(f"{source}: line {line_no}: expected a frame number before bone values; got "
                               f"{stripped[:40]!r}")
        name = tokens[0]
        if name not in expected:
            known = name in {bone.name for bone in skeleton.bones}
            reason = ("has no dofs in the ASF" if known else
                      f"is not a bone of the skeleton {skeleton.source}")
            raise AcclaimError(f"{source}: line {line_no}: bone {name!r} {reason}; the AMC must match its ASF")
        if name in seen:
            raise AcclaimError(f"{source}: line {line_no}: bone {name!r} appears twice in frame {frame_numbers[-1]} "
                               f"(first on line {seen[name]})")
        if len(tokens) - 1 != expected[name]:
            dofs = " ".join(skeleton.root_order) if name == "root" else " ".join(skeleton.bone(name).dof)
            raise AcclaimError(f"{source}: line {line_no}: bone {name!r} has {len(tokens) - 1} values; its dofs "
                               f"({dofs}) need {expected[name]} (truncated or malformed line)")
        seen[name] = line_no
        rows[name].append((tokens[1:], line_no))
    if not frame_numbers:
        raise AcclaimError(f"{source}: line {len(lines)}: no frames (an AMC file lists a frame number, then one "
                           "line per bone)")
    close_frame(None)
    values = {}
    for name, entries in rows.items():
        try:
            array = np.array([entry[0] for entry in entries], dtype=np.float64).reshape(len(entries), expected[name])
        except ValueError:
            for entry, line_no in entries:
                for token in entry:
                    _number(token, source, line_no, f"bone {name!r}")
            raise  # pragma: no cover
        if not np.all(np.isfinite(array)):
            row = int(np.flatnonzero(~np.all(np.isfinite(array), axis=1))[0])
            raise AcclaimError(f"{source}: line {entries[row][1]}: bone {name!r} has a non-finite value")
        values[name] = array
    root = values.pop("root").copy()
    for column, token in enumerate(skeleton.root_order):
        if token.startswith("r"):
            root[:, column] *= angle_scale
    for name in values:
        values[name] = values[name] * angle_scale
    return AcclaimMotion(frame_numbers=np.array(frame_numbers), root=root, bones=values, source=source)


def load_amc(path, skeleton: AcclaimSkeleton) -> AcclaimMotion:
    """Read and parse an AMC file for ``skeleton`` (see :func:`parse_amc`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AcclaimError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_amc(text, skeleton, source=str(path))


# ----------------------------------------------------------------------------------------- kinematics
def acclaim_forward_kinematics(skeleton: AcclaimSkeleton, motion: AcclaimMotion):
    """World end points and rotations of every bone.

    Parameters
    ----------
    skeleton : AcclaimSkeleton
    motion : AcclaimMotion

    Returns
    -------
    ends : dict of str -> (n_frames, 3) float, file units
        End point of each bone, and ``"root"``: the root's position.
    rotations : dict of str -> (n_frames, 3, 3) float
        World rotation of each bone (and of the root).
    """
    n = motion.n_frames
    order = skeleton.root_order
    translation = np.broadcast_to(skeleton.root_position, (n, 3)).copy()
    for axis, token in enumerate(("tx", "ty", "tz")):
        if token in order:
            translation[:, axis] += motion.root[:, order.index(token)]
    rotation_tokens = [t for t in order if t.startswith("r")]
    root_m = rotation_sequence("".join(t[1] for t in rotation_tokens),
                               motion.root[:, [order.index(t) for t in rotation_tokens]])
    offset = rotation_sequence(skeleton.root_axis, skeleton.root_orientation[["xyz".index(a)
                                                                              for a in skeleton.root_axis.lower()]])
    ends = {"root": translation}
    rotations = {"root": offset @ root_m}
    for bone in skeleton.bones:
        C = rotation_sequence(bone.axis_order, bone.axis[["xyz".index(a) for a in bone.axis_order.lower()]])[0]
        if bone.dof:
            M = rotation_sequence("".join(d[1] for d in bone.dof), motion.bones[bone.name])
            local = C @ M @ C.T
        else:
            local = np.broadcast_to(np.eye(3), (n, 3, 3))
        world = rotations[bone.parent] @ local
        rotations[bone.name] = world
        ends[bone.name] = ends[bone.parent] + bone.length * (world @ bone.direction)
    return ends, rotations


def find_asf(amc_path) -> Path:
    """The ASF of an AMC: ``<take>.asf`` next to it, else the subject's ``SS.asf`` (CMU: ``SS_TT.amc``).

    Raises
    ------
    FileNotFoundError
        Naming the AMC and every ASF file looked for.
    """
    amc_path = Path(amc_path)
    candidates = [amc_path.with_suffix(".asf")]
    subject = amc_path.stem.split("_")[0]
    if subject != amc_path.stem:
        candidates.append(amc_path.with_name(subject + ".asf"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    found = sorted(p.name for p in amc_path.parent.glob("*.asf"))
    others = f"; the folder holds {', '.join(found)}" if found else "; the folder holds no .asf file"
    raise FileNotFoundError(f"{amc_path}: no skeleton file: looked for {' and '.join(str(c) for c in candidates)}"
                            f"{others}. Pass the ASF with asf= (--asf)")


def read_asf_amc(amc, asf=None, fps: float = 120.0, units="auto", mapping=None):
    """Read an AMC take with its ASF skeleton as body15 joints in metres.

    Parameters
    ----------
    amc : str or Path
        The ``.amc`` motion file.
    asf : str, Path or AcclaimSkeleton, optional
        Its skeleton; default: found by :func:`find_asf`.
    fps : float
        Frame rate: AMC files do not record it (CMU's takes are 120 fps).
    units : "auto" or float
        Metres per file unit; ``"auto"`` reads the ASF's ``:units length``
        (one unit is ``0.0254 / length`` m).
    mapping : dict, optional
        body15 joint -> bone (or list of bones) whose end point is the
        joint; default :data:`ACCLAIM_MAP` (CMU/Vicon bone names).

    Returns
    -------
    MocapClip
        body15 joints (n_frames, 15, 3) in metres, y up, in the file's axes.

    Notes
    -----
    Joint definitions: the shoulder is the end of ``clavicle`` (the
    glenohumeral joint), the elbow the end of ``humerus``, the wrist the end
    of ``radius``, the hip the end of ``hipjoint`` (the femoral head), the
    knee the end of ``femur``, the ankle the end of ``tibia``; pelvis and neck
    are the midpoints of the hips and shoulders.  The head is the centre of
    the skull, taken as the midpoint of the ``head`` bone, which runs from
    the top of the neck (the end of ``upperneck``) to the crown.
    """
    from .clip import MocapClip, assemble_body15

    amc = Path(amc)
    if isinstance(asf, AcclaimSkeleton):
        skeleton = asf
    else:
        skeleton = load_asf(asf if asf is not None else find_asf(amc))
    motion = load_amc(amc, skeleton)
    joint_map = ACCLAIM_MAP if mapping is None else mapping
    missing = sorted({name for entry in joint_map.values() for name in ([entry] if isinstance(entry, str) else entry)}
                     - set(skeleton.bone_names))
    if missing:
        raise ValueError(f"{amc}: the skeleton {skeleton.source} has no bone(s) {', '.join(missing)}; its bones are "
                         f"{', '.join(skeleton.bone_names)}. Pass mapping= (body15 joint -> bone whose end is it)")
    ends, _ = acclaim_forward_kinematics(skeleton, motion)
    scale = skeleton.metres_per_unit if (isinstance(units, str) and units == "auto") else float(units)

    def joint(ours):
        entry = joint_map[ours]
        names = [entry] if isinstance(entry, str) else list(entry)
        return np.mean([ends[name] for name in names], axis=0)

    limbs = {ours: joint(ours) for ours in joint_map if ours != "head"}
    joints3d = assemble_body15(limbs, joint("head")) * scale
    return MocapClip(joints3d=joints3d, up=np.array([0.0, 1.0, 0.0]), fps=float(fps), source=str(amc))
