"""Learning a temporal lifting network: videos, the scikit-learn training, its NumPy twin, the command.

A tiny temporal network is trained in seconds on synthetic takes: smooth paths through sparse codes of
the shipped bases (key poses blended over 0.7 s, one person's bone lengths, the body turning and walking),
filmed by random cameras.  It must lift held-out takes of the same kind, each seen by one fixed camera,
clearly better than the mean pose does, give close answers for the same clip at 30 and 60 fps, and keep
its accuracy when frames go missing.
"""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the train extra (scikit-learn) is needed to learn a network")

from lift2d3d.bases import ShapeBases  # noqa: E402
from lift2d3d.evaluation import VIEW_CAMERA, camera_rotations, lift_errors  # noqa: E402
from lift2d3d.learn_lifter import (TemporalAugmentation, TemporalLifterLearner, held_out_clips,  # noqa: E402
                                   lift_clips, score_clip_lifts, training_videos)
from lift2d3d.learn_lifter.videos import film_video, take_poses, video_samples  # noqa: E402
from lift2d3d.learned import TemporalNetwork, load_temporal_network, save_temporal_network  # noqa: E402
from lift2d3d.learned.network import skip_connection  # noqa: E402
from lift2d3d.mocap.poses import redraw_with_lengths  # noqa: E402
from lift2d3d.skeletons import BODY15, LIMB_JOINTS  # noqa: E402

from test_corpus import _write_corpus  # noqa: E402

P = BODY15.n_joints
LIMBS = [BODY15.index(j) for j in LIMB_JOINTS]
TINY = dict(hidden=(64, 64), n_bins=5, bin_s=0.1, n_epochs=6, views_per_pose=2, batch_size=128, learning_rate=3e-3)


def synthetic_takes(n_takes, n_frames, seed):
    """Takes (n_frames, P, 3), metres, y up, 30 fps: smooth paths through 2-5 atoms of the shipped bases."""
    from scipy.spatial.transform import Rotation

    bases = ShapeBases.load("default")
    rng = np.random.default_rng(seed)
    edges = np.array(BODY15.edge_indices())
    mean = bases.mean_pose
    takes = []
    for _ in range(n_takes):
        n_keys = n_frames // 20 + 2
        keys = np.zeros((n_keys, bases.n_bases))
        for row in keys:
            atoms = rng.choice(bases.n_bases, rng.integers(2, 6), replace=False)
            row[atoms] = rng.uniform(0.2, 1.0, len(atoms))
        u = np.arange(n_frames) / 20.0
        i = np.minimum(u.astype(int), n_keys - 2)
        f = u - i
        f = f * f * (3 - 2 * f)
        codes = (1 - f)[:, None] * keys[i] + f[:, None] * keys[i + 1]
        lengths = np.linalg.norm(mean[:, edges[:, 0]] - mean[:, edges[:, 1]], axis=0) * rng.uniform(0.9, 1.1)
        poses = np.stack([redraw_with_lengths(p, lengths) for p in np.einsum("nk,kaj->naj", codes, bases.bases)])
        turn = Rotation.from_euler("y", (rng.uniform(0, 360) + np.linspace(0, rng.uniform(-90, 90), n_frames))[:, None],
                                   degrees=True).as_matrix()
        walk = np.outer(np.arange(n_frames) / 30.0, [rng.uniform(-0.8, 0.8), 0.0, rng.uniform(-0.8, 0.8)])
        takes.append(np.einsum("nab,nbj->nja", turn, poses) + walk[:, None, :])
    return takes


@pytest.fixture(scope="module")
def tiny():
    """A tiny temporal network trained on synthetic takes, and held-out takes of the same kind."""
    learner = TemporalLifterLearner(**TINY, random_state=0).fit(synthetic_takes(24, 150, seed=0))
    return learner, synthetic_takes(8, 150, seed=1)


def _mean_pose_errors(views):
    mean_pose = ShapeBases.load("default").mean_pose.T
    truth = np.concatenate([v.camera3d for v in views])
    return lift_errors(np.repeat(mean_pose[None], len(truth), axis=0), truth, LIMBS)


