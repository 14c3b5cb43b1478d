"""Kernels against independent oracles: SVD-based NumPy twins, brute force, CVXPY."""

import numpy as np
import pytest
from scipy.optimize import minimize

from lift2d3d.bases import ShapeBases
from lift2d3d.solvers import solve_convex
from lift2d3d.solvers.prox import polar_2x3, polar_numpy, prox_spectral_2x3, prox_spectral_numpy
from lift2d3d.solvers.geometry import projected_bases
from lift2d3d.solvers.lasso import lasso_cd, lasso_fista
from lift2d3d.solvers.lm import damped_step, normal_matrix
from lift2d3d.solvers.reference import solve_convex_reference


def _random_blocks(rng, n):
    for t in range(n):
        A = rng.standard_normal((2, 3)) * rng.uniform(0.01, 3.0)
        if t % 5 == 0:
            A[1] = A[0] * rng.uniform(-1, 1)           # rank one
        if t % 7 == 0:
            A = np.eye(2, 3) * rng.uniform(0.1, 2.0)   # equal singular values
        yield A, rng.uniform(0.0, 3.0)


def test_prox_matches_svd_twin():
    rng = np.random.default_rng(0)
    out = np.empty((2, 3))
    for A, lam in _random_blocks(rng, 5000):
        prox_spectral_2x3(A, lam, out)
        np.testing.assert_allclose(out, prox_spectral_numpy(A, lam), atol=1e-12, rtol=0)


def test_prox_is_the_minimiser_brute_force():
    """prox(A) = argmin_X lam ||X||_2 + 1/2 ||X - A||_F^2, checked by direct minimisation."""
    rng = np.random.default_rng(1)
    out = np.empty((2, 3))
    for A, lam in list(_random_blocks(rng, 40)):
        prox_spectral_2x3(A, lam, out)

        def f(x):
            X = x.reshape(2, 3)
            return lam * np.linalg.norm(X, 2) + 0.5 * np.sum((X - A) ** 2)

        best = min((minimize(f, x0, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-13, maxiter=20000))
                    for x0 in (A.ravel(), out.ravel(), np.zeros(6))), key=lambda r: r.fun)
        assert f(out.ravel()) <= best.fun + 1e-9


def test_polar_matches_svd_twin():
    rng = np.random.default_rng(2)
    out = np.empty((2, 3))
    for _ in range(2000):
        A = rng.standard_normal((2, 3))
        polar_2x3(A, out)
        np.testing.assert_allclose(out, polar_numpy(A), atol=1e-10)
        np.testing.assert_allclose(out @ out.T, np.eye(2), atol=1e-12)
    # rank one and zero: still orthonormal rows
    for A in (np.outer([1.0, 2.0], [0.3, -0.1, 0.5]), np.zeros((2, 3))):
        polar_2x3(A, out)
        np.testing.assert_allclose(out @ out.T, np.eye(2), atol=1e-12)


