"""Temporal lifting against per-frame lifting on MoCap videos: accuracy, jitter and speed.

Clips of ``--length`` consecutive frames (resampled to ``--fps``) are cut at
random from the takes; each clip is seen by one fixed camera (azimuth 0-360
deg, elevation -15..35 deg, roll +-8 deg, 3-6 m from the clip's mean pelvis,
a pinhole of focal 1000 px; the person moves in the image), with
``--noise`` px of Gaussian noise and a fraction ``--missing`` of the joints
missing.  ``--swaps`` swaps the left and right arms or legs in that fraction
of the frames, as 2D detectors do now and then.  Every clip is lifted frame
by frame (``Lifter.lift``) and as one person's sequence
(``Lifter.lift_sequence`` with each ``--setting``), and scored over the 12
limb joints:

* PA-MPJPE (similarity Procrustes per frame) and the camera-frame error
  (scale and translation aligned per frame: a depth flip or a wrong rotation
  stays wrong), mm;
* the acceleration error (VideoPose3D's, mm/frame^2): the mean over joints
  and inner frames of ``|(x_{t+1} - 2 x_t + x_{t-1}) - (same for the truth)|``,
  both centred on their limb joints' mean each frame, the lift scaled to the
  truth by one factor per clip.

``--speed N`` also times ``lift_sequence`` (and ``lift``) on one synthetic
video of N frames on one core (``n_threads=1``; run with
``NUMBA_NUM_THREADS=1``): frames per second, after a warm-up.

Data: ``--deepmimic-dir`` (DeepMimic motion files, ``*.txt``, searched
recursively: the CMU corpus retargeted to the DeepMimic humanoid),
``--bvh-dir`` (``*.bvh``, recursively; rig detected, or ``--rig`` /
``--map``), ``--synthetic N`` (N smooth synthetic videos from the bases:
paths through sparse codes with one person's bone lengths, a turning body).
Settings are tuned on the CMU corpus and synthetic clips only; the Bandai
Namco takes are validation data (CC BY-NC 4.0), reported, never tuned on::

    NUMBA_NUM_THREADS=1 python benchmarks/temporal.py --bvh-dir ../shared/mocap/bandai-namco-1/data
    NUMBA_NUM_THREADS=1 python benchmarks/temporal.py --bvh-dir ../shared/mocap/bandai-namco-1/data \\
        --noise 4 --missing 0.1
    NUMBA_NUM_THREADS=1 python benchmarks/temporal.py --synthetic 0 --speed 10000
"""

from __future__ import annotations

import argparse
import ast
import glob
import time
from pathlib import Path

import numpy as np

from lift2d3d.evaluation import fixed_camera, view_clip, video_errors


# ----------------------------------------------------------------------------- clips
def read_takes(args):
    """MocapClips from the folders given; a file the reader refuses is skipped with a note on stderr."""
    import sys

    from lift2d3d.mocap import read_bvh, read_deepmimic

    jobs = []
    if args.deepmimic_dir:
        jobs += [(read_deepmimic, p, {}) for p in sorted(glob.glob(str(Path(args.deepmimic_dir) / "**" / "*.txt"),
                                                                   recursive=True))]
    if args.bvh_dir:
        jobs += [(read_bvh, p, dict(rig=args.rig, mapping=args.map))
                 for p in sorted(glob.glob(str(Path(args.bvh_dir) / "**" / "*.bvh"), recursive=True))]
    takes = []
    for reader, path, options in jobs:
        try:
            takes.append(reader(path, **options))
        except ValueError as exc:
            print(f"temporal benchmark: skipping {path}: {str(exc)[:160]}", file=sys.stderr)
    return takes


def resampled(clip, fps):
    """The take's joints (n, P, 3) at about ``fps`` frames per second (every k-th frame), valid frames only."""
    step = max(1, int(round(clip.fps / fps))) if np.isfinite(clip.fps) else 1
    joints = clip.joints3d[::step]
    return joints[np.all(np.isfinite(joints), axis=(1, 2))]


