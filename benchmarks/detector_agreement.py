"""Detector benchmark: agreement with MediaPipe, multi-view sanity, throughput.

Data: the pose2sim wheel on PyPI (``Pose2Sim/Demo_SinglePerson``: four
calibrated 1080x1920 videos of one person, 100 frames each, Qualisys
calibration ``Calib.qca.txt``), downloaded with pip into ``--data``.

1. Agreement.  Every frame of the four videos goes through our ONNX pipeline
   and through MediaPipe's own Pose solution (``mediapipe==0.10.14``,
   ``model_complexity=1``, ``smooth_landmarks=False``: we reproduce the
   unsmoothed landmarks; both track the person the same way) in a separate
   interpreter that has mediapipe (``--oracle-python``; mediapipe 0.10.14
   needs NumPy 1.x).  Both see the *same decoded pixels* (our decoder's
   frames, saved as .npy): OpenCV builds decode VP9 differently by up to 21
   grey levels, which alone moves landmarks by ~1% of the torso.  Distance
   per landmark divided by the oracle's torso height (mid-shoulders to
   mid-hips); median and 95th percentile over all frames and the 33 landmarks
   (and over the 17 COCO joints).  Targets: median <= 2%, p95 <= 5%.
2. Multi-view.  Our 2D keypoints from the 4 calibrated cameras are
   triangulated (undistorted, score-weighted DLT, excluding per joint the
   cameras whose reprojection error exceeds 50 px, as Pose2Sim does; the
   plain all-view DLT is reported too) to 3D; each single view is
   lifted with ``Lifter`` (weak perspective, shipped bases) and compared with
   the triangulation after Procrustes alignment (PA-MPJPE, mm, 12 limb
   joints).  Target: <= 60 mm.
3. Throughput of ``detect`` (decode + detector/tracking + landmarks) on the
   1080x1920 ``cam01.mp4``, one thread and all threads.

Run (about 3 minutes on 2 cores)::

    python benchmarks/detector_agreement.py --oracle-python /work/oracle-venv/bin/python

The oracle environment: ``python -m venv /work/oracle-venv &&
/work/oracle-venv/bin/pip install mediapipe==0.10.14 "numpy<2" "opencv-python-headless<4.11"``.
``--skip-oracle`` / ``--skip-multiview`` / ``--skip-throughput`` leave parts out;
``--smooth`` compares with landmark smoothing on both sides (MediaPipe's default).

The same file is the oracle worker: ``python detector_agreement.py oracle
FRAMES.npy OUT.npy [--static]`` (imports only numpy and mediapipe).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

POSE2SIM_VERSION = "0.10.49"
DEMO = "Pose2Sim/Demo_SinglePerson"
CAMERAS = ("cam01", "cam02", "cam03", "cam04")


# ----------------------------------------------------------------------------- oracle worker

def oracle_main(argv) -> int:
    """Run MediaPipe Pose on frames saved as (N, H, W, 3) BGR uint8 .npy; save (N, 33, 4)."""
    import mediapipe as mp
    parser = argparse.ArgumentParser()
    parser.add_argument("frames")
    parser.add_argument("out")
    parser.add_argument("--static", action="store_true")
    parser.add_argument("--smooth", action="store_true", help="smooth_landmarks=True")
    args = parser.parse_args(argv)
    frames = np.load(args.frames, mmap_mode="r")
    pose = mp.solutions.pose.Pose(static_image_mode=args.static, model_complexity=1, smooth_landmarks=args.smooth,
                                  enable_segmentation=False, min_detection_confidence=0.5,
                                  min_tracking_confidence=0.5)
    out = np.full((len(frames), 33, 4), np.nan)
    start = time.perf_counter()
    for i, bgr in enumerate(frames):
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        h, w = rgb.shape[:2]
        result = pose.process(rgb)
        if result.pose_landmarks is not None:
            out[i] = [[lm.x * w, lm.y * h, lm.visibility, lm.presence] for lm in result.pose_landmarks.landmark]
    elapsed = time.perf_counter() - start
    np.save(args.out, out)
    # Frames/s of MediaPipe itself on already-decoded frames, for comparison.
    Path(args.out + ".json").write_text(json.dumps({"fps": len(frames) / elapsed}))
    return 0


# ----------------------------------------------------------------------------- data

def demo_dir(data: Path) -> Path:
    """Extract the demo videos and calibration from the pose2sim wheel (pip download)."""
    target = data / f"pose2sim-{POSE2SIM_VERSION}"
    if (target / DEMO / "calibration" / "Calib.qca.txt").is_file():
        return target / DEMO
    data.mkdir(parents=True, exist_ok=True)
    wheels = list(data.glob(f"pose2sim-{POSE2SIM_VERSION}-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", f"pose2sim=={POSE2SIM_VERSION}", "--no-deps",
                        "-d", str(data)], check=True, capture_output=True)
        wheels = list(data.glob(f"pose2sim-{POSE2SIM_VERSION}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as archive:
        for name in archive.namelist():
            if name.startswith(f"{DEMO}/videos/") or name == f"{DEMO}/calibration/Calib.qca.txt":
                archive.extract(name, target)
    return target / DEMO


def read_frames(video: Path) -> np.ndarray:
    import cv2
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return np.stack(frames)


def read_qca(path: Path) -> dict:
    """Qualisys calibration -> {camera: (K, dist, R, t)} with x_cam = R x_world + t (metres).

    Follows Pose2Sim's reading: intrinsics in 1/64 sub-pixels, the transform
    is the camera pose in the world, and Qualisys' camera frame is OpenCV's
    turned by 180 degrees about x.
    """
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    cameras = {}
    for cam in root.findall("cameras/camera"):
        fov = cam.find("fov_video").attrib
        intr = cam.find("intrinsic").attrib
        tr = cam.find("transform").attrib
        f = lambda k: float(intr[k])  # noqa: E731
        K = np.array([[f("focalLengthU") / 64, 0, f("centerPointU") / 64 - float(fov["left"])],
                      [0, f("focalLengthV") / 64, f("centerPointV") / 64 - float(fov["top"])], [0, 0, 1]])
        dist = np.array([f("radialDistortion1"), f("radialDistortion2"), f("tangentalDistortion1"),
                         f("tangentalDistortion2")]) / 64
        M = np.array([[float(tr[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
        position = np.array([float(tr["x"]), float(tr["y"]), float(tr["z"])]) / 1000
        flip = np.diag([1.0, -1.0, -1.0])
        R = flip @ M
        cameras[cam.attrib["serial"]] = (K, dist, R, -R @ position)
    return cameras


def triangulate(points: np.ndarray, weights: np.ndarray, cameras: list,
                max_reprojection_px: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score-weighted DLT, optionally excluding cameras that disagree.

    points : (n_views, N, P, 2) pixels; weights : (n_views, N, P); views with
    a weight below 0.3 are not used.  With ``max_reprojection_px`` each joint
    is triangulated from the largest subset of its views (at least 2) whose
    worst reprojection error is below the threshold, the lowest worst error
    breaking ties, as Pose2Sim's triangulation excludes cameras; a joint with
    no such subset is NaN.  Without it every usable view is used.

    Returns X (N, P, 3) metres (NaN with fewer than 2 views), the mean
    reprojection error over the views used (N, P) pixels, and the number of
    views used (N, P).
    """
    import itertools

    import cv2
    n_views, n, p, _ = points.shape
    norm = np.empty_like(points)
    projections, rvecs = [], []
    for v, (K, dist, R, t) in enumerate(cameras):
        und = cv2.undistortPoints(points[v].reshape(-1, 1, 2).astype(np.float64), K, dist)
        norm[v] = und.reshape(n, p, 2)
        projections.append(np.hstack([R, t[:, None]]))
        rvecs.append(cv2.Rodrigues(R)[0])

    def solve(i, j, views):
        rows = []
        for v in views:
            x, y = norm[v, i, j]
            rows += [weights[v, i, j] * (x * projections[v][2] - projections[v][0]),
                     weights[v, i, j] * (y * projections[v][2] - projections[v][1])]
        _, _, vt = np.linalg.svd(np.array(rows))
        X = vt[-1, :3] / vt[-1, 3]
        errors = [np.linalg.norm(cv2.projectPoints(X[None], rvecs[v], cameras[v][3], cameras[v][0],
                                                   cameras[v][1])[0].ravel() - points[v, i, j]) for v in views]
        return X, errors

    X = np.full((n, p, 3), np.nan)
    err = np.full((n, p), np.nan)
    used = np.zeros((n, p), dtype=int)
    for i in range(n):
        for j in range(p):
            usable = [v for v in range(n_views)
                      if weights[v, i, j] > 0.3 and np.isfinite(norm[v, i, j]).all()]
            if len(usable) < 2:
                continue
            if max_reprojection_px is None:
                X[i, j], errors = solve(i, j, usable)
                err[i, j], used[i, j] = np.mean(errors), len(usable)
                continue
            best = None
            for size in range(len(usable), 1, -1):
                for views in itertools.combinations(usable, size):
                    point, errors = solve(i, j, views)
                    if max(errors) < max_reprojection_px and (best is None or max(errors) < best[0]):
                        best = (max(errors), point, np.mean(errors), size)
                if best is not None:
                    break
            if best is not None:
                _, X[i, j], err[i, j], used[i, j] = best
    return X, err, used


