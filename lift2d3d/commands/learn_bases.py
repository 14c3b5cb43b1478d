"""``lift2d3d learn-bases``: learn shape bases from MoCap and write a bases file."""

from __future__ import annotations

NAME = "learn-bases"
HELP = "Learn sparse 3D shape bases from MoCap (DeepMimic clips, BVH, or 3D joint files)."

# The shipped bases/deepmimic_body15.npz is `lift2d3d learn-bases --deepmimic -o bases/deepmimic_body15.npz`
# with these defaults (chosen by `--select`, see bases/README.md).
DEFAULT_N_BASES = 128
DEFAULT_ALPHA = 0.03


def add_arguments(parser):
    source = parser.add_argument_group("training data (at least one)")
    source.add_argument("--deepmimic", action="store_true",
                        help="the 15 DeepMimic humanoid clips shipped with pybullet (pip install pybullet)")
    source.add_argument("--bvh", nargs="+", metavar="FILE", default=[], help="BVH takes")
    source.add_argument("--rig", help="joint-name map for the BVH files: cmu, mixamo, bandai-namco "
                                      "(default: detected from the joint names)")
    source.add_argument("--map", metavar="FILE", help="user joint map (JSON or YAML: body15 joint -> rig joint)")
    source.add_argument("--units", default="auto", help="BVH units: auto, m, cm, mm, inch, cmu (default auto)")
    source.add_argument("--joints", nargs="+", metavar="FILE", default=[],
                        help="3D joints as CSV (columns <joint>_x/_y/_z) or NPZ, in metres")
    parser.add_argument("-o", "--output", required=True, help="bases file to write (.npz)")
    parser.add_argument("--n-bases", type=int, default=DEFAULT_N_BASES, help=f"K (default {DEFAULT_N_BASES})")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"sparsity weight, lifter units (default {DEFAULT_ALPHA})")
    parser.add_argument("--no-mirror", action="store_true", help="no left-right mirror augmentation")
    parser.add_argument("--proportion-copies", type=int, default=2,
                        help="copies of each pose with random bone proportions (default 2)")
    parser.add_argument("--max-iter", type=int, default=40, help="dictionary-learning iterations (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--select", action="store_true",
                        help="choose K and alpha by lifting held-out clips (slow) before the final fit")
    parser.add_argument("--grid-n-bases", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--grid-alpha", type=float, nargs="+", default=[0.003, 0.01, 0.03])


def _sha256_files(paths) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def _load(args):
    """Clips (list of (n, 15, 3) arrays), their names, the input files, and a source label."""
    import sys

    from ..mocap import read_bvh, read_deepmimic, read_joints

    clips, names, files, labels = [], [], [], []
    if args.deepmimic:
        from ..mocap.deepmimic import deepmimic_clips, deepmimic_data_dir

        paths = deepmimic_clips()
        for path in paths:
            clip = read_deepmimic(path)
            clips.append(clip)
        files += list(paths) + [deepmimic_data_dir() / "humanoid" / "humanoid.urdf"]
        labels.append(f"DeepMimic humanoid clips from pybullet_data ({len(paths)} clips)")
    for path in args.bvh:
        clips.append(read_bvh(path, rig=args.rig, mapping=args.map, units=args.units))
        files.append(path)
    if args.bvh:
        labels.append(f"{len(args.bvh)} BVH file(s)")
    for path in args.joints:
        clips.append(read_joints(path))
        files.append(path)
    if args.joints:
        labels.append(f"{len(args.joints)} joint file(s)")
    for clip in clips:
        if clip.n_invalid:
            print(f"learn-bases: {clip.source}: skipping {clip.n_invalid} of {len(clip)} frames with NaN/inf joints",
                  file=sys.stderr)
        names.append(str(clip.source))
    return clips, names, files, "; ".join(labels)


def run(args) -> int:
    import sys
    import time

    import numpy as np

    from ..learn import BasisLearner, select_hyperparameters

    if not (args.deepmimic or args.bvh or args.joints):
        print("learn-bases: give training data: --deepmimic, --bvh FILES or --joints FILES", file=sys.stderr)
        return 2
    if args.rig and args.map:
        print("learn-bases: give --rig or --map, not both", file=sys.stderr)
        return 2
    try:
        clips, names, files, source = _load(args)
    except (ValueError, ImportError, FileNotFoundError) as exc:
        print(f"learn-bases: {exc}", file=sys.stderr)
        return 2
    n_frames = sum(len(c) for c in clips)
    n_bad = sum(c.n_invalid for c in clips)
    print(f"learn-bases: {len(clips)} clip(s), {n_frames} frames ({n_bad} skipped for NaN/inf): {source}")

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the result is still deterministic for a fixed BLAS thread count
        threadpool_limits = None
    limiter = threadpool_limits(1) if threadpool_limits else None
    try:
        options = dict(mirror=not args.no_mirror, n_proportion_copies=args.proportion_copies,
                       max_iter=args.max_iter, random_state=args.seed)
        n_bases, alpha, validation = args.n_bases, args.alpha, None
        if args.select:
            if len(clips) < 2:
                print("learn-bases: --select needs at least 2 clips (it holds clips out)", file=sys.stderr)
                return 2
            validation = select_hyperparameters([c.joints3d for c in clips], args.grid_n_bases, args.grid_alpha,
                                                log=print, **options)
            n_bases, alpha = validation["n_bases"], validation["alpha"]
            print(f"learn-bases: selected K={n_bases}, alpha={alpha}")
        start = time.perf_counter()
        poses = np.concatenate([c.joints3d for c in clips])
        learner = BasisLearner(n_bases=n_bases, alpha=alpha, **options).fit(poses)
        elapsed = time.perf_counter() - start
    except ValueError as exc:
        print(f"learn-bases: {exc}", file=sys.stderr)
        return 2
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    command = ("lift2d3d learn-bases" + (" --deepmimic" if args.deepmimic else "")
               + (f" --bvh {' '.join(map(str, args.bvh))}" if args.bvh else "")
               + (f" --joints {' '.join(map(str, args.joints))}" if args.joints else "")
               + f" --n-bases {n_bases} --alpha {alpha} --proportion-copies {args.proportion_copies}"
               + (" --no-mirror" if args.no_mirror else "") + f" --max-iter {args.max_iter} --seed {args.seed}")
    metadata = dict(source=source, inputs_sha256=_sha256_files(files), clips=names, command=command,
                    n_frames=n_frames, n_frames_skipped=learner.n_frames_skipped_)
    if validation is not None:
        metadata["validation"] = validation
    bases = learner.to_shape_bases(**metadata)
    path = bases.save(args.output)
    print(f"learn-bases: K={n_bases} alpha={alpha}: training error {learner.training_error_:.1f} mm, "
          f"sparsity {learner.sparsity_:.3f} (fraction of non-zero codes), {learner.n_samples_} samples, "
          f"{elapsed:.0f} s")
    print(f"learn-bases: wrote {path}")
    return 0
