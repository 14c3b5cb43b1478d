"""The pipeline: lift_table (the per-chunk contract), the writers, and streaming lift_file with resume."""

import json

import numpy as np
import pandas as pd
import pytest

from lift2d3d.io import KeypointFormatError, output_columns, read_keypoints, write_lifted
from lift2d3d.pipeline import lift_file, lift_table
from lift2d3d.lifter import Lifter
from lift2d3d.skeletons import BODY15, LIMB_JOINTS
from test_io_support import coco17_frame, toy_bases


@pytest.fixture(scope="module")
def lifter():
    return Lifter(bases=toy_bases(), method="convex")


@pytest.fixture(scope="module")
def frame():
    return coco17_frame(40, face=True)


def test_lift_table_columns_and_values(lifter, frame):
    out = lift_table(frame, lifter)
    assert list(out.columns) == output_columns(["frame", "person"], BODY15.joints)
    assert out.columns[-4:].tolist() == ["status", "reprojection_error", "iterations", "message"]
    for joint in LIMB_JOINTS:
        assert f"{joint}_x" in out and f"{joint}_z" in out
    assert out["frame"].tolist() == frame["frame"].tolist()
    assert set(out["status"]) <= {"ok", "not_converged"}
    lifted = out[[f"{j}_{a}" for j in BODY15.joints for a in "xyz"]].to_numpy()
    assert np.isfinite(lifted).all()
    # metres: a person's extent is about a metre or two, not hundreds of pixels
    xyz = lifted.reshape(len(out), 15, 3)
    assert 1.0 < np.ptp(xyz[:, :, 1], axis=1).mean() < 2.5
    assert (out["reprojection_error"] >= 0).all() and (out["iterations"] > 0).all()
    assert out["iterations"].dtype == np.int64 and out["reprojection_error"].dtype == np.float64


def test_lift_table_agrees_with_lifting_the_mapped_arrays(lifter, frame, tmp_path):
    out = lift_table(frame, lifter)
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    table = read_keypoints(path)
    result = lifter.lift(*table.for_lifter(lifter))
    xyz = out[[f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]].to_numpy().reshape(-1, 15, 3)
    assert np.array_equal(xyz, result.joints3d)


def test_lift_table_is_deterministic_and_independent_of_chunking(lifter, frame):
    whole = lift_table(frame, lifter)
    again = lift_table(frame, lifter)
    pd.testing.assert_frame_equal(whole, again, check_exact=True)
    parts = pd.concat([lift_table(frame.iloc[i:i + 7], lifter) for i in range(0, len(frame), 7)],
                      ignore_index=True)
    # Same rows in other chunks: equal to rounding (the lifter's vectorised
    # steps may differ in the last bit with the batch size).
    pd.testing.assert_frame_equal(whole, parts, check_exact=False, rtol=0, atol=1e-12)


def test_bad_rows_keep_their_place_with_status_and_reason(lifter, frame):
    bad = frame.copy().astype({"left_wrist_x": object})
    bad.loc[3, "left_wrist_x"] = "n/a?"
    limbs = [f"{j}_{a}" for j in LIMB_JOINTS[2:] + ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
             for a in "x"]
    bad.loc[5, limbs] = np.nan                                           # 2 shoulders left: too few joints
    bad.loc[8, "frame"] = 7                                              # duplicate id
    out = lift_table(bad, lifter)
    assert len(out) == len(frame)
    assert out.loc[3, "status"] == "bad_input" and "row 3, column left_wrist_x: 'n/a?' is not a number" in out.loc[3, "message"]  # noqa: E501
    assert out.loc[5, "status"] == "too_few_joints" and "at least" in out.loc[5, "message"]
    assert out.loc[8, "status"] == "bad_input" and "duplicate id (frame=7, person=0)" in out.loc[8, "message"]
    for r in (3, 5, 8):
        assert out.loc[r, [c for c in out.columns if c.endswith("_z")]].isna().all()
    good = out.drop(index=[3, 5, 8])
    assert set(good["status"]) <= {"ok", "not_converged"}