def film(joints3d, angles, distance, fps_from=30.0, fps=30.0):
    """A take filmed by one fixed pinhole camera at ``fps`` (Catmull-Rom between its frames): camera3d, keypoints."""
    positions = np.arange(int((len(joints3d) - 1) * fps / fps_from) + 1) * (fps_from / fps)
    world = take_poses(joints3d, positions)
    R = camera_rotations(np.asarray(angles)[None])[0]
    camera3d = (world - joints3d[:, 0].mean(axis=0)) @ R.T + [0.0, 0.0, distance]
    keypoints = VIEW_CAMERA["focal"] * camera3d[..., :2] / camera3d[..., 2:3] + VIEW_CAMERA["principal"]
    return camera3d, keypoints


# ------------------------------------------------------------------------------------------- videos
def test_a_clean_video_is_the_truth_in_the_runtimes_units():
    take = synthetic_takes(1, 90, seed=2)[0]
    exact = TemporalAugmentation(clean=1.0, complete=1.0, outlier=0.0, swap=0.0, drop=0.0, gaps=0.0, moving=1.0)
    for perspective in (0.0, 1.0):
        video = film_video(take, 0.5, 2.0, np.random.default_rng(3), TemporalAugmentation(**{
            **exact.as_dict(), "perspective": perspective}))
        assert np.all(np.diff(video.times) > 0) and video.used.all()
        if video.pinhole:
            np.testing.assert_allclose(video.keypoints, video.focal * video.camera3d[:, :2] / video.camera3d[:, 2:3],
                                       atol=1e-9)
            assert video.camera3d[:, 2].min() >= 1.0
        else:
            np.testing.assert_allclose(video.keypoints, video.weak_scale[:, None, None] * video.camera3d[:, :2],
                                       atol=1e-9)
        samples = video_samples(video, np.array([-0.25, -0.05, 0.05, 0.25]))
        assert samples.inputs.shape == (len(video.times), 3 * P + 3 + 3 * 3 * P)
        assert samples.targets.shape == (len(video.times), 3 * P)
        targets = samples.targets.reshape(-1, 3, P)
        np.testing.assert_allclose(targets.mean(axis=2), 0, atol=1e-5)
        if not video.pinhole:       # weak perspective without noise: x and y are the keypoints
            np.testing.assert_allclose(targets[:, :2].reshape(-1, 2 * P), samples.inputs[:, :2 * P], atol=1e-5)
        # bone lengths in the take's proportions: one person for the whole video
        bones = np.linalg.norm(np.diff(video.camera3d[:, :, BODY15.edge_indices()], axis=3)[..., 0], axis=1)
        assert np.ptp(bones, axis=0).max() < 0.05 * bones.mean()


def test_videos_drop_frames_lose_joints_and_come_at_several_rates():
    takes = synthetic_takes(3, 200, seed=4)
    rng = np.random.default_rng(5)
    rough = TemporalAugmentation(complete=0.0, drop=0.3, gaps=0.5)
    rates, used, kept = [], [], []
    for _ in range(30):
        video = film_video(takes[0], 0.0, 6.0, rng, rough)
        steps = np.diff(video.times)
        rates.append(1.0 / steps.min())
        used.append(video.used.mean())
        kept.append(len(video.times) * steps.min() / 6.0)
    assert {round(r) for r in rates} <= {24, 25, 30, 50, 60} and len({round(r) for r in rates}) >= 4
    assert 0.6 < np.mean(used) < 0.99 and np.mean(kept) < 0.95
    samples = training_videos(takes, np.random.default_rng(6), np.array([-0.3, -0.1, 0.1, 0.3]), n_views=2)
    assert len(samples.inputs) > 2 * 3 * 200 * 0.5 and np.isfinite(samples.inputs).all()
    again = training_videos(takes, np.random.default_rng(6), np.array([-0.3, -0.1, 0.1, 0.3]), n_views=2)
    np.testing.assert_array_equal(samples.inputs, again.inputs)


# ------------------------------------------------------------------------------------------- training
def test_a_tiny_temporal_network_lifts_clips_better_than_the_mean_pose(tiny):
    learner, held = tiny
    network = learner.to_network(source="synthetic")
    assert isinstance(network, TemporalNetwork) and network.receptive_field == (pytest.approx(0.25),
                                                                               pytest.approx(0.25))
    for perspective in (True, False):
        views = held_out_clips(held, seed=7, perspective=perspective, noise_px=1.0, clips_per_take=2)
        scores = score_clip_lifts(lift_clips(network, views, perspective), views)
        chance = _mean_pose_errors(views)
        assert scores["failed"] == 0 and len(views) == 16
        # measured: 0.63-0.64 of the mean pose's Procrustes-aligned error (camera-frame error 0.74-0.77)
        assert scores["pa"].mean() < 0.8 * chance["pa"].mean()
        assert scores["st"].mean() < chance["pa"].mean()
        assert np.isfinite(scores["accel"]).all()


