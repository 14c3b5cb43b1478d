"""The fused method: a lifting network's depths as the start and as a prior term of the geometric fit.

Oracles: a NumPy twin of objective (2) with the prior term (finite differences at the LM's answer), the
true depths as the prior (the fused fit must find them where the plain fit does not), and networks that
are deliberately wrong (the fit must still reproject to the keypoints: the geometric fit decides).
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lift2d3d import Lifter
from lift2d3d.benchmark import synthetic_keypoints
from lift2d3d.learned import LiftingNetwork
from lift2d3d.learned.network import n_inputs, n_outputs


@pytest.fixture(scope="module")
def lifter():
    return Lifter()


def _twin_objective(W, w, B, R, c, alpha, prior, weight):
    """NumPy twin of objective (2) with the prior term under its Cauchy loss (no bone rows)."""
    PRIOR_SCALE = 0.3

    S = np.einsum("k,kaj->aj", c, B)
    S = S - (S * w).sum(axis=1, keepdims=True) / w.sum()
    X = R @ S
    r = W - X[:2]
    z = X[2] - (w * X[2]).sum() / w.sum()
    zhat = prior[2] - (w * prior[2]).sum() / w.sum()
    rows = weight * w * (z - zhat) ** 2
    prior_term = 0.5 * PRIOR_SCALE ** 2 * np.log1p(rows / PRIOR_SCALE ** 2).sum()
    return 0.5 * (w * r ** 2).sum() + alpha * np.abs(c).sum() + prior_term


def test_lm_with_the_prior_term_reaches_a_stationary_point(lifter):
    """The prior term's residuals, gradient and Jacobians agree with finite differences of a NumPy twin."""
    from lift2d3d.solvers.lm import lm_frame, new_fit
    from lift2d3d.solvers.terms import Terms

    model = lifter.solver_records()[0]
    B = np.ascontiguousarray(model.B[:12])
    K, P = B.shape[0], B.shape[2]
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 1.0, P)
    truth = np.zeros(K)
    truth[[1, 4, 9]] = [0.5, 0.3, 0.4]
    R_true = Rotation.from_rotvec([0.3, 1.7, -0.2]).as_matrix()
    W = R_true[:2] @ np.einsum("k,kaj->aj", truth, B) + rng.normal(0, 0.02, (2, P))
    W -= (W * w).sum(axis=1, keepdims=True) / w.sum()
    # a prior that disagrees with the truth, so that the term is active at the solution
    prior = R_true @ np.einsum("k,kaj->aj", truth, B) + rng.normal(0, 0.2, (3, P))
    weight, alpha = 1.5, 0.005
    terms = Terms(model.edges, np.zeros((0, len(model.edges))), prior=np.ascontiguousarray(prior), prior_w=w,
                  prior_weight=weight, prior_scale=0.3, dB=np.ascontiguousarray(model.dB[:12]))
    R = Rotation.from_rotvec([0.05, -0.1, 0.05]).as_matrix() @ R_true
    c = truth * 1.2
    _, _, f = lm_frame(new_fit(W, w, w.sum(), B, alpha, terms), R, c, 3000, 1e-15)
    assert f == pytest.approx(_twin_objective(W, w, B, R, c, alpha, prior, weight), rel=1e-12)
    smooth = lambda R_, c_: _twin_objective(W, w, B, R_, c_, 0.0, prior, weight)   # noqa: E731
    h = 1e-6
    for k in range(3):
        turn = Rotation.from_rotvec(h * np.eye(3)[k]).as_matrix()
        assert abs(smooth(turn @ R, c) - smooth(turn.T @ R, c)) / (2 * h) < 1e-5
    for i in range(K):
        e = h * np.eye(K)[i]
        d = (smooth(R, c + e) - smooth(R, c - e)) / (2 * h)
        if c[i] != 0.0:
            assert abs(d + alpha * np.sign(c[i])) < 1e-5
        else:
            assert abs(d) <= alpha + 1e-5


