"""Temporal lifting: the banded solve, the joint refinement against independent oracles, windows, bad input.

The solver's own properties on clips built from the bases are tested with ``method="convex+refine"``: the
fused default adds the temporal network's prior, whose behaviour over a video ``tests/test_fusion.py`` tests."""

import os

import numpy as np
import pytest
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from lift2d3d import Camera, Lifter, ShapeBases
from lift2d3d.learn import redraw_with_lengths
from lift2d3d.skeletons import BODY15
from lift2d3d.solvers.banded import block_cholesky, block_dense, block_solve, block_solve_numpy
from lift2d3d.model import swap_permutations
from lift2d3d.options import Options
from lift2d3d.solvers.records import frames_record, solver_model, solver_options
from lift2d3d.solvers.temporal import TemporalOptions, acceleration_rows, joint_refine, scaled_rows
from lift2d3d.solvers.windows import plan_windows, stitch, WindowSolution

BASES = os.environ.get("LIFT2D3D_TEST_BASES", "default")


@pytest.fixture(scope="module")
def bases():
    return ShapeBases.load(BASES)


# ----------------------------------------------------------------------------- a synthetic video
def smooth_clip(bases, n_frames, seed, noise_px=1.0, perspective=False, turn_deg=90.0):
    """One person's video: a smooth path through sparse codes of the bases, seen by a slowly turning camera.

    Key poses (3-5 atoms) every 20 frames are blended with a smoothstep and redrawn with one person's
    bone lengths (the bases' mean pose's, scaled); the body turns by ``turn_deg``
    about the vertical over the clip, seen from 15 deg above.  Returns camera-frame joints (n, P, 3),
    metres, and pixel keypoints (n, P, 2) (weak perspective at 5 m, or a pinhole at focal 1000 px).
    """
    rng = np.random.default_rng(seed)
    K = bases.n_bases
    n_keys = n_frames // 20 + 2
    keys = np.zeros((n_keys, K))
    for k in range(n_keys):
        atoms = rng.choice(K, rng.integers(3, 6), replace=False)
        keys[k, atoms] = rng.dirichlet(np.ones(len(atoms)))
    u = np.arange(n_frames) / 20.0
    i = np.minimum(u.astype(int), n_keys - 2)
    f = u - i
    f = f * f * (3 - 2 * f)
    codes = (1 - f)[:, None] * keys[i] + f[:, None] * keys[i + 1]
    poses = np.einsum("nk,kaj->naj", codes, bases.bases)
    # one person: the mean pose's bone lengths, scaled, on every frame
    edges = np.array(bases.skeleton.edge_indices())
    mean = bases.mean_pose
    lengths = np.linalg.norm(mean[:, edges[:, 0]] - mean[:, edges[:, 1]], axis=0) * rng.uniform(0.9, 1.1)
    poses = np.stack([redraw_with_lengths(p, lengths, bases.skeleton) for p in poses]).transpose(0, 2, 1)
    azimuth = rng.uniform(0, 360) + np.linspace(0, turn_deg, n_frames)
    base = np.diag([1.0, -1.0, -1.0])
    R = (Rotation.from_euler("x", -15.0, degrees=True).as_matrix() @ base
         @ Rotation.from_euler("y", azimuth[:, None], degrees=True).as_matrix())
    cam = np.einsum("nab,njb->nja", R, poses)
    if perspective:
        depth = cam[..., 2:3] + 4.0
        keypoints = 1000.0 * cam[..., :2] / depth + [640.0, 360.0]
        cam = np.concatenate([cam[..., :2], depth], axis=-1)
    else:
        keypoints = 200.0 * cam[..., :2] + [640.0, 360.0]
    return cam, keypoints + rng.normal(0.0, noise_px, keypoints.shape)


def camera_error(joints3d, truth):
    """Mean joint error (metres) after aligning scale and translation only (a depth flip stays wrong)."""
    a = joints3d - joints3d.mean(axis=1, keepdims=True)
    b = truth - truth.mean(axis=1, keepdims=True)
    s = (a * b).sum(axis=(1, 2)) / (a * a).sum(axis=(1, 2))
    return np.linalg.norm(s[:, None, None] * a - b, axis=-1).mean(axis=1)


