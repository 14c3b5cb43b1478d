"""BVH motion capture: parser and forward kinematics for any rig.

The parser reads the HIERARCHY (joints, offsets, channels in any order,
position channels on any joint, end sites) and the MOTION block, and
reports malformed or truncated files with the line number.  Forward
kinematics turns the channels into world positions in the file's own units
and axes; :func:`lift2d3d.mocap.read_bvh` then maps a rig onto ``body15``.

Conventions (those of Biovision and of the common exporters):

* Rotation channels are Euler angles in degrees, composed intrinsically in
  the order listed: ``Zrotation Xrotation Yrotation`` means
  ``R = Rz(z) @ Rx(x) @ Ry(y)``.
* A joint's position in its parent frame is its ``OFFSET``, except along
  axes that have a position channel, where the channel value replaces it
  (exporters that write 6 channels on every joint store the offset in them;
  ``position_channels="add"`` selects the other convention).
* The world position of a joint is ``p_parent + R_parent @ t`` and its
  world rotation ``R_parent @ R_local``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["BVHError", "BVHJoint", "BVHData", "parse_bvh", "load_bvh", "forward_kinematics", "read_bvh",
           "guess_units"]

_CHANNELS = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")


class BVHError(ValueError):
    """A BVH file is malformed or truncated (the message names the file and line)."""


@dataclass
class BVHJoint:
    """One joint of a BVH hierarchy.

    Parameters
    ----------
    name : str
    parent : int
        Index of the parent joint, -1 for the root.
    offset : (3,) float, file units
        Position in the parent frame at rest.
    channels : tuple of str
        Channel names in file order (may be empty).
    channel_start : int
        Column of the first channel in a MOTION row.
    end_site : (3,) float or None, file units
        Offset of the ``End Site`` child, if any.
    """

    name: str
    parent: int
    offset: np.ndarray
    channels: tuple = ()
    channel_start: int = 0
    end_site: np.ndarray | None = None


@dataclass
class BVHData:
    """A parsed BVH file.

    Attributes
    ----------
    joints : list of BVHJoint
        In file order (parents before children).
    motion : (n_frames, n_channels) float
        Channel values, file units and degrees.
    frame_time : float, seconds
    source : str
        File name (for messages).
    """

    joints: list
    motion: np.ndarray
    frame_time: float
    source: str = "<string>"
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._index = {joint.name: i for i, joint in enumerate(self.joints)}

    @property
    def joint_names(self) -> list:
        return [joint.name for joint in self.joints]

    @property
    def n_frames(self) -> int:
        return self.motion.shape[0]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time if self.frame_time > 0 else float("nan")

    def index(self, name: str) -> int:
        return self._index[name]


class _Lines:
    """Token stream over the HIERARCHY that remembers line numbers."""

    def __init__(self, lines, source):
        self.lines = lines
        self.source = source
        self.pos = 0

    def error(self, message, line_no=None):
        line_no = self.pos + 1 if line_no is None else line_no
        return BVHError(f"{self.source}: line {line_no}: {message}")

    def next(self, what):
        while self.pos < len(self.lines):
            text = self.lines[self.pos].strip()
            self.pos += 1
            if text:
                return text.split()
        raise self.error(f"file ends early: expected {what} (the file is truncated)", len(self.lines))


def _floats(tokens, n, stream, what):
    if len(tokens) != n:
        raise stream.error(f"{what} needs {n} numbers; got {len(tokens)}: {' '.join(tokens)!r}", stream.pos)
    try:
        return np.array([float(t) for t in tokens])
    except ValueError:
        raise stream.error(f"{what} has a value that is not a number: {' '.join(tokens)!r}", stream.pos) from None


def _parse_joint(stream, name, parent, joints, n_channels):
    tokens = stream.next("'{'")
    if tokens != ["{"]:
        raise stream.error(f"expected '{{' after joint {name!r}; got {' '.join(tokens)!r}", stream.pos)
    index = len(joints)
    joint = BVHJoint(name=name, parent=parent, offset=np.zeros(3), channel_start=n_channels)
    joints.append(joint)
    seen_offset = False
    while True:
        tokens = stream.next(f"the body or '}}' of joint {name!r}")
        keyword = tokens[0]
        if keyword == "OFFSET":
            joint.offset = _floats(tokens[1:], 3, stream, "OFFSET")
            seen_offset = True
        elif keyword == "CHANNELS":
            try:
                count = int(tokens[1])
            except (IndexError, ValueError):
                raise stream.error("CHANNELS must be followed by a count", stream.pos) from None
            names = tuple(tokens[2:])
            if len(names) != count:
                raise stream.error(f"CHANNELS says {count} channels but lists {len(names)}", stream.pos)
            bad = [c for c in names if c not in _CHANNELS]
            if bad:
                raise stream.error(f"unknown channel(s) {', '.join(bad)}; expected names from "
                                   f"{', '.join(_CHANNELS)}", stream.pos)
            joint.channels = names
            joint.channel_start = n_channels
            n_channels += count
        elif keyword in ("JOINT", "ROOT"):
            if len(tokens) < 2:
                raise stream.error("JOINT needs a name", stream.pos)
            n_channels = _parse_joint(stream, " ".join(tokens[1:]), index, joints, n_channels)
        elif keyword == "End":
            brace = stream.next("'{' of End Site")
            offset = stream.next("OFFSET of End Site")
            if brace != ["{"] or offset[0] != "OFFSET":
                raise stream.error("End Site must be '{ OFFSET x y z }'", stream.pos)
            joint.end_site = _floats(offset[1:], 3, stream, "OFFSET")
            close = stream.next("'}' of End Site")
            if close != ["}"]:
                raise stream.error(f"expected '}}' closing End Site; got {' '.join(close)!r}", stream.pos)
        elif keyword == "}":
            if not seen_offset:
                raise stream.error(f"joint {name!r} has no OFFSET", stream.pos)
            return n_channels
        else:
            raise stream.error(f"unexpected {keyword!r} in joint {name!r} (expected OFFSET, CHANNELS, "
                               "JOINT, End Site or '}')", stream.pos)


def parse_bvh(text: str, source: str = "<string>") -> BVHData:
    """Parse BVH text.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        Name used in error messages.

    Returns
    -------
    BVHData

    Raises
    ------
    BVHError
        Malformed hierarchy, missing MOTION header, a frame with the wrong
        number of values or a non-number, or fewer frames than declared;
        the message names the line.
    """
    lines = text.splitlines()
    stream = _Lines(lines, source)
    tokens = stream.next("HIERARCHY")
    if tokens[0] != "HIERARCHY":
        raise stream.error(f"not a BVH file: expected 'HIERARCHY', got {' '.join(tokens)[:40]!r}", stream.pos)
    tokens = stream.next("ROOT")
    if tokens[0] != "ROOT" or len(tokens) < 2:
        raise stream.error(f"expected 'ROOT <name>'; got {' '.join(tokens)!r}", stream.pos)
    joints: list = []
    n_channels = _parse_joint(stream, " ".join(tokens[1:]), -1, joints, 0)
    tokens = stream.next("MOTION")
    if tokens[0] != "MOTION":
        raise stream.error(f"expected 'MOTION' after the hierarchy (only one ROOT is supported); got "
                           f"{' '.join(tokens)!r}", stream.pos)
    tokens = stream.next("'Frames: <n>'")
    if tokens[0] != "Frames:" or len(tokens) != 2 or not tokens[1].isdigit():
        raise stream.error(f"expected 'Frames: <n>'; got {' '.join(tokens)!r}", stream.pos)
    n_frames = int(tokens[1])
    tokens = stream.next("'Frame Time: <seconds>'")
    if tokens[:2] != ["Frame", "Time:"] or len(tokens) != 3:
        raise stream.error(f"expected 'Frame Time: <seconds>'; got {' '.join(tokens)!r}", stream.pos)
    try:
        frame_time = float(tokens[2])
    except ValueError:
        raise stream.error(f"Frame Time is not a number: {tokens[2]!r}", stream.pos) from None
    first = stream.pos
    rows = [line for line in lines[first:first + n_frames]]
    motion = None
    if len(rows) == n_frames and all(rows):
        try:
            motion = np.array(" ".join(rows).split(), dtype=np.float64)
        except ValueError:
            motion = None
        if motion is not None and motion.size != n_frames * n_channels:
            motion = None
    if motion is None:
        # Slow path only to find the offending line for the message.
        for k in range(n_frames):
            line_no = first + k + 1
            if first + k >= len(lines):
                raise BVHError(f"{source}: line {len(lines)}: file ends after {k} of {n_frames} declared "
                               "frames (the file is truncated); re-export it or fix 'Frames:'")
            values = lines[first + k].split()
            if len(values) != n_channels:
                raise BVHError(f"{source}: line {line_no}: frame {k} has {len(values)} values; the hierarchy "
                               f"declares {n_channels} channels (truncated or malformed row)")
            try:
                [float(v) for v in values]
            except ValueError:
                raise BVHError(f"{source}: line {line_no}: frame {k} has a value that is not a number") from None
        raise BVHError(f"{source}: could not read the MOTION block")  # pragma: no cover
    motion = motion.reshape(n_frames, n_channels)
    return BVHData(joints=joints, motion=motion, frame_time=frame_time, source=source)


def load_bvh(path) -> BVHData:
    """Read and parse a BVH file (see :func:`parse_bvh`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BVHError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_bvh(text, source=str(path))


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) about a coordinate axis."""
    theta = np.deg2rad(degrees)
    c, s = np.cos(theta), np.sin(theta)
    out = np.zeros(theta.shape + (3, 3))
    i = "XYZ".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    out[:, i, i] = 1.0
    out[:, j, j] = c
    out[:, k, k] = c
    out[:, j, k] = -s
    out[:, k, j] = s
    return out


def forward_kinematics(data: BVHData, position_channels: str = "replace"):
    """World positions and rotations of every joint.

    Parameters
    ----------
    data : BVHData
    position_channels : {"replace", "add"}
        Whether position channels replace the OFFSET along their axis (the
        common convention) or are added to it.

    Returns
    -------
    positions : (n_frames, n_joints, 3) float, file units
    rotations : (n_frames, n_joints, 3, 3) float
        World rotation of each joint's frame.
    """
    if position_channels not in ("replace", "add"):
        raise ValueError("position_channels must be 'replace' or 'add'")
    n_frames, n_joints = data.n_frames, len(data.joints)
    positions = np.zeros((n_frames, n_joints, 3))
    rotations = np.zeros((n_frames, n_joints, 3, 3))
    for j, joint in enumerate(data.joints):
        translation = np.broadcast_to(joint.offset, (n_frames, 3)).copy()
        local = np.broadcast_to(np.eye(3), (n_frames, 3, 3)).copy()
        for c, name in enumerate(joint.channels):
            values = data.motion[:, joint.channel_start + c]
            axis = "XYZ".index(name[0])
            if name.endswith("position"):
                if position_channels == "replace":
                    translation[:, axis] = values
                else:
                    translation[:, axis] += values
            else:
                local = local @ _axis_rotations(name[0], values)
        if joint.parent < 0:
            positions[:, j] = translation
            rotations[:, j] = local
        else:
            parent_rotation = rotations[:, joint.parent]
            positions[:, j] = positions[:, joint.parent] + np.einsum("nij,nj->ni", parent_rotation, translation)
            rotations[:, j] = parent_rotation @ local
    return positions, rotations


#: Metres per unit for BVH unit names ("cmu": the CMU conversions' 1/0.45 inch).
BVH_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}

# Adult hip-to-ankle length (thigh + shank), metres: the yardstick for guessing units.
_ADULT_LEG_M = 0.85


def guess_units(leg_length: float) -> float:
    """Metres per file unit from a hip-to-ankle length in file units.

    Picks the unit of :data:`BVH_UNITS` that makes the leg closest (in ratio)
    to an adult's 0.85 m; raises when none is within a factor of 1.5.
    """
    if not np.isfinite(leg_length) or leg_length <= 0:
        raise ValueError("cannot guess the units: the legs have no length; pass units=")
    name, scale = min(BVH_UNITS.items(), key=lambda kv: abs(np.log(kv[1] * leg_length / _ADULT_LEG_M)))
    if abs(np.log(scale * leg_length / _ADULT_LEG_M)) > np.log(1.5):
        raise ValueError(f"cannot guess the units: the hip-to-ankle length is {leg_length:.4g} file units, "
                         f"not like an adult's in any of {', '.join(BVH_UNITS)}; pass units= (--units)")
    return scale


def read_bvh(path, rig=None, mapping=None, units="auto", up="y", head_offset=0.10,
             position_channels="replace", rest_frames="auto"):
    """Read a BVH take as body15 joints in metres.

    Parameters
    ----------
    path : str or Path
        A ``.bvh`` file.
    rig : str, optional
        Shipped rig map name (see :data:`lift2d3d.mocap.rigs.RIGS`); by
        default the rig is detected from the joint names.
    mapping : dict or path, optional
        A user joint map (JSON/YAML; see :mod:`lift2d3d.mocap.rigs`); wins
        over ``rig``.
    units : {"auto", "m", "cm", "mm", "inch", "cmu"} or float
        File units, or metres per unit.  ``"auto"`` guesses from the leg
        length (see :func:`guess_units`).
    up : {"y", "z"}
        The file's vertical axis.
    head_offset : float, metres
        Distance from the rig's head joint to the head centre, used when the
        head joint has no usable end site (see Notes).
    position_channels : {"replace", "add"}
        See :func:`forward_kinematics`.
    rest_frames : "auto" or int
        Leading frames to drop because they hold the figure's rest pose, not
        motion; ``"auto"``: the shipped rig's count in
        :data:`lift2d3d.mocap.rigs.RIG_REST_FRAMES` (1 for ``cgspeed-daz``,
        whose frame 0 is a T-pose), 0 with a user map.

    Returns
    -------
    MocapClip
        body15 joints (n_frames, 15, 3) in metres, in the file's axes.

    Notes
    -----
    Joint definitions: the limb joints are the world positions of the mapped
    rig joints; pelvis and neck are the midpoints of the hips and shoulders.
    The head is the centre of the skull: a map entry listing two joints
    (e.g. ``["Head", "HeadTop_End"]``) gives their midpoint;
    a single head joint with an End Site at least 5 cm away gives the
    midpoint of the joint and the end site; otherwise the head is
    ``head_offset`` beyond the head joint along the head's own up axis,
    which is the direction of the head joint's OFFSET (its bone) carried by
    the head joint's rotation (or the file's up axis if the OFFSET is zero).
    """
    from .clip import MocapClip, assemble_body15
    from .rigs import MAP_FORMAT_HELP, RIG_REST_FRAMES, RIGS, detect_rig, load_joint_map, missing_joints, resolve_joint

    data = load_bvh(path)
    names = data.joint_names
    if mapping is not None:
        joint_map = load_joint_map(mapping)
        rig_label = "the joint map"
    else:
        if rig is None:
            rig = detect_rig(names)
            if rig is None:
                raise ValueError(f"{data.source}: joints match no shipped rig ({', '.join(sorted(RIGS))}). "
                                 f"The file's joints are: {', '.join(names)}. {MAP_FORMAT_HELP}")
        if rig not in RIGS:
            raise ValueError(f"unknown rig {rig!r}; shipped rigs: {', '.join(sorted(RIGS))}. {MAP_FORMAT_HELP}")
        joint_map = RIGS[rig]
        rig_label = f"rig {rig!r}"
    missing = missing_joints(joint_map, names)
    if missing:
        raise ValueError(f"{data.source}: {rig_label} names joint(s) {', '.join(missing)} that the file lacks. "
                         f"The file's joints are: {', '.join(names)}. {MAP_FORMAT_HELP}")
    units = joint_map.get("units", units) if mapping is not None else units
    up = joint_map.get("up", up) if mapping is not None else up
    if up not in ("y", "z"):
        raise ValueError(f"up must be 'y' or 'z'; got {up!r}")
    if isinstance(rest_frames, str):
        if rest_frames != "auto":
            raise ValueError(f"rest_frames must be 'auto' or a number of frames; got {rest_frames!r}")
        rest_frames = RIG_REST_FRAMES.get(rig, 0) if mapping is None else 0
    rest_frames = int(rest_frames)
    if rest_frames < 0 or (rest_frames and rest_frames >= data.n_frames):
        raise ValueError(f"{data.source}: cannot drop {rest_frames} rest frame(s) of {data.n_frames}")
    if rest_frames:
        data = BVHData(joints=data.joints, motion=data.motion[rest_frames:], frame_time=data.frame_time,
                       source=data.source)
    positions, rotations = forward_kinematics(data, position_channels)

    def joint_index(rig_name):
        return data.index(resolve_joint(rig_name, names))

    def mapped(ours):
        entries = [joint_map[ours]] if isinstance(joint_map[ours], str) else joint_map[ours]
        return np.mean([positions[:, joint_index(e)] for e in entries], axis=0)

    limbs = {joint: mapped(joint) for joint in joint_map if joint not in ("head", "units", "up")}
    if isinstance(units, str) and units == "auto":
        legs = [np.linalg.norm(limbs[f"{s}_hip"] - limbs[f"{s}_knee"], axis=-1)
                + np.linalg.norm(limbs[f"{s}_knee"] - limbs[f"{s}_ankle"], axis=-1) for s in ("left", "right")]
        try:
            scale = guess_units(float(np.nanmedian(np.concatenate(legs))))
        except ValueError as exc:
            raise ValueError(f"{data.source}: {exc}") from None
    elif isinstance(units, str):
        if units not in BVH_UNITS:
            raise ValueError(f"unknown units {units!r}; use one of {', '.join(BVH_UNITS)} or metres per unit")
        scale = BVH_UNITS[units]
    else:
        scale = float(units)

    up_vector = np.array([0.0, 1.0, 0.0]) if up == "y" else np.array([0.0, 0.0, 1.0])
    head_entry = joint_map["head"]
    if not isinstance(head_entry, str) and len(head_entry) > 1:
        head = mapped("head")
    else:
        name = head_entry if isinstance(head_entry, str) else head_entry[0]
        joint = data.joints[joint_index(name)]
        h = data.index(joint.name)
        end = joint.end_site
        if end is not None and np.linalg.norm(end) * scale >= 0.05:
            head = positions[:, h] + 0.5 * np.einsum("nij,j->ni", rotations[:, h], end)
        else:
            length = np.linalg.norm(joint.offset)
            axis = joint.offset / length if length > 0 else up_vector
            head = positions[:, h] + np.einsum("nij,j->ni", rotations[:, h], axis * (head_offset / scale))
    joints3d = assemble_body15(limbs, head) * scale
    return MocapClip(joints3d=joints3d, up=up_vector, fps=data.fps, source=data.source)