def bone_length_variation(X3: np.ndarray, skeleton) -> float:
    """Median over bones of the coefficient of variation of the bone's length over frames.

    A rigid skeleton's bones keep their length, so this measures how
    self-consistent a triangulated reference is, independently of any lifter.
    """
    lengths = np.stack([np.linalg.norm(X3[:, a] - X3[:, b], axis=1) for a, b in skeleton.edge_indices()], axis=1)
    return float(np.nanmedian(np.nanstd(lengths, axis=0) / np.nanmean(lengths, axis=0)))


def procrustes_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean joint distance (P, 3) after the best similarity transform of ``pred`` onto ``ref`` (PA-MPJPE)."""
    from lift2d3d.evaluation import pa_mpjpe

    return float(pa_mpjpe(pred[None], ref[None])[0])


# ----------------------------------------------------------------------------- parts

def run_ours(frames: np.ndarray, detector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoints (N, 33, 2), scores (N, 33) and the model's world landmarks (N, 33, 3)."""
    detector.reset()
    kp = np.full((len(frames), 33, 2), np.nan)
    sc = np.zeros((len(frames), 33))
    world = np.full((len(frames), 33, 3), np.nan)
    for i, frame in enumerate(frames):
        result = detector.process(frame)
        if result.n_people:
            kp[i], sc[i], world[i] = result.keypoints[0], result.scores[0], result.world[0]
    return kp, sc, world


