"""Acclaim ASF/AMC: parser, forward kinematics against a NumPy twin written from the format spec, bad input."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lift2d3d.mocap import AcclaimError, find_asf, load_asf, parse_amc, parse_asf, read_asf_amc
from lift2d3d.mocap.acclaim import acclaim_forward_kinematics
from lift2d3d.skeletons import BODY15

# A small CMU-like skeleton: (name, parent, direction, length, axis angles (x, y, z), axis order, dofs).
# Axis orders other than XYZ, dof subsets in unusual orders and a bone without dofs on purpose.
BONES = [
    ("lhipjoint", "root", (1, -1, 0.3), 0.12, (0, 0, 0), "XYZ", ()),
    ("lfemur", "lhipjoint", (0.2, -1, 0), 0.42, (0, 0, 20), "XYZ", ("rx", "ry", "rz")),
    ("ltibia", "lfemur", (0.2, -1, 0), 0.41, (10, 0, 20), "ZYX", ("rx",)),
    ("rhipjoint", "root", (-1, -1, 0.3), 0.12, (0, 0, 0), "XYZ", ()),
    ("rfemur", "rhipjoint", (-0.2, -1, 0), 0.43, (0, 0, -20), "XYZ", ("rz", "rx", "ry")),
    ("rtibia", "rfemur", (-0.2, -1, 0), 0.40, (0, -15, -20), "YXZ", ("rx",)),
    ("lowerback", "root", (0, 1, -0.1), 0.25, (0, 0, 0), "XYZ", ("rx", "ry", "rz")),
    ("thorax", "lowerback", (0, 1, 0.05), 0.25, (5, 10, 0), "ZXY", ("ry", "rx")),
    ("upperneck", "thorax", (0, 1, 0.1), 0.12, (0, 0, 0), "XYZ", ("rx", "ry", "rz")),
    ("head", "upperneck", (0, 1, 0), 0.10, (0, 0, 0), "XYZ", ("rx", "ry", "rz")),
    ("lclavicle", "thorax", (1, 0.3, -0.1), 0.18, (0, 0, 0), "XYZ", ("ry", "rz")),
    ("lhumerus", "lclavicle", (1, 0, 0), 0.29, (180, -30, -90), "XYZ", ("rx", "ry", "rz")),
    ("lradius", "lhumerus", (1, 0, 0), 0.25, (180, -30, -90), "XYZ", ("rx",)),
    ("rclavicle", "thorax", (-1, 0.3, -0.1), 0.18, (0, 0, 0), "XYZ", ("ry", "rz")),
    ("rhumerus", "rclavicle", (-1, 0, 0), 0.29, (180, 30, 90), "XYZ", ("rx", "ry", "rz")),
    ("rradius", "rhumerus", (-1, 0, 0), 0.25, (180, 30, 90), "XZY", ("rx",)),
]


def _asf_text(bones=BONES, length_unit=0.0254, angle="deg", root_order="TX TY TZ RX RY RZ", root_axis="XYZ"):
    """ASF text for ``bones`` (lengths in metres: the default unit multiplier makes one unit 1 m)."""
    scale = 1.0 if angle == "deg" else np.pi / 180.0
    lines = ["# written by the test", ":version 1.10", ":name TEST", ":units", "  mass 1.0",
             f"  length {length_unit!r}", f"  angle {angle}", ":documentation", "   a test skeleton",
             ":root", f"   order {root_order}", f"   axis {root_axis}", "   position 0 0 0", "   orientation 0 0 0",
             ":bonedata"]
    unit = 0.0254 / length_unit
    for i, (name, _, direction, length, axis, order, dof) in enumerate(bones, 1):
        direction = np.asarray(direction, float) / np.linalg.norm(direction)
        lines += ["  begin", f"     id {i}", f"     name {name}",
                  "     direction " + " ".join(repr(float(v)) for v in direction),
                  f"     length {length / unit!r}",
                  "     axis " + " ".join(repr(float(a) * scale) for a in axis) + f"  {order}"]
        if dof:
            lines.append("    dof " + " ".join(dof))
            lines.append("    limits " + "\n           ".join("(-180.0 180.0)" for _ in dof))
        lines.append("  end")
    lines += [":hierarchy", "  begin"]
    children = {}
    for name, parent, *_ in bones:
        children.setdefault(parent, []).append(name)
    for parent, kids in children.items():
        lines.append(f"    {parent} {' '.join(kids)}")
    lines += ["  end", ""]
    return "\n".join(lines)


def _amc_text(root_values, bone_values, header=(":FULLY-SPECIFIED", ":DEGREES"), first=1):
    """AMC text: root_values (n, 6) in the root's order; bone_values dict name -> (n, n_dof)."""
    lines = ["# test motion", *header]
    for k in range(len(root_values)):
        lines.append(str(first + k))
        lines.append("root " + " ".join(repr(float(v)) for v in root_values[k]))
        for name, values in bone_values.items():
            lines.append(name + " " + " ".join(repr(float(v)) for v in values[k]))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- NumPy twin (from the format spec)