def synthetic_video(bases, n_frames, rng, turn_deg=90.0):
    """One person's world joints (n, P, 3), metres, y up: a smooth path through sparse codes of the bases
    (key poses of 3-5 atoms every 20 frames, smoothstep blends), every frame redrawn with one person's
    bone lengths, the body turning about the vertical by ``turn_deg`` over the video."""
    from scipy.spatial.transform import Rotation

    from lift2d3d.learn import redraw_with_lengths

    K = bases.n_bases
    n_keys = n_frames // 20 + 2
    keys = np.zeros((n_keys, K))
    for k in range(n_keys):
        atoms = rng.choice(K, rng.integers(3, 6), replace=False)
        keys[k, atoms] = rng.dirichlet(np.ones(len(atoms)))
    u = np.arange(n_frames) / 20.0
    i = np.minimum(u.astype(int), n_keys - 2)
    f = u - i
    f = f * f * (3 - 2 * f)
    poses = np.einsum("nk,kaj->naj", (1 - f)[:, None] * keys[i] + f[:, None] * keys[i + 1], bases.bases)
    edges = np.array(bases.skeleton.edge_indices())
    mean = bases.mean_pose
    lengths = np.linalg.norm(mean[:, edges[:, 0]] - mean[:, edges[:, 1]], axis=0) * rng.uniform(0.9, 1.1)
    poses = np.stack([redraw_with_lengths(p, lengths, bases.skeleton) for p in poses]).transpose(0, 2, 1)
    turn = Rotation.from_euler("y", (rng.uniform(0, 360) + np.linspace(0, turn_deg, n_frames))[:, None],
                               degrees=True).as_matrix()
    return np.einsum("nab,njb->nja", turn, poses)


def make_clips(args, takes, bases, rng):
    """(name, camera3d, keypoints, scores, truth labels swapped?) per clip."""
    sources = [(clip.source, resampled(clip, args.fps), clip.up) for clip in takes]
    sources = [s for s in sources if len(s[1]) >= args.length]
    clips = []
    n_real = args.clips if sources else 0
    for k in range(n_real + args.synthetic):
        if k < n_real:
            name, joints, up = sources[rng.integers(len(sources))]
            start = rng.integers(0, len(joints) - args.length + 1)
            joints = joints[start:start + args.length]
        else:
            name, joints, up = "synthetic", synthetic_video(bases, args.length, rng), np.array([0.0, 1.0, 0.0])
        camera3d, keypoints, scores = view_clip(joints, up, rng, args.noise, args.missing)
        if args.swaps > 0:
            keypoints = detector_swaps(keypoints, bases.skeleton, args.swaps, rng)
        clips.append((name, camera3d, keypoints, scores))
    return clips


def detector_swaps(keypoints, skeleton, fraction, rng):
    """Swap the left and right arms or legs (one of the two, at random) in ``fraction`` of the frames."""
    out = keypoints.copy()
    arms = [j for j in skeleton.joints if any(p in j for p in ("shoulder", "elbow", "wrist"))]
    legs = [j for j in skeleton.joints if any(p in j for p in ("hip", "knee", "ankle"))]
    for n in np.flatnonzero(rng.random(len(out)) < fraction):
        for j in (arms if rng.random() < 0.5 else legs):
            if j.startswith("left_"):
                a, b = skeleton.index(j), skeleton.index("right_" + j[5:])
                out[n, [a, b]] = out[n, [b, a]]
    return out


# ----------------------------------------------------------------------------- scores
def score(result, camera3d, limbs):
    """PA-MPJPE, camera-frame error (per frame, mm), the acceleration error (mm/frame^2), frames without a
    pose, frames not ``ok`` (e.g. ``suspect_input``) and the median reprojection error (px) of one clip."""
    errors = video_errors(result.joints3d, camera3d, limbs)
    return (errors["pa"], errors["st"], errors["accel"], errors["failed"], int((~result.ok).sum()),
            float(np.nanmedian(result.reprojection_error)))


def parse_setting(text):
    node = ast.parse(text, mode="eval").body
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args):
        raise SystemExit(f"--setting must look like dict(name=value, ...); got {text!r}")
    return {k.arg: ast.literal_eval(k.value) for k in node.keywords}


