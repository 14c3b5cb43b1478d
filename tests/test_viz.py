"""Tests of lift2d3d.viz: what is drawn where, in which colour, and the files written."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lift2d3d import viz  # noqa: E402
from lift2d3d.skeletons import BODY15  # noqa: E402

# A standing person facing the camera, 4 m away (camera frame: x right, y down, z away).
_POSE = {
    "pelvis": (0, 0, 0), "neck": (0, -0.5, 0), "head": (0, -0.72, 0.02),
    "left_shoulder": (0.18, -0.5, 0), "right_shoulder": (-0.18, -0.5, 0),
    "left_elbow": (0.3, -0.28, 0.05), "right_elbow": (-0.3, -0.3, -0.15),
    "left_wrist": (0.35, -0.05, -0.05), "right_wrist": (-0.25, -0.35, -0.4),
    "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0),
    "left_knee": (0.12, 0.43, -0.05), "right_knee": (-0.12, 0.4, -0.2),
    "left_ankle": (0.13, 0.85, 0.0), "right_ankle": (-0.14, 0.8, 0.05),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def pose3d(z=4.0):
    joints = np.array([_POSE[name] for name in BODY15.joints], dtype=float)
    joints[:, 2] += z
    return joints


def project(joints, focal=1000.0, centre=(320.0, 240.0)):
    return focal * joints[:, :2] / joints[:, 2:3] + np.asarray(centre)


def bone_lines(ax):
    """The 2-point lines (bones) of an axes, as (colour hex, (2, d) data)."""
    out = []
    for line in ax.get_lines():
        data = np.array(line.get_data_3d() if hasattr(line, "get_data_3d") else line.get_data()).T
        if line.get_linestyle() == "-" and len(data) == 2:
            out.append((mcolors.to_hex(line.get_color()), data))
    return out


def test_plot_2d_draws_every_bone_in_its_side_colour():
    keypoints = project(pose3d())
    ax = viz.plot_2d(keypoints, "body15")
    lines = bone_lines(ax)
    assert len(lines) == len(BODY15.edges)
    for (a, b), side in zip(BODY15.edge_indices(), BODY15.edge_sides()):
        matches = [colour for colour, data in lines if np.allclose(data, keypoints[[a, b]])]
        assert matches == [mcolors.to_hex(viz.SIDE_COLOURS[side])], (BODY15.joints[a], BODY15.joints[b])
    # Image convention: y grows downwards on the screen.
    assert ax.yaxis_inverted()


def test_plot_2d_skips_missing_and_low_score_joints():
    keypoints = project(pose3d())
    keypoints[BODY15.index("left_wrist")] = np.nan
    scores = np.ones(BODY15.n_joints)
    scores[BODY15.index("right_knee")] = 0.0
    ax = viz.plot_2d(keypoints, BODY15, scores=scores)
    # left_elbow-left_wrist is gone; right_hip-right_knee and right_knee-right_ankle too.
    assert len(bone_lines(ax)) == len(BODY15.edges) - 3
    drawn = np.concatenate([data for _, data in bone_lines(ax)])
    assert np.all(np.isfinite(drawn))


def test_plot_2d_over_image_keeps_image_extent():
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    ax = viz.plot_2d(project(pose3d()), "body15", image=image)
    assert len(ax.get_images()) == 1
    assert ax.get_xlim() == pytest.approx((-0.5, 639.5))


def test_plot_2d_rejects_wrong_shape_with_a_clear_message():
    with pytest.raises(ValueError, match=r"\(15, 2\).*got \(17, 2\)"):
        viz.plot_2d(np.zeros((17, 2)), "body15")
    with pytest.raises(ValueError, match="scores"):
        viz.plot_2d(np.zeros((15, 2)), "body15", scores=np.ones(14))


def screen_points(ax):
    """Screen coordinates of the drawn bones' end points (in edge order), through the axes' view."""
    from mpl_toolkits.mplot3d import proj3d
    ax.get_figure().canvas.draw()
    drawn = np.concatenate([data for _, data in bone_lines(ax)])  # (2 * n_edges, 3) plot coordinates
    xs, ys, _ = proj3d.proj_transform(*drawn.T, ax.get_proj())
    return np.stack([xs, ys], axis=1)


def edge_points(joints):
    return joints[np.array(BODY15.edge_indices()).reshape(-1)]


def test_camera_view_reproduces_the_weak_perspective_image():
    joints = pose3d()
    ax = viz.plot_3d(joints, "body15", view="camera")
    screen = screen_points(ax)
    joints = edge_points(joints)
    # The camera view must be the image up to one positive scale and a shift, with y flipped
    # (screen y is up, image y is down): screen = s * (x, -y) + t.
    design = np.column_stack([joints[:, 0], np.ones(len(joints))])
    coef_x, res_x, *_ = np.linalg.lstsq(design, screen[:, 0], rcond=None)
    design = np.column_stack([-joints[:, 1], np.ones(len(joints))])
    coef_y, res_y, *_ = np.linalg.lstsq(design, screen[:, 1], rcond=None)
    assert coef_x[0] > 0 and coef_y[0] > 0
    assert coef_x[0] == pytest.approx(coef_y[0], rel=1e-6)
    assert np.sqrt(res_x[0] / len(joints)) < 1e-9 * coef_x[0]
    assert np.sqrt(res_y[0] / len(joints)) < 1e-9 * coef_y[0]


def test_novel_view_shows_depth():
    joints = pose3d()
    flat = joints.copy()
    flat[:, 2] = 4.0
    # From the side (azim 0) the screen x axis is depth: the right wrist reaching 40 cm toward
    # the camera is far from the neck on the screen; in the flattened pose it is not.
    edges = BODY15.edges
    wrist = 2 * edges.index(("right_elbow", "right_wrist")) + 1
    neck = 2 * edges.index(("pelvis", "neck")) + 1
    limits = viz.pose_limits(joints)
    screen = screen_points(viz.plot_3d(joints, "body15", view=(0, 0), limits=limits))
    screen_flat = screen_points(viz.plot_3d(flat, "body15", view=(0, 0), limits=limits))
    assert abs(screen[wrist, 0] - screen[neck, 0]) > 5 * abs(screen_flat[wrist, 0] - screen_flat[neck, 0])


def test_plot_3d_equal_aspect_and_shared_limits():
    joints = pose3d()
    ax = viz.plot_3d(joints, "body15", view=(10, -30))
    spans = [np.diff(lim)[0] for lim in (ax.get_xlim(), ax.get_ylim(), ax.get_zlim())]
    assert spans == pytest.approx([spans[0]] * 3)
    centre, half = viz.pose_limits(np.stack([joints, joints + [2.0, 0, 0]]))
    ax = viz.plot_3d(joints, "body15", view="camera", limits=(centre, half))
    assert np.mean(ax.get_xlim()) == pytest.approx(centre[0])
    assert np.diff(ax.get_xlim())[0] == pytest.approx(2 * half)


def test_plot_3d_of_a_failed_frame_says_so():
    ax = viz.plot_3d(np.full((15, 3), np.nan), "body15")
    assert ax.get_title() == "no 3D pose"
    assert bone_lines(ax) == []


def test_plot_3d_needs_3d_axes_and_a_valid_view():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="projection='3d'"):
        viz.plot_3d(pose3d(), "body15", ax=ax)
    with pytest.raises(ValueError, match="elev, azim"):
        viz.plot_3d(pose3d(), "body15", view="side")


def test_plot_lift_has_three_panels():
    fig = viz.plot_lift(None, project(pose3d()), pose3d(), "body15", novel_view=(20, -40))
    assert len(fig.axes) == 3
    assert [ax.name for ax in fig.axes] == ["rectilinear", "3d", "3d"]
    assert fig.axes[2].get_title() == "3D, 50\u00b0 right of the camera, 20\u00b0 above"


@pytest.mark.parametrize("view, label", [
    ("camera", "camera view"), ((0, -90), "camera view"), ((0, 0), "90\u00b0 right of the camera"),
    ((0, 180), "90\u00b0 left of the camera"), ((0, 90), "from behind"), ((90, -90), "from above"),
    ((15, -20), "70\u00b0 right of the camera, 15\u00b0 above"), ((-10, -120), "30\u00b0 left of the camera, 10\u00b0 below")])  # noqa: E501
def test_view_labels_are_relative_to_the_camera(view, label):
    assert viz.view_label(view) == label


def _depth_order(view):
    """On the drawn axes: is a point on the camera's right (+x) nearer the viewer than one on its left?"""
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d import proj3d

    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    viz.plot_3d(pose3d(), "body15", view=view, ax=ax)
    fig.canvas.draw()
    points = {"right": (0.5, 0.0, 4.0), "left": (-0.5, 0.0, 4.0), "near": (0.0, 0.0, 3.5), "far": (0.0, 0.0, 4.5),
              "up": (0.0, -0.5, 4.0), "down": (0.0, 0.5, 4.0)}
    depth = {}
    for name, (x, y, z) in points.items():   # camera frame -> plot axes (x, z, -y)
        depth[name] = proj3d.proj_transform(x, z, -y, ax.get_proj())[2]
    plt.close(fig)
    return depth


