"""Outputs people take elsewhere: the BVH rig (inverse kinematics), BVH and 3D TRC files, the world frame in
tables, and reading them back -- by lift2d3d's own readers and by an independent BVH reader written here.
"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from clip_support import seen, walking_clip, wide_csv
from lift2d3d.cli import main
from lift2d3d.io import (KeypointFormatError, read_keypoints, read_lifted, read_trc3d, world_sidecar, write_bvh,
                         write_lifted, write_trc)
from lift2d3d.kinematics import RIG, STRAIGHT_LIMB_DEG, euler_angles, euler_matrices, fit_rig
from lift2d3d.mocap import read_bvh
from lift2d3d.skeletons import BODY15

EDGES = np.array(BODY15.edge_indices())


# ------------------------------------------------------------------------------ an independent BVH reader
def parse_bvh(text):
    """Joints (name, parent, offset, channels, end site) and the motion rows of a BVH file."""
    tokens = text.split()
    joints, stack, i = [], [], 0
    while tokens[i] != "MOTION":
        word = tokens[i]
        if word in ("ROOT", "JOINT"):
            joints.append({"name": tokens[i + 1], "parent": stack[-1] if stack else -1, "end": None})
            i += 2
        elif word == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif word == "}":
            stack.pop()
            i += 1
        elif word == "OFFSET":
            joints[stack[-1]]["offset"] = np.array([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif word == "CHANNELS":
            count = int(tokens[i + 1])
            joints[stack[-1]]["channels"] = tokens[i + 2:i + 2 + count]
            i += 2 + count
        elif word == "End":
            # End Site { OFFSET x y z }
            joints[stack[-1]]["end"] = np.array([float(v) for v in tokens[i + 4:i + 7]])
            i += 8
        else:
            i += 1
    n = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.array(tokens[i + 6:], dtype=float).reshape(n, -1)
    return joints, values, frame_time


def bvh_positions(text):
    """World positions (n, J, 3) of every joint and the world rotations, by SciPy's Euler angles."""
    joints, values, frame_time = parse_bvh(text)
    n = len(values)
    positions = np.zeros((n, len(joints), 3))
    rotations = [None] * len(joints)
    column = 0
    for k, joint in enumerate(joints):
        translation = np.tile(joint["offset"], (n, 1))
        axes, angles = "", []
        for name in joint["channels"]:
            if name.endswith("position"):
                translation[:, "XYZ".index(name[0])] = values[:, column]
            else:
                axes += name[0]
                angles.append(values[:, column])
            column += 1
        local = Rotation.from_euler(axes, np.stack(angles, axis=1), degrees=True)   # upper case: intrinsic
        if joint["parent"] < 0:
            positions[:, k], rotations[k] = translation, local
        else:
            p = joint["parent"]
            positions[:, k] = positions[:, p] + rotations[p].apply(translation)
            rotations[k] = rotations[p] * local
    return joints, positions, rotations, frame_time


def body15_from_bvh(text, prefix=""):
    """body15 joints of a BVH written with the ``cmu`` names (the head: the midpoint of Head and its end site)."""
    joints, positions, rotations, frame_time = bvh_positions(text)
    index = {j["name"]: k for k, j in enumerate(joints)}
    names = {"left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
             "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot"}
    named = {}
    for joint, rig in names.items():
        named[joint] = positions[:, index[prefix + rig]]
        named["right_" + joint[5:]] = positions[:, index[prefix + rig.replace("Left", "Right")]]
    head = index[prefix + "Head"]
    named["head"] = positions[:, head] + 0.5 * rotations[head].apply(joints[head]["end"])
    named["pelvis"] = 0.5 * (named["left_hip"] + named["right_hip"])
    named["neck"] = 0.5 * (named["left_shoulder"] + named["right_shoulder"])
    return np.stack([named[j] for j in BODY15.joints], axis=1), frame_time


def bone_lengths(joints):
    return np.linalg.norm(joints[:, EDGES[:, 0]] - joints[:, EDGES[:, 1]], axis=-1)


# ------------------------------------------------------------------------------ the rig
def test_the_rig_reproduces_a_clip_whose_bones_do_not_change():
    world = walking_clip(90, lean_deg=10.0, rigid=True)
    motion = fit_rig(world, BODY15.joints)
    assert np.abs(motion.body15() - world).max() < 1e-9
    # rotations are rotations; Euler angles in BVH's order give them back
    R = motion.rotations
    assert np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(R), 1.0)
    assert np.allclose(euler_matrices(euler_angles(R)), R, atol=1e-9)