def _relative_gap(fast, ref):
    return (fast - ref) / max(abs(ref), 1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_admm_reaches_cvxpy_optimum_random(seed):
    rng = np.random.default_rng(100 + seed)
    K, P = rng.integers(4, 17), rng.integers(8, 16)
    B = rng.standard_normal((K, 3, P))
    W = rng.standard_normal((2, P))
    alpha = rng.uniform(0.05, 1.0)
    weights = rng.uniform(0.2, 1.0, P)
    weights[rng.integers(P)] = 0.0                        # a missing joint
    fast = solve_convex(W, B, alpha, weights)
    _, ref, _ = solve_convex_reference(W, B, alpha, weights)
    assert fast.converged
    assert abs(_relative_gap(fast.objective, ref)) <= 1e-3


@pytest.fixture(scope="module")
def shipped():
    return ShapeBases.load("default")


@pytest.mark.parametrize("seed", range(25))
def test_admm_reaches_cvxpy_optimum_mocap_like(seed, shipped):
    """Keypoints projected from sparse combinations of the shipped bases, plus noise."""
    rng = np.random.default_rng(200 + seed)
    K = shipped.n_bases
    c = np.zeros(K)
    support = rng.choice(K, 4, replace=False)
    c[support] = rng.uniform(0.2, 1.0, 4)
    S = np.einsum("k,kaj->aj", c, shipped.bases)
    q = rng.standard_normal(4)
    from scipy.spatial.transform import Rotation
    R = Rotation.from_quat(q / np.linalg.norm(q)).as_matrix()
    W = (R @ S)[:2] + rng.normal(0, 0.01, (2, shipped.n_joints))
    W /= np.sqrt((W ** 2).sum(axis=0).mean())
    B = shipped.bases / np.sqrt(((shipped.mean_pose - shipped.mean_pose.mean(1, keepdims=True)) ** 2).sum(0).mean())
    alpha = [0.05, 0.1, 0.3, 0.5, 1.0][seed % 5]
    fast = solve_convex(W, B, alpha)
    _, ref, _ = solve_convex_reference(W, B, alpha)
    assert fast.converged
    assert abs(_relative_gap(fast.objective, ref)) <= 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_robust_admm_reaches_cvxpy_optimum(seed):
    rng = np.random.default_rng(300 + seed)
    K, P = 8, 14
    B = rng.standard_normal((K, 3, P))
    W = rng.standard_normal((2, P))
    W[:, 3] += 5.0                                         # a gross outlier
    fast = solve_convex(W, B, 0.2, beta=0.3, max_iter=20000)
    _, ref, _ = solve_convex_reference(W, B, 0.2, beta=0.3)
    assert abs(_relative_gap(fast.objective, ref)) <= 1e-3


def test_admm_history_is_recorded_and_decreasing_overall():
    rng = np.random.default_rng(5)
    B = rng.standard_normal((10, 3, 12))
    sol = solve_convex(rng.standard_normal((2, 12)), B, 0.2, return_history=True)
    assert sol.history.shape == (sol.iterations, 4)
    assert np.all(np.isfinite(sol.history))
    assert sol.history[-1, 0] <= sol.history[0, 0]


@pytest.mark.parametrize("seed", range(10))
def test_lasso_cd_matches_fista_twin(seed):
    rng = np.random.default_rng(400 + seed)
    K, P = 24, 13
    B = rng.standard_normal((K, 3, P)) + 0.8 * rng.standard_normal((1, 3, P))   # correlated atoms
    w = rng.uniform(0.0, 1.0, P)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    Rbar = q[:2]
    A = np.empty((K, 2, P))
    projected_bases(B, Rbar, w, A)
    y = np.einsum("k,krj->rj", rng.standard_normal(K) * (rng.random(K) < 0.2), A) + 0.1 * rng.standard_normal((2, P))
    y -= (y * w).sum(1, keepdims=True) / w.sum()
    alpha = 0.05
    c_cd = np.zeros(K)
    lasso_cd(A, y, w, alpha, c_cd, 10000, 1e-12)
    G = np.einsum("irj,krj,j->ik", A, A, w)
    c_fi = np.zeros(K)
    lasso_fista(A, y, w, alpha, np.linalg.eigvalsh(G).max(), c_fi, 50000)

    def objective(c):
        r = y - np.einsum("k,krj->rj", c, A)
        return 0.5 * np.sum(w * r ** 2) + alpha * np.abs(c).sum()

    assert objective(c_cd) <= objective(c_fi) + 1e-9
    np.testing.assert_allclose(objective(c_cd), objective(c_fi), rtol=1e-6)


@pytest.mark.parametrize("n", [7, 30, 33])
def test_damped_step_matches_dense_solve(n):
    """The LM step from the written-out normal matrix and Cholesky equals a dense NumPy solve."""
    rng = np.random.default_rng(n)
    m = 30
    Jt = rng.standard_normal((n, m)) * rng.uniform(0.1, 10.0, (n, 1))
    Jt[:, 5] = 0.0                                   # a missing joint: an empty residual row
    Jt -= Jt.mean(axis=1, keepdims=True) * (np.arange(m) < 15)   # centred rows: J^T J rank-deficient
    g = rng.standard_normal(n)
    hd = (Jt ** 2).sum(axis=1) + 1e-12
    H = np.empty((n, n))
    normal_matrix(Jt, n, H)
    np.testing.assert_allclose(H, Jt @ Jt.T, rtol=1e-12, atol=1e-12 * np.abs(H).max())
    work = [np.empty((n, n)), np.empty(n), np.zeros((n, n))]
    for lam in (1e-9, 1e-4, 1.0, 1e3):
        A = Jt @ Jt.T + lam * np.diag(hd)
        step = np.empty(n)
        assert damped_step(H, g, hd, n, lam, *work, step)
        # backward error (the system is ill-conditioned at lam = 1e-9) ...
        residual = np.linalg.norm(A @ step + g)
        assert residual <= 1e-9 * (np.linalg.norm(A, 2) * np.linalg.norm(step) + np.linalg.norm(g))
        if lam >= 1e-4:      # ... and forward agreement where it is well-posed
            np.testing.assert_allclose(step, np.linalg.solve(A, -g), rtol=1e-6)


def _objective_twin(W, w, B, R, c, alpha, edges, Mb):
    """Objective (2) with the bone-length terms, written directly in NumPy."""
    S = np.einsum("k,kaj->aj", c, B)
    r = W - R[:2] @ S
    r -= (r * w).sum(axis=1, keepdims=True) / w.sum()
    lengths = np.linalg.norm(S[:, edges[:, 0]] - S[:, edges[:, 1]], axis=0)
    return 0.5 * (w * r ** 2).sum() + alpha * np.abs(c).sum() + 0.5 * np.sum((Mb @ lengths) ** 2)


@pytest.mark.parametrize("proportions", [False, True])
def test_refinement_with_bone_terms_reaches_a_stationary_point(proportions):
    """LM on (2) with bone-length terms ends where finite differences of a NumPy twin say it should.

    Rotation: zero gradient.  Coefficients: the L1 optimality conditions (dF/dc_i = -alpha sign(c_i)
    on the support, |dF/dc_i| <= alpha off it), for 12 atoms so the working set is never capped.
    Terms: the Lifter's symmetry rows, plus rows that pull towards the mean pose's proportions.
    """
    from scipy.spatial.transform import Rotation
    from lift2d3d import Lifter
    from lift2d3d.solvers.lm import lm_frame, new_fit
    from lift2d3d.solvers.records import edge_differences
    from lift2d3d.solvers.refine import weak_objective
    from lift2d3d.solvers.terms import Terms

    lifter = Lifter("default", symmetry=3.0)
    model = lifter.solver_records()[0]
    B = np.ascontiguousarray(model.B[:12])
    K, P = B.shape[0], B.shape[2]
    edges, alpha = model.edges, 0.005
    mean = lifter.bases.mean_pose
    lengths = np.linalg.norm(mean[:, edges[:, 0]] - mean[:, edges[:, 1]], axis=0)
    Mb = model.Mb
    if proportions:     # rows with every bone in them: sqrt(2) (e_b - rho_b 1^T)
        Mb = np.vstack([Mb, np.sqrt(2.0) * (np.eye(14) - (lengths / lengths.sum())[:, None])])
    assert Mb.shape == ((6 + 14) if proportions else 6, 14)
    rng = np.random.default_rng(7)
    w = rng.uniform(0.5, 1.0, P)
    w[4] = 0.0                                              # a missing joint
    truth = np.zeros(K)
    truth[[1, 4, 9]] = [0.5, 0.3, 0.4]
    R_true = Rotation.from_rotvec([0.3, 2.0, -0.2]).as_matrix()
    W = R_true[:2] @ np.einsum("k,kaj->aj", truth, B) + rng.normal(0, 0.03, (2, P))
    W -= (W * w).sum(axis=1, keepdims=True) / w.sum()
    R = Rotation.from_rotvec([0.1, -0.15, 0.05]).as_matrix() @ R_true
    c = truth * 1.3
    np.testing.assert_allclose(weak_objective(W, w, B, np.ascontiguousarray(R[:2]), c, np.zeros((2, P)), alpha, 0.0,
                                              Terms(edges, Mb, dB=edge_differences(B, edges))),
                               _objective_twin(W, w, B, R, c, alpha, edges, Mb), rtol=1e-12)
    lm_frame(new_fit(W, w, w.sum(), B, alpha, Terms(edges, Mb, dB=edge_differences(B, edges))), R, c, 2000, 1e-15)
    smooth = lambda R_, c_: _objective_twin(W, w, B, R_, c_, 0.0, edges, Mb)   # noqa: E731
    h = 1e-6
    for k in range(3):
        turn = Rotation.from_rotvec(h * np.eye(3)[k]).as_matrix()
        assert abs(smooth(turn @ R, c) - smooth(turn.T @ R, c)) / (2 * h) < 1e-6
    for i in range(K):
        e = h * np.eye(K)[i]
        d = (smooth(R, c + e) - smooth(R, c - e)) / (2 * h)
        if c[i] != 0.0:
            assert abs(d + alpha * np.sign(c[i])) < 1e-6
        else:
            assert abs(d) <= alpha + 1e-6
    assert np.count_nonzero(c) >= 3