def twin_positions(bones, root_order, root_values, bone_values, radians=False):
    """Bone end points per frame, written from the ASF/AMC description, one frame at a time.

    Spec: a rotation "in order XYZ" applies x, then y, then z, about fixed axes (scipy's extrinsic
    lower-case sequence); a bone's world rotation is parent_world * C * M * C^-1; its end is the
    parent's end plus length * world_rotation * direction; the root is translated by its T values and
    rotated by its R values in the order of the root's `order` line.
    """
    to_deg = 180.0 / np.pi if radians else 1.0
    tokens = root_order.lower().split()
    frames = []
    for k in range(len(root_values)):
        values = dict(zip(tokens, root_values[k]))
        rot_tokens = [t for t in tokens if t.startswith("r")]
        world = {"root": Rotation.from_euler("".join(t[1] for t in rot_tokens),
                                             [values[t] * to_deg for t in rot_tokens], degrees=True)}
        end = {"root": np.array([values.get("tx", 0.0), values.get("ty", 0.0), values.get("tz", 0.0)])}
        for name, parent, direction, length, axis, order, dof in bones:
            direction = np.asarray(direction, float) / np.linalg.norm(direction)
            C = Rotation.from_euler(order.lower(), [axis["xyz".index(a)] for a in order.lower()], degrees=True)
            M = (Rotation.from_euler("".join(d[1] for d in dof), np.asarray(bone_values[name][k]) * to_deg,
                                     degrees=True) if dof else Rotation.identity())
            world[name] = world[parent] * C * M * C.inv()
            end[name] = end[parent] + length * world[name].apply(direction)
        frames.append(end)
    return frames


def _random_motion(rng, n, bones=BONES, degrees=True):
    scale = 1.0 if degrees else np.pi / 180.0
    root = np.concatenate([rng.uniform(-1, 1, (n, 3)), rng.uniform(-90, 90, (n, 3)) * scale], axis=1)
    values = {name: rng.uniform(-80, 80, (n, len(dof))) * scale for name, *_, dof in bones if dof}
    return root, values


@pytest.mark.parametrize("angle", ["deg", "rad"])
def test_fk_matches_the_numpy_twin(angle):
    rng = np.random.default_rng(1)
    root, values = _random_motion(rng, 5, degrees=angle == "deg")
    skeleton = parse_asf(_asf_text(angle=angle), source="test.asf")
    header = (":FULLY-SPECIFIED",)   # angles in the ASF's unit
    motion = parse_amc(_amc_text(root, values, header=header), skeleton, source="test.amc")
    ends, _ = acclaim_forward_kinematics(skeleton, motion)
    twin = twin_positions(BONES, "TX TY TZ RX RY RZ", root, values, radians=angle == "rad")
    for name, *_ in BONES:
        np.testing.assert_allclose(ends[name], np.stack([frame[name] for frame in twin]), atol=1e-9)


