"""The ONNX BlazePose detector on real frames, checked against MediaPipe's own output.

Needs the converted models (``lift2d3d models build``: downloads the
mediapipe wheel from PyPI and converts it with onnx + flatbuffers, the
``models`` extra).  When they are not built and cannot be built here, these
tests are skipped with that command as the reason -- unless
``LIFT2D3D_REQUIRE_DETECTOR=1`` (CI), where a missing model is a failure.
The converter itself is tested in test_detect_convert.py.

Fixtures: three frames of the pose2sim demo (see tests/data/README.md) and
MediaPipe 0.10.14's landmarks for them (tests/data/blazepose_oracle.json,
made by tests/data/make_detect_fixtures.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from lift2d3d.detect import models

DATA = Path(__file__).parent / "data"
ORACLE = json.loads((DATA / "blazepose_oracle.json").read_text())
IMAGES = sorted(ORACLE["images"])


@pytest.fixture(scope="module")
def model_files():
    try:
        return models.check_models()
    except models.ModelError as exc:
        if models.build_dependencies_available():
            return models.build_models(log=lambda m: None)
        if os.environ.get("LIFT2D3D_REQUIRE_DETECTOR") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"BlazePose models not built ({exc})")


@pytest.fixture(scope="module")
def detector(model_files):
    from lift2d3d.detect import PoseDetector
    return PoseDetector(static_image_mode=True, models=model_files)


def _torso(points):
    mid = lambda a, b: (points[a, :2] + points[b, :2]) / 2  # noqa: E731
    return float(np.linalg.norm(mid(11, 12) - mid(23, 24)))


@pytest.mark.parametrize("name", IMAGES)
def test_landmarks_agree_with_mediapipe(detector, name):
    oracle = np.array(ORACLE["images"][name])
    result = detector.process(cv2.imread(str(DATA / name)))
    assert result.status == "ok" and result.n_people == 1
    rel = np.linalg.norm(result.keypoints[0] - oracle[:, :2], axis=1) / _torso(oracle)
    # Targets of the issue (median <= 2%, p95 <= 5% of the torso height).
    assert np.median(rel) <= 0.02, rel
    assert np.percentile(rel, 95) <= 0.05, rel
    assert np.abs(result.scores[0] - oracle[:, 2]).max() < 0.1
    assert result.pose_score[0] > 0.9 and result.world.shape == (1, 33, 3)


def test_no_person_is_a_status_not_a_crash(detector):
    # The force platform and mats in the bottom-right corner of a real frame (the top-left
    # corner would not do: a bystander stands there, and the detector finds her).
    image = cv2.imread(str(DATA / IMAGES[0]))[-300:, -250:]
    result = detector.process(image)
    assert result.status == "no_person" and result.n_people == 0 and result.keypoints.shape == (0, 33, 2)


def test_grayscale_rgba_and_huge_images(detector):
    image = cv2.imread(str(DATA / IMAGES[0]))
    colour = detector.process(image).keypoints[0]
    torso = _torso(colour)
    gray = detector.process(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert gray.status == "ok"
    assert np.median(np.linalg.norm(gray.keypoints[0] - colour, axis=1)) < 0.05 * torso
    rgba = detector.process(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    assert np.allclose(rgba.keypoints, colour[None])
    huge = cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_LINEAR)   # 4320x7680
    big = detector.process(huge)
    assert big.status == "ok"
    assert np.median(np.linalg.norm(big.keypoints[0] / 8 - colour, axis=1)) < 0.05 * torso


def test_heatmaps_on_request(model_files):
    from lift2d3d.detect import PoseDetector
    result = PoseDetector(static_image_mode=True, heatmaps=True, models=model_files).process(
        cv2.imread(str(DATA / IMAGES[1])))
    assert result.heatmaps.shape == (1, 64, 64, 33)
    assert 0.0 <= result.heatmaps.min() and result.heatmaps.max() <= 1.0


def test_tracking_follows_a_moving_person(model_files, tmp_path):
    """A video of a real frame shifted 6 px right per frame: tracked keypoints follow the shift."""
    from lift2d3d.detect import PoseDetector
    from lift2d3d.detect.sources import iter_video

    image = cv2.imread(str(DATA / IMAGES[0]))
    h, w = image.shape[:2]
    path = tmp_path / "shift.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
    for k in range(12):
        writer.write(cv2.warpAffine(image, np.float32([[1, 0, 6 * k], [0, 1, 0]]), (w, h),
                                    borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    detector = PoseDetector(models=model_files)
    frames = list(iter_video(path))
    assert len(frames) == 12
    results = [detector.process(f.image) for f in frames]
    assert [r.sources[0] for r in results[:2]] == ["detector", "tracking"]
    assert all(r.status == "ok" for r in results)
    hips = np.array([r.keypoints[0, [23, 24]].mean(axis=0) for r in results])
    shift = hips[:, 0] - hips[0, 0]
    assert np.allclose(shift, 6 * np.arange(12), atol=4.0), shift

    # MediaPipe-style smoothing lags behind the motion but follows it.
    smoothing = PoseDetector(models=model_files, smooth_landmarks=True)
    smooth = np.array([smoothing.process(f.image).keypoints[0, [23, 24]].mean(axis=0) for f in frames])
    lag = shift - (smooth[:, 0] - smooth[0, 0])
    assert lag[0] == 0 and np.all(lag[3:] > 0.5) and np.all(lag < 6 * np.arange(12) + 2), lag


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lift2d3d", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), cwd=Path(__file__).parents[1])


def test_cli_detect_writes_the_wide_csv_the_lifter_reads(model_files, tmp_path):
    from lift2d3d.io import read_keypoints

    folder = tmp_path / "in"
    folder.mkdir()
    for name in IMAGES[:2]:
        shutil.copy(DATA / name, folder / name)
    cv2.imwrite(str(folder / "empty.png"), np.full((240, 320), 128, np.uint8))   # grey, no one
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "keypoints.csv"
    proc = _cli("detect", str(folder), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "zz_broken.jpg" in proc.stderr and "not a readable image" in proc.stderr
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["source", "frame", "detect_status"]
    assert table["source"].tolist() == sorted([*IMAGES[:2], "empty.png", "zz_broken.jpg"])
    status = dict(zip(table["source"], table["detect_status"]))
    assert status["empty.png"] == "no_person" and status["zz_broken.jpg"] == "unreadable"
    oracle = np.array(ORACLE["images"][IMAGES[0]])
    row = table[table["source"] == IMAGES[0]].iloc[0]
    assert abs(row["left_wrist_x"] - oracle[15, 0]) < 0.05 * _torso(oracle)
    keypoints = read_keypoints(out)
    assert keypoints.skeleton.name == "coco17" and len(keypoints) == 4

    out33 = tmp_path / "kp33.csv"
    assert _cli("detect", str(DATA / IMAGES[1]), "-o", str(out33), "--format", "blazepose33").returncode == 0
    assert "left_foot_index_score" in pd.read_csv(out33).columns


def test_cli_detect_bad_input_messages(model_files, tmp_path):
    proc = _cli("detect", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "k.csv"))
    assert proc.returncode == 2 and "no such file" in proc.stderr
    assert not (tmp_path / "k.csv").exists()
    bad_video = tmp_path / "clip.mp4"
    bad_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    proc = _cli("detect", str(bad_video), "-o", str(tmp_path / "k.csv"))
    assert proc.returncode == 1 and "ffmpeg" in proc.stderr


def test_corrupt_cached_model_is_rebuilt_or_named(model_files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    target = cache / "models" / models.MODEL_ID
    shutil.copytree(Path(model_files["pose_detection"]).parent, target)
    monkeypatch.setenv("LIFT2D3D_CACHE_DIR", str(cache))
    with open(target / "pose_detection.onnx", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00" * 16)
    with pytest.raises(models.ModelError, match="corrupt"):
        models.check_models()
    if not models.build_dependencies_available():
        with pytest.raises(models.ModelError, match="models build --force"):
            models.model_paths()
        return
    paths = models.model_paths(log=lambda m: None)    # rebuilt from the wheel
    assert models.check_models() == paths


def test_two_people_get_a_person_column(model_files, tmp_path):
    two = np.hstack([cv2.imread(str(DATA / IMAGES[0])), cv2.imread(str(DATA / IMAGES[2]))])
    cv2.imwrite(str(tmp_path / "two.png"), two)
    out = tmp_path / "k.csv"
    proc = _cli("detect", str(tmp_path / "two.png"), "-o", str(out), "--max-people", "3")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["source", "frame", "person", "detect_status"]
    assert table["person"].tolist() == [0, 1]
    # One person on each half of the picture.
    assert sorted(table["left_hip_x"] > two.shape[1] / 2) == [False, True]


def test_cli_run_lifts_and_draws(model_files, tmp_path):
    from lift2d3d.bases import BasesFileError, ShapeBases
    try:
        ShapeBases.load("default")
    except (BasesFileError, FileNotFoundError, OSError) as exc:
        pytest.skip(f"shipped bases not available: {exc}")
    from lift2d3d.cli import main
    out, picture = tmp_path / "lifted.csv", tmp_path / "lifted.png"
    # In-process, so the lifter's numba kernels compiled by other tests are reused.
    assert main(["run", str(DATA / IMAGES[1]), "-o", str(out), "--overlay", str(picture), "-q"]) == 0
    lifted = pd.read_csv(out)
    assert lifted["status"].tolist() == ["ok"] or lifted["status"].tolist() == ["not_converged"]
    assert lifted["detect_status"].tolist() == ["ok"]
    z = lifted[[c for c in lifted.columns if c.endswith("_z")]].to_numpy()
    assert np.isfinite(z).all()
    image = cv2.imread(str(picture))
    assert image is not None and image.shape[1] == 3 * image.shape[0]


def _clip(tmp_path):
    """The fixture pictures, forth and back, as a 10 fps MP4 (one person)."""
    frames = [cv2.resize(cv2.imread(str(DATA / name)), (270, 480)) for name in IMAGES]
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (270, 480))
    for image in frames + frames[::-1]:
        writer.write(image)
    writer.release()
    return video


def test_cli_run_writes_a_video_overlay(model_files, tmp_path):
    """A video in, an MP4 out with one picture per input frame (3D panels at one scale)."""
    from lift2d3d.cli import main
    video = _clip(tmp_path)
    out, overlay = tmp_path / "lifted.csv", tmp_path / "overlay.mp4"
    assert main(["run", str(video), "-o", str(out), "--overlay", str(overlay), "-q"]) == 0
    lifted = pd.read_csv(out)
    assert len(lifted) == 2 * len(IMAGES)
    capture = cv2.VideoCapture(str(overlay))
    n_frames = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        n_frames += 1
        assert image.shape[1] == 3 * image.shape[0]
    assert n_frames == 2 * len(IMAGES)


def test_cli_run_sequence_lifts_a_video_as_one_person(model_files, tmp_path):
    """--sequence: the video's frames share one person's bone proportions, so their proportions
    vary less from frame to frame than the per-frame lifts'."""
    from lift2d3d import Lifter
    from lift2d3d.cli import main
    video = _clip(tmp_path)
    single, sequence = tmp_path / "single.csv", tmp_path / "sequence.csv"
    assert main(["run", str(video), "-o", str(single), "-q"]) == 0
    assert main(["run", str(video), "-o", str(sequence), "--sequence", "-q"]) == 0
    skeleton = Lifter().skeleton
    edges = np.array(skeleton.edge_indices())

    def spread(path):
        table = pd.read_csv(path)
        assert (table["status"] == "ok").all()
        xyz = np.stack([table[[f"{j}_{a}" for j in skeleton.joints]].to_numpy() for a in "xyz"], axis=-1)
        lengths = np.linalg.norm(xyz[:, edges[:, 0]] - xyz[:, edges[:, 1]], axis=-1)
        return (lengths / lengths.sum(axis=1, keepdims=True)).std(axis=0).mean()

    assert spread(sequence) < 0.7 * spread(single)
