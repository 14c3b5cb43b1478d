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
# # 2. Shape bases from motion capture
#
# **What you will learn**
#
# * how MoCap poses become a prior for lifting: normalise size, align the torso, and learn a
#   dictionary of *shape bases* $B_i$ such that every pose is a sparse combination
#   $S \approx \sum_i c_i B_i$ with few non-zero $c_i$;
# * what the learned atoms look like (prototype poses), and how sparse the codes are;
# * the trade-off that $\alpha$ controls: fewer active bases against a worse fit, and how well
#   the bases generalise to a motion they never saw.
#
# The learning problem (MonoCap, Zhou et al. TPAMI 2018), in normalised units:
#
# $$\min_{B,\ C \ge 0}\ \sum_n \tfrac12\Big\|S_n - \sum_i c_{ni} B_i\Big\|_F^2 + \alpha\|c_n\|_1
#   \quad\text{s.t.}\quad \|B_i\|_F \le 1 .$$
#
# We learn from the DeepMimic clips that ship with pybullet, holding one clip out.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import ShapeBases, viz
from lift2d3d.learn import BasisLearner, align_torso, normalise_poses
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15

BASES = "default"
clips = {p.stem.replace("humanoid3d_", ""): read_deepmimic(p) for p in deepmimic_clips()}
held_out = "walk"
train = np.concatenate([clip.joints3d for name, clip in clips.items() if name != held_out])
test = clips[held_out].joints3d
print(f"{len(clips)} clips: {', '.join(clips)}")
print(f"training on {len(train)} poses, testing on {len(test)} frames of '{held_out}'")

# %% [markdown]
# ## Learning
#
# `BasisLearner` is an estimator in the scikit-learn style.  To stay within seconds we learn 32
# bases with fewer iterations and no proportion augmentation; the shipped bases use more of
# everything (see `ShapeBases.load("default").metadata` below).

# %%
start = time.perf_counter()
learner = BasisLearner(n_bases=32, alpha=0.05, max_iter=20, n_proportion_copies=0).fit(train)
print(f"learned {learner.bases_.shape[0]} bases from {learner.n_samples_} samples (with mirror images) "
      f"in {time.perf_counter() - start:.1f} s")
print(f"training error {learner.training_error_:.0f} mm per joint, {learner.sparsity_:.0%} of codes non-zero")
print(f"held-out '{held_out}': {learner.reconstruction_error(test):.0f} mm per joint")

# %% [markdown]
# ## What the atoms look like
#
# The codes are non-negative, so each atom is a *prototype pose* and a pose is a positive blend
# of a few of them.  We draw the eight atoms used most on the held-out clip, turned to face the
# camera (the learner aligns every pose's torso to a reference frame; `facing_camera` maps that
# frame to the camera's x right, y down).

# %%
def facing_camera(pose):
    """Rotation taking a (3, P) pose's frame to a camera view of its front (from its own torso)."""
    up = pose[:, BODY15.index("neck")] - pose[:, BODY15.index("pelvis")]
    left = pose[:, BODY15.index("left_hip")] - pose[:, BODY15.index("right_hip")]
    y = -up / np.linalg.norm(up)                          # camera y points down
    x = left - (left @ y) * y                             # the person's left is the camera's right
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)])


R_view = facing_camera(learner.mean_pose_)
codes = learner.transform(test)                          # (n_frames, K), non-negative
order = np.argsort(codes.mean(axis=0))[::-1]

# %% tags=["gallery"]
fig = plt.figure(figsize=(10, 5.6))
for k, i in enumerate(order[:8]):
    ax = fig.add_subplot(2, 4, k + 1, projection="3d")
    atom = (R_view @ learner.bases_[i]).T
    viz.plot_3d(atom, BODY15, view=(10, -60), ax=ax, axis_labels=False)
    ax.set_title(f"$B_{{{i}}}$: used in {np.mean(codes[:, i] > 0):.0%}", fontsize=9)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
fig.suptitle(f"the 8 atoms used most on the held-out '{held_out}' clip (of {learner.bases_.shape[0]})",
             fontsize=11)
fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.9, wspace=0.0, hspace=0.1)
plt.show()

# %% [markdown]
# ## How sparse?
#
# Each held-out frame uses only a few atoms.  A larger $\alpha$ uses fewer (the lasso's
# $\ell_1$ pulls codes to exactly zero) at the price of a worse fit.  We re-code the held-out
# frames with the same atoms and several $\alpha$.

