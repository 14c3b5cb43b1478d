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
# # 5. The ADMM solver: derivation, the prox of the spectral norm, the numba kernel
#
# **What you will learn**
#
# * how ADMM splits the relaxed problem (8) of example 4 into a least-squares step and a
#   per-block *proximal* step, and when to stop (primal and dual residuals);
# * the closed-form prox of the spectral norm of a $2\times3$ matrix;
# * that twenty lines of NumPy implement the method, and that the library's numba kernel
#   computes the same solution far faster than CVXPY.
#
# ## Derivation
#
# Problem (8) is $\min_M f(M) + g(M)$ with the smooth data term
# $f(M) = \tfrac12\|W - \sum_i M_i B_i\|_F^2$ and the non-smooth penalty
# $g(M) = \alpha\sum_i\|M_i\|_2$.  ADMM gives each its own copy -- $M$ for $f$, $Z$ for $g$ --
# and enforces $M = Z$ with a multiplier $\Lambda$ and a penalty $\mu > 0$:
#
# $$L_\mu(M, Z, \Lambda) = f(M) + g(Z) + \langle\Lambda, M - Z\rangle + \tfrac\mu2\|M - Z\|_F^2 .$$
#
# Minimising over $M$, then over $Z$, then taking a dual ascent step on $\Lambda$:
#
# $$M \leftarrow (W B^T + \mu Z - \Lambda)\,(B B^T + \mu I)^{-1}
#   \qquad (B = [B_1; \dots; B_K] \in \mathbb R^{3K\times P})$$
# $$Z_i \leftarrow \operatorname{prox}_{(\alpha/\mu)\|\cdot\|_2}\big(M_i + \Lambda_i/\mu\big)$$
# $$\Lambda \leftarrow \Lambda + \mu (M - Z)$$
#
# The first step is a linear solve with a matrix that changes only with $\mu$; the second is
# independent per block.  ADMM stops when the primal residual $r = \|M - Z\|_F$ and the dual
# residual $s = \mu\|Z - Z_{\rm old}\|_F$ are both small (Boyd et al., 2011, Sec. 3.3).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lift2d3d import Lifter, ShapeBases, viz
from lift2d3d.mocap import deepmimic_clips, read_deepmimic
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers import solve_convex
from lift2d3d.solvers.prox import prox_spectral_2x3, prox_spectral_numpy
from lift2d3d.solvers.reference import solve_convex_reference

BASES = "default"
bases = ShapeBases.load(BASES)
mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
kappa = np.sqrt(np.mean(np.sum(mean ** 2, axis=0)))
B = bases.bases / kappa                      # (K, 3, P), mean pose of unit RMS radius
K, _, P = B.shape
alpha = bases.alpha

# %% [markdown]
# ## The prox of the spectral norm
#
# $\operatorname{prox}_{\lambda\|\cdot\|_2}(A) = \arg\min_X \tfrac12\|X - A\|_F^2 + \lambda\|X\|_2$
# keeps the singular vectors of $A = U\operatorname{diag}(s_1, s_2)V^T$ and clips the singular
# values at a level $\tau$ chosen so that exactly $\lambda$ is removed:
# $\sum_k (s_k - \tau)_+ = \lambda$.  So $\tau = s_1 - \lambda$ if that is still $\ge s_2$,
# else $\tau = (s_1 + s_2 - \lambda)/2$, and $X = 0$ once $\lambda \ge s_1 + s_2$.  (By Moreau's
# identity this is $A$ minus its projection on the nuclear-norm ball of radius $\lambda$, the
# dual norm.)  For a $2\times3$ block all of it is closed form; the kernel never calls an SVD.

# %%
rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3))
out = np.empty((2, 3))
worst = 0.0
for lam in np.linspace(0.1, 4.0, 40):
    prox_spectral_2x3(A, lam, out)
    worst = max(worst, np.abs(out - prox_spectral_numpy(A, lam)).max())
print(f"numba kernel vs SVD twin: max difference {worst:.1e}")

