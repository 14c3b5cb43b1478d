"""The lifting network alone against the default geometric lifter, on MoCap it never saw; and its speed.

**Held-out CMU performers** (``--mocap DIR``): the corpus (``read_corpus``, the walk of
``learn-lifter --mocap``) is split into 3 folds of performers (:func:`lift2d3d.mocap.corpus.performer_folds`);
for each fold a network is learned from the other folds with the shipped network's settings (its
card's ``method``) and ``--frames-per-take`` evenly spaced frames of each held-out take are
lifted.  The geometric lifter is ``Lifter()`` (``convex+refine``) with CMU bases learned without
the fold (``benchmarks/heldout_cmu.py``'s fold bases, cached in ``--bases-work``); ``Lifter()``
with the shipped bases, which saw these performers, is printed too.

**Bandai-Namco-1** (``--bvh-dir DIR``, validation only): the frames and cameras of ``lift2d3d
evaluate --bvh-dir DIR --frames-per-take 10`` (seed 0), lifted by the shipped network and ``Lifter()``.

Cameras as ``lift2d3d evaluate``'s (azimuth 0-360, elevation -15..35, roll +-8 degrees, 3-6 m;
weak perspective, or a pinhole f = 1000 px that both lifters are told), ground-truth 2D, then
with 6 px of Gaussian noise and 2 random joints missing per frame; PA-MPJPE / camera-frame error
(scale and translation aligned) over the 12 limb joints, mm::

    python benchmarks/network.py --mocap /tmp/cmu --bvh-dir ../shared/mocap/bandai-namco-1/data
    python benchmarks/network.py --speed          # forward pass, frames/s on one core, by width and depth

The fold networks are cached in ``--work`` (default /tmp/lift2d3d-net-heldout) by their settings.
``--stamp FILE`` writes the figures into a network file's card (``validation``; the arrays and
their SHA-256 stay as they were).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lift2d3d import Lifter  # noqa: E402
from lift2d3d.evaluation import VIEW_CAMERA, score_lifts  # noqa: E402
from lift2d3d.learn_lifter import CONDITIONS, LifterLearner, held_out_views, score_network  # noqa: E402
from lift2d3d.learn_lifter.selection import evenly_spaced  # noqa: E402
from lift2d3d.learned import LiftingNetwork, load_network, save_network  # noqa: E402
from lift2d3d.mocap.corpus import performer_folds  # noqa: E402


def learner_settings(settings) -> dict:
    """Every LifterLearner setting that shapes the network (as its card records them), from some of them."""
    params = LifterLearner(**settings).get_params()
    return {k: v for k, v in params.items() if k not in ("n_threads", "skeleton")}


def fold_network(clips, fold_of, fold, settings, work: Path):
    """The network learned without fold ``fold`` (cached in ``work`` by its settings)."""
    settings = learner_settings(settings)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = work / f"fold{fold}_{key}.npz"
    if not path.exists():
        start = time.perf_counter()
        train = [c for c, f in zip(clips, fold_of) if f != fold]
        learner = LifterLearner(**settings).fit(train)
        save_network(learner.to_network(source=f"CMU corpus without fold {fold}", inputs_sha256="-",
                                        settings_key=key), path)
        print(f"fold {fold}: network learned on {sum(map(len, train))} poses in {time.perf_counter() - start:.0f} s",
              flush=True)
    return load_network(path)


def _geometric(lifter, camera3d, keypoints):
    scores = score_lifts(lifter, keypoints, camera3d)
    return scores["pa"], scores["st"]


def _row(name, pa, st):
    return dict(model=name, frames=int(len(pa)), pa_mpjpe_mm=round(float(np.mean(pa)), 1),
                camera_error_mm=round(float(np.mean(st)), 1), pa_median_mm=round(float(np.median(pa)), 1),
                camera_median_mm=round(float(np.median(st)), 1))


def heldout_cmu(args, shipped) -> list:
    from heldout_cmu import SHIPPED, fold_bases

    from lift2d3d.mocap.corpus import read_corpus

    corpus = read_corpus(args.mocap)
    takes = corpus.takes
    clips = [t.joints3d for t in takes]
    fold_of = performer_folds([t.performer for t in takes], 3, weights=[len(c) for c in clips])
    method = shipped.metadata["method"]
    settings = learner_settings({k: method[k] for k in learner_settings({}) if k in method})
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bases_work = Path(args.bases_work)
    bases_work.mkdir(parents=True, exist_ok=True)
    results = []      # (fold, condition, model, format, pa, st)
    for fold in range(3):
        held = [t for t, f in zip(takes, fold_of) if f == fold]
        picks = [evenly_spaced(len(t), args.frames_per_take) for t in held]
        poses = np.concatenate([t.joints3d[p] for t, p in zip(held, picks)])
        formats = np.concatenate([[t.file.format] * len(p) for t, p in zip(held, picks)])
        network = fold_network(clips, fold_of, fold, settings, work)
        models = {"network (trained without these performers)": network,
                  "Lifter(), CMU bases learned without them": fold_bases(takes, fold_of, fold, bases_work, **SHIPPED),
                  "Lifter(), shipped bases (saw these performers)": "default"}
        print(f"fold {fold}: {len(held)} takes of {len({t.performer for t in held})} performers, {len(poses)} frames",
              flush=True)
        for name, perspective, noise, missing in CONDITIONS:
            camera3d, keypoints = held_out_views(poses, fold, perspective, noise, missing)
            for label, model in models.items():
                if isinstance(model, LiftingNetwork):
                    s = score_network(model, camera3d, keypoints, perspective)
                    pa, st = s["pa"], s["st"]
                else:
                    lifter = Lifter(model, camera=VIEW_CAMERA if perspective else None)
                    pa, st = _geometric(lifter, camera3d, keypoints)
                results.append((fold, name, label, formats, pa, st))
    rows = []
    for name, *_ in CONDITIONS:
        for label in models:
            mine = [r for r in results if r[1] == name and r[2] == label]
            formats = np.concatenate([r[3] for r in mine])
            pa, st = np.concatenate([r[4] for r in mine]), np.concatenate([r[5] for r in mine])
            row = dict(_row(label, pa, st), condition=name)
            row["by_corpus"] = {fmt: _row(label, pa[formats == fmt], st[formats == fmt])
                                for fmt in sorted(set(formats))}
            row["folds"] = [_row(label, r[4], r[5]) for r in mine]
            rows.append(row)
    return rows


def bandai(args, shipped) -> list:
    import glob

    from lift2d3d.mocap import read_bvh

    poses, ups = [], []
    for path in sorted(glob.glob(str(Path(args.bvh_dir) / "*.bvh"))):
        clip = read_bvh(path)
        joints = clip.joints3d[np.all(np.isfinite(clip.joints3d), axis=(1, 2))]
        rows = evenly_spaced(len(joints), args.bvh_frames_per_take)
        poses.append(joints[rows])
        ups.append(np.broadcast_to(np.asarray(clip.up, dtype=np.float64), (len(rows), 3)))
    poses, ups = np.concatenate(poses), np.concatenate(ups)
    print(f"Bandai-Namco-1: {len(poses)} frames", flush=True)
    rows = []
    for name, perspective, noise, missing in CONDITIONS:
        camera3d, keypoints = held_out_views(poses, 0, perspective, noise, missing, ups=ups)
        s = score_network(shipped, camera3d, keypoints, perspective)
        rows.append(dict(_row("network (shipped)", s["pa"], s["st"]), condition=name))
        lifter = Lifter(camera=VIEW_CAMERA if perspective else None)
        rows.append(dict(_row("Lifter() (shipped bases)", *_geometric(lifter, camera3d, keypoints)), condition=name))
    return rows


def speed(args) -> list:
    """Forward pass (predict on normalised frames) on one core, frames/s, by width and depth (random weights)."""
    from threadpoolctl import threadpool_limits

    from lift2d3d.learned.network import n_inputs, n_outputs

    rng = np.random.default_rng(0)
    n = 50_000
    W = rng.normal(size=(n, 2, 15))
    W -= W.mean(axis=2, keepdims=True)
    W /= np.sqrt((W ** 2).sum(axis=1).mean(axis=1))[:, None, None]
    w = np.ones((n, 15))
    rows = []
    for hidden in ((256, 256, 256), (512, 512), (512, 512, 512), (512, 512, 512, 512), (768, 768, 768),
                   (1024, 1024), (1024, 1024, 1024)):
        sizes = (n_inputs(15),) + hidden + (n_outputs(15),)
        net = LiftingNetwork(weights=[rng.normal(size=(a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])],
                             biases=[np.zeros(b) for b in sizes[1:]], input_offset=np.zeros(sizes[0]),
                             input_scale=np.ones(sizes[0]), output_offset=np.zeros(sizes[-1]),
                             output_scale=np.ones(sizes[-1]), skeleton="body15")
        with threadpool_limits(1):
            net.predict(W[:1000], w[:1000])
            best = min(_timed(net, W, w) for _ in range(args.repeats))
        params = sum(a.size + b.size for a, b in zip(net.weights, net.biases))
        rows.append(dict(hidden=list(hidden), parameters=int(params), frames_per_s=round(n / best)))
        print(f"  {'-'.join(map(str, hidden)):<16} {params:>9,d} parameters  {n / best:>9,.0f} frames/s", flush=True)
    return rows


def _timed(net, W, w):
    start = time.perf_counter()
    net.predict(W, w)
    return time.perf_counter() - start


def _print(title, rows):
    print(f"\n{title}")
    print(f"  {'condition':<32} {'model':<48} {'frames':>7} {'PA-MPJPE':>9} {'camera-frame':>13}")
    for r in rows:
        print(f"  {r['condition']:<32} {r['model']:<48} {r['frames']:7d} {r['pa_mpjpe_mm']:9.1f} "
              f"{r['camera_error_mm']:13.1f}")
        for fmt, sub in r.get("by_corpus", {}).items():
            print(f"  {'':<32} {'  ' + fmt:<48} {sub['frames']:7d} {sub['pa_mpjpe_mm']:9.1f} "
                  f"{sub['camera_error_mm']:13.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="default", help="the network to score (default: the shipped one)")
    parser.add_argument("--mocap", nargs="+", help="the CMU corpus folders (held-out performers)")
    parser.add_argument("--frames-per-take", type=int, default=20, help="held-out CMU frames per take (default 20)")
    parser.add_argument("--bvh-dir", help="Bandai-Namco-1's data folder (validation only)")
    parser.add_argument("--bvh-frames-per-take", type=int, default=10)
    parser.add_argument("--work", default="/tmp/lift2d3d-net-heldout", help="cache of the fold networks")
    parser.add_argument("--bases-work", default="/tmp/lift2d3d-heldout", help="cache of the fold bases")
    parser.add_argument("--speed", action="store_true", help="time the forward pass by width and depth")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the figures")
    parser.add_argument("--stamp", help="write the figures into this network file's card (validation)")
    args = parser.parse_args(argv)
    shipped = load_network(args.network)
    report = dict(network=str(args.network), arrays_sha256=shipped.metadata["arrays_sha256"],
                  cameras="lift2d3d evaluate's: azimuth 0-360, elevation -15..35, roll +-8 deg, 3-6 m, f=1000 px",
                  joints="12 limb joints", units="mm")
    if args.speed:
        print("forward pass (LiftingNetwork.predict, 50,000 frames, one BLAS thread), random weights:")
        report["speed"] = speed(args)
    if args.mocap:
        report["heldout_cmu"] = heldout_cmu(args, shipped)
        _print("held-out CMU performers (3 folds; PA-MPJPE / camera-frame error, mm):", report["heldout_cmu"])
    if args.bvh_dir:
        report["bandai_namco_1"] = bandai(args, shipped)
        _print("Bandai-Namco-1 (validation only; the frames and cameras of `lift2d3d evaluate --frames-per-take 10`):",
               report["bandai_namco_1"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.stamp:
        target = load_network(args.stamp)
        if target.metadata["arrays_sha256"] != shipped.metadata["arrays_sha256"]:
            raise SystemExit(f"--stamp {args.stamp}: not the network scored ({args.network})")
        validation = {k: report[k] for k in ("heldout_cmu", "bandai_namco_1") if k in report}
        for rows in validation.values():
            for row in rows:
                row.pop("folds", None)
        validation.update(command="python benchmarks/network.py " + " ".join(argv if argv else sys.argv[1:]),
                          cameras=report["cameras"], joints=report["joints"])
        before = target.metadata["arrays_sha256"]
        path = save_network(target, args.stamp, dtype=target.metadata.get("weights_dtype", "float32"),
                            validation=validation)
        assert load_network(path).metadata["arrays_sha256"] == before
        print(f"stamped the figures into {path}")


if __name__ == "__main__":
    main()