# %%
alphas = [0.005, 0.02, 0.05, 0.1, 0.3]
sweep = []
trained_alpha = learner.alpha
for a in alphas:
    learner.alpha = a                                    # coding only; the atoms stay fixed
    sweep.append((np.count_nonzero(learner.transform(test) > 0, axis=1).mean(), learner.reconstruction_error(test)))
learner.alpha = trained_alpha
sweep = np.array(sweep)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
n_active = np.count_nonzero(codes > 0, axis=1)
axes[0].hist(n_active, bins=np.arange(0, n_active.max() + 2) - 0.5, color="#0072B2")
axes[0].set_xlabel("active bases per frame")
axes[0].set_ylabel("frames")
axes[0].set_title(f"held-out '{held_out}', alpha = {trained_alpha}", fontsize=10)
axes[1].plot(sweep[:, 0], sweep[:, 1], "o-")
for k, (a, (n, e)) in enumerate(zip(alphas, sweep)):
    axes[1].annotate(f"alpha={a}", (n, e), textcoords="offset points", xytext=(5, 8 if k % 2 else -14),
                     fontsize=8)
axes[1].set_xlabel("mean active bases per frame")
axes[1].set_ylabel("reconstruction error (mm/joint)")
axes[1].set_title("sparsity against fit", fontsize=10)
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## A reconstruction
#
# One held-out frame and its sparse reconstruction, both in the learner's normalised, aligned
# frame.

# %%
frame = 12
# The learner's own preprocessing: fixed total bone length, torso turned onto its reference.
normalised, _ = normalise_poses(test[frame:frame + 1].transpose(0, 2, 1), BODY15, learner.size_)
aligned = align_torso(normalised, BODY15, learner.reference_)[0][0]          # (3, P) metres
reconstruction = np.einsum("k,kij->ij", codes[frame], learner.bases_)
limits = viz.pose_limits(np.stack([(R_view @ aligned).T, (R_view @ reconstruction).T]))
fig = plt.figure(figsize=(8, 4))
for k, view in enumerate(["camera", (10, -60)]):
    ax = fig.add_subplot(1, 2, k + 1, projection="3d")
    viz.plot_3d((R_view @ aligned).T, BODY15, view=view, ax=ax, limits=limits, color="#bbbbbb")
    viz.plot_3d((R_view @ reconstruction).T, BODY15, view=view, ax=ax, limits=limits)
    ax.set_title(f"{np.count_nonzero(codes[frame])} atoms (grey: MoCap)", fontsize=10)
plt.show()

# %% [markdown]
# ## The shipped bases
#
# `lift2d3d` ships two sets of bases learned with this objective, with more atoms, iterations
# and proportion augmentation, and with $K$ and $\alpha$ chosen by lifting held-out data
# (`bases/README.md`).  The default (`"default"`, also `"cmu"`) is learned from the CMU Graphics
# Lab Motion Capture Database (234 takes of 31 performers, by an online solver for its size):
# none of the fifteen clips above is in its training data (its `deepmimic` files are CMU takes
# retargeted onto the same humanoid), so for the default bases every DeepMimic clip in these
# examples is a held-out motion.  `"deepmimic"` (the default before
# 0.2.0) is learned from all fifteen clips.  Each model card travels inside its file:

# %%
for name in (BASES, "deepmimic"):
    shipped = ShapeBases.load(name)
    card = shipped.metadata
    print(f"{name}: K = {shipped.n_bases}, alpha = {shipped.alpha}, {card['n_frames']} poses, "
          f"training error {card['training_error']:.1f} mm, sparsity {card['sparsity']:.2f}")
    print("  source:", card["source"])

# %% [markdown]
# ## Exercise
#
# 1. Learn with `n_bases` in `[8, 16, 32, 64]` and plot the held-out error against `n_bases`.
#    Where does adding atoms stop helping a clip the bases never saw?
# 2. Hold out `"cartwheel"` instead of `"walk"`.  Why is the held-out error so much larger?
#    What does that say about lifting unusual motions with these bases?
# 3. Save your bases with `learner.to_shape_bases(source="my clips").save("my_bases.npz")` and
#    lift with `Lifter(bases="my_bases.npz")`.  (To learn from your own MoCap, read BVH files
#    with `lift2d3d.mocap.read_bvh`.)