def speed(lifter, n_frames, setting, rng):
    """Frames per second of lift and lift_sequence (one thread) on a synthetic video of ``n_frames``."""
    _, keypoints = fixed_camera(synthetic_video(lifter.bases, n_frames, rng), np.array([0.0, 1.0, 0.0]), rng)
    keypoints = keypoints + rng.normal(0.0, 1.0, keypoints.shape)
    lifter.set_params(n_threads=1)
    lifter.lift_sequence(keypoints[:300], **setting)         # warm-up: compiled stages from the cache
    start = time.perf_counter()
    lifter.lift(keypoints)
    per_frame = n_frames / (time.perf_counter() - start)
    start = time.perf_counter()
    lifter.lift_sequence(keypoints, **setting)
    return per_frame, n_frames / (time.perf_counter() - start)


def main(argv=None):
    from lift2d3d import Lifter
    from lift2d3d.skeletons import LIMB_JOINTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deepmimic-dir", help="DeepMimic motion files (*.txt, recursively)")
    parser.add_argument("--bvh-dir", help="BVH takes (*.bvh, recursively)")
    parser.add_argument("--rig", help="BVH rig (default: detected)")
    parser.add_argument("--map", help="BVH joint map (JSON/YAML)")
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic videos from the bases (default 0)")
    parser.add_argument("--clips", type=int, default=30, help="clips cut from the takes (default 30)")
    parser.add_argument("--length", type=int, default=60, help="frames per clip (default 60)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the clips (default 30)")
    parser.add_argument("--noise", type=float, default=1.0, help="2D noise, px (default 1)")
    parser.add_argument("--missing", type=float, default=0.0, help="fraction of missing joints (default 0)")
    parser.add_argument("--swaps", type=float, default=0.0, help="fraction of frames with left/right swapped arms "
                                                                 "or legs (default 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bases", default="default")
    parser.add_argument("--setting", action="append", default=None,
                        help='lift_sequence keyword arguments, e.g. "dict(smoothness=1.0)" (repeatable)')
    parser.add_argument("--lifter", default="dict()", help='Lifter keyword arguments (default "dict()")')
    parser.add_argument("--speed", type=int, default=0, metavar="N", help="also time a synthetic video of N frames")
    args = parser.parse_args(argv)

    lifter = Lifter(args.bases, **parse_setting(args.lifter))
    settings = args.setting or ["dict()"]
    rng = np.random.default_rng(args.seed)
    takes = read_takes(args)
    clips = make_clips(args, takes, lifter.bases, rng)
    limbs = [lifter.skeleton.index(j) for j in LIMB_JOINTS]
    if clips:
        print(f"{len(clips)} clips of {args.length} frames at {args.fps:g} fps from {len(takes)} takes"
              f"{f' + {args.synthetic} synthetic' if args.synthetic else ''}; one fixed camera per clip; noise "
              f"{args.noise:g} px, {100 * args.missing:g}% missing joints, {100 * args.swaps:g}% frames with "
              f"swapped limbs; {args.lifter}; errors over the 12 limb joints")
        print(f"{'':34} {'PA-MPJPE':>9} {'camera':>8} {'accel':>8}   {'ratios to per frame':>22} {'failed':>7} "
              f"{'not ok':>7} {'reproj px':>10}")
        rows = {"per frame": [score(lifter.lift(kp, sc), cam, limbs) for _, cam, kp, sc in clips]}
        for text in settings:
            setting = dict(dict(fps=args.fps), **parse_setting(text))
            rows[text] = [score(lifter.lift_sequence(kp, sc, **setting), cam, limbs) for _, cam, kp, sc in clips]
        base = None
        for label, scores in rows.items():
            pa = np.concatenate([s[0] for s in scores]).mean()
            cam = np.concatenate([s[1] for s in scores]).mean()
            acc = np.nanmean([s[2] for s in scores])
            failed = sum(s[3] for s in scores)
            not_ok = sum(s[4] for s in scores)
            reprojection = np.median([s[5] for s in scores])
            base = base or (pa, cam, acc)
            ratios = f"{pa / base[0]:.2f} {cam / base[1]:.2f} {acc / base[2]:.2f}"
            print(f"{label:34} {pa:9.1f} {cam:8.1f} {acc:8.1f}   {ratios:>22} {failed:7d} {not_ok:7d} "
                  f"{reprojection:10.2f}", flush=True)
    if args.speed:
        for text in settings:
            per_frame, sequence = speed(lifter, args.speed, parse_setting(text), rng)
            print(f"speed ({args.speed} frames, one core): lift {per_frame:.0f} frames/s, lift_sequence {text} "
                  f"{sequence:.0f} frames/s")


if __name__ == "__main__":
    main()
