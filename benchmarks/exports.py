"""The outputs people take elsewhere: the world frame, BVH and TRC round trips, the HTML viewer.

Three parts, each printing its figures (``--part world|bvh|viewer``, default all):

**world** -- :func:`lift2d3d.world.to_world` on MoCap clips seen by random cameras.  Clips of
``--length`` frames (30 fps) are cut from the takes of each corpus folder given, each seen by one
fixed camera of the accuracy benchmark (:func:`lift2d3d.evaluation.fixed_camera`: azimuth 0-360 deg,
elevation -15..35 deg, roll +-8 deg, 3-6 m, focal 1000 px; weak perspective or a pinhole), 1 px of
noise, lifted with ``Lifter.lift_sequence`` (with ``height=`` the take's true stature, or without)
and put in the world frame.  Against the truth:

* gravity: the angle between the estimated and the true up, in the camera's frame (degrees);
* floor: at the frames where the truth has a foot planted (lower ankle slower than 0.3 m/s), the
  estimated height of that ankle against its true height, both measured from a floor placed by the
  same rule (:data:`lift2d3d.world.ANKLE_HEIGHT` x stature below the ankles' height at contact; the
  corpora's own floors are not all at y = 0 and their ankle joints sit at different heights), the
  median over those frames (cm);
* limbs (with ``height=``): each of the 8 limb bones' median length over the clip against the
  truth's, relative error (%).

``--calibrate`` prints the ankles' height at contact over stature in the truth (what
:data:`~lift2d3d.world.ANKLE_HEIGHT` was set from, on CMU).

**bvh** -- lift clips, write the run's CSV and a BVH (``lift2d3d lift --sequence``'s writers), read
the BVH back with an independent reader (this file's, SciPy's rotations), align it to the CSV's joints
by one similarity transform for the whole clip, and report the joints' distance (mm) and how much
each bone's length varies over the clip (mm).

**viewer** -- write ``lift2d3d view``'s page for a 1,000-frame clip with its 2D keypoints, report its
size and the time headless Chromium takes from navigation until the page says it has drawn
(``--chromium``, default ``/usr/bin/chromium``; needs the ``playwright`` package).

Settings are tuned on the CMU corpus only; the Bandai Namco takes (CC BY-NC 4.0) are validation::

    python benchmarks/exports.py --part world --mocap /tmp/cmu --calibrate
    python benchmarks/exports.py --part world --mocap /tmp/cmu ../shared/mocap/bandai-namco-1/data
    python benchmarks/exports.py --part bvh --mocap /tmp/cmu
    python benchmarks/exports.py --part viewer
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lift2d3d.evaluation import VIEW_CAMERA, clip_starts, fixed_camera, kabsch
from lift2d3d.skeletons import BODY15

LIMB_BONES = [(f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
              for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))]
ANKLES = (BODY15.index("left_ankle"), BODY15.index("right_ankle"))


# ------------------------------------------------------------------------------------------- clips
def corpus_clips(root, length, per_take, max_clips, rng):
    """``(take name, joints (length, 15, 3) world y-up metres)`` clips cut from a corpus folder's takes."""
    from lift2d3d.mocap.corpus import read_corpus

    corpus = read_corpus(root, fps=30.0, min_distance_mm=0.0)
    clips = []
    for take in corpus.takes:
        for start in clip_starts(len(take.joints3d), length, per_take):
            clips.append((take.file.relpath, take.joints3d[start:start + length]))
    if len(clips) > max_clips:
        clips = [clips[i] for i in np.sort(rng.choice(len(clips), max_clips, replace=False))]
    return clips


def true_stature(joints):
    from lift2d3d.world import clip_stature

    return clip_stature(joints, BODY15.joints)


def contact_frames(joints, fps=30.0, still=0.3):
    """Frames where the truth's lower ankle is planted (slower than ``still`` m/s), and which ankle that is."""
    heights = joints[:, ANKLES, 1]
    lower = np.argmin(heights, axis=1)
    ankle = joints[np.arange(len(joints)), np.array(ANKLES)[lower]]
    speed = np.full(len(joints), np.inf)
    step = np.linalg.norm(np.diff(ankle, axis=0), axis=1) * fps
    speed[1:] = step
    speed[:-1] = np.minimum(speed[:-1], step)
    same = np.ones(len(joints), dtype=bool)
    same[1:] &= lower[1:] == lower[:-1]
    return (speed < still) & same, lower