def agreement(ours: np.ndarray, oracle: np.ndarray) -> dict:
    from lift2d3d.skeletons import get_skeleton
    mid = lambda a, b: (oracle[:, a, :2] + oracle[:, b, :2]) / 2  # noqa: E731
    torso = np.linalg.norm(mid(11, 12) - mid(23, 24), axis=1)
    rel = np.linalg.norm(ours - oracle[..., :2], axis=2) / torso[:, None]
    blaze = get_skeleton("blazepose33").joints
    coco = [blaze.index(j) for j in get_skeleton("coco17").joints]
    both = np.isfinite(rel[:, 0])
    return {"frames": int(len(rel)), "frames_compared": int(both.sum()),
            "missing_ours": int(np.isnan(ours[:, 0, 0]).sum()),
            "missing_oracle": int(np.isnan(oracle[:, 0, 0]).sum()),
            "median_pct": 100 * float(np.nanmedian(rel)), "p95_pct": 100 * float(np.nanpercentile(rel, 95)),
            "coco17_median_pct": 100 * float(np.nanmedian(rel[:, coco])),
            "coco17_p95_pct": 100 * float(np.nanpercentile(rel[:, coco], 95)),
            "_rel": rel}


#: Camera exclusion threshold of the multi-view reference, pixels (1080x1920 views).  Chosen by
#: the reference's own consistency, not by the lifter: on the demo, the median bone-length
#: variation over frames is 0.125 with every view, 0.30 / 0.073 / 0.057 / 0.059 / 0.118 with
#: thresholds 15 / 30 / 50 / 80 / 120 px (tight thresholds leave two-view joints, which agree
#: with any two rays).
REFERENCE_MAX_REPROJECTION_PX = 50.0


