"""Joint-name maps from common MoCap rigs onto ``body15``, and user maps.

A map names, for each of the 12 limb joints and the head, the rig joint (or
a list of rig joints whose midpoint is used) that plays that role::

    {"left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", ...,
     "head": "Head"}

``pelvis`` and ``neck`` are never mapped: body15 defines them as the
midpoints of the hips and of the shoulders.  The joints a map should point
at are the *rotation centres*: the glenohumeral joint (the upper-arm
bone's root, not the clavicle), the elbow, the wrist, the hip ball joint
(the thigh bone's root), the knee and the ankle.

How the head centre is found from a single head joint is described in
:func:`lift2d3d.mocap.read_bvh`.

A user map is a JSON (or, with PyYAML installed, YAML) file holding such an
object; it may also carry ``"units"`` (``"m"``, ``"cm"``, ``"mm"``,
``"inch"``, ``"cmu"`` or a number of metres per unit) and ``"up"`` (``"y"``
or ``"z"``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..skeletons import LIMB_JOINTS

__all__ = ["RIGS", "RIG_REST_FRAMES", "MAP_FORMAT_HELP", "load_joint_map", "detect_rig", "resolve_joint",
           "MAPPED_JOINTS"]

#: body15 joints a rig map must provide.
MAPPED_JOINTS = LIMB_JOINTS + ("head",)


def _sided(left: dict) -> dict:
    """Build a full map from the left side, swapping Left/L markers for the right side."""
    out = {}
    for joint, rig in left.items():
        if joint.startswith("left_"):
            out[joint] = rig
            out["right_" + joint[5:]] = (rig.replace("Left", "Right").replace("_L", "_R")
                                         .replace("left", "right").replace(".L", ".R"))
        else:
            out[joint] = rig
    return out


#: Shipped rig maps (name -> {body15 joint: rig joint or [rig joints]}).
RIGS = {
    # CMU MoCap BVH conversions (cgspeed / Bruderlin), also Motionbuilder-style rigs.
    "cmu": _sided({"left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
                   "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
                   "head": "Head"}),
    # Mixamo exports ("mixamorig:" prefixes are ignored when matching).  HeadTop_End is an End Site
    # in some exports and a joint in others, so the head uses the single-joint rule of read_bvh.
    "mixamo": _sided({"left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
                      "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
                      "head": "Head"}),
    # Bandai Namco Research Motion dataset (joint_Root/Hips/UpperArm_L/...).
    "bandai-namco": _sided({"left_shoulder": "UpperArm_L", "left_elbow": "LowerArm_L", "left_wrist": "Hand_L",
                            "left_hip": "UpperLeg_L", "left_knee": "LowerLeg_L", "left_ankle": "Foot_L",
                            "head": "Head"}),
    # cgspeed's "Daz-friendly" conversion of the CMU database (root "hip"; abdomen, chest, neck, head;
    # lCollar/lShldr/lForeArm/lHand; lButtock/lThigh/lShin/lFoot), also Poser/Daz figures.  The
    # rotation centres are lShldr (upper arm; lCollar is the clavicle's root), lThigh (thigh;
    # lButtock is a pelvis bone 2.8 cm above it), lShin and lFoot.  The head joint has no End Site,
    # so the head uses the single-joint rule of read_bvh.  Units: centimetres of the Daz figure
    # (hip to ankle 82 cm in every take).  Frame 0 of every take is the figure's T-pose (see
    # RIG_REST_FRAMES).
    "cgspeed-daz": {"left_shoulder": "lShldr", "left_elbow": "lForeArm", "left_wrist": "lHand",
                    "left_hip": "lThigh", "left_knee": "lShin", "left_ankle": "lFoot",
                    "right_shoulder": "rShldr", "right_elbow": "rForeArm", "right_wrist": "rHand",
                    "right_hip": "rThigh", "right_knee": "rShin", "right_ankle": "rFoot", "head": "head"},
    # BVH converted straight from CMU's ASF/AMC (joints named after the ASF bones, as amc2bvh
    # writes them).  A BVH joint sits at its bone's *start*, i.e. at the end of the parent bone,
    # so these are the joints of lift2d3d.mocap.read_asf_amc: shoulder = lhumerus (end of
    # lclavicle), elbow = lradius, wrist = lwrist, hip = lfemur (end of lhipjoint), knee = ltibia,
    # ankle = lfoot; the head joint's End Site is the end of the head bone, so the head is the
    # midpoint of the head bone there too.  Units: the ASF's (``units="cmu"``, found by "auto").
    "cmu-asf": {"left_shoulder": "lhumerus", "left_elbow": "lradius", "left_wrist": "lwrist",
                "left_hip": "lfemur", "left_knee": "ltibia", "left_ankle": "lfoot",
                "right_shoulder": "rhumerus", "right_elbow": "rradius", "right_wrist": "rwrist",
                "right_hip": "rfemur", "right_knee": "rtibia", "right_ankle": "rfoot", "head": "head"},
}

#: Leading frames of every take of a shipped rig that hold the figure's rest pose rather than the
#: performer's motion; ``read_bvh`` drops them.  cgspeed writes the Daz figure's T-pose as frame 0
#: (in all 73 Daz-friendly takes of the CMU corpus checked: root rotation exactly zero, arms within
#: 5 degrees of horizontal, 61 degrees away from frame 1 in the median).
RIG_REST_FRAMES = {"cgspeed-daz": 1}

MAP_FORMAT_HELP = (
    "A joint map is a JSON object from body15 joint names to the rig's joint names, with entries for "
    + ", ".join(MAPPED_JOINTS)
    + ' (e.g. {"left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", ..., "head": "Head"}); an entry may be '
    "a list of rig joints whose midpoint is used; optional \"units\" (m, cm, mm, inch, cmu) and \"up\" (y, z). "
    "Pass it with --map FILE (or mapping= in Python), or pick a shipped rig with --rig "
    + "|".join(sorted(RIGS)) + "."
)


def _normalise_name(name: str) -> str:
    # Exporters prefix joints with a namespace ("mixamorig:LeftArm", "Armature|Hips").
    for separator in (":", "|"):
        name = name.rsplit(separator, 1)[-1]
    return name.lower()


def resolve_joint(rig_name: str, file_joints) -> str | None:
    """Find ``rig_name`` among ``file_joints``: exactly, else ignoring case and namespace prefixes."""
    if rig_name in file_joints:
        return rig_name
    wanted = _normalise_name(rig_name)
    matches = [name for name in file_joints if _normalise_name(name) == wanted]
    return matches[0] if len(matches) == 1 else None


def _entries(value):
    return [value] if isinstance(value, str) else list(value)


def missing_joints(joint_map: dict, file_joints) -> list:
    """Rig joint names of ``joint_map`` that ``file_joints`` lacks."""
    missing = []
    for ours in MAPPED_JOINTS:
        for rig_name in _entries(joint_map.get(ours, [])) or [f"<{ours} not mapped>"]:
            if resolve_joint(rig_name, file_joints) is None:
                missing.append(rig_name)
    return missing


def detect_rig(file_joints) -> str | None:
    """Name of the first shipped rig whose joints are all present, else None."""
    for name, joint_map in RIGS.items():
        if not missing_joints(joint_map, file_joints):
            return name
    return None


def load_joint_map(source) -> dict:
    """Load and check a user joint map.

    Parameters
    ----------
    source : dict, str or path
        A map, a shipped rig name, or a ``.json``/``.yaml``/``.yml`` file.

    Returns
    -------
    dict
        body15 joint -> rig joint name or list of names, plus optional
        ``units`` and ``up``.
    """
    origin = "joint map"
    if isinstance(source, dict):
        joint_map = dict(source)
    elif isinstance(source, str) and source in RIGS:
        return dict(RIGS[source])
    else:
        path = Path(source)
        origin = str(path)
        if not path.is_file():
            raise ValueError(f"joint map {path} not found (and it is not a shipped rig: "
                             f"{', '.join(sorted(RIGS))}). {MAP_FORMAT_HELP}")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                try:
                    import yaml
                except ImportError:
                    raise ValueError(f"{path}: reading YAML maps needs PyYAML (pip install pyyaml); "
                                     "or write the map as JSON") from None
                joint_map = yaml.safe_load(text)
            else:
                joint_map = json.loads(text)
        except (json.JSONDecodeError, ValueError) as exc:
            if isinstance(exc, ValueError) and "PyYAML" in str(exc):
                raise
            raise ValueError(f"{path}: not a valid joint map ({exc}). {MAP_FORMAT_HELP}") from None
        except Exception as exc:  # yaml.YAMLError and friends
            raise ValueError(f"{path}: not a valid joint map ({exc}). {MAP_FORMAT_HELP}") from None
    if not isinstance(joint_map, dict):
        raise ValueError(f"{origin}: a joint map must be an object/mapping. {MAP_FORMAT_HELP}")
    allowed = set(MAPPED_JOINTS) | {"units", "up"}
    unknown = sorted(set(joint_map) - allowed)
    if unknown:
        raise ValueError(f"{origin}: unknown key(s) {', '.join(map(str, unknown))}; pelvis and neck are derived "
                         f"(mid-hips, mid-shoulders). {MAP_FORMAT_HELP}")
    absent = [joint for joint in MAPPED_JOINTS if joint not in joint_map]
    if absent:
        raise ValueError(f"{origin}: no entry for {', '.join(absent)}. {MAP_FORMAT_HELP}")
    for joint in MAPPED_JOINTS:
        entry = joint_map[joint]
        if not (isinstance(entry, str) or (isinstance(entry, list) and entry
                                           and all(isinstance(e, str) for e in entry))):
            raise ValueError(f"{origin}: entry {joint!r} must be a joint name or a list of names; got {entry!r}")
    return joint_map