lams = np.linspace(0.01, 1.2 * np.linalg.svd(A, compute_uv=False).sum(), 200)
sv = np.array([np.linalg.svd(prox_spectral_numpy(A, lam), compute_uv=False) for lam in lams])
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(lams, sv[:, 0], label=r"$\sigma_1$ of prox")
ax.plot(lams, sv[:, 1], label=r"$\sigma_2$ of prox")
ax.set_xlabel(r"$\lambda$")
ax.set_ylabel("singular value")
ax.set_title("the prox clips the top singular value first", fontsize=10)
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## ADMM in twenty lines of NumPy
#
# We solve for one frame of the DeepMimic "dance_a" clip seen from 5 m, centring everything so
# that the translation drops out ($C = I - \mathbf 1\mathbf 1^T/P$).

# %%
def to_camera(world, yaw=0.0, distance=5.0):
    """(P, 3) world joints (y up, x forward) -> camera frame (x right, y down, z away), metres."""
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    a = np.radians(yaw)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return (world - world[BODY15.index("pelvis")]) @ turn.T @ facing.T + [0.0, 0.0, distance]


def normalised_keypoints(X):
    """Perspective projection (f = 1000 px) -> centred 2D of unit RMS radius, (2, P)."""
    uv = 1000.0 * X[:, :2] / X[:, 2:3]
    uv = uv - uv.mean(axis=0)
    return uv.T / np.sqrt(np.mean(np.sum(uv ** 2, axis=1)))


clip = read_deepmimic([p for p in deepmimic_clips() if "dance_a" in p.name][0])
poses = np.stack([to_camera(j, yaw=y) for j, y in zip(clip.joints3d[::12], np.linspace(-60, 60, 9))])
W = normalised_keypoints(poses[0])

C = np.eye(P) - np.ones((P, P)) / P
G = (B @ C).reshape(3 * K, P)                   # centred, stacked bases
WC = W @ C


def objective(Z):
    return 0.5 * np.sum((WC - Z @ G) ** 2) + alpha * sum(np.linalg.norm(Z[:, 3 * i:3 * i + 3], 2) for i in range(K))


def admm_numpy(mu=1.0, n_iter=500):
    M, Z, Lam = (np.zeros((2, 3 * K)) for _ in range(3))
    inverse = np.linalg.inv(G @ G.T + mu * np.eye(3 * K))
    history = []
    for _ in range(n_iter):
        M = (WC @ G.T + mu * Z - Lam) @ inverse                        # least-squares step
        Z_old = Z
        Z = np.hstack([prox_spectral_numpy(M[:, 3 * i:3 * i + 3] + Lam[:, 3 * i:3 * i + 3] / mu, alpha / mu)
                       for i in range(K)])                            # per-block prox
        Lam = Lam + mu * (M - Z)                                      # dual ascent
        history.append((objective(Z), np.linalg.norm(M - Z), mu * np.linalg.norm(Z - Z_old)))
    return Z, np.array(history)


start = time.perf_counter()
Z_numpy, history_numpy = admm_numpy()
print(f"NumPy ADMM: {len(history_numpy)} iterations in {time.perf_counter() - start:.2f} s, "
      f"objective {history_numpy[-1, 0]:.6f}")

# %% [markdown]
# ## The numba kernel
#
# `lift2d3d.solvers.solve_convex` runs the same iteration in a compiled kernel, with three
# refinements: the $3K\times3K$ inverse is replaced by a $P\times P$ one (Woodbury's identity,
# since $P \ll 3K$), $\mu$ adapts to balance the two residuals (residual balancing, Boyd et al.
# Sec. 3.4.1), and it stops on the relative tolerances instead of a fixed count.  With
# `return_history=True` it records the objective and the residuals per iteration.

# %%
solve_convex(W, B, alpha)                       # the first call compiles (or loads) the kernel
start = time.perf_counter()
solution = solve_convex(W, B, alpha, return_history=True)
print(f"numba ADMM: {solution.iterations} iterations in {1000 * (time.perf_counter() - start):.1f} ms, "
      f"objective {solution.objective:.6f}, converged={solution.converged}")

