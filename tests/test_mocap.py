"""MoCap readers: BVH parsing and forward kinematics, rig maps, DeepMimic clips, joint files."""

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lift2d3d.mocap import BVHError, forward_kinematics, parse_bvh, read_bvh, read_joints
from lift2d3d.mocap.bvh import guess_units
from lift2d3d.skeletons import BODY15, LIMB_JOINTS

TWO_JOINTS = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition %s
  JOINT Child
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
%s
"""


def _two_joint(order, rows):
    text = TWO_JOINTS % (" ".join(f"{a}rotation" for a in order), "\n".join(rows))
    return parse_bvh(text)


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX", "ZYX"])
def test_fk_any_channel_order_matches_intrinsic_euler(order):
    angles = [30.0, -50.0, 75.0]
    data = _two_joint(order, ["1 2 3 " + " ".join(map(str, angles)) + " 0 0 0", "0 0 0 0 0 0 0 0 0"])
    positions, rotations = forward_kinematics(data)
    expected = Rotation.from_euler(order, angles, degrees=True).as_matrix()  # upper case = intrinsic
    np.testing.assert_allclose(rotations[0, 0], expected, atol=1e-12)
    np.testing.assert_allclose(positions[0, 1], [1, 2, 3] + expected @ [0, 10, 0], atol=1e-12)
    np.testing.assert_allclose(positions[1, 1], [0, 10, 0])
    assert data.fps == pytest.approx(25.0)


def test_fk_child_rotation_composes_with_parent():
    data = _two_joint("ZXY", ["0 0 0 90 0 0 0 0 0", "0 0 0 90 0 0 0 90 0"])
    positions, rotations = forward_kinematics(data)
    # root rotated 90 deg about z: the child's +y offset points to -x
    np.testing.assert_allclose(positions[0, 1], [-10, 0, 0], atol=1e-12)
    np.testing.assert_allclose(rotations[1, 1], Rotation.from_euler("ZX", [90, 90], degrees=True).as_matrix(),
                               atol=1e-12)
    assert data.joints[1].end_site.tolist() == [0, 5, 0]


def test_position_channels_on_inner_joint_replace_or_add():
    text = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT Child
  {
    OFFSET 0 10 0
    CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.0333
0 0 0 0 12 0 0 0 0
"""
    data = parse_bvh(text)
    replaced, _ = forward_kinematics(data)
    added, _ = forward_kinematics(data, position_channels="add")
    np.testing.assert_allclose(replaced[0, 1], [0, 12, 0])
    np.testing.assert_allclose(added[0, 1], [0, 22, 0])


def test_truncated_bvh_names_the_line():
    text = TWO_JOINTS % ("Zrotation Xrotation Yrotation", "0 0 0 0 0 0 0 0 0")  # 1 of 2 frames
    with pytest.raises(BVHError, match=r"line \d+: file ends after 1 of 2 declared frames"):
        parse_bvh(text, source="take.bvh")
    cut = text.split("MOTION")[0].rsplit("}", 2)[0]
    with pytest.raises(BVHError, match=r"take.bvh: line \d+: file ends early"):
        parse_bvh(cut, source="take.bvh")


def test_malformed_bvh_values_name_the_line():
    text = TWO_JOINTS % ("Zrotation Xrotation Yrotation", "0 0 0 0 0 0 0 0 0\n0 0 0 0 zero 0 0 0 0")
    with pytest.raises(BVHError, match="line 20: frame 1 has a value that is not a number"):
        parse_bvh(text)
    text = TWO_JOINTS % ("Zrotation Xrotation Yrotation", "0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0")
    with pytest.raises(BVHError, match="line 20: frame 1 has 8 values; the hierarchy declares 9"):
        parse_bvh(text)
    with pytest.raises(BVHError, match="line 5: unknown channel"):
        parse_bvh(TWO_JOINTS.replace("Zposition %s", "Wposition %s") % ("Zrotation Xrotation Yrotation", ""))
    with pytest.raises(BVHError, match="not a BVH file"):
        parse_bvh("hello")