def test_the_rig_keeps_one_set_of_bones_and_stays_close_to_joints_whose_bones_vary():
    rng = np.random.default_rng(1)
    world = walking_clip(90, rigid=True)
    noisy = world * rng.normal(1.0, 0.01, (90, 1, 1)) + rng.normal(0.0, 0.004, world.shape)
    motion = fit_rig(noisy, BODY15.joints)
    placed = motion.body15()
    assert np.ptp(bone_lengths(placed), axis=0).max() < 1e-9
    assert np.linalg.norm(placed - noisy, axis=-1).mean() < 0.012
    # the bones' directions follow the lift's: the rig's elbow sits on the lifted upper arm's line
    a, b = BODY15.index("left_shoulder"), BODY15.index("left_elbow")
    direction = placed[:, b] - placed[:, a]
    lifted = noisy[:, b] - noisy[:, a]
    cosine = (direction * lifted).sum(-1) / np.linalg.norm(direction, axis=-1) / np.linalg.norm(lifted, axis=-1)
    assert np.median(np.degrees(np.arccos(np.clip(cosine, -1, 1)))) < 3.0


def test_knees_bend_about_the_thigh_s_hinge_axis():
    world = walking_clip(90)
    motion = fit_rig(world, BODY15.joints)
    knee = [j.name for j in RIG].index("left_leg")
    # bent further than STRAIGHT_LIMB_DEG, the shank turns about the thigh's local X only: no twist, no sideways
    # swing (closer to straight the twist is blended towards none)
    rotvec = Rotation.from_matrix(motion.rotations[:, knee]).as_rotvec()
    bent = np.linalg.norm(rotvec, axis=1) > np.radians(STRAIGHT_LIMB_DEG + 1)
    assert bent.sum() > 10
    assert np.abs(rotvec[bent, 1:]).max() < 1e-6


def test_bad_rig_input_is_named():
    world = walking_clip(5)
    with pytest.raises(ValueError, match="missing left_wrist"):
        fit_rig(np.delete(world, BODY15.index("left_wrist"), axis=1),
                [j for j in BODY15.joints if j != "left_wrist"])
    world[2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_rig(world, BODY15.joints)


# ------------------------------------------------------------------------------ BVH
@pytest.mark.parametrize("units", ["m", "cm"])
def test_bvh_reads_back_by_an_independent_reader_and_by_lift2d3d_s(tmp_path, units):
    world = walking_clip(60) + np.random.default_rng(2).normal(0, 0.003, (60, 15, 3))
    path = tmp_path / "clip.bvh"
    motion = write_bvh(path, world, BODY15.joints, fps=25.0, units=units)
    text = path.read_text()
    assert text.startswith("HIERARCHY\nROOT Hips\n") and "JOINT LeftForeArm" in text
    ours, frame_time = body15_from_bvh(text)
    scale = 100.0 if units == "cm" else 1.0
    assert frame_time == pytest.approx(1 / 25.0, rel=1e-6)
    assert np.abs(ours / scale - motion.body15()).max() < 2e-5
    # one skeleton: bone lengths constant over the clip (to the file's rounding)
    assert np.ptp(bone_lengths(ours / scale), axis=0).max() < 1e-5
    clip = read_bvh(path)
    assert clip.fps == pytest.approx(25.0, rel=1e-6)
    assert np.abs(clip.joints3d - motion.body15()).max() < 2e-5


def test_bvh_mixamo_names_and_bad_options(tmp_path):
    world = walking_clip(20)
    write_bvh(tmp_path / "m.bvh", world, BODY15.joints, fps=30.0, rig="mixamo")
    text = (tmp_path / "m.bvh").read_text()
    assert "ROOT mixamorig:Hips" in text and "JOINT mixamorig:LeftForeArm" in text
    ours, _ = body15_from_bvh(text, prefix="mixamorig:")
    assert np.allclose(ours, read_bvh(tmp_path / "m.bvh").joints3d, atol=2e-5)
    with pytest.raises(ValueError, match="unknown BVH rig"):
        write_bvh(tmp_path / "x.bvh", world, BODY15.joints, fps=30.0, rig="daz")
    with pytest.raises(ValueError, match="unknown BVH units"):
        write_bvh(tmp_path / "x.bvh", world, BODY15.joints, fps=30.0, units="inch")
    assert not (tmp_path / "x.bvh").exists()


# ------------------------------------------------------------------------------ TRC
def test_trc_round_trip_and_the_2d_reader_still_refuses_it(tmp_path):
    world = walking_clip(30)
    world[5] = np.nan
    path = write_trc(tmp_path / "clip.trc", world, BODY15.joints, fps=60.0, frames=np.arange(100, 130))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    assert lines[2].split("\t") == ["60", "60", "30", "15", "m", "60", "100", "30"]
    assert lines[3].split("\t")[:6] == ["Frame#", "Time", "Hip", "", "", "Neck"]
    back = read_trc3d(path)
    assert back.joint_names == BODY15.joints and back.rate == 60.0
    assert np.array_equal(back.frame, np.arange(100, 130)) and back.time[0] == pytest.approx(100 / 60)
    assert np.isnan(back.joints3d[5]).all()
    assert np.nanmax(np.abs(back.joints3d - world)) < 1e-6
    lifted = read_lifted(path)
    assert lifted.frame == "world" and lifted.table["status"].tolist().count("bad_input") == 1
    assert np.allclose(lifted.joints3d(), world, atol=1e-6, equal_nan=True)
    with pytest.raises(KeypointFormatError, match="already 3D.*read_trc3d"):
        read_keypoints(path)


def test_trc_bad_cell_is_named(tmp_path):
    path = write_trc(tmp_path / "clip.trc", walking_clip(3), BODY15.joints, fps=30.0)
    lines = path.read_text().splitlines()
    cells = lines[7].split("\t")
    cells[5] = "abc"
    lines[7] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KeypointFormatError, match=r"line 8, Neck X: 'abc' is not a number"):
        read_trc3d(path)


