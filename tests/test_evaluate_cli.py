"""lift2d3d evaluate on a corpus folder (per corpus and per performer, the held-out check) and --video."""

import hashlib
import json

import numpy as np
import pytest

from lift2d3d.cli import main
from lift2d3d.evaluation import acceleration_error, clip_starts, fixed_camera, view_clip

from test_corpus import DAZ_NAMES, daz_bvh
from test_io_support import toy_bases
from test_mocap_acclaim import _amc_text, _asf_text, _random_motion


def _two_performer_corpus(root):
    """Performer 07 as Acclaim ASF/AMC (80 frames at 120 fps), performer 08 as cgspeed BVH (20 frames at 120 fps)."""
    rng = np.random.default_rng(3)
    amc_dir = root / "asf-amc" / "07"
    amc_dir.mkdir(parents=True)
    (amc_dir / "07.asf").write_text(_asf_text(length_unit=0.45))
    motion, values = _random_motion(rng, 80)
    motion[:, :3] = [0, 17, 0]
    (amc_dir / "07_01.amc").write_text(_amc_text(motion, values))
    (root / "bvh" / "08").mkdir(parents=True)
    frames = [{name: rng.uniform(-30, 30, 3) for name in DAZ_NAMES[1:]} for _ in range(20)]
    (root / "bvh" / "08" / "08_01.bvh").write_text(daz_bvh(frames))


@pytest.fixture
def toy_bases_file(tmp_path):
    return str(toy_bases().save(tmp_path / "toy.npz"))


def test_evaluate_a_corpus_per_corpus_and_per_performer(tmp_path, capsys, toy_bases_file):
    root = tmp_path / "cmu"
    _two_performer_corpus(root)
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--mocap", str(root), "--bases", toy_bases_file, "--frames-per-take", "0",
                 "--camera", "weak", "--workers", "1", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "not held-out" not in out
    table = out[out.index("by performer"):].splitlines()[2:4]
    assert [line.split()[0] for line in table] == ["07", "08"]
    assert "by corpus" in out and "asf-amc" in out
    result = json.loads(report.read_text())["results"][0]
    overall = result["overall"]
    # 80 AMC frames at 120 fps -> 20 at 30 fps; 20 BVH frames (after the rig's T-pose) -> 5
    assert overall["frames"] == 25
    for by in ("performer", "corpus", "take"):
        rows = result["by"][by]
        assert sum(r["frames"] for r in rows) == overall["frames"]
        assert sum(r["failed"] for r in rows) == overall["failed"]
    performers = {r["group"]: r for r in result["by"]["performer"]}
    assert set(performers) == {"07", "08"} and performers["07"]["frames"] == 20 and performers["08"]["frames"] == 5
    assert {r["group"] for r in result["by"]["corpus"]} == {"asf-amc", "bvh"}
    # the frame-weighted mean of the groups is the overall mean
    lifted = [(r["frames"] - r["failed"], r["pa_mpjpe_mm"]) for r in result["by"]["performer"]]
    mean = sum(n * pa for n, pa in lifted) / sum(n for n, _ in lifted)
    assert mean == pytest.approx(overall["pa_mpjpe_mm"])
    assert 0 < overall["pa_mpjpe_mm"] <= overall["camera_error_mm"] + 1e-9


def test_evaluate_warns_when_the_takes_were_learned_from(tmp_path, capsys):
    root = tmp_path / "cmu"
    _two_performer_corpus(root)
    amc = root / "asf-amc" / "07" / "07_01.amc"
    files = [dict(path="asf-amc/07/07_01.amc", sha256=hashlib.sha256(amc.read_bytes()).hexdigest(),
                  format="asf-amc", take="07_01", performer="07")]
    path = toy_bases().save(tmp_path / "trained.npz", corpus=dict(files=files, performers=["07"]))
    args = ["evaluate", "--mocap", str(root), "--bases", str(path), "--frames-per-take", "3", "--camera", "weak",
            "--workers", "1", "--json", str(tmp_path / "e.json")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 of the 2 evaluated takes were used to learn these bases: the figures are not held-out" in out
    assert json.loads((tmp_path / "e.json").read_text())["held_out"]["takes_used_for_training"] == [
        "asf-amc/07/07_01.amc"]
    # the same CMU take in another format counts too (here 08_01, learned as AMC, evaluated as BVH)
    path = toy_bases().save(tmp_path / "trained2.npz", clips=["elsewhere/08/08_01.amc"])
    assert main(args[:3] + ["--bases", str(path)] + args[5:]) == 0
    assert "1 of the 2 evaluated takes were used" in capsys.readouterr().out


def test_the_held_out_check_compares_clip_paths_resolved(tmp_path, capsys, monkeypatch):
    """Clips are recorded as given to learn-bases (relative to the corpus, or relative to where it ran); a
    take is one of them however the evaluation names it (they were compared as given, and missed)."""
    from types import SimpleNamespace

    from lift2d3d.commands.evaluate import training_overlap

    root = tmp_path / "cmu"
    _two_performer_corpus(root)
    # as evaluate reads them; performer unknown, so only the path can tell
    takes = [SimpleNamespace(path=str(root / "asf-amc" / name), name=f"asf-amc/{name}", sha256="-",
                             performer_known=False, performer=None) for name in ("07/07_01.amc", "08/08_01.amc")]
    monkeypatch.chdir(tmp_path)
    for clip in ("cmu/asf-amc/07/07_01.amc", "./cmu/asf-amc/07/../07/07_01.amc", str(root / "asf-amc/07/07_01.amc"),
                 "asf-amc/07/07_01.amc"):
        assert training_overlap({"clips": [clip]}, takes)["takes"] == ["asf-amc/07/07_01.amc"], clip


def _smooth_take(path, n_frames=130, seed=0):
    """A y-up take written as an NPZ of joints: a smooth path through the toy bases' codes, the body turning."""
    from scipy.spatial.transform import Rotation

    bases = toy_bases()
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / 30.0
    phases = rng.uniform(0, 2 * np.pi, bases.n_bases)
    codes = 0.2 + 0.8 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t[:, None] + phases))
    codes /= codes.sum(axis=1, keepdims=True)
    poses = np.einsum("nk,kaj->nja", codes, bases.bases)
    turn = Rotation.from_euler("y", np.linspace(0, 60, n_frames)[:, None], degrees=True).as_matrix()
    poses = np.einsum("nab,njb->nja", turn, poses) + [0.0, 1.0, 0.0]
    np.savez(path, joints3d=poses, joint_names=np.array(bases.skeleton.joints))
    return poses


