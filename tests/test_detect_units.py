"""Detector pieces that need no model: anchors, crops, decoding, filter, files, cache checks."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lift2d3d.detect import decode, models
from lift2d3d.detect.anchors import ssd_anchor_centres
from lift2d3d.detect.filters import OneEuroFilter
from lift2d3d.detect.pose import MAX_PIXELS, as_bgr
from lift2d3d.detect.roi import (Roi, crop, crop_matrix, pad_roi_to_aspect, project, remove_letterbox,
                                 roi_from_alignment_points)
from lift2d3d.detect.sources import iter_media, list_media, read_image
from lift2d3d.detect.table import columns_for, rows_for_frame, rows_to_table, to_skeleton

DATA = Path(__file__).parent / "data"


def test_anchor_layout_matches_the_model_output_count():
    centres = ssd_anchor_centres()
    assert centres.shape == (2254, 2)
    # Stride-8 layer first: 28x28 locations x 2 anchors, row-major, offset half a cell.
    assert np.allclose(centres[0], [0.5 / 28, 0.5 / 28])
    assert np.allclose(centres[2], [1.5 / 28, 0.5 / 28])
    # The last 294 anchors are the shared 7x7 map of the three stride-32 layers (6 per cell).
    assert np.allclose(centres[-1], [6.5 / 7, 6.5 / 7])
    assert np.allclose(centres[-6], centres[-1])


@pytest.mark.parametrize("rotation", [0.0, 0.4, -2.0])
def test_project_inverts_the_crop_warp(rotation):
    roi = Roi(center=(300.0, 500.0), width=240.0, height=240.0, rotation=rotation)
    crop_points = np.array([[0.1, 0.2], [0.9, 0.5], [0.5, 0.5], [0.0, 1.0]])
    image_points = project(crop_points, roi)
    back = cv2.perspectiveTransform(image_points[None], crop_matrix(roi, 256, 256))[0] / 256
    assert np.allclose(back, crop_points, atol=1e-6)


def test_crop_rotates_the_body_axis_upright():
    # A bright vertical bar through start->end, tilted 30 degrees, must come out vertical.
    image = np.zeros((400, 400, 3), np.uint8)
    start, end = np.array([200.0, 250.0]), np.array([200.0 + 100 * np.sin(0.5), 250.0 - 100 * np.cos(0.5)])
    cv2.line(image, tuple(start.astype(int)), tuple(end.astype(int)), (255, 255, 255), 5)
    roi = roi_from_alignment_points(start, end)
    assert roi.width == pytest.approx(2 * 100 * 1.25, rel=1e-6)
    out = crop(image, roi, 256, 256)
    cols = np.nonzero(out[:, :, 0].max(axis=0) > 128)[0]
    rows = np.nonzero(out[:, :, 0].max(axis=1) > 128)[0]
    assert cols.max() - cols.min() < 12          # a thin vertical bar ...
    assert rows.min() < 128 - 40 and rows.max() >= 127   # ... from the centre upwards
    assert abs(cols.mean() - 128) < 3


def test_letterbox_round_trip():
    roi, padding = pad_roi_to_aspect(Roi((540.0, 960.0), 1080.0, 1920.0), 224, 224)
    assert roi.width == roi.height == 1920.0
    assert padding[0] == pytest.approx((1 - 1080 / 1920) / 2)
    # The image's left edge sits at the padding fraction of the square tensor.
    assert np.allclose(remove_letterbox(np.array([[padding[0], 0.5]]), padding), [[0.0, 0.5]])


def test_decode_detections_and_weighted_nms():
    anchors = np.array([[0.5, 0.5], [0.52, 0.5], [0.1, 0.1]])
    raw = np.zeros((3, 12))
    raw[:, 2:4] = 0.2 * 224                      # 0.2-wide boxes
    raw[:, 4:6] = [0.0, 0.1 * 224]               # keypoint 0 below the anchor
    logits = np.array([3.0, 1.0, -5.0])          # third below threshold
    boxes, kps, scores = decode.decode_detections(raw, logits, anchors, min_score=0.5)
    assert len(scores) == 2 and np.allclose(kps[0, 0], [0.5, 0.6])
    merged_boxes, merged_kps, merged_scores = decode.weighted_nms(boxes, kps, scores, 0.3)
    assert len(merged_scores) == 1 and merged_scores[0] == pytest.approx(decode.sigmoid(3.0))
    w = decode.sigmoid(np.array([3.0, 1.0]))
    assert merged_kps[0, 0, 0] == pytest.approx((0.5 * w[0] + 0.52 * w[1]) / w.sum())


def test_refine_from_heatmap_moves_to_the_peak_and_skips_low_confidence():
    heatmap = np.full((64, 64, 2), -10.0)
    heatmap[20, 30, 0] = 10.0                    # sharp peak for landmark 0
    landmarks = np.array([[31.0 / 64, 21.0 / 64], [10 / 64, 10 / 64]])
    out = decode.refine_from_heatmap(landmarks, heatmap)
    assert out[0, 0] == pytest.approx(30 / 64, abs=1e-3) and out[0, 1] == pytest.approx(20 / 64, abs=1e-3)
    assert np.array_equal(out[1], landmarks[1])  # no confident cell near landmark 1


def test_one_euro_filter_holds_a_still_point_and_follows_a_jump_partly():
    f = OneEuroFilter(min_cutoff=0.01, beta=10.0)
    points = np.array([[100.0, 200.0], [100.0, 100.0]])
    assert np.array_equal(f(points, 33333, object_scale=200), points)
    assert np.allclose(f(points, 66666, object_scale=200), points)
    moved = f(points + 50, 99999, object_scale=200)
    assert np.all(moved > points) and np.all(moved < points + 50)
    f.reset()
    assert np.array_equal(f(points + 50, 133332, object_scale=200), points + 50)


def test_as_bgr_accepts_gray_rgba_and_16_bit_and_refuses_bad_input():
    gray = np.full((10, 12), 7, np.uint8)
    assert as_bgr(gray).shape == (10, 12, 3)
    assert as_bgr(np.zeros((10, 12, 4), np.uint8)).shape == (10, 12, 3)
    assert as_bgr(np.full((4, 4, 3), 65535, np.uint16)).max() == 255
    with pytest.raises(ValueError, match="uint8"):
        as_bgr(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        as_bgr(np.zeros((4, 4, 3, 2), np.uint8))
    with pytest.raises(ValueError, match="scale it down"):
        as_bgr(np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (MAX_PIXELS // 1000 + 1, 1000), (0, 0)))


def test_sources_report_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        list_media(tmp_path / "nope.jpg")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="holds no image"):
        list_media(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    cv2.imwrite(str(tmp_path / "ok.png"), np.zeros((8, 8, 4), np.uint8))
    frames = list(iter_media(tmp_path))
    by_name = {f.source: f for f in frames}
    assert set(by_name) == {"broken.jpg", "broken.mp4", "ok.png"}
    assert by_name["broken.jpg"].image is None and "re-export it" in by_name["broken.jpg"].error
    assert by_name["broken.mp4"].image is None and "ffmpeg" in by_name["broken.mp4"].error
    assert by_name["ok.png"].image.shape == (8, 8, 4)      # RGBA kept for the detector to convert
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(tmp_path / "broken.jpg")


def test_table_rows_keep_frames_without_a_pose():
    class Empty:
        n_people = 0
        status = "no_person"
    rows = rows_for_frame("a.jpg", 0, Empty(), "coco17")
    table = rows_to_table(rows, "coco17")
    assert list(table.columns) == columns_for("coco17", with_person=False)
    assert table["detect_status"].tolist() == ["no_person"] and table["nose_x"].isna().all()


def test_to_skeleton_picks_the_coco_landmarks():
    kp = np.arange(33 * 2, dtype=float).reshape(1, 33, 2)
    sc = np.linspace(0.1, 0.9, 33)[None]
    coco, coco_scores = to_skeleton(kp, sc, "coco17")
    assert coco.shape == (1, 17, 2)
    assert np.array_equal(coco[0, 0], kp[0, 0])            # nose
    assert np.array_equal(coco[0, 5], kp[0, 11])           # left shoulder
    assert coco_scores[0, 16] == pytest.approx(sc[0, 28])  # right ankle


# -- model cache checks (no model build needed) ---------------------------------------------

def _fake_cache(root: Path) -> Path:
    directory = root / "models" / models.MODEL_ID
    directory.mkdir(parents=True)
    manifest = {"manifest_version": models.MANIFEST_VERSION, "wheel_sha256": models.WHEEL_SHA256, "models": {}}
    for name, (member, sha) in models.SOURCES.items():
        path = directory / f"{name}.onnx"
        path.write_bytes(name.encode() * 100)
        manifest["models"][name] = {"file": path.name, "tflite_sha256": sha,
                                    "onnx_sha256": models.sha256_file(path)}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_missing_models_error_gives_the_build_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFT2D3D_CACHE_DIR", str(tmp_path))
    with pytest.raises(models.ModelError, match="lift2d3d models build"):
        models.check_models()


def test_corrupt_model_is_detected_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFT2D3D_CACHE_DIR", str(tmp_path))
    directory = _fake_cache(tmp_path)
    assert set(models.check_models()) == set(models.SOURCES)
    path = directory / "pose_landmark_full.onnx"
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(models.ModelError, match=r"corrupt.*models build --force"):
        models.check_models()
    (directory / "manifest.json").write_text("{not json")
    with pytest.raises(models.ModelError, match="Unreadable model manifest"):
        models.check_models()


def test_wheel_with_wrong_hash_is_refused(tmp_path):
    fake = tmp_path / models.WHEEL_FILE
    fake.write_bytes(b"PK not the wheel")
    with pytest.raises(models.ModelError, match="SHA-256"):
        models.extract_tflite(fake, tmp_path)


def test_offline_download_names_the_fix(tmp_path, monkeypatch):
    # A real pip call that cannot reach any index (what an offline machine sees).
    monkeypatch.setattr(models, "PIP_DOWNLOAD", ["download", "mediapipe==0.10.14", "--no-deps", "--no-index",
                                                 "--find-links", str(tmp_path)])
    with pytest.raises(models.ModelError, match=r"(?s)Could not download.*models build --wheel PATH"):
        models.download_wheel(tmp_path, log=lambda m: None)


def test_models_status_command_reports_a_missing_build(tmp_path, monkeypatch, capsys):
    from lift2d3d.cli import main
    monkeypatch.setenv("LIFT2D3D_CACHE_DIR", str(tmp_path))
    assert main(["models", "status"]) == 1
    assert "lift2d3d models build" in capsys.readouterr().err
    _fake_cache(tmp_path)
    assert main(["models", "status"]) == 0
    assert "models OK" in capsys.readouterr().out
