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
# # 4. The convex relaxation, written in CVXPY
#
# **What you will learn**
#
# * the lifting problem of Zhou et al. (TPAMI 2017): fit a rotation $\bar R$ and sparse
#   coefficients $c_i$ of shape bases $B_i$ to the 2D keypoints $W$ -- and why it is not convex;
# * the trick: substitute $M_i = c_i \bar R$ and replace $|c_i|$ by the spectral norm
#   $\|M_i\|_2$, because the unit ball of the spectral norm is the *convex hull* of the
#   $2\times 3$ matrices with orthonormal rows;
# * how to write the relaxed problem in a few lines of CVXPY, solve it, and read the rotation
#   and the 3D pose back from the $M_i$.
#
# ## The problem
#
# With $W \in \mathbb R^{2\times P}$ the (centred) 2D keypoints and $B_i \in \mathbb R^{3\times P}$
# the shape bases, a pose is $S = \sum_i c_i B_i$ and, under weak perspective,
#
# $$\min_{c,\ \bar R}\ \tfrac12 \Big\| W - \bar R \sum_{i=1}^K c_i B_i \Big\|_F^2 + \alpha \|c\|_1
# \quad\text{s.t.}\quad \bar R \bar R^T = I_2 ,$$
#
# where $\bar R$ is the first two rows of a rotation.  The constraint (a Stiefel manifold) and
# the product $c_i \bar R$ make this non-convex (example 3 shows its local minima).  Writing
# $M_i = c_i \bar R$ and noting that $\|c_i \bar R\|_2 = |c_i|$, the paper relaxes it to
#
# $$\min_{M_1,\dots,M_K}\ \tfrac12 \Big\| W - \sum_{i=1}^K M_i B_i \Big\|_F^2
#   + \alpha \sum_{i=1}^K \|M_i\|_2 , \tag{8}$$
#
# which is convex: the spectral norm is the tightest convex function that equals $|c|$ on the
# scaled Stiefel matrices $c\bar R$.

# %%
import time

import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import Lifter, ShapeBases, viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers.reference import solve_convex_reference

BASES = "default"                     # the shipped bases, learned from CMU MoCap (bases/README.md)
bases = ShapeBases.load(BASES)
print(f"K = {bases.n_bases} bases over P = {bases.n_joints} joints; alpha = {bases.alpha}")

# %% [markdown]
# ## Why the spectral norm: the convex hull of $\{c\bar R\}$
#
# A $2\times3$ matrix $M = U\,\mathrm{diag}(\sigma_1,\sigma_2)\,V^T$ is a scaled Stiefel matrix
# $c\bar R$ exactly when $\sigma_1 = \sigma_2 = |c|$.  In the plane of the (signed) singular
# values the Stiefel matrices are the four corners $(\pm1,\pm1)$, and their convex hull is the
# square $\max(|\sigma_1|,|\sigma_2|)\le 1$: the unit ball of the spectral norm.  Every $M$ on
# the boundary is a mix of two Stiefel matrices, which we can check numerically:

# %%
rng = np.random.default_rng(1)
M = rng.standard_normal((2, 3))
U, s, Vt = np.linalg.svd(M, full_matrices=False)
R1 = U @ Vt                              # orthonormal rows
R2 = U @ np.diag([1.0, -1.0]) @ Vt       # orthonormal rows
t = s[1] / s[0]
mix = 0.5 * (1 + t) * R1 + 0.5 * (1 - t) * R2
print("||M||_2 =", s[0], "; M / ||M||_2 is a convex mix of two Stiefel matrices:",
      np.allclose(M / s[0], mix), np.allclose(R1 @ R1.T, np.eye(2)), np.allclose(R2 @ R2.T, np.eye(2)))