def acceleration_error(joints3d, truth):
    """Mean over joints and inner frames of |second difference of the lift - that of the truth| (metres)."""
    a = joints3d - joints3d.mean(axis=1, keepdims=True)
    b = truth - truth.mean(axis=1, keepdims=True)
    a = a * (a * b).sum() / (a * a).sum()
    acc = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]     # noqa: E731
    return np.linalg.norm(acc(a) - acc(b), axis=-1).mean()


# ----------------------------------------------------------------------------- the banded solve
def _random_band(rng, n_frames, bmax, scale=0.3):
    sizes = rng.integers(3, bmax + 1, n_frames).astype(np.int64)
    D, E1, E2 = (np.zeros((n_frames, bmax, bmax)) for _ in range(3))
    for n in range(n_frames):
        A = rng.normal(size=(sizes[n], sizes[n] + 4))
        D[n, :sizes[n], :sizes[n]] = A @ A.T + 3 * np.eye(sizes[n])
        if n >= 1:
            E1[n, :sizes[n], :sizes[n - 1]] = scale * rng.normal(size=(sizes[n], sizes[n - 1]))
        if n >= 2:
            E2[n, :sizes[n], :sizes[n - 2]] = scale * rng.normal(size=(sizes[n], sizes[n - 2]))
    return sizes, D, E1, E2


@pytest.mark.parametrize("n_frames", [1, 2, 3, 17])
def test_block_cholesky_solves_like_a_dense_solve(n_frames):
    rng = np.random.default_rng(n_frames)
    sizes, D, E1, E2 = _random_band(rng, n_frames, 9)
    assert np.linalg.eigvalsh(block_dense(D, E1, E2, sizes, n_frames)).min() > 0
    rhs = rng.normal(size=(n_frames, 9))
    expected = block_solve_numpy(D, E1, E2, sizes, n_frames, rhs)
    Linv = np.zeros_like(D)
    assert block_cholesky(D, E1, E2, sizes, n_frames, Linv)
    x = rhs.copy()
    block_solve(Linv, E1, E2, sizes, n_frames, x, x)
    for n in range(n_frames):
        np.testing.assert_allclose(x[n, :sizes[n]], expected[n, :sizes[n]], rtol=1e-10, atol=1e-12)


def test_block_cholesky_refuses_an_indefinite_matrix():
    rng = np.random.default_rng(5)
    sizes, D, E1, E2 = _random_band(rng, 6, 5, scale=5.0)
    assert np.linalg.eigvalsh(block_dense(D, E1, E2, sizes, 6)).min() < 0
    assert not block_cholesky(D, E1, E2, sizes, 6, np.zeros_like(D))


# ----------------------------------------------------------------------------- acceleration rows
def test_acceleration_rows_are_exact_second_derivatives_at_any_spacing():
    """For x(t) = t^2 every row gives 2 sqrt(smoothness (h1 + h2) / 2); a long gap leaves its rows out."""
    t = np.array([0.0, 1.0, 2.0, 4.0, 5.0, 8.0, 30.0, 31.0, 32.0])
    d = acceleration_rows(t, 3.0, max_gap=5)
    x = t ** 2
    h1, h2 = np.diff(t)[:-1], np.diff(t)[1:]
    rows = d[1:-1, 0] * x[:-2] + d[1:-1, 1] * x[1:-1] + d[1:-1, 2] * x[2:]
    coupled = (h1 <= 5) & (h2 <= 5)
    np.testing.assert_allclose(rows[coupled], 2 * np.sqrt(3.0 * (h1 + h2) / 2)[coupled], rtol=1e-12)
    assert not d[1:-1][~coupled].any() and not d[0].any() and not d[-1].any()
    # equal steps: sqrt(smoothness) (1, -2, 1), which a constant velocity does not feel
    np.testing.assert_allclose(acceleration_rows(np.arange(4.0), 4.0, 10)[1], [2.0, -4.0, 2.0])
    assert not acceleration_rows(np.arange(5.0), 0.0, 10).any()


