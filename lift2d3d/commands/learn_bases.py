"""``lift2d3d learn-bases``: learn shape bases from MoCap and write a bases file."""

from __future__ import annotations

NAME = "learn-bases"
HELP = "Learn sparse 3D shape bases from MoCap (a corpus folder, DeepMimic clips, BVH, or 3D joint files)."

# The shipped bases/deepmimic_body15.npz is `lift2d3d learn-bases --deepmimic -o bases/deepmimic_body15.npz`
# with these defaults (chosen by `--select`, see bases/README.md).
DEFAULT_N_BASES = 128
DEFAULT_ALPHA = 0.03


def add_arguments(parser):
    from ._options import add_corpus_arguments

    source = parser.add_argument_group("training data (at least one)")
    source.add_argument("--mocap", nargs="+", metavar="DIR", default=[],
                        help="a MoCap corpus: folders (searched recursively), glob patterns or files of mixed formats "
                             "(.amc with its .asf, .bvh, DeepMimic .txt); resampled, thinned, and every file recorded "
                             "with its SHA-256 in the bases' metadata")
    source.add_argument("--deepmimic", action="store_true",
                        help="the 15 DeepMimic humanoid clips shipped with pybullet (pip install pybullet)")
    source.add_argument("--bvh", nargs="+", metavar="FILE", default=[], help="BVH takes")
    source.add_argument("--rig", help="joint-name map for the --bvh files: one of the shipped rigs "
                                      "(default: detected from the joint names)")
    source.add_argument("--map", metavar="FILE", help="user joint map (JSON or YAML: body15 joint -> rig joint)")
    source.add_argument("--units", default="auto", help="BVH units: auto, m, cm, mm, inch, cmu (default auto)")
    source.add_argument("--joints", nargs="+", metavar="FILE", default=[],
                        help="3D joints as CSV (columns <joint>_x/_y/_z) or NPZ, in metres")
    corpus = parser.add_argument_group("corpus (--mocap)")
    add_corpus_arguments(corpus)
    corpus.add_argument("--report", metavar="FILE", help="also write the per-file report (JSON)")
    corpus.add_argument("--files-csv", metavar="FILE",
                        help="also write the files the bases were learned from (path, format, take, performer, "
                             "SHA-256) as CSV: the model card's list")
    parser.add_argument("-o", "--output", required=True, help="bases file to write (.npz)")
    parser.add_argument("--n-bases", type=int, default=DEFAULT_N_BASES, help=f"K (default {DEFAULT_N_BASES})")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"sparsity weight, lifter units (default {DEFAULT_ALPHA})")
    parser.add_argument("--no-mirror", action="store_true", help="no left-right mirror augmentation")
    parser.add_argument("--proportion-copies", type=int, default=2,
                        help="copies of each pose with random bone proportions (default 2)")
    parser.add_argument("--solver", choices=("batch", "online"),
                        help="dictionary learning: batch (every sample every iteration) or online (mini-batches, "
                             "for a corpus); default online with --mocap, batch otherwise")
    parser.add_argument("--max-iter", type=int, default=40, help="batch solver iterations (default 40)")
    parser.add_argument("--epochs", type=int, default=16, help="online solver passes over the samples (default 16)")
    parser.add_argument("--batch-size", type=int, default=512, help="online solver mini-batch size (default 512)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--select", action="store_true",
                        help="choose K and alpha by lifting held-out data before the final fit (slow): folds of "
                             "performers with --mocap, of clips otherwise")
    parser.add_argument("--folds", type=int, default=3, help="folds for --select (default 3)")
    parser.add_argument("--frames-per-fold", type=int, default=150,
                        help="held-out frames lifted per fold for --select (default 150)")
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
    """Clips (list of MocapClip), their names, the input files, and a source label."""
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


def _load_corpus(args):
    """The corpus of ``--mocap`` (a Corpus), printing its report and summary."""
    from ..mocap.corpus import read_corpus

    corpus = read_corpus(args.mocap, fps=args.fps, min_distance_mm=args.min_distance_mm, formats=args.formats,
                         prefer=_prefer(args),
                         amc_fps=args.amc_fps, log=lambda line: print(f"  {line}"))
    print(f"learn-bases: corpus at {args.fps:g} fps, near-duplicates under {args.min_distance_mm:g} mm dropped:")
    print(f"  {'format':<10} {'takes':>6} {'performers':>10} {'frames':>8} {'resampled':>10} {'kept':>8}")
    for row in corpus.summary():
        print(f"  {row['format']:<10} {row['takes']:6d} {row['performers']:10d} {row['frames']:8d} "
              f"{row['resampled']:10d} {row['kept']:8d}")
    problems = [row for row in corpus.report if row["status"].startswith("error")]
    if problems:
        print(f"learn-bases: {len(problems)} file(s) could not be read and were skipped (see above)")
    return corpus


def _prefer(args):
    from ._options import corpus_prefer

    return corpus_prefer(args)


def _write_files_csv(files, path) -> None:
    """The corpus files (dicts of path, format, take, performer, sha256) as CSV, in path order."""
    import csv

    from ..io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "format", "take", "performer", "sha256"])
        for entry in sorted(files, key=lambda e: e["path"]):
            writer.writerow([entry["path"], entry["format"], entry.get("take") or "", entry.get("performer") or "",
                             entry["sha256"]])