def contact_level(joints, fps=30.0):
    """The truth's ankle height at contact (median over planted frames; the 10th percentile of the lower ankle
    when no frame is planted)."""
    planted, lower = contact_frames(joints, fps)
    heights = joints[np.arange(len(joints)), np.array(ANKLES)[lower], 1]
    return float(np.median(heights[planted])) if planted.any() else float(np.percentile(heights, 10))


# ------------------------------------------------------------------------------------------- world
def world_part(args, rng):
    from lift2d3d import Camera, Lifter
    from lift2d3d.world import ANKLE_HEIGHT, to_world

    if args.calibrate:
        for root in args.mocap:
            ratios = []
            for _, joints in corpus_clips(root, args.length, args.clips_per_take, args.clips, rng):
                planted, _ = contact_frames(joints)
                if planted.sum() >= 5:
                    ratios.append(contact_level(joints) / true_stature(joints))
            print(f"{root}: ankle height at contact / stature over {len(ratios)} clips: median "
                  f"{np.median(ratios):.4f}, 10-90 % {np.percentile(ratios, 10):.4f}-{np.percentile(ratios, 90):.4f}")
    print(f"world frame: clips of {args.length} frames at 30 fps, 1 px noise; errors mean / median / 90th percentile")
    print("| corpus | camera | height | clips | gravity (deg) | floor (cm) | limb lengths (%) | within targets "
          "(5 deg / 3 cm / 5 %) |")
    print("|---|---|---|---|---|---|---|---|")
    for root in args.mocap:
        clips = corpus_clips(root, args.length, args.clips_per_take, args.clips, rng)
        for perspective in (False, True):
            views = []
            for name, joints in clips:
                camera3d, keypoints = fixed_camera(joints, np.array([0.0, 1.0, 0.0]), rng, perspective=perspective)
                keypoints = keypoints + rng.normal(0.0, 1.0, keypoints.shape)
                views.append((name, joints, camera3d, keypoints))
            for with_height in (False, True):
                gravity, floor, limbs = [], [], []
                for name, joints, camera3d, keypoints in views:
                    stature = true_stature(joints)
                    lifter = Lifter(args.bases, camera=Camera(**VIEW_CAMERA) if perspective else None,
                                    height=stature if with_height else None)
                    result = lifter.lift_sequence(keypoints, fps=30.0)
                    world = to_world(result, height=stature if with_height else None, fps=30.0)
                    # the true up in the camera's frame
                    centred = joints.reshape(-1, 3) - joints.reshape(-1, 3).mean(axis=0)
                    seen = camera3d.reshape(-1, 3) - camera3d.reshape(-1, 3).mean(axis=0)
                    R = kabsch(centred[None], seen[None])[0]
                    up_true = R @ np.array([0.0, 1.0, 0.0])
                    gravity.append(np.degrees(np.arccos(np.clip(up_true @ world.frame.up, -1, 1))))
                    planted, lower = contact_frames(joints)
                    true_h = joints[np.arange(len(joints)), np.array(ANKLES)[lower], 1] - (
                        contact_level(joints) - ANKLE_HEIGHT * stature)
                    est_h = world.joints3d[np.arange(len(joints)), np.array(ANKLES)[lower], 1]
                    use = planted & np.isfinite(est_h)
                    if use.any():
                        floor.append(100 * float(np.median(np.abs(est_h[use] - true_h[use]))))
                    if with_height:
                        for a, b in LIMB_BONES:
                            i, j = BODY15.index(a), BODY15.index(b)
                            est = np.nanmedian(np.linalg.norm(world.joints3d[:, i] - world.joints3d[:, j], axis=-1))
                            true = np.median(np.linalg.norm(joints[:, i] - joints[:, j], axis=-1))
                            limbs.append(100 * abs(est / true - 1))
                g, f = np.array(gravity), np.array(floor)
                limb_text = (f"{np.mean(limbs):.1f} / {np.median(limbs):.1f} / {np.percentile(limbs, 90):.1f}"
                             if limbs else "-")
                within = (f"{np.mean(g <= 5) * 100:.0f} % / {np.mean(f <= 3) * 100:.0f} % / "
                          + (f"{np.mean(np.array(limbs) <= 5) * 100:.0f} %" if limbs else "-"))
                print(f"| {Path(root).name} | {'perspective' if perspective else 'weak'} | "
                      f"{'true' if with_height else 'bases'} | {len(views)} | {g.mean():.1f} / {np.median(g):.1f} / "
                      f"{np.percentile(g, 90):.1f} | {f.mean():.1f} / {np.median(f):.1f} / "
                      f"{np.percentile(f, 90):.1f} | "
                      f"{limb_text} | {within} |", flush=True)