# ----------------------------------------------------------------------------- the joint refinement
def _objective_numpy(Wc, w, sigma, d, B, alpha, Mb, edges, rotvecs, c, robust_scale=0.0):
    """Objective (4) of lift2d3d.solvers.temporal written from its docstring, for rotation vectors (N, 3)."""
    R = Rotation.from_rotvec(rotvecs).as_matrix()
    S = np.einsum("ni,iaj->naj", c, B)
    Sw = S - (S * w[:, None]).sum(axis=2, keepdims=True) / w.sum(axis=1)[:, None, None]
    X = np.einsum("nab,nbj->naj", R, Sw)
    f = 0.5 * (w[:, None] * (Wc - X[:, :2]) ** 2).sum() + alpha * np.abs(c).sum()
    lengths = np.linalg.norm(S[:, :, edges[:, 0]] - S[:, :, edges[:, 1]], axis=1)
    f += 0.5 * ((lengths @ Mb.T) ** 2).sum()
    Xt = sigma[:, None, None] * (X - X.mean(axis=2, keepdims=True))        # pixels
    acc = (d[1:-1, 0, None, None] * Xt[:-2] + d[1:-1, 1, None, None] * Xt[1:-1] + d[1:-1, 2, None, None] * Xt[2:]) \
        / sigma[1:-1, None, None]
    rows = (acc ** 2).sum(axis=(1, 2))
    if robust_scale > 0:
        return f + 0.5 * robust_scale * np.log1p(rows / robust_scale).sum()
    return f + 0.5 * rows.sum()


def _opts(alpha):
    """The options record with refinement sparsity ``alpha`` (the rest at the lifter's defaults)."""
    resolved = Options(refine_alpha=alpha).resolve("convex+refine", 0.03)
    return solver_options(dict(resolved, method="convex+refine", loss="squared", camera=None))


def _frames(Wc, w):
    """The frames record the joint solve reads its frames' own data from (no relations, no prior)."""
    return frames_record(Wc, w, np.zeros(len(w), dtype=np.int64))


def _small_problem(seed, n_frames=6, K=5, alpha=0.0):
    rng = np.random.default_rng(seed)
    P = BODY15.n_joints
    edges = np.array(BODY15.edge_indices())
    B = rng.normal(size=(K, 3, P))
    B -= B.mean(axis=2, keepdims=True)
    B /= np.sqrt((B ** 2).sum(axis=1).mean(axis=1))[:, None, None]
    sym = np.zeros((1, len(edges)))
    sym[0, 3], sym[0, 6] = 1.0, -1.0          # left and right upper arm
    model = solver_model(B, np.array([1.0, 0.0, 0.0]), edges, np.sqrt(0.5) * sym)
    c_true = 0.6 + 0.1 * np.cumsum(rng.normal(size=(n_frames, K)), axis=0)
    rot_true = Rotation.from_euler("y", np.linspace(0, 40, n_frames)[:, None], degrees=True).as_rotvec()
    R = Rotation.from_rotvec(rot_true).as_matrix()
    S = np.einsum("ni,iaj->naj", c_true, B)
    W = np.einsum("nab,nbj->naj", R, S)[:, :2] + 0.05 * rng.normal(size=(n_frames, 2, P))
    w = rng.uniform(0.5, 1.0, (n_frames, P))
    w[1, 4] = 0.0                              # a missing joint
    Wc = W - (W * w[:, None]).sum(axis=2, keepdims=True) / w.sum(axis=1)[:, None, None]
    sigma = rng.uniform(80, 120, n_frames)
    d = acceleration_rows(np.array([0.0, 1, 2, 4, 5, 6])[:n_frames], 2.0, 10)
    start_rot = rot_true + 0.05 * rng.normal(size=rot_true.shape)
    start_c = c_true + 0.05 * rng.normal(size=c_true.shape)
    return model, Wc, w, sigma, d, start_rot, start_c, alpha


