# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Robustness: outliers and missing joints
#
# **What you will learn**
#
# * what a detector's gross errors (a wrist snapped to the wrong arm, a knee on the background)
#   do to a least-squares lift;
# * the robust model of the paper: an extra sparse outlier matrix $E$ with an $\ell_1$ weight
#   $\beta$, so that a few joints can be "explained away";
# * how missing joints are handled (weight 0: the bases fill them in), and how a batch reports
#   frames that cannot be lifted instead of failing.
#
# The robust relaxation replaces $W$ by $W - E$:
#
# $$\min_{M, E}\ \tfrac12\Big\|W - E - \sum_i M_i B_i\Big\|_F^2 + \alpha\sum_i\|M_i\|_2 + \beta\|E\|_1 .$$
#
# With per-joint confidences $w_j$ the data term is weighted, and $w_j = 0$ removes a joint.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import Lifter, viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15

BASES = "default"


def to_camera(world, yaw=0.0, distance=5.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    a = np.radians(yaw)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (world - world[BODY15.index("pelvis")]) @ turn.T @ facing.T + [0.0, 0.0, distance]


def procrustes(source, target):
    """``source`` (P, 3) moved onto ``target`` by the best rotation, scale and translation."""
    a, b = source - source.mean(axis=0), target - target.mean(axis=0)
    U, s, Vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(U @ Vt))
    s[-1] *= d
    U[:, -1] *= d
    return (s.sum() / np.sum(a ** 2)) * a @ (U @ Vt) + target.mean(axis=0)


def pa_mpjpe(pred, true):
    """Mean joint error (same units) after the best similarity transform (PA-MPJPE)."""
    return np.linalg.norm(procrustes(pred, true) - true, axis=1).mean()


def mean_error_mm(result, truth):
    """PA-MPJPE (mm) over the frames that were lifted."""
    return 1000 * np.mean([pa_mpjpe(p, t) for p, t, ok in zip(result.joints3d, truth, result.ok) if ok])


# A running and a walking clip, the actor turning from -80 to 80 degrees, 5 m from the camera.
truth = np.concatenate([
    np.stack([to_camera(j, yaw=y) for j, y in zip(clip.joints3d, np.linspace(-80, 80, len(clip)))])
    for clip in (read_deepmimic(p) for p in deepmimic_clips() if "run" in p.name or "walk" in p.name)])
keypoints = 1000.0 * truth[..., :2] / truth[..., 2:3] + [640.0, 360.0]
print(f"{len(truth)} frames; keypoints about {np.ptp(keypoints[0, :, 1]):.0f} px tall")

# %% [markdown]
# ## Corrupting the keypoints
#
# Outliers: `m` joints per frame moved 90 px (about half a thigh) in a random direction.
# Missing: `m` joints per frame set to NaN.

# %%
rng = np.random.default_rng(0)


def with_outliers(keypoints, m):
    bad = keypoints.copy()
    moved = np.zeros(bad.shape[:2], dtype=bool)
    for n in range(len(bad)):
        joints = rng.choice(BODY15.n_joints, m, replace=False)
        angle = rng.uniform(0, 2 * np.pi, m)
        bad[n, joints] += 90.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        moved[n, joints] = True
    return bad, moved


def with_missing(keypoints, m):
    bad = keypoints.copy()
    for n in range(len(bad)):
        bad[n, rng.choice(BODY15.n_joints, m, replace=False)] = np.nan
    return bad


lifters = {method: Lifter(BASES, method=method) for method in ("convex+refine", "robust")}
counts = [0, 1, 2, 3, 4]
outlier_errors = {method: [] for method in lifters}
missing_errors = []
for m in counts:
    corrupted, _ = with_outliers(keypoints, m)
    for method, lifter in lifters.items():
        outlier_errors[method].append(mean_error_mm(lifter.lift(corrupted), truth))
    missing_errors.append(mean_error_mm(lifters["convex+refine"].lift(with_missing(keypoints, m)), truth))
for m, a, b, c in zip(counts, outlier_errors["convex+refine"], outlier_errors["robust"], missing_errors):
    print(f"{m} joints: outliers {a:5.0f} mm (convex+refine) {b:5.0f} mm (robust);  missing {c:5.0f} mm")

