"""``lift2d3d learn-lifter``: learn a lifting network from a MoCap corpus and write a network file."""

from __future__ import annotations

NAME = "learn-lifter"
HELP = ("Learn a lifting network (2D keypoints -> camera-frame 3D) from a MoCap corpus alone: random views, "
        "scikit-learn MLP (pip install 'lift2d3d[train]'); --temporal: a temporal network from random videos.")

# The shipped bases/cmu_lifter15.npz is `lift2d3d learn-lifter --mocap /tmp/cmu -o bases/cmu_lifter15.npz` with the
# defaults below, which are LifterLearner's (chosen by --select, see bases/README.md).  The shipped temporal networks
# (bases/cmu_temporal15.npz, bases/cmu_temporal15_causal.npz) are `--temporal [--causal]` with
# TemporalLifterLearner's defaults; their exact commands are in their model card.

#: Candidates of --select when no --grid is given: the shipped settings and one change at a time.
DEFAULT_GRID = (
    {},
    {"hidden": [256, 256, 256]},
    {"hidden": [1024, 1024]},
    {"hidden": [512, 512]},
    {"hidden": [512, 512, 512, 512]},
    {"alpha": 1e-3},
    {"n_epochs": 15},
    {"views_per_pose": 8},
)

#: Candidates of --temporal --select when no --grid is given: the window's span and bin width, the layers, one
#: change at a time from 9 bins of 0.1 s and 512-512-512 (the shipped settings, 5 bins, won; bases/README.md).
DEFAULT_TEMPORAL_GRID = (
    {"n_bins": 9},
    {"n_bins": 3},
    {"n_bins": 5},
    {"n_bins": 15},
    {"n_bins": 9, "bin_s": 0.2},
    {"n_bins": 15, "bin_s": 0.2},
    {"n_bins": 9, "hidden": [512, 512]},
    {"n_bins": 9, "hidden": [1024, 1024]},
)


def add_arguments(parser):
    from ._options import add_corpus_arguments

    parser.add_argument("--mocap", nargs="+", metavar="DIR", required=True,
                        help="a MoCap corpus: folders (searched recursively), glob patterns or files of mixed formats "
                             "(.amc with its .asf, .bvh, DeepMimic .txt), walked as learn-bases --mocap walks them; "
                             "every file is recorded with its SHA-256 in the network's metadata")
    corpus = parser.add_argument_group("corpus")
    add_corpus_arguments(corpus)
    # a temporal network needs every frame: its default is 0 (see _min_distance)
    parser.set_defaults(min_distance_mm=None)
    corpus.add_argument("--files-csv", metavar="FILE",
                        help="also write the files the network was learned from (path, format, take, performer, "
                             "SHA-256) as CSV: the model card's list")
    parser.add_argument("-o", "--output", required=True, help="network file to write (.npz)")
    temporal = parser.add_argument_group("temporal network (--temporal)")
    temporal.add_argument("--temporal", action="store_true",
                          help="learn a temporal network (lift2d3d.learned.TemporalNetwork: a frame's 3D from the 2D "
                               "of the frames around it) from random videos of the takes; the corpus is read without "
                               "thinning (--min-distance-mm 0)")
    temporal.add_argument("--causal", action="store_true",
                          help="a window that ends at the frame (no later frame: live use); default centred")
    temporal.add_argument("--bins", type=int, help="time bins of the window (default 5)")
    temporal.add_argument("--bin-width", type=float, metavar="SECONDS", help="width of a bin (default 0.1 s)")
    temporal.add_argument("--edges", type=float, nargs="+", metavar="SECONDS",
                          help="the bins' edges relative to the frame, increasing (uneven bins; overrides --bins, "
                               "--bin-width and --causal)")
    net = parser.add_argument_group("network and training (defaults: the shipped network's)")
    net.add_argument("--hidden", type=int, nargs="+", metavar="UNITS", help="hidden layer sizes (default 512 512 512)")
    net.add_argument("--epochs", type=int, help="passes over freshly drawn views (default 60; --temporal 40)")
    net.add_argument("--views", type=int, help="views of each pose per epoch (default 4; --temporal: videos of each "
                                               "take per epoch, default 2)")
    net.add_argument("--alpha", type=float, help="L2 weight penalty (default 1e-4)")
    net.add_argument("--batch-size", type=int, help="mini-batch size (default 512; --temporal 256)")
    net.add_argument("--learning-rate", type=float, help="peak learning rate of Adam (default 2e-3; --temporal 1e-3)")
    net.add_argument("--augmentation", metavar="JSON",
                     help="changes to the view augmentation, a JSON object of lift2d3d.learn_lifter.Augmentation "
                          "fields (e.g. '{\"perspective\": 0.3}'; --temporal: TemporalAugmentation's)")
    net.add_argument("--no-flip", action="store_true",
                     help="the network answers each frame once (default: averaged with the mirrored frame's answer, "
                          "twice the work)")
    net.add_argument("--seed", type=int, default=0, help="random seed: views, initial weights, batch order (default 0)")
    net.add_argument("--threads", type=int, default=1,
                     help="BLAS threads while learning (default 1: the same bytes on every run on one machine)")
    net.add_argument("--float16", action="store_true", help="store the weights as float16 (half the file)")
    select = parser.add_argument_group("selection (--select)")
    select.add_argument("--select", action="store_true",
                        help="first score candidate settings by training without each fold of performers and lifting "
                             "them (slow: candidates x folds trainings), then learn with the best")
    select.add_argument("--grid", metavar="JSON",
                        help="candidates: a JSON list of objects of settings (hidden, n_epochs, views_per_pose, alpha, "
                             "batch_size, learning_rate, augmentation), or a file holding one; default: the shipped "
                             "settings and one change at a time")
    select.add_argument("--folds", type=int, default=3, help="folds of performers (default 3)")
    select.add_argument("--frames-per-take", type=int, default=20,
                        help="evenly spaced held-out frames lifted per take (default 20)")
    select.add_argument("--score-folds", type=int, nargs="+", metavar="K",
                        help="--temporal: score only these folds, each network trained on the others (default all)")
    select.add_argument("--clips-per-take", type=int, default=2,
                        help="--temporal: held-out clips per take (default 2)")
    select.add_argument("--clip-frames", type=int, default=60,
                        help="--temporal: frames per held-out clip (default 60: 2 s at 30 fps)")