# ------------------------------------------------------------------------------ tables in the world frame
def test_write_lifted_records_the_world_frame(tmp_path):
    table = pd.DataFrame({"frame": [0, 1], **{f"{j}_{a}": [0.1, 0.2] for j in BODY15.joints for a in "xyz"},
                          "status": ["ok", "ok"], "reprojection_error": [0.5, 0.5], "iterations": [3, 3],
                          "message": ["", ""]})
    meta = {"all": {"frame": "world", "gravity": "test"}}
    for suffix in (".csv", ".json", ".npz"):
        path = write_lifted(table, tmp_path / f"t{suffix}", world=meta)
        back = read_lifted(path)
        assert back.frame == "world" and back.metadata == meta
        assert np.allclose(back.joints3d(), 0.1 + 0.1 * np.arange(2)[:, None, None])
    assert json.loads(world_sidecar(tmp_path / "t.csv").read_text())["world"] == meta
    # rewritten in the camera frame, the stale sidecar goes
    write_lifted(table, tmp_path / "t.csv")
    assert not world_sidecar(tmp_path / "t.csv").exists() and read_lifted(tmp_path / "t.csv").frame == "camera"
    with pytest.raises(ValueError, match="one person's clip"):
        write_lifted(table, tmp_path / "t.bvh")


# ------------------------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def walk_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walk")
    world = walking_clip(90)
    _, keypoints, up = seen(world, azimuth=60.0, elevation=15.0)
    return wide_csv(folder / "walk.csv", keypoints), world, up


def test_lift_to_bvh_trc_and_world_csv_agree(walk_csv, tmp_path):
    path, world, up = walk_csv
    assert main(["lift", str(path), "--sequence", "-q", "--height", "1.75", "-o", str(tmp_path / "w.csv"),
                 "--world"]) == 0
    assert main(["lift", str(path), "--sequence", "-q", "--height", "1.75", "-o", str(tmp_path / "w.bvh"),
                 "--bvh-units", "cm"]) == 0
    assert main(["lift", str(path), "--sequence", "-q", "--height", "1.75", "-o", str(tmp_path / "w.trc"),
                 "--fps", "30"]) == 0
    table = read_lifted(tmp_path / "w.csv")
    assert table.frame == "world" and table.metadata["all"]["scale"].startswith("height=1.75")
    csv = table.joints3d()
    trc = read_trc3d(tmp_path / "w.trc").joints3d
    assert np.allclose(trc, csv, atol=2e-6)
    bvh, frame_time = body15_from_bvh((tmp_path / "w.bvh").read_text())
    bvh = bvh / 100.0
    assert frame_time == pytest.approx(1 / 30)
    assert np.ptp(bone_lengths(bvh), axis=0).max() < 5e-4
    assert np.linalg.norm(bvh - csv, axis=-1).mean() < 0.015
    meta = json.loads(world_sidecar(tmp_path / "w.bvh").read_text())["world"]["all"]
    assert meta["bvh_rig"] == "cmu" and meta["bvh_units"] == "cm" and meta["frames"] == 90
    # standing on the floor, Y up
    assert np.median(csv[:, [BODY15.index("left_ankle"), BODY15.index("right_ankle")], 1].min(axis=1)) < 0.12
    assert (csv[:, BODY15.index("head"), 1] > 1.3).all()


