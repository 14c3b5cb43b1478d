"""Lifter end to end: recovery, weights and missing joints, outliers, perspective, batches, bad input."""

import os

import numpy as np
import pytest

from lift2d3d import Camera, Lifter, ShapeBases
from lift2d3d.benchmark import synthetic_keypoints
from lift2d3d.status import MIN_SCORE

BASES = os.environ.get("LIFT2D3D_TEST_BASES", "default")


@pytest.fixture(scope="module")
def bases():
    return ShapeBases.load(BASES)


def _synthetic(bases, n, seed, n_atoms=(3, 6)):
    """Camera-frame poses (n, P, 3) in metres from sparse codes of the bases (see lift2d3d.benchmark)."""
    _, cam = synthetic_keypoints(bases, n, seed, noise_px=0.0, n_atoms=n_atoms)
    return cam, None, None


def _aligned_error(joints3d, truth):
    """Mean joint error (relative to the pose's size) after aligning only scale and translation."""
    a = joints3d - joints3d.mean(axis=-2, keepdims=True)
    b = truth - truth.mean(axis=-2, keepdims=True)
    s = (a * b).sum(axis=(-1, -2)) / (a * a).sum(axis=(-1, -2))
    err = np.linalg.norm(s[..., None, None] * a - b, axis=-1).mean(axis=-1)
    return err / np.linalg.norm(b, axis=-1).mean(axis=-1)


def test_joint_names_and_shapes(bases):
    lifter = Lifter(bases)
    assert lifter.joint_names == bases.joint_names
    cam, _, _ = _synthetic(bases, 3, 0)
    keypoints = 400 * cam[..., :2] + [320, 240]
    single = lifter.lift(keypoints[0])
    assert single.joints3d.shape == (bases.n_joints, 3)
    assert single.rotation.shape == (3, 3) and single.coefficients.shape == (bases.n_bases,)
    assert isinstance(single.status, str) and isinstance(single.converged, bool)
    batch = lifter.lift(keypoints)
    assert batch.joints3d.shape == (3, bases.n_joints, 3) and len(batch) == 3
    assert batch.status.shape == (3,) and batch.message.shape == (3,)


def test_noiseless_recovery_up_to_the_sparsity_bias(bases):
    """Single-atom poses seen by random cameras are recovered in the camera frame.

    The error left is the L1 shrinkage bias, proportional to alpha (1e-3 here).  The
    bone-symmetry prior is off: the learned atoms themselves are not exactly left-right
    symmetric, so with it the lifter (rightly, for people) prefers a symmetric neighbour.
    """
    cam, _, _ = _synthetic(bases, 40, 1, n_atoms=(1, 1))
    keypoints = 400 * cam[..., :2] + [640, 360]
    # the geometric fit's oracle: the fused default's network pulls towards real poses, not single atoms
    result = Lifter(bases, "convex+refine", alpha=1e-3, refine_alpha=1e-3, symmetry=0.0, tol=1e-10, admm_tol=1e-6,
                    max_iter=20000, n_starts=4).lift(keypoints)
    err = _aligned_error(result.joints3d, cam)
    assert np.median(err) < 1e-3
    # a rare view where another atom explains the same 2D with a smaller L1 norm is the prior's call
    assert np.mean(err < 5e-3) >= 0.85
    # x, y agree with the input up to the reported weak-perspective scale and translation
    reproj = result.scale[:, None, None] * result.joints3d[..., :2] + result.translation[:, None, :2]
    assert np.median(np.abs(reproj - keypoints)) < 0.5


