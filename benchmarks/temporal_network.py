"""The temporal lifting network alone, against the per-frame network alone and against ``lift_sequence``.

Clips of ``--clip-frames`` consecutive frames (60: 2 s at 30 fps; ``--clips-per-take`` evenly spread
per take, :func:`lift2d3d.evaluation.clip_starts`) are seen by one camera each
(:func:`lift2d3d.evaluation.view_clip`, as ``lift2d3d evaluate --video``: a pinhole of focal 1000 px
at 3-6 m, azimuth 0-360, elevation -15..35, roll +-8 deg) under the conditions of
:data:`lift2d3d.learn_lifter.CLIP_CONDITIONS`: a fixed camera with 1 px of noise; a camera orbiting
30 deg over the clip, 1 px; weak perspective, 1 px; a fixed camera with 4 px and 10 % of the joints
missing.  Each clip is lifted by

* the temporal network alone (``TemporalNetwork.predict_keypoints``), centred and causal;
* the per-frame network alone (``LiftingNetwork.predict_keypoints``);
* ``Lifter(bases, camera=...).lift`` frame by frame and ``.lift_sequence`` (the geometric fit);

and scored over the 12 limb joints: PA-MPJPE and the camera-frame error (mm, per frame), the
acceleration error (mm/frame^2, per clip), as :func:`lift2d3d.evaluation.video_errors` computes them.

Two data sets:

``--mocap DIR`` (the CMU training corpus, every frame at 30 fps)
    held-out performers: the corpus is split into ``--folds`` folds of performers (by frames,
    :func:`lift2d3d.mocap.corpus.performer_folds`); for fold ``--fold`` the temporal networks (the
    shipped networks' settings, read from their cards), the per-frame network (``LifterLearner``'s
    defaults, on the takes thinned at 10 mm as ``learn-lifter`` reads them) and the bases
    (``benchmarks/heldout_cmu.py``'s shipped settings) are learned from the other folds and kept in
    ``--work``.
``--bvh-dir DIR`` (Bandai Namco Research Motion 1: validation only, never learned from or tuned on)
    the shipped networks (``--temporal``, ``--causal``, ``--network``: names or files) and bases.

::

    python benchmarks/temporal_network.py --mocap /tmp/cmu                       # fold 0; learns its models once
    python benchmarks/temporal_network.py --bvh-dir ../shared/mocap/bandai-namco-1/data
    python benchmarks/temporal_network.py --bvh-dir ../shared/mocap/bandai-namco-1/data --fps 60 --no-lifter
    OPENBLAS_NUM_THREADS=1 python benchmarks/temporal_network.py --speed 100000   # forward passes, one core

``--fps`` resamples the clips (the clip keeps ``--clip-frames`` frames): the networks take any rate.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lift2d3d import Lifter, ShapeBases  # noqa: E402
from lift2d3d.evaluation import VIEW_CAMERA, video_errors  # noqa: E402
from lift2d3d.learn_lifter import CLIP_CONDITIONS, held_out_clips, lift_clips  # noqa: E402
from lift2d3d.learned import (LiftingNetwork, TemporalNetwork, load_network, load_temporal_network,  # noqa: E402
                              save_network, save_temporal_network)
from lift2d3d.skeletons import BODY15, LIMB_JOINTS  # noqa: E402

LIMBS = [BODY15.index(j) for j in LIMB_JOINTS]


# ------------------------------------------------------------------------------------------ takes
def bvh_takes(folder, fps):
    """(joints3d at ``fps``, up) of every BVH in ``folder`` (rig detected), valid frames only."""
    from lift2d3d.mocap import read_bvh
    from lift2d3d.mocap.corpus import resample_indices

    takes = []
    for path in sorted(Path(folder).glob("*.bvh")):
        clip = read_bvh(path)
        joints = clip.joints3d[resample_indices(len(clip.joints3d), clip.fps, fps)]
        takes.append((joints[np.all(np.isfinite(joints), axis=(1, 2))], np.asarray(clip.up, dtype=np.float64)))
    if not takes:
        raise SystemExit(f"no .bvh files in {folder}")
    return takes


def learner_settings(card_method: dict, learner_class) -> dict:
    """A learner's keyword arguments from a network card's ``method`` (the fields the learner takes)."""
    import inspect

    names = set(inspect.signature(learner_class.__init__).parameters) - {"self", "log"}
    return {k: v for k, v in card_method.items() if k in names}


def _tag(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def fold_models(args, work: Path):
    """Held-out CMU fold ``args.fold``: its clips' takes and the models learned without them (cached in ``work``)."""
    from heldout_cmu import SHIPPED, fold_bases

    from lift2d3d.learn_lifter import LifterLearner, TemporalLifterLearner
    from lift2d3d.mocap.corpus import performer_folds, read_corpus
    from lift2d3d.mocap.poses import thin_poses

    corpus = read_corpus(args.mocap, min_distance_mm=0.0)
    takes = [t.joints3d for t in corpus.takes]
    performers = [t.performer for t in corpus.takes]
    fold_of = performer_folds(performers, args.folds, weights=[len(t) for t in takes])
    train = [t for t, f in zip(takes, fold_of) if f != args.fold]
    held = [(t, np.array([0.0, 1.0, 0.0])) for t, f in zip(takes, fold_of) if f == args.fold]
    print(f"held-out fold {args.fold} of {args.folds}: performers "
          f"{', '.join(sorted({p for p, f in zip(performers, fold_of) if f == args.fold}))}; {len(held)} takes")
    models = {}
    for name, source in (("temporal", args.temporal), ("causal", args.causal)):
        if source in (None, "none"):
            continue
        settings = learner_settings(load_temporal_network(source).metadata["method"], TemporalLifterLearner)
        settings.update(json.loads(args.temporal_settings))
        # named by the learner's resolved settings: new defaults never reuse an old file
        tag = _tag(TemporalLifterLearner(**settings).get_params())
        path = work / f"fold{args.fold}of{args.folds}_temporal_{tag}.npz"
        if not path.exists():
            start = time.perf_counter()
            learner = TemporalLifterLearner(**settings).fit(train)
            save_temporal_network(learner.to_network(source=f"CMU without fold {args.fold}"), path)
            print(f"{name}: learned without fold {args.fold} in {time.perf_counter() - start:.0f} s ({path})")
        models[name] = load_temporal_network(path)
    # the per-frame network and the bases learn from the takes thinned as learn-lifter and learn-bases read them
    thinned = [t[thin_poses(t, 0.01)] for t in takes]
    if args.network not in (None, "none"):
        settings = json.loads(args.network_settings)
        path = work / f"fold{args.fold}of{args.folds}_frame_{_tag(LifterLearner(**settings).get_params())}.npz"
        if not path.exists():
            start = time.perf_counter()
            learner = LifterLearner(**settings).fit([t for t, f in zip(thinned, fold_of) if f != args.fold])
            save_network(learner.to_network(source=f"CMU without fold {args.fold}"), path)
            print(f"per-frame network: learned without fold {args.fold} in {time.perf_counter() - start:.0f} s")
        models["frame"] = load_network(path)
    if not args.no_lifter:
        models["bases"] = fold_bases([SimpleNamespace(joints3d=t) for t in thinned], fold_of, args.fold, work,
                                     **SHIPPED)
    return held, models