# A small humanoid in centimetres with made-up joint names (a studio rig), standing at rest.
STUDIO = {"Hips": ("", (0, 0, 0)), "LThigh": ("Hips", (9, 0, 0)), "LShin": ("LThigh", (0, -42, 0)),
          "LFoot": ("LShin", (0, -41, 0)), "RThigh": ("Hips", (-9, 0, 0)), "RShin": ("RThigh", (0, -42, 0)),
          "RFoot": ("RShin", (0, -41, 0)), "Chest": ("Hips", (0, 45, 0)), "Skull": ("Chest", (0, 10, 0)),
          "LArm": ("Chest", (17, 0, 0)), "LElbow": ("LArm", (28, 0, 0)), "LWrist": ("LElbow", (25, 0, 0)),
          "RArm": ("Chest", (-17, 0, 0)), "RElbow": ("RArm", (-28, 0, 0)), "RWrist": ("RElbow", (-25, 0, 0))}
STUDIO_MAP = {"left_shoulder": "LArm", "left_elbow": "LElbow", "left_wrist": "LWrist", "left_hip": "LThigh",
              "left_knee": "LShin", "left_ankle": "LFoot", "right_shoulder": "RArm", "right_elbow": "RElbow",
              "right_wrist": "RWrist", "right_hip": "RThigh", "right_knee": "RShin", "right_ankle": "RFoot",
              "head": "Skull"}


def _studio_bvh(frames, prefix=""):
    def block(name, depth):
        offset = " ".join(map(str, STUDIO[name][1]))
        pad = "  " * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        channels = ("CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if depth == 0
                    else "CHANNELS 3 Zrotation Xrotation Yrotation")
        children = [n for n, (parent, _) in STUDIO.items() if parent == name]
        inner = "".join(block(c, depth + 1) for c in children) or f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 0 0\n{pad}  }}\n"  # noqa: E501
        return f"{pad}{kind} {prefix}{name}\n{pad}{{\n{pad}  OFFSET {offset}\n{pad}  {channels}\n{inner}{pad}}}\n"
    n_channels = 6 + 3 * (len(STUDIO) - 1)
    # the root's position channels put the hips 95 cm up
    rows = ["0 95 " + " ".join(["0"] * (n_channels - 2)) for _ in range(frames)]
    return f"HIERARCHY\n{block('Hips', 0)}MOTION\nFrames: {frames}\nFrame Time: 0.0333333\n" + "\n".join(rows) + "\n"


def test_read_bvh_with_user_map_defines_body15_joints(tmp_path):
    path = tmp_path / "studio.bvh"
    path.write_text(_studio_bvh(3))
    map_path = tmp_path / "studio.json"
    map_path.write_text(json.dumps(STUDIO_MAP))
    clip = read_bvh(path, mapping=map_path)
    joints = clip.joints3d
    assert joints.shape == (3, 15, 3) and clip.n_invalid == 0
    j = {name: joints[0, i] for i, name in enumerate(BODY15.joints)}
    # centimetres detected from the leg length; pelvis/neck are the midpoints by definition
    np.testing.assert_allclose(j["left_hip"], [0.09, 0.95, 0.0])
    np.testing.assert_allclose(j["left_ankle"], [0.09, 0.12, 0.0])
    np.testing.assert_allclose(j["pelvis"], [0.0, 0.95, 0.0])
    np.testing.assert_allclose(j["neck"], [0.0, 1.40, 0.0])
    np.testing.assert_allclose(j["right_wrist"], [-0.70, 1.40, 0.0])
    # head: 10 cm beyond the skull joint along its bone (no usable end site)
    np.testing.assert_allclose(j["head"], [0.0, 1.60, 0.0])
    assert clip.fps == pytest.approx(30.0, rel=1e-5)


def test_read_bvh_yaml_map_and_namespaced_joints(tmp_path):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "studio.bvh"
    path.write_text(_studio_bvh(1, prefix="rig:"))
    map_path = tmp_path / "studio.yaml"
    map_path.write_text(yaml.safe_dump(dict(STUDIO_MAP, units="cm")))
    clip = read_bvh(path, mapping=map_path)
    np.testing.assert_allclose(clip.joints3d[0, BODY15.index("left_elbow")], [0.45, 1.40, 0.0])