def test_non_default_root_order_and_radians_in_the_amc():
    rng = np.random.default_rng(2)
    order = "RZ TX RX TY RY TZ"
    root, values = _random_motion(rng, 4, degrees=False)   # values in radians, written under :RADIANS
    skeleton = parse_asf(_asf_text(root_order=order))
    motion = parse_amc(_amc_text(root, values, header=(":FULLY-SPECIFIED", ":RADIANS")), skeleton)
    ends, _ = acclaim_forward_kinematics(skeleton, motion)
    twin = twin_positions(BONES, order, root, values, radians=True)
    for name in ("lradius", "rtibia", "head"):
        np.testing.assert_allclose(ends[name], np.stack([frame[name] for frame in twin]), atol=1e-9)


def _rest_values(n=1):
    return {name: np.zeros((n, len(dof))) for name, *_, dof in BONES if dof}


def test_known_poses():
    """A straight arm along +x, turned 90 degrees by its dof, puts the wrist where the geometry says."""
    bones = [b for b in BONES if b[0] not in ("lhumerus", "lradius")]
    bones += [("lhumerus", "lclavicle", (1, 0, 0), 0.3, (0, 0, 0), "XYZ", ("rx", "ry", "rz")),
              ("lradius", "lhumerus", (1, 0, 0), 0.25, (0, 0, 90), "XYZ", ("rx",))]
    skeleton = parse_asf(_asf_text(bones))
    values = {name: np.zeros((3, len(dof))) for name, *_, dof in bones if dof}
    values["lhumerus"][1] = [0, 0, 90]     # rz 90: the whole arm swings from +x to +y
    values["lradius"][2] = [90]            # rx 90 in a frame turned 90 about z: about y, so +x -> -z
    root = np.zeros((3, 6))
    root[:, :3] = [1.0, 2.0, 3.0]
    ends, _ = acclaim_forward_kinematics(skeleton, parse_amc(_amc_text(root, values), skeleton))
    shoulder = ends["lclavicle"]
    np.testing.assert_allclose(ends["lradius"][0] - shoulder[0], [0.55, 0, 0], atol=1e-12)
    np.testing.assert_allclose(ends["lhumerus"][1] - shoulder[1], [0, 0.3, 0], atol=1e-12)
    np.testing.assert_allclose(ends["lradius"][1] - shoulder[1], [0, 0.55, 0], atol=1e-12)
    np.testing.assert_allclose(ends["lradius"][2] - ends["lhumerus"][2], [0, 0, -0.25], atol=1e-12)
    np.testing.assert_allclose(ends["root"][0], [1, 2, 3])
    # the root turned 90 degrees about y carries the left hip (+x side) to -z
    root[0, 3:] = [0, 90, 0]
    ends, _ = acclaim_forward_kinematics(skeleton, parse_amc(_amc_text(root, values), skeleton))
    hip = np.array([1, -1, 0.3]) / np.linalg.norm([1, -1, 0.3]) * 0.12
    np.testing.assert_allclose(ends["lhipjoint"][0], [1 + hip[2], 2 + hip[1], 3 - hip[0]], atol=1e-12)


