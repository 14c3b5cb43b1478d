"""How often the lifter's plausibility check flags good input, and how often it catches bad input.

Frames of the training corpus (CMU takes retargeted to the DeepMimic humanoid,
``deepmimic-retargeted/`` of ``../shared/mocap/cmu``) are seen through random
cameras (pinhole, 3-6 m), lifted with the shipped defaults, and the fraction
flagged ``suspect_input`` is printed for correct input (0-5 px noise, 15 %
missing joints, one gross outlier) and for the mistakes the check is for
(random joint orders, two joints swapped, the arms' or legs' left/right labels
swapped, coordinates normalised to a 640 x 480 image).

    python benchmarks/plausibility.py [--corpus /tmp/cmu/deepmimic-retargeted] [--frames-per-clip 30]
                                      [--statistics] [--low-scores]

The corpus is unpacked as ``../shared/mocap/cmu/README.md`` says.
"""

from __future__ import annotations

import argparse
import glob
import sys
import warnings
from pathlib import Path

import numpy as np

from lift2d3d.commands._options import DEFAULT_METHOD


def _coco(keypoints, scores=None):
    """body15 keypoints as COCO-17 (the limbs; the face is missing): what a COCO file would hold."""
    from lift2d3d.mapping import JointMapping

    scores = np.ones(keypoints.shape[:2]) if scores is None else scores
    return JointMapping("body15", "coco17").apply(keypoints, scores)


def _h36m_as_coco(keypoints):
    """body15 keypoints in Human3.6M's order (17 joints, head_top and neck_nose missing), read as COCO's."""
    from lift2d3d.mapping import JointMapping

    return JointMapping("body15", "h36m17").apply(keypoints, np.ones(keypoints.shape[:2]))


def _shuffle_limbs(keypoints, scores, rng):
    """COCO keypoints whose 12 limb columns hold the limbs in a random order (one order per frame)."""
    from lift2d3d.skeletons import get_skeleton

    coco = get_skeleton("coco17")
    limbs = [coco.index(f"{side}_{part}") for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
             for side in ("left", "right")]
    keypoints, scores = keypoints.copy(), scores.copy()
    for n in range(len(keypoints)):
        order = rng.permutation(limbs)
        while np.array_equal(order, limbs):
            order = rng.permutation(limbs)
        keypoints[n, limbs], scores[n, limbs] = keypoints[n, order], scores[n, order]
    return keypoints, scores


def _wild(keypoints, joint, distance, rng):
    """One joint moved ``distance`` pixels in a random direction."""
    keypoints = keypoints.copy()
    angle = rng.uniform(0, 2 * np.pi, len(keypoints))
    keypoints[:, joint] += distance * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return keypoints


_STATS = {}