def test_unknown_rig_joints_list_the_files_joints_and_the_map_format(tmp_path):
    path = tmp_path / "studio.bvh"
    path.write_text(_studio_bvh(1))
    with pytest.raises(ValueError) as info:
        read_bvh(path)  # no shipped rig matches
    message = str(info.value)
    assert "LThigh" in message and "RWrist" in message and "--map" in message and "JSON" in message
    with pytest.raises(ValueError, match="names joint\\(s\\) LeftArm.*The file's joints are: Hips"):
        read_bvh(path, rig="cmu")
    bad_map = dict(STUDIO_MAP, left_elbow="Elbow_L")
    with pytest.raises(ValueError, match="Elbow_L"):
        read_bvh(path, mapping=bad_map)
    with pytest.raises(ValueError, match="no entry for head"):
        read_bvh(path, mapping={k: v for k, v in STUDIO_MAP.items() if k != "head"})


def test_guess_units():
    assert guess_units(0.83) == 1.0
    assert guess_units(83.0) == 0.01
    assert guess_units(830.0) == 0.001
    assert guess_units(33.0) == pytest.approx(0.0254)
    with pytest.raises(ValueError, match="units"):
        guess_units(5000.0)


def _write_csv(path, poses, bad_cell=None):
    names = [n for n in BODY15.joints if n not in ("pelvis", "neck")]
    header = ["frame"] + [f"{n}_{a}" for n in names for a in "xyz"]
    lines = [",".join(header)]
    for k, pose in enumerate(poses):
        cells = [str(k)] + [repr(float(pose[BODY15.index(n), a])) for n in names for a in range(3)]
        lines.append(",".join(cells))
    if bad_cell:
        row, col, value = bad_cell
        cells = lines[row].split(",")
        cells[col] = value
        lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def test_read_joints_csv_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(4, 15, 3))
    poses[2, 5, 1] = np.nan
    _write_csv(tmp_path / "poses.csv", poses)
    clip = read_joints(tmp_path / "poses.csv")
    assert clip.n_invalid == 1 and np.all(np.isnan(clip.joints3d[2]))
    limbs = [BODY15.index(j) for j in LIMB_JOINTS]
    np.testing.assert_allclose(clip.joints3d[[0, 1, 3]][:, limbs], poses[[0, 1, 3]][:, limbs])
    pelvis = 0.5 * (poses[:, BODY15.index("left_hip")] + poses[:, BODY15.index("right_hip")])
    np.testing.assert_allclose(clip.joints3d[0, 0], pelvis[0])
    np.savez(tmp_path / "poses.npz", joints3d=poses * 100, joint_names=np.array(BODY15.joints))
    clip = read_joints(tmp_path / "poses.npz", units="cm")
    np.testing.assert_allclose(clip.joints3d[3], poses[3])


def test_read_joints_errors_name_row_column_and_joint(tmp_path):
    poses = np.zeros((3, 15, 3))
    _write_csv(tmp_path / "bad.csv", poses, bad_cell=(2, 2, "abc"))
    with pytest.raises(ValueError, match=r"bad.csv: row 3 \(frame 1\), column 'head_y'.*not a number"):
        read_joints(tmp_path / "bad.csv")
    (tmp_path / "few.csv").write_text("head_x,head_y,head_z\n0,0,0\n")
    with pytest.raises(ValueError, match="no data for joint\\(s\\) left_shoulder"):
        read_joints(tmp_path / "few.csv")


def test_deepmimic_clips_are_rigid_and_right_handed():
    pytest.importorskip("pybullet_data")
    from lift2d3d.mocap import deepmimic_clips, read_deepmimic

    paths = deepmimic_clips()
    assert len(paths) == 15
    clip = read_deepmimic([p for p in paths if p.name == "humanoid3d_walk.txt"][0])
    joints = clip.joints3d
    assert clip.n_invalid == 0 and clip.fps == pytest.approx(30.0, rel=0.01)
    edges = np.array(BODY15.edge_indices())
    bones = np.linalg.norm(joints[:, edges[:, 0]] - joints[:, edges[:, 1]], axis=-1)
    # a rigid skeleton: every bone but the spine (pelvis-neck bends at the chest) keeps its length;
    # URDF lengths at DeepMimic's 0.25 scale
    bones = bones[:, 1:]
    np.testing.assert_allclose(bones, np.broadcast_to(bones[0], bones.shape), atol=1e-9)
    thigh = bones[0, BODY15.edges.index(("left_hip", "left_knee")) - 1]
    assert thigh == pytest.approx(1.686184 * 0.25)
    # walking upright: head above pelvis above ankles; facing +x with the right side at +z
    y = joints[..., 1]
    assert np.all(y[:, BODY15.index("head")] > y[:, 0]) and np.all(y[:, 0] > y[:, BODY15.index("left_ankle")])
    right = joints[:, BODY15.index("right_hip")] - joints[:, BODY15.index("left_hip")]
    forward = np.cross([0, 1, 0], right)
    velocity = joints[-1, 0] - joints[0, 0]
    assert np.dot(forward.mean(axis=0), velocity) > 0