def shipped_models(args):
    models = {}
    if args.temporal not in (None, "none"):
        models["temporal"] = load_temporal_network(args.temporal)
    if args.causal not in (None, "none"):
        models["causal"] = load_temporal_network(args.causal)
    if args.network not in (None, "none"):
        models["frame"] = load_network(args.network)
    if not args.no_lifter:
        models["bases"] = ShapeBases.load(args.bases)
    return models


def resample_takes(held, fps):
    """Takes at 30 fps played at ``fps`` (Catmull-Rom between frames)."""
    from lift2d3d.learn_lifter.videos import take_poses

    if fps == 30.0:
        return held
    return [(take_poses(t, np.arange(int((len(t) - 1) * fps / 30.0) + 1) * (30.0 / fps)), up) for t, up in held]


# ------------------------------------------------------------------------------------------ scoring
def summary(errors):
    pa = np.concatenate([e["pa"] for e in errors])
    st = np.concatenate([e["st"] for e in errors])
    accel = np.array([e["accel"] for e in errors])
    return dict(pa_mpjpe_mm=round(float(pa.mean()), 2), camera_error_mm=round(float(st.mean()), 2),
                accel_mm_per_frame2=round(float(np.nanmean(accel)), 2), failed=int(sum(e["failed"] for e in errors)),
                frames=int(len(pa) + sum(e["failed"] for e in errors)), clips=len(errors))


