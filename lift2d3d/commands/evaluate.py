"""``lift2d3d evaluate``: accuracy benchmark on real MoCap seen through random cameras.

Frames of every take are projected to 2D by random cameras (azimuth
0-360 deg, elevation -15..35 deg, roll +-8 deg, 3-6 m away, focal 1000 px:
:data:`lift2d3d.evaluation.ACCURACY_VIEWS`), lifted, and scored over the 12 limb joints by PA-MPJPE (similarity
Procrustes) and by the camera-frame error after aligning only scale and
translation (which a depth flip or a wrong rotation cannot escape).

``--video`` scores videos instead: clips of consecutive frames, each seen by
one camera drawn the same way (fixed, or orbiting with ``--orbit``), lifted
frame by frame and as one person's sequence, with the jitter (VideoPose3D's
acceleration error) beside the two errors.

The figures are reported overall and per corpus (format), per performer and
per take (``--by``; ``--json`` writes every table).  Evaluation is meant for
takes the bases were not learned from: the bases' metadata lists their
training files, and takes found there are counted and warned about.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._options import add_corpus_arguments, add_lifter_arguments, check_workers, lifter_params_from_args

NAME = "evaluate"
HELP = "Accuracy benchmark: lift random 2D views of MoCap takes and report PA-MPJPE and camera-frame error."
DESCRIPTION = (
    "Lift random 2D views of MoCap takes and score them against the takes' 3D joints. Evaluate on data the bases "
    "were NOT learned from: a bases file records its training takes (metadata 'clips' and the corpus 'files' with "
    "their SHA-256), and evaluate warns when evaluated takes are among them (the same file, or the same CMU take "
    "SS_TT in another format): such figures are not held-out. Hold out whole performers for figures that "
    "generalise to new people (learn-bases --select folds by performer).")

#: Groupings of the breakdown tables.
GROUPINGS = ("corpus", "performer", "take")


def add_arguments(parser):
    parser.description = DESCRIPTION
    data = parser.add_argument_group("takes to evaluate (held out from the bases' training data)")
    data.add_argument("--mocap", nargs="+", metavar="DIR", default=[],
                      help="a MoCap corpus: folders (searched recursively), glob patterns or files of mixed formats "
                           "(.amc with its .asf, .bvh, DeepMimic .txt), walked as learn-bases --mocap walks them "
                           "(resampled to --fps; no thinning)")
    data.add_argument("--bvh-dir", metavar="DIR", help="folder of BVH takes (all *.bvh inside)")
    data.add_argument("--bvh", nargs="+", metavar="FILE", default=[], help="BVH takes")
    data.add_argument("--joints", nargs="+", metavar="FILE", default=[], help="3D joint files (CSV/NPZ, metres)")
    data.add_argument("--rig", help="BVH joint-name map of --bvh/--bvh-dir (default: detected)")
    data.add_argument("--map", metavar="FILE", help="user joint map (JSON/YAML) of --bvh/--bvh-dir")
    add_corpus_arguments(parser.add_argument_group("corpus (--mocap; --fps also resamples the --video takes)"),
                         thinning=False)
    # the lifter's options; the camera is not one of them: --camera below chooses the views' projection
    add_lifter_arguments(parser, camera=False)
    parser.add_argument("--sequence", action="store_true",
                        help="also lift each take's frames together as one person's (Lifter.lift_sequence with "
                             "smoothness=0: shared bone proportions; the frames' random cameras are no video)")
    parser.add_argument("--camera", choices=("weak", "perspective", "both"), default="both",
                        help="projection of the synthetic views (default both); the perspective lifter knows the "
                             "views' camera")
    parser.add_argument("--frames-per-take", type=int, default=20,
                        help="evenly spaced frames per take (default 20; 0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cameras (default 0)")
    parser.add_argument("--noise", type=float, default=0.0, metavar="PX",
                        help="Gaussian noise added to the 2D keypoints, pixels (default 0)")
    parser.add_argument("--missing", type=float, default=0.0, metavar="FRACTION",
                        help="fraction of the 2D joints removed at random (default 0)")
    parser.add_argument("--depth-hints", type=int, metavar="K",
                        help="also lift with K true ordinal depth relations per frame, drawn from the ground truth "
                             "among joint pairs whose depths differ by more than --depth-threshold")
    parser.add_argument("--depth-threshold", type=float, default=0.1, metavar="M",
                        help="depth difference (metres) of the pairs --depth-hints draws from (default 0.1)")
    parser.add_argument("--wrong-hints", type=float, default=0.0, metavar="F",
                        help="fraction of the --depth-hints relations turned round (default 0)")
    parser.add_argument("--components", action="store_true",
                        help="also score the fused method's two components on the same views: the lifting network "
                             "alone (--network; with --video also --temporal-network) and the geometric fit alone "
                             "(method convex+refine)")
    parser.add_argument("--baseline", action="store_true",
                        help="also score a plain baseline: 64 bases from the DeepMimic clips (no augmentation), "
                             "convex relaxation only (needs pybullet; ~1 min)")
    video = parser.add_argument_group("video (--video)")
    video.add_argument("--video", action="store_true",
                       help="temporal evaluation: clips of consecutive frames at --fps, one camera per clip, lifted "
                            "frame by frame (Lifter.lift) and jointly (Lifter.lift_sequence); PA-MPJPE, camera-frame "
                            "error and jitter (acceleration error, mm/frame^2) side by side")
    video.add_argument("--clip-frames", type=int, default=60, help="frames per clip (default 60)")
    video.add_argument("--clips-per-take", type=int, default=2,
                       help="clips per take, evenly spread over it (default 2; takes shorter than a clip are skipped)")
    video.add_argument("--orbit", type=float, default=0.0, metavar="DEG",
                       help="the camera turns this far about the person over each clip (default 0: fixed)")
    out = parser.add_argument_group("output")
    out.add_argument("--by", nargs="+", choices=GROUPINGS + ("none",),
                     help="breakdown tables to print: corpus, performer, take, or none (default: corpus and performer "
                          "where they have more than one group)")
    out.add_argument("--json", metavar="FILE", help="write every figure (overall, per corpus, per performer, per take) "
                                                    "and the held-out check as JSON")


@dataclass
class _Take:
    """One take to evaluate: its labels and its valid frames."""

    name: str
    corpus: str
    performer: str
    performer_known: bool
    path: str
    sha256: str
    joints3d: object      # (n, 15, 3) metres
    up: object            # (3,)

    def group(self, by: str) -> str:
        if by == "performer":
            return self.performer if self.performer_known else f"{self.performer} (folder)"
        return self.corpus if by == "corpus" else self.name


def _read_takes(args) -> list:
    """The takes of --bvh, --bvh-dir, --joints and --mocap (valid frames; resampled to --fps with --video)."""
    import glob
    import sys
    from pathlib import Path

    import numpy as np

    from ..mocap import read_bvh, read_joints
    from ..mocap.corpus import file_sha256, performer_of, resample_indices

    paths = list(args.bvh)
    if args.bvh_dir:
        found = sorted(glob.glob(str(Path(args.bvh_dir) / "*.bvh")))
        if not found:
            raise ValueError(f"no .bvh files in {args.bvh_dir}")
        paths += found
    takes = []
    for path in paths + list(args.joints):
        is_bvh = path in paths
        clip = read_bvh(path, rig=args.rig, mapping=args.map) if is_bvh else read_joints(path)
        if clip.n_invalid:
            print(f"evaluate: {path}: skipping {clip.n_invalid} frames with NaN/inf joints", file=sys.stderr)
        joints = clip.joints3d
        if args.video:
            joints = joints[resample_indices(len(joints), clip.fps, args.fps)]
        joints = joints[np.all(np.isfinite(joints), axis=(1, 2))]
        performer, known = performer_of(path)
        takes.append(_Take(name=str(path), corpus="bvh" if is_bvh else "joints", performer=performer,
                           performer_known=known, path=str(path), sha256=file_sha256(path), joints3d=joints,
                           up=np.asarray(clip.up, dtype=np.float64)))
    if args.mocap:
        from ._options import corpus_prefer
        from ..mocap.corpus import read_corpus

        corpus = read_corpus(args.mocap, fps=args.fps, min_distance_mm=0.0, formats=args.formats,
                             prefer=corpus_prefer(args), amc_fps=args.amc_fps)
        for row in corpus.report:
            if row["status"] not in ("used",) and not row["status"].startswith("duplicate"):
                print(f"evaluate: {row['path']}: {row['status']}", file=sys.stderr)
        roots = [Path(root).resolve() for root in args.mocap]
        for take in corpus.takes:
            label = take.file.format
            if len(roots) > 1:   # several corpora: name each by its folder as well
                resolved = Path(take.file.path).resolve()
                root = next((r for r in roots if resolved.is_relative_to(r)), None)
                label = f"{root.name if root else '?'}:{label}"
            takes.append(_Take(name=take.file.relpath, corpus=label, performer=take.performer,
                               performer_known=take.file.performer_known, path=str(take.file.path),
                               sha256=take.sha256, joints3d=take.joints3d, up=np.array([0.0, 1.0, 0.0])))
    takes = [t for t in takes if len(t.joints3d)]
    if not takes:
        raise ValueError("give takes to evaluate: --mocap DIR, --bvh-dir DIR, --bvh FILES or --joints FILES")
    return takes


def training_overlap(metadata: dict, takes) -> dict:
    """Which evaluated takes the bases were learned from, by their metadata.

    A take counts when its file's SHA-256 is among the corpus ``files``, its
    path is one of the ``clips``, or it is a CMU take ``SS_TT`` whose name is
    among the training takes (the same motion in another format).

    Returns
    -------
    dict
        ``takes`` (names of the evaluated takes used), ``performers`` (known
        performers both evaluated and trained on), ``checked`` (whether the
        metadata lists training takes at all).
    """
    from pathlib import Path

    from ..mocap.corpus import performer_of

    files = (metadata.get("corpus") or {}).get("files") or []
    clips = metadata.get("clips") or []
    shas = {entry.get("sha256") for entry in files if entry.get("sha256")}
    names = {entry["take"] for entry in files if entry.get("take") and performer_of(entry["path"])[1]}
    names |= {Path(clip).stem for clip in clips if performer_of(clip)[1]}
    def listed(path):
        # a clip is recorded as given to learn-bases (absolute, or relative to the corpus folder): a take is
        # that clip when its resolved path is the clip's, or ends with the clip's relative parts
        import os

        resolved = Path(path).resolve().parts
        for clip in clips:
            if Path(clip).resolve().parts == resolved:
                return True
            parts = Path(os.path.normpath(clip)).parts
            if not Path(clip).is_absolute() and ".." not in parts and resolved[-len(parts):] == parts:
                return True
        return False

    used = [t.name for t in takes if t.sha256 in shas or listed(t.path)
            or (t.performer_known and Path(t.path).stem in names)]
    trained = set((metadata.get("corpus") or {}).get("performers") or [])
    trained |= {entry.get("performer") for entry in files if entry.get("performer")}
    performers = sorted({t.performer for t in takes if t.performer_known and t.performer in trained})
    return dict(takes=used, performers=performers, checked=bool(files or clips))


def _still_frames(takes, frames_per_take):
    """Evenly spaced frames of every take: poses (n, P, 3), ups (n, 3), take index (n,)."""
    import numpy as np

    poses, ups, index = [], [], []
    for k, take in enumerate(takes):
        rows = np.arange(len(take.joints3d))
        if frames_per_take and len(rows) > frames_per_take:
            rows = rows[np.linspace(0, len(rows) - 1, frames_per_take).round().astype(int)]
        poses.append(take.joints3d[rows])
        ups.append(np.broadcast_to(take.up, (len(rows), 3)))
        index.append(np.full(len(rows), k))
    return np.concatenate(poses), np.concatenate(ups), np.concatenate(index)


def _degrade(keypoints, noise, missing, rng):
    """Keypoints with Gaussian noise (px) and a fraction of joints missing (NaN); unchanged when both are 0."""
    import numpy as np

    if noise > 0:
        keypoints = keypoints + rng.normal(0.0, noise, keypoints.shape)
    if missing > 0:
        keypoints = keypoints.copy()
        keypoints[rng.random(keypoints.shape[:2]) < missing] = np.nan
    return keypoints


def _score(params, camera3d, keypoints, perspective, takes=None, depth_order=None):
    import numpy as np

    from ..evaluation import VIEW_CAMERA, NetworkLifts, score_lifts
    from ..lifter import Lifter

    camera = VIEW_CAMERA if perspective else None
    lifter = NetworkLifts(params["network"], camera) if params.get("method") == "network" else \
        Lifter(**params, camera=camera)
    warm = np.flatnonzero(np.all(np.isfinite(keypoints), axis=(1, 2)))[:2]
    lifter.lift(keypoints[warm if len(warm) else [0]])  # compile the kernels outside the timing
    if depth_order is not None:
        lifter.lift(keypoints[:2], depth_order=depth_order[:2])
    scores = score_lifts(lifter, keypoints, camera3d, takes=takes, depth_order=depth_order,
                         sequence_options=dict(smoothness=0.0))
    return dict(scores, ms=1000.0 * scores["seconds"] / len(keypoints))


def _mean(values):
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def _median(values):
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    return float(np.median(values)) if len(values) else float("nan")


def _still_summary(pa, st, failed):
    return dict(frames=int(len(pa) + failed), failed=int(failed), pa_mpjpe_mm=_mean(pa), pa_mpjpe_median_mm=_median(pa),
                camera_error_mm=_mean(st), camera_error_median_mm=_median(st))


def _ordered(keys, by):
    """The groups of a breakdown: corpora as found, performers and takes by name (numbers as numbers)."""
    unique = list(dict.fromkeys(str(k) for k in keys))
    if by == "corpus":
        return unique
    return sorted(unique, key=lambda k: (0, int(k), k) if k.isdigit() else (1, 0, k))


def _still_groups(takes, frame_take, scores, by):
    """Rows of one breakdown: the summary of each group's frames (in order of first appearance)."""
    import numpy as np

    lifted = scores["lifted"]
    keys = np.array([takes[k].group(by) for k in frame_take])
    lifted_keys = keys[lifted]
    rows = []
    for key in _ordered(keys, by):
        mine = lifted_keys == key
        n_takes = len({k for k, g in zip(frame_take, keys) if g == key})
        failed = int(np.count_nonzero((keys == key) & ~lifted))
        summary = _still_summary(scores["pa"][mine], scores["st"][mine], failed)
        rows.append(dict(group=str(key), takes=n_takes, **summary))
    return rows


