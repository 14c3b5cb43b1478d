"""The world frame (lift2d3d.world): gravity from the floor under the feet, the floor at 0, the trajectory.

The oracle is a walk built from foot contacts on a known floor (``clip_support``) seen by a known camera:
the true up in the camera's frame is the camera's rotation applied to the world's +y.
"""

import numpy as np
import pytest

from clip_support import ANKLE_Y, walking_clip, seen
from lift2d3d.skeletons import BODY15
from lift2d3d.world import ANKLE_HEIGHT, clip_stature, estimate_world, fit_ground_plane, to_world

ANKLES = [BODY15.index("left_ankle"), BODY15.index("right_ankle")]


def angle(a, b):
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


@pytest.mark.parametrize("elevation, roll", [(0.0, 0.0), (25.0, 6.0), (-10.0, -8.0)])
def test_gravity_comes_from_the_floor_not_the_leaning_body(elevation, roll):
    # the torso leans 25 degrees forward: the body's own up is wrong, the planted feet are not
    world = walking_clip(150, lean_deg=25.0)
    camera, _, up = seen(world, azimuth=40.0, elevation=elevation, roll=roll)
    frame = estimate_world(camera, BODY15.joints, perspective=True)
    body = camera[:, BODY15.index("neck")] - camera[:, ANKLES].mean(axis=1)
    assert angle(np.median(body / np.linalg.norm(body, axis=1, keepdims=True), axis=0), up) > 8.0
    assert angle(frame.up, up) < 1.0
    assert frame.pitch_deg == pytest.approx(elevation, abs=1.0)
    assert frame.roll_deg == pytest.approx(roll, abs=1.0)


def test_the_floor_is_at_zero_and_the_axes_are_right_handed_y_up():
    world = walking_clip(150)
    camera, _, up = seen(world, azimuth=-70.0, elevation=15.0, roll=3.0)
    frame = estimate_world(camera, BODY15.joints, perspective=True)
    R = frame.rotation
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.linalg.det(R) == pytest.approx(1.0)
    assert np.allclose(R[1], frame.up)
    placed = frame.apply(camera)
    stature = clip_stature(camera, BODY15.joints)
    # planted ankles sit ANKLE_HEIGHT x stature above the floor; the head is about a stature minus 10 cm up
    lowest = placed[:, ANKLES, 1].min(axis=1)
    assert np.median(lowest) == pytest.approx(ANKLE_HEIGHT * stature, abs=0.01)
    # a rigid move: every distance and the height differences of the truth are kept
    assert np.allclose(placed[:, :, 1] - placed[:, :1, 1], world[:, :, 1] - world[:, :1, 1], atol=0.01)
    # the origin is under the first frame's pelvis; the walk goes along the floor
    assert np.allclose(placed[0, 0, [0, 2]], 0.0, atol=1e-9)
    travelled = placed[-1, 0, [0, 2]] - placed[0, 0, [0, 2]]
    assert np.linalg.norm(travelled) == pytest.approx(np.linalg.norm(world[-1, 0] - world[0, 0]), abs=0.05)
    assert frame.metadata["frame"] == "world" and "foot contacts" in frame.metadata["gravity"]
    assert frame.metadata["camera_height_m"] > 0


def test_weak_perspective_grounds_each_frame_and_keeps_the_motion_across_the_image():
    world = walking_clip(150)
    camera, keypoints, up = seen(world, azimuth=80.0, elevation=10.0, roll=0.0, perspective=False)
    # a weak-perspective lift is centred each frame; the image motion over the scale gives the motion across
    centred = camera - camera.mean(axis=1, keepdims=True)
    scale = 1000.0 / 5.0
    shift = (keypoints.mean(axis=1) - keypoints.mean(axis=(0, 1))) / scale
    frame = estimate_world(centred, BODY15.joints, perspective=False, image_shift=shift)
    assert angle(frame.up, up) < 1.5
    placed = frame.apply(centred)
    stature = clip_stature(camera, BODY15.joints)
    assert np.allclose(placed[:, ANKLES, 1].min(axis=1), ANKLE_HEIGHT * stature, atol=0.02)
    across = placed[-1, 0, 0] - placed[0, 0, 0]
    true_across = np.dot(camera[-1, 0] - camera[0, 0], frame.rotation[0])
    assert across == pytest.approx(true_across, abs=0.1)
    assert "depth motion is not recovered" in frame.metadata["trajectory"]