@pytest.mark.parametrize("robust_scale", [0.0, 0.05])
def test_joint_refine_reaches_the_least_squares_minimum_of_its_objective(robust_scale):
    """Without the L1 term (4) is a smooth problem: SciPy's trust-region solver on the NumPy twin of (4),
    over every frame's rotation vector and coefficients, finds the same minimum (the acceleration term
    quadratic, or under its Cauchy loss)."""
    model, Wc, w, sigma, d, rot0, c0, alpha = _small_problem(0)
    N, K = c0.shape
    topts = TemporalOptions(smoothness=2.0, max_gap=10, max_iter=200, tol=1e-14, cap=K, n_posit=1,
                            robust_scale=robust_scale)
    R = np.ascontiguousarray(Rotation.from_rotvec(rot0).as_matrix())
    c = np.ascontiguousarray(c0.copy())
    f_frame = np.zeros(N)
    its, converged, f = joint_refine(Wc, w, scaled_rows(d, sigma), _frames(Wc, w), model, _opts(alpha), topts, R, c,
                                     f_frame)
    rot = Rotation.from_matrix(R).as_rotvec()
    twin = _objective_numpy(Wc, w, sigma, d, model.B, alpha, model.Mb, model.edges, rot, c, robust_scale)
    assert abs(f - twin) < 1e-10 * max(1.0, twin)

    def residuals(x):
        rv, cc = x[:3 * N].reshape(N, 3), x[3 * N:].reshape(N, K)
        return np.sqrt(2 * max(_objective_numpy(Wc, w, sigma, d, model.B, 0.0, model.Mb, model.edges, rv, cc,
                                                robust_scale), 0.0))

    # least_squares on the single residual sqrt(2 F) has the same minimisers as F
    ref = least_squares(residuals, np.concatenate([rot0.ravel(), c0.ravel()]), method="trf", xtol=1e-15,
                        ftol=1e-15, gtol=1e-15, max_nfev=20000)
    f_ref = 0.5 * ref.fun[0] ** 2
    assert f <= f_ref * (1 + 1e-6) + 1e-12
    assert f_frame.sum() < f


def test_joint_refine_with_the_l1_term_stops_at_a_stationary_point():
    """With alpha > 0: at the solution, every non-zero coefficient has dF/dc_i = -alpha sign(c_i), every zero
    one |dF/dc_i| <= alpha, and the rotation gradient vanishes (finite differences of the NumPy twin)."""
    model, Wc, w, sigma, d, rot0, c0, _ = _small_problem(1)
    alpha = 0.3
    N, K = c0.shape
    topts = TemporalOptions(smoothness=2.0, max_gap=10, max_iter=500, tol=1e-15, cap=K, n_posit=1, robust_scale=0.0)
    R = np.ascontiguousarray(Rotation.from_rotvec(rot0).as_matrix())
    c = np.ascontiguousarray(c0.copy())
    joint_refine(Wc, w, scaled_rows(d, sigma), _frames(Wc, w), model, _opts(alpha), topts, R, c, np.zeros(N))
    rot = Rotation.from_matrix(R).as_rotvec()

    def smooth(rv, cc):
        return _objective_numpy(Wc, w, sigma, d, model.B, 0.0, model.Mb, model.edges, rv, cc)

    h = 1e-6
    grad_c = np.zeros_like(c)
    for n in range(N):
        for i in range(K):
            e = np.zeros_like(c)
            e[n, i] = h
            grad_c[n, i] = (smooth(rot, c + e) - smooth(rot, c - e)) / (2 * h)
    nz = c != 0
    assert nz.sum() >= N
    np.testing.assert_allclose(grad_c[nz], -alpha * np.sign(c[nz]), atol=2e-4)
    assert np.all(np.abs(grad_c[~nz]) <= alpha + 2e-4)
    for n in range(N):
        for k in range(3):
            # rotation gradient in the refinement's own coordinates: R <- exp([e_k]x h) R
            g = []
            for sign in (1, -1):
                Rk = Rotation.from_rotvec(sign * h * np.eye(3)[k]).as_matrix() @ R[n]
                rv = rot.copy()
                rv[n] = Rotation.from_matrix(Rk).as_rotvec()
                g.append(smooth(rv, c))
            assert abs((g[0] - g[1]) / (2 * h)) < 2e-4