def multiview(keypoints: dict, scores: dict, calib: dict, bases: str, world: dict | None = None) -> dict:
    """Single-view lifts against 4-camera triangulations of the same 2D keypoints.

    Two references: every usable view per joint (plain DLT), and camera
    exclusion (:data:`REFERENCE_MAX_REPROJECTION_PX`).  Also reports, per
    view, the frames whose detected left/right labels are swapped (the
    swapped 2D keypoints are closer to the reference's reprojection).  With
    ``world`` (the landmark model's own hip-centred 3D, per view), scores it
    against the same reference: a learned single-view 3D estimate from the
    same network, for scale.
    """
    import cv2

    from lift2d3d.detect.table import to_skeleton
    from lift2d3d.lifter import Lifter
    from lift2d3d.mapping import map_keypoints
    from lift2d3d.skeletons import LIMB_JOINTS, get_skeleton

    cams = [c for c in CAMERAS if c in keypoints]
    cameras = [calib[c] for c in cams]
    n = min(len(keypoints[c]) for c in cams)
    coco = {c: to_skeleton(keypoints[c][:n], scores[c][:n], "coco17") for c in cams}
    pts = np.stack([coco[c][0] for c in cams])
    wts = np.stack([coco[c][1] for c in cams])
    lifter = Lifter(bases=bases)
    body = lifter.skeleton
    limbs = [body.index(j) for j in LIMB_JOINTS]
    lifts = {c: lifter.lift(*map_keypoints(coco[c][0], coco[c][1], "coco17", body)).joints3d for c in cams}

    def to_body(points3d, fmt, confidence):
        out = np.full(points3d.shape[:1] + (body.n_joints, 3), np.nan)
        for a in range(3):  # map_keypoints takes 2D points: map one axis at a time
            tmp = np.repeat(points3d[..., a:a + 1], 2, axis=-1)
            out[..., a] = map_keypoints(tmp, confidence, fmt, body)[0][..., 0]
        return out

    def score(X):
        # The triangulated coco17 joints mapped like the 2D ones (pelvis = mid-hips, head = mid-ears).
        X3 = to_body(X, "coco17", np.isfinite(X[..., 0]).astype(float))
        complete = np.isfinite(X3).all(axis=(1, 2))
        per_view, errors_all, errors_clean = {}, [], []
        for c, (K, dist, R, t) in zip(cams, cameras):
            errors = [1000 * procrustes_error(pred[limbs], ref[limbs]) for pred, ref in zip(lifts[c], X3)
                      if np.isfinite(ref[limbs]).all() and np.isfinite(pred[limbs]).all()]
            per_view[c] = float(np.mean(errors)) if errors else float("nan")
            errors_all += errors
            # The same lift from noise-free 2D (the triangulation projected into this camera)
            # separates the lifter's share of the error from the detector's.
            clean = cv2.projectPoints(X3[complete].reshape(-1, 3), cv2.Rodrigues(R)[0], t, K, None)[0]
            lifted_clean = lifter.lift(clean.reshape(-1, body.n_joints, 2)).joints3d
            errors_clean += [1000 * procrustes_error(p[limbs], r[limbs])
                             for p, r in zip(lifted_clean, X3[complete]) if np.isfinite(p).all()]
        figures = {"pa_mpjpe_mm": float(np.mean(errors_all)), "pa_mpjpe_mm_per_view": per_view,
                   "pa_mpjpe_mm_noise_free_2d": float(np.mean(errors_clean)),
                   "frames_compared": int(len(errors_all)), "bone_length_variation": bone_length_variation(X3, body)}
        if world is not None:
            errors = [1000 * procrustes_error(pred[limbs], ref[limbs]) for c in cams
                      for pred, ref in zip(to_body(world[c][:n], "blazepose33", scores[c][:n]), X3)
                      if np.isfinite(ref[limbs]).all() and np.isfinite(pred[limbs]).all()]
            figures["pa_mpjpe_mm_model_world_landmarks"] = float(np.mean(errors))
        return figures

    X_plain, reproj_plain, _ = triangulate(pts, wts, cameras)
    X, reproj, used = triangulate(pts, wts, cameras, REFERENCE_MAX_REPROJECTION_PX)
    out = score(X)
    out.update(frames=n, bases=bases, reference=f"camera exclusion at {REFERENCE_MAX_REPROJECTION_PX:g} px",
               triangulation_reprojection_px_median=float(np.nanmedian(reproj)),
               views_per_joint_mean=float(used[used > 0].mean()))
    out["plain_dlt"] = score(X_plain)
    out["plain_dlt"]["triangulation_reprojection_px_median"] = float(np.nanmedian(reproj_plain))
    swap = get_skeleton("coco17").mirror_permutation()
    out["frames_with_swapped_labels"] = {}
    for v, (c, (K, dist, R, t)) in enumerate(zip(cams, cameras)):
        ok = np.isfinite(X[..., 0])
        proj = cv2.projectPoints(np.nan_to_num(X).reshape(-1, 3), cv2.Rodrigues(R)[0], t, K, dist)[0]
        proj = proj.reshape(X.shape[:2] + (2,))
        as_is = np.nanmean(np.where(ok, np.linalg.norm(pts[v] - proj, axis=-1), np.nan), axis=1)
        swapped = np.nanmean(np.where(ok, np.linalg.norm(pts[v][:, swap] - proj, axis=-1), np.nan), axis=1)
        out["frames_with_swapped_labels"][c] = int(np.sum(swapped < as_is))
    return out


