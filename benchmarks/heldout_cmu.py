"""Held-out CMU performers: bases learned without them, lifted from random views.

The CMU corpus (``read_corpus``, the walk of ``lift2d3d learn-bases --mocap``)
is split into ``--folds`` folds of performers (:func:`lift2d3d.learn.performer_folds`,
every take of a performer in one fold).  For each fold, bases are learned
from the other folds with the shipped settings (the defaults of ``learn-bases --mocap``, read
from its argument parser: K=128, alpha=0.03, mirror, 2 proportion copies,
online learner, 16 epochs, seed 0) and ``--frames-per-take`` evenly spaced frames of each
held-out take are lifted from random cameras (weak perspective and pinhole,
as ``lift2d3d evaluate``), by those bases and by the DeepMimic bases (which
saw no CMU take), with the default ``convex+refine`` lifter.  Errors over the
12 limb joints, mm: PA-MPJPE and the camera-frame error, per fold and per
corpus folder (format)::

    python benchmarks/heldout_cmu.py /tmp/cmu            # about 20 minutes on one core

The folds' bases are kept in ``--work`` (default /tmp/lift2d3d-heldout) and reused.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lift2d3d import Camera, Lifter, ShapeBases
from lift2d3d.evaluation import VIEW_CAMERA, random_projections, score_lifts
from lift2d3d.learn import BasisLearner, performer_folds
from lift2d3d.mocap.corpus import read_corpus



def shipped_settings() -> dict:
    """The BasisLearner arguments of ``lift2d3d learn-bases --mocap DIR`` with its defaults (the shipped
    bases' settings), read from the command's own argument parser."""
    from lift2d3d.commands import learn_bases

    parser = argparse.ArgumentParser()
    learn_bases.add_arguments(parser)
    args = parser.parse_args(["--mocap", "corpus", "-o", "bases.npz"])
    return dict(n_bases=args.n_bases, alpha=args.alpha, mirror=not args.no_mirror,
                n_proportion_copies=args.proportion_copies, max_iter=args.max_iter, solver="online",
                n_epochs=args.epochs, batch_size=args.batch_size, random_state=args.seed)


SHIPPED = shipped_settings()


def fold_bases(takes, fold_of, fold, work: Path, **settings) -> ShapeBases:
    path = work / f"fold{fold}_K{settings['n_bases']}_a{settings['alpha']:g}_e{settings['n_epochs']}.npz"
    if not path.exists():
        from threadpoolctl import threadpool_limits

        start = time.perf_counter()
        train = np.concatenate([t.joints3d for t, f in zip(takes, fold_of) if f != fold])
        with threadpool_limits(1):
            learner = BasisLearner(**settings).fit(train)
        learner.to_shape_bases(source=f"CMU corpus without fold {fold}", clips=[], inputs_sha256="-").save(path)
        print(f"fold {fold}: learned on {len(train)} frames in {time.perf_counter() - start:.0f} s")
    return ShapeBases.load(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mocap", nargs="+", help="corpus folders (the unpacked CMU archives)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--frames-per-take", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/lift2d3d-heldout")
    parser.add_argument("--epochs", type=int, default=SHIPPED["n_epochs"])
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = read_corpus(args.mocap)
    takes = corpus.takes
    fold_of = performer_folds([t.performer for t in takes], args.folds, weights=[len(t) for t in takes])
    settings = dict(SHIPPED, n_epochs=args.epochs)
    rows = []
    for fold in range(args.folds):
        held = [t for t, f in zip(takes, fold_of) if f == fold]
        poses, formats = [], []
        for take in held:
            pick = np.linspace(0, len(take) - 1, min(args.frames_per_take, len(take))).round().astype(int)
            poses.append(take.joints3d[pick])
            formats += [take.file.format] * len(pick)
        poses, formats = np.concatenate(poses), np.array(formats)
        models = {"CMU without these performers": fold_bases(takes, fold_of, fold, work, **settings),
                  "DeepMimic (shipped, no CMU)": ShapeBases.load("deepmimic")}
        performers = sorted({t.performer for t in held})
        print(f"fold {fold}: {len(held)} takes of {len(performers)} performers ({', '.join(performers)}), "
              f"{len(poses)} frames")
        for perspective in (False, True):
            views = random_projections(poses, seed=args.seed + fold, perspective=perspective)
            for name, bases in models.items():
                lifter = Lifter(bases, camera=Camera(**VIEW_CAMERA) if perspective else None)
                for fmt in ["all"] + sorted(set(formats)):
                    rows_ = np.flatnonzero((formats == fmt) | (fmt == "all"))
                    score = score_lifts(lifter, views.keypoints[rows_], views.camera3d[rows_])
                    rows.append((fold, "perspective" if perspective else "weak", name, fmt, len(rows_),
                                 float(np.mean(score["pa"])), float(np.mean(score["st"]))))
    print(f"\n{'camera':<12} {'bases':<30} {'corpus':<10} {'frames':>7} {'PA-MPJPE':>9} {'camera-frame':>13}")
    for camera in ("weak", "perspective"):
        for name in models:
            for fmt in ["all"] + sorted({r[3] for r in rows} - {"all"}):
                sel = [r for r in rows if r[1] == camera and r[2] == name and r[3] == fmt]
                if not sel:
                    continue
                n = sum(r[4] for r in sel)
                pa = sum(r[4] * r[5] for r in sel) / n
                ce = sum(r[4] * r[6] for r in sel) / n
                folds = " / ".join(f"{r[5]:.1f}:{r[6]:.1f}" for r in sel)
                print(f"{camera:<12} {name:<30} {fmt:<10} {n:7d} {pa:9.1f} {ce:13.1f}   (folds {folds})")


if __name__ == "__main__":
    main()
