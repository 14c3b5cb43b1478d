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
# # 9. Ordinal depth hints: "this joint is nearer than that one"
#
# **What you will learn**
#
# * that the worst mistakes of a single-view lift are often the *depth sign* of a limb
#   segment: forearm, upper arm, thigh and shank can each point towards or away from the
#   camera with the same picture and the same bone length ($2^8$ poses);
# * the cheap cure of Pavlakos, Zhou & Daniilidis (CVPR 2018): people cannot label 3D, but they
#   can say which of two joints is *nearer the camera*, and such ordinal relations can be
#   enforced as hinge penalties: `Lifter.lift(keypoints, depth_order=[("left_wrist", "<",
#   "left_elbow"), ...])`;
# * how many such hints a pose needs, and what a *wrong* hint does;
# * how bad hints (an unknown joint, a contradiction) are reported frame by frame.
#
# The poses are DeepMimic motion-capture frames (the clips that ship with pybullet) seen by a
# virtual camera, so every relation and every error can be checked against the truth.  The
# default bases are learned from CMU MoCap and never saw these clips: they are held-out poses,
# as a user's would be (exercise 4 lifts them with the bases learned from the clips).

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import Lifter, viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.options import Options
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers.records import DEPTH_MARGIN, DEPTH_TOLERANCE
from lift2d3d.solvers.reflect import reflect_chains

DEPTH_WEIGHT = Options().depth_weight

J = BODY15.index


def to_camera(world, yaw=0.0, distance=5.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    a = np.radians(yaw)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (world - world[J("pelvis")]) @ turn.T @ facing.T + [0.0, 0.0, distance]


def project(X):
    """Pinhole camera, f = 1000 px, 1280x720 image (pixels)."""
    return 1000.0 * X[..., :2] / X[..., 2:3] + [640.0, 360.0]


# Every other frame of eight clips, each turned to a random heading, 5 m from the camera.
rng = np.random.default_rng(0)
truth = []
for name in ("walk", "run", "dance_a", "dance_b", "punch", "kick", "jump", "spin"):
    clip = read_deepmimic([p for p in deepmimic_clips() if name in p.name][0])
    truth += [to_camera(world, yaw=rng.uniform(-180, 180)) for world in clip.joints3d[::2]]
truth = np.stack(truth)                      # (N, 15, 3) metres, camera frame
keypoints = project(truth)                   # (N, 15, 2) pixels
lifter = Lifter()
print(f"{len(truth)} frames; {lifter}")

# %% [markdown]
# ## The ambiguity, in one picture
#
# Under weak perspective a camera keeps $x$ and $y$ and forgets $z$.  Reflecting a limb
# segment's far joint in depth about its near one (and carrying the rest of the limb along)
# keeps every keypoint where it is and every bone as long as it was.  Each arm and each leg has
# two segments: $2^8 = 256$ poses, twice that with the global mirror of all depths (example 1
# counted all 14 bones; here only the limb segments, the reflections the lifter searches when
# it is given hints).
# `reflect_chains` is the library's own kernel for these reflections.

# %%
chains = np.array([[J(f"{side}_{j}") for j in joints] for side in ("left", "right")
                   for joints in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))])
bones = np.array(BODY15.edge_indices())
X = np.ascontiguousarray(truth[60].T)        # (3, 15), as the kernel reads it
Y = np.empty_like(X)
family = []
for mask in range(2 ** 8):
    reflect_chains(X, chains, mask, False, Y)
    family.append(Y.T.copy())
family = np.stack(family)
same_2d = np.abs(family[..., :2] - truth[60, :, :2]).max()
lengths = np.linalg.norm(family[:, bones[:, 0]] - family[:, bones[:, 1]], axis=-1)
print(f"{len(family)} reflections: x, y differ by at most {same_2d:.1e} m, "
      f"bone lengths by at most {np.abs(lengths - lengths[0]).max():.1e} m; "
      f"depths of the wrists and ankles spread over {100 * np.ptp(family[:, :, 2], axis=0).max():.0f} cm")

# %%
SIDE = (10, -10)                 # nearly side-on: depth runs left-right, where reflections show
shown = family[[0, 0b00000001, 0b00000110, 0b00110000, 0b11001100]]      # the truth and 4 reflections
limits = viz.pose_limits(shown)
fig = plt.figure(figsize=(12, 3.6))
ax = fig.add_subplot(1, 3, 1, projection="3d")
for Z in shown:
    viz.plot_3d(Z, BODY15, view="camera", ax=ax, limits=limits, alpha=0.5)
