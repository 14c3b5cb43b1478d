"""``lift2d3d evaluate``: accuracy benchmark on real MoCap seen through random cameras.

Frames of every take are projected to 2D by random cameras (azimuth
0-360 deg, elevation -15..35 deg, roll +-8 deg, 3-6 m away, focal 1000 px:
:data:`lift2d3d.evaluation.ACCURACY_VIEWS`), lifted, and scored over the 12 limb joints by PA-MPJPE (similarity
Procrustes) and by the camera-frame error after aligning only scale and
translation (which a depth flip or a wrong rotation cannot escape).
"""

from __future__ import annotations

from ._options import add_lifter_arguments, check_workers, lifter_params_from_args

NAME = "evaluate"
HELP = "Accuracy benchmark: lift random 2D views of MoCap takes and report PA-MPJPE and camera-frame error."


def add_arguments(parser):
    parser.add_argument("--bvh-dir", metavar="DIR", help="folder of BVH takes (all *.bvh inside)")
    parser.add_argument("--bvh", nargs="+", metavar="FILE", default=[], help="BVH takes")
    parser.add_argument("--joints", nargs="+", metavar="FILE", default=[], help="3D joint files (CSV/NPZ, metres)")
    parser.add_argument("--rig", help="BVH joint-name map (default: detected)")
    parser.add_argument("--map", metavar="FILE", help="user joint map (JSON/YAML)")
    # the lifter's options; the camera is not one of them: --camera below chooses the views' projection
    add_lifter_arguments(parser, camera=False)
    parser.add_argument("--sequence", action="store_true",
                        help="also lift each take's frames together as one person's (Lifter.lift_sequence with "
                             "smoothness=0: shared bone proportions; the frames' random cameras are no video)")
    parser.add_argument("--camera", choices=("weak", "perspective", "both"), default="both",
                        help="projection of the synthetic views (default both)")
    parser.add_argument("--frames-per-take", type=int, default=20,
                        help="evenly spaced frames per take (default 20; 0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cameras (default 0)")
    parser.add_argument("--depth-hints", type=int, metavar="K",
                        help="also lift with K true ordinal depth relations per frame, drawn from the ground truth "
                             "among joint pairs whose depths differ by more than --depth-threshold")
    parser.add_argument("--depth-threshold", type=float, default=0.1, metavar="M",
                        help="depth difference (metres) of the pairs --depth-hints draws from (default 0.1)")
    parser.add_argument("--wrong-hints", type=float, default=0.0, metavar="F",
                        help="fraction of the --depth-hints relations turned round (default 0)")
    parser.add_argument("--baseline", action="store_true",
                        help="also score a plain baseline: 64 bases from the DeepMimic clips (no augmentation), "
                             "convex relaxation only (needs pybullet; ~1 min)")


def _frames(args):
    import glob
    import sys
    from pathlib import Path

    import numpy as np

    from ..mocap import read_bvh, read_joints

    paths = list(args.bvh)
    if args.bvh_dir:
        found = sorted(glob.glob(str(Path(args.bvh_dir) / "*.bvh")))
        if not found:
            raise ValueError(f"no .bvh files in {args.bvh_dir}")
        paths += found
    poses, ups, takes = [], [], []
    for path in paths + list(args.joints):
        clip = (read_bvh(path, rig=args.rig, mapping=args.map) if path in paths
                else read_joints(path))
        valid = np.flatnonzero(clip.valid)
        if len(valid) < len(clip):
            print(f"evaluate: {path}: skipping {len(clip) - len(valid)} frames with NaN/inf joints", file=sys.stderr)
        if args.frames_per_take and len(valid) > args.frames_per_take:
            valid = valid[np.linspace(0, len(valid) - 1, args.frames_per_take).round().astype(int)]
        poses.append(clip.joints3d[valid])
        ups.append(np.broadcast_to(clip.up, (len(valid), 3)))
        takes.append(np.full(len(valid), len(takes)))
    if not poses:
        raise ValueError("give takes to evaluate: --bvh-dir DIR, --bvh FILES or --joints FILES")
    return np.concatenate(poses), np.concatenate(ups), len(paths) + len(args.joints), np.concatenate(takes)