def _command(args, n_bases, alpha, solver):
    """The command line that re-creates the bases (corpus roots as given)."""
    import shlex

    from ..mocap.corpus import FORMATS

    parts = ["lift2d3d", "learn-bases"]
    if args.mocap:
        parts += ["--mocap", *map(str, args.mocap), "--fps", f"{args.fps:g}",
                  "--min-distance-mm", f"{args.min_distance_mm:g}"]
        if list(args.formats) != list(FORMATS):
            parts += ["--formats", *args.formats]
        if args.keep_duplicate_takes:
            parts.append("--keep-duplicate-takes")
        if args.amc_fps != 120.0:
            parts += ["--amc-fps", f"{args.amc_fps:g}"]
    if args.deepmimic:
        parts.append("--deepmimic")
    if args.bvh:
        parts += ["--bvh", *map(str, args.bvh)]
        if args.rig:
            parts += ["--rig", args.rig]
        if args.map:
            parts += ["--map", str(args.map)]
        if args.units != "auto":
            parts += ["--units", str(args.units)]
    if args.joints:
        parts += ["--joints", *map(str, args.joints)]
    parts += ["--n-bases", str(n_bases), "--alpha", str(alpha), "--proportion-copies", str(args.proportion_copies)]
    if args.no_mirror:
        parts.append("--no-mirror")
    if solver == "batch":
        if args.mocap:
            parts += ["--solver", "batch"]
        parts += ["--max-iter", str(args.max_iter)]
    else:
        if not args.mocap:
            parts += ["--solver", "online"]
        parts += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    parts += ["--seed", str(args.seed)]
    # the historical form of the DeepMimic command (bases/README.md) has no corpus flags
    return " ".join(shlex.quote(p) for p in parts)


def run(args) -> int:
    import json
    import sys
    import time
    from pathlib import Path

    import numpy as np

    from ..learn import BasisLearner, select_hyperparameters

    if not (args.mocap or args.deepmimic or args.bvh or args.joints):
        print("learn-bases: give training data: --mocap DIR, --deepmimic, --bvh FILES or --joints FILES",
              file=sys.stderr)
        return 2
    if args.rig and args.map:
        print("learn-bases: give --rig or --map, not both", file=sys.stderr)
        return 2
    solver = args.solver or ("online" if args.mocap else "batch")
    corpus = None
    try:
        clips, names, files, source = _load(args)
        groups = [f"clip:{name}" for name in names]
        if args.mocap:
            corpus = _load_corpus(args)
            if not corpus.takes:
                print(f"learn-bases: no usable takes under {' '.join(map(str, args.mocap))}", file=sys.stderr)
                return 2
            clips = list(corpus.takes) + clips
            names = [take.file.relpath for take in corpus.takes] + names
            groups = [take.performer for take in corpus.takes] + groups
            label = (f"MoCap corpus: {len(corpus.takes)} takes of {len(corpus.performers)} performers "
                     f"({', '.join(sorted({t.file.format for t in corpus.takes}))}) under "
                     f"{' '.join(map(str, args.mocap))}")
            source = "; ".join(filter(None, [label, source]))
    except (ValueError, ImportError, FileNotFoundError) as exc:
        print(f"learn-bases: {exc}", file=sys.stderr)
        return 2
    n_frames = sum(len(c) for c in clips)
    n_bad = sum(c.n_invalid for c in clips)   # MocapClip and corpus Take alike
    print(f"learn-bases: {len(clips)} clip(s), {n_frames} frames ({n_bad} skipped for NaN/inf): {source}")

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the result is still deterministic for a fixed BLAS thread count
        threadpool_limits = None
    limiter = threadpool_limits(1) if threadpool_limits else None
    try:
        options = dict(mirror=not args.no_mirror, n_proportion_copies=args.proportion_copies,
                       max_iter=args.max_iter, random_state=args.seed, solver=solver, n_epochs=args.epochs,
                       batch_size=args.batch_size)
        n_bases, alpha, validation = args.n_bases, args.alpha, None
        if args.select:
            if len(clips) < 2:
                print("learn-bases: --select needs at least 2 clips (it holds clips out)", file=sys.stderr)
                return 2
            validation = select_hyperparameters([c.joints3d for c in clips], args.grid_n_bases, args.grid_alpha,
                                                n_folds=args.folds, frames_per_fold=args.frames_per_fold,
                                                groups=groups if args.mocap else None, log=print, **options)
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
    metadata = dict(source=source, clips=names, command=_command(args, n_bases, alpha, solver),
                    n_frames=n_frames, n_frames_skipped=learner.n_frames_skipped_)
    if corpus is None:
        metadata["inputs_sha256"] = _sha256_files(files)
    else:
        other = _sha256_files(files) if files else None
        metadata["inputs_sha256"] = corpus.inputs_sha256() if other is None else f"{corpus.inputs_sha256()}+{other}"
        metadata["corpus"] = dict(settings=corpus.settings, summary=corpus.summary(), files=corpus.files,
                                  not_used=[dict(path=r["path"], status=r["status"]) for r in corpus.report
                                            if r["status"] != "used"],
                                  performers=corpus.performers,
                                  performers_unknown=sorted({t.performer for t in corpus.takes
                                                             if not t.file.performer_known}))
        if args.report:
            Path(args.report).write_text(json.dumps(corpus.report, indent=1))
            print(f"learn-bases: wrote the per-file report to {args.report}")
        if args.files_csv:
            _write_files_csv(corpus.files, args.files_csv)
            print(f"learn-bases: wrote the list of the {len(corpus.files)} files used to {args.files_csv}")
    if validation is not None:
        metadata["validation"] = validation
    bases = learner.to_shape_bases(**metadata)
    path = bases.save(args.output)
    print(f"learn-bases: K={n_bases} alpha={alpha} ({solver}): training error {learner.training_error_:.1f} mm, "
          f"sparsity {learner.sparsity_:.3f} (fraction of non-zero codes), {learner.n_samples_} samples, "
          f"{elapsed:.0f} s")
    print(f"learn-bases: wrote {path}")
    return 0