def test_lift_table_on_an_empty_chunk_gives_the_columns(lifter, frame):
    out = lift_table(frame.iloc[:0], lifter)
    assert len(out) == 0 and list(out.columns) == output_columns(["frame", "person"], BODY15.joints)


def test_lift_table_rejects_tables_it_cannot_understand(lifter, frame):
    with pytest.raises(KeypointFormatError, match="no id column"):
        lift_table(frame.drop(columns=["frame", "person"]), lifter)
    with pytest.raises(KeypointFormatError, match="format mismatch"):
        lift_table(frame, lifter, format="mpii16")
    clash = frame.rename(columns={"person": "status"})
    with pytest.raises(KeypointFormatError, match="clash with output columns"):
        lift_table(clash, lifter)


def test_writers_csv_json_npz_agree(lifter, frame, tmp_path):
    out = lift_table(frame.iloc[:6], lifter)
    out.loc[2, "status"] = "too_few_joints"
    out.loc[2, [c for c in out.columns if c[-2:] in ("_x", "_y", "_z")]] = np.nan
    write_lifted(out, tmp_path / "o.csv")
    write_lifted(out, tmp_path / "o.json")
    write_lifted(out, tmp_path / "o.npz")
    csv = pd.read_csv(tmp_path / "o.csv")
    assert list(csv.columns) == list(out.columns)
    assert np.allclose(csv["left_knee_z"], out["left_knee_z"], atol=1e-6, equal_nan=True)
    assert ",too_few_joints," in (tmp_path / "o.csv").read_text()
    document = json.loads((tmp_path / "o.json").read_text())
    assert document["joint_names"] == list(BODY15.joints)
    assert document["frames"][2]["joints3d"][0] == [None, None, None]
    assert document["frames"][0]["frame"] == 0
    assert document["frames"][0]["joints3d"][BODY15.index("left_knee")][2] == pytest.approx(out.loc[0, "left_knee_z"], abs=1e-6)  # noqa: E501
    with np.load(tmp_path / "o.npz", allow_pickle=False) as data:
        assert data["joints3d"].shape == (6, 15, 3)
        assert data["status"].tolist()[2] == "too_few_joints"
        assert data["id_frame"].tolist() == list(range(6))
    with pytest.raises(ValueError, match="unknown output type '.txt'"):
        write_lifted(out, tmp_path / "o.txt")


def test_csv_output_is_byte_identical_between_runs(lifter, frame, tmp_path):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    lift_file(path, tmp_path / "a.csv", lifter, chunk_rows=9)
    lift_file(path, tmp_path / "b.csv", lifter, chunk_rows=13)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


class Interrupted(Exception):
    pass


class InterruptingLifter(Lifter):
    """A real Lifter whose run is cut off (like Ctrl-C) after ``budget`` chunks."""

    def __init__(self, budget, **kwargs):
        super().__init__(**kwargs)
        self.budget, self.calls = budget, 0

    def lift(self, keypoints2d, scores=None):
        self.calls += 1
        if self.calls > self.budget:
            raise Interrupted("simulated crash")
        return super().lift(keypoints2d, scores)


def test_resume_after_a_crash_redoes_only_unfinished_chunks(frame, tmp_path):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    output = tmp_path / "out.csv"
    crashing = InterruptingLifter(2, bases=toy_bases(), method="convex")
    with pytest.raises(Interrupted):
        lift_file(path, output, crashing, chunk_rows=10)
    assert not output.exists()                                   # never a half-written output
    parts = sorted((tmp_path / "out.csv.parts").glob("part-*.csv"))
    assert [p.name for p in parts] == ["part-000000.csv", "part-000001.csv"]
    resumed = InterruptingLifter(100, bases=toy_bases(), method="convex")
    summary = lift_file(path, output, resumed, chunk_rows=10, resume=True)
    assert resumed.calls == 2 and summary.chunks_resumed == 2 and summary.chunks == 4
    assert summary.rows == 40 and summary.lifted == 40
    assert not (tmp_path / "out.csv.parts").exists()
    fresh = tmp_path / "fresh.csv"
    lift_file(path, fresh, Lifter(bases=toy_bases(), method="convex"), chunk_rows=10)
    assert output.read_bytes() == fresh.read_bytes()