def test_view_labels_match_what_the_axes_show():
    # which sign of the projected depth is "near" is read off the camera view itself
    camera = _depth_order("camera")
    nearer = (lambda a, b: a < b) if camera["near"] < camera["far"] else (lambda a, b: a > b)
    right = _depth_order((0, 0))
    assert viz.view_label((0, 0)).endswith("right of the camera") and nearer(right["right"], right["left"])
    left = _depth_order((0, 180))
    assert viz.view_label((0, 180)).endswith("left of the camera") and nearer(left["left"], left["right"])
    above = _depth_order((90, -90))
    assert viz.view_label((90, -90)) == "from above" and nearer(above["up"], above["down"])
    behind = _depth_order((0, 90))
    assert viz.view_label((0, 90)) == "from behind" and nearer(behind["far"], behind["near"])


def colour_pixels(frame, colour, tol=40):
    rgb = np.array(mcolors.to_rgb(colour)) * 255
    return int(np.sum(np.all(np.abs(frame.astype(float) - rgb) < tol, axis=-1)))


def test_render_lift_returns_rgb_frame_with_both_sides():
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    image[..., 1] = 255  # pure green appears nowhere else in the picture
    frame = viz.render_lift(image, project(pose3d()), pose3d(), "body15", height=200)
    assert frame.shape == (200, 600, 3) and frame.dtype == np.uint8
    assert colour_pixels(frame, viz.SIDE_COLOURS["left"]) > 100
    assert colour_pixels(frame, viz.SIDE_COLOURS["right"]) > 100
    # The image fills part of the first panel only.
    green = colour_pixels(frame, "#00ff00")
    assert green > 5000 and colour_pixels(frame[:, 200:], "#00ff00") == 0
    # Same size whatever the content: failed frames do not change the video size.
    empty = viz.render_lift(None, None, np.full((15, 3), np.nan), "body15", height=200)
    assert empty.shape == frame.shape
    assert colour_pixels(empty, viz.SIDE_COLOURS["left"]) == 0