def _settings(args) -> dict:
    """The learner's keyword arguments the flags set (the others keep the learner's defaults)."""
    import json

    given = dict(hidden=args.hidden, n_epochs=args.epochs, views_per_pose=args.views, alpha=args.alpha,
                 batch_size=args.batch_size, learning_rate=args.learning_rate)
    if args.temporal:
        given.update(n_bins=args.bins, bin_s=args.bin_width, edges=args.edges, causal=args.causal or None)
    elif args.causal or args.bins or args.bin_width or args.edges or args.score_folds:
        raise ValueError("--causal, --bins, --bin-width, --edges and --score-folds are settings of --temporal")
    settings = {k: v for k, v in given.items() if v is not None}
    if args.no_flip:
        settings["flip"] = False
    if args.augmentation:
        settings["augmentation"] = json.loads(args.augmentation)
    return settings


def _min_distance(args) -> float:
    """The near-duplicate threshold: 10 mm (the corpus default) for a per-frame network, 0 for a temporal one."""
    from ..mocap.corpus import DEFAULT_MIN_DISTANCE_MM

    if args.min_distance_mm is None:
        return 0.0 if args.temporal else DEFAULT_MIN_DISTANCE_MM
    if args.temporal and args.min_distance_mm > 0:
        raise ValueError("a temporal network learns from consecutive frames: --temporal reads every frame "
                         "(leave out --min-distance-mm, or give 0)")
    return float(args.min_distance_mm)


def _grid(args) -> list:
    import json
    from pathlib import Path

    if not args.grid:
        return [dict(c) for c in (DEFAULT_TEMPORAL_GRID if args.temporal else DEFAULT_GRID)]
    text = Path(args.grid).read_text() if Path(args.grid).is_file() else args.grid
    grid = json.loads(text)
    if not isinstance(grid, list) or not all(isinstance(c, dict) for c in grid) or not grid:
        raise ValueError("--grid must be a JSON list of objects (one per candidate)")
    return grid


def _command(args, learner) -> str:
    """The command line that re-creates the network (the corpus roots as given, every setting explicit)."""
    import json
    import shlex

    from ..learn_lifter import Augmentation, TemporalAugmentation
    from ..mocap.corpus import FORMATS

    params = learner.get_params()
    parts = ["lift2d3d", "learn-lifter", "--mocap", *map(str, args.mocap)]
    if args.temporal:
        parts.append("--temporal")
    if args.fps != 30.0:
        parts += ["--fps", f"{args.fps:g}"]
    if _min_distance(args) != (0.0 if args.temporal else 10.0):
        parts += ["--min-distance-mm", f"{_min_distance(args):g}"]
    if list(args.formats) != list(FORMATS):
        parts += ["--formats", *args.formats]
    if args.keep_duplicate_takes:
        parts.append("--keep-duplicate-takes")
    if args.amc_fps != 120.0:
        parts += ["--amc-fps", f"{args.amc_fps:g}"]
    parts += ["-o", str(args.output), "--hidden", *map(str, params["hidden"]), "--epochs", str(params["n_epochs"]),
              "--views", str(params["views_per_pose"]), "--alpha", f"{params['alpha']:g}",
              "--batch-size", str(params["batch_size"]), "--learning-rate", f"{params['learning_rate']:g}"]
    if args.temporal:
        if params["edges"] is not None:
            parts += ["--edges", *(f"{e:g}" for e in params["edges"])]
        else:
            parts += ["--bins", str(params["n_bins"]), "--bin-width", f"{params['bin_s']:g}"]
            if params["causal"]:
                parts.append("--causal")
    default = (TemporalAugmentation() if args.temporal else Augmentation()).as_dict()
    changed = {k: v for k, v in params["augmentation"].items() if v != default[k]}
    if changed:
        parts += ["--augmentation", json.dumps(changed, sort_keys=True)]
    if not params["flip"]:
        parts.append("--no-flip")
    parts += ["--seed", str(args.seed)]
    if args.threads != 1:
        parts += ["--threads", str(args.threads)]
    if args.float16:
        parts.append("--float16")
    return " ".join(shlex.quote(p) for p in parts)


