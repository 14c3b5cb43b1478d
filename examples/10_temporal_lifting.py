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
# # 10. Temporal lifting: a video is not a bag of frames
#
# **What you will learn**
#
# * why a lift frame by frame *flickers*: the same 2D picture fits a limb pointing towards or
#   away from the camera, and nothing stops one frame from choosing one and the next frame
#   the other;
# * how `Lifter.lift_sequence` fits all the frames of one person together: each frame's own
#   objective, plus the squared *acceleration* of the 3D joints, which makes a flip cost as
#   much as the motion it implies, plus a pull towards *shared bone proportions*;
# * why that costs time linear in the number of frames (a block-pentadiagonal system), and how
#   long videos are cut into overlapping windows and blended;
# * what it does with the faults of real detectors: left/right swaps (`fix_swaps`), missing
#   joints, and gaps in the frame numbers (`frames=`);
# * how to measure it: PA-MPJPE, the camera-frame error and the acceleration error (jitter);
# * what the *temporal reconstruction component* adds (`Lifter(method="fused")`, example 11 over
#   time): a network that sees the 2D of the frames around each frame, in bins of time (centred,
#   or causal for live use), and sets right a limb that smoothness alone keeps on the wrong side
#   in depth.
#
# The videos are DeepMimic motion-capture clips (the ones that ship with pybullet; held-out
# motions for the default bases, which are learned from CMU MoCap) at 30 frames per second,
# each filmed by one fixed virtual camera (the person moves in the image), with 2 px of noise
# on the keypoints, so every error can be measured against the truth.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image
from matplotlib.animation import FuncAnimation, PillowWriter

from lift2d3d import Lifter, viz
from lift2d3d.evaluation import NetworkLifts, camera_rotations, pa_mpjpe, scale_translation_error, similarity_align
from lift2d3d.learned import load_temporal_network
from lift2d3d.learned.temporal import TIME_TOLERANCE
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers.temporal import acceleration_rows
from lift2d3d.solvers.windows import overlap_weights, plan_windows

J = BODY15.index
NOISE = 2.0                                  # px


def fixed_camera(world, azimuth, elevation=10.0, distance=4.0):
    """(N, P, 3) world joints (y up) -> camera frame (x right, y down, z away), metres: one camera for
    the whole clip, looking at the clip's mean pelvis from ``distance`` metres."""
    R = camera_rotations(np.array([[azimuth, elevation, 0.0]]))[0]
    X = (world - world[:, J("pelvis")].mean(axis=0)) @ R.T
    X[..., 2] += distance
    return X


def project(X):
    """Pinhole camera, f = 1000 px, 1280x720 image (pixels)."""
    return 1000.0 * X[..., :2] / X[..., 2:3] + [640.0, 360.0]


rng = np.random.default_rng(0)
clips = {}
for name in ("walk", "run", "dance_a", "dance_b", "punch", "kick", "jump", "spin", "cartwheel", "roll"):
    clip = read_deepmimic([p for p in deepmimic_clips() if name in p.name][0])
    step = max(1, round(clip.fps / 30))      # most clips are at 60 fps: every other frame
    truth = fixed_camera(clip.joints3d[::step], azimuth=rng.uniform(0, 360))
    keypoints = project(truth) + rng.normal(0.0, NOISE, truth.shape[:2] + (2,))
    clips[name] = dict(truth=truth, keypoints=keypoints, fps=clip.fps / step)
lifter = Lifter(method="convex+refine")     # the geometric fit alone; the last section adds the networks
sizes = ", ".join(f"{name} {len(c['truth'])}" for name, c in clips.items())
print(f"{len(clips)} clips, {sum(len(c['truth']) for c in clips.values())} frames ({sizes}); {lifter}")

# %% [markdown]
# ## Three ways to score a video
#
# * **PA-MPJPE**: each frame aligned to the truth by the best rotation, scale and translation
#   (Procrustes), then the mean joint error.  It forgives a wrong turn of the whole body.
# * **camera-frame error**: scale and translation only; a pose facing the wrong way, or a
#   limb pointing into the screen instead of out of it, stays wrong.
# * **acceleration error** (Pavllo et al., VideoPose3D, CVPR 2019): the mean over joints and
#   frames of $\|(x_{t+1} - 2x_t + x_{t-1}) - (\text{same for the truth})\|$ in mm per
#   frame$^2$, both centred on their joints' mean each frame and the lift scaled to the truth
#   by one factor per clip.  A lift that is right on average but trembles scores badly here.
#
# The first two are `lift2d3d.evaluation.pa_mpjpe` and `scale_translation_error`; the third
# is four lines:

# %%
def acceleration_error(joints3d, truth):
    """Acceleration error (mm / frame^2) of one clip's lift (N, P, 3) against the truth, metres."""
    a = joints3d - joints3d.mean(axis=1, keepdims=True)
    b = truth - truth.mean(axis=1, keepdims=True)
    a = a * (a * b).sum() / (a * a).sum()
    return 1000 * np.linalg.norm(np.diff(a, 2, axis=0) - np.diff(b, 2, axis=0), axis=-1).mean()


def scores(joints3d, truth):
    """PA-MPJPE, camera-frame error (mm, mean over frames) and acceleration error (mm / frame^2)."""
    return (1000 * pa_mpjpe(joints3d, truth).mean(), 1000 * scale_translation_error(joints3d, truth).mean(),
            acceleration_error(joints3d, truth))