# %% tags=["gallery"]
fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
ax.fill([1, -1, -1, 1], [1, 1, -1, -1], color="#0072B2", alpha=0.15, label=r"$\|M\|_2 \leq 1$ (convex hull)")
ax.plot([1, 0, -1, 0, 1], [0, 1, 0, -1, 0], "--", color="grey", label="nuclear-norm ball (too small)")
ax.plot([-1.2, 1.2], [-1.2, 1.2], ":", color="#D55E00")
ax.plot([-1.2, 1.2], [1.2, -1.2], ":", color="#D55E00", label=r"scaled rotations $c\bar R$")
ax.plot([1, 1, -1, -1], [1, -1, 1, -1], "o", color="#D55E00", markersize=9, label=r"Stiefel $\bar R\bar R^T=I$")
ax.set_xlabel(r"$\sigma_1$")
ax.set_ylabel(r"$\sigma_2$")
ax.set_aspect("equal")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
ax.set_title("2x3 matrices by their singular values", fontsize=10)
plt.show()

# %% [markdown]
# ## A pose to lift
#
# We take a frame of the DeepMimic "punch" clip, turn the actor 60° away from the camera, project
# it with a pinhole camera 5 m away, and normalise as the library does: centre the keypoints and
# scale them to unit RMS radius; the bases are scaled so that their mean pose has unit RMS radius.

# %%
def to_camera(world, yaw=0.0, distance=5.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    a = np.radians(yaw)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (world - world[BODY15.index("pelvis")]) @ turn.T @ facing.T + [0.0, 0.0, distance]


clip = read_deepmimic([p for p in deepmimic_clips() if "punch" in p.name][0])
X_true = to_camera(clip.joints3d[30], yaw=60.0)
keypoints = 1000.0 * X_true[:, :2] / X_true[:, 2:3] + [640.0, 360.0]      # pixels

centred = keypoints - keypoints.mean(axis=0)
radius = np.sqrt(np.mean(np.sum(centred ** 2, axis=1)))
W = centred.T / radius                                                       # (2, P), unit RMS radius
mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
kappa = np.sqrt(np.mean(np.sum(mean ** 2, axis=0)))                          # metres per unit
B = bases.bases / kappa                                                      # (K, 3, P)
K, _, P = B.shape
alpha = bases.alpha

# %% [markdown]
# ## Equation (8) in CVXPY
#
# The translation is eliminated by centring: right-multiplying by $C = I - \mathbf 1\mathbf 1^T/P$.
# `cp.sigma_max` is the spectral norm.  That is the whole solver:

# %%
C = np.eye(P) - np.ones((P, P)) / P
Ms = [cp.Variable((2, 3)) for _ in range(K)]
residual = (W - sum(Ms[i] @ B[i] for i in range(K))) @ C
problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(residual) + alpha * sum(cp.sigma_max(Mi) for Mi in Ms)))
start = time.perf_counter()
problem.solve(solver="CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS")
print(f"{problem.status}: objective {problem.value:.6f} in {time.perf_counter() - start:.2f} s")
M = np.stack([Mi.value for Mi in Ms])                                          # (K, 2, 3)

# The library keeps the same formulation as the reference its fast solver is tested against:
M_ref, objective_ref, _ = solve_convex_reference(W, B, alpha)
print(f"lift2d3d.solvers.reference: objective {objective_ref:.6f}")

# %% [markdown]
# ## Reading the pose back
#
# Most $M_i$ are zero (the $\|M_i\|_2$ penalty is a group lasso).  If the relaxation is tight,
# every active $M_i$ is a multiple of one $\bar R$.  We take $\bar R$ as the nearest Stiefel
# matrix to the largest block, project every block on it to get
# $c_i = \tfrac12\langle M_i, \bar R\rangle$, complete the rotation with the cross product, and
# build $S = \sum_i c_i B_i$.

