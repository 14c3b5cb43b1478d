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
# # 11. The reconstruction component: geometry, a network, and both
#
# **What you will learn**
#
# * the two ways to answer "which 3D pose made this 2D picture?": the *geometric fit* of
#   examples 2-7 (`Lifter(method="convex+refine")`: a sparse combination of shape bases that
#   reprojects to the keypoints) and a *lifting network* (a NumPy MLP learned from MoCap,
#   `lift2d3d.learned`), and what each one knows;
# * why the two err *differently*: the fit keeps a person's bone lengths, near enough, and
#   reprojects to the keypoints, but must guess from one frame which way each limb points in depth (the $2^8$
#   reflections of example 9); the network has learned how people hold their limbs, but
#   *averages* what it cannot tell apart (limbs pointing into depth come out short) and does not
#   reproject exactly; so their per-frame errors are only partly correlated;
# * how the `fused` method combines them: the geometric fit, with a term pulling its depths
#   towards the network's (`prior_weight`), so the answer is still a sparse-basis pose that
#   reprojects, with the network's say on which way the limbs point;
# * what the prior weight trades, and how to read PA-MPJPE against the camera-frame error.
#
# The poses are the DeepMimic motion-capture clips that ship with pybullet, each filmed by one
# fixed virtual camera (`lift2d3d.evaluation.view_clip`: a random direction and distance, a
# 1280x720 pinhole camera) with 2 px of noise on the keypoints, so every error is measured
# against the truth.  The shape bases and both networks are learned from CMU MoCap takes (the
# bases' files are listed in `bases/cmu_body15_files.csv`); these clips are not among them.  They are
# clips the components never saw, not motions unlike anything they saw: walking, running, a
# jump or a kick are motions of the kind CMU has many takes of; a cartwheel or a roll, fewer.

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from lift2d3d import Lifter, viz
from lift2d3d.evaluation import (VIEW_CAMERA, NetworkLifts, pa_mpjpe, scale_translation_error, similarity_align,
                                 view_clip)
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.options import Options
from lift2d3d.skeletons import BODY15

J = BODY15.index
NOISE = 2.0                                  # px
CLIPS = ("walk", "run", "dance_a", "dance_b", "punch", "kick", "jump", "spin", "spinkick", "cartwheel", "roll",
         "crawl")

rng = np.random.default_rng(0)
truth, keypoints, clip_of = [], [], []
for name in CLIPS:
    clip = read_deepmimic([p for p in deepmimic_clips() if name in p.name][0])
    step = max(1, round(clip.fps / 30))      # the 60 fps clips: every other frame
    view = view_clip(clip.joints3d[::step], clip.up, rng, noise_px=NOISE)
    truth.append(view.camera3d)
    keypoints.append(view.keypoints)
    clip_of += [name] * len(view.camera3d)
truth = np.concatenate(truth)                # (N, 15, 3) metres, camera frame
keypoints = np.concatenate(keypoints)        # (N, 15, 2) pixels
clip_of = np.array(clip_of)
print(f"{len(truth)} frames of {len(CLIPS)} clips, {NOISE:g} px noise")

# %% [markdown]
# ## Three answers to the same keypoints
#
# * **geometric**: `Lifter(method="convex+refine")`, the convex relaxation and the
#   refinement of examples 4-7, with the pinhole camera the keypoints came from;
# * **network**: the fused method's network alone
#   (`lift2d3d.evaluation.NetworkLifts`), an MLP from one frame's 2D keypoints to its 3D,
#   learned from CMU MoCap seen by random virtual cameras.  It answers in pixels at the person's
#   depth; the errors below align scale, so units do not matter;
# * **fused**: `Lifter(method="fused")`, the geometric fit with the network's depths as a prior.
#
# Each is scored frame by frame with the two errors of example 10 (mm, against the truth):
# **PA-MPJPE** (after the best rotation, scale and translation) and the **camera-frame error**
# (scale and translation only: a limb pointing into the screen instead of out of it stays
# wrong).  Two more columns say *how* each errs: the RMS distance from the keypoints to the
# lift's own projection (for the truth, it is the noise), and the number of limb
# segments (upper arm, forearm, thigh, shank) that point the wrong way in depth where the
# truth's clearly points one way (by more than 8 cm).