# %% [markdown]
# ## Frame by frame against the whole video
#
# `lifter.lift(keypoints)` lifts each frame on its own.  `lifter.lift_sequence(keypoints,
# fps=...)` takes the frames of one person, in time order, and fits them together.  Its
# weights act on accelerations in physical time, so pass the frame rate (the spin clip is at
# 24 fps).

# %%
print(f"{'clip':>10} {'frames':>6}   {'PA-MPJPE':>15} {'camera':>15} {'accel (mm/f^2)':>15}")
print(f"{'':>10} {'':>6}   {'frame   video':>15} {'frame   video':>15} {'frame   video':>15}")
table = []
for name, c in clips.items():
    c["per_frame"] = lifter.lift(c["keypoints"])
    c["temporal"] = lifter.lift_sequence(c["keypoints"], fps=c["fps"])
    row = np.array([scores(c[kind].joints3d, c["truth"]) for kind in ("per_frame", "temporal")]).T.ravel()
    table.append(row)
    print(f"{name:>10} {len(c['truth']):6d}   " + "  ".join(f"{row[k]:6.1f} {row[k + 1]:6.1f}" for k in (0, 2, 4)))
table = np.array(table)
weights = np.array([len(c["truth"]) for c in clips.values()])
mean = (table[:, :4] * weights[:, None]).sum(axis=0) / weights.sum()
print(f"{'all':>10} {weights.sum():6d}   {mean[0]:6.1f} {mean[1]:6.1f}  {mean[2]:6.1f} {mean[3]:6.1f}  "
      f"{table[:, 4].mean():6.1f} {table[:, 5].mean():6.1f}   (accel: mean over clips)")

# %% [markdown]
# The 3D error drops by about a tenth; the jitter by a factor of four.  The rest of this
# notebook is about why, and at what cost.
#
# ## Why smoothness resolves the depth ambiguity
#
# Reflect a limb segment's far joint in depth about its near one (a wrist about its elbow):
# under weak perspective the picture and the bone length stay the same (example 9 counted the
# $2^8$ such poses), so one frame alone cannot tell them apart.  Frame by frame, the lifter
# takes whichever its shape prior likes better, and the choice can change from one frame to
# the next while the picture moves smoothly.  Let us count those *flips*: a segment whose
# depth sign changes between two frames while the truth's does not (and points clearly into
# depth, by more than 5 cm, in both).

# %%
SEGMENTS = [(a, b) for a, b in BODY15.edges if a.split("_")[-1] in ("shoulder", "elbow", "hip", "knee")]
NEAR, FAR = np.array([[J(a), J(b)] for a, b in SEGMENTS]).T


def segment_depths(joints3d):
    """(N, 8) depth of each limb segment's far joint behind its near one (metres)."""
    return joints3d[:, FAR, 2] - joints3d[:, NEAR, 2]


def flips(joints3d, truth, min_depth=0.05):
    """Number of (frame, segment) pairs whose depth sign changes from one frame to the next when the truth's
    does not (the truth's |dz| > min_depth in both frames)."""
    dz, dz_true = segment_depths(joints3d), segment_depths(truth)
    steady = (np.sign(dz_true[1:]) == np.sign(dz_true[:-1])) & (np.abs(dz_true[1:]) > min_depth) \
        & (np.abs(dz_true[:-1]) > min_depth)
    return int((steady & (np.sign(dz[1:]) != np.sign(dz[:-1]))).sum()), int(steady.sum())


counts = {kind: np.sum([flips(c[kind].joints3d, c["truth"]) for c in clips.values()], axis=0)
          for kind in ("per_frame", "temporal")}
print(f"of {counts['per_frame'][1]} steady (frame, segment) steps, the per-frame lift flips {counts['per_frame'][0]}, "
      f"the temporal lift {counts['temporal'][0]}")

# %% [markdown]
# The temporal objective adds, for every inner frame $n$, the squared acceleration of the
# camera-frame joints, $\frac{\lambda}{2}\|X_{n+1} - 2X_n + X_{n-1}\|^2$ (with unequal time
# steps when frames are missing).  A flip that lasts one frame moves the wrist by $2\,\Delta
# z$ and back: second differences $2\Delta z\,(1, -2, 1)$ over three rows, a cost of $6\,(2
# \Delta z)^2$: as much as a real motion that fast would cost.  The numbers, on the truth of
# the walk clip:

# %%
walk = clips["walk"]["truth"]
wrist, elbow = J("left_wrist"), J("left_elbow")
n = 5 + int(np.argmax(np.abs(walk[5:-5, wrist, 2] - walk[5:-5, elbow, 2])))    # the forearm's deepest frame


def acceleration_cost(X):
    """sum_n ||X_{n+1} - 2 X_n + X_{n-1}||^2 over the clip (m^2 / frame^4)."""
    return float((np.diff(X, 2, axis=0) ** 2).sum())


def flipped(X, frames):
    """The clip with the left forearm reflected in depth about the elbow in ``frames``."""
    Y = X.copy()
    Y[frames, wrist, 2] = 2 * X[frames, elbow, 2] - X[frames, wrist, 2]
    return Y


dz = walk[n, wrist, 2] - walk[n, elbow, 2]
base = acceleration_cost(walk)
print(f"walk: forearm depth at frame {n}: {100 * dz:+.0f} cm; the whole clip's acceleration cost "
      f"{1e4 * base:.1f} cm^2/frame^4")
for label, frames in ((f"frame {n} only", [n]), (f"frames {n}-{n + 4}", slice(n, n + 5)),
                      ("all frames", slice(None))):
    extra = acceleration_cost(flipped(walk, frames)) - base
    print(f"  forearm flipped in {label:>13}: {1e4 * extra:+8.1f} cm^2/frame^4 ({extra / base:+.1f} x the clip's)")