def run(args) -> int:
    import sys
    import time

    from ..learn_lifter import TRAIN_EXTRA_HINT, LifterLearner, TemporalLifterLearner, select_lifter, select_temporal
    from ..learned import save_network, save_temporal_network
    from ..mocap.corpus import read_corpus
    from ._options import corpus_prefer
    from .learn_bases import _write_files_csv

    try:
        import sklearn  # noqa: F401  (fail before reading the corpus)
    except ImportError:
        print(f"learn-lifter: {TRAIN_EXTRA_HINT}", file=sys.stderr)
        return 2
    Learner = TemporalLifterLearner if args.temporal else LifterLearner
    try:
        settings = _settings(args)
        min_distance = _min_distance(args)
        grid = _grid(args) if args.select else None
        Learner(**settings).get_params()        # a bad --augmentation or window fails here, before the corpus is read
        corpus = read_corpus(args.mocap, fps=args.fps, min_distance_mm=min_distance, formats=args.formats,
                             prefer=corpus_prefer(args), amc_fps=args.amc_fps)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        print(f"learn-lifter: {exc}", file=sys.stderr)
        return 2
    problems = [row for row in corpus.report if row["status"].startswith("error")]
    for row in problems:
        print(f"learn-lifter: {row['path']}: {row['status']}", file=sys.stderr)
    if not corpus.takes:
        print(f"learn-lifter: no usable takes under {' '.join(map(str, args.mocap))}", file=sys.stderr)
        return 2
    clips = [take.joints3d for take in corpus.takes]
    performers = [take.performer for take in corpus.takes]
    kept = (f"near-duplicates under {min_distance:g} mm dropped" if min_distance > 0 else "every frame")
    print(f"learn-lifter: {len(clips)} takes of {len(corpus.performers)} performers, {sum(map(len, clips))} poses "
          f"(at {args.fps:g} fps, {kept})")
    base = dict(settings, random_state=args.seed, n_threads=args.threads)
    validation = None
    try:
        if args.select:
            print(f"learn-lifter: scoring {len(grid)} candidate(s) on {args.folds} folds of performers")
            start = time.perf_counter()
            if args.temporal:
                validation = select_temporal(clips, performers, grid, n_folds=args.folds, folds=args.score_folds,
                                             clips_per_take=args.clips_per_take, clip_frames=args.clip_frames,
                                             seed=args.seed, log=print, **base)
            else:
                validation = select_lifter(clips, performers, grid, n_folds=args.folds,
                                           frames_per_take=args.frames_per_take, seed=args.seed, log=print, **base)
            validation["seconds"] = round(time.perf_counter() - start)
            base.update(validation["best"])
            print(f"learn-lifter: selected {validation['best'] or 'the base settings'} "
                  f"({validation['seconds']} s of selection)")
        learner = Learner(**base, log=lambda line: print(f"  {line}")).fit(clips)
    except (ValueError, TypeError) as exc:
        print(f"learn-lifter: {exc}", file=sys.stderr)
        return 2
    label = (f"MoCap corpus: {len(corpus.takes)} takes of {len(corpus.performers)} performers "
             f"({', '.join(sorted({t.file.format for t in corpus.takes}))}) under {' '.join(map(str, args.mocap))}")
    metadata = dict(source=label, command=_command(args, learner), inputs_sha256=corpus.inputs_sha256(),
                    corpus=dict(settings=corpus.settings, summary=corpus.summary(), files=corpus.files,
                                not_used=[dict(path=r["path"], status=r["status"]) for r in corpus.report
                                          if r["status"] != "used"],
                                performers=corpus.performers))
    if validation is not None:
        metadata["selection"] = validation
    network = learner.to_network(**metadata)
    save = save_temporal_network if args.temporal else save_network
    path = save(network, args.output, dtype="float16" if args.float16 else "float32")
    if args.files_csv:
        _write_files_csv(corpus.files, args.files_csv)
        print(f"learn-lifter: wrote the list of the {len(corpus.files)} files used to {args.files_csv}")
    print(f"learn-lifter: layers {'-'.join(map(str, network.layer_sizes))}, {learner.n_samples_} samples over "
          f"{learner.n_epochs} epochs, final loss {learner.loss_curve_[-1]:.4f}, {learner.seconds_:.0f} s")
    print(f"learn-lifter: wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
