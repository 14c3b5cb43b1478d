"""Learning a lifting network: views, the scikit-learn training, its NumPy twin, the command, the shipped file.

A tiny network is trained in seconds on synthetic poses built from the shipped bases (random
sparse non-negative codes, so every pose is a blend of a few prototype poses) seen by random
cameras; it must lift held-out poses of the same kind clearly better than the mean pose does.
"""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="the train extra (scikit-learn) is needed to learn a network")

from lift2d3d.bases import ShapeBases  # noqa: E402
from lift2d3d.evaluation import lift_errors  # noqa: E402
from lift2d3d.learn_lifter import (Augmentation, LifterLearner, held_out_views, score_network,  # noqa: E402
                                   training_views)
from lift2d3d.learned import load_network, save_network  # noqa: E402
from lift2d3d.learned.network import skip_connection  # noqa: E402
from lift2d3d.skeletons import BODY15, LIMB_JOINTS  # noqa: E402

from test_corpus import _write_corpus  # noqa: E402

P = BODY15.n_joints
LIMBS = [BODY15.index(j) for j in LIMB_JOINTS]
TINY = dict(hidden=(64, 64), n_epochs=6, views_per_pose=2, batch_size=128, learning_rate=3e-3)


def synthetic_poses(n, seed):
    """Poses (n, P, 3) metres: 2-5 atoms of the shipped bases with positive codes, at the mean pose's size."""
    bases = ShapeBases.load("default")
    rng = np.random.default_rng(seed)
    codes = np.zeros((n, bases.n_bases))
    for row, k in zip(codes, rng.integers(2, 6, n)):
        row[rng.choice(bases.n_bases, k, replace=False)] = rng.uniform(0.2, 1.0, k)
    poses = np.einsum("nk,kdp->npd", codes, bases.bases)
    poses -= poses.mean(axis=1, keepdims=True)
    mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
    radius = np.sqrt((poses ** 2).sum(axis=2).mean(axis=1))
    return poses * (np.sqrt((mean ** 2).sum(axis=0).mean()) / radius)[:, None, None]


@pytest.fixture(scope="module")
def tiny():
    """A tiny network trained on synthetic poses, and held-out poses of the same kind."""
    learner = LifterLearner(**TINY, random_state=0).fit(synthetic_poses(3000, seed=0))
    return learner, synthetic_poses(400, seed=1)


def test_training_views_are_the_runtimes_inputs_and_the_truth_in_its_units():
    poses = synthetic_poses(40, seed=2)
    exact = Augmentation(clean=1.0, complete=1.0, outlier=0.0, swap=0.0, perspective=0.0)
    views = training_views(poses, np.random.default_rng(0), exact, n_views=3)
    assert views.inputs.shape == (120, 3 * P + 3) and views.targets.shape == (120, 3 * P)
    # weak perspective without noise: the target's x and y are the normalised keypoints
    np.testing.assert_allclose(views.targets[:, :2 * P], views.inputs[:, :2 * P], atol=1e-5)
    np.testing.assert_allclose(views.targets.reshape(-1, 3, P).mean(axis=2), 0, atol=1e-5)
    # perspective, near the optical axis: W ~ rho X_xy / (rho + X_z)
    pinhole = Augmentation(clean=1.0, complete=1.0, outlier=0.0, swap=0.0, perspective=1.0, off_centre=0.0,
                           distance=(8.0, 10.0))
    views = training_views(poses, np.random.default_rng(1), pinhole)
    X = views.targets.reshape(-1, 3, P).astype(np.float64)
    rho = 1.0 / views.inputs[:, 3 * P].astype(np.float64)
    W = rho[:, None, None] * X[:, :2] / (rho[:, None, None] + X[:, 2:3])
    W -= W.mean(axis=2, keepdims=True)
    np.testing.assert_allclose(W, views.inputs[:, :2 * P].reshape(-1, 2, P), atol=2e-3)
    # the 2D centroid of a person on the optical axis is off it only by the perspective of its depth
    assert views.perspective.all() and np.abs(views.inputs[:, 3 * P + 1:]).max() < 2e-3