# %%
geometric = Lifter(method="convex+refine", camera=VIEW_CAMERA)
fused = Lifter(method="fused", camera=VIEW_CAMERA)
network = NetworkLifts(fused.network, camera=VIEW_CAMERA)
print(fused.network)

lifts = {"geometric": geometric.lift(keypoints).joints3d, "network": network.lift(keypoints).joints3d,
         "fused": fused.lift(keypoints).joints3d}
COLOURS = {"geometric": "C3", "network": "C2", "fused": "C0"}

SEGMENTS = [(a, b) for a, b in BODY15.edges if a.split("_")[-1] in ("shoulder", "elbow", "hip", "knee")]
NEAR, FAR = np.array([[J(a), J(b)] for a, b in SEGMENTS]).T


def segment_depths(joints3d):
    """(N, 8) depth of each limb segment's far joint behind its near one (units of the input)."""
    return joints3d[:, FAR, 2] - joints3d[:, NEAR, 2]


def wrong_depth(joints3d, min_depth=0.08):
    """(N, 8) bool: limb segments pointing the wrong way in depth where the truth's points clearly (> 8 cm)."""
    dz, dz_true = segment_depths(joints3d), segment_depths(truth)
    return (np.sign(dz) != np.sign(dz_true)) & (np.abs(dz_true) > min_depth)


def placed(label):
    """A lift in the camera frame: the lifter's is already there (metres); the network's answer is centred, in
    pixels at the person's depth, its centroid on the ray through the keypoints' centroid at depth ``focal``
    (the convention of ``LiftingNetwork.predict_keypoints``)."""
    if label != "network":
        return lifts[label]
    centre = np.concatenate([keypoints.mean(axis=1, keepdims=True) - VIEW_CAMERA["principal"],
                             np.full(keypoints.shape[:1] + (1, 1), VIEW_CAMERA["focal"])], axis=-1)
    return lifts[label] + centre


def reprojection(joints3d):
    """(N,) RMS distance (px) from the keypoints to the pinhole projection of camera-frame joints."""
    projected = VIEW_CAMERA["focal"] * joints3d[..., :2] / joints3d[..., 2:3] + VIEW_CAMERA["principal"]
    return np.sqrt(((projected - keypoints) ** 2).sum(axis=-1).mean(axis=-1))


errors = {label: dict(pa=1000 * pa_mpjpe(X, truth), camera=1000 * scale_translation_error(X, truth),
                      reprojection=reprojection(placed(label)), wrong=wrong_depth(X))
          for label, X in lifts.items()}
clear = (np.abs(segment_depths(truth)) > 0.08).sum()
print(f"{'':>10} {'PA-MPJPE (mm)':>15} {'camera (mm)':>15} {'reprojection':>13} {'segments wrong':>15}")
print(f"{'':>10} {'mean  median':>15} {'mean  median':>15} {'RMS (px)':>13} {f'of {clear}':>15}")
for label, e in errors.items():
    print(f"{label:>10} {e['pa'].mean():7.1f} {np.median(e['pa']):6.1f} {e['camera'].mean():7.1f} "
          f"{np.median(e['camera']):6.1f} {e['reprojection'].mean():13.1f} {e['wrong'].sum():15d}")
noise = reprojection(truth)
print(f"{'truth':>10} {'':>31} {noise.mean():13.1f}   (the noise)")