def test_resume_refuses_other_settings(frame, tmp_path):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    crashing = InterruptingLifter(1, bases=toy_bases(), method="convex")
    with pytest.raises(Interrupted):
        lift_file(path, tmp_path / "out.csv", crashing, chunk_rows=10)
    with pytest.raises(KeypointFormatError, match="cannot resume .*: the chunk_rows, (network_sha256, )?method differ"):
        lift_file(path, tmp_path / "out.csv", Lifter(bases=toy_bases()), chunk_rows=20, resume=True)


def test_the_manifest_records_the_lifters_get_params(frame, tmp_path):
    """One record of the settings: what the lifter holds now, not a copy made when it was built."""
    from lift2d3d.lifter import Camera
    from lift2d3d.pipeline import lifter_settings

    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    bases = toy_bases()
    crashing = InterruptingLifter(1, bases=bases, method="convex", camera=Camera(900.0, (320.0, 240.0)))
    crashing.alpha = 0.2                                  # set after construction: still what the run used
    with pytest.raises(Interrupted):
        lift_file(path, tmp_path / "out.csv", crashing, chunk_rows=10)
    manifest = json.loads((tmp_path / "out.csv.parts" / "manifest.json").read_text())
    assert manifest["lifter"] == lifter_settings(crashing)
    assert manifest["lifter"]["alpha"] == 0.2 and manifest["lifter"]["refine_alpha"] is None
    assert manifest["lifter"]["camera"] == {"focal": 900.0, "principal": [320.0, 240.0]}
    assert manifest["lifter"]["bases"] == {"arrays_sha256": bases.metadata["arrays_sha256"]}
    assert "n_threads" not in manifest["lifter"]                       # threads never change a result
    with pytest.raises(KeypointFormatError, match="the alpha differs from the interrupted run"):
        lift_file(path, tmp_path / "out.csv", Lifter(bases=bases, method="convex", camera=crashing.camera),
                  chunk_rows=10, resume=True)
    same = InterruptingLifter(100, **{**crashing.get_params(), "n_threads": 1})
    summary = lift_file(path, tmp_path / "out.csv", same, chunk_rows=10, resume=True)
    assert summary.chunks_resumed == 1 and same.calls == 3 and summary.lifter == manifest["lifter"]


def test_a_parts_folder_of_another_version_is_not_resumed(frame, tmp_path):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    crashing = InterruptingLifter(1, bases=toy_bases(), method="convex")
    with pytest.raises(Interrupted):
        lift_file(path, tmp_path / "out.csv", crashing, chunk_rows=10)
    manifest = tmp_path / "out.csv.parts" / "manifest.json"
    old = json.loads(manifest.read_text())
    old.update(format_version=1, settings="Lifter(method='convex')")
    manifest.write_text(json.dumps(old))
    with pytest.raises(KeypointFormatError, match="written by another version of lift2d3d; rerun without --resume"):
        lift_file(path, tmp_path / "out.csv", InterruptingLifter(100, bases=toy_bases(), method="convex"),
                  chunk_rows=10, resume=True)