def test_refinement_improves_on_the_relaxation(bases):
    # codes as dense as the bases' own (20-26 of 128 atoms per training pose): with 3-6 atoms the poses
    # are blends no training pose resembles, and neither method gets their depths (both ~20 % off)
    cam, _, _ = _synthetic(bases, 150, 2, n_atoms=(10, 20))
    rng = np.random.default_rng(2)
    keypoints = 400 * cam[..., :2] + [640, 360] + rng.normal(0, 1.0, cam[..., :2].shape)
    convex = Lifter(bases, method="convex").lift(keypoints)
    refined = Lifter(bases, method="convex+refine").lift(keypoints)
    assert np.mean(_aligned_error(refined.joints3d, cam)) < np.mean(_aligned_error(convex.joints3d, cam))
    # the refinement minimises the original objective (fit + alpha ||c||_1), so the fit improves
    # almost everywhere, not necessarily in every frame
    assert np.median(refined.reprojection_error) < 0.5 * np.median(convex.reprojection_error)
    assert np.mean(refined.reprojection_error <= convex.reprojection_error) >= 0.95


def test_camera_frame_convention_follows_the_image(bases):
    """x right and y down as in the image; the nearer shoulder has the smaller depth."""
    pose = bases.mean_pose.T - bases.mean_pose.T.mean(axis=0)
    up = np.argmax(np.abs(pose[bases.skeleton.index("head")] - pose[bases.skeleton.index("pelvis")]))
    assert up == 1  # the bases are y-up
    cam = pose * [1, -1, -1]                  # a camera in front of the person, y down
    keypoints = 300 * cam[:, :2] + [200, 200]
    result = Lifter(bases).lift(keypoints)
    head, pelvis = bases.skeleton.index("head"), bases.skeleton.index("pelvis")
    assert result.joints3d[head, 1] < result.joints3d[pelvis, 1]          # head is up = smaller y
    np.testing.assert_allclose(result.scale * result.joints3d[:, :2] + result.translation[:2], keypoints,
                               atol=0.05 * 300 * 0.5)


def test_batch_equals_single_frames(bases):
    cam, _, _ = _synthetic(bases, 12, 3)
    rng = np.random.default_rng(3)
    keypoints = 350 * cam[..., :2] + [500, 300] + rng.normal(0, 2.0, cam[..., :2].shape)
    scores = rng.uniform(0.3, 1.0, keypoints.shape[:2])
    for method in ("convex", "convex+refine", "robust"):
        lifter = Lifter(bases, method=method)
        batch = lifter.lift(keypoints, scores)
        for n in range(len(keypoints)):
            single = lifter.lift(keypoints[n], scores[n])
            np.testing.assert_array_equal(single.joints3d, batch.joints3d[n])
            np.testing.assert_array_equal(single.coefficients, batch.coefficients[n])
            assert single.status == batch.status[n]
    threads = Lifter(bases, n_threads=1).lift(keypoints, scores)
    np.testing.assert_array_equal(threads.joints3d, Lifter(bases).lift(keypoints, scores).joints3d)


def test_missing_joints_come_from_the_bases(bases):
    cam, _, _ = _synthetic(bases, 60, 4)
    keypoints = 400 * cam[..., :2] + [640, 360]
    scores = np.ones(keypoints.shape[:2])
    missing = [bases.skeleton.index("left_wrist"), bases.skeleton.index("right_ankle")]
    scores[:, missing] = 0.0
    garbage = keypoints.copy()
    garbage[:, missing] = 1e4                   # values at weight-0 joints must not matter
    nan = keypoints.copy()
    nan[:, missing] = np.nan                    # NaN means missing too
    lifter = Lifter(bases, "convex+refine")     # the bases alone fill the hidden joints (random atom mixtures)
    a = lifter.lift(garbage, scores)
    b = lifter.lift(nan)
    np.testing.assert_array_equal(a.joints3d, b.joints3d)
    assert np.all(np.isfinite(a.joints3d))
    full = np.median(_aligned_error(lifter.lift(keypoints).joints3d, cam))
    hidden = np.median(_aligned_error(a.joints3d, cam))
    assert hidden < 2.0 * full + 0.03
    # the hidden joints themselves land near the truth (relative to the body's size)
    size = np.linalg.norm(cam - cam.mean(1, keepdims=True), axis=-1).mean()
    aj = a.joints3d - a.joints3d.mean(1, keepdims=True)
    tc = cam - cam.mean(1, keepdims=True)
    s = (aj * tc).sum(axis=(1, 2)) / (aj * aj).sum(axis=(1, 2))
    miss_err = np.linalg.norm(s[:, None, None] * aj[:, missing] - tc[:, missing], axis=-1)
    assert np.median(miss_err) < 0.5 * size