# %% [markdown]
# The two components fail in different ways: the geometric fit reprojects to within the noise
# and typically has the most limb segments the wrong way round in depth; the network typically
# has fewer of those, but its own projection misses the keypoints by more than the noise.  The
# fused lift keeps the first's reprojection, close to it at least, and most of the second's
# depth signs.  The rest of the notebook is about why.
#
# ## Why the geometric fit flips limbs
#
# Under weak perspective a limb segment reflected in depth about its near joint leaves the
# picture and the bone length as they were (example 9): each frame has $2^8$ poses with the same
# keypoints and the same bones (twice that with the mirror of the whole body).  The 2D cannot
# choose among them; only the shape prior can, through which of them the bases explain most
# cheaply (the data term plus the sparsity penalty).  A forearm raised towards the camera and the same forearm
# raised away from it cost nearly the same, and the fit picks one, frame by frame.  When it picks
# wrong, the pose is still a person, with the right bone lengths and the right picture: PA-MPJPE
# forgives part of it, the camera-frame error does not.
#
# ## Why the network does not reproject, and shortens limbs
#
# The network was trained to minimise the mean squared error over many poses seen from many
# cameras.  Where the 2D cannot tell two depths apart, the answer with the least squared error is
# their *average*: a limb that might point 30 cm towards the camera or 30 cm away comes out
# pointing less far into depth than either, so it is shorter than the bone.  And nothing ties its
# output to the keypoints: its x and y are the keypoints plus a learned correction (a skip
# connection), not a projection it has to honour.  The length of each limb segment against the
# truth, by how steeply the true segment points into depth (the sine of its angle with the
# image plane), each lift aligned to the truth by scale and translation:

# %%
def segment_lengths(joints3d):
    """(N, 8) length of each limb segment (units of the input)."""
    return np.linalg.norm(joints3d[:, FAR] - joints3d[:, NEAR], axis=-1)


steepness = np.abs(segment_depths(truth)) / segment_lengths(truth)       # (N, 8), 0 = in the image plane
BINS = np.linspace(0.0, 1.0, 6)
which_bin = np.digitize(steepness, BINS[1:-1])
ratios = {label: segment_lengths(similarity_align(X, truth, rotate=False)) / segment_lengths(truth)
          for label, X in lifts.items()}
medians = {label: np.array([np.median(r[which_bin == b]) for b in range(len(BINS) - 1)])
           for label, r in ratios.items()}
print("median segment length / true length, by the sine of the true segment's angle into depth:")
print(f"{'':>10} " + " ".join(f"{f'{lo:.1f}-{hi:.1f}':>9}" for lo, hi in zip(BINS[:-1], BINS[1:])))
for label, m in medians.items():
    print(f"{label:>10} " + " ".join(f"{v:9.3f}" for v in m))
print(f"{'segments':>10} " + " ".join(f"{(which_bin == b).sum():9d}" for b in range(len(BINS) - 1)))

# %% [markdown]
# All three lifts come out a little short for limbs pointing steeply into depth (the sparse fit
# shrinks its coefficients too), the network's typically the most: its answer for such a limb
# is a compromise between the two depths it cannot separate.
#
# ## Two kinds of error, one scatter
#
# If the two components made the same mistakes, their per-frame errors would lie on the
# diagonal.  They do not: below, each point is a frame, coloured by whether the geometric fit
# has a limb segment the wrong way round in depth that the network has right (red), the other
# way about (green), or neither (grey; also the frames where each has a different limb wrong).

# %%
geo_only = (errors["geometric"]["wrong"] & ~errors["network"]["wrong"]).any(axis=1)
net_only = (errors["network"]["wrong"] & ~errors["geometric"]["wrong"]).any(axis=1)
geo_only, net_only = geo_only & ~net_only, net_only & ~geo_only      # frames with both: grey
for measure in ("pa", "camera"):
    a, b = errors["geometric"][measure], errors["network"][measure]
    print(f"{measure:>6}: correlation of the per-frame errors {np.corrcoef(a, b)[0, 1]:.2f}; the network is better "
          f"on {100 * (b < a).mean():.0f}% of the frames, by more than 20 mm on {100 * (b < a - 20).mean():.0f}%, "
          f"worse by more than 20 mm on {100 * (b > a + 20).mean():.0f}%")
NAMES = {"geometric": "geometric fit", "network": "network"}
for label, frames, other in (("geometric", geo_only, "network"), ("network", net_only, "geometric")):
    better = errors[other]["camera"][frames] < errors[label]["camera"][frames]
    print(f"frames where only the {NAMES[label]} has a limb the wrong way: {frames.sum()}; the {NAMES[other]}'s "
          f"camera-frame error is the lower on {100 * better.mean():.0f}% of them")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