def test_plot_lift_of_a_failed_frame_says_so():
    fig = viz.plot_lift(None, project(pose3d()), np.full((15, 3), np.nan), "body15")
    assert fig.axes[0].get_title() == "2D keypoints"
    assert all(ax.get_title().endswith("(no 3D pose)") for ax in fig.axes[1:])


def walking_sequence(n_frames=6):
    frames = []
    for t in range(n_frames):
        joints = pose3d()
        joints[:, 0] += 0.05 * t
        joints[BODY15.index("left_wrist"), 2] += 0.1 * np.sin(t)
        frames.append(joints)
    return np.stack(frames)


def test_animate_gif_has_every_frame(tmp_path):
    from PIL import Image
    sequence = walking_sequence()
    sequence[2] = np.nan  # a failed frame is drawn empty, not dropped
    path = viz.animate(sequence, "body15", tmp_path / "walk.gif", fps=5, height=120)
    with Image.open(path) as gif:
        assert gif.n_frames == len(sequence)
        assert gif.size == (240, 120)
        assert gif.info["duration"] == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.gif"]


def test_animate_mp4_with_keypoints(tmp_path):
    import cv2
    sequence = walking_sequence(4)
    keypoints = np.stack([project(joints) for joints in sequence])
    path = viz.animate(sequence, BODY15, tmp_path / "out" / "walk.mp4", fps=8, keypoints2d=keypoints, height=100)
    capture = cv2.VideoCapture(str(path))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
        assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 300
        ok, frame = capture.read()
        assert ok and frame.shape == (100, 300, 3)
    finally:
        capture.release()