def run_condition(name, perspective, views, models, fps):
    rows, seconds = {}, {}
    frames = sum(len(v.keypoints) for v in views)
    labels = dict(frame="per-frame network", temporal="temporal network (centred)",
                  causal="temporal network (causal)")
    for key in ("frame", "temporal", "causal"):
        if key in models:
            start = time.perf_counter()
            lifts = lift_clips(models[key], views, perspective, fps=fps)
            seconds[labels[key]] = time.perf_counter() - start
            rows[labels[key]] = summary([video_errors(lift, v.camera3d, LIMBS) for lift, v in zip(lifts, views)])
    if "bases" in models:
        lifter = Lifter(models["bases"], camera=VIEW_CAMERA if perspective else None)
        lifter.lift_sequence(views[0].keypoints[:10], views[0].scores[:10], fps=fps)     # compile outside timing
        for way in ("lift", "lift_sequence"):
            start = time.perf_counter()
            lifts = [lifter.lift(v.keypoints, v.scores) if way == "lift" else
                     lifter.lift_sequence(v.keypoints, v.scores, fps=fps) for v in views]
            label = f"Lifter.{way}"
            seconds[label] = time.perf_counter() - start
            rows[label] = summary([video_errors(lift.joints3d, v.camera3d, LIMBS) for lift, v in zip(lifts, views)])
    for label in rows:
        rows[label]["ms_per_frame"] = round(1000.0 * seconds[label] / frames, 3)
    return rows


def print_table(name, rows):
    print(f"\n{name}")
    print(f"  {'':30} {'PA-MPJPE':>9} {'camera':>8} {'accel':>7}   {'/ per-frame net':>16}   {'/ lift_sequence':>16}"
          f" {'failed':>7} {'ms/frame':>9}")
    frame = rows.get("per-frame network")
    sequence = rows.get("Lifter.lift_sequence")
    for label, r in rows.items():
        def ratio(base):
            if base is None:
                return ""
            return f"{r['pa_mpjpe_mm'] / base['pa_mpjpe_mm']:.2f} {r['camera_error_mm'] / base['camera_error_mm']:.2f}"
        print(f"  {label:30} {r['pa_mpjpe_mm']:9.1f} {r['camera_error_mm']:8.1f} {r['accel_mm_per_frame2']:7.1f}   "
              f"{ratio(frame):>16}   {ratio(sequence):>16} {r['failed']:7d} {r['ms_per_frame']:9.3f}", flush=True)


