"""The readers of other tools' files: what each format's own quirks need, and a clear error for each misuse.

(What every reader promises alike is in ``test_io_contract.py``.)
"""

import importlib.util
import json
import os
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

from lift2d3d import lift_table
from lift2d3d.io import KeypointFormatError, read_keypoints
from lift2d3d.io.names import canonical_joint, resolve_parts
from lift2d3d.lifter import Lifter
from lift2d3d.pixels import looks_normalised, normalised_rows, to_pixels
from lift2d3d.skeletons import get_skeleton
from test_io_support import toy_bases
from tool_files import (DLC_PARTS, IMAGE_SIZE, N_FRAMES, _dlc_frame, keypoints_in, write_deeplabcut_csv,
                        write_deeplabcut_h5, write_mediapipe_named, write_mediapipe_numbered, write_mmpose_video,
                        write_openpose, write_trc, write_wide_csv)

COCO = get_skeleton("coco17")
HAVE_TABLES = importlib.util.find_spec("tables") is not None


# ----------------------------------------------------------------------------------- the pixels rule

def test_normalised_rows_and_the_table_verdict():
    kp, sc = keypoints_in("coco17")
    normalised = kp / np.array(IMAGE_SIZE)
    assert normalised_rows(normalised, sc).all() and not normalised_rows(kp, sc).any()
    assert looks_normalised(normalised, sc) and not looks_normalised(kp, sc)
    # a landmark off the picture (MediaPipe gives y > 1 below the bottom edge) is still normalised
    normalised[0, COCO.index("left_ankle"), 1] = 1.4
    assert normalised_rows(normalised, sc)[0]
    # a single wild frame does not flip the table's verdict; one joint or all joints at one point is no pose
    normalised[1, COCO.index("left_knee")] = (700.0, 20.0)
    assert not normalised_rows(normalised, sc)[1] and looks_normalised(normalised, sc)
    assert not normalised_rows(np.zeros((1, 17, 2)), np.ones((1, 17)))[0]
    assert not looks_normalised(np.full((3, 17, 2), np.nan))
    np.testing.assert_allclose(to_pixels(kp / np.array(IMAGE_SIZE), IMAGE_SIZE), kp)


def test_normalised_wide_csv_without_image_size_is_an_error_never_a_silent_lift(tmp_path):
    written = write_wide_csv(tmp_path)
    frame = written.plain_frame()
    for joint in COCO.joints:
        frame[f"{joint}_x"] /= IMAGE_SIZE[0]
        frame[f"{joint}_y"] /= IMAGE_SIZE[1]
    path = tmp_path / "normalised.csv"
    frame.to_csv(path, index=False, float_format="%.12g")
    with pytest.raises(KeypointFormatError, match=r"normalised.*--image-size WIDTH HEIGHT"):
        read_keypoints(path)
    table = read_keypoints(path, image_size=IMAGE_SIZE)
    np.testing.assert_allclose(table.keypoints, written.keypoints, atol=1e-6)
    lifter = Lifter(bases=toy_bases(), method="convex")
    with pytest.raises(KeypointFormatError, match="image_size="):
        lift_table(frame, lifter)
    lifted = lift_table(frame, lifter, image_size=IMAGE_SIZE)
    expected = lift_table(written.plain_frame(), lifter)
    xyz = [c for c in expected.columns if c.endswith(("_x", "_y", "_z")) and c in lifted]
    np.testing.assert_allclose(lifted[xyz].to_numpy(float), expected[xyz].to_numpy(float), atol=1e-6)


def test_pixels_with_an_image_size_are_left_alone_with_a_note(tmp_path):
    written = write_wide_csv(tmp_path)
    table = read_keypoints(written.path, image_size=(1920, 1080))
    np.testing.assert_allclose(table.keypoints, written.keypoints, atol=1e-6, equal_nan=True)
    assert any("pixels already" in note for note in table.notes)
    with pytest.raises(ValueError, match="two positive numbers"):
        read_keypoints(written.path, image_size=(0, 1080))


# ----------------------------------------------------------------------------------- MediaPipe

def test_mediapipe_landmarks_need_the_image_size(tmp_path):
    for write in (write_mediapipe_named, write_mediapipe_numbered):
        (tmp_path / write.__name__).mkdir()
        written = write(tmp_path / write.__name__)
        with pytest.raises(KeypointFormatError, match="--image-size"):
            read_keypoints(written.path)