def test_unusable_input_leaves_no_parts_folder(lifter, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("frame,nose_x\n0,1\n")
    with pytest.raises(KeypointFormatError, match="missing coordinate column nose_y"):
        lift_file(path, tmp_path / "out.csv", lifter)
    assert list(tmp_path.iterdir()) == [path]


def test_other_layouts_stream_to_json_and_npz(lifter, tmp_path):
    from test_io_support import body15_poses
    poses = body15_poses(25)
    pixels = 300 * poses[..., :2] + 300
    np.save(tmp_path / "k.npy", pixels)
    summary = lift_file(tmp_path / "k.npy", tmp_path / "out.npz", lifter, chunk_rows=10)
    assert summary.layout == "numpy" and summary.skeleton == "body15" and summary.lifted == 25
    with np.load(tmp_path / "out.npz") as data:
        assert data["joints3d"].shape == (25, 15, 3) and data["id_frame"].tolist() == list(range(25))
    summary = lift_file(tmp_path / "k.npy", tmp_path / "out.json", lifter, chunk_rows=10)
    document = json.loads((tmp_path / "out.json").read_text())
    assert len(document["frames"]) == 25


def test_progress_bar_only_when_asked_or_on_a_terminal(lifter, frame, tmp_path, capsys):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    lift_file(path, tmp_path / "a.csv", lifter, chunk_rows=10, progress=True)
    err = capsys.readouterr().err
    assert "lifting" in err and "40/40" in err
    lift_file(path, tmp_path / "b.csv", lifter, chunk_rows=10)          # captured stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_long_csv_and_openpose_folder_stream_through_lift_file(lifter, frame, tmp_path):
    from lift2d3d.skeletons import get_skeleton
    coco = get_skeleton("coco17")
    rows = [{"frame": r["frame"], "joint": j, "x": r[f"{j}_x"], "y": r[f"{j}_y"]} for _, r in frame.iterrows()
            for j in coco.joints]
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    summary = lift_file(tmp_path / "long.csv", tmp_path / "long_out.csv", lifter, chunk_rows=6)
    assert summary.layout == "csv-long" and summary.rows == 40 and summary.lifted == 40
    out = pd.read_csv(tmp_path / "long_out.csv")
    assert out["frame"].tolist() == list(range(40))
    folder = tmp_path / "op"
    folder.mkdir()
    op = get_skeleton("openpose25")
    for _, r in frame.iloc[:5].iterrows():
        flat = np.zeros((25, 3))
        for j in coco.joints:
            flat[op.index(j)] = (r[f"{j}_x"], r[f"{j}_y"], 0.9)
        people = {"people": [{"pose_keypoints_2d": flat.ravel().tolist()}]}
        (folder / f"cam_{int(r['frame']):012d}_keypoints.json").write_text(json.dumps(people))
    summary = lift_file(folder, tmp_path / "op.csv", lifter)
    assert summary.skeleton == "openpose25" and summary.lifted == 5
    out = pd.read_csv(tmp_path / "op.csv")
    assert out.columns[:3].tolist() == ["video", "frame", "person"]
    assert np.allclose(out["left_knee_z"], lift_table(frame.iloc[:5], lifter)["left_knee_z"], atol=1e-5)


def test_sequence_lifts_each_person_together(frame, tmp_path):
    """--sequence: the rows of each person (ids apart from the frame) go through lift_sequence together."""
    from lift2d3d.pipeline import person_groups

    two = frame.copy()
    two.loc[two.index[::2], "person"] = 1                  # two people, interleaved rows
    path = tmp_path / "k.csv"
    two.to_csv(path, index=False, float_format="%.17g")
    table = read_keypoints(path)
    groups = person_groups(table.ids, np.arange(len(two)))
    assert sorted(map(len, groups)) == [20, 20]
    assert all(len(set(two["person"].to_numpy()[g])) == 1 for g in groups)
    lifter = Lifter(bases=toy_bases())                      # convex+refine: the pull acts in the refinement
    out = tmp_path / "lifted.csv"
    lift_file(path, out, lifter, sequence=True, progress=False)
    lifted = pd.read_csv(out)
    keypoints, scores = table.for_lifter(lifter)
    for g in groups:      # in the order of the frame column, spaced in time by it
        frames = two["frame"].to_numpy(dtype=float)[g]
        expected = lifter.lift_sequence(keypoints[g], scores[g], frames=frames).joints3d
        got = lifted[[f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]].to_numpy()[g].reshape(-1, 15, 3)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)     # the CSV keeps 6 decimals
    # without the time column everything else names the person; no id columns at all: one sequence
    assert len(person_groups(table.ids[["frame"]], np.arange(len(two)))) == 1