ax.set_title("camera view: 5 poses, 1 picture", fontsize=9)
for k, (Z, name) in enumerate([(shown[1], "left upper arm flipped"), (shown[4], "both legs flipped")]):
    ax = fig.add_subplot(1, 3, k + 2, projection="3d")
    viz.plot_3d(truth[60], BODY15, view=SIDE, ax=ax, limits=limits, color="#bbbbbb")
    viz.plot_3d(Z, BODY15, view=SIDE, ax=ax, limits=limits, axis_labels=False, title=f"{name} (grey: true)")
fig.suptitle(f"right: {viz.view_label(SIDE)}", fontsize=9)
fig.subplots_adjust(left=0.01, right=0.99, top=0.84, wspace=0.05)
plt.show()

# %% [markdown]
# ## Ordinal relations and their hinge
#
# Pavlakos et al. ask people for relations between pairs of joints $(i, j)$:
# $r_{ij} = +1$ when $i$ is nearer the camera than $j$ ($z_i < z_j$), $-1$ when it is farther,
# $0$ when the two are at about the same depth.  To *train* a network they use a ranking loss,
# $\log(1 + e^{z_i - z_j})$ for $r_{ij} = +1$ and $(z_i - z_j)^2$ for $r_{ij} = 0$.  A *fit* of
# one pose needs something else: a penalty that is exactly zero once the relation holds, so a
# lift that already obeys its hints is not pushed around.  The lifter adds to the refinement's
# objective, for each relation,
#
# $$E_{ij} = \frac{w}{2}\max(0,\ z_i - z_j + m)^2 \quad (r_{ij} = +1), \qquad
#   E_{ij} = \frac{w}{2}\max(0,\ |z_i - z_j| - t)^2 \quad (r_{ij} = 0),$$
#
# with a margin $m$ (nearer by at least $m$), a tolerance $t$ (equal within $t$) and a large
# weight $w$ so that a true hint wins over the prior.  The hinge is *squared* so that the
# objective stays smooth at the boundary (Levenberg-Marquardt needs its Jacobian); a plain
# hinge has a kink there.  A hinge alone would rather *bend* a wrong limb until the relation
# barely holds than flip it (half-way, the segment would have to shorten or leave its
# keypoints: a barrier of the prior and the data term); so the lifter also
# starts a refinement from the limb reflection of the previous section that satisfies the most
# relations, and keeps whichever fit has the lower objective.
#
# $w$, $m$ and $t$ are in the lifter's normalised units, where the 2D pose has unit RMS radius:

# %%
radius = np.sqrt(np.mean(np.sum((truth[:, :, :2] - truth[:, :, :2].mean(axis=1, keepdims=True)) ** 2, axis=2)))
print(f"w = {DEPTH_WEIGHT:g}, m = {DEPTH_MARGIN:g}, t = {DEPTH_TOLERANCE:g} (units); one unit is about "
      f"{100 * radius:.0f} cm for these poses: m ~ {100 * DEPTH_MARGIN * radius:.0f} cm, "
      f"t ~ {100 * DEPTH_TOLERANCE * radius:.0f} cm")

# %% [markdown]
# ## One frame the plain lift gets wrong
#
# A segment's depth sign is wrong when its far joint is in front of its near one in the lift
# but behind it in the truth.  Only segments that point clearly into depth (more than 10 cm
# of depth change) count: one nearly parallel to the image plane costs little either way.

# %%
SEGMENTS = [(a, b) for a, b in BODY15.edges if a.split("_")[-1] in ("shoulder", "elbow", "hip", "knee")]


def wrong_segments(joints3d, true3d, min_depth=0.10):
    """(N, 8) bool: limb segments whose depth sign differs from the truth's (truth's |dz| > min_depth m)."""
    a, b = np.array([[J(a), J(b)] for a, b in SEGMENTS]).T
    dz_true = true3d[..., b, 2] - true3d[..., a, 2]
    dz = joints3d[..., b, 2] - joints3d[..., a, 2]
    return (np.sign(dz) != np.sign(dz_true)) & (np.abs(dz_true) > min_depth)


def procrustes(source, target):
    """``source`` (P, 3) moved onto ``target`` by the best rotation, scale and translation."""
    a, b = source - source.mean(axis=0), target - target.mean(axis=0)
    U, s, Vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(U @ Vt))
    s[-1] *= d
    U[:, -1] *= d
    return (s.sum() / np.sum(a ** 2)) * a @ (U @ Vt) + target.mean(axis=0)