def test_the_same_clip_at_30_and_60_fps_and_with_missing_frames(tiny):
    learner, held = tiny
    network = learner.network_
    rng = np.random.default_rng(8)
    gaps, rates, errors, at_60 = [], [], [], []
    for take in held:
        angles, distance = [rng.uniform(0, 360), rng.uniform(-15, 35), 0.0], rng.uniform(3, 6)
        truth30, keypoints30 = film(take, angles, distance)
        truth60, keypoints60 = film(take, angles, distance, fps=60.0)
        camera = dict(focal=VIEW_CAMERA["focal"], principal=VIEW_CAMERA["principal"])
        at30 = network.predict_keypoints(keypoints30, fps=30.0, **camera)
        at60 = network.predict_keypoints(keypoints60, fps=60.0, **camera)
        np.testing.assert_allclose(keypoints60[::2], keypoints30, atol=1e-9)
        # the same frames at 60 fps: their bins hold twice the frames (the others interpolated)
        rates.append(np.linalg.norm(at60[::2] - at30, axis=2)[:, LIMBS].mean() / np.linalg.norm(
            at30[:, LIMBS] - at30[:, LIMBS].mean(axis=1, keepdims=True), axis=2).mean())
        errors.append(lift_errors(at30, truth30, LIMBS)["pa"].mean())
        at_60.append(lift_errors(at60[::2], truth30, LIMBS)["pa"].mean())
        # a third of the frames missing and a 0.4 s gap: the frames left are lifted about as well
        keep = rng.random(len(take)) > 0.33
        keep[60:72] = False
        times = np.arange(len(take)) / 30.0
        sparse = network.predict_keypoints(keypoints30[keep], times=times[keep], **camera)
        gaps.append(lift_errors(sparse, truth30[keep], LIMBS)["pa"].mean() / lift_errors(
            at30[keep], truth30[keep], LIMBS)["pa"].mean())
    # measured: answers 0.3 % of the pose's size apart, errors equal to 0.01 %; 1 % worse without a third of
    # the frames
    assert np.mean(rates) < 0.03
    assert abs(np.mean(at_60) / np.mean(errors) - 1) < 0.03
    assert np.mean(gaps) < 1.1


def test_training_is_deterministic_for_a_seed():
    takes = synthetic_takes(4, 60, seed=9)
    settings = dict(TINY, n_epochs=2)
    first = TemporalLifterLearner(**settings, random_state=3).fit(takes).network_
    second = TemporalLifterLearner(**settings, random_state=3).fit(takes).network_
    other = TemporalLifterLearner(**settings, random_state=4).fit(takes).network_
    for a, b in zip(first.weights + first.biases, second.weights + second.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.input_scale, second.input_scale)
    assert not np.array_equal(first.weights[0], other.weights[0])


def test_numpy_runtime_is_scikit_learns_predict(tiny, tmp_path):
    learner, held = tiny
    views = training_videos(held[:3], np.random.default_rng(7), learner.window_edges(), n_views=1)
    offset, scale, out_offset, out_scale = learner.standardisation_
    reference = learner.model_.predict((views.inputs - offset) * scale).astype(np.float64) * out_scale + out_offset
    reference[:, :2 * P] += skip_connection(views.inputs, P)
    network = learner.to_network(source="synthetic")
    np.testing.assert_allclose(network.forward(views.inputs), reference, rtol=1e-5, atol=1e-5)
    loaded = load_temporal_network(save_temporal_network(network, tmp_path / "net.npz"))
    np.testing.assert_allclose(loaded.forward(views.inputs), reference, rtol=1e-5, atol=1e-5)
    meta = loaded.metadata
    assert meta["method"]["n_bins"] == 5 and meta["method"]["bin_edges_s"] == pytest.approx([-0.25, -0.15, -0.05,
                                                                                             0.05, 0.15, 0.25])
    assert meta["training"]["n_takes"] == 24 and meta["training"]["n_poses"] == 24 * 150 and meta["seed"] == 0
    assert meta["method"]["augmentation"]["rates"] == [24.0, 25.0, 30.0, 50.0, 60.0]
    assert meta["libraries"]["scikit-learn"] and meta["layers"][0] == 3 * P + 3 + 5 * 3 * P