def test_the_plane_fit_pulls_towards_the_prior_only_where_the_contacts_do_not_spread():
    rng = np.random.default_rng(0)
    tilted = np.array([0.0, np.cos(0.2), np.sin(0.2)])
    e1 = np.cross(tilted, [1.0, 0.0, 0.0]) / np.linalg.norm(np.cross(tilted, [1.0, 0.0, 0.0]))
    e2 = np.cross(tilted, e1)
    spread = rng.uniform(-2, 2, (200, 2))
    contacts = spread[:, :1] * e1 + spread[:, 1:] * e2 + 0.3 * tilted
    up, level, inliers = fit_ground_plane(contacts, np.ones(200), np.array([0.0, 1.0, 0.0]))
    assert angle(up, tilted) < 0.1 and level == pytest.approx(0.3, abs=1e-3) and inliers.all()
    # two feet side by side (someone standing still): nothing says how the floor tilts across that line, so the
    # prior keeps it
    spots = np.repeat(np.array([[-0.1, 0.0, 0.0], [0.1, 0.0, 0.0]]) + 0.3 * tilted, 100, axis=0)
    up, _, _ = fit_ground_plane(spots, np.full(200, 0.1), np.array([0.0, 1.0, 0.0]))
    assert angle(up, [0.0, 1.0, 0.0]) < 0.5
    # a foot in the air does not lift the floor
    raised = contacts.copy()
    raised[:20] += 0.3 * tilted
    _, level, inliers = fit_ground_plane(raised, np.ones(200), tilted)
    assert level == pytest.approx(0.3, abs=1e-3) and not inliers[:20].any()


def test_to_world_on_a_lift_and_its_metadata():
    from lift2d3d import Lifter

    world = walking_clip(60)
    _, keypoints, up = seen(world, elevation=15.0, perspective=False)
    lifter = Lifter(height=1.7)
    result = lifter.lift(keypoints)
    placed = to_world(result, height=1.7, fps=30.0)
    assert placed.joints3d.shape == (60, 15, 3) and placed.ok.all()
    # standing on the floor: the lower ankle at the contact height (but in a frame or two whose lift bent a
    # leg the wrong way in depth), the head well above it
    lowest = placed.joints3d[:, ANKLES, 1].min(axis=1)
    assert np.mean(np.abs(lowest - ANKLE_HEIGHT * placed.frame.stature) < 0.03) >= 0.95
    assert (placed.joints3d[:, BODY15.index("head"), 1] > 1.2).all()
    assert angle(placed.frame.up, up) < 15.0
    assert placed.metadata["scale"].startswith("height=1.7 m given")
    unscaled = to_world(Lifter().lift(keypoints))
    assert "average proportions" in unscaled.metadata["scale"]


def test_bad_input_is_named():
    world = walking_clip(10)
    with pytest.raises(ValueError, match="both ankles"):
        estimate_world(world[:, :10], BODY15.joints[:10])
    with pytest.raises(ValueError, match="nothing to place"):
        estimate_world(np.full_like(world, np.nan), BODY15.joints)
    with pytest.raises(ValueError, match=r"shape \(N, 15, 3\)"):
        estimate_world(world[:, :, :2], BODY15.joints)
    with pytest.raises(ValueError, match="positive"):
        estimate_world(world, BODY15.joints, fps=0.0)
    with pytest.raises(ValueError, match="clip"):
        from types import SimpleNamespace

        to_world(SimpleNamespace(joints3d=world[0], ok=True, translation=np.zeros(3), scale=1.0,
                                 joint_names=BODY15.joints))


def test_frames_that_were_not_lifted_stay_missing():
    world = walking_clip(60)
    camera, _, up = seen(world)
    camera[10:15] = np.nan
    frame = estimate_world(camera, BODY15.joints, perspective=True)
    placed = frame.apply(camera)
    assert np.isnan(placed[10:15]).all() and np.isfinite(placed[:10]).all()
    assert angle(frame.up, up) < 1.0
    assert frame.metadata["frames_lifted"] == 55 and ANKLE_Y > 0


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_short_clips_under_weak_perspective(n):
    world = walking_clip(n)
    camera, _, up = seen(world, perspective=False)
    centred = camera - camera.mean(axis=1, keepdims=True)
    placed = estimate_world(centred, BODY15.joints, perspective=False).apply(centred)
    assert placed.shape == (n, 15, 3) and np.isfinite(placed).all()