def test_training_views_lose_joints_and_add_noise_as_drawn():
    poses = synthetic_poses(200, seed=3)
    views = training_views(poses, np.random.default_rng(0), Augmentation(), n_views=5)
    used = views.used
    assert 0.85 < used.mean() < 0.99 and (used.all(axis=1)).mean() > 0.45
    np.testing.assert_array_equal(views.inputs[:, 2 * P:3 * P], used)
    np.testing.assert_array_equal(views.inputs[:, :P][~used], 0.0)
    assert 0.4 < views.perspective.mean() < 0.6
    again = training_views(poses, np.random.default_rng(0), Augmentation(), n_views=5)
    np.testing.assert_array_equal(views.inputs, again.inputs)
    with pytest.raises(ValueError, match="unknown augmentation setting"):
        Augmentation.from_dict({"noize": 0.1})


def test_a_tiny_network_lifts_better_than_the_mean_pose(tiny):
    learner, held = tiny
    network = learner.to_network(source="synthetic")
    mean_pose = np.repeat(ShapeBases.load("default").mean_pose.T[None], len(held), axis=0)
    for perspective in (False, True):
        camera3d, keypoints = held_out_views(held, seed=5, perspective=perspective)
        lifted = score_network(network, camera3d, keypoints, perspective)
        chance = lift_errors(mean_pose, camera3d, LIMBS)      # rotated onto the truth by Procrustes
        assert lifted["failed"] == 0
        # measured: 0.55-0.6 of the mean pose's PA-MPJPE; its camera-frame error, which no rotation
        # helps, under the mean pose's Procrustes-aligned error
        assert lifted["pa"].mean() < 0.75 * chance["pa"].mean()
        assert lifted["st"].mean() < chance["pa"].mean()
        degraded = score_network(network, *held_out_views(held, 5, perspective, noise_px=6.0, n_missing=2),
                                 perspective)
        assert degraded["failed"] == 0 and degraded["pa"].mean() < chance["pa"].mean()


def test_training_is_deterministic_for_a_seed():
    poses = synthetic_poses(300, seed=4)
    settings = dict(TINY, n_epochs=2)
    first = LifterLearner(**settings, random_state=3).fit(poses).network_
    second = LifterLearner(**settings, random_state=3).fit(poses).network_
    other = LifterLearner(**settings, random_state=4).fit(poses).network_
    for a, b in zip(first.weights + first.biases, second.weights + second.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.input_scale, second.input_scale)
    assert not np.array_equal(first.weights[0], other.weights[0])


def test_numpy_runtime_is_scikit_learns_predict(tiny, tmp_path):
    learner, held = tiny
    views = training_views(held[:300], np.random.default_rng(7), n_views=2)
    offset, scale, out_offset, out_scale = learner.standardisation_
    reference = learner.model_.predict((views.inputs - offset) * scale).astype(np.float64) * out_scale + out_offset
    reference[:, :2 * P] += skip_connection(views.inputs, P)
    network = learner.to_network(source="synthetic")
    # the same float32 operations: equal to float32 rounding of the summation order
    np.testing.assert_allclose(network.forward(views.inputs), reference, rtol=1e-5, atol=1e-5)
    loaded = load_network(save_network(network, tmp_path / "net.npz"))
    np.testing.assert_allclose(loaded.forward(views.inputs), reference, rtol=1e-5, atol=1e-5)
    # float16 storage: weights rounded to 11 bits; outputs within a few thousandths of the pose's radius
    half = load_network(save_network(network, tmp_path / "half.npz", dtype="float16"))
    assert np.abs(half.forward(views.inputs) - reference).max() < 0.02


def test_card_records_settings_training_and_libraries(tiny, tmp_path):
    learner, _ = tiny
    meta = load_network(save_network(learner.to_network(source="synthetic", inputs_sha256="x"),
                                     tmp_path / "n.npz")).metadata
    assert meta["method"]["hidden"] == [64, 64] and meta["method"]["n_epochs"] == 6 and meta["seed"] == 0
    assert meta["method"]["augmentation"]["elevation"] == [-30.0, 50.0]
    assert meta["training"]["n_poses"] == 3000 and len(meta["training"]["loss_curve"]) == 6
    assert meta["libraries"]["scikit-learn"] and meta["libraries"]["numpy"] == np.__version__
    assert meta["layers"] == [3 * P + 3, 64, 64, 3 * P]