def test_a_causal_network_is_learned_and_ignores_the_future():
    takes = synthetic_takes(4, 60, seed=10)
    network = TemporalLifterLearner(**dict(TINY, n_epochs=1, causal=True)).fit(takes).network_
    assert network.causal and network.receptive_field == (pytest.approx(0.5), 0.0)
    camera3d, keypoints = film(takes[0], [30.0, 10.0, 0.0], 4.0)
    lifted = network.predict_keypoints(keypoints)
    changed = keypoints.copy()
    changed[40:] = keypoints[40:][::-1]
    np.testing.assert_array_equal(network.predict_keypoints(changed)[:40], lifted[:40])


def test_bad_training_input_is_named():
    with pytest.raises(ValueError, match=r"\(n_frames, 15, 3\)"):
        TemporalLifterLearner().fit([np.zeros((10, 14, 3))])
    with pytest.raises(ValueError, match="2 consecutive valid frames"):
        TemporalLifterLearner().fit([np.full((10, 15, 3), np.nan)])
    with pytest.raises(ValueError, match="edges"):
        TemporalLifterLearner(edges=[0.1, 0.2]).fit(synthetic_takes(1, 20, 0))
    with pytest.raises(TypeError, match="TemporalAugmentation"):
        TemporalLifterLearner(augmentation=object()).get_params()
    with pytest.raises(ValueError, match="unknown augmentation setting"):
        TemporalLifterLearner(augmentation={"tilt": 1}).get_params()


def test_learn_lifter_temporal_command(tmp_path, capsys):
    from lift2d3d.cli import main

    root = tmp_path / "cmu"
    _write_corpus(root)
    out = tmp_path / "temporal.npz"
    args = ["learn-lifter", "--temporal", "--mocap", str(root), "-o", str(out), "--hidden", "16", "--epochs", "2",
            "--bins", "3", "--bin-width", "0.2", "--augmentation", '{"drop": 0.0}']
    assert main(args) == 0
    network = load_temporal_network(out)
    meta = network.metadata
    assert network.n_bins == 3 and network.receptive_field == (pytest.approx(0.3), pytest.approx(0.3))
    assert meta["command"].startswith(f"lift2d3d learn-lifter --mocap {root} --temporal -o {out} --hidden 16 "
                                      "--epochs 2 --views 2")
    assert "--bins 3 --bin-width 0.2" in meta["command"] and '--augmentation \'{"drop": 0.0}\'' in meta["command"]
    assert meta["corpus"]["settings"]["min_distance_mm"] == 0.0
    # the recorded command re-creates the same arrays
    again = tmp_path / "again.npz"
    assert main(args[:4] + ["-o", str(again)] + args[6:]) == 0
    assert load_temporal_network(again).metadata["arrays_sha256"] == meta["arrays_sha256"]
    causal = tmp_path / "causal.npz"
    assert network.flip and "--no-flip" not in meta["command"]
    assert main(["learn-lifter", "--temporal", "--causal", "--no-flip", "--mocap", str(root), "-o", str(causal),
                 "--hidden", "8", "--epochs", "1", "--select", "--grid", json.dumps([{"n_bins": 2}, {"n_bins": 3}]),
                 "--clips-per-take", "1", "--clip-frames", "5"]) == 0
    selection = load_temporal_network(causal).metadata["selection"]
    assert selection["folds_by"] == "performer" and len(selection["table"]) == 2
    assert load_temporal_network(causal).causal and not load_temporal_network(causal).flip
    assert "--causal" in load_temporal_network(causal).metadata["command"]
    assert "--no-flip" in load_temporal_network(causal).metadata["command"]
    capsys.readouterr()
    assert main(["learn-lifter", "--temporal", "--mocap", str(root), "-o", str(out), "--min-distance-mm", "10"]) == 2
    assert "consecutive frames" in capsys.readouterr().err
    assert main(["learn-lifter", "--mocap", str(root), "-o", str(out), "--causal"]) == 2
    assert "settings of --temporal" in capsys.readouterr().err