def joint_errors_mm(pred, true):
    """Per-joint error (mm) after the best similarity transform; its mean is the PA-MPJPE."""
    return 1000 * np.linalg.norm(procrustes(pred, true) - true, axis=1)


plain = lifter.lift(keypoints)
wrong = wrong_segments(plain.joints3d, truth)
plain_errors = np.array([joint_errors_mm(p, t).mean() for p, t in zip(plain.joints3d, truth)])
bad = wrong.any(axis=1)
print(f"the plain lift has a limb segment in the wrong depth in {bad.mean():.0%} of the frames; PA-MPJPE "
      f"{plain_errors[bad].mean():.0f} mm there, {plain_errors[~bad].mean():.0f} mm in the others")
# Of the frames with exactly one wrong segment (the case one hint is meant for), the one whose
# wrong segment reaches deepest in the truth: the clearest mistake.
near_j, far_j = np.array([[J(a), J(b)] for a, b in SEGMENTS]).T
one_wrong = wrong.sum(axis=1) == 1
depth = np.where(wrong & one_wrong[:, None], np.abs(truth[:, far_j, 2] - truth[:, near_j, 2]), 0.0)
frame, seg = np.unravel_index(np.argmax(depth), depth.shape)
near, far = SEGMENTS[seg]
away = truth[frame, J(far), 2] > truth[frame, J(near), 2]
print(f"{one_wrong.sum()} frames have exactly one; in frame {frame} the {near} -> {far} segment goes "
      f"{100 * depth[frame, seg]:.0f} cm {'away from' if away else 'towards'} the camera; the lift has it "
      "the other way")

# %% [markdown]
# Three true relations for this frame, as a person looking at the picture would give them:
# the one the lift gets wrong (the segment's two joints), and two that are easy to see and
# pin the body's turn: which shoulder and which hip is nearer.  Those two
# already hold in the plain lift; they are there so that the fix cannot come from turning the
# whole body.

# %%
def true_relation(z, a, b):
    """(a, '<' or '>', b) as the truth has it: '<' when a is nearer the camera."""
    return (a, "<" if z[J(a)] < z[J(b)] else ">", b)


def three_hints(n, segment):
    """Frame n's true relations: the segment's two joints, the two shoulders, the two hips."""
    near, far = segment
    z = truth[n, :, 2]
    return [true_relation(z, far, near), true_relation(z, "left_shoulder", "right_shoulder"),
            true_relation(z, "left_hip", "right_hip")]


hints = three_hints(frame, SEGMENTS[seg])
hinted = lifter.lift(keypoints[frame], depth_order=hints)
z, lift_z = truth[frame, :, 2], plain.joints3d[frame, :, 2]
for relation in hints:
    a, symbol, b = relation
    holds = (lift_z[J(a)] < lift_z[J(b)]) == (symbol == "<")
    print(f"{relation}: true depth difference {100 * (z[J(a)] - z[J(b)]):+.0f} cm; "
          f"{'holds' if holds else 'VIOLATED'} in the plain lift")
print(hinted.status, "|", hinted.message)

# %%
errors = {"no hints": joint_errors_mm(plain.joints3d[frame], truth[frame]),
          "3 true hints": joint_errors_mm(hinted.joints3d, truth[frame])}
print(f"{'joint':>15} {'no hints':>9} {'3 hints':>8}  (mm)")
for j, joint in enumerate(BODY15.joints):
    print(f"{joint:>15} {errors['no hints'][j]:9.0f} {errors['3 true hints'][j]:8.0f}")
print(f"{'PA-MPJPE':>15} {errors['no hints'].mean():9.0f} {errors['3 true hints'].mean():8.0f}")
print("2D fit (px RMS):", f"{plain.reprojection_error[frame]:.1f} without, {hinted.reprojection_error:.1f} with hints")

# %% tags=["gallery"]
poses = {"no hints": plain.joints3d[frame], "3 true hints": hinted.joints3d}
limits = viz.pose_limits(np.stack(list(poses.values())))
fig = plt.figure(figsize=(12, 3.8))
ax = fig.add_subplot(1, 3, 1, projection="3d")
for pose in poses.values():
    viz.plot_3d(pose, BODY15, view="camera", ax=ax, limits=limits, alpha=0.6)