def test_several_people_give_one_clip_each(walk_csv, tmp_path):
    _, world, _ = walk_csv
    _, a, _ = seen(world, azimuth=10.0)
    _, b, _ = seen(world[::-1].copy(), azimuth=200.0)
    path = wide_csv(tmp_path / "two.csv", [a, b], people=["ann", "bo"])
    assert main(["lift", str(path), "-q", "-o", str(tmp_path / "two.bvh")]) == 0
    assert sorted(p.name for p in tmp_path.glob("two_*.bvh")) == ["two_person-ann.bvh", "two_person-bo.bvh"]
    assert not (tmp_path / "two.bvh").exists()
    for name in ("ann", "bo"):
        assert read_bvh(tmp_path / f"two_person-{name}.bvh").joints3d.shape == (90, 15, 3)


def test_frames_without_a_pose_are_interpolated_in_bvh_and_empty_in_trc(walk_csv, tmp_path):
    path, _, _ = walk_csv
    frame = pd.read_csv(path)
    frame.loc[10:12, [c for c in frame.columns if c != "frame"]] = np.nan
    frame = frame.drop(index=[40, 41])          # and two frames missing from the file altogether
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    assert main(["lift", str(tmp_path / "gaps.csv"), "-q", "-o", str(tmp_path / "g.bvh")]) == 0
    assert main(["lift", str(tmp_path / "gaps.csv"), "-q", "-o", str(tmp_path / "g.trc")]) == 0
    clip = read_bvh(tmp_path / "g.bvh")
    assert len(clip) == 90 and np.isfinite(clip.joints3d).all()
    trc = read_trc3d(tmp_path / "g.trc")
    assert len(trc.frame) == 90 and np.isnan(trc.joints3d[[10, 11, 12, 40, 41]]).all()
    assert np.isfinite(trc.joints3d[[9, 13, 39, 42]]).all()
    meta = json.loads(world_sidecar(tmp_path / "g.bvh").read_text())["world"]["all"]
    assert meta["interpolated_frames"] == 5


def test_export_options_that_cannot_work_are_refused(walk_csv, tmp_path, capsys):
    path, _, _ = walk_csv
    assert main(["lift", str(path), "-o", str(tmp_path / "x.bvh"), "--output-skeleton", "h36m17"]) == 2
    assert "drop --output-skeleton" in capsys.readouterr().err
    assert main(["lift", str(path), "-o", str(tmp_path / "x.bvh"), "--world", "--scheduler", "local:1"]) == 2
    assert "without --scheduler" in capsys.readouterr().err
    assert not list(tmp_path.glob("x*"))


def test_view_writes_a_small_self_contained_page(walk_csv, tmp_path):
    path, _, _ = walk_csv
    assert main(["lift", str(path), "--sequence", "-q", "--world", "-o", str(tmp_path / "w.json")]) == 0
    assert main(["view", str(tmp_path / "w.json"), "--keypoints", str(path), "-o", str(tmp_path / "v.html")]) == 0
    page = (tmp_path / "v.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    data = json.loads(page.split('<script id="lift2d3d-data" type="application/json">')[1].split("</script>")[0])
    assert data["frame"] == "world" and len(data["frames"]) == 90 and data["joints"] == list(BODY15.joints)
    assert len(data["xyz"]) == 90 * 15 * 3 and len(data["keypoints"]) == 90 * 15 * 2
    csv = read_lifted(tmp_path / "w.json").joints3d()
    assert np.allclose(np.array(data["xyz"]).reshape(90, 15, 3) / 1000, csv, atol=5e-4)
    assert main(["view", str(tmp_path / "w.json"), "--keypoints", str(tmp_path / "v.html"),
                 "-o", str(tmp_path / "bad.html")]) == 2
    assert not (tmp_path / "bad.html").exists()