def test_sequence_follows_the_frame_column_and_explains_the_rows_it_lifts_alone(frame):
    """Rows out of time order are lifted in time order; a repeated or unreadable frame number is lifted on
    its own, and its message says so (nothing is dropped)."""
    lifter = Lifter(bases=toy_bases())
    cols = [f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]
    ordered = lift_table(frame, lifter, sequence=True)
    shuffled = frame.iloc[np.random.default_rng(0).permutation(len(frame))].reset_index(drop=True)
    back = lift_table(shuffled, lifter, sequence=True).sort_values("frame").reset_index(drop=True)
    np.testing.assert_allclose(back[cols].to_numpy(), ordered[cols].to_numpy(), atol=1e-9)
    broken = frame.copy()
    broken["frame"] = broken["frame"].astype(object)
    broken.loc[5, "frame"] = broken.loc[4, "frame"]           # two poses of the person at one time
    broken.loc[9, "frame"] = "n/a"
    out = lift_table(broken, lifter, sequence=True)
    assert len(out) == len(frame)
    assert out.loc[5, "status"] == "bad_input" and "duplicate id (frame=4, person=0)" in out.loc[5, "message"]
    assert out.loc[9, "status"] == "ok" and "is not a number" in out.loc[9, "message"]
    assert not out.drop(index=[9])["message"].str.contains("not part of the person").any()
    single = lift_table(broken.iloc[[9]], lifter)
    np.testing.assert_allclose(out.loc[[9], cols].to_numpy(), single[cols].to_numpy(), atol=1e-9)


def test_json_npz_and_csv_outputs_keep_the_id_types(lifter, frame, tmp_path):
    """CSV readers hold ids as text; JSON and NPZ write numbers as numbers, and text ("007") as text."""
    table = frame.iloc[:4].copy()
    table.insert(0, "take", ["007", "008", "009", "010"])
    table.insert(1, "clip", "walk")
    path = tmp_path / "k.csv"
    table.to_csv(path, index=False)
    lift_file(path, tmp_path / "out.json", lifter)
    frames = json.loads((tmp_path / "out.json").read_text())["frames"]
    assert [f["frame"] for f in frames] == [0, 1, 2, 3] and [f["person"] for f in frames] == [0] * 4
    assert [f["take"] for f in frames] == ["007", "008", "009", "010"] and frames[0]["clip"] == "walk"
    lift_file(path, tmp_path / "out.npz", lifter)
    with np.load(tmp_path / "out.npz") as data:
        assert data["id_frame"].dtype.kind == "i" and data["id_take"].tolist() == ["007", "008", "009", "010"]
    lift_file(path, tmp_path / "out.csv", lifter)
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith("007,walk,0,0,")   # verbatim


def test_frames_without_a_person_are_no_person_rows_in_every_output(lifter, tmp_path):
    from tool_files import write_mmpose_video, write_openpose

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for written in (write_openpose(tmp_path / "a", empty_frames=(1, 2)), write_mmpose_video(tmp_path / "b")):
        for suffix in (".csv", ".json", ".npz"):
            out = tmp_path / f"out_{written.layout}{suffix}"
            summary = lift_file(written.path, out, lifter, chunk_rows=4)
            assert summary.status_counts["no_person"] == written.no_person.sum() and summary.rows == len(written.ids)
            assert summary.first_problems == []
        lifted = pd.read_csv(tmp_path / f"out_{written.layout}.csv")
        empty = lifted[lifted["status"] == "no_person"]
        frame_id = lifted.columns[1] if written.layout == "openpose-json" else "frame_id"
        assert empty[frame_id].tolist() == list(np.flatnonzero(written.no_person))
        assert empty["message"].str.contains("no person").all() and empty["left_knee_z"].isna().all()
        frames = json.loads((tmp_path / f"out_{written.layout}.json").read_text())["frames"]
        assert [f["status"] for f in frames].count("no_person") == written.no_person.sum()