def _video_summary(errors):
    """Figures of a list of per-clip :func:`~lift2d3d.evaluation.video_errors`."""
    import numpy as np

    pa = np.concatenate([e["pa"] for e in errors]) if errors else np.zeros(0)
    st = np.concatenate([e["st"] for e in errors]) if errors else np.zeros(0)
    accel = [e["accel"] for e in errors]
    failed = sum(e["failed"] for e in errors)
    return dict(clips=len(errors), frames=int(len(pa) + failed), failed=int(failed), pa_mpjpe_mm=_mean(pa),
                pa_mpjpe_median_mm=_median(pa), camera_error_mm=_mean(st), camera_error_median_mm=_median(st),
                jitter_mm_per_frame2=_mean(accel), clips_with_gaps=int(np.count_nonzero(~np.isfinite(accel))))


def _ratios(per_frame, temporal):
    keys = ("pa_mpjpe_mm", "camera_error_mm", "jitter_mm_per_frame2")
    return {k: temporal[k] / per_frame[k] if per_frame[k] else float("nan") for k in keys}


def _video_groups(takes, clip_take, scored, by):
    rows = []
    keys = [takes[k].group(by) for k in clip_take]
    for key in _ordered(keys, by):
        mine = [i for i, g in enumerate(keys) if g == key]
        ways = {way: _video_summary([scored[way][i] for i in mine]) for way in ("per_frame", "temporal")}
        rows.append(dict(group=str(key), takes=len({clip_take[i] for i in mine}), **ways,
                         ratios=_ratios(ways["per_frame"], ways["temporal"])))
    return rows