# %% [markdown]
# One flipped frame costs several times the acceleration of the clip's whole natural motion
# (all joints, all frames), so the joint fit will not keep it unless the keypoints insist.  A
# flip held over five frames costs less (only its two edges jump), and a flip held throughout
# costs nothing (here even a little less than the truth): smoothness repairs the flickers,
# not a depth mistake that the prior makes frame after frame.  The picture of this notebook
# is one limb's depth over time:

# %%
def wrong_depth(joints3d, truth, min_depth=0.08):
    """(N, 8) bool: limb segments pointing the wrong way in depth where the truth's points clearly (> 8 cm)."""
    dz, dz_true = segment_depths(joints3d), segment_depths(truth)
    return (np.sign(dz) != np.sign(dz_true)) & (np.abs(dz_true) > min_depth)


def pick_segment():
    """The clip and limb segment where the temporal lift puts the most frames back the right way in depth."""
    gains = {(name, k): wrong_depth(c["per_frame"].joints3d, c["truth"])[:, k].sum()
             - wrong_depth(c["temporal"].joints3d, c["truth"])[:, k].sum()
             for name, c in clips.items() for k in range(len(SEGMENTS))}
    return max(gains, key=gains.get)


def relative_depth(joints3d, truth, segment):
    """Far joint minus near joint in depth (cm) after scale and translation alignment to the truth."""
    aligned = similarity_align(joints3d, truth, rotate=False)
    return 100 * segment_depths(aligned)[:, segment]


shown, seg = pick_segment()
c = clips[shown]
time_s = np.arange(len(c["truth"])) / c["fps"]
print(f"{shown}: {SEGMENTS[seg][0]} -> {SEGMENTS[seg][1]} wrong way in depth in "
      f"{wrong_depth(c['per_frame'].joints3d, c['truth'])[:, seg].sum()} frames frame by frame, "
      f"{wrong_depth(c['temporal'].joints3d, c['truth'])[:, seg].sum()} in the video lift (of {len(time_s)})")

# %% tags=["gallery"]
fig, axes = plt.subplots(2, 1, figsize=(10, 5.4), sharex=True, gridspec_kw=dict(height_ratios=(3, 2)))
axes[0].plot(time_s, 100 * segment_depths(c["truth"])[:, seg], "k-", lw=2.5, label="truth")
axes[0].plot(time_s, relative_depth(c["per_frame"].joints3d, c["truth"], seg), "o-", ms=3, color="C3",
             label="frame by frame (lift)")
axes[0].plot(time_s, relative_depth(c["temporal"].joints3d, c["truth"], seg), "s-", ms=3, color="C0",
             label="whole video (lift_sequence)")
axes[0].axhline(0, color="grey", lw=0.8)
axes[0].set_ylabel(f"depth of {SEGMENTS[seg][1]}\nbehind {SEGMENTS[seg][0]} (cm)")
axes[0].legend(fontsize=8, ncol=3, loc="upper left")
for kind, style, colour in (("per_frame", "o-", "C3"), ("temporal", "s-", "C0")):
    axes[1].plot(time_s, 1000 * scale_translation_error(c[kind].joints3d, c["truth"]), style, ms=3, color=colour)
axes[1].set_ylabel("camera-frame\nerror (mm)")
axes[1].set_xlabel("time (s)")
for ax in axes:
    ax.grid(alpha=0.3)