def test_weights_change_the_fit(bases):
    cam, _, _ = _synthetic(bases, 1, 5)
    keypoints = 400 * cam[0, :, :2] + [640, 360]
    keypoints[3] += [60.0, -40.0]
    scores = np.ones(bases.n_joints)
    lifter = Lifter(bases)
    full = lifter.lift(keypoints, scores)
    scores[3] = 0.05
    down = lifter.lift(keypoints, scores)
    assert not np.allclose(full.joints3d, down.joints3d)


@pytest.mark.parametrize("perspective", [False, True], ids=["weak", "camera"])
def test_robust_beats_plain_with_two_gross_errors(bases, perspective):
    """With a camera too: the perspective stage must keep the robust model's trimming (it once refitted
    every joint, which made robust + camera exactly as bad as plain + camera)."""
    cam, _, _ = _synthetic(bases, 60, 6)
    rng = np.random.default_rng(6)
    camera = Camera(1000.0, (640.0, 360.0)) if perspective else None
    if perspective:
        points = cam + [0.0, 0.0, 4.0]
        keypoints = 1000.0 * points[..., :2] / points[..., 2:] + [640.0, 360.0]
    else:
        keypoints = 400 * cam[..., :2] + [640, 360]
    keypoints = keypoints + rng.normal(0, 1.0, cam[..., :2].shape)
    corrupted = keypoints.copy()
    bad = []
    for n in range(len(corrupted)):
        joints = rng.choice(bases.n_joints, 2, replace=False)
        corrupted[n, joints] += rng.uniform(150, 250, (2, 2)) * rng.choice([-1, 1], (2, 2))
        bad.append(set(joints))
    plain = _aligned_error(Lifter(bases, method="convex+refine", camera=camera).lift(corrupted).joints3d, cam)
    robust_result = Lifter(bases, method="robust", camera=camera).lift(corrupted)
    robust = _aligned_error(robust_result.joints3d, cam)
    assert np.mean(robust) < 0.6 * np.mean(plain)
    # the outlier estimate points at the corrupted joints
    flagged = np.argsort(-np.linalg.norm(robust_result.outliers, axis=1), axis=1)[:, :2]
    hits = np.mean([len(set(f) & b) / 2 for f, b in zip(flagged, bad)])
    assert hits >= 0.7
    # on clean input the robust model costs little
    clean_plain = _aligned_error(Lifter(bases, camera=camera).lift(keypoints).joints3d, cam)
    clean_robust = _aligned_error(Lifter(bases, method="robust", camera=camera).lift(keypoints).joints3d, cam)
    assert np.mean(clean_robust) < 1.5 * np.mean(clean_plain) + 0.02


def test_perspective_beats_weak_on_perspective_projections(bases):
    cam, _, _ = _synthetic(bases, 60, 7)
    rng = np.random.default_rng(7)
    focal, principal = 1000.0, (640.0, 360.0)
    depth = rng.uniform(2.0, 3.0, (len(cam), 1, 1))
    points = cam + np.concatenate([rng.uniform(-0.5, 0.5, (len(cam), 1, 2)), depth], axis=2)
    keypoints = focal * points[..., :2] / points[..., 2:] + principal
    weak = Lifter(bases).lift(keypoints)
    persp = Lifter(bases, camera=Camera(focal, principal)).lift(keypoints)
    assert np.mean(_aligned_error(persp.joints3d, points)) < np.mean(_aligned_error(weak.joints3d, points))
    # metric-consistent: reprojecting through the camera gives the input back closely
    proj = focal * persp.joints3d[..., :2] / persp.joints3d[..., 2:] + principal
    assert np.median(np.linalg.norm(proj - keypoints, axis=-1)) < 5.0
    assert np.allclose(persp.scale, focal / persp.translation[:, 2])
    # the person's height fixes the global scale
    tall = Lifter(bases, camera=Camera(focal, principal), height=2.0).lift(keypoints)
    short = Lifter(bases, camera=Camera(focal, principal), height=1.5).lift(keypoints)
    np.testing.assert_allclose(tall.joints3d / short.joints3d, 2.0 / 1.5, rtol=1e-9)