a, b = errors["geometric"]["camera"], errors["network"]["camera"]
top = np.percentile(np.concatenate([a, b]), 99.5)
neither = ~geo_only & ~net_only
axes[0].scatter(a[neither], b[neither], s=8, color="#aaaaaa", label="neither (or each in another limb)")
axes[0].scatter(a[geo_only], b[geo_only], s=10, color="C3", label="geometric has a limb wrong, network right")
axes[0].scatter(a[net_only], b[net_only], s=10, color="C2", label="network has a limb wrong, geometric right")
axes[0].plot([0, top], [0, top], "k--", lw=0.8)
axes[0].set_xlim(0, top)
axes[0].set_ylim(0, top)
axes[0].set_aspect("equal")
axes[0].set_xlabel("geometric fit: camera-frame error (mm)")
axes[0].set_ylabel("network: camera-frame error (mm)")
axes[0].legend(fontsize=7, loc="upper right")
axes[0].set_title(f"one point per frame (correlation {np.corrcoef(a, b)[0, 1]:.2f})", fontsize=9)
centres = 0.5 * (BINS[1:] + BINS[:-1])
for label, m in medians.items():
    axes[1].plot(centres, m, "o-", color=COLOURS[label], label=label)
axes[1].axhline(1.0, color="k", lw=0.8, ls="--")
axes[1].set_xlabel("how steeply the true segment points into depth (sine of its angle)")
axes[1].set_ylabel("segment length / true length (median)")
axes[1].set_title("limb segments pointing into depth come out short", fontsize=9)
axes[1].legend(fontsize=8)
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# The red points, the frames where the fit guessed a limb's depth wrong and the network did not,
# lie mostly below the diagonal, and the green ones above it (the percentages above): much of
# the spread off the diagonal is the two components disagreeing about which way a limb points.
# An error in one component that the other does not share is what a combination can repair.
#
# ## The fused method
#
# `method="fused"` keeps the geometric objective (the keypoints, the sparse bases, the
# bone-symmetry term) and adds one term to its refinement, pulling each joint's depth $z_j$
# towards the network's $\hat z_j$, both about their means (`lift2d3d.solvers.terms`):
#
# $$\frac{1}{2}\sum_j c^2 \log\Big(1 + \frac{w\,v_j\,r_j^2}{c^2}\Big), \qquad
#   r_j = z_j - \bar z - (\hat z_j - \bar{\hat z}),$$
#
# with $w$ the `prior_weight` and $v_j$ the joints' confidences, in the solver's normalised units
# (the 2D pose's RMS radius is 1).  For small disagreements it is $\frac{w}{2}\sum_j v_j r_j^2$;
# for large ones the Cauchy loss of scale $c$ (`prior_scale`) grows only logarithmically, so
# that a network that is badly wrong pulls with a bounded force.  Only
# the depths are pulled: the image coordinates stay the keypoints' business, so the answer is
# still a sparse combination of the bases that reprojects, with the network voting on the one
# thing the 2D cannot decide.  Where the refinement starts is `fused_start`; the defaults:

# %%
defaults = Options()
print(f"prior_weight {defaults.prior_weight:g}, prior_scale {defaults.prior_scale:g}, "
      f"fused_start {defaults.fused_start!r}")
fixed = errors["geometric"]["wrong"] & ~errors["fused"]["wrong"]
broken = ~errors["geometric"]["wrong"] & errors["fused"]["wrong"]
print(f"limb segments the wrong way in depth: geometric {errors['geometric']['wrong'].sum()}, fused "
      f"{errors['fused']['wrong'].sum()} ({fixed.sum()} turned the right way, {broken.sum()} the wrong way)")

# %% [markdown]
# One frame where it matters, found by the truth: of the frames where the geometric fit has
# exactly one limb segment the wrong way in depth and the fused lift has every segment right,
# the one where that segment is most clearly reflected: furthest into depth in the truth, and
# in the geometric and the fused lifts, on their opposite sides (the smallest of the three
# depths, largest).  From the camera (left) the three answers (aligned to the truth by scale and
# translation) are nearly one picture; seen from the side, against the truth in grey, they are
# not.