def _tables(args, groupings):
    """The breakdowns to print: the ones asked for, or by default those with more than one group."""
    if args.by is None:
        return [by for by, rows in groupings.items() if by != "take" and len(rows) > 1]
    return [] if "none" in args.by else [by for by in GROUPINGS if by in args.by]


def _print_still_tables(args, result_rows):
    """Breakdown tables of the first model: one column pair (PA-MPJPE, camera-frame) per camera."""
    first = [r for r in result_rows if r["model"] == result_rows[0]["model"]]
    for by in _tables(args, first[0]["by"]):
        print(f"\nby {by} ({first[0]['model']}; mean mm over the frames lifted; failed: not lifted, all cameras):")
        head = "".join(f" {r['camera'] + ' PA':>16} {'camera-frame':>13}" for r in first)
        print(f"  {by:<36} {'takes':>6} {'frames':>7} {'failed':>7}{head}")
        for i, row in enumerate(first[0]["by"][by]):
            cells = "".join(f" {r['by'][by][i]['pa_mpjpe_mm']:16.1f} {r['by'][by][i]['camera_error_mm']:13.1f}"
                            for r in first)
            failed = sum(r["by"][by][i]["failed"] for r in first)
            print(f"  {row['group'][-36:]:<36} {row['takes']:6d} {row['frames']:7d} {failed:7d}{cells}")


