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
# # 3. The non-convex fit and its local minima
#
# **What you will learn**
#
# * the direct way to fit shape bases to 2D keypoints: alternate between the rotation (a
#   Procrustes problem) and the coefficients (a lasso);
# * that this alternating minimisation lands in different local minima depending on where it
#   starts -- some of them wrong poses that explain the 2D just as well;
# * why the paper starts the alternation from the solution of a *convex* relaxation instead.
#
# The problem (Zhou et al., TPAMI 2017, eq. 3) with $W$ the centred 2D keypoints and $B_i$ the
# centred shape bases:
#
# $$\min_{c,\ \bar R}\ \tfrac12\Big\|W - \bar R\sum_{i=1}^K c_i B_i\Big\|_F^2 + \alpha\|c\|_1
#   \quad\text{s.t.}\quad \bar R\bar R^T = I_2 .$$

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import ShapeBases, viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers import solve_convex

BASES = "default"
bases = ShapeBases.load(BASES)
mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
kappa = np.sqrt(np.mean(np.sum(mean ** 2, axis=0)))          # metres per normalised unit
P = bases.n_joints
C = np.eye(P) - np.ones((P, P)) / P                          # centring: removes the translation
B = (bases.bases / kappa) @ C                                # (K, 3, P) centred, unit-size bases
K = len(B)
alpha = bases.alpha