class TruthPrior:
    """The true camera-frame poses in each frame's normalised units: an oracle in the network's place (for a
    batch solved as one block with every frame active, as here)."""

    def __init__(self, camera3d):
        self.camera3d = camera3d

    def predict(self, W, w, perspective=None):
        assert len(W) == len(self.camera3d)
        out = np.empty((len(W), 3, W.shape[2]))
        for n in range(len(W)):
            cam = self.camera3d[n].T
            scale = np.sqrt((w[n] * ((W[n]) ** 2).sum(axis=0)).sum() / w[n].sum())
            centred = cam - (cam * w[n]).sum(axis=1, keepdims=True) / w[n].sum()
            size = np.sqrt((w[n] * (centred[:2] ** 2).sum(axis=0)).sum() / w[n].sum())
            out[n] = centred * scale / size
        return out


def test_a_right_prior_fixes_the_depths_the_plain_fit_gets_wrong(lifter):
    """With the true depths as the prior, the fused fit's camera-frame error is far below the plain fit's."""
    from lift2d3d import solvers
    from lift2d3d.evaluation import scale_translation_error
    from lift2d3d.inputs import validate

    keypoints, camera3d = synthetic_keypoints(lifter.bases, 48, seed=11, noise_px=0.5)
    Wpx, w, status, _, _ = validate(keypoints, None, lifter.joint_names)
    oracle = TruthPrior(camera3d)
    model, _, _ = lifter.solver_records()
    errors = {}
    for method in ("convex+refine", "fused"):
        # a weight at which a right prior decides (the default is chosen for a network that errs)
        opts = solvers.solver_options(dict(lifter.resolved_params(), method=method, prior_weight=1.0))
        frames = solvers.frames_record(Wpx, w, status.copy())
        sol = solvers.solve(frames, model, opts, network=oracle if method == "fused" else None, n_threads=1)
        X = sol.X.transpose(0, 2, 1)
        errors[method] = scale_translation_error(X, camera3d)
    assert np.median(errors["fused"]) < 0.5 * np.median(errors["convex+refine"])