def test_bad_training_input_is_named():
    with pytest.raises(ValueError, match=r"\(n_frames, 15, 3\)"):
        LifterLearner().fit(np.zeros((10, 14, 3)))
    with pytest.raises(ValueError, match="at least 2 valid poses"):
        LifterLearner().fit(np.full((10, 15, 3), np.nan))
    with pytest.raises(ValueError, match="positive"):
        LifterLearner(hidden=()).fit(synthetic_poses(5, 0))


def test_learn_lifter_command_walks_a_corpus(tmp_path, capsys):
    from lift2d3d.cli import main

    root = tmp_path / "cmu"
    _write_corpus(root)
    out = tmp_path / "net.npz"
    args = ["learn-lifter", "--mocap", str(root), "-o", str(out), "--hidden", "16", "--epochs", "2", "--views", "2",
            "--files-csv", str(tmp_path / "files.csv"), "--augmentation", '{"swap": 0.0}']
    assert main(args) == 0
    network = load_network(out)
    meta = network.metadata
    assert meta["command"].startswith(f"lift2d3d learn-lifter --mocap {root} -o {out} --hidden 16 --epochs 2")
    assert '--augmentation \'{"swap": 0.0}\'' in meta["command"]
    files = {entry["path"]: entry for entry in meta["corpus"]["files"]}
    for path, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((root / path).read_bytes()).hexdigest()
    listed = pd.read_csv(tmp_path / "files.csv", dtype=str)
    assert dict(zip(listed["path"], listed["sha256"])) == {p: e["sha256"] for p, e in files.items()}
    assert meta["method"]["augmentation"]["swap"] == 0.0 and meta["seed"] == 0
    # the recorded command re-creates the same arrays
    again = tmp_path / "again.npz"
    assert main(args[:4] + [str(again)] + args[5:]) == 0
    assert load_network(again).metadata["arrays_sha256"] == meta["arrays_sha256"]
    selected = tmp_path / "selected.npz"
    grid = json.dumps([{"hidden": [8]}, {"hidden": [16]}])
    assert main(["learn-lifter", "--mocap", str(root), "-o", str(selected), "--select", "--grid", grid, "--epochs",
                 "1", "--views", "1", "--frames-per-take", "3"]) == 0
    selection = load_network(selected).metadata["selection"]
    assert selection["folds_by"] == "performer" and len(selection["table"]) == 2
    assert sorted(sum(selection["fold_performers"], [])) == ["07", "08", "martial"]
    assert load_network(selected).layer_sizes[1] == selection["best"]["hidden"][0]
    capsys.readouterr()
    assert main(["learn-lifter", "--mocap", str(root), "-o", str(selected), "--augmentation", '{"tilt": 1}']) == 2
    assert "unknown augmentation setting" in capsys.readouterr().err
    assert main(["learn-lifter", "--mocap", str(tmp_path / "nothing"), "-o", str(selected)]) == 2


def test_an_unknown_setting_is_refused_by_name():
    """The learners' keyword settings (``**training``, ``**solver_options``) refuse a name they do not take,
    as a function refuses an unknown keyword, and keep the defaults of those not given."""
    from lift2d3d.learn import BasisLearner
    from lift2d3d.learn_lifter import TemporalLifterLearner

    for learner, wrong in ((LifterLearner, "n_bins"), (TemporalLifterLearner, "max_iter"), (BasisLearner, "flip")):
        with pytest.raises(TypeError, match=f"unexpected keyword argument.*{wrong}"):
            learner(**{wrong: 1})
    assert LifterLearner(alpha=0.5).alpha == 0.5 and LifterLearner().batch_size == 512
    assert TemporalLifterLearner().batch_size == 256 and BasisLearner(max_iter=3).n_epochs == 16