def _statistics(result, keypoints, scores, lifter):
    """(rms, worst) of :func:`lift2d3d.plausibility.fit_statistics` from a weak-perspective result."""
    from lift2d3d.plausibility import fit_statistics

    projected = result.scale[:, None, None] * result.joints3d[..., :2] + result.translation[:, None, :2]
    check = lifter._validate(keypoints, scores)   # the weights the fit used
    rms, worst, _ = fit_statistics(keypoints.reshape(projected.shape), check[1], projected)
    edges = np.array(lifter.skeleton.edge_indices())
    lengths = np.linalg.norm(result.joints3d[:, edges[:, 0]] - result.joints3d[:, edges[:, 1]], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.abs(np.log(lengths / lifter.bases.bone_lengths()))
    l1 = np.abs(result.coefficients).sum(axis=1)
    B = lifter.bases.bases
    coef = np.nan_to_num(result.coefficients)
    shape = np.einsum("nk,kap->nap", coef, B)
    active = (np.abs(coef) * np.linalg.norm(B, axis=(1, 2))).sum(axis=1) / np.linalg.norm(shape, axis=(1, 2))
    flat = B.reshape(len(B), -1)
    G = flat @ flat.T
    loud = np.sqrt(np.einsum("ni,ij,nj->n", np.abs(coef), np.abs(G), np.abs(coef)))
    quiet = np.sqrt(np.maximum(np.einsum("ni,ij,nj->n", coef, G, coef), 1e-300))
    _STATS.setdefault("cases", []).append(np.stack([rms, worst, logs.max(axis=1), logs.mean(axis=1), l1, active,
                                                    loud / quiet], axis=1))
    return rms, worst, logs.max(axis=1)


def main(argv=None):
    from lift2d3d import Lifter
    from lift2d3d.io import read_keypoints
    from lift2d3d.mocap import read_deepmimic
    from lift2d3d.mocap.views import project_views, random_views

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/cmu/deepmimic-retargeted")
    parser.add_argument("--frames-per-clip", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bases", default="default", help="bases to lift with (default: the shipped CMU bases)")
    parser.add_argument("--method", default=DEFAULT_METHOD, choices=("fused", "convex+refine"),
                        help="the lifter's method; the robust cases add the robust loss (default: %(default)s)")
    parser.add_argument("--statistics", action="store_true",
                        help="also print percentiles of the two fit statistics per case (weak camera), to set "
                             "MAX_RELATIVE_RMS and MAX_RELATIVE_JOINT")
    parser.add_argument("--save-statistics", metavar="NPZ",
                        help="with --statistics: save each case's per-frame statistics (rms, worst joint, largest "
                             "and mean |log bone ratio|, code L1, code ratio) for choosing limits")
    parser.add_argument("--low-scores", action="store_true",
                        help="also measure how far a joint scored 0.001 at the image centre moves the 3D")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(str(Path(args.corpus) / "*" / "*.txt")))
    if not paths:
        print(f"no clips under {args.corpus}; unpack ../shared/mocap/cmu first (see its README)", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    poses = []
    for path in paths:
        clip = read_deepmimic(path)
        frames = clip.joints3d[clip.valid]
        poses.append(frames[rng.choice(len(frames), min(args.frames_per_clip, len(frames)), replace=False)])
    poses = np.concatenate(poses)
    angles, distances = random_views(len(poses), rng)
    _, keypoints = project_views(poses, angles, distances, perspective=True)
    keypoints = keypoints + [640.0, 360.0] - np.nanmean(keypoints, axis=(0, 1))   # inside a 1280 x 720 image
    lifter = Lifter(bases=args.bases, method=args.method)
    sk = lifter.skeleton
    N, P = keypoints.shape[:2]
    noisy = keypoints + rng.normal(0, 2.0, keypoints.shape)
    noise05 = keypoints + rng.uniform(0, 5.0, (N, 1, 1)) * rng.normal(0, 1.0, keypoints.shape)

    def swap(k, names):
        k = k.copy()
        for name in names:
            a, b = sk.index("left_" + name), sk.index("right_" + name)
            k[:, [a, b]] = k[:, [b, a]]
        return k

    outlier = noisy.copy()
    outlier[np.arange(N), rng.integers(P, size=N)] += rng.normal(0, 60, (N, 2))
    two = noisy.copy()
    for n in range(N):
        a, b = rng.choice(P, 2, replace=False)
        two[n, [a, b]] = two[n, [b, a]]
    missing = (rng.random((N, P)) > 0.15).astype(float)
    coco, coco_scores = _coco(noise05, missing)
    h36m, h36m_scores = _h36m_as_coco(noise05)
    shuffled, shuffled_scores = _shuffle_limbs(*_coco(noise05), rng)
    coco_all, coco_all_scores = _coco(noise05)
    wrist = 9  # coco17's left_wrist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # its three deliberately bad rows
        sample = read_keypoints(Path(__file__).resolve().parent.parent / "examples" / "sample_coco17.csv")
    from lift2d3d.benchmark import synthetic_keypoints

    mixtures, _ = synthetic_keypoints(lifter.bases, N, seed=args.seed)
    cases = [
        ("good: exact projections", keypoints, None, "plain", None),
        ("good: random mixtures of 3-6 atoms (tests)", mixtures, None, "plain", None),
        ("good: 2 px noise", noisy, None, "plain", None),
        ("good: 5 px noise", keypoints + rng.normal(0, 5.0, keypoints.shape), None, "plain", None),
        ("good: 3 px noise, 15% missing", keypoints + rng.normal(0, 3.0, keypoints.shape), missing, "plain",
         None),
        ("good: COCO, 0-5 px noise, 15% missing", coco, coco_scores, "plain", "coco17"),
        ("good: the shipped sample_coco17.csv", sample.keypoints, sample.scores, "plain", "coco17"),
        ("good: one 60 px outlier, robust", outlier, None, "robust", None),
        ("good: COCO, left wrist 5,000 px off, robust", _wild(coco_all, wrist, 5000, rng), coco_all_scores,
         "robust", "coco17"),
        ("bad: one 60 px outlier", outlier, None, "plain", None),
        ("bad: COCO, left wrist 5,000 px off", _wild(coco_all, wrist, 5000, rng), coco_all_scores, "plain",
         "coco17"),
        ("bad: COCO, left wrist 999,999 px off", _wild(coco_all, wrist, 999_999, rng), coco_all_scores,
         "plain", "coco17"),
        ("bad: random joint order", np.take_along_axis(noisy, np.array([rng.permutation(P) for _ in range(N)])[..., None], 1),  # noqa: E501
         None, "plain", None),
        ("bad: COCO, limb columns shuffled", shuffled, shuffled_scores, "plain", "coco17"),
        ("bad: Human3.6M order read as COCO", h36m, h36m_scores, "plain", "coco17"),
        ("bad: two joints swapped", two, None, "plain", None),
        ("bad: arms' left/right swapped", swap(noisy, ("shoulder", "elbow", "wrist")), None, "plain", None),
        ("bad: legs' left/right swapped", swap(noisy, ("hip", "knee", "ankle")), None, "plain", None),
        ("bad: normalised to 640 x 480", noisy / [640.0, 480.0], None, "plain", None),
    ]
    print(f"plausibility: {N} frames of {len(paths)} corpus clips, random cameras; fraction flagged suspect_input"
          " (robust: or a joint dropped), and fraction ok")
    for label, k, scores, method, skeleton in cases:
        case_lifter = Lifter(bases=args.bases, method=args.method, loss="robust" if method == "robust" else None)
        result = case_lifter.lift(k, scores, skeleton=skeleton)
        flagged = np.mean(result.status == "suspect_input")
        line = f"  {label:46s} {100 * flagged:6.1f} %   (ok: {100 * np.mean(result.status == 'ok'):5.1f} %)"
        if method == "robust":
            dropped = np.mean((np.abs(result.outliers) > 0).any(axis=(1, 2)) | (result.status == "suspect_input"))
            line += f"  (flagged or a joint dropped: {100 * dropped:.1f} %)"
        if args.statistics:
            mapped, mapped_scores, _ = case_lifter._as_bases_order(k, scores, skeleton, None)
            rms, worst, bones = _statistics(result, np.asarray(mapped), mapped_scores, case_lifter)
            q = lambda v: " ".join(f"{x:.2f}" for x in np.nanpercentile(v, [1, 10, 50, 90, 99]))  # noqa: E731
            line += f"\n      rms p1/10/50/90/99 {q(rms)} | worst {q(worst)} | bones {q(bones)}"
        print(line, flush=True)
    if args.statistics and args.save_statistics:
        np.savez(args.save_statistics, *_STATS["cases"], labels=np.array([c[0] for c in cases]))
    if args.low_scores:
        _low_scores(lifter, noisy)
    return 0


def _low_scores(lifter, keypoints, score=0.001):
    """How far a joint scored ``score`` at the image centre moves the other joints' 3D, against the joint missing."""
    N, P = keypoints.shape[:2]
    moved = []
    for j in range(P):
        low, scores = keypoints.copy(), np.ones((N, P))
        low[:, j], scores[:, j] = [640.0, 360.0], score
        gone, none = keypoints.copy(), np.ones((N, P))
        gone[:, j], none[:, j] = np.nan, 0.0
        a, b = lifter.lift(low, scores), lifter.lift(gone, none)
        others = [k for k in range(P) if k != j]
        both = a.ok & b.ok
        moved.append(np.linalg.norm(a.joints3d[both][:, others] - b.joints3d[both][:, others], axis=-1).mean(axis=1))
    moved = 1000 * np.concatenate(moved)
    print(f"a joint scored {score:g} at the image centre vs the joint missing, {len(moved)} lifts: the other joints "
          f"move {moved.mean():.2f} mm on average (max {moved.max():.2f} mm)")


if __name__ == "__main__":
    sys.exit(main())