def constant_network(depths):
    """A real lifting network that is deliberately wrong: it answers the keypoints' own x, y (its skip
    connection) and the same ``depths`` (P,) for every frame, whatever it sees."""
    P = len(depths)
    weights = [np.zeros((n_inputs(P), n_outputs(P)))]
    offset = np.concatenate([np.zeros(2 * P), depths])
    return LiftingNetwork(weights=weights, biases=[np.zeros(n_outputs(P))], input_offset=np.zeros(n_inputs(P)),
                          input_scale=np.ones(n_inputs(P)), output_offset=offset, output_scale=np.ones(n_outputs(P)),
                          skeleton="body15", metadata=dict(source="test: constant depths"))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wrong_network_cannot_pull_the_fit_off_its_keypoints(lifter, seed):
    """Depths that are nonsense (large, random, the same every frame): the fused lift still reprojects to the
    keypoints and stays a sparse-basis pose; at most a few frames are flagged (never failed), since a prior
    that fights the keypoints leaves a residual the plausibility check sees."""
    rng = np.random.default_rng(seed)
    wrong = constant_network(rng.normal(0.0, 1.5, lifter.bases.n_joints))
    keypoints, _ = synthetic_keypoints(lifter.bases, 40, seed=20 + seed, noise_px=1.0)
    fused = Lifter(lifter.bases, method="fused", network=wrong).lift(keypoints)
    plain = Lifter(lifter.bases, method="convex+refine").lift(keypoints)
    assert fused.ok.mean() >= 0.9
    assert set(fused.status[~fused.ok]) <= {"suspect_input"}
    size = np.sqrt(((keypoints - keypoints.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
    assert np.median(fused.reprojection_error / size) < 0.07
    assert np.all(fused.reprojection_error / size < 0.1)
    assert np.median(fused.reprojection_error) < 2.0 * np.median(plain.reprojection_error) + 1.0
    assert np.all(np.count_nonzero(fused.coefficients, axis=1) <= 2 * lifter.bases.n_joints + 10)


def test_fused_needs_a_network_for_the_bases_skeleton(lifter):
    from lift2d3d.learned import NetworkFileError

    with pytest.raises(NetworkFileError, match="no-such-network.npz"):
        Lifter(method="fused", network="no-such-network.npz").lift(400.0 * lifter.bases.mean_pose[:2].T)


# ----------------------------------------------------------------------------- over a video


def basis_video(bases, n, seed, noise_px=0.5):
    """A smooth video of poses built from the bases (four atoms whose weights change slowly, seen by a camera
    that turns about the person): pixel keypoints (n, P, 2) and the true camera-frame joints (n, P, 3) in
    metres, weak perspective, as :func:`lift2d3d.benchmark.synthetic_keypoints` builds single frames."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(bases.n_bases, 4, replace=False)
    phase = rng.uniform(0, 2 * np.pi, 4)
    t = np.arange(n) / 30.0
    codes = np.zeros((n, bases.n_bases))
    codes[:, picked] = rng.dirichlet(np.ones(4)) * (1.0 + 0.4 * np.sin(2 * np.pi * 0.7 * t[:, None] + phase))
    poses = np.einsum("nk,kaj->nja", codes, bases.bases)
    mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
    radius = np.sqrt(((poses - poses.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
    poses *= np.sqrt((mean ** 2).sum(axis=0).mean()) / radius[:, None, None]
    poses = np.roll(poses, 1 - int(bases.metadata.get("up_axis", 1)), axis=2)
    turns = Rotation.from_rotvec(np.stack([0.2 + 0.0 * t, 0.8 + 0.6 * t, 0.1 * np.sin(t)], axis=1)).as_matrix()
    camera = np.einsum("nab,njb->nja", turns, poses)
    keypoints = 500.0 * camera[..., :2] + np.array([960.0, 540.0]) + rng.normal(0.0, noise_px, camera[..., :2].shape)
    return keypoints, camera


class TruthSequence:
    """The true camera-frame poses of a video: an oracle in the temporal network's place.  It checks that it is
    given the frames in time order, with times in seconds."""

    def __init__(self, camera3d, times_s, lost=()):
        self.camera3d, self.times_s, self.lost = camera3d, times_s, list(lost)

    def predict_sequence(self, W, w, times, perspective=None):
        order = np.argsort(self.times_s)
        np.testing.assert_allclose(times, self.times_s[order], rtol=1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):      # frames without keypoints: NaN
            out = TruthPrior(self.camera3d[order]).predict(W, w)
        out[[i for i, n in enumerate(order) if n in self.lost]] = np.nan
        return out


def test_a_right_temporal_prior_fixes_the_depths_of_a_video(lifter):
    """The true poses as the temporal network's answer, frames given out of time order: the fused sequence lift's
    camera-frame error is far below the plain sequence lift's."""
    from lift2d3d import solvers
    from lift2d3d.evaluation import scale_translation_error
    from lift2d3d.inputs import validate

    keypoints, camera3d = basis_video(lifter.bases, 60, seed=3)
    shuffle = np.random.default_rng(0).permutation(60)
    keypoints, camera3d = keypoints[shuffle], camera3d[shuffle]
    times = shuffle.astype(np.float64)                      # frames at 30 fps
    oracle = TruthSequence(camera3d, times / solvers.TEMPORAL_FPS)
    model, _, _ = lifter.solver_records()
    errors = {}
    for method in ("convex+refine", "fused"):
        resolved = dict(lifter.resolved_params(), method=method, prior_weight=1.0)
        opts = solvers.solver_options(resolved)
        topts = solvers.sequence_options(1.0, 1.0, 10.0, 256, 32, resolved["tol"], lifter.bases.n_joints,
                                         lifter.bases.n_bases)
        Wpx, w, status, _, _ = validate(keypoints, None, lifter.joint_names)
        frames = solvers.frames_record(Wpx, w, status)
        sol, _ = solvers.solve_sequence(frames, times, model, opts, topts, n_threads=1,
                                        temporal=oracle if method == "fused" else None)
        errors[method] = scale_translation_error(sol.X.transpose(0, 2, 1), camera3d)
    assert np.median(errors["fused"]) < 0.5 * np.median(errors["convex+refine"])


def test_frames_the_temporal_network_cannot_lift_take_the_per_frame_networks_prior(lifter):
    from lift2d3d import solvers
    from lift2d3d.inputs import validate
    from lift2d3d.learned import normalise_keypoints

    keypoints, camera3d = basis_video(lifter.bases, 20, seed=4)
    times = np.arange(20.0)
    Wpx, w, status, _, _ = validate(keypoints, None, lifter.joint_names)
    status[7] = 3                                            # a frame validation rejected (non_finite)
    frames = solvers.frames_record(Wpx, w, status)
    opts = solvers.solver_options(dict(lifter.resolved_params(), method="fused"))
    per_frame = constant_network(np.linspace(-1.0, 1.0, lifter.bases.n_joints))
    solvers.sequence_prior(frames, times, opts, TruthSequence(camera3d, times / 30.0, lost=(2, 11)), per_frame)
    W = normalise_keypoints(Wpx, w)[0]
    assert np.allclose(frames.prior[[2, 11]], per_frame.predict(W[[2, 11]], w[[2, 11]]))
    truth = TruthPrior(camera3d).predict(W, w)
    kept = [n for n in range(20) if n not in (2, 7, 11)]
    assert np.allclose(frames.prior[kept], truth[kept])
    assert not frames.prior[7].any()


def test_the_lifter_fuses_its_temporal_network_over_a_video(lifter):
    """``lift_sequence`` of the fused method takes its prior from ``temporal_network`` (None: ``network``, frame by
    frame); a deliberately wrong temporal network cannot pull the fit off its keypoints (within a tenth of
    the pose's size)."""
    from lift2d3d.learned import TemporalNetwork
    from lift2d3d.learned.temporal import bin_edges, n_temporal_inputs

    P = lifter.bases.n_joints
    rng = np.random.default_rng(8)
    n_in = n_temporal_inputs(P, 4)
    wrong = TemporalNetwork(weights=[np.zeros((n_in, n_outputs(P)))], biases=[np.zeros(n_outputs(P))],
                            input_offset=np.zeros(n_in), input_scale=np.ones(n_in),
                            output_offset=np.concatenate([np.zeros(2 * P), rng.normal(0.0, 1.5, P)]),
                            output_scale=np.ones(n_outputs(P)), skeleton="body15", edges=bin_edges(4, 0.1),
                            metadata=dict(source="test: constant depths"))
    keypoints, _ = basis_video(lifter.bases, 40, seed=5, noise_px=1.0)
    per_frame = constant_network(np.zeros(P))
    fused = Lifter(lifter.bases, method="fused", network=per_frame, temporal_network=wrong).lift_sequence(keypoints)
    alone = Lifter(lifter.bases, method="fused", network=per_frame, temporal_network=None).lift_sequence(keypoints)
    assert np.all(alone.ok)
    # nonsense depths held for the whole clip leave a residual the plausibility check may flag, never a failure
    assert set(fused.status) <= {"ok", "suspect_input"}
    size = np.sqrt(((keypoints - keypoints.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
    assert np.median(fused.reprojection_error / size) < 0.09
    assert np.all(fused.reprojection_error / size < 0.12)
    assert not np.allclose(fused.joints3d, alone.joints3d, atol=1e-3)


def test_the_robust_fused_lift_asks_the_network_again_without_the_joints_it_dropped(lifter):
    """A wrist 5,000 px off: the network, which has no robust loss, sees it too; once the robust model drops
    the joint, the prior is the network's answer without it, so the re-fit is ok and near the plain lift of
    the clean keypoints (before, half such frames were flagged: the first prior pulled the re-fit away)."""
    keypoints, _ = synthetic_keypoints(lifter.bases, 30, seed=6, noise_px=1.0)
    wrist = list(lifter.joint_names).index("left_wrist")
    wild = keypoints.copy()
    wild[:, wrist] += [5000.0, 0.0]
    robust = Lifter(method="fused", loss="robust").lift(wild)
    clean = Lifter(method="fused").lift(keypoints)
    assert (np.abs(robust.outliers[:, :, wrist]).max(axis=-1) > 0).all()
    assert robust.ok.mean() >= 0.9
    others = [j for j in range(lifter.bases.n_joints) if j != wrist]
    moved = np.linalg.norm(robust.joints3d[:, others] - clean.joints3d[:, others], axis=-1).mean(axis=1)
    assert np.median(moved) < 0.1            # 6 cm here; 29 cm when the first prior stayed