def test_mediapipe_upper_case_names_and_zero_based_numbers(tmp_path):
    written = write_mediapipe_named(tmp_path)
    frame = pd.read_csv(written.path)
    frame.columns = [c if c == "frame" else c.rsplit("_", 1)[0].upper() + "_" + c.rsplit("_", 1)[1]
                     for c in frame.columns]
    upper = tmp_path / "upper.csv"
    frame.to_csv(upper, index=False, float_format="%.12g")
    table = read_keypoints(upper, image_size=IMAGE_SIZE)
    assert table.layout == "mediapipe-csv"
    np.testing.assert_allclose(table.keypoints, written.keypoints, atol=1e-6, equal_nan=True)
    # x0, y0, z0, v0, ... (MediaPipe's own 0-based numbers) and a Holistic export's extra face points
    blaze = get_skeleton("blazepose33")
    numbered = {"time": np.arange(N_FRAMES) / 30}
    for j, joint in enumerate(blaze.joints):
        numbered[f"x{j}"], numbered[f"y{j}"] = frame[f"{joint.upper()}_x"], frame[f"{joint.upper()}_y"]
        numbered[f"z{j}"], numbered[f"v{j}"] = frame[f"{joint.upper()}_z"], frame[f"{joint.upper()}_visibility"]
    for j in range(33, 40):
        numbered[f"x{j}"], numbered[f"y{j}"], numbered[f"z{j}"] = 0.5, 0.5, 0.0
    path = tmp_path / "numbered.csv"
    pd.DataFrame(numbered).to_csv(path, index=False, float_format="%.12g")
    table = read_keypoints(path, image_size=IMAGE_SIZE)
    np.testing.assert_allclose(table.keypoints, written.keypoints, atol=1e-6, equal_nan=True)
    assert list(table.ids.columns) == ["time"]                   # a time column: no frame column added
    assert any("beyond BlazePose's 33" in note for note in table.notes)


def test_a_lifted_table_is_still_not_taken_for_mediapipe(tmp_path):
    path = tmp_path / "lifted.csv"
    path.write_text("frame,nose_x,nose_y,nose_z,status,reprojection_error\n0,0.1,0.2,3.0,ok,1.0\n")
    with pytest.raises(KeypointFormatError, match="lift2d3d lift"):
        read_keypoints(path)


# ----------------------------------------------------------------------------------- MMPose

def test_mmpose_halpe_and_wholebody_predictions_use_their_coco_keypoints(tmp_path):
    written = write_mmpose_video(tmp_path, halpe=True)
    table = read_keypoints(written.path)
    assert table.skeleton.name == "coco17"
    np.testing.assert_allclose(table.keypoints, written.keypoints, atol=1e-6, equal_nan=True)
    assert any("Halpe-26" in note and "first 17" in note for note in table.notes)


def test_mmpose_3d_predictions_and_wrong_counts_say_what_to_do(tmp_path):
    path = tmp_path / "pose3d.json"
    path.write_text(json.dumps([{"frame_id": 0, "instances": [
        {"keypoints": [[0.1, 0.2, 0.3]] * 17, "keypoint_scores": [1.0] * 17}]}]))
    with pytest.raises(KeypointFormatError, match="3D .*already lifted"):
        read_keypoints(path)
    path.write_text(json.dumps([{"frame_id": 0, "instances": [
        {"keypoints": [[10.0, 20.0]] * 21, "keypoint_scores": [1.0] * 21}]}]))
    with pytest.raises(KeypointFormatError, match="21 keypoints"):
        read_keypoints(path)
    path.write_text(json.dumps([{"frame_id": 0, "instances": [
        {"keypoints": [[10.0 + k, 20.0 * k] for k in range(17)], "keypoint_scores": [1.0] * 17},
        {"keypoints": [[10.0, 20.0]] * 16, "keypoint_scores": [1.0] * 16}]}]))
    with pytest.warns(UserWarning, match="bad_input"):
        table = read_keypoints(path)
    assert table.good.tolist() == [True, False] and "16 keypoints" in table.problems[1]


def test_openpose_and_mmpose_empty_frames_keep_their_row(tmp_path):
    (tmp_path / "op").mkdir()
    (tmp_path / "mm").mkdir()
    for written in (write_openpose(tmp_path / "op", empty_frames=(0, 4)), write_mmpose_video(tmp_path / "mm")):
        table = read_keypoints(written.path)
        assert len(table) == N_FRAMES and table.no_person.sum() == len(np.flatnonzero(written.no_person))
        assert not table.good[table.no_person].any() and not table.bad.any()
        assert table.problem_summary() == ""                        # nobody there is no bad input