def _score(params, camera3d, keypoints, perspective, takes=None, depth_order=None):
    from ..evaluation import VIEW_CAMERA, score_lifts
    from ..lifter import Lifter

    lifter = Lifter(**params, camera=VIEW_CAMERA if perspective else None)
    lifter.lift(keypoints[:2])  # compile the kernels outside the timing
    if depth_order is not None:
        lifter.lift(keypoints[:2], depth_order=depth_order[:2])
    scores = score_lifts(lifter, keypoints, camera3d, takes=takes, depth_order=depth_order,
                         sequence_options=dict(smoothness=0.0))
    return dict(scores, ms=1000.0 * scores["seconds"] / len(keypoints))


def run(args) -> int:
    import sys
    import tempfile
    from pathlib import Path

    import numpy as np

    from ..bases import BasesFileError
    from ..evaluation import random_projections
    from ..lifter import Lifter

    try:
        check_workers(args)
        params = lifter_params_from_args(args)
        Lifter(**params)                       # a bad option fails here, before the takes are read
        poses, ups, n_takes, takes = _frames(args)
    except (BasesFileError, ValueError, FileNotFoundError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    models = [(f"bases={args.bases} method={args.method}", params, None)]
    if args.sequence:
        models.append((f"bases={args.bases} method={args.method}, each take a sequence", params, takes))
    if args.depth_hints:
        wrong = f", {100 * args.wrong_hints:g}% wrong" if args.wrong_hints else ""
        models.append((f"  with {args.depth_hints} depth relations per frame{wrong}", params, "hints"))
    tmp = tempfile.TemporaryDirectory()
    if args.baseline:
        from ..learn import BasisLearner
        from ..mocap import deepmimic_clips, read_deepmimic

        training = np.concatenate([read_deepmimic(p).joints3d for p in deepmimic_clips()])
        learner = BasisLearner(n_bases=64, alpha=0.05, mirror=False, n_proportion_copies=0).fit(training)
        path = learner.to_shape_bases(source="baseline").save(Path(tmp.name) / "baseline.npz")
        models.append(("baseline: 64 DeepMimic bases, no augmentation, method=convex",
                       dict(bases=path, method="convex", n_threads=params["n_threads"]), None))
    cameras = ["weak", "perspective"] if args.camera == "both" else [args.camera]
    print(f"evaluate: {len(poses)} frames from {n_takes} take(s); random cameras seed {args.seed}; "
          "errors over the 12 limb joints, mm")
    print(f"{'model':<62} {'camera':<12} {'PA-MPJPE':>9} {'(median)':>9} {'camera-frame':>13} {'(median)':>9} "
          f"{'failed':>7} {'ms/frame':>9}")
    plain = {}
    for label, model, sequence in models:
        for camera in cameras:
            camera3d, keypoints = random_projections(poses, args.seed, camera == "perspective", ups)[:2]
            hints = None
            if isinstance(sequence, str):
                from ..evaluation import sample_depth_relations
                from ..skeletons import get_skeleton

                names = get_skeleton("body15").joints
                hints = sample_depth_relations(camera3d, names, args.depth_hints, np.random.default_rng(args.seed + 7),
                                               args.depth_threshold, args.wrong_hints)
                sequence = None
            s = _score(model, camera3d, keypoints, camera == "perspective", sequence, hints)
            print(f"{label:<62} {camera:<12} {s['pa'].mean():9.1f} {np.median(s['pa']):9.1f} "
                  f"{s['st'].mean():13.1f} {np.median(s['st']):9.1f} {s['failed']:7d} {s['ms']:9.2f}")
            if label == models[0][0]:
                plain[camera] = s
            elif hints is not None and np.array_equal(plain[camera]["lifted"], s["lifted"]):
                base = plain[camera]
                worse = s["st"] - base["st"]
                print(f"{'':<62} {camera:<12} ratio to no hints: PA-MPJPE {s['pa'].mean() / base['pa'].mean():.2f}x, "
                      f"camera-frame {s['st'].mean() / base['st'].mean():.2f}x; frames worse by > 5 mm: "
                      f"{np.count_nonzero(worse > 5)} of {len(worse)} (worst {worse.max():+.1f} mm); speed "
                      f"{base['ms'] / s['ms']:.2f}x")
    tmp.cleanup()
    print("targets (issue 3): PA-MPJPE <= 45 mm, camera-frame error (scale+translation aligned) <= 60 mm")
    return 0