def speed(args):
    """Frames per second of the networks' forward passes on one synthetic sequence (one BLAS thread)."""
    from threadpoolctl import threadpool_limits

    from lift2d3d.learned import normalise_keypoints

    rng = np.random.default_rng(0)
    n = args.speed
    keypoints = rng.normal(size=(1, 2, 15)) * 60 + 5 * np.sin(np.arange(n)[:, None, None] / 7.0) + 400
    w = np.ones((n, 15))
    W, _, _ = normalise_keypoints(keypoints, w)
    times = np.arange(n) / 30.0
    nets = dict(temporal=args.temporal, causal=args.causal, frame=args.network)
    with threadpool_limits(1):
        for key, source in nets.items():
            if source in (None, "none"):
                continue
            net = load_temporal_network(source) if key != "frame" else load_network(source)
            run = ((lambda: net.predict_sequence(W, w, times)) if isinstance(net, TemporalNetwork)
                   else (lambda: net.predict(W, w)))
            run()
            best = min(_timed(run) for _ in range(3))
            print(f"speed: {key} network {'-'.join(map(str, net.layer_sizes))}: {n / best:,.0f} frames/s on one core "
                  f"({n} frames, best of 3)", flush=True)


def _timed(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--mocap", nargs="+", metavar="DIR", help="training corpus: score a held-out fold of performers")
    data.add_argument("--bvh-dir", help="BVH takes never learned from (validation): score the shipped models")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold (--mocap; default 0)")
    parser.add_argument("--work", default="/tmp/lift2d3d-temporal-network", help="fold models (--mocap)")
    parser.add_argument("--temporal", default="default", help="temporal network (name or file; 'none' to skip); with "
                                                              "--mocap its card's settings are learned on the fold")
    parser.add_argument("--causal", default="causal", help="causal temporal network (name, file or 'none')")
    parser.add_argument("--network", default="default", help="per-frame network (name, file or 'none')")
    parser.add_argument("--temporal-settings", default="{}", metavar="JSON",
                        help="--mocap: changes to the temporal networks' settings")
    parser.add_argument("--network-settings", default="{}", metavar="JSON",
                        help="--mocap: LifterLearner settings of the per-frame fold network (default its defaults)")
    parser.add_argument("--bases", default="default", help="bases of the Lifter (--bvh-dir)")
    parser.add_argument("--no-lifter", action="store_true", help="skip Lifter.lift and lift_sequence")
    parser.add_argument("--conditions", nargs="+", default=[c[0] for c in CLIP_CONDITIONS],
                        help="subset of: " + "; ".join(c[0] for c in CLIP_CONDITIONS))
    parser.add_argument("--clip-frames", type=int, default=60)
    parser.add_argument("--clips-per-take", type=int, default=2)
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the clips (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--speed", type=int, default=0, metavar="N", help="time the forward passes on N frames")
    args = parser.parse_args(argv)

    result = dict(args=vars(args))
    if args.mocap or args.bvh_dir:
        if args.mocap:
            work = Path(args.work)
            work.mkdir(parents=True, exist_ok=True)
            held, models = fold_models(args, work)
        else:
            held, models = bvh_takes(args.bvh_dir, 30.0), shipped_models(args)
        held = resample_takes(held, args.fps)
        for key, model in models.items():
            if isinstance(model, (LiftingNetwork, TemporalNetwork)):
                print(f"{key}: {model!r} arrays_sha256 {model.metadata.get('arrays_sha256', '')[:16]}")
        takes, ups = [t for t, _ in held], [up for _, up in held]
        print(f"{len(takes)} takes; clips of {args.clip_frames} frames at {args.fps:g} fps, {args.clips_per_take} per "
              f"take, one camera per clip (seed {args.seed}); errors over the 12 limb joints: PA-MPJPE and "
              "camera-frame (mm), acceleration (mm/frame^2); ratios PA-MPJPE and camera-frame")
        result["conditions"] = {}
        for name, perspective, noise, missing, orbit in CLIP_CONDITIONS:
            if name not in args.conditions:
                continue
            views = held_out_clips(takes, args.seed, perspective, noise, missing, orbit,
                                   clip_frames=args.clip_frames, clips_per_take=args.clips_per_take, ups=ups)
            rows = run_condition(name, perspective, views, models, args.fps)
            print_table(f"{name} ({len(views)} clips)", rows)
            result["conditions"][name] = rows
    if args.speed:
        speed(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