ax.set_title("camera view: both lifts overlaid (same 2D)", fontsize=9)
for k, (name, pose) in enumerate(poses.items()):
    ax = fig.add_subplot(1, 3, k + 2, projection="3d")
    viz.plot_3d(procrustes(truth[frame], pose), BODY15, view=SIDE, ax=ax, limits=limits, color="#bbbbbb")
    viz.plot_3d(pose, BODY15, view=SIDE, ax=ax, limits=limits, axis_labels=False,
                title=f"{name}: PA-MPJPE {errors[name].mean():.0f} mm")
    x, y, depth_z = pose[J(far)]
    ax.plot([x], [depth_z], [-y], "o", color="black", markerfacecolor="none", markersize=12)   # viz plots (x, z, -y)
fig.suptitle(f"frame {frame}: {near} -> {far} (circled) wrong in depth without hints; right: "
             f"{viz.view_label(SIDE)}, grey: truth", fontsize=9)
fig.subplots_adjust(left=0.01, right=0.99, top=0.84, wspace=0.05)
plt.show()

# %% [markdown]
# Is this frame typical?  The same recipe (the wrong segment's relation, the shoulders, the
# hips) on every frame whose lift has exactly one segment wrong:

# %%
frames = np.flatnonzero(one_wrong)
recipe = lifter.lift(keypoints[frames],
                     depth_order=[three_hints(n, SEGMENTS[np.argmax(wrong[n])]) for n in frames])
before = plain_errors[frames]
after = np.array([joint_errors_mm(pose, truth[n]).mean() for pose, n in zip(recipe.joints3d, frames)])
fixed = ~wrong_segments(recipe.joints3d, truth[frames]).any(axis=1)
print(f"{len(frames)} frames: all segments right afterwards in {fixed.sum()}; PA-MPJPE {before.mean():.0f} -> "
      f"{after.mean():.0f} mm (median change {np.median(after - before):+.0f} mm, worse in {(after > before).sum()})")

# %% [markdown]
# ## How many hints does a pose need?
#
# Now every frame gets $k$ relations drawn at random from the pairs of joints whose true
# depths differ by more than 5 cm (pairs a person can order with confidence), $k$ = 0, 1, 2,
# 3, 5, 8 or all of them.  The same again with each
# relation turned round with probability 10%, as a careless annotator would.  A frame whose
# relations contradict each other is refused (`bad_input`, next section); we then lift it
# again without hints, as a user would.

# %%
PAIRS = list(itertools.combinations(BODY15.joints, 2))
clear = [[true_relation(zn, a, b) for a, b in PAIRS if abs(zn[J(a)] - zn[J(b)]) > 0.05] for zn in truth[:, :, 2]]
COUNTS = [0, 1, 2, 3, 5, 8, None]           # None: all the clear pairs
print(f"clear pairs per frame: {np.mean([len(c) for c in clear]):.0f} of {len(PAIRS)} on average")


def sample_relations(k, wrong_rate):
    """k clear relations per frame, each turned round with probability wrong_rate."""
    # Separate random streams: the 10%-wrong runs use the same pairs as the true ones.
    pick, turn = np.random.default_rng(1), np.random.default_rng(2)
    per_frame = []
    for relations in clear:
        picked = [relations[i] for i in pick.permutation(len(relations))[:k]]
        per_frame.append([(b, s, a) if turn.random() < wrong_rate else (a, s, b) for a, s, b in picked])
    return per_frame


curves, frame_errors = {}, {}
for wrong_rate in (0.0, 0.1):
    rows = []
    for k in COUNTS:
        result = lifter.lift(keypoints, depth_order=sample_relations(k, wrong_rate))
        refused = result.status == "bad_input"
        joints3d = np.where(refused[:, None, None], plain.joints3d, result.joints3d)
        frame_errors[wrong_rate, k] = np.array([joint_errors_mm(p, t).mean() for p, t in zip(joints3d, truth)])
        rows.append((frame_errors[wrong_rate, k].mean(), 100 * wrong_segments(joints3d, truth).any(axis=1).mean(),
                     refused.sum()))
    curves[wrong_rate] = np.array(rows)
    print(f"{wrong_rate:.0%} wrong:", "  ".join(f"k={'all' if k is None else k}: {pa:.1f} mm, {w:.0f}% "
                                                 f"({n} refused)" for k, (pa, w, n) in zip(COUNTS, rows)))

# %%
held = np.mean([np.mean([(plain.joints3d[n, J(a), 2] < plain.joints3d[n, J(b), 2]) == (s == "<")
                         for a, s, b in relations]) for n, relations in enumerate(clear)])