# ----------------------------------------------------------------------------- windows
def test_window_plan_covers_every_frame_and_overlaps_by_the_overlap():
    for n, window, overlap in [(10, 20, 4), (20, 20, 4), (21, 20, 4), (300, 64, 16), (301, 64, 32), (100, 10, 0)]:
        plan = plan_windows(n, window, overlap)
        assert plan[0, 0] == 0 and plan[-1, 1] == n and np.all(plan[:, 1] - plan[:, 0] <= window)
        np.testing.assert_array_equal(plan[:-1, 1] - plan[1:, 0], overlap)     # consecutive windows share overlap
        if len(plan) > 2:
            assert np.all(plan[2:, 0] >= plan[:-2, 1])                         # no frame in three windows
    with pytest.raises(ValueError, match="overlap must be in"):
        plan_windows(100, 10, 6)
    with pytest.raises(ValueError, match="window must be at least 3"):
        plan_windows(100, 2, 0)


def test_stitch_blends_the_overlaps_and_keeps_the_rest():
    """Two windows whose coefficients are 0 and 1 over the 4 frames they share: the blend ramps from the
    first to the second; rotations move along the geodesic; outside the overlap each window's own."""
    plan = np.array([[0, 6], [4, 10]])
    R0 = np.repeat(np.eye(3)[None], 6, axis=0)
    R1 = np.repeat(Rotation.from_rotvec([0.0, 0.0, 0.4]).as_matrix()[None], 6, axis=0)
    first = WindowSolution(np.arange(6), R0, np.zeros((6, 1)), np.zeros(6), 3, True)
    second = WindowSolution(np.arange(6), R1, np.ones((6, 1)), np.ones(6), 4, False)
    R, c, objective, iterations, converged = stitch(plan, [first, second], 10, 1)
    np.testing.assert_allclose(c[:, 0], [0, 0, 0, 0, 0.25, 0.75, 1, 1, 1, 1])
    np.testing.assert_allclose(objective, c[:, 0])
    np.testing.assert_allclose(Rotation.from_matrix(R).as_rotvec()[:, 2], 0.4 * c[:, 0], atol=1e-12)
    np.testing.assert_array_equal(iterations, [3, 3, 3, 3, 7, 7, 4, 4, 4, 4])
    np.testing.assert_array_equal(converged, [True] * 4 + [False] * 6)


def test_windows_are_seamless(bases):
    """A long sequence solved in windows against the same solved whole: near the windows' joins the two
    differ no more than elsewhere, and the windowed lift moves no more across a join than between others."""
    cam, keypoints = smooth_clip(bases, 240, 3)
    lifter = Lifter(bases)
    whole = lifter.lift_sequence(keypoints, window=1000).joints3d
    windowed = lifter.lift_sequence(keypoints, window=80, overlap=24).joints3d
    plan = plan_windows(240, 80, 24)
    joins = np.concatenate([np.arange(start, stop) for start, stop in zip(plan[1:, 0], plan[:-1, 1])])
    difference = np.linalg.norm(windowed - whole, axis=-1).mean(axis=1)
    elsewhere = np.setdiff1d(np.arange(240), joins)
    assert difference[joins].max() <= max(2 * np.percentile(difference[elsewhere], 95), 2e-3)
    step = np.linalg.norm(np.diff(windowed, axis=0), axis=-1).mean(axis=1)    # step[i]: frame i -> i + 1
    steps_whole = np.linalg.norm(np.diff(whole, axis=0), axis=-1).mean(axis=1)
    inside = np.setdiff1d(np.arange(239), joins - 1)
    assert step[joins[:-1]].max() <= 1.5 * np.percentile(step[inside], 95)
    assert step.max() <= 1.5 * steps_whole.max()


def test_a_window_needs_only_its_neighbours(bases):
    """What a streaming pipeline or a cluster relies on: the frames of window k, lifted from the rows of
    windows k-1 .. k+1 alone, are exactly those of the whole sequence's lift (swaps included).  The
    solver's windows (``convex+refine``); the fused method's prior also needs the temporal network's
    receptive field beyond them, which the pipeline's chunks carry (``tests/test_fusion.py``)."""
    cam, keypoints = smooth_clip(bases, 230, 8)
    perms = swap_permutations(Lifter(bases).skeleton)
    keypoints[[57, 58, 121]] = keypoints[[57, 58, 121]][:, perms[1]]
    lifter = Lifter(bases, "convex+refine", n_threads=1)
    whole = lifter.lift_sequence(keypoints, window=60, overlap=20)
    plan = plan_windows(230, 60, 20)
    for k in (1, 2):
        lo, hi = plan[k - 1, 0], plan[k + 1, 1]
        part = lifter.lift_sequence(keypoints[lo:hi], frames=np.arange(lo, hi), window=60, overlap=20)
        mine = slice(plan[k, 0] - lo, plan[k, 1] - lo)
        np.testing.assert_array_equal(part.joints3d[mine], whole.joints3d[plan[k, 0]:plan[k, 1]])
        np.testing.assert_array_equal(part.message[mine], whole.message[plan[k, 0]:plan[k, 1]])