# ----------------------------------------------------------------------------------- DeepLabCut

def test_body_part_names_of_every_convention_are_matched():
    for name, joint in [("LeftShoulder", "left_shoulder"), ("l_shoulder", "left_shoulder"),
                        ("shoulder_left", "left_shoulder"), ("Lshoulder", "left_shoulder"),
                        ("leftshoulder", "left_shoulder"), ("RBigToe", "right_big_toe"), ("knee_R", "right_knee"),
                        ("Right Wrist", "right_wrist"), ("Hip", "mid_hip"), ("TopHead", "head_top"),
                        ("LEFT_HIP", "left_hip"), ("tail", None), ("snout", None)]:
        assert canonical_joint(name) == joint, name
    used, skeleton, _ = resolve_parts(list(DLC_PARTS.values()))
    assert skeleton.name == "coco17" and set(used.values()) == set(DLC_PARTS)


def test_deeplabcut_unknown_parts_are_listed_and_a_map_resolves_them(tmp_path):
    table, _, _ = _dlc_frame()
    renamed = {"Nose": "snout", "LeftEye": "tailbase", "RightEye": "head"}
    table.columns = pd.MultiIndex.from_tuples([(s, renamed.get(b, b), c) for s, b, c in table.columns],
                                              names=table.columns.names)
    path = tmp_path / "mouseDLC_resnet50.csv"
    table.to_csv(path)
    with pytest.raises(KeypointFormatError) as error:
        read_keypoints(path)
    message = str(error.value)
    assert "'snout'" in message and "'tailbase'" in message and "'head'" in message and "--map FILE" in message
    mapping = tmp_path / "parts.json"
    mapping.write_text(json.dumps({"snout": "nose", "tailbase": None, "head": "right_eye"}))
    read = read_keypoints(path, joint_map=mapping)
    assert read.scores[:, COCO.index("nose")].min() > 0 and read.scores[:, COCO.index("left_eye")].max() == 0
    assert read.scores[:, COCO.index("right_eye")].min() > 0
    mapping.write_text(json.dumps({"snout": "nosey"}))
    with pytest.raises(KeypointFormatError, match="no known joint"):
        read_keypoints(path, joint_map=mapping)
    with pytest.raises(KeypointFormatError, match="DeepLabCut and TRC"):
        read_keypoints(write_wide_csv(tmp_path).path, joint_map={"a": None})


def test_deeplabcut_labelled_frames_and_the_unique_individual(tmp_path):
    table, kp, _ = _dlc_frame(individuals=["ind1", "single"])
    # labelled data: x, y only, the image path as a three-level index, as CollectedData_<scorer>.csv
    table = table[[c for c in table.columns if c[-1] != "likelihood"]]
    table.index = pd.MultiIndex.from_tuples([("labeled-data", "walk", f"img{k:03d}.png") for k in range(len(table))])
    path = tmp_path / "CollectedData_John.csv"
    table.to_csv(path)
    read = read_keypoints(path)
    assert read.ids.columns.tolist() == ["image", "individual"]
    assert read.ids["image"].tolist() == [f"labeled-data/walk/img{k:03d}.png" for k in range(len(table))]
    assert set(read.ids["individual"]) == {"ind1"}                     # 'single' holds no animal's parts
    assert any("'single'" in note for note in read.notes)
    seen = read.scores > 0
    assert (read.scores[seen] == 1).all()
    np.testing.assert_allclose(read.keypoints[seen], kp[0::2][seen], atol=1e-6)


def test_deeplabcut_h5_needs_h5py_and_says_so(tmp_path, monkeypatch):
    path = tmp_path / "videoDLC.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    monkeypatch.setitem(sys.modules, "h5py", None)                    # as if h5py were not installed
    with pytest.raises(KeypointFormatError, match=r"h5py: pip install 'lift2d3d\[h5\]'"):
        read_keypoints(path)


class _Mkdir:
    """Unpickled, this makes a folder: the proof that a reader ran code from a file."""

    def __init__(self, folder):
        self.folder = str(folder)

    def __reduce__(self):
        return (os.mkdir, (self.folder,))