# %% tags=["gallery"]
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(counts, outlier_errors["convex+refine"], "o-", label="outliers, convex+refine")
ax.plot(counts, outlier_errors["robust"], "s-", label=r"outliers, robust ($\beta$ term)")
ax.plot(counts, missing_errors, "^--", label="missing (NaN), convex+refine")
ax.set_xticks(counts)
ax.set_xlabel("corrupted joints per frame (of 15)")
ax.set_ylabel("PA-MPJPE (mm)")
ax.set_title(f"{len(truth)} frames of run + walk", fontsize=10)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# A missing joint costs little: the sparse prior fills it in.  A *wrong* joint costs more than a
# missing one, because least squares trusts it; the outlier term recovers part of the gap.  So
# if a detector gives confidences, pass them as `scores`: a low score is better than a wrong
# coordinate.
#
# ## One frame, up close
#
# How does each lift treat the moved joints?  `result.outliers` holds the robust model's estimate
# of the gross 2D errors $E$ (pixels; zeros for the other methods).  Under weak perspective a
# lift predicts the keypoints as `scale * joints3d[:, :2] + translation[:2]`; we compare that
# prediction with the corrupted keypoints, joint by joint.

# %%
frame = 20
corrupted, moved = with_outliers(keypoints[frame:frame + 1], 3)
plain = lifters["convex+refine"].lift(corrupted[0])
robust = lifters["robust"].lift(corrupted[0])
print("moved:", [BODY15.joints[j] for j in np.flatnonzero(moved[0])])
for name, result in (("convex+refine", plain), ("robust", robust)):
    predicted = result.scale * result.joints3d[:, :2] + result.translation[:2]
    residual = np.linalg.norm(predicted - corrupted[0], axis=1)
    error = 1000 * pa_mpjpe(result.joints3d, truth[frame])
    print(f"{name:>14}: reprojection {result.reprojection_error:4.1f} px RMS, at the moved joints "
          f"{np.round(residual[moved[0]]).astype(int)} px; PA-MPJPE {error:.0f} mm")
# The robust model's own estimate of the gross errors, E (pixels): the joints it distrusted.
flagged = np.flatnonzero(np.linalg.norm(robust.outliers, axis=0) > 1.0)
print("robust model's outlier estimate E is non-zero at:", [BODY15.joints[j] for j in flagged])

# %%
fig = plt.figure(figsize=(13, 4))
ax = fig.add_subplot(1, 3, 1)
viz.plot_2d(keypoints[frame], BODY15, ax=ax, color="#bbbbbb")
viz.plot_2d(corrupted[0], BODY15, ax=ax, legend=True)
ax.plot(*corrupted[0][moved[0]].T, "x", color="black", markersize=12, mew=2)
ax.set_title("2D: moved joints (x), true pose grey", fontsize=10)
limits = viz.pose_limits(np.stack([plain.joints3d, robust.joints3d]))
for k, (result, name) in enumerate([(plain, "convex+refine"), (robust, "robust")]):
    ax3 = fig.add_subplot(1, 3, k + 2, projection="3d")
    error = 1000 * pa_mpjpe(result.joints3d, truth[frame])
    viz.plot_3d(procrustes(truth[frame], result.joints3d), BODY15, view=(10, -30), ax=ax3, limits=limits,
                color="#bbbbbb")
    viz.plot_3d(result.joints3d, BODY15, view=(10, -30), ax=ax3, limits=limits,
                title=f"{name}: {error:.0f} mm (grey: truth, aligned)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Small residuals at the moved joints mean the lift *bent the body* to reach the wrong keypoints:
# the shipped bases, with their small $\alpha$, can do that, and the error then appears in 3D,
# not in the 2D fit.
# A small reprojection error does not prove a good lift.  Large residuals at exactly the moved
# joints are what the robust model aims for: compare the joints it distrusted ($E \neq 0$) with
# the ones we moved.  A moved elbow also makes its shoulder look wrong, so the two cannot always
# be told apart from one picture; if it distrusts many more joints than were moved, its $\beta$
# is too small for this frame (exercise 1).
#
# ## A batch never dies on one bad frame
#
# A frame with too few joints, or with an infinite coordinate, is reported in `status` and
# `message` with NaN joints; the other frames are lifted as usual.  (A *single* pose that cannot
# be lifted raises a `ValueError` with the same message.)

# %%
batch = keypoints[:4].copy()
batch[1, 3:] = np.nan            # only pelvis, neck and head left
batch[2, 5] = np.inf
result = lifters["convex+refine"].lift(batch)
for n in range(len(batch)):
    print(n, result.status[n], "|", result.message[n], "| NaN joints:", bool(np.isnan(result.joints3d[n]).any()))

# %% [markdown]
# ## Exercise
#
# 1. Sweep `beta` in `Lifter(method="robust", beta=...)` over `[0.02, 0.05, 0.15, 0.5, 2]` with
#    two outliers per frame.  What happens when `beta` is very small (everything is an outlier)
#    and very large (nothing is)?
# 2. Instead of moving joints at random, swap the left and right wrists (a classic detector
#    error).  Is that an outlier the robust model can see?  Why not?
# 3. Give the lifter `scores` that are 0.1 on the moved joints and 1 elsewhere.  How close does
#    that get to the clean error?