def test_animate_rejects_bad_input_without_leaving_files(tmp_path):
    sequence = walking_sequence(3)
    with pytest.raises(ValueError, match=r"\.gif"):
        viz.animate(sequence, "body15", tmp_path / "walk.webm")
    with pytest.raises(ValueError, match=r"\(3, 15, 2\)"):
        viz.animate(sequence, "body15", tmp_path / "walk.gif", keypoints2d=np.zeros((2, 15, 2)))
    with pytest.raises(ValueError, match="n_frames, 15, 3"):
        viz.animate(sequence[0], "body15", tmp_path / "walk.gif")
    assert list(tmp_path.iterdir()) == []


def test_animate_failure_mid_sequence_leaves_no_partial_file(tmp_path, monkeypatch):
    calls = []

    def failing_render(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return np.zeros((100, 200, 3), dtype=np.uint8)

    monkeypatch.setattr(viz, "_render_3d_pair", failing_render)
    with pytest.raises(RuntimeError, match="disk full"):
        viz.animate(walking_sequence(3), "body15", tmp_path / "walk.gif")
    assert list(tmp_path.iterdir()) == []


def test_plot_convergence_plots_the_history():
    history = {"objective": np.linspace(10, 1, 30), "primal_residual": np.logspace(0, -6, 30),
               "dual_residual": np.logspace(-1, -5, 30)}
    ax_obj, ax_res = viz.plot_convergence(history, tolerances=(1e-4, 1e-4))
    (objective,) = ax_obj.get_lines()
    assert np.allclose(objective.get_ydata(), history["objective"])
    assert ax_res.get_yscale() == "log"
    ydata = [line.get_ydata() for line in ax_res.get_lines()[:2]]
    assert np.allclose(ydata[0], history["primal_residual"]) and np.allclose(ydata[1], history["dual_residual"])


def test_plot_convergence_accepts_objects_and_overlays():
    class History:
        objective = np.array([3.0, 2.0, 1.5])
        r_norm = np.array([1.0, 0.1, 0.0])  # an exact zero must not break the log axis

    axes = viz.plot_convergence(History(), label="rho=1")
    viz.plot_convergence({"objective": [4.0, 2.0]}, ax=axes, label="rho=10")
    assert len(axes[0].get_lines()) == 2
    assert np.all(axes[1].get_lines()[0].get_ydata() > 0)
    with pytest.raises(ValueError, match="objective, primal_residual, dual_residual"):
        viz.plot_convergence({"loss": [1.0]})


def test_plot_convergence_reads_the_solver_history_array():
    from types import SimpleNamespace
    history = np.column_stack([np.linspace(5, 1, 12), np.logspace(0, -5, 12), np.logspace(-1, -6, 12),
                               np.full(12, 2.0)])
    for given in (history, SimpleNamespace(history=history, objective=1.0)):
        ax_obj, ax_res = viz.plot_convergence(given)
        assert np.allclose(ax_obj.get_lines()[0].get_ydata(), history[:, 0])
        assert np.allclose(ax_res.get_lines()[1].get_ydata(), history[:, 2])
    with pytest.raises(ValueError, match=r"\(n_iterations, 3 or 4\)"):
        viz.plot_convergence(np.zeros((5, 2)))


def test_plot_convergence_suboptimality_and_run_colours():
    history = {"objective": np.array([3.0, 2.0, 1.5, 1.0]), "primal_residual": np.array([1.0, 0.1, 0.01, 0.001]),
               "dual_residual": np.array([0.5, 0.05, 0.005, 0.0005])}
    ax_obj, ax_res = viz.plot_convergence(history, optimum=1.0, label="run")
    assert ax_obj.get_yscale() == "log"
    gap = ax_obj.get_lines()[0].get_ydata()
    assert np.allclose(gap[:3], [2.0, 1.0, 0.5]) and 0 < gap[3] <= 1e-15
    objective, primal, dual = ax_obj.get_lines()[0], *ax_res.get_lines()[:2]
    assert objective.get_color() == primal.get_color() == dual.get_color()