@pytest.mark.skipif(not HAVE_TABLES, reason="PyTables is not installed (it writes the DeepLabCut test file)")
@pytest.mark.parametrize("attribute", ["evil", "non_index_axes", "info"])
@pytest.mark.parametrize("name", ["videoDLC.h5", "renamed.csv"])
def test_deeplabcut_h5_with_pickled_code_runs_nothing(tmp_path, attribute, name):
    """PyTables unpickles such attributes when pandas opens the file; our reader never unpickles."""
    h5py = pytest.importorskip("h5py")
    written = write_deeplabcut_h5(tmp_path)
    marker = tmp_path / "ran"
    with h5py.File(written.path, "a") as handle:
        handle["df_with_missing"].attrs[attribute] = np.bytes_(pickle.dumps(_Mkdir(marker), protocol=0))
    path = written.path.rename(tmp_path / name)
    try:
        read_keypoints(path)
    except KeypointFormatError as exc:
        assert attribute != "evil" and "would run code" in str(exc) and str(path) in str(exc)
    else:
        assert attribute == "evil"            # an attribute pandas does not read is left alone
    assert not marker.exists()


@pytest.mark.skipif(not HAVE_TABLES, reason="PyTables is not installed (it writes the DeepLabCut test file)")
def test_deeplabcut_h5_damaged_is_an_error_naming_the_file(tmp_path):
    written = write_deeplabcut_h5(tmp_path)
    data = bytearray(written.path.read_bytes())
    rng = np.random.default_rng(0)
    failures = 0
    for trial in range(12):
        damaged = bytearray(data)
        for at in rng.integers(8, len(data), 25):
            damaged[at] ^= 0xFF
        path = tmp_path / f"damaged{trial}.h5"
        path.write_bytes(bytes(damaged))
        try:
            read_keypoints(path)
        except KeypointFormatError as exc:
            assert str(path) in str(exc)
            failures += 1
    assert failures >= 1
    path = tmp_path / "cut.h5"
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(KeypointFormatError, match="cut.h5"):
        read_keypoints(path)


@pytest.mark.skipif(not HAVE_TABLES, reason="PyTables is not installed (it writes the DeepLabCut test file)")
def test_deeplabcut_h5_fixed_layout_and_labelled_images(tmp_path):
    table, kp, sc = _dlc_frame(individuals=["ind1", "ind2"])
    table.index = pd.MultiIndex.from_tuples([("labeled-data", "walk", f"img{k:03d}.png") for k in range(len(table))])
    path = tmp_path / "CollectedData_John.h5"
    table.to_hdf(path, key="df_with_missing", format="fixed", mode="w")
    read = read_keypoints(path)
    assert read.ids.columns.tolist() == ["image", "individual"]
    assert read.ids["image"].iloc[0] == "labeled-data/walk/img000.png"
    seen = read.scores > 0
    np.testing.assert_allclose(read.keypoints[seen], kp[seen], atol=1e-9)


@pytest.mark.skipif(not HAVE_TABLES, reason="PyTables is not installed")
def test_deeplabcut_h5_that_is_not_a_pose_table(tmp_path):
    path = tmp_path / "other.h5"
    pd.DataFrame({"a": [1.0, 2.0]}).to_hdf(path, key="numbers", format="table")
    with pytest.raises(KeypointFormatError, match="scorer/bodyparts/coords"):
        read_keypoints(path)


def test_deeplabcut_csv_non_numeric_cell_marks_its_rows(tmp_path):
    written = write_deeplabcut_csv(tmp_path)
    lines = written.path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "abc"
    lines[5] = ",".join(cells)
    written.path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="bad_input"):
        table = read_keypoints(written.path)
    assert table.good.tolist() == [True, True, False, True, True, True]
    assert "line 6" in table.problems[2] and "Nose/x" in table.problems[2]


# ----------------------------------------------------------------------------------- TRC

def test_trc_y_up_without_an_image_size_is_shifted_and_noted(tmp_path):
    written = write_trc(tmp_path, y_up=True, name="walk_up_px.trc")
    table = read_keypoints(written.path)
    seen = written.scores > 0
    shift = table.keypoints[..., 1][seen] - written.keypoints[..., 1][seen]
    assert np.ptp(shift) < 1e-6                                        # a pure shift of image y
    np.testing.assert_allclose(table.keypoints[..., 0][seen], written.keypoints[..., 0][seen], atol=1e-6)
    assert (table.keypoints[..., 1][seen] >= 0).all()
    assert any("Y points up" in note and "shifted" in note for note in table.notes)


