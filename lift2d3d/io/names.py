"""User-named body parts (DeepLabCut, TRC markers) matched to registry joints by name.

Tools such as DeepLabCut let the user name the body parts ("LeftShoulder",
"l_shoulder", "shoulder_left", "Lshoulder"), and TRC files name markers the
way Pose2Sim/Sports2D do ("RHip", "Hip", "Neck", "RBigToe").  Each name is
reduced to a canonical form (:func:`canonical_joint`): side prefix or suffix,
CamelCase, separators and case; then a few synonyms ("hip" alone is the
mid-hip, "headtop" the top of the head).  The skeleton whose joints cover the
most names is chosen (the smallest on a tie); a joint name that skeleton
lacks is reported as unused.  A name that matches no joint of any
registered skeleton is an error that lists every such name, unless a joint
map (``--map FILE``, a JSON object ``{"part": "joint" or null}``) says what
it is or that it is to be ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..skeletons import SKELETONS, get_skeleton
from .table import KeypointFormatError, normalise_joint_name

__all__ = ["canonical_joint", "resolve_parts", "load_joint_map", "known_joints"]

_SIDES = {"left": "left", "l": "left", "lft": "left", "right": "right", "r": "right", "rt": "right", "rgt": "right"}

#: Names (after normalisation) that mean a registry joint under another name.
SYNONYMS = {
    "hip": "mid_hip", "hips": "mid_hip", "midhip": "mid_hip", "mid_hips": "mid_hip", "hip_centre": "mid_hip",
    "hip_center": "mid_hip", "center_hip": "mid_hip", "centre_hip": "mid_hip", "root": "pelvis",
    "headtop": "head_top", "top_head": "head_top", "top_of_head": "head_top", "crown": "head_top",
    "upperneck": "upper_neck", "bigtoe": "big_toe", "smalltoe": "small_toe", "toe": "big_toe",
    "footindex": "foot_index",
}


def known_joints() -> dict:
    """Every joint name of the registry -> the skeletons that have it."""
    known = {}
    for skeleton in SKELETONS.values():
        for joint in skeleton.joints:
            known.setdefault(joint, []).append(skeleton.name)
    return known


def _bases_with_sides(known) -> set:
    """Joint names without their side ("shoulder" for left_/right_shoulder)."""
    return {joint.split("_", 1)[1] for joint in known if joint.startswith(("left_", "right_"))}


def canonical_joint(name, aliases=None):
    """The registry joint that a user's body-part name means, or None.

    Parameters
    ----------
    name : str
        ``"LeftShoulder"``, ``"l_shoulder"``, ``"shoulder_left"``, ``"Lshoulder"``,
        ``"RBigToe"``, ``"Hip"`` ...
    aliases : dict, optional
        Format-specific meanings of normalised names, tried first (e.g.
        ``{"head": "head_top"}`` for TRC files, whose "Head" is the top of the
        head).

    Returns
    -------
    str or None
    """
    known = known_joints()
    sided = _bases_with_sides(known)
    text = normalise_joint_name(name)
    aliases = aliases or {}
    if text in aliases:
        return aliases[text]
    if text in known:
        return text

    parts = text.split("_")
    side, base = None, None
    if len(parts) > 1 and parts[0] in _SIDES:
        side, base = _SIDES[parts[0]], "_".join(parts[1:])
    elif len(parts) > 1 and parts[-1] in _SIDES:
        side, base = _SIDES[parts[-1]], "_".join(parts[:-1])
    else:
        # "leftshoulder", "lshoulder", "rknee": a side glued to a known joint
        for prefix in sorted(_SIDES, key=len, reverse=True):
            rest = text[len(prefix):]
            if text.startswith(prefix) and (rest in sided or SYNONYMS.get(rest) in sided):
                side, base = _SIDES[prefix], rest
                break
    if side is not None:
        base = SYNONYMS.get(base, base)
        if base in sided:
            return f"{side}_{base}"
        return None
    text = SYNONYMS.get(text, text)
    return text if text in known else None


def load_joint_map(joint_map, source="--map"):
    """A joint map as a dict ``{part name: registry joint or None}``.

    Parameters
    ----------
    joint_map : dict, str or Path, or None
        A dict, or the path of a JSON file holding one object.  A value of
        ``null`` (or ``""``) says the part is to be ignored.

    Raises
    ------
    KeypointFormatError
        Unreadable file, not an object, or a value that is no registry joint.
    """
    if joint_map is None:
        return {}
    if isinstance(joint_map, (str, Path)):
        path = Path(joint_map)
        try:
            joint_map = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeypointFormatError(f"{path}: cannot read the joint map ({exc.strerror or exc})") from None
        except (ValueError, RecursionError) as exc:
            raise KeypointFormatError(f"{path}: the joint map is not valid JSON ({exc})") from None
        source = str(path)
    if not isinstance(joint_map, dict):
        raise KeypointFormatError(f"{source}: the joint map must be a JSON object such as "
                                  '{"LShoulder": "left_shoulder", "tail": null}')
    known = known_joints()
    result = {}
    for part, joint in joint_map.items():
        if joint in (None, ""):
            result[str(part)] = None
            continue
        canonical = normalise_joint_name(joint)
        if canonical not in known:
            close = sorted(known, key=lambda k: _distance(k, canonical))[:3]
            raise KeypointFormatError(f"{source}: {part!r} maps to {joint!r}, which is no known joint (closest: "
                                      f"{', '.join(close)}); use a joint name of one of the skeletons "
                                      f"{', '.join(SKELETONS)}, or null to ignore the part")
        result[str(part)] = canonical
    return result


def _distance(a, b):
    import difflib

    return -difflib.SequenceMatcher(None, a, b).ratio()


def resolve_parts(names, joint_map=None, aliases=None, format=None, source="input", what="body part",
                  ambiguous=None):
    """Match user-named parts to the joints of one registered skeleton.

    Parameters
    ----------
    names : list of str
        The parts, as the file names them.
    joint_map : dict, optional
        From :func:`load_joint_map`; consulted first, by the exact name.
    aliases : dict, optional
        Format-specific meanings (see :func:`canonical_joint`).
    format : str, optional
        Skeleton to map onto (the best-covering one when omitted).
    source, what : str
        For messages ("body part", "marker").
    ambiguous : dict, optional
        Normalised names that must be mapped explicitly -> why (e.g. a
        DeepLabCut "head" may be the skull centre or the top of the head).

    Returns
    -------
    joints : dict
        part name -> joint of ``skeleton`` (parts left out are not used).
    skeleton : Skeleton
    notes : list of str
        What was matched, and the parts that are not used.

    Raises
    ------
    KeypointFormatError
        Names that match no joint (listed, with the fix), two parts meaning
        the same joint, or no part matching ``format``.
    """
    joint_map = joint_map or {}
    ambiguous = ambiguous or {}
    matched, ignored, unknown, unclear = {}, [], [], []
    for name in names:
        if name in joint_map:
            joint = joint_map[name]
            if joint is None:
                ignored.append(name)
                continue
        elif normalise_joint_name(name) in ambiguous:
            unclear.append(f"{name!r} ({ambiguous[normalise_joint_name(name)]})")
            continue
        else:
            joint = canonical_joint(name, aliases)
        if joint is None:
            unknown.append(name)
        else:
            matched[name] = joint
    if unknown or unclear:
        first = (unknown + [u.split("'")[1] for u in unclear])
        example = json.dumps({first[0]: "left_shoulder", (first[1] if len(first) > 1 else "other_part"): None})
        problems = []
        if unknown:
            problems.append(f"{len(unknown)} {what}(s) match no known joint: {', '.join(map(repr, unknown))}")
        if unclear:
            problems.append(f"{len(unclear)} {what}(s) are ambiguous: {'; '.join(unclear)}")
        raise KeypointFormatError(
            f"{source}: {'; '.join(problems)}. Name them after a known joint (e.g. left_shoulder, RKnee, "
            f"shoulder_left), or pass --map FILE (joint_map= in the API) with a JSON object such as {example} "
            "(null ignores a part)")
    seen = {}
    for name, joint in matched.items():
        if joint in seen:
            raise KeypointFormatError(f"{source}: {what}s {seen[joint]!r} and {name!r} both mean {joint}; map one "
                                      "of them elsewhere or to null with --map FILE")
        seen[joint] = name
    if format is not None:
        try:
            skeleton = get_skeleton(format)
        except KeyError as exc:
            raise KeypointFormatError(f"{source}: {exc.args[0]}") from None
    else:
        joints = set(matched.values())
        if not joints:
            raise KeypointFormatError(f"{source}: no {what} to use (all were ignored by the joint map)")
        skeleton = max(SKELETONS.values(), key=lambda s: (len(joints & set(s.joints)), -s.n_joints))
    used = {name: joint for name, joint in matched.items() if joint in skeleton._index}
    if not used:
        raise KeypointFormatError(f"{source}: no {what} is a joint of {skeleton.name}; leave the format out to "
                                  "pick the skeleton from the names")
    notes = [f"{source}: {what}s matched onto {skeleton.name}: "
             + ", ".join(f"{n}->{j}" if normalise_joint_name(n) != j else n for n, j in used.items())]
    left_out = [f"{n} ({j})" for n, j in matched.items() if n not in used] + [f"{n} (ignored by the map)"
                                                                              for n in ignored]
    if left_out:
        notes.append(f"{source}: {what}s not used (no such joint in {skeleton.name}): {', '.join(left_out)}")
    return used, skeleton, notes
