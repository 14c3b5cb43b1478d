"""The reconstruction component on held-out CMU performers: network alone, geometric fit alone, fused.

The CMU corpus is split into ``--folds`` folds of performers (as ``learn-bases --select``); for each
fold, bases (``benchmarks/heldout_cmu.py``'s, the shipped learner settings) and a lifting network (the
shipped ``learn-lifter`` settings, or ``--network-settings``) are learned from the other folds and
cached in ``--work``.  ``--frames-per-take`` evenly spaced frames of every held-out take are seen by
the accuracy benchmark's cameras (``lift2d3d.learn_lifter.held_out_views``: weak perspective and the
f = 1000 px pinhole, GT 2D, and with 6 px noise and 2 missing joints) and lifted by:

* the network alone (``LiftingNetwork.predict_keypoints``),
* ``Lifter(method="convex+refine")`` (the geometric fit alone),
* ``Lifter(method="fused")`` for every ``--fused-start`` x ``--prior-weight`` x ``--prior-scale``.

Errors over the 12 limb joints, mm: PA-MPJPE and the camera-frame error (scale and translation
aligned), per condition, pooled over the folds::

    python benchmarks/fusion.py /tmp/cmu                              # 3 folds, 10 frames per take
    python benchmarks/fusion.py /tmp/cmu --folds-run 0 --prior-weight 0.3 1 3 --prior-scale 0.1 0.3 1

Learning a fold's bases takes about 6 minutes on one core, its network about 13 minutes on two.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heldout_cmu import SHIPPED, fold_bases  # noqa: E402

from lift2d3d import Camera, Lifter  # noqa: E402
from lift2d3d.evaluation import VIEW_CAMERA, lift_errors  # noqa: E402
from lift2d3d.learn_lifter.selection import CONDITIONS, evenly_spaced, held_out_views  # noqa: E402
from lift2d3d.learned import load_network, save_network  # noqa: E402
from lift2d3d.mocap.corpus import performer_folds, read_corpus  # noqa: E402
from lift2d3d.skeletons import LIMB_JOINTS  # noqa: E402


def fold_network(takes, fold_of, fold, work: Path, settings: dict):
    """The lifting network learned without fold ``fold``'s performers (cached in ``work``)."""
    tag = "_".join(f"{k}{v}" for k, v in sorted(settings.items())).replace(" ", "").replace("[", "").replace("]", "")
    path = work / f"fold{fold}_network_{tag or 'shipped'}.npz"
    if not path.exists():
        from lift2d3d.learn_lifter import LifterLearner

        start = time.perf_counter()
        train = [t.joints3d for t, f in zip(takes, fold_of) if f != fold]
        learner = LifterLearner(**settings).fit(train)
        save_network(learner.network_, path)
        print(f"fold {fold}: network learned in {time.perf_counter() - start:.0f} s")
    return load_network(path)


def score(joints3d, camera3d, skeleton):
    index = [skeleton.index(j) for j in LIMB_JOINTS]
    errors = lift_errors(joints3d, camera3d, index)
    return errors["pa"], errors["st"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mocap", nargs="+", help="corpus folders (the unpacked CMU archives)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--folds-run", type=int, nargs="+", help="only these folds (default all)")
    parser.add_argument("--frames-per-take", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/lift2d3d-heldout")
    parser.add_argument("--network-settings", default="{}", metavar="JSON",
                        help="LifterLearner arguments of the fold networks (default: the shipped settings)")
    parser.add_argument("--network-file", metavar="TEMPLATE",
                        help="use these fold networks instead of learning them, e.g. nets/fold{fold}.npz")
    parser.add_argument("--fused-start", nargs="+", default=["geometric"],
                        choices=("geometric", "reflected", "relaxation", "network"))
    parser.add_argument("--prior-weight", type=float, nargs="+", help="fused weights to try (default: the Lifter's)")
    parser.add_argument("--prior-scale", type=float, nargs="+", help="fused scales to try (default: the Lifter's)")
    parser.add_argument("--conditions", nargs="+", default=[c[0] for c in CONDITIONS],
                        help="subset of: " + "; ".join(c[0] for c in CONDITIONS))
    parser.add_argument("--json", help="write the table here")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    takes = read_corpus(args.mocap).takes
    fold_of = performer_folds([t.performer for t in takes], args.folds, weights=[len(t) for t in takes])
    settings = json.loads(args.network_settings)
    weights = args.prior_weight or [None]
    scales = args.prior_scale or [None]
    sums = {}
    for fold in args.folds_run or range(args.folds):
        held = [t for t, f in zip(takes, fold_of) if f == fold]
        poses = np.concatenate([t.joints3d[evenly_spaced(len(t), args.frames_per_take)] for t in held])
        bases = fold_bases(takes, fold_of, fold, work, **SHIPPED)
        network = (load_network(args.network_file.format(fold=fold)) if args.network_file
                   else fold_network(takes, fold_of, fold, work, settings))
        print(f"fold {fold}: {len(held)} takes, {len(poses)} frames", flush=True)
        for name, perspective, noise, missing in CONDITIONS:
            if name not in args.conditions:
                continue
            camera3d, keypoints = held_out_views(poses, args.seed + fold, perspective, noise, missing)
            cam = Camera(**VIEW_CAMERA) if perspective else None
            rows = {}
            focal = dict(focal=VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"]) if perspective else {}
            start = time.perf_counter()
            rows["network alone"] = (score(network.predict_keypoints(keypoints, **focal), camera3d, bases.skeleton),
                                     time.perf_counter() - start)
            start = time.perf_counter()
            lifted = Lifter(bases, method="convex+refine", camera=cam).lift(keypoints)
            rows["convex+refine"] = (score(lifted.joints3d, camera3d, bases.skeleton), time.perf_counter() - start)
            for weight, scale, start in ((a, b, c) for a in weights for b in scales for c in args.fused_start):
                knobs = {k: v for k, v in (("prior_weight", weight), ("prior_scale", scale)) if v is not None}
                start_time = time.perf_counter()
                lifted = Lifter(bases, method="fused", network=network, camera=cam, fused_start=start,
                                **knobs).lift(keypoints)
                label = " ".join([f"fused start={start}"] + [f"{k}={v:g}" for k, v in knobs.items()])
                rows[label] = (score(lifted.joints3d, camera3d, bases.skeleton), time.perf_counter() - start_time)
            for label, ((pa, st), seconds) in rows.items():
                entry = sums.setdefault((name, label), [0.0, 0.0, 0, 0.0])
                entry[0] += pa.sum()
                entry[1] += st.sum()
                entry[2] += len(pa)
                entry[3] += seconds
                print(f"  fold {fold} {name:<30} {label:<40} {pa.mean():6.1f} {st.mean():6.1f}", flush=True)
    print(f"\n{'condition':<30} {'lifter':<40} {'frames':>6} {'PA-MPJPE':>9} {'camera-frame':>13} {'ms/frame':>9}")
    table = []
    for (name, label), (pa, st, n, seconds) in sums.items():
        print(f"{name:<30} {label:<40} {n:6d} {pa / n:9.1f} {st / n:13.1f} {1000 * seconds / n:9.2f}")
        table.append(dict(condition=name, lifter=label, frames=n, pa_mpjpe_mm=round(pa / n, 2),
                          camera_error_mm=round(st / n, 2), ms_per_frame=round(1000 * seconds / n, 3)))
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