def test_windows_run_on_threads_with_the_same_bits(bases):
    _, keypoints = smooth_clip(bases, 150, 4)
    one = Lifter(bases, n_threads=1).lift_sequence(keypoints, window=50, overlap=10)
    two = Lifter(bases, n_threads=2).lift_sequence(keypoints, window=50, overlap=10)
    np.testing.assert_array_equal(one.joints3d, two.joints3d)


# ----------------------------------------------------------------------------- accuracy on videos
def test_temporal_lift_of_a_video_is_smoother_and_closer_to_the_truth(bases):
    """Synthetic videos (smooth paths through the bases' codes, a turning camera, 2 px noise): the
    temporal lift is closer to the truth in the camera frame and its acceleration error is far smaller."""
    lifter = Lifter(bases, "convex+refine")
    single_err, seq_err, single_acc, seq_acc = [], [], [], []
    for seed in range(3):
        cam, keypoints = smooth_clip(bases, 60, 10 + seed, noise_px=2.0)
        single = lifter.lift(keypoints)
        sequence = lifter.lift_sequence(keypoints)
        assert np.all(sequence.ok)
        single_err.append(camera_error(single.joints3d, cam).mean())
        seq_err.append(camera_error(sequence.joints3d, cam).mean())
        single_acc.append(acceleration_error(single.joints3d, cam))
        seq_acc.append(acceleration_error(sequence.joints3d, cam))
    assert np.mean(seq_err) < 0.95 * np.mean(single_err)
    assert np.mean(seq_acc) < 0.5 * np.mean(single_acc)


@pytest.mark.parametrize("variant", ["robust", "perspective"])
def test_temporal_lift_with_the_robust_model_and_a_camera(bases, variant):
    cam, keypoints = smooth_clip(bases, 40, 20, noise_px=1.0, perspective=variant == "perspective")
    if variant == "robust":
        keypoints[7, 5] += [100.0, -70.0]               # one grossly wrong joint (about 0.6 m off)
        lifter = Lifter(bases, method="robust")
    else:
        lifter = Lifter(bases, "convex+refine", camera=Camera(1000.0, (640.0, 360.0)))
    single = lifter.lift(keypoints)
    sequence = lifter.lift_sequence(keypoints)
    assert np.all(sequence.ok) and np.all(np.isfinite(sequence.joints3d))
    assert acceleration_error(sequence.joints3d, cam) < 0.6 * acceleration_error(single.joints3d, cam)
    assert camera_error(sequence.joints3d, cam).mean() < 1.05 * camera_error(single.joints3d, cam).mean()
    if variant == "robust":
        assert np.abs(sequence.outliers[7, :, 5]).max() > 20          # the bad joint stays flagged
    else:
        # perspective: the joint fit keeps the reprojection error near the per-frame fit's
        assert np.median(sequence.reprojection_error) < 1.5 * np.median(single.reprojection_error)


# ----------------------------------------------------------------------------- gaps, missing joints, bad input
def test_missing_joints_and_unliftable_frames_are_gaps(bases):
    cam, keypoints = smooth_clip(bases, 50, 30)
    rng = np.random.default_rng(0)
    keypoints[rng.random(keypoints.shape[:2]) < 0.1] = np.nan
    keypoints[20, 3:] = np.nan                                 # 3 joints left: too few
    result = Lifter(bases).lift_sequence(keypoints)
    assert result.status[20] == "too_few_joints" and np.isnan(result.joints3d[20]).all()
    others = np.delete(np.arange(50), 20)
    assert np.all(result.ok[others]) and np.isfinite(result.joints3d[others]).all()
    assert camera_error(result.joints3d[others], cam[others]).mean() < \
        1.05 * camera_error(Lifter(bases).lift(keypoints).joints3d[others], cam[others]).mean()