CMU_NAMES = {"LArm": "LeftArm", "LElbow": "LeftForeArm", "LWrist": "LeftHand", "LThigh": "LeftUpLeg",
             "LShin": "LeftLeg", "LFoot": "LeftFoot", "RArm": "RightArm", "RElbow": "RightForeArm",
             "RWrist": "RightHand", "RThigh": "RightUpLeg", "RShin": "RightLeg", "RFoot": "RightFoot",
             "Skull": "Head"}


def _renamed(text, names):
    for old, new in names.items():
        text = text.replace(f"JOINT {old}\n", f"JOINT {new}\n")
    return text


def test_shipped_rig_is_detected(tmp_path):
    studio = tmp_path / "studio.bvh"
    studio.write_text(_studio_bvh(2))
    cmu = tmp_path / "cmu.bvh"
    cmu.write_text(_renamed(_studio_bvh(2), CMU_NAMES))
    expected = read_bvh(studio, mapping=STUDIO_MAP).joints3d
    np.testing.assert_allclose(read_bvh(cmu).joints3d, expected)
    np.testing.assert_allclose(read_bvh(cmu, rig="cmu", units="cm").joints3d, expected)
    with pytest.raises(ValueError, match="unknown rig 'vicon'"):
        read_bvh(cmu, rig="vicon")


def test_evaluate_command_scores_a_bvh(tmp_path, capsys):
    from lift2d3d.cli import main

    rng = np.random.default_rng(0)
    text = _studio_bvh(6)
    head, rows = text.split("Frame Time: 0.0333333\n")
    # swing the arms and legs a little so the frames differ
    frames = []
    for _ in range(6):
        values = np.zeros(6 + 3 * (len(STUDIO) - 1))
        values[1] = 95
        values[6:] = rng.uniform(-25, 25, len(values) - 6)
        frames.append(" ".join(f"{v:.4f}" for v in values))
    path = tmp_path / "take.bvh"
    path.write_text(head + "Frame Time: 0.0333333\n" + "\n".join(frames) + "\n")
    assert main(["evaluate", "--bvh", str(path), "--map", _write_map(tmp_path), "--camera", "weak"]) == 0
    out = capsys.readouterr().out
    assert "6 frames from 1 take(s)" in out
    row = [line for line in out.splitlines() if line.startswith("bases=default")][0].split()
    pa, camera_error = float(row[3]), float(row[5])
    assert 0 < pa < 400 and pa <= camera_error + 1e-9  # PA also aligns rotation: never worse


def _write_map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps(STUDIO_MAP))
    return str(path)


def test_views_are_upright_right_handed_cameras():
    from lift2d3d.mocap.views import camera_rotation, pa_mpjpe, project_views, random_views, similarity_align

    rng = np.random.default_rng(3)
    angles, distances = random_views(50, rng)
    for a in angles:
        R = camera_rotation(*a)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
    pose = np.array([[0.0, 1.7, 0.0], [0.0, 0.1, 0.0], [0.2, 1.4, 0.0]])[None].repeat(50, axis=0)
    camera3d, keypoints = project_views(pose, angles, distances, perspective=True)
    assert np.all(keypoints[:, 0, 1] < keypoints[:, 1, 1])  # head above feet: smaller image y
    np.testing.assert_allclose(camera3d[:, 0, 2], distances, atol=0.6)
    assert np.all(pa_mpjpe(similarity_align(camera3d * 2 + 1, camera3d), camera3d) < 1e-9)
    # a depth-mirrored (non-planar) pose is not "aligned away" by PA: rotations only
    solid = np.array([[0.0, 1.7, 0.0], [0.0, 0.1, 0.0], [0.2, 1.4, 0.0], [0.0, 1.0, 0.3]])[None]
    assert pa_mpjpe(solid * [1, 1, -1], solid)[0] > 0.05
