"""How often the lifter's plausibility check flags good input, and how often it catches bad input.

Frames of the training corpus (CMU takes retargeted to the DeepMimic humanoid,
``deepmimic-retargeted/`` of ``../shared/mocap/cmu``) are seen through random
cameras (pinhole, 3-6 m), lifted with the shipped defaults, and the fraction
flagged ``suspect_input`` is printed for correct input (0-5 px noise, 15 %
missing joints, one gross outlier) and for the mistakes the check is for
(random joint orders, two joints swapped, the arms' or legs' left/right labels
swapped, coordinates normalised to a 640 x 480 image).

    python benchmarks/plausibility.py [--corpus /tmp/cmu/deepmimic-retargeted] [--frames-per-clip 30]

The corpus is unpacked as ``../shared/mocap/cmu/README.md`` says.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np


def main(argv=None):
    from lift2d3d import Lifter
    from lift2d3d.mocap import read_deepmimic
    from lift2d3d.mocap.views import project_views, random_views

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/cmu/deepmimic-retargeted")
    parser.add_argument("--frames-per-clip", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
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
    lifter = Lifter()
    sk = lifter.skeleton
    N, P = keypoints.shape[:2]
    noisy = keypoints + rng.normal(0, 2.0, keypoints.shape)

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
    cases = [
        ("good: exact projections", keypoints, None, "convex+refine"),
        ("good: 2 px noise", noisy, None, "convex+refine"),
        ("good: 5 px noise", keypoints + rng.normal(0, 5.0, keypoints.shape), None, "convex+refine"),
        ("good: 3 px noise, 15% missing", keypoints + rng.normal(0, 3.0, keypoints.shape), missing, "convex+refine"),
        ("good: one 60 px outlier, robust", outlier, None, "robust"),
        ("bad: one 60 px outlier", outlier, None, "convex+refine"),
        ("bad: random joint order", np.take_along_axis(noisy, np.array([rng.permutation(P) for _ in range(N)])[..., None], 1),  # noqa: E501
         None, "convex+refine"),
        ("bad: two joints swapped", two, None, "convex+refine"),
        ("bad: arms' left/right swapped", swap(noisy, ("shoulder", "elbow", "wrist")), None, "convex+refine"),
        ("bad: legs' left/right swapped", swap(noisy, ("hip", "knee", "ankle")), None, "convex+refine"),
        ("bad: normalised to 640 x 480", noisy / [640.0, 480.0], None, "convex+refine"),
    ]
    print(f"plausibility: {N} frames of {len(paths)} corpus clips, random cameras; fraction flagged suspect_input")
    for label, k, scores, method in cases:
        result = Lifter(method=method).lift(k, scores)
        flagged = np.mean(result.status == "suspect_input")
        print(f"  {label:36s} {100 * flagged:6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
