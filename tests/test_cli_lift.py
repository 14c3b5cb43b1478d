"""`lift2d3d lift`: the command end to end (in-process through the real CLI parser, and once as a subprocess)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lift2d3d.cli import main
from lift2d3d.skeletons import BODY15, LIMB_JOINTS
from test_io_support import coco17_frame, toy_bases

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample_coco17.csv"


@pytest.fixture(scope="module")
def bases_file(tmp_path_factory):
    return str(toy_bases().save(tmp_path_factory.mktemp("bases") / "toy.npz"))


@pytest.fixture
def coco_csv(tmp_path):
    path = tmp_path / "coco.csv"
    coco17_frame(30).to_csv(path, index=False)                       # face points empty
    return path


def lift(*argv):
    return main(["lift", *map(str, argv)])


def test_coco_csv_with_empty_face_lifts_to_body15_columns(coco_csv, bases_file, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--method", "convex") == 0
    err = capsys.readouterr().err
    assert "as csv-wide, format coco17" in err
    assert "pelvis = mean(left_hip, right_hip)" in err and "lifted 30 of 30 rows" in err
    assert "fewer rows than 30: head 0; the bases estimate them" in err        # no ears, no head
    table = pd.read_csv(out)
    assert table.columns[:2].tolist() == ["frame", "person"]
    assert table.columns[-4:].tolist() == ["status", "reprojection_error", "iterations", "message"]
    for joint in LIMB_JOINTS:
        assert {f"{joint}_x", f"{joint}_y", f"{joint}_z"} <= set(table.columns)
    # the head cannot be derived without ears, but it is still estimated from the bases
    assert table["head_z"].notna().all()
    assert table["frame"].tolist() == list(range(30))
    assert not (tmp_path / "out.csv.parts").exists()


def test_json_and_npz_outputs_and_perspective_camera(coco_csv, bases_file, tmp_path):
    assert lift(coco_csv, "-o", tmp_path / "o.json", "--bases", bases_file, "--method", "convex", "-q") == 0
    assert len(json.loads((tmp_path / "o.json").read_text())["frames"]) == 30
    assert lift(coco_csv, "-o", tmp_path / "o.npz", "--bases", bases_file, "--camera", "perspective",
                "--focal", 1000, "--principal", 320, 240, "--workers", 1, "-q") == 0
    with np.load(tmp_path / "o.npz") as data:
        assert data["joints3d"].shape == (30, 15, 3)
        ok = np.isin(data["status"], ["ok", "not_converged"])
        assert ok.all() and (data["joints3d"][..., 2] > 0).all()     # in front of the camera


@pytest.mark.parametrize("argv, message", [
    (["--camera", "perspective"], "--camera perspective needs --focal F and --principal CX CY"),
    (["--focal", "900"], "only used with --camera perspective"),
    (["--format", "h36m17"], "format mismatch: 5 joint(s) are not h36m17 joints"),
    (["--format", "coco18"], "unknown format 'coco18'"),
    (["--method", "convex", "--workers", "0"], "--workers must be between 1"),
    (["--bases", "/nonexistent/bases.npz"], "bases file /nonexistent/bases.npz not found"),
])
def test_unusable_options_exit_2_with_a_message(coco_csv, bases_file, tmp_path, capsys, argv, message):
    extra = [] if "--bases" in argv else ["--bases", bases_file]
    assert lift(coco_csv, "-o", tmp_path / "o.csv", *extra, *argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_lift_run_and_evaluate_share_one_set_of_lifter_options(bases_file):
    from lift2d3d.cli import build_parser
    from lift2d3d.commands._options import METHODS, lifter_from_args
    from lift2d3d.lifter import METHODS as LIFTER_METHODS
    from lift2d3d.lifter import Camera

    assert METHODS == LIFTER_METHODS
    parser = build_parser()
    flags = ["--bases", bases_file, "--method", "robust", "--alpha", "0.05", "--refine-alpha", "0.01",
             "--symmetry", "2", "--beta", "0.1", "--n-starts", "2", "--workers", "1"]
    expected = dict(method="robust", alpha=0.05, refine_alpha=0.01, symmetry=2.0, beta=0.1, n_starts=2, n_threads=1)
    for command in (["lift", "x.csv", "-o", "o.csv"], ["run", "x.jpg", "-o", "o.csv"], ["evaluate"]):
        params = lifter_from_args(parser.parse_args(command + flags)).get_params()
        assert {k: params[k] for k in expected} == expected and params["bases"] == bases_file
    perspective = ["--camera", "perspective", "--focal", "900", "--principal", "320", "240"]
    for command in (["lift", "x.csv", "-o", "o.csv"], ["run", "x.jpg", "-o", "o.csv"]):
        assert lifter_from_args(parser.parse_args(command + perspective)).camera == Camera(900.0, (320.0, 240.0))
        assert lifter_from_args(parser.parse_args(command)).get_params() == type(
            lifter_from_args(parser.parse_args(command)))().get_params()          # no flag: the Lifter's defaults


def test_unusable_inputs_exit_2_naming_the_file(bases_file, tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert lift(tmp_path / "empty.csv", "-o", tmp_path / "o.csv", "--bases", bases_file) == 2
    assert f"{tmp_path / 'empty.csv'}: the file is empty" in capsys.readouterr().err
    assert lift(tmp_path / "missing.csv", "-o", tmp_path / "o.csv", "--bases", bases_file) == 2
    assert "no such file" in capsys.readouterr().err
    assert lift(tmp_path / "empty.csv", "-o", tmp_path / "o.txt", "--bases", bases_file) == 2
    assert "unknown output type '.txt'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv"]


def test_bad_frames_do_not_abort_but_no_liftable_frame_exits_1(bases_file, tmp_path, capsys):
    frame = coco17_frame(6).astype({"left_knee_x": object})
    frame.loc[2, "left_knee_x"] = "oops"
    frame.to_csv(tmp_path / "some.csv", index=False)
    assert lift(tmp_path / "some.csv", "-o", tmp_path / "o.csv", "--bases", bases_file, "--method", "convex") == 0
    assert "line 4, column left_knee_x: 'oops' is not a number" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "o.csv")["status"].tolist()[2] == "bad_input"
    hidden = frame.copy()
    for column in hidden.columns:
        if column.endswith(("_x", "_y")) and not column.startswith(("left_shoulder", "right_shoulder")):
            hidden[column] = np.nan
    hidden.to_csv(tmp_path / "none.csv", index=False)
    assert lift(tmp_path / "none.csv", "-o", tmp_path / "n.csv", "--bases", bases_file) == 1
    assert "no row of" in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "n.csv")["status"]) <= {"too_few_joints", "bad_input"}


def test_resume_flag_with_nothing_to_resume_runs_everything(coco_csv, bases_file, tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--method", "convex", "--resume",
                "--chunk-size", 7) == 0
    assert "nothing to resume" in capsys.readouterr().err
    first = out.read_bytes()
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--method", "convex", "--chunk-size", 11) == 0
    assert out.read_bytes() == first


def test_resume_of_a_finished_run_says_output_is_complete(coco_csv, bases_file, tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--method", "convex") == 0
    written = out.stat().st_mtime_ns
    capsys.readouterr()
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--method", "convex", "--resume") == 0
    err = capsys.readouterr().err
    assert "output is complete" in err and "30 rows" in err and "nothing was rerun" in err
    assert out.stat().st_mtime_ns == written


def test_mediapipe_csv_needs_image_size_and_dlc_map_and_camera_columns(bases_file, tmp_path, capsys):
    from tool_files import IMAGE_SIZE, write_deeplabcut_csv, write_mediapipe_named

    landmarks = write_mediapipe_named(tmp_path)
    assert lift(landmarks.path, "-o", tmp_path / "m.csv", "--bases", bases_file, "--method", "convex") == 2
    err = capsys.readouterr().err
    assert "look normalised" in err and "--image-size WIDTH HEIGHT" in err
    assert not (tmp_path / "m.csv").exists()
    assert lift(landmarks.path, "-o", tmp_path / "m.csv", "--bases", bases_file, "--method", "convex",
                "--image-size", *IMAGE_SIZE, "--write-camera") == 0
    err = capsys.readouterr().err
    assert "as mediapipe-csv, format blazepose33" in err and "converted to pixels" in err
    lifted = pd.read_csv(tmp_path / "m.csv")
    assert set(lifted["status"]) <= {"ok", "not_converged"} and len(lifted) == len(landmarks.ids)
    assert lifted.columns[-13:].tolist()[:3] == ["r11", "r12", "r13"] and lifted["scale"].gt(0).all()
    dlc = write_deeplabcut_csv(tmp_path)
    text = dlc.path.read_text().replace("Nose", "snout")
    dlc.path.write_text(text)
    assert lift(dlc.path, "-o", tmp_path / "d.csv", "--bases", bases_file, "--method", "convex") == 2
    assert "'snout'" in capsys.readouterr().err
    (tmp_path / "map.json").write_text(json.dumps({"snout": "nose"}))
    assert lift(dlc.path, "-o", tmp_path / "d.csv", "--bases", bases_file, "--method", "convex",
                "--map", tmp_path / "map.json") == 0
    assert "snout->nose" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "d.csv")["frame"].tolist() == list(range(len(dlc.ids)))


def test_help_lists_the_formats_and_the_new_options(capsys):
    with pytest.raises(SystemExit):
        main(["lift", "--help"])
    text = capsys.readouterr().out
    for word in ("mmpose-json", "mediapipe-csv", "deeplabcut-csv", "deeplabcut-h5", "trc", "--image-size", "--map",
                 "--write-camera", "no_person", "output is complete"):
        assert word in text, word


def test_shipped_sample_lifts_with_its_documented_bad_rows(bases_file, tmp_path):
    assert SAMPLE.is_file() and SAMPLE.stat().st_size < 200_000
    out = tmp_path / "sample.csv"
    assert lift(SAMPLE, "-o", out, "--bases", bases_file, "--method", "convex", "-q") == 0
    table = pd.read_csv(out)
    assert len(table) == 241
    status = dict(zip(table.index, table["status"]))
    assert status[50] == "bad_input" and "left_wrist_x" in table.loc[50, "message"]
    assert status[100] == "too_few_joints"
    assert status[150] == "bad_input" and "right_knee_y" in table.loc[150, "message"]
    assert status[200] == "bad_input" and "duplicate id" in table.loc[200, "message"]
    assert (table.drop(index=[50, 100, 150, 200])["status"].isin(["ok", "not_converged"])).all()


def test_sample_generator_reproduces_the_shipped_rows_layout(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample_csv", ROOT / "examples" / "make_sample_csv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = module.make_sample(toy_bases())
    shipped = pd.read_csv(SAMPLE)
    assert list(frame.columns) == list(shipped.columns) and len(frame) == len(shipped)
    assert frame["frame"].tolist() == shipped["frame"].tolist()


def test_subprocess_run_is_quiet_off_a_terminal(coco_csv, bases_file, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "lift2d3d", "lift", str(coco_csv), "-o", str(tmp_path / "o.csv"),
                           "--bases", bases_file, "--method", "convex"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "\r" not in done.stderr                # no progress bar when piped
    assert "lifted 30 of 30 rows" in done.stderr
    assert pd.read_csv(tmp_path / "o.csv").shape == (30, 2 + 3 * len(BODY15.joints) + 4)


def test_output_skeleton_writes_h36m17_columns(coco_csv, bases_file, tmp_path):
    plain, h36m = tmp_path / "plain.csv", tmp_path / "h36m.csv"
    assert lift(coco_csv, "-o", plain, "--bases", bases_file, "-q") == 0
    assert lift(coco_csv, "-o", h36m, "--bases", bases_file, "--output-skeleton", "h36m17", "-q") == 0
    a, b = pd.read_csv(plain), pd.read_csv(h36m)
    assert [c[:-2] for c in b.columns if c.endswith("_z")][:3] == ["pelvis", "right_hip", "right_knee"]
    np.testing.assert_array_equal(a["left_wrist_z"], b["left_wrist_z"])
    np.testing.assert_allclose(b["thorax_x"], 0.5 * (a["left_shoulder_x"] + a["right_shoulder_x"]), atol=1e-5)
    assert b["head_top_z"].isna().all()            # body15 cannot give it: empty, never invented
    assert lift(coco_csv, "-o", tmp_path / "x.csv", "--bases", bases_file, "--output-skeleton", "coco18") == 2


def test_depth_order_file_marks_bad_relations_per_row(coco_csv, bases_file, tmp_path, capsys):
    frame = pd.read_csv(coco_csv)
    relations = pd.DataFrame({"frame": frame["frame"][:3], "person": frame["person"][:3],
                              "joint_a": ["left_wrist", "LKnee", "nose"], "relation": ["<", ">", "<"],
                              "joint_b": ["left_elbow", "right_knee", "head"]})
    relations.loc[3] = [999, 0, "head", "<", "pelvis"]            # a row the input does not have
    hints = tmp_path / "hints.csv"
    relations.to_csv(hints, index=False)
    out = tmp_path / "out.csv"
    assert lift(coco_csv, "-o", out, "--bases", bases_file, "--depth-order", hints) == 0
    lifted = pd.read_csv(out)
    assert list(lifted["status"][:3]) == ["ok", "ok", "bad_input"]
    assert "unknown joint 'nose'" in lifted["message"][2]
    assert "1 relation(s) name rows the input does not have" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,joint_a,joint_b\n0,head,neck\n")
    assert lift(coco_csv, "-o", tmp_path / "o2.csv", "--bases", bases_file, "--depth-order", bad) == 2
    assert "needs the columns joint_a, relation, joint_b" in capsys.readouterr().err


def test_every_layout_record_is_in_the_help_and_accepted_by_name_and_alias(capsys):
    """The layouts are listed from one record each (lift2d3d.io.LAYOUT_RECORDS), never by hand."""
    from lift2d3d.cli import main
    from lift2d3d.io import LAYOUT_RECORDS, LAYOUTS, split_format

    assert LAYOUTS == tuple(r.name for r in LAYOUT_RECORDS) and len(LAYOUTS) == 10
    with pytest.raises(SystemExit):
        main(["lift", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    layout_help = text[text.index("--layout LAYOUT file layout"):text.index("--delimiter DELIMITER CSV")]
    inputs = text[text.index("inputs (detected"):text.index("formats (--format)")]
    for record in LAYOUT_RECORDS:
        assert record.name in layout_help.replace("- ", "-") and f" {record.name} " in inputs
        for alias in (record.name,) + record.aliases:
            assert split_format(layout=alias) == (None, record.name)
            assert split_format(alias) == (None, record.name)
