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
# # 1. Weak perspective, and why depth is ambiguous
#
# **What you will learn**
#
# * how a camera turns a 3D pose into 2D keypoints (full perspective), and when the simpler
#   *weak perspective* model is good enough;
# * that a single 2D pose is explained by many 3D poses: every bone can point towards or away
#   from the camera, and the picture does not change;
# * why lifting therefore needs a *prior* on human poses (the shape bases of the next examples).
#
# We use a real pose: a frame of the DeepMimic "walk" motion-capture clip that ships with pybullet.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15

clip = read_deepmimic([p for p in deepmimic_clips() if "walk" in p.name][0])
world = clip.joints3d[10]          # (15, 3) metres, y up, x forward, the right side at +z
print(clip.source, len(clip), "frames;", "joints:", ", ".join(BODY15.joints))


# %% [markdown]
# ## Putting the person in front of a camera
#
# The camera frame has x to the right, y down and z away from the camera.  The DeepMimic actor
# faces +x, so a camera looking at their front sees their right side (+z) on its left.
# `to_camera` turns the actor by `yaw` degrees about the vertical and puts the pelvis
# `distance` metres in front of the lens.

# %%
def to_camera(world, yaw=0.0, distance=4.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])   # world -> camera axes
    t = np.radians(yaw)
    turn = np.array([[np.cos(t), 0.0, np.sin(t)], [0.0, 1.0, 0.0], [-np.sin(t), 0.0, np.cos(t)]])
    centred = world - world[BODY15.index("pelvis")]
    return centred @ turn.T @ facing.T + [0.0, 0.0, distance]


def perspective(X, focal=1000.0, principal=(640.0, 360.0)):
    """Pinhole camera: u = f x / z + c (pixels)."""
    return focal * X[:, :2] / X[:, 2:3] + np.asarray(principal)


def weak_perspective(X, focal=1000.0, principal=(640.0, 360.0)):
    """All joints at the mean depth: u = s x + t with s = f / mean(z) (pixels per metre)."""
    s = focal / X[:, 2].mean()
    return s * X[:, :2] + np.asarray(principal)


X = to_camera(world, yaw=50.0)
W = perspective(X)
fig = viz.plot_lift(None, W, X, BODY15, novel_view=(15, -20))

# %% [markdown]
# ## How good is weak perspective?
#
# Weak perspective replaces each joint's depth $z_j$ by the mean depth $\bar z$: the 2D pose is
# $W = s\,\Pi R S + t\mathbf 1^T$ with $\Pi$ dropping the third row.  The error is about
# $f\,|x|\,|z_j-\bar z| / \bar z^2$: a person a metre deep at arm's length from the lens is badly
# modelled, the same person across a room is fine.

# %%
distances = np.linspace(1.5, 12.0, 30)
errors = []
for d in distances:
    Xd = to_camera(world, yaw=50.0, distance=d)
    diff = perspective(Xd) - weak_perspective(Xd)
    errors.append(np.sqrt(np.mean(np.sum(diff ** 2, axis=1))))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(distances, errors, "o-")
ax.set_xlabel("distance to the camera (m)")
ax.set_ylabel("RMS difference (pixels)")
ax.set_title("perspective vs weak perspective, f = 1000 px")
ax.grid(alpha=0.3)
print(f"at 4 m the two models differ by {np.interp(4.0, distances, errors):.1f} px RMS")

# %% [markdown]
# ## The same 2D from many 3D poses
#
# Under weak perspective the picture keeps $x$ and $y$ and forgets $z$.  Even if we knew every
# bone length $L$, each bone's depth change is only known up to its sign:
# $\Delta z = \pm\sqrt{L^2 - \Delta x^2 - \Delta y^2}$.  Walking the skeleton from the pelvis
# and choosing a sign per bone gives $2^{14}$ poses with the *same bone lengths and the same
# 2D keypoints*.

# %%
def flipped_pose(X, signs):
    """Re-build X bone by bone (parents first) with the depth of bone k flipped when signs[k] < 0."""
    Y = X.copy()
    for k, (a, b) in enumerate(BODY15.edge_indices()):   # body15 lists parents before children
        Y[b, 2] = Y[a, 2] + signs[k] * (X[b, 2] - X[a, 2])
    return Y


rng = np.random.default_rng(0)
n_bones = len(BODY15.edges)
family = [X] + [flipped_pose(X, rng.choice([-1.0, 1.0], size=n_bones)) for _ in range(4)]
bone = np.array(BODY15.edge_indices())
for Y in family:
    assert np.allclose(np.linalg.norm(Y[bone[:, 0]] - Y[bone[:, 1]], axis=1),
                       np.linalg.norm(X[bone[:, 0]] - X[bone[:, 1]], axis=1))       # same bones
    assert np.allclose(weak_perspective(Y - [0, 0, Y[:, 2].mean() - X[:, 2].mean()]),
                       weak_perspective(X))                                         # same picture
print(f"{2 ** n_bones} poses share these 2D keypoints and bone lengths; here are {len(family)}")

# %% tags=["gallery"]
limits = viz.pose_limits(np.stack(family))
fig = plt.figure(figsize=(15, 3.6))
ax = fig.add_subplot(1, 5, 1, projection="3d")
for Y in family:
    viz.plot_3d(Y, BODY15, view="camera", ax=ax, limits=limits, alpha=0.5)
ax.set_title("camera view: 5 poses, 1 picture", fontsize=10)
for i, Y in enumerate(family[1:]):
    ax = fig.add_subplot(1, 5, i + 2, projection="3d")
    viz.plot_3d(X, BODY15, view=(10, -10), ax=ax, limits=limits, color="#bbbbbb")   # the true pose
    viz.plot_3d(Y, BODY15, view=(10, -10), ax=ax, limits=limits, axis_labels=False)
    ax.set_title(f"side view, pose {i + 1} (grey: true)", fontsize=10)
fig.subplots_adjust(left=0.01, right=0.99, wspace=0.05)

# %% [markdown]
# Only one of these poses is the actor's; most bend knees and elbows the wrong way.  Nothing in
# the 2D keypoints says which one is right: the information has to come from what human poses
# look like.  The method of Zhou et al. encodes that as a *sparse combination of shape bases*
# learned from motion capture (example 2) and fits it with a convex program (examples 4 and 5).
#
# ## Exercise
#
# 1. Move the actor to `distance=1.5` and project with `perspective` instead of
#    `weak_perspective`.  Compute the reprojection error (pixels) of each pose in `family`
#    against `perspective(X)` after re-centring its depth.  Does perspective break the ambiguity?
#    By how many pixels -- would a keypoint detector with 5 px noise notice?
# 2. Count, among 1000 random sign choices, how many keep both knees bending forwards
#    (hint: the knee angle's sign in the actor's side plane).

