"""Can the CMU corpus choose limb depths? Judges of the 512 limb-depth reflections of each lift.

Under weak perspective every limb segment (upper arm, forearm, thigh, shank)
can point towards or away from the camera with the same image and bone
length: with the global depth mirror, 512 poses explain each lift's 2D
equally well (:mod:`lift2d3d.solvers.reflect`).  On held-out CMU performers
(fold 0 of :func:`lift2d3d.learn.performer_folds`, bases learned without
them by ``benchmarks/heldout_cmu.py``), ``--frames`` frames are seen from
random weak-perspective cameras and lifted; each judge picks one reflection
of each lift, scored by PA-MPJPE over the 12 limb joints (mm):

* ``oracle``: the reflection nearest the truth (what a perfect judge gets);
* ``prior``: the reflection the bases code best in 3D (lowest non-negative
  Lasso objective at the lift's rotation, the lifter's own units and alpha);
* ``classifier``: an MLP (scikit-learn) trained on random views of the other
  folds' poses to tell each segment's depth sign from the normalised 2D
  keypoints; the reflection it finds most likely, and the lift with only
  its confident segments (p > 0.9) overruled.

    python benchmarks/limb_depth_judges.py /tmp/cmu [--frames 400]

needs ``pip install scikit-learn`` and the fold bases of ``benchmarks/heldout_cmu.py``
(learned if missing, about 4 minutes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heldout_cmu import SHIPPED, fold_bases  # noqa: E402

from lift2d3d import Lifter  # noqa: E402
from lift2d3d.evaluation import pa_mpjpe, random_projections  # noqa: E402
from lift2d3d.learn import performer_folds  # noqa: E402
from lift2d3d.mocap.corpus import read_corpus  # noqa: E402
from lift2d3d.skeletons import LIMB_JOINTS  # noqa: E402


def reflections(x, chains):
    """The 256 limb reflections of one camera-frame pose (P, 3), and their depth mirrors: (512, P, 3)."""
    out = np.repeat(x[None], 256, axis=0)
    for mask in range(256):
        y = out[mask]
        for ch, (root, mid, end) in enumerate(chains):
            if (mask >> (2 * ch)) & 1:
                shift = 2 * (y[root, 2] - y[mid, 2])
                y[mid, 2] += shift
                y[end, 2] += shift
            if (mask >> (2 * ch + 1)) & 1:
                y[end, 2] = 2 * y[mid, 2] - y[end, 2]
    mirrored = out.copy()
    mirrored[..., 2] = 2 * out[..., 2].mean(axis=1, keepdims=True) - out[..., 2]
    return np.concatenate([out, mirrored])


def lasso_objectives(Z, B, alpha, n_iter=200):
    """``min_{c >= 0} 1/2 ||z - c B||^2 + alpha sum c`` for each row of Z (FISTA)."""
    L = np.linalg.norm(B @ B.T, 2)
    C = np.zeros((len(Z), len(B)))
    Y, t = C.copy(), 1.0
    for _ in range(n_iter):
        Cn = np.maximum(Y - ((Y @ B - Z) @ B.T + alpha) / L, 0.0)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        Y, C, t = Cn + (t - 1) / tn * (Cn - C), Cn, tn
    r = Z - C @ B
    return 0.5 * (r * r).sum(axis=1) + alpha * C.sum(axis=1)


def features(keypoints):
    x = keypoints - keypoints.mean(axis=1, keepdims=True)
    x = x / np.sqrt((x ** 2).sum(axis=(1, 2), keepdims=True) / keypoints.shape[1])
    return x.reshape(len(x), -1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mocap", nargs="+")
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--work", default="/tmp/lift2d3d-heldout")
    args = parser.parse_args(argv)
    from sklearn.neural_network import MLPClassifier

    takes = read_corpus(args.mocap).takes
    fold_of = performer_folds([t.performer for t in takes], 3, weights=[len(t) for t in takes])
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bases = fold_bases(takes, fold_of, 0, work, **SHIPPED)
    lifter = Lifter(bases)
    sk = lifter.skeleton
    limbs = [sk.index(j) for j in LIMB_JOINTS]
    chains = [(sk.index(f"{s}_{a}"), sk.index(f"{s}_{b}"), sk.index(f"{s}_{c}")) for s in ("left", "right")
              for a, b, c in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))]
    segments = [pair for r, m, e in chains for pair in ((r, m), (m, e))]

    def signs(camera3d):      # 1 where a segment's child joint is farther than its parent
        return np.stack([camera3d[:, b, 2] > camera3d[:, a, 2] for a, b in segments], axis=1).astype(int)

    train = np.concatenate([t.joints3d for t, f in zip(takes, fold_of) if f != 0])
    views = [random_projections(train, seed=s) for s in range(3)]
    clf = MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=30, early_stopping=True, random_state=0)
    clf.fit(np.concatenate([features(v.keypoints) for v in views]), np.concatenate([signs(v.camera3d) for v in views]))
    held = np.concatenate([t.joints3d for t, f in zip(takes, fold_of) if f == 0])
    poses = held[np.random.default_rng(0).choice(len(held), args.frames, replace=False)]
    view = random_projections(poses, seed=11)
    prob = np.clip(clf.predict_proba(features(view.keypoints)), 1e-3, 1 - 1e-3)
    accuracy = ((prob > 0.5) == signs(view.camera3d)).mean(axis=0)
    result = lifter.lift(view.keypoints)
    unit = np.sqrt(((bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)) ** 2).sum(axis=0).mean())
    B = bases.bases.reshape(bases.n_bases, -1) / unit
    alpha = lifter.resolved_params()["alpha"]
    scores = {name: [] for name in ("lift", "oracle", "prior", "classifier", "classifier, confident only")}
    for n in np.flatnonzero(np.isfinite(result.joints3d).all(axis=(1, 2))):
        Ys = reflections(result.joints3d[n], chains)
        errors = pa_mpjpe(Ys[:, limbs], np.repeat(view.camera3d[n][None, limbs], len(Ys), axis=0))
        Z = np.einsum("ba,mpb->map", result.rotation[n], Ys - Ys.mean(axis=1, keepdims=True))
        prior = lasso_objectives(Z.reshape(len(Z), -1) / unit, B, alpha)
        far = np.stack([Ys[:, b, 2] > Ys[:, a, 2] for a, b in segments], axis=1)
        likelihood = np.where(far, np.log(prob[n]), np.log(1 - prob[n])).sum(axis=1)
        confident = np.abs(prob[n] - 0.5) > 0.4
        keep = np.flatnonzero(np.all(np.where(confident, far == (prob[n] > 0.5), far == far[0]), axis=1))
        scores["lift"].append(errors[0])
        scores["oracle"].append(errors.min())
        scores["prior"].append(errors[np.argmin(prior)])
        scores["classifier"].append(errors[np.argmax(likelihood)])
        scores["classifier, confident only"].append(errors[keep[0]] if len(keep) else errors[0])
    print(f"{len(scores['lift'])} frames of held-out performers; classifier's sign accuracy per segment "
          f"{np.round(accuracy, 3).tolist()}")
    base = np.array(scores["lift"])
    for name, values in scores.items():
        values = np.array(values)
        print(f"  {name:<28} PA-MPJPE {1000 * values.mean():6.1f} mm   worse than the lift by > 5 mm on "
              f"{100 * np.mean(values > base + 0.005):4.1f} % of the frames")


if __name__ == "__main__":
    main()