def _run_stills(args, params, takes, tmp):
    import numpy as np

    from ..evaluation import random_projections

    poses, ups, frame_take = _still_frames(takes, args.frames_per_take)
    models = [(f"bases={args.bases} method={args.method}", params, None)]
    if args.components:
        models += [(f"  the network alone (network={args.network})", dict(network=params["network"], method="network"),
                    None),
                   (f"  the geometric fit alone (bases={args.bases} method=convex+refine)",
                    dict(params, method="convex+refine"), None)]
    if args.sequence:
        models.append((f"bases={args.bases} method={args.method}, each take a sequence", params, frame_take))
    if args.depth_hints:
        wrong = f", {100 * args.wrong_hints:g}% wrong" if args.wrong_hints else ""
        models.append((f"  with {args.depth_hints} depth relations per frame{wrong}", params, "hints"))
    if args.baseline:
        from pathlib import Path

        from ..learn import BasisLearner
        from ..mocap import deepmimic_clips, read_deepmimic

        training = np.concatenate([read_deepmimic(p).joints3d for p in deepmimic_clips()])
        learner = BasisLearner(n_bases=64, alpha=0.05, mirror=False, n_proportion_copies=0).fit(training)
        path = learner.to_shape_bases(source="baseline").save(Path(tmp) / "baseline.npz")
        models.append(("baseline: 64 DeepMimic bases, no augmentation, method=convex",
                       dict(bases=path, method="convex", n_threads=params["n_threads"]), None))
    cameras = ["weak", "perspective"] if args.camera == "both" else [args.camera]
    print(f"evaluate: {len(poses)} frames from {len(takes)} take(s); random cameras seed {args.seed}"
          f"{_degradation(args)}; errors over the 12 limb joints, mm")
    print(f"{'model':<62} {'camera':<12} {'PA-MPJPE':>9} {'(median)':>9} {'camera-frame':>13} {'(median)':>9} "
          f"{'failed':>7} {'ms/frame':>9}")
    plain, rows = {}, []
    for label, model, sequence in models:
        for camera in cameras:
            camera3d, keypoints = random_projections(poses, args.seed, camera == "perspective", ups)[:2]
            keypoints = _degrade(keypoints, args.noise, args.missing, np.random.default_rng(args.seed + 11))
            hints, takes_of_frames = None, sequence
            if isinstance(sequence, str):      # the depth-hint model (for every camera), not a sequence
                from ..evaluation import sample_depth_relations
                from ..skeletons import get_skeleton

                names = get_skeleton("body15").joints
                hints = sample_depth_relations(camera3d, names, args.depth_hints, np.random.default_rng(args.seed + 7),
                                               args.depth_threshold, args.wrong_hints)
                takes_of_frames = None
            s = _score(model, camera3d, keypoints, camera == "perspective", takes_of_frames, hints)
            print(f"{label:<62} {camera:<12} {_mean(s['pa']):9.1f} {_median(s['pa']):9.1f} "
                  f"{_mean(s['st']):13.1f} {_median(s['st']):9.1f} {s['failed']:7d} {s['ms']:9.2f}")
            rows.append(dict(model=label.strip(), camera=camera, ms_per_frame=s["ms"],
                             overall=_still_summary(s["pa"], s["st"], s["failed"]),
                             by={by: _still_groups(takes, frame_take, s, by) for by in GROUPINGS}))
            if label == models[0][0]:
                plain[camera] = s
            elif hints is not None and np.array_equal(plain[camera]["lifted"], s["lifted"]):
                base = plain[camera]
                worse = s["st"] - base["st"]
                print(f"{'':<62} {camera:<12} ratio to no hints: PA-MPJPE {s['pa'].mean() / base['pa'].mean():.2f}x, "
                      f"camera-frame {s['st'].mean() / base['st'].mean():.2f}x; frames worse by > 5 mm: "
                      f"{np.count_nonzero(worse > 5)} of {len(worse)} (worst {worse.max():+.1f} mm); speed "
                      f"{base['ms'] / s['ms']:.2f}x")
    _print_still_tables(args, rows)
    return rows


