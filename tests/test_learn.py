"""BasisLearner and its pieces: normalisation, torso alignment, mirroring, non-negative sparse coding."""

import json

import numpy as np
import pytest
from scipy.optimize import nnls
from scipy.spatial.transform import Rotation

from lift2d3d.bases import load_bases
from lift2d3d.learn import (BasisLearner, align_torso, jitter_proportions, mirror_poses, nonnegative_sparse_coding,
                            normalise_poses)
from lift2d3d.skeletons import BODY15

# A standing body15 pose (metres, y up, facing +z so the left side is at +x).
STANDING = np.array([
    [0.00, 0.95, 0.00], [0.00, 1.45, 0.00], [0.00, 1.65, 0.02],
    [0.18, 1.45, 0.00], [-0.18, 1.45, 0.00], [0.20, 1.17, 0.00], [-0.20, 1.17, 0.00],
    [0.21, 0.92, 0.05], [-0.21, 0.92, 0.05], [0.09, 0.95, 0.00], [-0.09, 0.95, 0.00],
    [0.09, 0.53, 0.02], [-0.09, 0.53, 0.02], [0.09, 0.12, 0.00], [-0.09, 0.12, 0.00]])


def _random_poses(n, seed=0):
    """Plausible-ish poses: the standing pose with limbs swung about the shoulders and hips, randomly placed."""
    rng = np.random.default_rng(seed)
    poses = np.repeat(STANDING[None], n, axis=0)
    idx = BODY15.index
    for side in ("left", "right"):
        for root, chain in ((f"{side}_shoulder", (f"{side}_elbow", f"{side}_wrist")),
                            (f"{side}_hip", (f"{side}_knee", f"{side}_ankle"))):
            swing = Rotation.from_euler("x", rng.uniform(-70, 70, (n, 1)), degrees=True).as_matrix()
            for joint in chain:
                offset = poses[:, idx(joint)] - poses[:, idx(root)]
                poses[:, idx(joint)] = poses[:, idx(root)] + np.einsum("nij,nj->ni", swing, offset)
    turn = Rotation.from_euler("y", rng.uniform(0, 360, (n, 1)), degrees=True).as_matrix()
    return np.einsum("nij,npj->npi", turn, poses) + rng.normal(0, 2, (n, 1, 3))


def test_normalise_centres_and_fixes_total_bone_length():
    poses = _random_poses(5).transpose(0, 2, 1) * np.array([1, 2, 3, 4, 5])[:, None, None]
    normalised, size = normalise_poses(poses, size=4.0)
    assert size == 4.0
    np.testing.assert_allclose(normalised.mean(axis=2), 0, atol=1e-12)
    edges = np.array(BODY15.edge_indices())
    total = np.linalg.norm(normalised[:, :, edges[:, 0]] - normalised[:, :, edges[:, 1]], axis=1).sum(axis=1)
    np.testing.assert_allclose(total, 4.0)


def test_align_torso_removes_rotation():
    poses, _ = normalise_poses(_random_poses(6).transpose(0, 2, 1))
    aligned, reference = align_torso(poses)
    rotated = np.einsum("ij,njp->nip", Rotation.from_euler("xyz", [20, 130, -40], degrees=True).as_matrix(), poses)
    again, _ = align_torso(rotated, reference=reference)
    np.testing.assert_allclose(again, aligned, atol=1e-9)
    # alignment is a rotation: distances are kept
    np.testing.assert_allclose(np.linalg.norm(aligned, axis=1), np.linalg.norm(poses, axis=1), atol=1e-12)


def test_mirror_is_an_involution_that_swaps_sides():
    poses = _random_poses(3).transpose(0, 2, 1)
    mirrored = mirror_poses(poses)
    np.testing.assert_allclose(mirror_poses(mirrored), poses)
    left, right = BODY15.index("left_wrist"), BODY15.index("right_wrist")
    np.testing.assert_allclose(mirrored[:, 0, left], -poses[:, 0, right])
    np.testing.assert_allclose(mirrored[:, 1:, left], poses[:, 1:, right])


def test_jitter_proportions_keeps_bone_directions_and_symmetry():
    poses = _random_poses(4).transpose(0, 2, 1)
    jittered = jitter_proportions(poses, np.random.default_rng(1))
    edges = np.array(BODY15.edge_indices())
    before = poses[:, :, edges[:, 1]] - poses[:, :, edges[:, 0]]
    after = jittered[:, :, edges[:, 1]] - jittered[:, :, edges[:, 0]]
    cosine = np.sum(before * after, axis=1) / np.linalg.norm(before, axis=1) / np.linalg.norm(after, axis=1)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-12)
    ratio = np.linalg.norm(after, axis=1) / np.linalg.norm(before, axis=1)
    upper_arms = [BODY15.edges.index(("left_shoulder", "left_elbow")), BODY15.edges.index(("right_shoulder", "right_elbow"))]  # noqa: E501
    np.testing.assert_allclose(ratio[:, upper_arms[0]], ratio[:, upper_arms[1]])
    assert np.ptp(ratio) > 0.05  # something did change