print(f"{held:.0%} of the clear true relations already hold in the plain lift")
# One hint per frame: what it does to the frame it lands on, true or turned round (same pairs).
got_wrong = np.array([w != t for w, t in zip(sample_relations(1, 0.1), sample_relations(1, 0.0))])
true_change = frame_errors[0.0, 1] - plain_errors
wrong_change = frame_errors[0.1, 1] - plain_errors
changed = true_change != 0                  # a lift that obeys its hint is left exactly as it is
print(f"one true hint changes {changed.sum()} of {len(truth)} frames, by {true_change[changed].mean():+.1f} mm "
      f"on average; one wrong hint ({got_wrong.sum()} frames): {wrong_change[got_wrong].mean():+.1f} mm")

# %%
labels = [str(k) if k is not None else f"all\n(~{np.mean([len(c) for c in clear]):.0f})" for k in COUNTS]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for wrong_rate, style in ((0.0, "o-"), (0.1, "s--")):
    axes[0].plot(range(len(COUNTS)), curves[wrong_rate][:, 0], style, label=f"{wrong_rate:.0%} wrong relations")
    axes[1].plot(range(len(COUNTS)), curves[wrong_rate][:, 1], style, label=f"{wrong_rate:.0%} wrong relations")
axes[0].set_ylabel("PA-MPJPE (mm)")
axes[1].set_ylabel("frames with a limb segment\nin the wrong depth (%)")
for ax in axes:
    ax.set_xticks(range(len(COUNTS)), labels)
    ax.set_xlabel("random relations per frame")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
fig.suptitle(f"{len(truth)} frames, 8 DeepMimic clips (refused frames lifted without hints)", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# A few random true relations help only a little, because most of them already hold (the share
# printed above): a random pair is usually far apart in depth, and the lift mostly gets the
# body's turn right.  They pay when there are many, or when they are about the segments the
# lift gets wrong (the recipe above; exercise 1).  Even all of them leave most of the error:
# what remains is not a matter of depth order.  A wrong relation is another matter: since the
# lift obeys most true relations, it breaks most turned-round ones, so a wrong hint usually
# moves the pose, and the wrong way: one wrong hint costs its frame more than one true hint
# gains (printed above).  With 10% wrong relations, one to eight hints leave the lift no better
# than none.  With many relations, a wrong one usually closes a cycle with the true ones
# ($a<b<c<a$): the frame is refused rather than lifted wrong, which is why the last point
# falls back to no hints.
#
# ## Bad hints are reported, frame by frame
#
# A relation must name joints of the bases' skeleton (any spelling: `left_wrist`, `LWrist`,
# `l_wrist`), joints the frame shows, and relations that can all hold.  In a batch, a frame
# whose hints cannot be used is `bad_input` with the relation named, and the other frames are
# lifted as usual; a single pose raises a `ValueError` with the same message.

# %%
batch = {0: [("left_wrist", "<", "nose")],                                   # body15 has no nose
         1: [("LWrist", "<", "l_elbow"), ("left_elbow", "<", "left_wrist")],  # a < b and b < a
         2: [("head", "<", "pelvis"), ("pelvis", "<", "left_knee"), ("left_knee", "<", "head")],
         3: [("left_knee", "=", "right_knee"), ("left_knee", "<", "right_knee")],
         4: [true_relation(truth[4, :, 2], "left_wrist", "left_elbow")]}
result = lifter.lift(keypoints[:5], depth_order=batch)
for n in range(5):
    print(n, result.status[n], "|", result.message[n])
try:
    lifter.lift(keypoints[0], depth_order=[("head", "<", "pelvis"), ("pelvis", "<", "head")])
except ValueError as error:
    print("single pose:", error)

# %% [markdown]
# ## Exercise
#
# 1. Which single relation fixes the most frames?  For every frame, give one true relation on
#    the same pair of joints (for instance each of the 8 limb segments' two joints, or the two
#    shoulders, the two hips, head and pelvis) and count the frames whose wrong limb segments
#    go away (`wrong_segments`).  Are relations on the torso or on the limbs worth more?  How
#    does "the 8 segment relations" compare with 8 random ones in the curve above?
# 2. Add `"="` relations for the pairs whose true depths differ by less than 2 cm.  How many
#    frames are refused, and what do their messages say?  Is a chain $a = b$, $b = c$, $a < c$
#    really a contradiction when "about equal" means "within $t$"?
# 3. Pass wrong relations only (every relation turned round) for 3 random pairs.  How far does
#    the 2D fit (`reprojection_error`) move: could you detect a wrong hint from the keypoints?
# 4. Lift with `Lifter("deepmimic")`, the bases learned from these very clips (the best case
#    for the prior).  How many frames have a limb segment wrong now, and do 10% wrong relations
#    hurt more or less than with the default bases?  Why?