def _degradation(args) -> str:
    parts = ([f"noise {args.noise:g} px"] if args.noise else []) + (
        [f"{100 * args.missing:g}% of the joints missing"] if args.missing else [])
    return "; " + ", ".join(parts) if parts else ""


def _run_video(args, params, takes):
    import numpy as np

    from ..evaluation import VIEW_CAMERA, NetworkLifts, clip_starts, score_clips, view_clip
    from ..lifter import Lifter

    clips, clip_take = [], []
    for k, take in enumerate(takes):
        for start in clip_starts(len(take.joints3d), args.clip_frames, args.clips_per_take):
            clips.append(take.joints3d[start:start + args.clip_frames])
            clip_take.append(k)
    short = sum(1 for k in range(len(takes)) if k not in set(clip_take))
    if not clips:
        raise ValueError(f"no take has {args.clip_frames} frames at {args.fps:g} fps (--clip-frames)")
    cameras = ["weak", "perspective"] if args.camera == "both" else [args.camera]
    moving = f"orbiting {args.orbit:g} deg per clip" if args.orbit else "fixed"
    print(f"evaluate --video: {len(clips)} clips of {args.clip_frames} frames at {args.fps:g} fps from "
          f"{len(takes) - short} take(s) ({short} shorter than a clip skipped); one {moving} camera per clip, seed "
          f"{args.seed}{_degradation(args)}; errors over the 12 limb joints, mm; jitter: acceleration error, "
          "mm/frame^2")
    print(f"{'model':<44} {'camera':<12} {'lifting':<10} {'PA-MPJPE':>9} {'(median)':>9} {'camera-frame':>13} "
          f"{'(median)':>9} {'jitter':>8} {'failed':>7} {'ms/frame':>9}")
    label = f"bases={args.bases} method={args.method}"
    models = [(label, params)]
    if args.components:
        temporal = params.get("temporal_network")
        models += [("  the geometric fit alone (method=convex+refine)", dict(params, method="convex+refine")),
                   (f"  the networks alone ({args.network}, temporal {temporal})",
                    dict(network=params["network"], temporal=temporal, method="network"))]
    rows = []
    for camera in cameras:
        perspective = camera == "perspective"
        rng = np.random.default_rng(args.seed)   # the same cameras, noise and gaps for every projection
        views = [view_clip(joints, takes[k].up, rng, args.noise, args.missing, perspective, args.orbit)
                 for joints, k in zip(clips, clip_take)]
        n_frames = sum(len(v.keypoints) for v in views)
        for name, model in models:
            view_camera = VIEW_CAMERA if perspective else None
            lifter = (NetworkLifts(model["network"], view_camera, model["temporal"]) if model["method"] == "network"
                      else Lifter(**model, camera=view_camera))
            lifter.lift_sequence(views[0].keypoints[:10], views[0].scores[:10], fps=args.fps)  # compile, untimed
            scored = score_clips(lifter, views, fps=args.fps)
            ways = {way: _video_summary(scored[way]) for way in ("per_frame", "temporal")}
            for way, summary in ways.items():
                ms = 1000.0 * scored["seconds"][way] / n_frames
                print(f"{name:<44} {camera:<12} {way.replace('_', ' '):<10} {summary['pa_mpjpe_mm']:9.1f} "
                      f"{summary['pa_mpjpe_median_mm']:9.1f} {summary['camera_error_mm']:13.1f} "
                      f"{summary['camera_error_median_mm']:9.1f} {summary['jitter_mm_per_frame2']:8.1f} "
                      f"{summary['failed']:7d} {ms:9.2f}")
            ratios = _ratios(ways["per_frame"], ways["temporal"])
            print(f"{'':<44} {camera:<12} temporal / per frame: PA-MPJPE {ratios['pa_mpjpe_mm']:.2f}x, camera-frame "
                  f"{ratios['camera_error_mm']:.2f}x, jitter {ratios['jitter_mm_per_frame2']:.2f}x")
            rows.append(dict(model=name.strip(), camera=camera, **ways, ratios=ratios,
                             ms_per_frame={way: 1000.0 * s / n_frames for way, s in scored["seconds"].items()},
                             by={by: _video_groups(takes, clip_take, scored, by) for by in GROUPINGS}))
    for row in rows:
        for by in _tables(args, row["by"]):
            print(f"\nby {by} ({row['model']}, {row['camera']} camera; mean mm over the frames lifted, jitter "
                  "mm/frame^2): per frame -> temporal")
            print(f"  {by:<36} {'clips':>6} {'frames':>7} {'PA-MPJPE':>17} {'camera-frame':>17} {'jitter':>17}")
            for g in row["by"][by]:
                a, b = g["per_frame"], g["temporal"]
                cells = "".join(f" {a[k]:7.1f} -> {b[k]:6.1f}"
                                for k in ("pa_mpjpe_mm", "camera_error_mm", "jitter_mm_per_frame2"))
                print(f"  {g['group'][-36:]:<36} {a['clips']:6d} {a['frames']:7d}{cells}")
    return rows