# %%
def nearest_stiefel(A):
    """The 2x3 matrix with orthonormal rows closest to A (Frobenius): U V^T of its SVD."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


def complete(R_bar):
    return np.vstack([R_bar, np.cross(R_bar[0], R_bar[1])])


norms = np.linalg.norm(M, ord=2, axis=(1, 2))
active = np.flatnonzero(norms > 1e-4 * norms.max())
R_bar = nearest_stiefel(M[active[np.argmax(norms[active])]])
R = complete(R_bar)
c = np.einsum("kab,ab->k", M, R_bar) / 2.0
S = np.einsum("k,kab->ab", c, B)                                             # (3, P) normalised
X = (R @ (S - S.mean(axis=1, keepdims=True))).T * kappa                      # camera frame, metres
print("reprojection RMS (pixels):", radius * np.sqrt(np.mean(np.sum(((R_bar @ S - W) @ C) ** 2, axis=0))))

# Each active block's own rotation, and its angle to the common one (0 everywhere = tight).
angles = []
print(f"{len(active)} of {K} bases active")
for i in active:
    R_i = complete(nearest_stiefel(np.sign(c[i]) * M[i]))
    angles.append(np.degrees(np.arccos(np.clip((np.trace(R_i.T @ R) - 1) / 2, -1, 1))))
    sigma = np.linalg.svd(M[i], compute_uv=False)
    print(f"  M_{i:<3d} ||M_i||_2 = {norms[i]:.3f}  c_i = {c[i]:+.3f}  sigma_2/sigma_1 = {sigma[1] / sigma[0]:.3f}"
          f"  angle to R = {angles[-1]:5.1f} deg")

# %% [markdown]
# How close is it to the truth?  The scale and depth of a weak-perspective lift are only fixed up
# to the bases' size, so we compare after a similarity alignment (PA-MPJPE, mm per joint).

# %%
def pa_mpjpe(pred, true):
    """Mean joint error after the best rotation, scale and translation (Procrustes), same units."""
    a, b = pred - pred.mean(axis=0), true - true.mean(axis=0)
    U, s, Vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(U @ Vt))
    s[-1] *= d
    U[:, -1] *= d
    return np.linalg.norm((s.sum() / np.sum(a ** 2)) * a @ (U @ Vt) - b, axis=1).mean()


print(f"PA-MPJPE of the convex solution: {1000 * pa_mpjpe(X, X_true):.0f} mm")

# %%
fig = viz.plot_lift(None, keypoints, X, BODY15, novel_view=(10, -20),
                    titles=("2D keypoints (punch, 60°)", "eq. (8) in CVXPY: camera view", "novel view"))

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar([f"$M_{{{i}}}$" for i in active], angles, color="#0072B2")
ax2 = ax.twinx()
ax2.plot(range(len(active)), norms[active], "o", color="#D55E00")
ax.set_ylabel("angle to $R$ (deg, bars)")
ax2.set_ylabel(r"$\|M_i\|_2$ (dots)", color="#D55E00")
ax.set_title("how tight is the relaxation here?", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Blocks whose rotation differs from the common $R$ are where the relaxation is loose: their sum
# is not of the form $\bar R \sum_i c_i B_i$, and reading one rotation back loses part of the fit
# (hence the reprojection error above).  The library therefore follows the convex solve with a
# refinement of the original (non-convex) problem started from it: `Lifter(method="convex+refine")`.
# CVXPY is clear but slow; example 5 solves the same problem with ADMM in a numba kernel.

# %%
for method in ("convex", "convex+refine"):
    result = Lifter(BASES, method=method).lift(keypoints)
    print(f"Lifter(method={method!r}): PA-MPJPE {1000 * pa_mpjpe(result.joints3d, X_true):.0f} mm, "
          f"reprojection {result.reprojection_error:.1f} px, {result.message}")

# %% [markdown]
# ## Exercise
#
# 1. Replace `cp.sigma_max(Mi)` by `cp.norm(Mi, "fro")`.  The Frobenius ball is *not* the hull of
#    the Stiefel matrices (a Stiefel matrix has Frobenius norm $\sqrt2$): what happens to the
#    number of active bases, their singular values and their angles to $R$?
# 2. Solve for `alpha` in `[0.01, 0.05, 0.2, 1.0]` and plot the number of active bases and the
#    PA-MPJPE against `alpha`.  Why does the error grow at both ends?
# 3. Time `problem.solve()` for K = 16, 32, 64 (use `B[:K]`).  How does CVXPY scale?