# %%
one_flip = (errors["geometric"]["wrong"].sum(axis=1) == 1) & ~errors["fused"]["wrong"].any(axis=1)
side = np.sign(segment_depths(truth))                    # +1: the far joint behind the near one, in truth
depth_along = {label: side * segment_depths(similarity_align(X, truth, rotate=False))
               for label, X in lifts.items()}            # metres on the true side (negative: reflected)
clearness = np.minimum(np.minimum(np.abs(segment_depths(truth)), -depth_along["geometric"]), depth_along["fused"])
clearness = np.where(errors["geometric"]["wrong"] & one_flip[:, None], clearness, -np.inf)
frame, seg = (int(i) for i in np.unravel_index(np.argmax(clearness), clearness.shape))
near, far = SEGMENTS[seg]
aligned = {label: similarity_align(X[[frame]], truth[[frame]], rotate=False)[0] for label, X in lifts.items()}
depth_cm = {label: 100 * segment_depths(X[None])[0, seg] for label, X in aligned.items()}
true_cm = 100 * segment_depths(truth[[frame]])[0, seg]
print(f"frame {frame} ({clip_of[frame]}): {far} behind {near} by {true_cm:+.0f} cm in truth; "
      + ", ".join(f"{label} {depth_cm[label]:+.0f} cm ({errors[label]['camera'][frame]:.0f} mm)"
                  for label in lifts))

# %% tags=["gallery"]
SIDE = (10, -10)                 # nearly side-on: depth runs left-right (as in examples 9 and 10)
limits = viz.pose_limits(np.stack([truth[frame], *aligned.values()]))
fig = plt.figure(figsize=(13, 3.8))
ax = fig.add_subplot(1, 4, 1, projection="3d")
viz.plot_3d(truth[frame], BODY15, view="camera", ax=ax, limits=limits, color="#bbbbbb", linewidth=5)
for label, pose in aligned.items():
    viz.plot_3d(pose, BODY15, view="camera", ax=ax, limits=limits, color=COLOURS[label], linewidth=1.5)
ax.set_title("from the camera", fontsize=9)
ax.legend(handles=[Line2D([], [], color="#bbbbbb", lw=5, label="truth")]
          + [Line2D([], [], color=COLOURS[label], lw=1.5, label=label) for label in aligned],
          fontsize=7, loc="lower right", framealpha=0.8)
for k, (label, pose) in enumerate(aligned.items()):
    ax = fig.add_subplot(1, 4, k + 2, projection="3d")
    viz.plot_3d(truth[frame], BODY15, view=SIDE, ax=ax, limits=limits, color="#bbbbbb")
    viz.plot_3d(pose, BODY15, view=SIDE, ax=ax, limits=limits, axis_labels=False,
                title=f"{label}: {errors[label]['camera'][frame]:.0f} mm\n"
                      f"{far} {depth_cm[label]:+.0f} cm (true {true_cm:+.0f})")
fig.suptitle(f"{clip_of[frame]} clip, frame {frame}: depth of the {far} behind the {near}; "
             f"right: {viz.view_label(SIDE)}, the truth in grey", fontsize=9)
fig.subplots_adjust(left=0.01, right=0.99, top=0.8, wspace=0.05)
plt.show()

# %% [markdown]
# The geometric fit's limb is a reflection: the same picture, the same bone, the other side in
# depth.  The network and the fused lift put it on the true side; the fused pose is still a
# sparse combination of the bases fitted to the keypoints, and reprojects as the geometric one
# does:

# %%
print(f"frame {frame}, reprojection RMS: "
      + ", ".join(f"{label} {errors[label]['reprojection'][frame]:.1f} px" for label in lifts)
      + f" (the truth {noise[frame]:.1f} px)")