# --------------------------------------------------------------------------------------------- bvh
def bvh_positions(text):
    """body15 joints (n, 15, 3) of a BVH with the ``cmu`` names, read independently of lift2d3d's reader: the
    hierarchy parsed here, forward kinematics with SciPy's intrinsic Euler angles; the head the midpoint of the
    Head joint and its end site."""
    from scipy.spatial.transform import Rotation

    tokens = text.split()
    joints, stack, i = [], [], 0
    while tokens[i] != "MOTION":
        word = tokens[i]
        if word in ("ROOT", "JOINT"):
            joints.append({"name": tokens[i + 1], "parent": stack[-1] if stack else -1})
            i += 2
        elif word == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif word == "}":
            stack.pop()
            i += 1
        elif word == "OFFSET":
            joints[stack[-1]]["offset"] = np.array(tokens[i + 1:i + 4], dtype=float)
            i += 4
        elif word == "CHANNELS":
            joints[stack[-1]]["channels"] = tokens[i + 2:i + 2 + int(tokens[i + 1])]
            i += 2 + int(tokens[i + 1])
        elif word == "End":
            joints[stack[-1]]["end"] = np.array(tokens[i + 4:i + 7], dtype=float)
            i += 8
        else:
            i += 1
    values = np.array(tokens[i + 6:], dtype=float).reshape(int(tokens[i + 2]), -1)
    positions, rotations, column = {}, {}, 0
    for joint in joints:
        translation = np.tile(joint["offset"], (len(values), 1))
        axes, angles = "", []
        for name in joint["channels"]:
            if name.endswith("position"):
                translation[:, "XYZ".index(name[0])] = values[:, column]
            else:
                axes, angles = axes + name[0], angles + [values[:, column]]
            column += 1
        local = Rotation.from_euler(axes, np.stack(angles, axis=1), degrees=True)
        if joint["parent"] < 0:
            positions[joint["name"]], rotations[joint["name"]] = translation, local
        else:
            parent = joints[joint["parent"]]["name"]
            positions[joint["name"]] = positions[parent] + rotations[parent].apply(translation)
            rotations[joint["name"]] = rotations[parent] * local
        joint["rotation"] = rotations[joint["name"]]
    named = {}
    for side, prefix in (("left", "Left"), ("right", "Right")):
        for ours, rig in (("shoulder", "Arm"), ("elbow", "ForeArm"), ("wrist", "Hand"), ("hip", "UpLeg"),
                          ("knee", "Leg"), ("ankle", "Foot")):
            named[f"{side}_{ours}"] = positions[prefix + rig]
    head = next(j for j in joints if j["name"] == "Head")
    named["head"] = positions["Head"] + 0.5 * head["rotation"].apply(head["end"])
    named["pelvis"] = 0.5 * (named["left_hip"] + named["right_hip"])
    named["neck"] = 0.5 * (named["left_shoulder"] + named["right_shoulder"])
    return np.stack([named[j] for j in BODY15.joints], axis=1)


def keypoint_csv(path, keypoints):
    import pandas as pd

    columns = {"frame": np.arange(len(keypoints))}
    for j, name in enumerate(BODY15.joints):
        columns[f"{name}_x"], columns[f"{name}_y"] = keypoints[:, j, 0], keypoints[:, j, 1]
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def bvh_part(args, rng, work):
    """BVH against the same run's CSV (world frame), after one similarity alignment for the whole clip."""
    from lift2d3d import Lifter
    from lift2d3d.evaluation import similarity_align
    from lift2d3d.io import read_lifted
    from lift2d3d.pipeline import lift_file

    edges = np.array(BODY15.edge_indices())
    print(f"BVH against the same run's CSV: lift --sequence --world -o clip.csv and -o clip.bvh; clips of "
          f"{args.length} frames, weak perspective, 1 px noise; mm")
    print("| corpus | clips | joints after one similarity alignment: mean / 95th percentile / max | bone length "
          "range over the clip: max |")
    print("|---|---|---|---|")
    lifter = Lifter(args.bases)
    for root in args.mocap:
        errors, spans = [], []
        clips = corpus_clips(root, args.length, args.clips_per_take, args.bvh_clips, rng)
        for k, (_, joints) in enumerate(clips):
            _, keypoints = fixed_camera(joints, np.array([0.0, 1.0, 0.0]), rng, perspective=False)
            source = keypoint_csv(work / f"clip{k}.csv", keypoints + rng.normal(0.0, 1.0, keypoints.shape))
            lift_file(source, work / f"clip{k}_lifted.csv", lifter, sequence=True, frame="world")
            lift_file(source, work / f"clip{k}.bvh", lifter, sequence=True)
            table = read_lifted(work / f"clip{k}_lifted.csv").joints3d()
            bvh = bvh_positions((work / f"clip{k}.bvh").read_text())
            ok = np.isfinite(table).all(axis=(1, 2))
            aligned = similarity_align(bvh[ok].reshape(1, -1, 3), table[ok].reshape(1, -1, 3))[0].reshape(-1, 15, 3)
            errors.append(np.linalg.norm(aligned - table[ok], axis=-1).ravel() * 1000)
            lengths = np.linalg.norm(bvh[:, edges[:, 0]] - bvh[:, edges[:, 1]], axis=-1)
            spans.append(np.ptp(lengths, axis=0).max() * 1000)
        e = np.concatenate(errors)
        print(f"| {Path(root).name} | {len(clips)} | {e.mean():.2f} / {np.percentile(e, 95):.1f} / {e.max():.1f} | "
              f"{max(spans):.4f} |", flush=True)