def test_evaluate_video_reports_both_liftings_and_smooths_the_jitter(tmp_path, capsys, toy_bases_file):
    take = tmp_path / "walk.npz"
    _smooth_take(take)
    report = tmp_path / "video.json"
    assert main(["evaluate", "--video", "--joints", str(take), "--bases", toy_bases_file, "--clip-frames", "40",
                 "--clips-per-take", "3", "--noise", "2", "--camera", "weak", "--workers", "1",
                 "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "3 clips of 40 frames" in out
    for word in ("PA-MPJPE", "camera-frame", "jitter", "per frame", "temporal", "temporal / per frame"):
        assert word in out
    row = json.loads(report.read_text())["results"][0]
    per_frame, temporal = row["per_frame"], row["temporal"]
    for way in (per_frame, temporal):
        assert way["clips"] == 3 and way["frames"] == 120 and way["failed"] == 0
        assert 0 < way["pa_mpjpe_mm"] <= way["camera_error_mm"] + 1e-9 and way["jitter_mm_per_frame2"] > 0
    assert temporal["jitter_mm_per_frame2"] < per_frame["jitter_mm_per_frame2"]
    assert row["ratios"]["jitter_mm_per_frame2"] == pytest.approx(
        temporal["jitter_mm_per_frame2"] / per_frame["jitter_mm_per_frame2"])
    assert main(["evaluate", "--video", "--sequence", "--joints", str(take)]) == 2


def test_clips_cameras_and_the_acceleration_error():
    assert clip_starts(100, 40, 3).tolist() == [0, 30, 60]
    assert clip_starts(39, 40, 3).tolist() == []
    assert clip_starts(40, 40, 3).tolist() == [0]
    rng = np.random.default_rng(0)
    joints = np.cumsum(rng.normal(scale=0.01, size=(30, 15, 3)), axis=0) + rng.normal(size=(1, 15, 3))
    # a fixed camera is one rigid motion for the whole clip: distances between any two points are kept
    camera3d, keypoints = fixed_camera(joints, (0.0, 1.0, 0.0), np.random.default_rng(1))
    flat_w, flat_c = joints.reshape(-1, 3), camera3d.reshape(-1, 3)
    pairs = rng.integers(0, len(flat_w), (50, 2))
    np.testing.assert_allclose(np.linalg.norm(flat_c[pairs[:, 0]] - flat_c[pairs[:, 1]], axis=1),
                               np.linalg.norm(flat_w[pairs[:, 0]] - flat_w[pairs[:, 1]], axis=1), atol=1e-12)
    np.testing.assert_allclose(keypoints, 1000.0 * camera3d[..., :2] / camera3d[..., 2:3] + [640.0, 360.0])
    # an orbiting camera starts where the fixed one is and turns about the vertical through the mean pelvis
    orbit, _ = fixed_camera(joints, (0.0, 1.0, 0.0), np.random.default_rng(1), orbit_deg=30.0)
    np.testing.assert_allclose(orbit[0], camera3d[0], atol=1e-12)
    assert not np.allclose(orbit[-1], camera3d[-1])
    # noise and missing joints
    view = view_clip(joints, (0.0, 1.0, 0.0), np.random.default_rng(1), noise_px=0.0, missing=0.3)
    gone = view.scores == 0
    assert 0.15 < gone.mean() < 0.45 and np.isnan(view.keypoints[gone]).all()
    np.testing.assert_allclose(view.keypoints[~gone], keypoints[~gone])
    # acceleration error: 0 for a lift that differs only by scale; a known value for a jolt
    assert acceleration_error(2.0 * joints, joints) == pytest.approx(0.0, abs=1e-12)
    truth = np.zeros((5, 2, 3))
    truth[:, 1, 0] = 1.0
    jolt = truth.copy()
    jolt[2, 0, 1], jolt[2, 1, 1] = 0.5, -0.5     # one frame's joints pushed apart, across the bone
    # the scale fitting the lift to the truth: sum(a b) = 5 frames x 0.5, sum(a a) = 2.5 + the jolt's 0.5
    scale = 2.5 / 3.0
    # second differences of the push: +0.5, -1.0, +0.5 at frames 1, 2, 3 (each joint); the truth stands still
    assert acceleration_error(jolt, truth) == pytest.approx(scale * (0.5 + 1.0 + 0.5) / 3)


def test_evaluate_depth_hints_apply_to_every_camera(tmp_path, capsys):
    """--depth-hints: the hinted lifts of both cameras get the relations (a ratio line per camera)."""
    root = tmp_path / "cmu"
    _two_performer_corpus(root)
    assert main(["evaluate", "--mocap", str(root), "--frames-per-take", "5", "--depth-hints", "3",
                 "--workers", "1"]) == 0
    out = capsys.readouterr().out
    ratios = [line.split()[0] for line in out.splitlines() if "ratio to no hints" in line]
    assert ratios == ["weak", "perspective"]
