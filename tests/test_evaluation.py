"""lift2d3d.evaluation: the cameras, Procrustes and error measures that evaluate, learn and bench share."""

import numpy as np
import pytest

from lift2d3d import evaluation as ev


def look_at(azimuth, elevation, roll, up):
    """World-to-camera rotation from its definition: a camera on the sphere around the person looks at
    them, image y points down the up axis, the image is rolled about the optical axis.  Azimuth counts
    from the e1 axis of the up frame (the earlier mocap.views convention: 90 deg before ours)."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    e1 = np.cross(up, [0.0, 0.0, 1.0]) if abs(up[2]) < 0.9 else np.cross(up, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(e1, up)
    az, el, ro = np.deg2rad([azimuth, elevation, roll])
    position = np.cos(el) * (np.cos(az) * e1 + np.sin(az) * e2) + np.sin(el) * up
    z = -position
    y = -up - np.dot(-up, z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    c, s = np.cos(ro), np.sin(ro)
    return np.stack([c * x + s * y, -s * x + c * y, z])


@pytest.mark.parametrize("up", [(0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.3, -0.2, 0.9)])
def test_camera_rotations_are_the_look_at_cameras(up):
    rng = np.random.default_rng(0)
    angles = ev.random_angles(200, rng)
    R = ev.camera_rotations(angles, up)
    for a, r in zip(angles, R):
        np.testing.assert_allclose(r, look_at(a[0] + 90.0, a[1], a[2], up), atol=1e-12)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    assert np.allclose(np.linalg.det(R), 1.0)


def test_angles_mean_what_the_docstring_says():
    # camera position = -(viewing direction) = -R[2]; y-up world
    def position(azimuth, elevation=0.0):
        return -ev.camera_rotations([[azimuth, elevation, 0.0]])[0][2]

    np.testing.assert_allclose(position(0.0), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(position(-90.0), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(position(270.0), [1, 0, 0], atol=1e-12)
    assert position(0.0, 30.0)[1] == pytest.approx(0.5)            # above the person, looking down
    R = ev.camera_rotations([[0.0, 0.0, 0.0]])[0]
    assert R[1] @ [0, 1, 0] == pytest.approx(-1.0)                  # image y points down
    roll = ev.camera_rotations([[0.0, 0.0, 10.0]])[0]
    assert np.degrees(np.arctan2(roll[0] @ R[1], roll[0] @ R[0])) == pytest.approx(10.0)


def test_bench_workload_is_the_one_it_always_had():
    """`lift2d3d bench` keeps its cameras bit for bit: a frozen copy of its draw before the move."""
    from scipy.spatial.transform import Rotation

    from lift2d3d.benchmark import camera_rotations

    def frozen(n, rng):
        az = rng.uniform(0.0, 360.0, n)
        el = rng.uniform(-15.0, 35.0, n)
        roll = rng.uniform(-8.0, 8.0, n)
        base = np.diag([1.0, -1.0, -1.0])
        spin = Rotation.from_euler("y", az[:, None], degrees=True).as_matrix()
        tilt = Rotation.from_euler("x", -el[:, None], degrees=True).as_matrix()
        twist = Rotation.from_euler("z", roll[:, None], degrees=True).as_matrix()
        return twist @ tilt @ base @ spin

    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(camera_rotations(500, rng), frozen(500, twin))
    assert rng.random() == twin.random()            # the same draws were taken from the generator


def test_bench_keypoints_follow_from_its_cameras():
    from lift2d3d.benchmark import synthetic_keypoints
    from test_io_support import toy_bases

    keypoints, camera = synthetic_keypoints(toy_bases(), 50, seed=2, noise_px=0.0)
    np.testing.assert_allclose(keypoints, 500.0 * camera[..., :2] + [960.0, 540.0], atol=1e-9)
    again, _ = synthetic_keypoints(toy_bases(), 50, seed=2, noise_px=0.0)
    np.testing.assert_array_equal(keypoints, again)


def test_projections_put_the_person_upright_in_front_of_the_camera():
    pose = np.array([[0.0, 1.7, 0.0], [0.0, 0.1, 0.0], [0.2, 1.4, 0.0], [0.0, 1.0, 0.3]])
    poses = np.repeat(pose[None], 60, axis=0)
    zup = poses[..., [2, 0, 1]]          # the same bodies, z up: a z-up world's (e1, up, e2) are its (y, z, x)
    ups = np.repeat([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], 30, axis=0)
    mixed = np.where(ups[:, None, 2:] > 0, zup, poses)
    for perspective in (False, True):
        views = ev.random_projections(mixed, seed=4, perspective=perspective, ups=ups)
        assert np.all(views.keypoints[:, 0, 1] < views.keypoints[:, 1, 1])      # head above feet
        np.testing.assert_allclose(views.camera3d[:, 0, 2], views.distances, atol=0.5)
        # a y-up body and its z-up copy under the same camera angles give the same picture
        y_only = ev.project_views(poses, views.angles, views.distances, perspective=perspective)[1]
        np.testing.assert_allclose(views.keypoints, y_only, atol=1e-9)
    weak = ev.random_projections(poses, seed=4)
    assert np.isfinite(weak.keypoints).all() and weak.angles.shape == (60, 3)
    np.testing.assert_array_equal(weak.angles, ev.random_projections(poses, seed=4).angles)


def test_kabsch_recovers_a_rotation_and_never_reflects():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(1)
    points = rng.normal(size=(8, 12, 3))
    points -= points.mean(axis=1, keepdims=True)
    R = Rotation.random(8, random_state=2).as_matrix()
    turned = np.einsum("nij,npj->npi", R, points)
    np.testing.assert_allclose(ev.kabsch(points, turned), R, atol=1e-10)
    np.testing.assert_allclose(ev.kabsch(points[:1], turned[0])[0], R[0], atol=1e-10)   # broadcast target
    mirrored = points * [1, 1, -1]
    assert np.allclose(np.linalg.det(ev.kabsch(points, mirrored)), 1.0)


def test_errors_align_what_they_promise_and_nothing_more():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(3)
    truth = rng.normal(size=(10, 12, 3))
    R = Rotation.random(10, random_state=4).as_matrix()
    similar = 1.7 * np.einsum("nij,npj->npi", R, truth) + [0.3, -2.0, 5.0]
    assert np.all(ev.pa_mpjpe(similar, truth) < 1e-9)
    assert np.all(ev.scale_translation_error(similar, truth) > 0.1)         # rotation is not aligned
    assert np.all(ev.scale_translation_error(2.0 * truth + 1.0, truth) < 1e-9)
    assert np.all(ev.pa_mpjpe(truth * [1, 1, -1], truth) > 0.05)             # a depth mirror stays wrong
    # PA also aligns rotation, so it is never worse than the camera-frame error
    noisy = truth + rng.normal(scale=0.1, size=truth.shape)
    assert np.all(ev.pa_mpjpe(noisy, truth) <= ev.scale_translation_error(noisy, truth) + 1e-12)


def test_lift_errors_count_unlifted_frames_as_failed():
    rng = np.random.default_rng(6)
    truth = rng.normal(size=(5, 15, 3))
    lifted = truth * 1.1
    lifted[2, 4] = np.nan
    errors = ev.lift_errors(lifted, truth, joints=[0, 1, 2, 3, 5])
    assert errors["failed"] == 1 and errors["lifted"].tolist() == [True, True, False, True, True]
    assert errors["pa"].shape == (4,) and np.all(errors["pa"] < 1e-6) and np.all(errors["st"] < 1e-6)


def test_score_lifts_scores_a_real_lifter_per_frame_and_per_take():
    from lift2d3d import Lifter
    from test_io_support import toy_bases

    bases = toy_bases()
    lifter = Lifter(bases, method="convex+refine", n_threads=1)
    rng = np.random.default_rng(7)
    codes = rng.dirichlet(np.ones(bases.n_bases), 12)
    poses = np.einsum("nk,kaj->nja", codes, bases.bases)            # (n, P, 3) metres, the bases' frame
    views = ev.random_projections(poses, seed=1, perspective=True)
    lifter.set_params(camera=ev.VIEW_CAMERA)
    frames = ev.score_lifts(lifter, views.keypoints, views.camera3d)
    takes = ev.score_lifts(lifter, views.keypoints, views.camera3d, takes=np.repeat([0, 1], 6))
    for scores in (frames, takes):
        assert scores["failed"] == 0 and scores["pa"].shape == (12,) and scores["seconds"] > 0
        assert np.all(scores["pa"] <= scores["st"] + 1e-9)
    # the per-frame scores are the errors of lifter.lift on the limb joints
    from lift2d3d.skeletons import LIMB_JOINTS

    limbs = [lifter.skeleton.index(j) for j in LIMB_JOINTS]
    expected = ev.pa_mpjpe(lifter.lift(views.keypoints).joints3d[:, limbs], views.camera3d[:, limbs]) * 1000
    np.testing.assert_allclose(frames["pa"], expected)
    assert np.median(frames["pa"]) < 60.0                           # poses the bases can express
