"""Keypoint readers: every layout, format detection, and a clear error for each kind of bad input."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from lift2d3d.io import KeypointFormatError, detect_layout, iter_keypoint_chunks, read_keypoints
from lift2d3d.skeletons import get_skeleton
from test_io_support import coco17_frame

COCO = get_skeleton("coco17")


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def wide_csv(tmp_path):
    frame = coco17_frame(12, face=True)
    frame.insert(0, "video", "clip_a")
    path = tmp_path / "coco.csv"
    frame.to_csv(path, index=False)
    return path, frame


# ------------------------------------------------------------------- layouts
def test_wide_csv_keeps_ids_and_values(wide_csv):
    path, frame = wide_csv
    table = read_keypoints(path)
    assert table.layout == "csv-wide" and table.skeleton.name == "coco17"
    assert list(table.ids.columns) == ["video", "frame", "person"]
    assert table.ids["frame"].tolist() == list(range(12))            # numeric ids become numbers
    assert np.allclose(table.keypoints[:, COCO.index("left_knee"), 0], frame["left_knee_x"])
    assert np.allclose(table.scores[:, COCO.index("nose")], 0.9)
    keypoints, scores, ids, name = table.as_arrays()
    assert keypoints.shape == (12, 17, 2) and scores.shape == (12, 17) and name == "coco17"


def test_wide_csv_empty_cells_and_nan_mean_missing(tmp_path):
    frame = coco17_frame(3).astype({"left_knee_x": object})          # face columns are NaN -> empty cells
    frame.loc[1, "left_knee_x"] = "NaN"
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    assert ",NaN," in path.read_text() and ",," in path.read_text()
    table = read_keypoints(path)
    assert np.isnan(table.keypoints[:, COCO.index("nose")]).all()
    assert (table.scores[:, COCO.index("nose")] == 0).all()
    assert np.isnan(table.keypoints[1, COCO.index("left_knee"), 0])
    assert table.scores[1, COCO.index("left_knee")] == 0
    assert table.good.all()


def test_wide_csv_without_scores_gets_full_weight_and_camel_case_names(tmp_path):
    path = write(tmp_path / "op.csv", "frame,LShoulder_x,LShoulder_y,RShoulder_x,RShoulder_y,MidHip_x,MidHip_y\n"
                                      "0,1,2,3,4,5,6\n")
    table = read_keypoints(path)
    assert table.skeleton.name == "openpose25"                      # mid_hip only exists in BODY_25
    assert table.scores[0, table.skeleton.index("left_shoulder")] == 1.0
    assert table.scores[0, table.skeleton.index("nose")] == 0.0


def test_semicolon_and_tab_separated_files_are_detected(tmp_path, wide_csv):
    _, frame = wide_csv
    for sep, name in ((";", "semi.csv"), ("\t", "tabs.tsv")):
        path = tmp_path / name
        frame.to_csv(path, index=False, sep=sep)
        assert np.allclose(read_keypoints(path).keypoints, read_keypoints(wide_csv[0]).keypoints, equal_nan=True)


def test_long_csv_matches_the_wide_one_across_chunk_boundaries(tmp_path, wide_csv):
    _, frame = wide_csv
    rows = []
    for _, row in frame.iterrows():
        for joint in COCO.joints:
            rows.append({"video": row["video"], "frame": row["frame"], "joint": joint, "x": row[f"{joint}_x"],
                         "y": row[f"{joint}_y"], "score": row[f"{joint}_score"]})
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert detect_layout(path) == "csv-long"
    wide = read_keypoints(wide_csv[0])
    # 5 poses per chunk = 85 rows: boundaries fall inside poses, which must be carried over
    chunks = list(iter_keypoint_chunks(path, chunk_rows=5))
    assert sum(len(c) for c in chunks) == 12
    keypoints = np.concatenate([c.keypoints for c in chunks])
    assert np.allclose(keypoints, wide.keypoints, equal_nan=True)
    assert read_keypoints(path).ids["frame"].tolist() == list(range(12))


def test_long_csv_joint_given_twice_marks_that_frame(tmp_path):
    path = write(tmp_path / "long.csv", "frame,joint,x,y\n0,nose,1,2\n0,nose,3,4\n0,left_eye,1,1\n1,nose,5,6\n")
    with pytest.warns(UserWarning, match="1 row"):
        table = read_keypoints(path)
    assert "line 3: joint 'nose' given twice" in table.problems[0]
    assert table.problems[1] == ""


def test_openpose_folder_multi_person_and_a_corrupt_file(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    rng = np.random.default_rng(0)
    people = [{"person_id": [-1], "pose_keypoints_2d": np.c_[rng.uniform(0, 500, (25, 2)),
                                                              np.full(25, 0.8)].ravel().tolist()}
              for _ in range(2)]
    people[1]["pose_keypoints_2d"][0:3] = [0, 0, 0]                   # OpenPose's "not detected"
    for frame in (2, 0, 1):
        (folder / f"walk_{frame:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    (folder / "walk_000000000003_keypoints.json").write_text("{not json")
    assert detect_layout(folder) == "openpose-json"
    with pytest.warns(UserWarning, match="not OpenPose JSON"):
        table = read_keypoints(folder)
    assert table.skeleton.name == "openpose25"
    assert table.ids[["frame", "person"]].values.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0]]
    assert (table.ids["video"] == "walk").all()
    assert np.isnan(table.keypoints[1, 0]).all() and table.scores[1, 0] == 0
    assert np.allclose(table.keypoints[0, 3], people[0]["pose_keypoints_2d"][9:11])
    assert "walk_000000000003_keypoints.json" in table.problems[6]


def test_coco_results_and_annotations(tmp_path):
    rng = np.random.default_rng(1)
    flat = np.c_[rng.uniform(0, 500, (17, 2)), rng.uniform(0.2, 1, 17)]
    flat[0] = 0                                                    # unlabelled nose
    results = [{"image_id": 7, "category_id": 1, "keypoints": flat.ravel().tolist(), "score": 0.97},
               {"image_id": 7, "category_id": 1, "keypoints": flat.ravel().tolist(), "score": 0.5}]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    table = read_keypoints(path)
    assert table.layout == "coco-json" and table.skeleton.name == "coco17"
    assert table.ids.to_dict("list") == {"image_id": [7, 7], "person": [0, 1], "detection_score": [0.97, 0.5]}
    assert np.allclose(table.scores[0, 1:], flat[1:, 2]) and table.scores[0, 0] == 0
    assert np.isnan(table.keypoints[0, 0]).all()
    visibility = flat.copy()
    visibility[1:, 2] = 2
    annotations = {"images": [], "annotations": [{"image_id": 3, "keypoints": visibility.ravel().tolist()}]}
    path = tmp_path / "person_keypoints_val.json"
    path.write_text(json.dumps(annotations))
    table = read_keypoints(path)
    assert (table.scores[0, 1:] == 1).all() and table.scores[0, 0] == 0


def test_npy_and_npz(tmp_path):
    rng = np.random.default_rng(2)
    array = np.concatenate([rng.uniform(0, 500, (4, 25, 2)), np.full((4, 25, 1), 0.5)], axis=2)
    np.save(tmp_path / "k.npy", array)
    table = read_keypoints(tmp_path / "k.npy")
    assert table.skeleton.name == "openpose25" and table.ids["frame"].tolist() == [0, 1, 2, 3]
    assert np.allclose(table.scores, 0.5)
    # named joints in another order, plus an id array
    names = np.array(list(reversed(COCO.joints)))
    np.savez(tmp_path / "k.npz", keypoints=array[:, :17, :2], joint_names=names, person=np.arange(4) + 10)
    table = read_keypoints(tmp_path / "k.npz")
    assert table.skeleton.name == "coco17" and table.ids["person"].tolist() == [10, 11, 12, 13]
    assert np.allclose(table.keypoints[:, COCO.index("right_ankle")], array[:, 0, :2])


def test_npy_with_17_joints_needs_a_format(tmp_path):
    np.save(tmp_path / "k.npy", np.zeros((3, 17, 2)))
    with pytest.raises(KeypointFormatError, match="coco17, h36m17.*--format"):
        read_keypoints(tmp_path / "k.npy")
    assert read_keypoints(tmp_path / "k.npy", format="h36m").skeleton.name == "h36m17"


# ----------------------------------------------------------------- bad input
def test_missing_id_column(tmp_path):
    path = write(tmp_path / "k.csv", "nose_x,nose_y\n1,2\n")
    with pytest.raises(KeypointFormatError, match=r"k\.csv: no id column; add a column such as 'frame'"):
        read_keypoints(path)


def test_missing_coordinate_column(tmp_path):
    path = write(tmp_path / "k.csv", "frame,nose_x,nose_y,left_eye_x\n0,1,2,3\n")
    with pytest.raises(KeypointFormatError, match="missing coordinate column left_eye_y"):
        read_keypoints(path)


def test_no_keypoint_columns(tmp_path):
    path = write(tmp_path / "k.csv", "frame,width\n0,1\n")
    with pytest.raises(KeypointFormatError, match="no keypoint columns"):
        read_keypoints(path)


def test_unknown_joint_names_suggest_close_names_and_the_format(tmp_path):
    header = ["frame"] + [f"{j}_{a}" for j in COCO.joints for a in "xy"]
    header[header.index("left_wrist_x")], header[header.index("left_wrist_y")] = "left_wirst_x", "left_wirst_y"
    path = write(tmp_path / "k.csv", ",".join(header) + "\n" + ",".join(["1"] * len(header)) + "\n")
    with pytest.raises(KeypointFormatError) as info:
        read_keypoints(path)
    message = str(info.value)
    assert "'left_wirst' (did you mean left_wrist" in message
    assert "look like coco17 (16 of 17 names match)" in message


def test_format_mismatch_names_the_foreign_joints_and_the_right_format(wide_csv):
    with pytest.raises(KeypointFormatError, match=r"format mismatch: 5 joint\(s\) are not h36m17 joints: nose, "
                                                  r"left_eye.*look like coco17.*--format coco17"):
        read_keypoints(wide_csv[0], format="h36m17")


def test_unknown_format_name_lists_the_choices(wide_csv):
    with pytest.raises(KeypointFormatError, match="unknown format 'coco18'.*coco17.*csv-long"):
        read_keypoints(wide_csv[0], format="coco18")


def test_non_numeric_cell_names_line_and_column_and_keeps_the_row(tmp_path, wide_csv):
    lines = wide_csv[0].read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index("left_elbow_y")] = "12px"
    lines[4] = ",".join(cells)
    path = write(tmp_path / "bad.csv", "\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="1 row"):
        table = read_keypoints(path)
    assert len(table) == 12
    assert table.problems[3] == ("line 5, column left_elbow_y: '12px' is not a number (use a plain number with a "
                                 "'.' decimal point; leave the cell empty for a missing joint)")
    assert table.good.sum() == 11


def test_inf_and_absurd_values_mark_their_rows(tmp_path, wide_csv):
    frame = wide_csv[1].copy()
    frame.loc[2, "left_knee_x"] = np.inf
    frame.loc[5, "right_hip_y"] = 3e12
    frame.loc[6, "nose_score"] = -1.0
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_keypoints(path)
    assert "line 4, column left_knee_x: value inf is not a plausible pixel coordinate" in table.problems[2]
    assert "line 7, column right_hip_y: value 3e+12" in table.problems[5]
    assert "line 8, column nose_score: score -1 must be a finite number >= 0" in table.problems[6]
    assert np.isfinite(table.keypoints[~np.isnan(table.keypoints)]).all()


def test_duplicate_ids_mark_the_repeat(tmp_path, wide_csv):
    frame = wide_csv[1].copy()
    frame.loc[4, "frame"] = 3
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning):
        table = read_keypoints(path)
    assert table.problems[3] == ""
    assert table.problems[4] == "line 6: duplicate id (video=clip_a, frame=3, person=0) already seen at line 5; row not lifted"  # noqa: E501


def test_duplicate_ids_are_found_across_chunks(tmp_path, wide_csv):
    frame = wide_csv[1].copy()
    frame.loc[11, "frame"] = 0
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    chunks = list(iter_keypoint_chunks(path, chunk_rows=4))
    assert "duplicate id (video=clip_a, frame=0, person=0) already seen at an earlier chunk" in chunks[2].problems[3]


def test_wrong_delimiter(tmp_path, wide_csv):
    path = tmp_path / "semi.csv"
    wide_csv[1].to_csv(path, index=False, sep=";")
    with pytest.raises(KeypointFormatError, match=r"wrong delimiter.*looks ';'-separated.*--delimiter ';'"):
        read_keypoints(path, delimiter=",")


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(KeypointFormatError, match=r"empty\.csv: the file is empty"):
        read_keypoints(write(tmp_path / "empty.csv", ""))
    with pytest.raises(KeypointFormatError, match="has a header but no data rows"):
        read_keypoints(write(tmp_path / "header.csv", "frame,nose_x,nose_y\n"))
    with pytest.raises(KeypointFormatError, match="no such file"):
        read_keypoints(tmp_path / "absent.csv")


def test_lifted_output_given_as_input_is_recognised(tmp_path):
    path = write(tmp_path / "out.csv", "frame,nose_x,nose_y,nose_z\n0,1,2,3\n")
    with pytest.raises(KeypointFormatError, match="3D columns.*output of `lift2d3d lift`"):
        read_keypoints(path)


def test_rows_with_too_many_fields_are_skipped_with_a_note(tmp_path):
    path = write(tmp_path / "k.csv", "frame,nose_x,nose_y\n0,1,2\n1,1,2,3\n2,4,5\n")
    table = read_keypoints(path)
    assert table.ids["frame"].tolist() == [0, 2]
    assert any("Skipping line 3" in note for note in table.notes)
    # the note names the file as it is, braces included
    braces = write(tmp_path / "take{1}.csv", "frame,nose_x,nose_y\n0,1,2\n1,1,2,3\n")
    assert any(note.startswith(f"{braces}: Skipping line 3") for note in read_keypoints(braces).notes)


def test_broken_csv_structure_is_a_clear_error(tmp_path):
    with pytest.raises(KeypointFormatError, match="repeats column.*'frame'"):
        read_keypoints(write(tmp_path / "a.csv", "frame,frame,nose_x,nose_y\n1,2,3,4\n"))
    with pytest.raises(KeypointFormatError, match=r"b\.csv: cannot parse the CSV.*EOF inside string"):
        read_keypoints(write(tmp_path / "b.csv", 'frame,nose_x,nose_y\n"1,2,3\n'))
    # a stray non-UTF-8 byte deep in the file spoils its own row only
    body = b"".join(b"%d,2,3\n" % i for i in range(5000))
    (tmp_path / "c.csv").write_bytes(b"frame,nose_x,nose_y\n" + body + b"5000,1\xff,2\n5001,4,5\n")
    with pytest.warns(UserWarning, match="1 row"):
        table = read_keypoints(tmp_path / "c.csv", format="coco17")
    assert len(table) == 5002 and "line 5002, column nose_x: '1\ufffd' is not a number" in table.problems[5000]


def test_bom_crlf_and_blank_lines_are_fine(tmp_path):
    (tmp_path / "k.csv").write_bytes(b"\xef\xbb\xbfframe,nose_x,nose_y\r\n1,2,3\r\n\r\n4,5,6\r\n")
    table = read_keypoints(tmp_path / "k.csv", format="coco17")
    assert table.ids["frame"].tolist() == [1, 4]
    assert np.allclose(table.keypoints[:, 0], [[2, 3], [5, 6]])


def test_table_to_frame_round_trips_and_maps_to_the_bases_skeleton(wide_csv):
    table = read_keypoints(wide_csv[0])
    frame = table.to_frame()
    assert frame.columns[:4].tolist() == ["video", "frame", "person", "nose_x"]
    assert np.allclose(frame["left_hip_y"], wide_csv[1]["left_hip_y"])
    mapped = table.map_to("body15")
    assert mapped.skeleton.name == "body15" and mapped.keypoints.shape == (12, 15, 2)
    assert any("coco17 -> body15" in note for note in mapped.notes)
    pelvis = (table.keypoints[:, COCO.index("left_hip")] + table.keypoints[:, COCO.index("right_hip")]) / 2
    assert np.allclose(mapped.keypoints[:, 0], pelvis)


def test_format_may_name_a_layout_and_a_wrong_layout_says_which(tmp_path):
    path = write(tmp_path / "long.csv", "frame,joint,x,y\n0,nose,1,2\n0,left_eye,3,4\n")
    assert read_keypoints(path, format="csv-long").skeleton.name == "coco17"
    assert read_keypoints(path, format="coco17", layout="long").layout == "csv-long"
    with pytest.raises(KeypointFormatError, match="'joint' column, so it is a long CSV.*--layout csv-long"):
        read_keypoints(path, layout="csv-wide")
    with pytest.raises(KeypointFormatError, match="unknown layout 'xml'"):
        read_keypoints(path, layout="xml")