def test_trc_in_3d_or_in_metres_is_refused_with_the_reason(tmp_path):
    written = write_trc(tmp_path)
    lines = written.path.read_text().splitlines()
    cells = lines[7].split("\t")
    cells[4] = "1.2345"                                                # Nose Z of the third frame
    lines[7] = "\t".join(cells)
    pose2sim = tmp_path / "P2S_0-100.trc"
    pose2sim.write_text("\n".join(lines) + "\n")
    with pytest.raises(KeypointFormatError, match="already 3D"):
        read_keypoints(pose2sim)
    metres = tmp_path / "walk_Sports2D_m_person00.trc"
    body = ["\t".join(c if k < 2 or c == "" else f"{float(c) / 500:.6f}" for k, c in enumerate(line.split("\t")))
            for line in written.path.read_text().splitlines()[5:]]
    metres.write_text("\n".join(written.path.read_text().splitlines()[:5] + body) + "\n")
    with pytest.raises(KeypointFormatError, match=r"metres .*_px\.trc"):
        read_keypoints(metres)


def test_trc_markers_that_match_no_joint_are_listed(tmp_path):
    written = write_trc(tmp_path)
    text = written.path.read_text().replace("LSmallToe", "L_tibia_marker", 1)
    written.path.write_text(text)
    with pytest.raises(KeypointFormatError, match="marker.*'L_tibia_marker'.*--map"):
        read_keypoints(written.path)
    table = read_keypoints(written.path, joint_map={"L_tibia_marker": None})
    assert table.skeleton.name == "openpose25"


def test_trc_header_that_lies_about_its_markers(tmp_path):
    written = write_trc(tmp_path)
    lines = written.path.read_text().splitlines()
    lines[2] = lines[2].replace("\t26\t", "\t25\t")
    written.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KeypointFormatError, match="NumMarkers says 25"):
        read_keypoints(written.path)


# ----------------------------------------------------------------------------------- arrays and DataFrames

def test_arrays_in_any_known_joint_order(tmp_path):
    kp, sc = keypoints_in("h36m17")
    with pytest.raises(KeypointFormatError, match=r"17 joints fits several formats .*format=NAME"):
        read_keypoints(kp)
    table = read_keypoints(np.concatenate([np.nan_to_num(kp), sc[..., None]], axis=2), format="h36m17")
    assert table.skeleton.name == "h36m17" and table.layout == "memory"
    np.testing.assert_allclose(table.keypoints, kp, equal_nan=True)
    np.testing.assert_allclose(table.scores, sc)
    assert table.ids["frame"].tolist() == list(range(N_FRAMES))
    one = read_keypoints(kp[0], format="h36m", scores=sc[0], ids={"frame": [7]})
    assert len(one) == 1 and one.ids["frame"].tolist() == [7]
    with pytest.raises(KeypointFormatError, match="the array has 15 joints but format coco17 has 17"):
        read_keypoints(kp[:, :15], format="coco17")
    with pytest.raises(KeypointFormatError, match=r"--image-size"):
        read_keypoints(kp / 1000.0, format="h36m17")
    body = table.map_to("body15")                                    # h36m17 order -> the bases' order by name
    np.testing.assert_allclose(body.keypoints[:, get_skeleton("body15").index("left_knee")],
                               kp[:, get_skeleton("h36m17").index("left_knee")])


def test_dataframes_in_the_wide_layout(tmp_path):
    written = write_wide_csv(tmp_path)
    frame = written.plain_frame()
    table = read_keypoints(frame)
    assert table.layout == "memory" and table.skeleton.name == "coco17"
    np.testing.assert_allclose(table.keypoints, written.keypoints, equal_nan=True)
    assert table.ids["frame"].dtype.kind == "i" and table.ids["video"].tolist() == ["clip_a"] * N_FRAMES
    frame.loc[3, "frame"] = 2
    with pytest.warns(UserWarning, match="duplicate id"):
        read_keypoints(frame)


def test_trc_non_numeric_cell_marks_its_row(tmp_path):
    written = write_trc(tmp_path)
    lines = written.path.read_text().splitlines()
    cells = lines[6].split("\t")
    cells[5] = "oops"                                                  # LEye X of the second frame
    lines[6] = "\t".join(cells)
    written.path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="bad_input"):
        table = read_keypoints(written.path)
    assert table.good.tolist() == [True, False, True, True, True, True]
    assert table.problems[1].startswith("line 7, column LEye X: 'oops' is not a number")


def test_a_3d_joints_file_is_not_taken_for_mediapipe_landmarks(tmp_path):
    path = tmp_path / "joints3d.csv"
    columns = ["frame"] + [f"{j}_{a}" for j in ("pelvis", "left_shoulder", "right_shoulder") for a in "xyz"]
    path.write_text(",".join(columns) + "\n0," + ",".join(["0.1"] * 9) + "\n")
    with pytest.raises(KeypointFormatError, match="3D columns"):
        read_keypoints(path)
