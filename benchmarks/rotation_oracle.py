"""How much of the lifting error is the rotation, how much the prior, and how much the limb depths?

Lifts random weak-perspective views of MoCap takes (the cameras of ``lift2d3d
evaluate``) three ways and scores them over the 12 limb joints (mm):

1. the lifter as shipped (``convex+refine``);
2. **oracle rotation**: the bases frame turned onto the true pose by its torso
   (rotation-only Procrustes of the true camera-frame torso onto the bases'
   mean torso), then the coefficients fitted at that fixed rotation (the
   lifter's weighted Lasso, solved to convergence);
3. **refined from the oracle rotation**: the lifter's refinement (rotation and
   coefficients) started there; also reports how often it ends at a lower
   objective than the lifter's own answer.

and two more oracles that split the remaining error:

4. **capacity**: the true 3D pose itself (normalised and torso-aligned as the
   learner does) coded with the bases (non-negative, no sparsity penalty):
   how well the bases can express the pose when depth is known;
5. **oracle limb depths**: the lifter's answer with each of the 8 limb
   segments' depth (upper arm, forearm, thigh, shank) kept or reflected about
   its parent joint (256 variants, all with the same 2D projection and bone
   lengths), the variant closest to the truth chosen.

Row 2 is the prior's floor: no solver can do better than the bases allow at
the right rotation.  If row 3 ends lower than the lifter's answer in most
frames, the objective does prefer the right rotation and the gap to row 1 is
the solver's search; otherwise the prior cannot tell them apart.

Usage (MoCap never used for learning; the Bandai Namco takes are CC BY-NC,
for validation only)::

    NUMBA_NUM_THREADS=1 python benchmarks/rotation_oracle.py \
        --bvh-dir ../shared/mocap/bandai-namco-1/data --frames-per-take 5 [--alpha A] [--bases FILE]
"""

from __future__ import annotations

import argparse

import numpy as np

from lift2d3d import Lifter
from lift2d3d.commands import evaluate
from lift2d3d.evaluation import kabsch, pa_mpjpe, random_projections, scale_translation_error
from lift2d3d.mocap.poses import TORSO_JOINTS
from lift2d3d.skeletons import LIMB_JOINTS
from lift2d3d.solvers.geometry import projected_bases
from lift2d3d.solvers.lasso import lasso_cd
from lift2d3d.solvers.refine import Refinement, refine_weak
from lift2d3d.solvers.terms import Terms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bvh-dir", required=True)
    parser.add_argument("--frames-per-take", type=int, default=5)
    parser.add_argument("--bases", default="default")
    parser.add_argument("--alpha", type=float, help="lifter alpha (default: the bases')")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ns = argparse.Namespace(bvh=[], bvh_dir=args.bvh_dir, joints=[], rig=None, map=None,
                            frames_per_take=args.frames_per_take)
    poses, ups, n_takes, _ = evaluate._frames(ns)
    camera3d, keypoints = random_projections(poses, args.seed, False, ups)[:2]   # the cameras of lift2d3d evaluate
    lifter = Lifter(args.bases, alpha=args.alpha)
    result = lifter.lift(keypoints)
    sk = lifter.skeleton
    # the refinement's weight and bone terms, as the lifter uses them
    model = lifter.solver_records()[0]
    B, alpha = model.B, lifter.resolved_params()["refine_alpha"]
    K, _, P = B.shape
    terms = Terms(model.edges, model.Mb, dB=model.dB)
    limbs = [sk.index(j) for j in LIMB_JOINTS]
    torso = [sk.index(j) for j in TORSO_JOINTS]
    mean = lifter.bases.mean_pose - lifter.bases.mean_pose.mean(axis=1, keepdims=True)
    ref = mean[:, torso] - mean[:, torso].mean(axis=1, keepdims=True)

    w = np.ones(P)
    E = np.zeros((2, P))
    A = np.empty((K, 2, P))
    fixed = np.empty((len(poses), P, 3))
    refined = np.empty((len(poses), P, 3))
    lower = 0
    for n in range(len(poses)):
        truth = camera3d[n].T - camera3d[n].T.mean(axis=1, keepdims=True)
        part = truth[:, torso] - truth[:, torso].mean(axis=1, keepdims=True)
        R = kabsch(part.T[None], ref.T)[0].T  # bases frame -> camera
        W = keypoints[n].T - keypoints[n].T.mean(axis=1, keepdims=True)
        W = np.ascontiguousarray(W / np.sqrt((W ** 2).sum(axis=0).mean()))
        Rbar = np.ascontiguousarray(R[:2])
        projected_bases(B, Rbar, w, A)
        c = np.zeros(K)
        lasso_cd(A, W.copy(), w, alpha, c, 1000, 1e-8, 50)
        fixed[n] = (R @ np.einsum("k,kaj->aj", c, B)).T
        ref = Refinement(alpha, 0.0, 100, 8, lifter.resolved_params()["tol"])
        _, _, f = refine_weak(W, w, B, ref, terms, E.copy(), Rbar, c)
        R3 = np.vstack([Rbar, np.cross(Rbar[0], Rbar[1])])
        refined[n] = (R3 @ np.einsum("k,kaj->aj", c, B)).T
        lower += f < result.objective[n]

    def score(label, X, camera_frame=True):
        pa = pa_mpjpe(X[:, limbs], camera3d[:, limbs]).mean() * 1000
        st = scale_translation_error(X[:, limbs], camera3d[:, limbs]).mean() * 1000
        print(f"{label:<52} PA-MPJPE {pa:6.1f}" + (f"   camera-frame error {st:6.1f}" if camera_frame else ""))

    print(f"{len(poses)} frames from {n_takes} takes, weak perspective, refinement alpha {alpha:g}; "
          "mm over the 12 limb joints")
    score("lifter (convex+refine)", result.joints3d)
    score("coefficients at the oracle rotation", fixed)
    score("refinement started at the oracle rotation", refined)
    print(f"the refinement from the oracle rotation ends below the lifter's objective in "
          f"{100.0 * lower / len(poses):.0f}% of the frames")
    score("capacity: the true 3D pose coded with the bases", capacity(lifter.bases, camera3d), camera_frame=False)
    variants = limb_depth_variants(result.joints3d, sk)
    errors = np.stack([pa_mpjpe(variants[:, v][:, limbs], camera3d[:, limbs]) for v in range(variants.shape[1])],
                      axis=1)
    score("oracle limb depths (best of 256 reflections)", variants[np.arange(len(variants)), errors.argmin(axis=1)])
    print(f"the lifter's own limb depths are the best variant in {100.0 * np.mean(errors.argmin(axis=1) == 0):.0f}% "
          "of the frames")


