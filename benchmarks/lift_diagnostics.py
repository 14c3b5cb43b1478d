"""Why the lifts are wrong: unequal limbs and the level-view bias, per lifter setting.

Lifts random weak-perspective views of MoCap takes (the cameras of ``lift2d3d
evaluate``) and prints, over the 12 limb joints (mm):

* PA-MPJPE and the camera-frame error (scale and translation aligned);
* **unequal limbs**: the median relative left-right length difference of the
  mirrored bones of the lifts (0 for people), and the camera-frame error of the
  frames where it is largest (top 10 %) and smallest (bottom half);
* **level-view bias**: the lift is turned onto the truth (rotation-only
  Procrustes over the limb joints); the slope of that rotation's pitch (about
  the camera's x axis) against the true camera elevation.  0 means no bias;
  0.5 means the lifts recover only half of the elevation.

Each ``--setting`` is a Python dict of ``Lifter`` keyword arguments.  The
README's figures come from::

    NUMBA_NUM_THREADS=1 python benchmarks/lift_diagnostics.py \\
        --bvh-dir ../shared/mocap/bandai-namco-1/data --frames-per-take 5 \\
        --setting "dict(symmetry=0, refine_alpha=0.03)" --setting "dict(symmetry=0)" --setting "dict()"

(the Bandai Namco takes are CC BY-NC 4.0: validation only, never training data).
"""

from __future__ import annotations

import argparse
import ast

import numpy as np


def pitch_slope(lifted, truth, elevation):
    """Slope of the residual pitch (degrees) against the camera elevation (degrees)."""
    from scipy.spatial.transform import Rotation

    from lift2d3d.evaluation import procrustes_rotations

    pitch = np.degrees(Rotation.from_matrix(procrustes_rotations(lifted, truth)).as_rotvec()[:, 0])
    return float(np.polyfit(elevation, pitch, 1)[0])


def limb_asymmetry(joints3d, skeleton):
    """Per frame: RMS over the mirrored bones of |left - right| / mean length."""
    pairs = np.array(skeleton.mirrored_bones())
    left = np.linalg.norm(joints3d[:, pairs[:, 0]] - joints3d[:, pairs[:, 1]], axis=-1)
    right = np.linalg.norm(joints3d[:, pairs[:, 2]] - joints3d[:, pairs[:, 3]], axis=-1)
    return np.sqrt(np.mean((2 * (left - right) / (left + right)) ** 2, axis=1))


def main(argv=None):
    from lift2d3d import Lifter
    from lift2d3d.commands import evaluate
    from lift2d3d.evaluation import pa_mpjpe, random_projections, scale_translation_error
    from lift2d3d.skeletons import LIMB_JOINTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bvh-dir", required=True)
    parser.add_argument("--frames-per-take", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--setting", action="append", default=None,
                        help='Lifter keyword arguments, e.g. "dict(symmetry=0)" (repeatable; default: dict())')
    args = parser.parse_args(argv)

    ns = argparse.Namespace(bvh=[], bvh_dir=args.bvh_dir, joints=[], rig=None, map=None,
                            frames_per_take=args.frames_per_take)
    poses, ups, n_takes, _ = evaluate._frames(ns)
    views = random_projections(poses, args.seed, False, ups)       # the cameras of lift2d3d evaluate
    camera3d, keypoints, elevation = views.camera3d, views.keypoints, views.angles[:, 1]
    print(f"{len(poses)} frames from {n_takes} takes, weak perspective; mm over the 12 limb joints")
    for text in args.setting or ["dict()"]:
        node = ast.parse(text, mode="eval").body
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args):
            raise SystemExit(f"--setting must look like dict(name=value, ...); got {text!r}")
        options = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        lifter = Lifter(**options)
        result = lifter.lift(keypoints)
        limbs = [lifter.skeleton.index(j) for j in LIMB_JOINTS]
        lifted, truth = result.joints3d[:, limbs], camera3d[:, limbs]
        pa = 1000 * pa_mpjpe(lifted, truth)
        cam = 1000 * scale_translation_error(lifted, truth)
        asym = limb_asymmetry(result.joints3d, lifter.skeleton)
        top, half = asym >= np.quantile(asym, 0.9), asym <= np.median(asym)
        print(f"{text}: PA-MPJPE {pa.mean():.1f}, camera-frame {cam.mean():.1f}; left-right limb difference "
              f"median {100 * np.median(asym):.1f}% (camera-frame error {cam[top].mean():.0f} mm in the top 10%, "
              f"{cam[half].mean():.0f} mm in the bottom half); pitch error / elevation "
              f"{pitch_slope(lifted, truth, elevation):.2f}", flush=True)


if __name__ == "__main__":
    main()