# %% [markdown]
#
# ## How hard to pull: the prior weight
#
# With `prior_weight=0` the fused method is, up to a few refinement steps, the geometric fit
# again (with the default `fused_start` its refinement starts from the geometric answer, and
# nothing new pulls it).  As the weight grows, the depths follow
# the network more closely, and the pose leaves the keypoints a little to do so; a large weight
# makes the lift inherit the network's faults (short limbs, its own wrong guesses) along with its
# good guesses.  The same frames at five weights:

# %%
WEIGHTS = (0.0, 0.03, 0.1, 0.3, 1.0)
sweep = []
for weight in WEIGHTS:
    X = Lifter(method="fused", camera=VIEW_CAMERA, prior_weight=weight).lift(keypoints).joints3d
    sweep.append((1000 * pa_mpjpe(X, truth).mean(), 1000 * scale_translation_error(X, truth).mean(),
                  reprojection(X).mean(), wrong_depth(X).sum()))
sweep = np.array(sweep)
print(f"{'prior_weight':>14} {'PA-MPJPE':>9} {'camera':>8} {'reprojection':>13} {'segments wrong':>15}")
for weight, (pa, cam, rep, wrong) in zip(WEIGHTS, sweep):
    print(f"{weight:14g} {pa:9.1f} {cam:8.1f} {rep:13.1f} {int(wrong):15d}"
          + ("   (the default)" if weight == defaults.prior_weight else ""))
for label in ("geometric", "network"):
    e = errors[label]
    print(f"{label + ' alone':>14} {e['pa'].mean():9.1f} {e['camera'].mean():8.1f} {e['reprojection'].mean():13.1f} "
          f"{e['wrong'].sum():15d}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
x = np.arange(len(WEIGHTS))
for column, measure, style in ((0, "pa", "o-"), (1, "camera", "s-")):
    axes[0].plot(x, sweep[:, column], style, color="C0", label=f"fused, {measure}")
    for label in ("geometric", "network"):
        axes[0].axhline(errors[label][measure].mean(), color=COLOURS[label], lw=1,
                        ls="--" if measure == "pa" else ":", label=f"{label} alone, {measure}")
axes[0].set_ylabel("mean error (mm)")
axes[0].legend(fontsize=7, ncol=3, loc="lower left", bbox_to_anchor=(0.0, 1.02))
axes[1].plot(x, sweep[:, 2], "o-", color="C0", label="fused")
axes[1].axhline(errors["network"]["reprojection"].mean(), color=COLOURS["network"], lw=1, ls="--",
                label="network alone")
axes[1].axhline(noise.mean(), color="k", lw=1, ls=":", label="the truth (the noise)")
axes[1].set_ylabel("reprojection RMS (px)")
axes[1].legend(fontsize=7)
for ax in axes:
    ax.set_xticks(x, [f"{w:g}" for w in WEIGHTS])
    ax.set_xlabel("prior_weight")
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# Typically the errors fall steeply from 0 to about the default and then flatten or rise again,
# while the reprojection error only grows: past a point, a stronger pull buys the network's
# faults as well as its signs.  The default was chosen on held-out CMU performers
# (`benchmarks/fusion.py`, the figures are in the docstring of `lift2d3d.options.Options`), not
# on these clips; that its neighbourhood is also good here is a check, not a tuning.
#
# ## Exercise
#
# 1. Raise `NOISE` to 6 px and pass `missing=0.1` to `view_clip` (and the scores it returns to
#    the lifts): which component loses more?  Does the best `prior_weight` move?
# 2. `fused_start="reflected"` also starts the refinement from the reflection of the geometric
#    answer whose depths are closest to the network's, and `"network"` from the bases fitted to
#    the network's 3D.  How many limb segments does each turn the right way, and at what cost in
#    time?
# 3. Lift the geometric fit with `bases="deepmimic"`, learned from these very clips (example 7):
#    does it still flip limbs?  How does the scatter change?
# 4. Find the frames where the fused lift is worse than the geometric fit by more than 20 mm.
#    What did the network get wrong there (draw one from the side), and would `prior_scale`
#    (the Cauchy loss's scale) have limited the damage?
# 5. Lift with weak perspective (`camera=None` for the lifters and the network): how much of each
#    component's error was the camera model?