def _settings(args) -> dict:
    keys = ("mocap", "bvh_dir", "bvh", "joints", "rig", "map", "fps", "formats", "keep_duplicate_takes", "amc_fps",
            "bases", "method", "network", "temporal_network", "loss", "alpha", "refine_alpha", "symmetry", "beta",
            "prior_weight", "prior_scale", "n_starts", "camera", "frames_per_take", "seed", "noise", "missing",
            "sequence", "components", "depth_hints", "depth_threshold", "wrong_hints", "baseline",
            "video", "clip_frames", "clips_per_take", "orbit")
    return {k: getattr(args, k) for k in keys}


def run(args) -> int:
    import json
    import sys
    import tempfile

    from ..bases import BasesFileError
    from ..lifter import Lifter

    if args.video and (args.sequence or args.depth_hints or args.baseline):
        print("evaluate: --video compares per-frame and temporal lifting of the given bases; --sequence, "
              "--depth-hints and --baseline belong to the still-frame evaluation", file=sys.stderr)
        return 2
    if not 0 <= args.missing < 1 or args.noise < 0:
        print("evaluate: --missing must be in [0, 1) and --noise >= 0", file=sys.stderr)
        return 2
    if args.video and args.clip_frames < 3:
        print("evaluate: --clip-frames must be at least 3 (the jitter needs second differences)", file=sys.stderr)
        return 2
    try:
        check_workers(args)
        params = lifter_params_from_args(args)
        bases = Lifter(**params).bases        # a bad option fails here, before the takes are read
        takes = _read_takes(args)
    except (BasesFileError, ValueError, FileNotFoundError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    overlap = training_overlap(bases.metadata, takes)
    if overlap["takes"]:
        print(f"evaluate: warning: {len(overlap['takes'])} of the {len(takes)} evaluated takes were used to learn "
              f"these bases: the figures are not held-out (e.g. {', '.join(overlap['takes'][:3])})")
    elif overlap["performers"]:
        print(f"evaluate: note: {len(overlap['performers'])} of the evaluated performers also performed takes the "
              "bases were learned from: held out by take, not by performer")
    elif not overlap["checked"]:
        print("evaluate: note: the bases' metadata lists no training takes; held-out cannot be checked")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rows = _run_video(args, params, takes) if args.video else _run_stills(args, params, takes, tmp)
        except ValueError as exc:
            print(f"evaluate: {exc}", file=sys.stderr)
            return 2
    if not args.video:
        print("targets (the prior issue, on Bandai-Namco-1): PA-MPJPE <= 40 mm, camera-frame error (scale+translation "
              "aligned) <= 52 mm")
    if args.json:
        report = dict(settings=_settings(args), bases_source=bases.metadata.get("source"),
                      held_out=dict(takes_used_for_training=overlap["takes"],
                                    performers_in_training=overlap["performers"], checked=overlap["checked"]),
                      takes=[dict(name=t.name, corpus=t.corpus, performer=t.performer,
                                  performer_known=t.performer_known, sha256=t.sha256, frames=len(t.joints3d))
                             for t in takes],
                      results=rows)
        with open(args.json, "w") as handle:
            json.dump(_jsonable(report), handle, indent=1, allow_nan=False)
        print(f"evaluate: wrote {args.json}")
    return 0


def _jsonable(value):
    """Plain JSON values: NumPy numbers as Python numbers, NaN (no frame to average) as null."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