def test_frame_numbers_order_the_frames_and_a_long_gap_splits_the_sequence(bases):
    cam, keypoints = smooth_clip(bases, 40, 40)
    lifter = Lifter(bases)
    frames = np.arange(40)
    reference = lifter.lift_sequence(keypoints, frames=frames)
    shuffled = np.random.default_rng(1).permutation(40)
    again = lifter.lift_sequence(keypoints[shuffled], frames=frames[shuffled])
    np.testing.assert_array_equal(again.joints3d, reference.joints3d[shuffled])
    np.testing.assert_array_equal(again.status, reference.status[shuffled])
    # the second half 1000 frames later: no acceleration row spans the gap, and the halves are solved
    # apart, so they only share their proportions (off here): the first half is lifted as if alone
    far = np.concatenate([np.arange(20), 1000 + np.arange(20)])
    both = lifter.lift_sequence(keypoints, frames=far, proportions_weight=0).joints3d
    first = lifter.lift_sequence(keypoints[:20], proportions_weight=0).joints3d
    np.testing.assert_array_equal(both[:20], first)
    # a gap of 2 frames within max_gap couples the frames across it
    near = np.concatenate([np.arange(20), 21 + np.arange(20)])
    assert not np.array_equal(lifter.lift_sequence(keypoints, frames=near, proportions_weight=0).joints3d[:20],
                              first)


def test_a_cut_in_the_video_does_no_harm(bases):
    """Two people's clips back to back: the frames at the cut, which no smooth motion joins, keep their
    per-frame lifts (and say so); no frame turns suspect, and nothing is relabelled."""
    cam_a, a = smooth_clip(bases, 30, 1)
    cam_b, b = smooth_clip(bases, 30, 2)
    keypoints = np.concatenate([a, b])
    lifter = Lifter(bases, "convex+refine")
    result = lifter.lift_sequence(keypoints)
    assert np.all(result.status == "ok")
    own = [n for n, m in enumerate(result.message) if m.startswith("lifted on its own")]
    assert own and set(own) <= set(range(26, 34))
    np.testing.assert_array_equal(result.joints3d[own], lifter.lift(keypoints).joints3d[own])
    assert not any("swapped back" in m for m in result.message)


def test_the_weights_act_in_physical_time(bases):
    """A 10 fps video is the 30 fps video of every third frame: fps=10 gives the bits of frame numbers
    0, 3, 6, ... at 30 fps."""
    _, keypoints = smooth_clip(bases, 30, 45)
    lifter = Lifter(bases, "convex+refine")
    ten = lifter.lift_sequence(keypoints, fps=10.0)
    thirty = lifter.lift_sequence(keypoints, frames=3 * np.arange(30), fps=30.0)
    np.testing.assert_array_equal(ten.joints3d, thirty.joints3d)
    assert not np.array_equal(ten.joints3d, lifter.lift_sequence(keypoints).joints3d)
    with pytest.raises(ValueError, match="fps must be a positive number"):
        lifter.lift_sequence(keypoints, fps=0)


def test_bad_sequences_are_refused_with_the_rows_named(bases):
    _, keypoints = smooth_clip(bases, 12, 50)
    lifter = Lifter(bases)
    frames = np.arange(12)
    frames[7] = 3
    with pytest.raises(ValueError, match=r"frame 3 at rows 3 and 7.*split the rows by person"):
        lifter.lift_sequence(keypoints, frames=frames)
    with pytest.raises(ValueError, match=r"frames must be finite numbers; row\(s\) 2"):
        lifter.lift_sequence(keypoints, frames=[0, 1, np.nan] + list(range(3, 12)))
    with pytest.raises(ValueError, match=r"one frame number per row: expected shape \(12,\)"):
        lifter.lift_sequence(keypoints, frames=np.arange(11))
    with pytest.raises(ValueError, match="smoothness must be a non-negative number"):
        lifter.lift_sequence(keypoints, smoothness=-1)
    with pytest.raises(ValueError, match="overlap must be in"):
        lifter.lift_sequence(keypoints, window=4, overlap=4)