def test_non_convergence_returns_best_iterate(bases):
    cam, _, _ = _synthetic(bases, 5, 8)
    keypoints = 400 * cam[..., :2] + [640, 360]
    result = Lifter(bases, method="convex", max_iter=5).lift(keypoints)
    assert not result.converged.any()
    assert set(result.status) == {"not_converged"}
    assert np.all(np.isfinite(result.joints3d))
    assert all("not converged" in m for m in result.message)


def test_bad_single_inputs_raise_clear_errors(bases):
    lifter = Lifter(bases)
    P = bases.n_joints
    with pytest.raises(ValueError, match=r"Expected 2D keypoints of shape \(15, 2\)"):
        lifter.lift(np.zeros((17, 3)))
    with pytest.raises(ValueError, match="Expected scores of shape"):
        lifter.lift(np.zeros((P, 2)), scores=np.ones(P + 1))
    with pytest.raises(ValueError, match="scores must be >= 0"):
        lifter.lift(np.random.rand(P, 2), scores=-np.ones(P))
    few = np.random.rand(P, 2) * 100
    few[4:] = np.nan
    with pytest.raises(ValueError, match=r"only 4 usable joint\(s\) \(pelvis, neck, head, left_shoulder\)"):
        lifter.lift(few)
    with pytest.raises(ValueError, match="all used keypoints coincide"):
        lifter.lift(np.full((P, 2), 7.0))
    inf = np.random.rand(P, 2) * 100
    inf[2, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite .* head"):
        lifter.lift(inf)
    with pytest.raises(ValueError, match="unknown method"):
        Lifter(bases, method="magic")
    with pytest.raises(ValueError, match="focal length"):
        Camera(-1.0, (0, 0))


def test_bad_frames_in_a_batch_get_a_status_not_an_exception(bases):
    cam, _, _ = _synthetic(bases, 5, 9)
    keypoints = 400 * cam[..., :2] + [640, 360]
    keypoints[1, :12] = np.nan                     # too few joints
    keypoints[2] = 5.0                             # coincident
    keypoints[3, 0, 1] = np.inf                    # non-finite
    keypoints[4, 6] = 1e12                         # absurd
    result = Lifter(bases).lift(keypoints)
    assert list(result.status) == ["ok", "too_few_joints", "degenerate", "non_finite", "non_finite"]
    assert np.all(np.isfinite(result.joints3d[0]))
    assert np.all(np.isnan(result.joints3d[1:]))
    assert "only 3 usable" in result.message[1] and "pelvis" in result.message[3]
    assert list(result.ok) == [True, False, False, False, False]


def test_never_nan_for_finite_input(bases):
    rng = np.random.default_rng(10)
    P = bases.n_joints
    keypoints = np.concatenate([
        rng.normal(0, 1, (20, P, 2)) * rng.uniform(1e-3, 1e4, (20, 1, 1)),      # random clouds, any scale
        rng.normal(0, 1, (5, P, 2)) * [1.0, 1e-9],                                  # nearly collinear
        np.repeat(rng.normal(0, 1, (5, 1, 2)), P, axis=1) + rng.normal(0, 1e-6, (5, P, 2)),  # nearly coincident
    ])
    # scores of joints that count (below status.MIN_SCORE a joint is missing)
    scores = rng.uniform(MIN_SCORE, 1, keypoints.shape[:2])
    for method in ("convex", "convex+refine", "robust"):
        for camera in (None, Camera(800.0, (0.0, 0.0))):
            result = Lifter(bases, method=method, camera=camera).lift(keypoints, scores)
            posed = np.isin(result.status, ("ok", "not_converged", "suspect_input"))
            assert np.all(np.isfinite(result.joints3d[posed]))
            assert np.all(np.isfinite(result.objective[posed]))
            assert np.all(result.status[~posed] == "degenerate")
            # random point clouds are not people: at least half are flagged (suspect_input, or
            # not_converged where the fit wanders), so they do not pass silently in bulk
            assert np.mean(result.status[:20] != "ok") >= 0.5


def test_refine_alpha_defaults_to_a_quarter_and_weights_the_refinement(bases):
    cam, _, _ = _synthetic(bases, 40, 5)
    keypoints = 400 * cam[..., :2] + [640, 360]
    lifter = Lifter(bases)
    resolved = lifter.resolved_params()
    assert lifter.refine_alpha is None and resolved["refine_alpha"] == resolved["alpha"] / 4
    assert "refine_alpha" in lifter.describe()
    default = lifter.lift(keypoints)
    explicit = Lifter(bases, refine_alpha=resolved["alpha"] / 4).lift(keypoints)
    np.testing.assert_array_equal(default.joints3d, explicit.joints3d)
    # a heavier weight buys a sparser (smaller L1) code for a worse fit
    heavy = Lifter(bases, refine_alpha=4 * resolved["alpha"]).lift(keypoints)
    assert np.abs(heavy.coefficients).sum() < np.abs(default.coefficients).sum()
    assert np.median(heavy.reprojection_error) > np.median(default.reprojection_error)
    # the convex method has no refinement: its objective does not depend on the weight
    np.testing.assert_array_equal(Lifter(bases, method="convex", refine_alpha=1.0).lift(keypoints).objective,
                                  Lifter(bases, method="convex").lift(keypoints).objective)
    with pytest.raises(ValueError, match="refine_alpha must be a non-negative number"):
        Lifter(bases, refine_alpha=-1.0)


def test_bone_symmetry_term_evens_out_left_and_right(bases):
    """Lifts of noisy views have more equal left/right limb lengths with the symmetry term than without."""
    cam, _, _ = _synthetic(bases, 60, 11)
    rng = np.random.default_rng(11)
    keypoints = 400 * cam[..., :2] + [640, 360] + rng.normal(0, 3.0, cam[..., :2].shape)
    pairs = bases.skeleton.mirrored_bones()

    def asymmetry(X):
        left = np.linalg.norm(X[:, [a for a, _, _, _ in pairs]] - X[:, [b for _, b, _, _ in pairs]], axis=-1)
        right = np.linalg.norm(X[:, [c for _, _, c, _ in pairs]] - X[:, [d for _, _, _, d in pairs]], axis=-1)
        return np.median(np.abs(left - right) / (left + right))

    assert Lifter(bases).resolved_params()["symmetry"] == 3.0
    plain = Lifter(bases, symmetry=0.0).lift(keypoints)
    even = Lifter(bases).lift(keypoints)
    assert asymmetry(even.joints3d) < 0.5 * asymmetry(plain.joints3d)
    with pytest.raises(ValueError, match="symmetry must be a non-negative number"):
        Lifter(bases, symmetry=-1)


def test_lift_sequence_shares_one_persons_proportions(bases):
    """Frames of one person with their own (symmetric) proportions, seen by random cameras (not a video:
    smoothness=0): the sequence lift varies the proportions far less from frame to frame, and is closer
    to the truth."""
    from lift2d3d.learn import redraw_with_lengths

    sk = bases.skeleton
    edges = np.array(sk.edge_indices())
    rng = np.random.default_rng(3)
    cam, _, _ = _synthetic(bases, 40, 3)
    mean = bases.mean_pose
    person = np.linalg.norm(mean[:, edges[:, 0]] - mean[:, edges[:, 1]], axis=0) * rng.uniform(0.8, 1.2, len(edges))
    index = {tuple(e): i for i, e in enumerate(edges.tolist())}
    for a, b, a2, b2 in sk.mirrored_bones():
        person[index[(a2, b2)]] = person[index[(a, b)]]
    poses = np.stack([redraw_with_lengths(p.T, person, sk).T for p in cam])
    keypoints = 400 * poses[..., :2] + [640, 360] + rng.normal(0, 2.0, poses[..., :2].shape)
    lifter = Lifter(bases, "convex+refine")     # the shared proportions alone, no network prior
    single, sequence = lifter.lift(keypoints), lifter.lift_sequence(keypoints, smoothness=0)

    def spread(X):
        lengths = np.linalg.norm(X[:, edges[:, 0]] - X[:, edges[:, 1]], axis=-1)
        return (lengths / lengths.sum(axis=1, keepdims=True)).std(axis=0).mean()

    assert spread(sequence.joints3d) < 0.5 * spread(single.joints3d)
    assert np.mean(_aligned_error(sequence.joints3d, poses)) < 0.95 * np.mean(_aligned_error(single.joints3d, poses))
    proportions = lifter.sequence_proportions(sequence)
    assert proportions.shape == (len(edges),) and abs(proportions.sum() - 1) < 1e-12
    np.testing.assert_array_equal(lifter.lift_sequence(keypoints, proportions_weight=0, smoothness=0).joints3d,
                                  single.joints3d)
    with pytest.raises(ValueError, match=r"lift_sequence expects frames of shape \(n_frames, n_joints, 2\)"):
        lifter.lift_sequence(keypoints[0])
    with pytest.raises(ValueError, match="proportions_weight must be a non-negative number"):
        lifter.lift_sequence(keypoints, proportions_weight=-1)


def test_one_validation_for_the_api_and_the_readers(bases):
    """check_keypoints: inf is non_finite (also before a skeleton mapping), bad scores are bad_input,
    booleans and wrong shapes are refused saying what was expected and what arrived."""
    from lift2d3d.io import read_keypoints
    from lift2d3d.mapping import JointMapping, check_keypoints

    lifter = Lifter(bases)
    cam, _, _ = _synthetic(bases, 4, 9)
    body15 = 400 * cam[..., :2] + [640, 360]
    coco, coco_scores = JointMapping("body15", "coco17").apply(body15, np.ones(body15.shape[:2]))
    coco_scores[:, :5] = 1.0
    coco[:, :5] = coco[:, 5:6] + 10.0                                 # a face where the tool puts one
    broken = coco.copy()
    broken[1, 9, 0] = np.inf                                          # left wrist
    scores = coco_scores.copy()
    scores[2, 3] = -1.0
    result = lifter.lift(broken, scores, skeleton="coco17")
    assert list(result.status[:3]) == ["ok", "non_finite", "bad_input"]
    assert "left_wrist" in result.message[1] and "frame 1" in result.message[1]
    assert "left_ear" in result.message[2] and "scores must be >= 0" in result.message[2]
    # the file route says the same rows are unusable (bad_input), never ok
    with pytest.warns(UserWarning, match="2 row"):
        table = read_keypoints(np.concatenate([broken, scores[..., None]], axis=-1), format="coco17")
    assert list(table.good[:3]) == [True, False, False]
    with pytest.raises(ValueError, match="must be numbers; got an array of dtype bool"):
        lifter.lift(np.ones((15, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"Expected scores of shape \(17,\) or \(4, 17\) .* got \(4, 3\)"):
        lifter.lift(coco, np.ones((4, 3)), skeleton="coco17")
    check = check_keypoints(broken, scores)
    assert check.bad_coordinates[1, 9, 0] and check.bad_scores[2, 3]
    assert np.isnan(check.keypoints[1, 9]).all() and check.scores[1, 9] == 0