def test_nonnegative_sparse_coding_matches_nnls_and_kkt():
    rng = np.random.default_rng(0)
    D = rng.normal(size=(6, 20))
    X = rng.normal(size=(4, 20))
    C = nonnegative_sparse_coding(X, D, alpha=0.0, n_iter=20000, tol=1e-12)
    for x, c in zip(X, C):
        np.testing.assert_allclose(c, nnls(D.T, x)[0], atol=1e-5)
    alpha = 2.0
    C = nonnegative_sparse_coding(X, D, alpha=alpha, n_iter=20000, tol=1e-13)
    gradient = (C @ D - X) @ D.T + alpha  # KKT: >= 0 everywhere, = 0 where c > 0
    assert np.all(C >= 0)
    assert np.all(gradient > -1e-6)
    np.testing.assert_allclose(gradient[C > 1e-9], 0, atol=1e-5)


def test_learner_fits_skips_nan_and_reports():
    poses = _random_poses(160)
    poses[7, 3, 0] = np.nan
    learner = BasisLearner(n_bases=12, alpha=0.01, n_proportion_copies=1, max_iter=15).fit(poses)
    assert learner.bases_.shape == (12, 3, 15) and learner.mean_pose_.shape == (3, 15)
    assert learner.n_frames_skipped_ == 1
    assert learner.n_samples_ == 159 * 2 * 2  # mirror, then one proportion copy of everything
    assert np.all(np.isfinite(learner.bases_))
    assert 0 < learner.sparsity_ <= 1
    assert learner.training_error_ < 40.0  # mm, poses of a 1.7 m person
    # the objective decreases
    assert learner.history_[-1] < learner.history_[0]
    codes = learner.transform(poses[:20])
    assert codes.shape == (20, 12) and np.all(np.isnan(codes[7]))
    assert np.all(np.delete(codes, 7, axis=0) >= 0)
    # more atoms explain held-out poses better
    held_out = _random_poses(40, seed=5)
    small = BasisLearner(n_bases=3, alpha=0.01, n_proportion_copies=0, max_iter=15).fit(poses)
    assert learner.reconstruction_error(held_out) < small.reconstruction_error(held_out)
    with pytest.raises(ValueError, match=r"expected 3D poses of shape \(n_frames, 15, 3\)"):
        learner.fit(poses[:, :14])


def test_learner_is_deterministic_and_saves_a_valid_file(tmp_path):
    poses = _random_poses(80)
    first = BasisLearner(n_bases=8, alpha=0.02, max_iter=8, n_proportion_copies=1).fit(poses)
    second = BasisLearner(n_bases=8, alpha=0.02, max_iter=8, n_proportion_copies=1).fit(poses)
    np.testing.assert_array_equal(first.bases_, second.bases_)
    path = first.to_shape_bases(source="test", inputs_sha256="0" * 64).save(tmp_path / "b.npz")
    bases = load_bases(path)
    assert bases.n_bases == 8 and bases.alpha == 0.02
    assert bases.metadata["training_error"] == pytest.approx(first.training_error_)
    # the mean pose has the size of the normalised training poses
    assert np.sum(bases.bone_lengths()) == pytest.approx(first.size_, rel=0.05)


def test_learn_bases_cli_from_joint_csv(tmp_path):
    from lift2d3d.cli import main

    poses = _random_poses(120)
    names = [n for n in BODY15.joints]
    header = ",".join(f"{n}_{a}" for n in names for a in "xyz")
    rows = [",".join(repr(float(v)) for v in pose.reshape(-1)) for pose in poses]
    rows[3] = ",".join(["nan"] * 45)
    (tmp_path / "poses.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    out = tmp_path / "learned.npz"
    code = main(["learn-bases", "--joints", str(tmp_path / "poses.csv"), "-o", str(out), "--n-bases", "6",
                 "--alpha", "0.02", "--max-iter", "5", "--proportion-copies", "0"])
    assert code == 0
    bases = load_bases(out)
    meta = bases.metadata
    assert meta["n_bases"] == 6 and meta["alpha"] == 0.02 and meta["n_frames_skipped"] == 1
    assert len(meta["inputs_sha256"]) == 64 and "--joints" in meta["command"]
    json.dumps(meta)
    assert main(["learn-bases", "-o", str(out)]) == 2  # no data given


def test_deepmimic_relearn_is_deterministic(tmp_path):
    pytest.importorskip("pybullet_data")
    from lift2d3d.cli import main

    paths = []
    for k in range(2):
        path = tmp_path / f"run{k}.npz"
        assert main(["learn-bases", "--deepmimic", "-o", str(path), "--n-bases", "8", "--max-iter", "3",
                     "--proportion-copies", "1"]) == 0
        paths.append(path)
    a, b = load_bases(paths[0]), load_bases(paths[1])
    np.testing.assert_allclose(a.bases, b.bases, atol=1e-12)
    assert a.metadata["inputs_sha256"] == b.metadata["inputs_sha256"]
    assert "DeepMimic" in a.metadata["source"]


def test_select_hyperparameters_lifts_held_out_clips():
    from lift2d3d.learn import select_hyperparameters

    clips = [_random_poses(60, seed=s) for s in range(3)]
    lines = []
    result = select_hyperparameters(clips, n_bases_grid=(4, 8), alpha_grid=(0.02,), n_folds=3, frames_per_fold=20,
                                    log=lines.append, max_iter=4, n_proportion_copies=0)
    assert len(result["table"]) == 2 and len(lines) == 2
    best = min(result["table"], key=lambda r: r["pa_mpjpe_mm"] + r["camera_error_mm"])
    assert (result["n_bases"], result["alpha"]) == (best["n_bases"], best["alpha"])
    for row in result["table"]:
        assert 0 < row["pa_mpjpe_mm"] <= row["camera_error_mm"] < 1000