fig.suptitle(f"{shown} clip, one fixed camera, {NOISE:g} px noise: frame by frame the limb jumps in depth "
             "from one frame to the next; the video lift does not", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Frame by frame, the lift jumps to the mirror depth for a frame or two and back; the video
# lift cannot afford the jumps and stays on the side its neighbours agree on.  Where both are
# wrong for a stretch of frames (the lift lags the truth through a fast swing), smoothness
# has nothing to vote with.
#
# One frame of it in 3D (`lift2d3d.viz`): the frame where the per-frame lift has the limb
# furthest on the wrong side in depth.  Both lifts explain the same keypoints (left); seen
# from the side, the per-frame one has the limb pointing the other way.

# %%
depth_pf = relative_depth(c["per_frame"].joints3d, c["truth"], seg)
depth_true = 100 * segment_depths(c["truth"])[:, seg]
flip = int(np.argmax(np.where(np.sign(depth_pf) != np.sign(depth_true), np.abs(depth_pf - depth_true), 0)))
SIDE = (10, -10)                 # nearly side-on: depth runs left-right (as in example 9)
poses = {"frame by frame": c["per_frame"].joints3d[flip], "whole video": c["temporal"].joints3d[flip]}
depths = {"frame by frame": depth_pf[flip],
          "whole video": relative_depth(c["temporal"].joints3d, c["truth"], seg)[flip]}
aligned_truth = {k: similarity_align(c["truth"][[flip]], v[None], rotate=False)[0] for k, v in poses.items()}
limits = viz.pose_limits(np.stack(list(poses.values())))
fig = plt.figure(figsize=(12, 3.6))
ax = fig.add_subplot(1, 3, 1, projection="3d")
for pose in poses.values():
    viz.plot_3d(pose, BODY15, view="camera", ax=ax, limits=limits, alpha=0.6)
ax.set_title(f"frame {flip}: both lifts from the camera", fontsize=9)
for k, (label, pose) in enumerate(poses.items()):
    ax = fig.add_subplot(1, 3, k + 2, projection="3d")
    viz.plot_3d(aligned_truth[label], BODY15, view=SIDE, ax=ax, limits=limits, color="#bbbbbb")
    viz.plot_3d(pose, BODY15, view=SIDE, ax=ax, limits=limits, axis_labels=False,
                title=f"{label}: {SEGMENTS[seg][1]} {depths[label]:+.0f} cm (true {depth_true[flip]:+.0f})")
fig.suptitle(f"depth of the {SEGMENTS[seg][1]} behind the {SEGMENTS[seg][0]}; right: {viz.view_label(SIDE)}, "
             "grey: truth", fontsize=9)
fig.subplots_adjust(left=0.01, right=0.99, top=0.84, wspace=0.05)
plt.show()

# %% [markdown]
# ## The same in motion
#
# A side view (depth left to right, height up) of the two lifts, each aligned to the truth
# by scale and translation (grey): the flicker of the per-frame lift is the depth of a limb
# jumping from one side to the other.  Drawn with matplotlib's `FuncAnimation` on plain 2D
# axes (cheap), saved as a GIF in the working directory, as example 7 does with `viz.animate`.

# %%
BONES = np.array(BODY15.edge_indices())
pelvis = c["truth"][:, [J("pelvis")]]


def side_view(joints3d):
    """(N, P, 2) depth and height (metres) about the true pelvis of each frame: the view from the side."""
    return (joints3d - pelvis)[..., [2, 1]] * [1.0, -1.0]


truth_side = side_view(c["truth"])
side = {label: side_view(similarity_align(c[kind].joints3d, c["truth"], rotate=False))
        for label, kind in (("frame by frame", "per_frame"), ("whole video", "temporal"))}
frames_shown = range(30, min(len(c["truth"]), 75))
fig, axes = plt.subplots(1, 2, figsize=(5.6, 3.4), sharex=True, sharey=True)
lines = {}
for ax, label in zip(axes, side):
    ax.set_title(label, fontsize=9)
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("depth from the pelvis (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    lines[label] = ([ax.plot([], [], color="#bbbbbb", lw=4)[0] for _ in BONES],
                    [ax.plot([], [], color="C3" if "left" in a + b else "C0", lw=2)[0] for a, b in BODY15.edges])
caption = fig.suptitle("", fontsize=9)


def draw(t):
    """Frame t of the animation: the truth (grey) and each lift, seen from the side."""
    for label, pose in side.items():
        grey, bones = lines[label]
        for k, (a, b) in enumerate(BONES):
            grey[k].set_data(*truth_side[t, [a, b]].T)
            bones[k].set_data(*pose[t, [a, b]].T)
    caption.set_text(f"{shown}, frame {t}, seen from the side (grey: truth; red: left limbs)")
    return [line for pair in lines.values() for group in pair for line in group]


animation = FuncAnimation(fig, draw, frames=frames_shown, interval=100)
animation.save("temporal.gif", writer=PillowWriter(fps=8), dpi=64)
plt.close(fig)
print(f"temporal.gif: {len(frames_shown)} frames, {Path('temporal.gif').stat().st_size // 1000} KB")
Image(filename="temporal.gif")

# %% [markdown]
# ## Shared bone proportions
#
# A person's bones do not change length between frames, but each frame's lift picks its own
# proportions from the shape bases.  `lift_sequence` takes the per-bone median of the
# per-frame lifts' proportions as the person's and adds
# $\frac{\mu}{2}\sum_b (l_b - \rho_b \sum_{b'} l_{b'})^2$ to every frame (`proportions_weight`
# $\mu$, 1 by default; `smoothness` $\lambda$, 1 by default).  How much do the fractions
# $l_b / \sum l$ vary from frame to frame, and what does each term buy?

# %%
def proportion_spread(joints3d):
    """Mean over bones of the std over frames of each bone's fraction of the total length (%)."""
    lengths = np.linalg.norm(joints3d[:, BONES[:, 0]] - joints3d[:, BONES[:, 1]], axis=-1)
    return 100 * (lengths / lengths.sum(axis=1, keepdims=True)).std(axis=0).mean()


settings = {"frame by frame": None, "smoothness only (proportions_weight=0)": dict(proportions_weight=0.0),
            "proportions only (smoothness=0)": dict(smoothness=0.0), "both (the default)": dict()}
for label, setting in settings.items():
    rows = []
    for c_ in clips.values():
        result = c_["per_frame"] if setting is None else lifter.lift_sequence(c_["keypoints"], fps=c_["fps"], **setting)
        rows.append((*scores(result.joints3d, c_["truth"]), proportion_spread(result.joints3d)))
    rows = np.array(rows)
    pa, cam = (rows[:, :2] * weights[:, None]).sum(axis=0) / weights.sum()
    print(f"{label:>40}: PA-MPJPE {pa:5.1f} mm, camera {cam:5.1f} mm, accel {rows[:, 2].mean():5.1f} mm/f^2, "
          f"bone fractions vary by {rows[:, 3].mean():.2f}%")
truth_spread = np.mean([proportion_spread(c_["truth"]) for c_ in clips.values()])
print(f"{'truth':>40}: bone fractions vary by {truth_spread:.2f}%")

# %% [markdown]
# `smoothness=0` is also the setting for frames that are *not* a video, such as several views
# of one body: shared proportions, no coupling in time.
#
# ## A system linear in the number of frames
#
# Every frame has its own unknowns: a rotation (3) and the coefficients of its working set
# of atoms.  The acceleration row of frame $n$ involves frames $n-1, n, n+1$, so the
# Gauss-Newton normal matrix couples each frame with the two before and after it: it is
# *block-pentadiagonal*.  Its Cholesky factor has the same band (no fill-in), so a
# Levenberg-Marquardt step costs $O(N b^3)$ for $N$ frames of $b$ unknowns
# (`lift2d3d.solvers.banded`) instead of the $O(N^3 b^3)$ of a dense solve.  The pattern,
# from the acceleration rows the solver uses (`acceleration_rows`), for 12 frames of 3 + 5
# unknowns:

# %%
N_SPY, B_SPY = 12, 8
d = acceleration_rows(np.arange(N_SPY, dtype=float), 1.0, 10.0)
A = np.zeros((N_SPY, N_SPY))                  # second differences: row n has d[n] at frames n-1, n, n+1
for n_ in range(1, N_SPY - 1):
    A[n_, n_ - 1:n_ + 2] = d[n_]
coupling = (A.T @ A != 0) | np.eye(N_SPY, dtype=bool)
pattern = np.kron(coupling, np.ones((B_SPY, B_SPY)))

# A long video: the dance_b clip played forwards and backwards, over and over.
dance = clips["dance_b"]["keypoints"]
loop = np.concatenate([dance, dance[::-1]])
long_video = np.concatenate([loop] * 12)
lengths, seconds = [150, 300, 600, 1200, 1800], []
lifter.lift_sequence(long_video[:100])                         # warm-up
for N in lengths:
    start = time.perf_counter()
    lifter.lift_sequence(long_video[:N], window=N, overlap=0)   # one window: one banded system
    seconds.append(time.perf_counter() - start)
print("lift_sequence in one window: " + ", ".join(f"{N} frames {s:.2f} s" for N, s in zip(lengths, seconds)))
print(f"frames per second: {', '.join(f'{N / s:.0f}' for N, s in zip(lengths, seconds))}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].spy(pattern, markersize=1.5)
axes[0].set_title(f"normal matrix, {N_SPY} frames x {B_SPY} unknowns", fontsize=9)
axes[1].plot(lengths, seconds, "o-", label="measured")
axes[1].plot(lengths, np.array(lengths) * seconds[-1] / lengths[-1], "k--", lw=1, label="linear")
axes[1].set_xlabel("frames in the window")
axes[1].set_ylabel("seconds")
axes[1].set_title("lift_sequence: time against length", fontsize=9)
axes[1].grid(alpha=0.3)
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Windows and blending
#
# Linear is not enough for a video of an hour, nor for a pipeline that streams rows: the
# frames are cut into windows of `window` frames (256 by default) that overlap by `overlap`
# (32), each solved on its own from its own frames, and the overlaps blended with weights
# that ramp from one window to the next (`lift2d3d.solvers.windows`).  A window knows least
# near its cut ends, so each fades out there.  The same spin clip in windows of 40 frames
# overlapping by 12, and with hard cuts (overlap 0):

# %%
spin = clips["spin"]
N = len(spin["truth"])
plan = plan_windows(N, 40, 12)
ramp = overlap_weights(12)
blend = np.zeros((len(plan), N))
for k, (start, stop) in enumerate(plan):
    blend[k, start:stop] = 1.0
    if k > 0:                                 # fade in over the frames shared with the previous window
        blend[k, start:start + 12] = ramp
    if k + 1 < len(plan):                     # fade out over those shared with the next one
        blend[k, plan[k + 1, 0]:stop] = 1.0 - ramp
print("windows:", plan.tolist(), "| weights sum to one:", np.allclose(blend.sum(axis=0), 1.0))

one = spin["temporal"].joints3d
cut = {"overlap 12": lifter.lift_sequence(spin["keypoints"], fps=spin["fps"], window=40, overlap=12).joints3d,
       "overlap 0": lifter.lift_sequence(spin["keypoints"], fps=spin["fps"], window=40, overlap=0).joints3d}
for label, joints in cut.items():
    pa, cam, acc = scores(joints, spin["truth"])
    change = 1000 * np.linalg.norm(joints - one, axis=-1).mean(axis=1)
    print(f"{label}: PA-MPJPE {pa:.1f} mm, camera {cam:.1f} mm, accel {acc:.1f} mm/f^2; "
          f"differs from one window by {change.mean():.1f} mm on average, {change.max():.1f} mm at most")
pa, cam, acc = scores(one, spin["truth"])
print(f"one window: PA-MPJPE {pa:.1f} mm, camera {cam:.1f} mm, accel {acc:.1f} mm/f^2")

# %%
fig, axes = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True)
for k in range(len(plan)):
    axes[0].plot(blend[k], lw=2, label=f"window {k}")
axes[0].set_ylabel("blend weight")
axes[0].legend(fontsize=7, ncol=len(plan))
for label, joints in cut.items():
    axes[1].plot(1000 * np.linalg.norm(joints - one, axis=-1).mean(axis=1), label=label)
axes[1].set_ylabel("distance to the\none-window lift (mm)")
axes[1].set_xlabel("frame")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.grid(alpha=0.3)
    for start in plan_windows(N, 40, 0)[1:, 0]:        # the hard cuts
        ax.axvline(start, color="C1", lw=0.8, ls="--")
fig.tight_layout()
plt.show()

# %% [markdown]
# Windows of 40 frames are short (the default is 256): each estimates the person's
# proportions from its own frames, so the windowed lifts differ from the one-window lift by
# most of a centimetre on average, about as accurate.  The hard cut leaves a jump at the cut
# (frame 40); the blended overlap spreads the change over the frames both windows share.
#
# ## Left/right swaps of a detector
#
# 2D detectors now and then label a person's left arm (or leg) as the right one, for a
# single frame.  Lifted as given, that frame is a different pose, and smoothing alone can
# only smear it over its neighbours.  In 2D the swap is plain: the swapped joints jump to
# the other side and back.  `lift_sequence` finds such frames with a Viterbi pass over the
# labellings of each frame, scored by 2D acceleration (`lift2d3d.solvers.labels`), swaps
# them back and says so in the frame's `message`.  Here 5% of the frames get their arms or
# their legs swapped:

# %%
def swap_limbs(keypoints, fraction, rng):
    """Keypoints with the left and right arms or legs (at random) swapped in ``fraction`` of the frames."""
    out, swapped = keypoints.copy(), np.flatnonzero(rng.random(len(keypoints)) < fraction)
    for n_ in swapped:
        for part in (("shoulder", "elbow", "wrist") if rng.random() < 0.5 else ("hip", "knee", "ankle")):
            a, b = J(f"left_{part}"), J(f"right_{part}")
            out[n_, [a, b]] = out[n_, [b, a]]
    return out, swapped


rng = np.random.default_rng(1)
rows, found, planted, false_alarms = {"frame by frame": [], "fix_swaps=False": [], "fix_swaps (default)": []}, 0, 0, 0
for c_ in clips.values():
    keypoints, swapped = swap_limbs(c_["keypoints"], 0.05, rng)
    rows["frame by frame"].append(scores(lifter.lift(keypoints).joints3d, c_["truth"]))
    rows["fix_swaps=False"].append(scores(lifter.lift_sequence(keypoints, fps=c_["fps"], fix_swaps=False).joints3d,
                                          c_["truth"]))
    result = lifter.lift_sequence(keypoints, fps=c_["fps"])
    rows["fix_swaps (default)"].append(scores(result.joints3d, c_["truth"]))
    repaired = np.flatnonzero(np.char.find(result.message, "swapped back") >= 0)
    planted += len(swapped)
    found += len(np.intersect1d(repaired, swapped))
    false_alarms += len(np.setdiff1d(repaired, swapped))
for label, r in rows.items():
    r = np.array(r)
    pa, cam = (r[:, :2] * weights[:, None]).sum(axis=0) / weights.sum()
    print(f"{label:>20}: PA-MPJPE {pa:5.1f} mm, camera {cam:5.1f} mm, accel {r[:, 2].mean():5.1f} mm/f^2")
print(f"{planted} frames swapped, {found} found and swapped back, {false_alarms} false alarms; e.g. "
      f"{str(result.message[repaired[0]])!r}" if len(repaired) else "")

# %% [markdown]
# Smoothing alone (`fix_swaps=False`) smears each swap over its neighbours: better than frame
# by frame, far from the video lift of the clean keypoints.  With the swaps found and swapped
# back, the errors are those of the clean keypoints.
#
# ## Missing joints and gaps
#
# Detectors also lose joints (a score of 0, or NaN keypoints) and whole frames (the person
# hidden, or frames dropped).  Pass the frame numbers with `frames=`: the time steps then
# count as the time they stand for, the acceleration uses unequal spacing, and a gap longer
# than `max_gap` frames (10 by default) splits the video into pieces that are not coupled.
# The clip of the first picture with 10% of the joints missing at random and frames 60-67
# lost; the errors are over the frames kept, the acceleration error on each side of the gap
# (it has no meaning across it), and "near the gap" is the camera-frame error of the four
# frames on either side:

# %%
c = clips[shown]
rng = np.random.default_rng(2)
LOST = np.arange(60, 68)
kept = np.setdiff1d(np.arange(len(c["truth"])), LOST)
keypoints = c["keypoints"][kept].copy()
visible = (rng.random(keypoints.shape[:2]) > 0.1).astype(float)     # the scores: 0 = missing
keypoints[visible == 0] = np.nan
truth = c["truth"][kept]
near_gap = (np.abs(kept - LOST[0]) <= 4) | (np.abs(kept - LOST[-1]) <= 4)
lifts = {"frame by frame": lifter.lift(keypoints, visible),
         "lift_sequence(frames=kept)": lifter.lift_sequence(keypoints, visible, frames=kept, fps=c["fps"]),
         "lift_sequence, no frames=": lifter.lift_sequence(keypoints, visible, fps=c["fps"])}
for label, result in lifts.items():
    pa, cam, _ = scores(result.joints3d, truth)
    acc = np.mean([acceleration_error(result.joints3d[part], truth[part]) for part in (kept < 60, kept > 67)])
    near = 1000 * scale_translation_error(result.joints3d[near_gap], truth[near_gap]).mean()
    print(f"{label:>27}: PA-MPJPE {pa:5.1f} mm, camera {cam:5.1f} mm ({near:5.1f} near the gap), "
          f"accel {acc:5.1f} mm/f^2; statuses {sorted(str(s_) for s_ in set(result.status))}")

# %%
fig, ax = plt.subplots(figsize=(10, 3.2))
ax.plot(np.arange(len(c["truth"])), 100 * segment_depths(c["truth"])[:, seg], "k-", lw=2.5, label="truth")
for (label, result), style, colour in zip(list(lifts.items())[:2], ("o", "s"), ("C3", "C0")):
    ax.plot(kept, relative_depth(result.joints3d, truth, seg), style + "-", ms=3, lw=0.8, color=colour, label=label)
ax.axvspan(LOST[0] - 0.5, LOST[-1] + 0.5, color="grey", alpha=0.2, label="frames lost")
ax.set_xlabel("frame")
ax.set_ylabel(f"depth of {SEGMENTS[seg][1]}\nbehind {SEGMENTS[seg][0]} (cm)")
ax.set_title(f"{shown}: 10% of the joints missing, frames {LOST[0]}-{LOST[-1]} lost", fontsize=9)
ax.legend(fontsize=8, ncol=4)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# Without `frames=`, the rows are taken as consecutive frames: the eight lost frames become one
# step, the motion across the gap looks eight times too fast, and the frames next to it are
# pulled towards each other (the error near the gap).  With the frame numbers, the acceleration
# row across the gap uses the true spacing; a gap longer than `max_gap` would cut the video in
# two.  The missing joints need nothing: a score of 0 drops a joint from its frame's data term,
# and the neighbours and the prior fill it in.
#
# ## The temporal reconstruction component
#
# Smoothness repairs flickers.  It cannot repair a limb that the shape prior puts on the wrong
# side in depth frame after frame: a flip held throughout costs no acceleration (the walk
# numbers above).  What the person does over a few tenths of a second can carry what one frame
# lacks, and a network learned from MoCap videos can use it.  Example 11 fused a per-frame
# lifting network into the geometric fit; over a video, `Lifter(method="fused").lift_sequence`
# takes that network's prior frame by frame (the default), or, with `temporal_network="default"`,
# each frame's prior from a *temporal* network (`lift2d3d.learned.TemporalNetwork`,
# learned from CMU MoCap takes only, as the bases were): the 3D it answers for a frame from the
# 2D of the frames around it.  The prior enters the per-frame lifts and the joint refinement
# alike; the smoothness and the shared proportions stay as they were.
#
# ### What it sees
#
# Its window is time, not frames.  `edges` are the boundaries, in seconds from the frame's time
# $t$, of its bins; bin $k$ holds the frames whose times lie in $(t + e_k, t + e_{k+1}]$ and gives
# the network the mean of their keypoints (each frame normalised on its own, so no trajectory in
# pixels) and the fraction of them that see each joint; the frame itself goes in as the
# per-frame network sees it.  So any frame rate fills the same bins (the spin clip's 24 fps as
# well as 30 or 60), and a missing frame only thins its bin.  The centred network's bins
# are symmetric about the frame, so its answer waits for `receptive_field[1]` seconds of video;
# the causal one (`temporal_network="causal"`) ends its bins at the frame, for live use.

# %%
fused = Lifter(method="fused", temporal_network="default")   # the temporal network's prior
networks = {"centred": fused.temporal_network, "causal": load_temporal_network("causal")}
for label, net in networks.items():
    before, after = net.receptive_field
    print(f"{label}: {net}\n    sees {before:.2f} s before and {after:.2f} s after the frame; "
          f"bin edges (s) {np.round(net.edges, 3).tolist()}")

# %%
spin = clips["spin"]
times = np.arange(len(spin["keypoints"])) / spin["fps"]
now = times[len(times) // 2]
wrist_x = spin["keypoints"][:, J("left_wrist"), 0]
fig, axes = plt.subplots(len(networks), 1, figsize=(10, 4.2), sharex=True)
for ax, (label, net) in zip(axes, networks.items()):
    ax.plot(times, wrist_x, "-", color="#bbbbbb", lw=1)
    for k, (start, stop) in enumerate(zip(now + net.edges[:-1], now + net.edges[1:])):
        inside = (times > start + TIME_TOLERANCE) & (times <= stop + TIME_TOLERANCE)
        ax.axvspan(start, stop, color=f"C{k % 2}", alpha=0.15)
        ax.plot(times[inside], wrist_x[inside], "o", ms=4, color=f"C{k % 2}")
        if inside.any():
            ax.hlines(wrist_x[inside].mean(), start, stop, color="k", lw=2)
    ax.axvline(now, color="C3", lw=1.5)
    ax.set_title(f"{label}: {net.n_bins} bins, {net.receptive_field[0]:.2f} s before and "
                 f"{net.receptive_field[1]:.2f} s after the frame lifted (red)", fontsize=9)
    ax.set_ylabel("left wrist\nimage x (px)")
    ax.grid(alpha=0.3)
axes[-1].set_xlim(now - 1.0, now + 1.0)
axes[-1].set_xlabel(f"time (s), spin clip at {spin['fps']:.0f} fps: the frames (dots) in each bin, the bins' "
                    "means (black)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### A limb that smoothness keeps wrong
#
# The same clips, lifted as videos by the geometric fit alone (`method="convex+refine"`, the
# lifts of the first table: smoothness and proportions) and by the fused method (the same, plus
# the temporal network's depths as each frame's prior); beside them the temporal network alone
# (`lift2d3d.evaluation.NetworkLifts`), which is not fitted to the keypoints at all.

# %%
alone = NetworkLifts(fused.network, temporal=fused.temporal_network)
WAYS = {"temporal": "smooth", "fused": "fused", "network": "network"}
print(f"{'clip':>10}   {'PA-MPJPE':>22} {'camera':>22} {'accel (mm/f^2)':>22}")
print(f"{'':>10}   " + " ".join(f"{' '.join(f'{w:>7}' for w in WAYS.values()):>22}" for _ in range(3)))
table = []
for name, c_ in clips.items():
    c_["fused"] = fused.lift_sequence(c_["keypoints"], fps=c_["fps"])
    c_["network"] = alone.lift_sequence(c_["keypoints"], fps=c_["fps"])
    table.append(np.array([scores(c_[way].joints3d, c_["truth"]) for way in WAYS]).T.ravel())
    print(f"{name:>10}   " + " ".join(" ".join(f"{v:7.1f}" for v in table[-1][k:k + 3]) for k in (0, 3, 6)))
table = np.array(table)
mean = (table[:, :6] * weights[:, None]).sum(axis=0) / weights.sum()
print(f"{'all':>10}   " + " ".join(" ".join(f"{v:7.1f}" for v in part) for part in (mean[:3], mean[3:],
                                                                                    table[:, 6:].mean(axis=0))))
wrong = {way: sum(wrong_depth(c_[way].joints3d, c_["truth"]).sum() for c_ in clips.values()) for way in WAYS}
print("limb segments the wrong way in depth, (frame, segment) pairs: "
      + ", ".join(f"{label} {wrong[way]}" for way, label in WAYS.items()))
print("reprojection RMS (px, mean over frames): " + ", ".join(
    f"{WAYS[way]} {np.mean(np.concatenate([c_[way].reprojection_error for c_ in clips.values()])):.1f}"
    for way in ("temporal", "fused")))

# %% [markdown]
# Found by the truth: of all the clips and limb segments, the longest run of consecutive frames in
# which the smoothness-only lift has the segment the wrong way in depth and the fused lift has it
# right.

# %%
def longest_run(mask):
    """(length, first) of the longest run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    starts, stops = edges[::2], edges[1::2]
    if not len(starts):
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(stops[k] - starts[k]), int(starts[k])


runs = {(name, k): longest_run(wrong_depth(c_["temporal"].joints3d, c_["truth"])[:, k]
                               & ~wrong_depth(c_["fused"].joints3d, c_["truth"])[:, k])
        for name, c_ in clips.items() for k in range(len(SEGMENTS))}
(run_clip, run_seg), (run_length, run_first) = max(runs.items(), key=lambda item: item[1][0])
c = clips[run_clip]
print(f"{run_clip}: {SEGMENTS[run_seg][0]} -> {SEGMENTS[run_seg][1]} the wrong way in depth in frames "
      f"{run_first}-{run_first + run_length - 1} ({run_length / c['fps']:.2f} s) with smoothness alone, the right way "
      f"in the fused lift; over the clip, wrong in {wrong_depth(c['temporal'].joints3d, c['truth'])[:, run_seg].sum()} "
      f"frames and {wrong_depth(c['fused'].joints3d, c['truth'])[:, run_seg].sum()} (of {len(c['truth'])})")

# %%
time_s = np.arange(len(c["truth"])) / c["fps"]
fig, axes = plt.subplots(2, 1, figsize=(10, 5.2), sharex=True, gridspec_kw=dict(height_ratios=(3, 2)))
axes[0].plot(time_s, 100 * segment_depths(c["truth"])[:, run_seg], "k-", lw=2.5, label="truth")
for way, style, colour, label in (("temporal", "o-", "C3", "smoothness only (convex+refine)"),
                                  ("fused", "s-", "C0", "fused (temporal network prior)"),
                                  ("network", "--", "C2", "temporal network alone")):
    axes[0].plot(time_s, relative_depth(c[way].joints3d, c["truth"], run_seg), style, ms=3, lw=1, color=colour,
                 label=label)
    axes[1].plot(time_s, 1000 * scale_translation_error(c[way].joints3d, c["truth"]), style, ms=3, lw=1,
                 color=colour)
for ax in axes:
    ax.axvspan(time_s[run_first] - 0.5 / c["fps"], time_s[run_first + run_length - 1] + 0.5 / c["fps"],
               color="grey", alpha=0.2)
    ax.grid(alpha=0.3)
axes[0].axhline(0, color="grey", lw=0.8)
axes[0].set_ylabel(f"depth of {SEGMENTS[run_seg][1]}\nbehind {SEGMENTS[run_seg][0]} (cm)")
axes[0].legend(fontsize=8, ncol=2, loc="best")
axes[1].set_ylabel("camera-frame\nerror (mm)")
axes[1].set_xlabel("time (s)")
fig.suptitle(f"{run_clip} clip: smoothness holds the limb on the wrong side in depth (grey band); "
             "the temporal network's prior turns it", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Over the grey band the geometric fit prefers the wrong side frame after frame, and a run of
# flipped frames costs little acceleration, so smoothness alone holds on to it.  The temporal network's
# depth for those frames, read from the 2D around each of them, puts the limb on the other side;
# the fused fit follows it, and still reprojects to the keypoints (close to as well as the
# geometric fit: the reprojection errors above).
# Nothing guarantees that a clip gains: where the network's guess is wrong, the pull follows it
# too; compare the columns of the table clip by clip.
#
# ## Exercise
#
# 1. Turn `smoothness` up and down (0.1, 1, 10, 100) on all the clips: where is the best
#    PA-MPJPE, where the best acceleration error?  At 100, which motions suffer (look at the
#    fastest clips, and at the `message` of frames "lifted on its own")?
# 2. Make one of the clips 4x slower by interpolating its keypoints, and lift it with the
#    right `fps=` and with the wrong one (30).  Why do the weights need the frame rate?
# 3. Find a frame where *both* lifts have a limb in the wrong depth (`segment_depths` against
#    the truth) for many frames in a row.  Would a single ordinal hint (example 9) on one of
#    those frames fix all of them under `lift_sequence(..., depth_order=...)`?
# 4. Grow the gap in the last section from 8 frames to 12 (beyond `max_gap`), and then pass
#    `max_gap=20`.  What happens across the gap in each case?
# 5. Lift the clips with `Lifter(method="fused", temporal_network="causal")`, which never waits
#    for a later frame, and with `temporal_network=None` (the default), the per-frame network's
#    prior frame by frame (example 11).  What does seeing the future buy, and what does seeing any
#    time at all?  The README's "Video" section has the answer on held-out CMU and Bandai clips.