def throughput(video: Path, n_threads) -> tuple[float, float]:
    """Frames/s of detect on ``video``: decoding included, and on already-decoded frames."""
    import cv2

    from lift2d3d.detect import PoseDetector
    from lift2d3d.detect.sources import iter_video
    if n_threads == 1:
        cv2.setNumThreads(1)
    detector = PoseDetector(n_threads=n_threads)
    detector.process(read_frames(video)[0])     # warm-up: session initialisation
    detector.reset()
    start = time.perf_counter()
    count = 0
    for frame in iter_video(video):
        detector.process(frame.image)
        count += 1
    with_decoding = count / (time.perf_counter() - start)
    frames = read_frames(video)
    detector.reset()
    start = time.perf_counter()
    for frame in frames:
        detector.process(frame)
    decoded = len(frames) / (time.perf_counter() - start)
    cv2.setNumThreads(-1)
    return with_decoding, decoded


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "oracle":
        return oracle_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "lift2d3d-bench-data"),
                        help="where the pose2sim wheel is downloaded and extracted")
    parser.add_argument("--oracle-python", default="/work/oracle-venv/bin/python")
    parser.add_argument("--bases", default="default", help="bases for the multi-view lift")
    parser.add_argument("--smooth", action="store_true",
                        help="compare with landmark smoothing on both sides (MediaPipe's default)")
    parser.add_argument("--skip-oracle", action="store_true")
    parser.add_argument("--skip-multiview", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    from lift2d3d.detect import PoseDetector
    demo = demo_dir(Path(args.data))
    figures = {"data": f"pose2sim=={POSE2SIM_VERSION} {DEMO}"}
    detector = PoseDetector(smooth_landmarks=args.smooth)
    figures["smooth_landmarks"] = args.smooth
    keypoints, scores, world, rels = {}, {}, {}, []
    with tempfile.TemporaryDirectory(prefix="lift2d3d-bench-") as tmp:
        for cam in CAMERAS:
            frames = read_frames(demo / "videos" / f"{cam}.mp4")
            keypoints[cam], scores[cam], world[cam] = run_ours(frames, detector)
            if args.skip_oracle:
                continue
            frames_file = Path(tmp) / f"{cam}.npy"
            np.save(frames_file, frames)
            del frames
            oracle_file = Path(tmp) / f"{cam}_oracle.npy"
            subprocess.run([args.oracle_python, os.path.abspath(__file__), "oracle", str(frames_file),
                            str(oracle_file)] + (["--smooth"] if args.smooth else []), check=True,
                           capture_output=True)
            stats = agreement(keypoints[cam], np.load(oracle_file))
            stats["oracle_fps_decoded_frames"] = json.loads(Path(str(oracle_file) + ".json").read_text())["fps"]
            rels.append(stats.pop("_rel"))
            figures[f"agreement_{cam}"] = stats
            print(f"{cam}: median {stats['median_pct']:.2f}% p95 {stats['p95_pct']:.2f}% of torso height "
                  f"({stats['frames_compared']} frames; MediaPipe itself "
                  f"{stats['oracle_fps_decoded_frames']:.1f} frames/s on decoded frames)", flush=True)
            frames_file.unlink()
    if rels:
        from lift2d3d.skeletons import get_skeleton
        blaze = get_skeleton("blazepose33").joints
        coco = [blaze.index(j) for j in get_skeleton("coco17").joints]
        rel = np.concatenate(rels)
        figures["agreement_all"] = {"median_pct": 100 * float(np.nanmedian(rel)),
                                    "p95_pct": 100 * float(np.nanpercentile(rel, 95)),
                                    "coco17_median_pct": 100 * float(np.nanmedian(rel[:, coco])),
                                    "coco17_p95_pct": 100 * float(np.nanpercentile(rel[:, coco], 95)),
                                    "frames": int(np.isfinite(rel[:, 0]).sum())}
        print(f"AGREEMENT with MediaPipe 0.10.14 (4 videos, 33 landmarks): median "
              f"{figures['agreement_all']['median_pct']:.2f}% (target <= 2%), p95 "
              f"{figures['agreement_all']['p95_pct']:.2f}% (target <= 5%) of torso height; 17 COCO joints: "
              f"median {figures['agreement_all']['coco17_median_pct']:.2f}%, p95 "
              f"{figures['agreement_all']['coco17_p95_pct']:.2f}%", flush=True)
    if not args.skip_multiview:
        try:
            mv = multiview(keypoints, scores, read_qca(demo / "calibration" / "Calib.qca.txt"), args.bases,
                           world)
        except Exception as exc:  # the lifter or its bases may be unavailable
            print(f"MULTIVIEW: not run ({type(exc).__name__}: {exc})")
        else:
            figures["multiview"] = mv
            plain = mv["plain_dlt"]
            print(f"MULTIVIEW: PA-MPJPE single-view lift vs 4-camera triangulation of our 2D keypoints: "
                  f"{mv['pa_mpjpe_mm']:.1f} mm over the 12 limb joints (target <= 60 mm); per view "
                  + ", ".join(f"{k} {v:.1f}" for k, v in mv["pa_mpjpe_mm_per_view"].items())
                  + f"; reference: {mv['reference']} ({mv['views_per_joint_mean']:.2f} views per joint, "
                  f"reprojection median {mv['triangulation_reprojection_px_median']:.1f} px, bone-length "
                  f"variation {mv['bone_length_variation']:.3f}); lifting the reference's own projections "
                  f"(noise-free 2D) gives {mv['pa_mpjpe_mm_noise_free_2d']:.1f} mm (the lifter's share); the landmark "
                  f"model's own world landmarks score {mv['pa_mpjpe_mm_model_world_landmarks']:.1f} mm\n"
                  f"  with every view in the reference (plain DLT): {plain['pa_mpjpe_mm']:.1f} mm (per view "
                  + ", ".join(f"{k} {v:.1f}" for k, v in plain["pa_mpjpe_mm_per_view"].items())
                  + f"; reprojection median {plain['triangulation_reprojection_px_median']:.1f} px, bone-length "
                  f"variation {plain['bone_length_variation']:.3f}; noise-free 2D "
                  f"{plain['pa_mpjpe_mm_noise_free_2d']:.1f} mm; world landmarks "
                  f"{plain['pa_mpjpe_mm_model_world_landmarks']:.1f} mm)\n"
                  f"  frames whose detected left/right labels are swapped: "
                  + ", ".join(f"{k} {v}" for k, v in mv["frames_with_swapped_labels"].items()),
                  flush=True)
    if not args.skip_throughput:
        video = demo / "videos" / "cam01.mp4"
        one, one_decoded = throughput(video, 1)
        every, every_decoded = throughput(video, os.cpu_count())
        figures["throughput_fps"] = {"single_thread": one, "all_threads": every,
                                     "single_thread_decoded_frames": one_decoded,
                                     "all_threads_decoded_frames": every_decoded, "cpus": os.cpu_count(),
                                     "video": "cam01.mp4 1080x1920, 100 frames"}
        print(f"THROUGHPUT detect on cam01.mp4 (1080x1920), frames/s with video decoding: {one:.1f} single "
              f"thread, {every:.1f} all {os.cpu_count()} threads; on decoded frames: {one_decoded:.1f} and "
              f"{every_decoded:.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