def test_read_asf_amc_body15_joints_units_and_head(tmp_path):
    rng = np.random.default_rng(3)
    root, values = _random_motion(rng, 4)
    # CMU's unit: length 0.45, one unit = 1/0.45 inch
    (tmp_path / "07.asf").write_text(_asf_text(length_unit=0.45))
    (tmp_path / "07_01.amc").write_text(_amc_text(root, values))
    clip = read_asf_amc(tmp_path / "07_01.amc", fps=120)
    assert clip.joints3d.shape == (4, 15, 3) and clip.fps == 120 and clip.n_invalid == 0
    unit = 0.0254 / 0.45
    # the twin in file units: lengths were written as metres / unit, and the root translation is in units
    twin = twin_positions([(n, p, d, length / unit, a, o, f) for n, p, d, length, a, o, f in BONES],
                          "TX TY TZ RX RY RZ", root, values)
    joint = {name: clip.joints3d[:, i] for i, name in enumerate(BODY15.joints)}
    ends = {name: np.stack([frame[name] for frame in twin]) * unit for name, *_ in BONES}
    for ours, bone in [("left_shoulder", "lclavicle"), ("left_elbow", "lhumerus"), ("left_wrist", "lradius"),
                       ("left_hip", "lhipjoint"), ("left_knee", "lfemur"), ("left_ankle", "ltibia"),
                       ("right_wrist", "rradius"), ("right_ankle", "rtibia")]:
        np.testing.assert_allclose(joint[ours], ends[bone], atol=1e-9)
    np.testing.assert_allclose(joint["head"], 0.5 * (ends["upperneck"] + ends["head"]), atol=1e-9)
    np.testing.assert_allclose(joint["pelvis"], 0.5 * (ends["lhipjoint"] + ends["rhipjoint"]), atol=1e-9)
    # bone lengths in metres survive the unit conversion
    np.testing.assert_allclose(np.linalg.norm(joint["left_knee"] - joint["left_ankle"], axis=1), 0.41, atol=1e-9)


def test_find_asf_and_missing_skeleton(tmp_path):
    (tmp_path / "07_01.amc").write_text("1\n")
    with pytest.raises(FileNotFoundError) as info:
        find_asf(tmp_path / "07_01.amc")
    message = str(info.value)
    assert "07_01.asf" in message and "07.asf" in message and "07_01.amc" in message
    (tmp_path / "07.asf").write_text(_asf_text())
    assert find_asf(tmp_path / "07_01.amc") == tmp_path / "07.asf"
    (tmp_path / "07_01.asf").write_text(_asf_text())
    assert find_asf(tmp_path / "07_01.amc") == tmp_path / "07_01.asf"
    with pytest.raises(FileNotFoundError, match="no skeleton file"):
        read_asf_amc(tmp_path / "nothing" / "09_01.amc")


def _one_frame_amc():
    root, values = _random_motion(np.random.default_rng(4), 2)
    return _amc_text(root, values)


def _line_of(text, start):
    return next(i + 1 for i, line in enumerate(text.splitlines()) if line.startswith(start))


def test_bad_amc_names_file_and_line():
    skeleton = parse_asf(_asf_text(), source="s.asf")
    text = _one_frame_amc()
    lines = text.splitlines()
    # an unknown bone
    bad = text.replace("lfemur ", "lfemurx ", 1)
    with pytest.raises(AcclaimError, match=rf"m.amc: line {_line_of(bad, 'lfemurx')}: bone 'lfemurx' is not a bone "
                                           r"of the skeleton s.asf"):
        parse_amc(bad, skeleton, source="m.amc")
    # the wrong number of values
    n = _line_of(text, "ltibia")
    bad = "\n".join(line + " 1.0" if i + 1 == n else line for i, line in enumerate(lines))
    with pytest.raises(AcclaimError, match=rf"line {n}: bone 'ltibia' has 2 values; its dofs \(rx\) need 1"):
        parse_amc(bad, skeleton, source="m.amc")
    # a value that is not a number
    bad = "\n".join(line.replace(line.split()[1], "abc") if i + 1 == n else line for i, line in enumerate(lines))
    with pytest.raises(AcclaimError, match=rf"line {n}: bone 'ltibia': 'abc' is not a number"):
        parse_amc(bad, skeleton, source="m.amc")
    # a truncated last frame: the file ends after a few bones of frame 2
    cut = "\n".join(lines[:-5]) + "\n"
    with pytest.raises(AcclaimError, match=r"line \d+: the last frame \(from line \d+\) lacks bone\(s\) .*truncated"):
        parse_amc(cut, skeleton, source="m.amc")
    # a frame in the middle lacking a bone
    frame2 = _line_of(text, "2")
    bad = "\n".join(line for i, line in enumerate(lines) if not (line.startswith("head ") and i + 1 < frame2))
    with pytest.raises(AcclaimError, match=rf"line {frame2 - 1}: frame 1 \(from line \d+\) lacks bone\(s\) head"):
        parse_amc(bad, skeleton, source="m.amc")
    # frame numbers that skip
    with pytest.raises(AcclaimError, match="frame 3 follows frame 1"):
        parse_amc(text.replace("\n2\n", "\n3\n"), skeleton, source="m.amc")
    # a bone twice in a frame
    with pytest.raises(AcclaimError, match="bone 'ltibia' appears twice in frame 1"):
        parse_amc(text.replace("ltibia", "ltibia 1\nltibia", 1), skeleton, source="m.amc")
    with pytest.raises(AcclaimError, match="no frames"):
        parse_amc(":FULLY-SPECIFIED\n:DEGREES\n", skeleton, source="m.amc")
    with pytest.raises(AcclaimError, match="expected a frame number"):
        parse_amc("root 0 0 0 0 0 0\n", skeleton, source="m.amc")