def to_camera(world, yaw=0.0, distance=5.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    a = np.radians(yaw)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (world - world[BODY15.index("pelvis")]) @ turn.T @ facing.T + [0.0, 0.0, distance]


clip = read_deepmimic([p for p in deepmimic_clips() if "jump" in p.name][0])
X_true = to_camera(clip.joints3d[40], yaw=-40.0)
keypoints = 1000.0 * X_true[:, :2] / X_true[:, 2:3] + [640.0, 360.0]
centred = keypoints - keypoints.mean(axis=0)
radius = np.sqrt(np.mean(np.sum(centred ** 2, axis=1)))
W = centred.T / radius                                       # (2, P), unit RMS radius

# %% [markdown]
# ## Alternating minimisation
#
# * **Rotation step.**  With $S = \sum_i c_i B_i$ fixed, $\min_{\bar R}\|W - \bar R S\|_F$ over
#   matrices with orthonormal rows is solved by the SVD of $W S^T = U\Sigma V^T$: $\bar R = UV^T$.
# * **Coefficient step.**  With $\bar R$ fixed the problem is a lasso in $c$ with the columns
#   $\mathrm{vec}(\bar R B_i)$; a few dozen proximal-gradient (ISTA) steps solve it.

# %%
def rotation_step(S):
    U, _, Vt = np.linalg.svd(W @ S.T, full_matrices=False)
    return U @ Vt


def coefficient_step(R_bar, c, n_steps=30):
    A = np.einsum("ab,kbp->apk", R_bar, B).reshape(2 * P, K)       # columns vec(R_bar B_i)
    w = W.reshape(-1)
    step = 1.0 / np.linalg.norm(A, 2) ** 2
    for _ in range(n_steps):
        z = c - step * A.T @ (A @ c - w)
        c = np.sign(z) * np.maximum(np.abs(z) - step * alpha, 0.0)   # soft threshold
    return c


def objective(R_bar, c):
    S = np.einsum("k,kap->ap", c, B)
    return 0.5 * np.sum((W - R_bar @ S) ** 2) + alpha * np.abs(c).sum()


def alternate(R_bar, c=None, n_iter=60):
    c = np.zeros(K) if c is None else c
    for _ in range(n_iter):
        c = coefficient_step(R_bar, c)
        R_bar = rotation_step(np.einsum("k,kap->ap", c, B))
    return R_bar, c


def pose3d(R_bar, c):
    """Camera-frame joints (P, 3) in metres (size of the bases' mean pose)."""
    R = np.vstack([R_bar, np.cross(R_bar[0], R_bar[1])])
    return (R @ np.einsum("k,kap->ap", c, B)).T * kappa


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


# %% [markdown]
# ## Forty random starts
#
# Each start is a uniformly random rotation ($QR$ of a Gaussian matrix).

# %%
rng = np.random.default_rng(0)
runs = []
start = time.perf_counter()
for _ in range(40):
    Q, Rq = np.linalg.qr(rng.standard_normal((3, 3)))
    Q = Q * np.sign(np.diag(Rq))
    R_bar, c = alternate(Q[:2])
    runs.append((objective(R_bar, c), 1000 * pa_mpjpe(pose3d(R_bar, c), X_true), R_bar, c))
print(f"40 random starts in {time.perf_counter() - start:.1f} s")
objectives = np.array([r[0] for r in runs])
errors = np.array([r[1] for r in runs])
print(f"objective: best {objectives.min():.4f}, worst {objectives.max():.4f}; "
      f"{len(np.unique(np.round(objectives, 3)))} distinct end points")

# %% [markdown]
# ## Starting from the convex relaxation
#
# The relaxation (examples 4 and 5) needs no starting point.  We read a rotation and coefficients
# from its solution and run the same alternation from there.

# %%
convex = solve_convex(W, B, alpha)
M = convex.blocks
largest = np.argmax(np.linalg.norm(M, ord=2, axis=(1, 2)))
U, _, Vt = np.linalg.svd(M[largest], full_matrices=False)
R0 = U @ Vt
c0 = np.einsum("kab,ab->k", M, R0) / 2.0
R_cvx, c_cvx = alternate(R0, c0)
objective_cvx = objective(R_cvx, c_cvx)
error_cvx = 1000 * pa_mpjpe(pose3d(R_cvx, c_cvx), X_true)
print(f"convex start: objective {objective_cvx:.4f}, PA-MPJPE {error_cvx:.0f} mm; "
      f"{np.mean(objectives > objective_cvx + 1e-3):.0%} of the random starts end higher")

# %% tags=["gallery"]
# The best-fitting end point among the clearly wrong poses: a fit as good as the truth's, wrong in 3D.
wrong = [r for r in runs if r[1] > 2 * error_cvx] or runs
impostor = min(wrong, key=lambda r: r[0])
fig = plt.figure(figsize=(13, 4))
ax = fig.add_subplot(1, 3, 1)
ax.scatter(objectives, errors, color="#0072B2", alpha=0.7, label="random starts")
ax.scatter([objective_cvx], [error_cvx], color="#D55E00", marker="*", s=250, label="convex start")
ax.set_xlabel("final objective (normalised units)")
ax.set_ylabel("PA-MPJPE (mm)")
ax.set_title("alternating minimisation: where it ends", fontsize=10)
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
limits = viz.pose_limits(np.stack([pose3d(R_cvx, c_cvx), pose3d(*impostor[2:])]))
for k, (pose, title) in enumerate([
        (pose3d(R_cvx, c_cvx), f"convex start: objective {objective_cvx:.3f}, {error_cvx:.0f} mm"),
        (pose3d(*impostor[2:]), f"a random start: objective {impostor[0]:.3f}, {impostor[1]:.0f} mm")]):
    ax3 = fig.add_subplot(1, 3, k + 2, projection="3d")
    viz.plot_3d(procrustes(X_true, pose), BODY15, view=(10, -30), ax=ax3, limits=limits, color="#bbbbbb")
    viz.plot_3d(pose, BODY15, view=(10, -30), ax=ax3, limits=limits, title=title + "\n(grey: the true pose, aligned)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The random starts spread over many end points: the rotation step and the coefficient step
# each improve the objective, but together they can stall in a pose that is turned or bent the
# wrong way.  Worse, some end points fit the 2D *as well as or better than* the right answer and
# are still wrong in 3D (the cluster at the top left; here the lowest end point of all is one of
# them): the depth ambiguity of example 1 survives the prior for some poses, and no optimiser
# can settle it from one image.  The convex relaxation needs no start and ends lower than most
# random starts (the share printed above), near the right pose, which is
# what `Lifter(method="convex+refine")` does.  Its refinement moves the rotation and the
# coefficients together (a Levenberg-Marquardt step on both, so it does not zig-zag along the
# valley where a turn is traded for a bend) and adds a term that asks left and right limbs for
# equal lengths, because a wrong rotation is often explained by limbs of unequal length.
# (These poses are compared with the truth after a similarity alignment.  The default bases are
# learned from CMU MoCap and never saw the DeepMimic clips, so this is a held-out pose;
# `BASES = "deepmimic"`, the bases learned from the fifteen clips, makes it a training pose.)
#
# ## Exercise
#
# 1. Plot the objective after each outer iteration for five random starts.  Does the objective
#    ever increase?  Why can it not?
# 2. Set `alpha = 0` (no sparsity).  Do the random starts agree more or less often?  What do the
#    poses look like?
# 3. Count how many random starts you need, on average, before one of them reaches the convex
#    start's objective.  How does that compare in time with one convex solve?