# ------------------------------------------------------------------------------------------ viewer
def viewer_part(args, rng, work):
    """Size of the page of a 1,000-frame clip with its 2D keypoints, and Chromium's time to draw it."""
    from lift2d3d import Lifter
    from lift2d3d.cli import main as cli
    from lift2d3d.evaluation import camera_rotations

    lifter = Lifter(args.bases)
    n = 1000
    # a person turning and bending: the bases' mean pose with its first atoms swinging, seen by one camera
    t = np.arange(n) / 30.0
    codes = 0.6 * np.stack([np.sin(2 * np.pi * t * (0.3 + 0.1 * k)) for k in range(4)], axis=1)
    poses = lifter.bases.mean_pose[None] + np.einsum("nk,kij->nij", codes, lifter.bases.bases[:4])
    turn = camera_rotations(np.stack([40 * np.sin(t), np.full(n, 15.0), np.zeros(n)], axis=1))
    camera = np.einsum("nij,njp->npi", turn, poses) + [0.0, 0.0, 4.0]
    keypoints = 1000.0 * camera[..., :2] / camera[..., 2:] + [640.0, 360.0] + rng.normal(0.0, 1.0, (n, 15, 2))
    source = keypoint_csv(work / "long.csv", keypoints)
    assert cli(["lift", str(source), "--sequence", "--world", "-q", "-o", str(work / "long.json")]) == 0
    assert cli(["view", str(work / "long.json"), "--keypoints", str(source), "-o", str(work / "long.html")]) == 0
    size = (work / "long.html").stat().st_size
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(f"viewer page, {n} frames with the 2D keypoints: {size / 1e6:.2f} MB; no playwright: not timed")
        return
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=flags)
        for _ in range(5):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto((work / "long.html").as_uri())
            page.wait_for_function("window.lift2d3dViewer && window.lift2d3dViewer.ready")
            # from the start of navigation to the first drawn frame, as the page's own clock counts it
            times.append(page.evaluate("performance.now()") / 1000.0)
            page.close()
        browser.close()
    print(f"viewer page, {n} frames with the 2D keypoints: {size / 1e6:.2f} MB; open until drawn in headless Chromium "
          f"(median of 5, navigation start to the first frame drawn): {np.median(times):.2f} s "
          f"(targets: < 5 MB, < 2 s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("world", "bvh", "viewer", "all"), default="all")
    parser.add_argument("--mocap", nargs="+", default=[], help="corpus folders (each reported on its own)")
    parser.add_argument("--length", type=int, default=150, help="frames per clip (default 150: 5 s)")
    parser.add_argument("--clips", type=int, default=60, help="clips per corpus folder at most (default 60)")
    parser.add_argument("--clips-per-take", type=int, default=2, help="clips cut from each take (default 2)")
    parser.add_argument("--bases", default="default")
    parser.add_argument("--calibrate", action="store_true", help="print the ankles' height at contact / stature")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bvh-clips", type=int, default=20, help="clips per corpus folder for --part bvh (20)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    if args.part in ("world", "bvh") and not args.mocap:
        sys.exit(f"--part {args.part} needs --mocap DIR [DIR ...]")
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        if args.part in ("world", "all") and args.mocap:
            world_part(args, rng)
        if args.part in ("bvh", "all") and args.mocap:
            bvh_part(args, rng, Path(work))
        if args.part in ("viewer", "all"):
            viewer_part(args, rng, Path(work))


if __name__ == "__main__":
    main()