def test_bad_asf_names_file_and_line(tmp_path):
    text = _asf_text()
    n = _line_of(text, "     direction")
    lines = text.splitlines()
    bad = "\n".join("     direction 1 0" if i + 1 == n else line for i, line in enumerate(lines))
    with pytest.raises(AcclaimError, match=rf"s.asf: line {n}: direction needs 3 numbers; got 2"):
        parse_asf(bad, source="s.asf")
    with pytest.raises(AcclaimError, match=r"line \d+: 'axis' needs three angles and an order"):
        parse_asf(text.replace("axis 0.0 0.0 20.0  XYZ", "axis 0.0 0.0 20.0", 1), source="s.asf")
    with pytest.raises(AcclaimError, match="rotation order 'XXY'"):
        parse_asf(text.replace("20.0  XYZ", "20.0  XXY", 1), source="s.asf")
    with pytest.raises(AcclaimError, match="not supported; only the root may translate"):
        parse_asf(text.replace("dof rx ry rz", "dof rx ry rz tx", 1), source="s.asf")
    with pytest.raises(AcclaimError, match="unknown bone keyword 'colour'"):
        parse_asf(text.replace("     id 2", "     colour red", 1), source="s.asf")
    with pytest.raises(AcclaimError, match="hierarchy names bone 'tail'"):
        parse_asf(text.replace("    root lhipjoint", "    root tail lhipjoint", 1), source="s.asf")
    # truncated inside a bone block, and before the hierarchy
    cut = text[:text.index("name lfemur")]
    with pytest.raises(AcclaimError, match=r"s.asf: line \d+: file ends inside a bone block \(the file is truncated\)"):
        parse_asf(cut, source="s.asf")
    with pytest.raises(AcclaimError, match="no :hierarchy"):
        parse_asf(text[:text.index(":hierarchy")], source="s.asf")
    with pytest.raises(AcclaimError, match="not an ASF file"):
        parse_asf("hello world\n", source="s.asf")
    path = tmp_path / "s.asf"
    path.write_text(cut)
    with pytest.raises(AcclaimError, match=str(path)):
        load_asf(path)


def test_parsed_fields():
    skeleton = parse_asf(_asf_text(length_unit=0.45, angle="rad", root_order="RX RY RZ TX TY TZ", root_axis="ZYX"))
    assert skeleton.metres_per_unit == pytest.approx(0.0254 / 0.45)
    assert skeleton.root_order == ("rx", "ry", "rz", "tx", "ty", "tz") and skeleton.root_axis == "ZYX"
    tibia = skeleton.bone("rtibia")
    assert tibia.parent == "rfemur" and tibia.axis_order == "YXZ" and tibia.dof == ("rx",)
    np.testing.assert_allclose(tibia.axis, np.deg2rad([0, -15, -20]))
    assert skeleton.bone("rfemur").dof == ("rz", "rx", "ry")
    names = skeleton.bone_names
    assert all(names.index(bone.parent) < names.index(bone.name) for bone in skeleton.bones if bone.parent != "root")