def test_resume_on_a_finished_output_says_it_is_complete_and_reruns_nothing(frame, tmp_path):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    output = tmp_path / "out.csv"
    lift_file(path, output, Lifter(bases=toy_bases(), method="convex"), chunk_rows=10)
    before = output.stat().st_mtime_ns, output.read_bytes()
    counting = InterruptingLifter(0, bases=toy_bases(), method="convex")     # any lift would raise
    lines = []
    summary = lift_file(path, output, counting, chunk_rows=10, resume=True, log=lines.append)
    assert counting.calls == 0 and summary.complete
    assert (output.stat().st_mtime_ns, output.read_bytes()) == before
    assert summary.rows == 40 and summary.lifted == 40 and summary.status_counts == {"ok": 40}
    assert any("output is complete" in line for line in lines) and "output is complete" in summary.text()
    # an input changed after the output was written is lifted again
    import os
    os.utime(path, ns=(before[0] + 10**9, before[0] + 10**9))
    with pytest.raises(Interrupted):
        lift_file(path, output, counting, chunk_rows=10, resume=True)


def test_camera_columns_hold_the_fitted_rotation_scale_and_translation(lifter, frame, tmp_path):
    from lift2d3d.io import CAMERA_COLUMNS

    out = lift_table(frame.iloc[:8], lifter, write_camera=True)
    assert list(out.columns) == output_columns(["frame", "person"], BODY15.joints, write_camera=True)
    assert list(out.columns[-13:]) == list(CAMERA_COLUMNS)
    result = lifter.lift(*read_keypoints(frame.iloc[:8]).for_lifter(lifter))
    rotation = out[list(CAMERA_COLUMNS[:9])].to_numpy().reshape(-1, 3, 3)
    np.testing.assert_allclose(rotation, result.rotation, atol=1e-12)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", rotation, rotation), np.broadcast_to(np.eye(3), (8, 3, 3)),
                               atol=1e-9)
    # weak perspective: keypoints ~ scale * joints3d[:, :2] + (tx, ty)
    xyz = out[[f"{j}_{a}" for j in BODY15.joints for a in "xyz"]].to_numpy().reshape(-1, 15, 3)
    keypoints, _ = read_keypoints(frame.iloc[:8]).for_lifter(lifter)
    reprojected = out["scale"].to_numpy()[:, None, None] * xyz[..., :2] + out[["tx", "ty"]].to_numpy()[:, None, :]
    rms = np.sqrt(np.nanmean(np.sum((reprojected - keypoints) ** 2, axis=2), axis=1))
    np.testing.assert_allclose(rms, out["reprojection_error"], rtol=1e-6, atol=1e-6)
    assert (out["tz"] == 0).all()
    # written: CSV columns after the message, JSON rotation/scale/translation, NPZ arrays
    path = tmp_path / "k.csv"
    frame.iloc[:8].to_csv(path, index=False)
    for suffix in (".csv", ".json", ".npz"):
        lift_file(path, tmp_path / f"out{suffix}", lifter, write_camera=True)
    csv = pd.read_csv(tmp_path / "out.csv")
    assert list(csv.columns[-13:]) == list(CAMERA_COLUMNS)
    np.testing.assert_allclose(csv["scale"], out["scale"], rtol=1e-6)
    first = json.loads((tmp_path / "out.json").read_text())["frames"][0]
    np.testing.assert_allclose(first["rotation"], rotation[0], atol=1e-8)
    assert first["translation"][2] == 0 and first["scale"] == pytest.approx(out.loc[0, "scale"])
    with np.load(tmp_path / "out.npz") as data:
        assert data["rotation"].shape == (8, 3, 3) and data["translation"].shape == (8, 3)
    plain = pd.read_csv(lift_file(path, tmp_path / "plain.csv", lifter).output)
    assert "scale" not in plain.columns                                          # only when asked for