# %% tags=["gallery"]
_, optimum, _ = solve_convex_reference(W, B, alpha)           # CVXPY's optimal value, for reference
axes = viz.plot_convergence(history_numpy, label="NumPy, fixed mu = 1", optimum=optimum)
viz.plot_convergence(solution, ax=axes, label="numba kernel, adaptive mu", optimum=optimum)
axes[0].set_ylim(bottom=1e-9)      # CVXPY's optimum is itself accurate to about 1e-8
axes[0].figure.suptitle(f"ADMM on eq. (8): one frame, K = {K} bases", fontsize=10)
axes[0].figure.tight_layout()
plt.show()

# %% [markdown]
# With a fixed $\mu$ the two residuals drift apart (solid and dashed lines of one colour); the
# kernel doubles or halves $\mu$ whenever one residual is ten times the other, which keeps them
# together and both falling.  Near the optimum the rate is linear (a straight line on the log
# axis), typical of ADMM.

# %% [markdown]
# ## Speed against CVXPY
#
# Nine frames of the clip, each seen from a different angle.  We compare the optimal values (the
# two solvers must agree) and the time per frame.  `Lifter(method="convex")` runs the same kernel
# over a batch in parallel and adds validation and the metric read-back.

# %%
frames = [normalised_keypoints(X) for X in poses]
rows = []
for Wf in frames:
    start = time.perf_counter()
    _, objective_cvxpy, _ = solve_convex_reference(Wf, B, alpha)
    t_cvxpy = time.perf_counter() - start
    start = time.perf_counter()
    fast = solve_convex(Wf, B, alpha)
    t_admm = time.perf_counter() - start
    rows.append((objective_cvxpy, fast.objective, t_cvxpy, t_admm))
rows = np.array(rows)
gap = (rows[:, 1] - rows[:, 0]) / rows[:, 0]
print(f"relative objective gap ADMM - CVXPY: max {gap.max():+.1e} (negative = ADMM lower)")
print(f"CVXPY (Clarabel): {1000 * rows[:, 2].mean():7.1f} ms per frame")
print(f"numba ADMM:       {1000 * rows[:, 3].mean():7.2f} ms per frame "
      f"({rows[:, 2].mean() / rows[:, 3].mean():.0f}x faster)")

lifter = Lifter(BASES, method="convex")
keypoints = np.stack([1000.0 * X[:, :2] / X[:, 2:3] + [640.0, 360.0] for X in poses])
lifter.lift(keypoints)                            # warm-up
batch = np.repeat(keypoints, 50, axis=0)
start = time.perf_counter()
result = lifter.lift(batch)
elapsed = time.perf_counter() - start
print(f"Lifter(method='convex'): {len(batch) / elapsed:.0f} frames/s on a batch of {len(batch)}")

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(["CVXPY", "numba ADMM", "Lifter batch"], [1000 * rows[:, 2].mean(), 1000 * rows[:, 3].mean(),
                                                 1000 * elapsed / len(batch)], color="#0072B2")
ax.set_yscale("log")
ax.set_ylabel("ms per frame (log)")
ax.set_title("same optimum, very different cost", fontsize=10)
plt.show()

# %% [markdown]
# ## Exercise
#
# 1. Run `admm_numpy(mu)` for `mu` in `[0.1, 1, 10]` and overlay the convergence plots
#    (`viz.plot_convergence(..., ax=axes, label=...)`).  Which residual does a large $\mu$ favour,
#    and why (look at the two formulas)?
# 2. Replace the $3K\times3K$ inverse in `admm_numpy` by Woodbury's identity
#    $(G G^T + \mu I)^{-1} = \big(I - G (G^T G + \mu I)^{-1} G^T\big)/\mu$ and check that the
#    iterates do not change.  How many flops does one step save for the shipped $K$ and $P = 15$?
# 3. Stop `admm_numpy` when $r \le \epsilon_{\rm pri}$ and $s \le \epsilon_{\rm dual}$ with
#    Boyd et al.'s relative tolerances, and compare its iteration count with the kernel's.
