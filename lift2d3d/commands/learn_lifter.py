"""``lift2d3d learn-lifter``: learn a lifting network from a MoCap corpus and write a network file."""

from __future__ import annotations

NAME = "learn-lifter"
HELP = ("Learn a lifting network (2D keypoints -> camera-frame 3D) from a MoCap corpus alone: random views, "
        "scikit-learn MLP (pip install 'lift2d3d[train]').")

# The shipped bases/cmu_lifter15.npz is `lift2d3d learn-lifter --mocap /tmp/cmu -o bases/cmu_lifter15.npz` with the
# defaults below, which are LifterLearner's (chosen by --select, see bases/README.md).

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


def add_arguments(parser):
    from ._options import add_corpus_arguments

    parser.add_argument("--mocap", nargs="+", metavar="DIR", required=True,
                        help="a MoCap corpus: folders (searched recursively), glob patterns or files of mixed formats "
                             "(.amc with its .asf, .bvh, DeepMimic .txt), walked as learn-bases --mocap walks them; "
                             "every file is recorded with its SHA-256 in the network's metadata")
    corpus = parser.add_argument_group("corpus")
    add_corpus_arguments(corpus)
    corpus.add_argument("--files-csv", metavar="FILE",
                        help="also write the files the network was learned from (path, format, take, performer, "
                             "SHA-256) as CSV: the model card's list")
    parser.add_argument("-o", "--output", required=True, help="network file to write (.npz)")
    net = parser.add_argument_group("network and training (defaults: the shipped network's)")
    net.add_argument("--hidden", type=int, nargs="+", metavar="UNITS", help="hidden layer sizes (default 512 512 512)")
    net.add_argument("--epochs", type=int, help="passes over freshly drawn views (default 60)")
    net.add_argument("--views", type=int, help="views of each pose per epoch (default 4)")
    net.add_argument("--alpha", type=float, help="L2 weight penalty (default 1e-4)")
    net.add_argument("--batch-size", type=int, help="mini-batch size (default 512)")
    net.add_argument("--learning-rate", type=float, help="peak learning rate of Adam (default 2e-3)")
    net.add_argument("--augmentation", metavar="JSON",
                     help="changes to the view augmentation, a JSON object of lift2d3d.learn_lifter.Augmentation "
                          "fields (e.g. '{\"perspective\": 0.3}')")
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


def _settings(args) -> dict:
    """LifterLearner keyword arguments the flags set (the others keep the learner's defaults)."""
    import json

    given = dict(hidden=args.hidden, n_epochs=args.epochs, views_per_pose=args.views, alpha=args.alpha,
                 batch_size=args.batch_size, learning_rate=args.learning_rate)
    settings = {k: v for k, v in given.items() if v is not None}
    if args.no_flip:
        settings["flip"] = False
    if args.augmentation:
        settings["augmentation"] = json.loads(args.augmentation)
    return settings


def _grid(args) -> list:
    import json
    from pathlib import Path

    if not args.grid:
        return [dict(c) for c in DEFAULT_GRID]
    text = Path(args.grid).read_text() if Path(args.grid).is_file() else args.grid
    grid = json.loads(text)
    if not isinstance(grid, list) or not all(isinstance(c, dict) for c in grid) or not grid:
        raise ValueError("--grid must be a JSON list of objects (one per candidate)")
    return grid


def _command(args, learner) -> str:
    """The command line that re-creates the network (the corpus roots as given, every setting explicit)."""
    import json
    import shlex

    from ..learn_lifter import Augmentation
    from ..mocap.corpus import FORMATS

    params = learner.get_params()
    parts = ["lift2d3d", "learn-lifter", "--mocap", *map(str, args.mocap)]
    if args.fps != 30.0 or args.min_distance_mm != 10.0:
        parts += ["--fps", f"{args.fps:g}", "--min-distance-mm", f"{args.min_distance_mm:g}"]
    if list(args.formats) != list(FORMATS):
        parts += ["--formats", *args.formats]
    if args.keep_duplicate_takes:
        parts.append("--keep-duplicate-takes")
    if args.amc_fps != 120.0:
        parts += ["--amc-fps", f"{args.amc_fps:g}"]
    parts += ["-o", str(args.output), "--hidden", *map(str, params["hidden"]), "--epochs", str(params["n_epochs"]),
              "--views", str(params["views_per_pose"]), "--alpha", f"{params['alpha']:g}",
              "--batch-size", str(params["batch_size"]), "--learning-rate", f"{params['learning_rate']:g}"]
    default = Augmentation().as_dict()
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

    from ..learn_lifter import TRAIN_EXTRA_HINT, LifterLearner, select_lifter
    from ..learned import save_network
    from ..mocap.corpus import read_corpus
    from ._options import corpus_prefer
    from .learn_bases import _write_files_csv

    try:
        import sklearn  # noqa: F401  (fail before reading the corpus)
    except ImportError:
        print(f"learn-lifter: {TRAIN_EXTRA_HINT}", file=sys.stderr)
        return 2
    try:
        settings = _settings(args)
        grid = _grid(args) if args.select else None
        LifterLearner(**settings).get_params()        # a bad --augmentation fails here, before the corpus is read
        corpus = read_corpus(args.mocap, fps=args.fps, min_distance_mm=args.min_distance_mm, formats=args.formats,
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
    print(f"learn-lifter: {len(clips)} takes of {len(corpus.performers)} performers, {sum(map(len, clips))} poses "
          f"(at {args.fps:g} fps, near-duplicates under {args.min_distance_mm:g} mm dropped)")
    base = dict(settings, random_state=args.seed, n_threads=args.threads)
    validation = None
    try:
        if args.select:
            print(f"learn-lifter: scoring {len(grid)} candidate(s) on {args.folds} folds of performers")
            start = time.perf_counter()
            validation = select_lifter(clips, performers, grid, n_folds=args.folds,
                                       frames_per_take=args.frames_per_take, seed=args.seed, log=print, **base)
            validation["seconds"] = round(time.perf_counter() - start)
            base.update(validation["best"])
            print(f"learn-lifter: selected {validation['best'] or 'the base settings'} "
                  f"({validation['seconds']} s of selection)")
        learner = LifterLearner(**base, log=lambda line: print(f"  {line}")).fit(clips)
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
    path = save_network(network, args.output, dtype="float16" if args.float16 else "float32")
    if args.files_csv:
        _write_files_csv(corpus.files, args.files_csv)
        print(f"learn-lifter: wrote the list of the {len(corpus.files)} files used to {args.files_csv}")
    print(f"learn-lifter: layers {'-'.join(map(str, network.layer_sizes))}, {learner.n_samples_} samples over "
          f"{learner.n_epochs} epochs, final loss {learner.loss_curve_[-1]:.4f}, {learner.seconds_:.0f} s")
    print(f"learn-lifter: wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