def test_sequence_streams_a_person_across_chunks(tmp_path):
    """A person's video cut into chunks is lifted with the neighbouring chunks' frames as context: the
    frames at the cuts move less from the one-chunk lift than when each chunk is pooled on its own,
    and the rows of another person in the same chunks do not join the sequence."""
    from lift2d3d.pipeline.tables import SequenceContext, sequence_context
    from lift2d3d.skeletons import BODY15
    from test_temporal import smooth_clip

    lifter = Lifter()
    cam, keypoints = smooth_clip(lifter.bases, 120, seed=3, noise_px=1.0)
    rows = {"frame": np.arange(120), "person": 0}
    for j, joint in enumerate(BODY15.joints):
        rows[f"{joint}_x"], rows[f"{joint}_y"] = keypoints[:, j, 0], keypoints[:, j, 1]
    frame = pd.DataFrame(rows)
    path = tmp_path / "video.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    cols = [f"{j}_{a}" for j in lifter.joint_names for a in "xyz"]

    def lifted(chunk_rows, name):
        lift_file(path, tmp_path / name, lifter, sequence=True, chunk_rows=chunk_rows, progress=False)
        return pd.read_csv(tmp_path / name)[cols].to_numpy().reshape(120, -1, 3)

    whole, chunked = lifted(1000, "whole.csv"), lifted(40, "chunked.csv")
    pooled = np.concatenate([lift_table(frame.iloc[i:i + 40], lifter, sequence=True)[cols].to_numpy()
                             for i in range(0, 120, 40)]).reshape(120, -1, 3)
    cuts = [38, 39, 40, 41, 78, 79, 80, 81]

    def moved(x):
        return np.linalg.norm(x[cuts] - whole[cuts], axis=-1).mean()

    assert moved(chunked) < 0.7 * moved(pooled)
    # the context of a chunk: its person's frames next to the cut, nobody else's
    table = read_keypoints(path)
    two = table.ids.copy()
    two.loc[two.index[::2], "person"] = 1
    from dataclasses import replace
    halves = [replace(table, ids=two.iloc[a:b].reset_index(drop=True), keypoints=table.keypoints[a:b],
                      scores=table.scores[a:b], problems=table.problems[a:b], no_person=table.no_person[a:b],
                      line_numbers=None if table.line_numbers is None else table.line_numbers[a:b])
              for a, b in ((0, 60), (60, 120))]
    only_zero = replace(halves[1], ids=halves[1].ids.assign(person=0))
    mapped = [(h, *h.mapping_to(lifter).apply(h.keypoints, h.scores)) for h in halves]
    context = sequence_context(only_zero, before=mapped[0], n_frames=5)
    assert isinstance(context, SequenceContext)
    assert context.ids["person"].tolist() == [0] * 5
    assert context.ids["frame"].astype(int).tolist() == [51, 53, 55, 57, 59]


