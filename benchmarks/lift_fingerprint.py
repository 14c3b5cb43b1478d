"""Fingerprints of the lifter's outputs, to prove that a refactor does not change results.

Lifts one fixed workload (synthetic keypoints from the bases, with missing
joints, uneven scores and gross outliers) with every solver variant (method x
camera x starts x sequence) and prints, per variant, a SHA-256 over the bytes
of every output array, plus a few summary figures.  Run it before and after a
change: equal hashes mean bit-identical lifts.

    python benchmarks/lift_fingerprint.py [--bases default] [--frames 600] [--json out.json]
    python benchmarks/lift_fingerprint.py --compare before.json after.json

Threads do not change the bits (every frame is solved by private-copy
kernels), so the figures hold at any NUMBA_NUM_THREADS.  The numba cache
does: kernels loaded from an on-disk cache can differ in the last bit from
freshly compiled ones, and caches filled by different runs (the tests, the
benchmarks) from each other, so that two trees with the same solver code
give different hashes.  The script therefore compiles into a fresh cache
folder of its own (a minute or two); ``--use-cache`` keeps numba's usual
cache, for a quick look that only compares runs of one cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

FIELDS = ("joints3d", "rotation", "coefficients", "translation", "scale", "objective", "iterations",
          "admm_iterations", "converged", "reprojection_error", "outliers")


def workload(bases, n_frames, seed=0):
    """Keypoints (N, P, 2) and scores (N, P): missing joints, uneven scores, 2 gross outliers in 1/4 of frames."""
    from lift2d3d.benchmark import synthetic_keypoints

    keypoints, _ = synthetic_keypoints(bases, n_frames, seed=seed)
    rng = np.random.default_rng(seed + 1)
    N, P = keypoints.shape[:2]
    scores = rng.uniform(0.3, 1.0, (N, P))
    missing = rng.random((N, P)) < 0.05
    scores[missing] = 0.0
    gross = np.flatnonzero(rng.random(N) < 0.25)
    for n in gross:
        joints = rng.choice(P, 2, replace=False)
        keypoints[n, joints] += rng.normal(0.0, 120.0, (2, 2))
    keypoints[3, :] = np.nan          # a frame with nothing: too_few_joints
    return keypoints, scores


def variants():
    from lift2d3d.lifter import Camera

    camera = Camera(focal=1000.0, principal=(960.0, 540.0))
    for method in ("convex", "convex+refine", "robust"):
        for cam_name, cam in (("weak", None), ("perspective", camera)):
            yield f"{method}/{cam_name}", dict(method=method, camera=cam), False
    yield "convex+refine/weak/n_starts=4", dict(method="convex+refine", n_starts=4), False
    yield "convex+refine/weak/symmetry=0", dict(method="convex+refine", symmetry=0.0), False
    yield "convex+refine/weak/sequence", dict(method="convex+refine"), True
    yield "convex+refine/perspective/sequence", dict(method="convex+refine", camera=camera), True


def digest(result) -> str:
    h = hashlib.sha256()
    for name in FIELDS:
        h.update(np.ascontiguousarray(getattr(result, name)).tobytes())
    h.update("|".join(map(str, result.status)).encode())
    h.update("|".join(map(str, result.message)).encode())
    return h.hexdigest()


def run(bases="default", n_frames=600, seed=0, arrays=None):
    from lift2d3d import status
    from lift2d3d.bases import ShapeBases
    from lift2d3d.lifter import Lifter

    shape_bases = ShapeBases.load(bases)
    keypoints, scores = workload(shape_bases, n_frames, seed)
    out = {}
    for name, options, sequence in variants():
        lifter = Lifter(shape_bases, **options)
        result = lifter.lift_sequence(keypoints, scores) if sequence else lifter.lift(keypoints, scores)
        ok = np.isin(result.status, status.LIFTED)
        if arrays:
            np.savez(f"{arrays}/{name.replace('/', '_')}.npz", **{f: np.asarray(getattr(result, f)) for f in FIELDS})
        out[name] = dict(sha256=digest(result), objective=float(np.nanmean(result.objective[ok])),
                         reprojection_px=float(np.nanmean(result.reprojection_error[ok])),
                         statuses={str(s): int(c) for s, c in zip(*np.unique(result.status, return_counts=True))})
        print(f"{name:40s} {out[name]['sha256'][:16]}  objective {out[name]['objective']:.6f}  "
              f"reprojection {out[name]['reprojection_px']:.3f} px  {out[name]['statuses']}")
    return out


def compare_arrays(before, after) -> int:
    """Print, per variant, the largest difference of each output between two ``--arrays`` folders."""
    worst = 0.0
    for path in sorted(Path(before).glob("*.npz")):
        a, b = np.load(path), np.load(Path(after) / path.name)
        diffs = {}
        for name in FIELDS:
            x, y = a[name].astype(float), b[name].astype(float)
            same_nan = np.isnan(x) == np.isnan(y)
            diffs[name] = np.inf if not same_nan.all() else float(np.nanmax(np.abs(x - y), initial=0.0))
        worst = max(worst, diffs["joints3d"])
        print(f"{path.stem:40s} joints3d {diffs['joints3d']:.1e} m  objective {diffs['objective']:.1e}  "
              f"iterations {diffs['iterations']:.0f}  converged {diffs['converged']:.0f}")
    print(f"largest joints3d difference: {worst:.2e} m")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", default="default")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the fingerprints here")
    parser.add_argument("--arrays", metavar="DIR", help="also save every variant's output arrays here (.npz), "
                        "so that --compare-arrays can say by how much two runs differ")
    parser.add_argument("--compare-arrays", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="largest difference of each output between two --arrays folders (joints3d in metres)")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two JSON files")
    parser.add_argument("--use-cache", action="store_true",
                        help="load the kernels from numba's usual cache instead of compiling them afresh")
    args = parser.parse_args(argv)
    if not (args.compare or args.compare_arrays or args.use_cache):
        import tempfile

        if "numba" in sys.modules:
            raise SystemExit("numba was imported before the fresh cache folder could be set; run this as a script")
        fresh = tempfile.TemporaryDirectory(prefix="lift2d3d-fingerprint-numba-")
        os.environ["NUMBA_CACHE_DIR"] = fresh.name
    if args.compare_arrays:
        return compare_arrays(*args.compare_arrays)
    if args.compare:
        before, after = (json.load(open(p)) for p in args.compare)
        same = 0
        for name in sorted(set(before) | set(after)):
            a, b = before.get(name, {}).get("sha256"), after.get(name, {}).get("sha256")
            print(f"{name:40s} {'identical' if a == b else 'DIFFERENT'}")
            same += a == b
        print(f"{same} of {len(set(before) | set(after))} variants bit-identical")
        return 0 if same == len(set(before) | set(after)) else 1
    if args.arrays:
        os.makedirs(args.arrays, exist_ok=True)
    out = run(args.bases, args.frames, args.seed, args.arrays)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