def test_short_sequences_are_lifted(bases):
    """Fewer frames than the window is one window; one or two frames have no acceleration rows at all."""
    _, keypoints = smooth_clip(bases, 5, 60)
    lifter = Lifter(bases, "convex+refine")
    for n in (1, 2, 5):
        result = lifter.lift_sequence(keypoints[:n])
        assert result.joints3d.shape == (n, 15, 3) and np.all(result.ok)
    # one frame: nothing couples it, and the joint solve only continues the frame's own descent
    one = lifter.lift_sequence(keypoints[:1], proportions_weight=0)
    assert one.objective[0] <= lifter.lift(keypoints[:1]).objective[0] * (1 + 1e-12)


# ----------------------------------------------------------------------------- detector swaps
def _brute_force_labels(U, w, d, sigma, perms, penalty):
    """The labelling of least cost (lift2d3d.solvers.labels) by trying them all."""
    import itertools

    from lift2d3d.solvers.labels import CUT_SCALE

    N, S = U.shape[0], perms.shape[0]
    best, arg = np.inf, None
    for states in itertools.product(range(S), repeat=N):
        cost = penalty * sum(s != 0 for s in states)
        for n in range(1, N - 1):
            V = [U[n + k - 1][:, perms[states[n + k - 1]]] for k in range(3)]
            seen = np.all([w[n + k - 1][perms[states[n + k - 1]]] > 0 for k in range(3)], axis=0)
            acc = d[n, 0] * V[0] + d[n, 1] * V[1] + d[n, 2] * V[2]
            cost += CUT_SCALE * np.log1p((acc[:, seen] ** 2).sum() / sigma[n] ** 2 / CUT_SCALE)
        if cost < best:
            best, arg = cost, states
    return best, np.array(arg)


def test_label_path_finds_the_labelling_of_least_cost():
    from lift2d3d.solvers.labels import label_path

    rng = np.random.default_rng(7)
    P = 6
    perms = np.array([[0, 1, 2, 3, 4, 5], [1, 0, 2, 3, 4, 5], [0, 1, 3, 2, 4, 5], [1, 0, 3, 2, 4, 5]])
    for trial in range(6):
        N = 6
        U = np.cumsum(rng.normal(size=(N, 2, P)), axis=0) * 5
        w = (rng.random((N, P)) > 0.15).astype(float)
        for n in rng.choice(N, 2, replace=False):
            U[n] = U[n][:, perms[rng.integers(1, 4)]]
        t = np.array([0.0, 1, 2, 4, 5, 6]) if trial % 2 else np.arange(N, dtype=float)
        d = acceleration_rows(t, 1.0, 10)
        sigma = rng.uniform(5, 20, N)
        states = np.zeros(N, dtype=np.int64)
        cost = label_path(U, w, d, sigma, perms, 0.3, states)
        best, expected = _brute_force_labels(U, w, d, sigma, perms, 0.3)
        assert cost == pytest.approx(best, rel=1e-12)
        np.testing.assert_array_equal(states, expected)


def test_detector_swaps_are_swapped_back_and_reported(bases):
    cam, keypoints = smooth_clip(bases, 60, 70)
    lifter = Lifter(bases, "convex+refine")
    perms = swap_permutations(lifter.skeleton)
    swapped = keypoints.copy()
    swapped[[10, 31]] = swapped[[10, 31]][:, perms[1]]            # arms
    swapped[45] = swapped[45][perms[2]]                            # legs
    fixed = lifter.lift_sequence(swapped)
    assert [n for n, m in enumerate(fixed.message) if "swapped back" in m] == [10, 31, 45]
    assert "left and right legs swapped back" in fixed.message[45]
    np.testing.assert_allclose(fixed.joints3d, lifter.lift_sequence(keypoints).joints3d, atol=1e-9)
    as_given = lifter.lift_sequence(swapped, fix_swaps=False)
    assert not any("swapped back" in m for m in as_given.message)
    at = [10, 31, 45]
    assert camera_error(fixed.joints3d[at], cam[at]).mean() < 0.5 * camera_error(as_given.joints3d[at], cam[at]).mean()
    # clean keypoints: nothing is relabelled
    assert not any("swapped back" in m for m in lifter.lift_sequence(keypoints).message)