def test_resume_on_an_output_made_with_other_options_refuses_and_keeps_it(frame, tmp_path):
    """--resume used to call any output newer than its input complete, whatever options made it."""
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    output = tmp_path / "out.csv"
    lift_file(path, output, Lifter(bases=toy_bases(), method="convex"), chunk_rows=10)
    before = output.read_bytes()
    with pytest.raises(KeypointFormatError,
                       match="cannot resume .*out.csv: it was made with another (network_sha256, )?method"):
        lift_file(path, output, Lifter(bases=toy_bases()), chunk_rows=10, resume=True)
    with pytest.raises(KeypointFormatError, match="made with another write_camera"):
        lift_file(path, output, Lifter(bases=toy_bases(), method="convex"), chunk_rows=10, resume=True,
                  write_camera=True)
    assert output.read_bytes() == before
    # an output whose manifest is gone (moved, or an older lift2d3d's) cannot be vouched for
    (tmp_path / ".out.csv.lift2d3d.json").unlink()
    with pytest.raises(KeypointFormatError, match="nothing says which options made it"):
        lift_file(path, output, Lifter(bases=toy_bases(), method="convex"), chunk_rows=10, resume=True)


def test_the_output_may_not_be_an_input(frame, tmp_path, monkeypatch):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    for output in (path, "k.csv", "./sub/../k.csv"):
        with pytest.raises(ValueError, match="is the input"):
            lift_file(path, output, Lifter(bases=toy_bases(), method="convex"))
    assert path.read_bytes() == before and not (tmp_path / "sub").exists()


def test_an_output_path_with_dot_dot_leaves_no_stray_folder(frame, tmp_path, monkeypatch):
    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    lift_file(path, "a/../../lifted.csv", Lifter(bases=toy_bases(), method="convex"))
    assert (tmp_path / "lifted.csv").is_file() and not (tmp_path / "work" / "a").exists()


def test_a_second_run_on_the_same_output_refuses_and_a_dead_runs_lock_is_taken_over(frame, tmp_path):
    """Two runs used to share one .parts folder (the second deleted the first's, both wrote into it)."""
    import subprocess
    import sys

    from lift2d3d.pipeline import OutputBusyError

    path = tmp_path / "k.csv"
    frame.to_csv(path, index=False)
    output = tmp_path / "out.csv"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom lift2d3d.pipeline import output_lock\n"
        f"with output_lock({str(output)!r}):\n    print('held', flush=True)\n    sys.stdin.read()\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError, match=rf"being written by another run \(pid {holder.pid} on "):
            lift_file(path, output, Lifter(bases=toy_bases(), method="convex"))
        assert not output.exists() and not (tmp_path / "out.csv.parts").exists()
    finally:
        holder.kill()           # as a crash would: its lock file stays, its flock goes with it
        holder.wait()
    assert (tmp_path / "out.csv.lock").exists()
    lines = []
    summary = lift_file(path, output, Lifter(bases=toy_bases(), method="convex"), log=lines.append)
    assert summary.rows == len(frame) and output.is_file()
    assert any(f"took over the lock of an earlier run on {output}" in line and f"pid {holder.pid}" in line
               for line in lines)
    assert not (tmp_path / "out.csv.lock").exists()


def test_the_summary_says_how_many_more_bad_rows_and_no_estimate_when_nothing_was_lifted(frame, tmp_path):
    from lift2d3d.io import read_keypoints as read

    bad = frame.copy()
    bad["frame"] = 7                           # every row the same id: all but the first are duplicates
    with pytest.warns(UserWarning, match=rf"{len(bad) - 1} row\(s\) with bad input .*; and {len(bad) - 4} more\)"):
        read(bad)
    path = tmp_path / "dup.csv"
    bad.to_csv(path, index=False)
    summary = lift_file(path, tmp_path / "out.csv", Lifter(bases=toy_bases(), method="convex"))
    assert f"... and {len(bad) - 1 - 3} more row(s) with bad input" in summary.text()
    nothing = frame.copy()
    nothing[[c for c in nothing.columns if c.endswith("_score")]] = 0.0
    path = tmp_path / "none.csv"
    nothing.to_csv(path, index=False)
    summary = lift_file(path, tmp_path / "none_out.csv", Lifter(bases=toy_bases(), method="convex"))
    assert summary.lifted == 0 and "the bases estimate them" not in summary.text()