def capacity(bases, poses):
    """The poses (N, P, 3) as the bases best express them: normalised and torso-aligned like the
    learner's samples, non-negative codes without a sparsity penalty, metres, in the aligned frame."""
    from lift2d3d.learn import align_torso, nonnegative_sparse_coding, normalise_poses

    kappa = float(np.sqrt((bases.mean_pose ** 2).sum(axis=0).mean()))
    X = np.ascontiguousarray(poses.transpose(0, 2, 1))
    X, _ = normalise_poses(X, bases.skeleton, float(bases.metadata["size_m"]))
    X, _ = align_torso(X, bases.skeleton, bases.mean_pose)
    D = bases.bases.reshape(bases.n_bases, -1) / kappa
    codes = nonnegative_sparse_coding(X.reshape(len(X), -1) / kappa, D, 0.0, n_iter=1000)
    return ((codes @ D).reshape(X.shape) * kappa).transpose(0, 2, 1)


LIMB_CHAINS = (("left_shoulder", "left_elbow", "left_wrist"), ("right_shoulder", "right_elbow", "right_wrist"),
               ("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))


def limb_depth_variants(X: np.ndarray, skeleton) -> np.ndarray:
    """(N, 256, P, 3): ``X`` (camera frame, z = depth) with each limb's upper and lower segment
    kept or reflected in depth about its parent joint (the joints below move with it).  Variant
    0 is ``X`` itself; every variant has the same weak-perspective image and bone lengths."""
    import itertools

    def reflect(Y, parent, child, below):
        Y = Y.copy()
        dz = Y[:, child, 2] - Y[:, parent, 2]
        for j in (child,) + below:
            Y[:, j, 2] -= 2.0 * dz
        return Y

    options = []
    for chain in LIMB_CHAINS:
        root, middle, end = (skeleton.index(j) for j in chain)
        options.append([(), ((middle, end, ()),), ((root, middle, (end,)),),
                        ((root, middle, (end,)), (middle, end, ()))])
    out = []
    for combo in itertools.product(*options):
        Y = X
        for ops in combo:
            for parent, child, below in ops:
                Y = reflect(Y, parent, child, below)
        out.append(Y)
    return np.stack(out, axis=1)


if __name__ == "__main__":
    main()
