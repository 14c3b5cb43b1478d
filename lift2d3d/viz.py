"""Pictures of poses: 2D overlays, 3D skeletons from the camera and novel views, animations.

Everything draws with matplotlib; videos are written with OpenCV (MP4) or
Pillow (GIF).  Bones come from the skeleton registry and are coloured by
side (``Skeleton.edge_sides``): left in blue, right in red, the trunk in grey,
so that a left/right swap -- the classic failure of lifting -- is visible.

Conventions
-----------
Keypoints are in pixels, x right and y down (image convention).  3D joints
are in metres in the camera frame, x right, y down, z away from the camera.
3D axes plot the point ``(x, y, z)`` at matplotlib coordinates
``(x, z, -y)`` so that "up" on the screen is up in the image; the camera's
own view is then ``view=(0, -90)`` with an orthographic projection, which
reproduces the 2D picture (up to scale and translation, exactly so under
weak perspective).  A novel view ``(elev, azim)`` is in degrees in
matplotlib's convention on those axes: ``(0, 0)`` looks from the camera's
right side, ``(90, -90)`` from above.  Titles name views relative to the
camera instead (:func:`view_label`): ``(15, -20)`` is "70° right of the camera,
15° above", ``(0, 0)`` "90° right of the camera", ``(0, -90)`` "camera view".

Functions that make a whole figure use :mod:`matplotlib.pyplot` (so they show
inline in notebooks) except :func:`render_lift` and :func:`animate`, which
draw off-screen on their own canvas so that a loop over thousands of frames
neither opens windows nor leaks figures.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .skeletons import get_skeleton

__all__ = [
    "SIDE_COLOURS", "CAMERA_VIEW", "DEFAULT_NOVEL_VIEW",
    "plot_2d", "plot_3d", "plot_lift", "render_lift", "animate", "plot_convergence", "view_label",
]

#: Bone/joint colour per side (colour-blind safe blue/vermillion pair, grey trunk).
SIDE_COLOURS = {"left": "#0072B2", "right": "#D55E00", "centre": "#555555"}
#: ``(elev, azim)`` of the camera's own view on the plotting axes.
CAMERA_VIEW = (0.0, -90.0)
#: A three-quarter view from the camera's right and above: depth errors show as tilts.
DEFAULT_NOVEL_VIEW = (15.0, -20.0)


# --------------------------------------------------------------------------- validation

def _as_points(points, skeleton, dim: int, name: str) -> np.ndarray:
    """One pose as a float (n_joints, dim) array, with a message naming what arrived."""
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape != (skeleton.n_joints, dim):
        raise ValueError(f"Expected {name} of shape ({skeleton.n_joints}, {dim}) for skeleton "
                         f"{skeleton.name!r} ({skeleton.n_joints} joints); got {array.shape}. "
                         "Pass one frame at a time (index a batch with [i]).")
    return array


def _visible(points: np.ndarray, scores, threshold: float) -> np.ndarray:
    """Mask of joints to draw: finite, and with a score above ``threshold`` when scores are given."""
    mask = np.all(np.isfinite(points), axis=1)
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != points.shape[0]:
            raise ValueError(f"Expected scores of shape ({points.shape[0]},); got {scores.shape}")
        mask &= np.nan_to_num(scores, nan=0.0) > threshold
    return mask


def _camera_to_plot(joints3d: np.ndarray) -> np.ndarray:
    # Camera frame (x right, y down, z away) -> plot frame (x right, z depth, -y up).
    return np.stack([joints3d[:, 0], joints3d[:, 2], -joints3d[:, 1]], axis=1)


def pose_limits(joints3d, margin: float = 0.1):
    """Centre and half-width of a cube holding all finite joints.

    Parameters
    ----------
    joints3d : (..., n_joints, 3) float, metres (camera frame)
        One pose or a sequence; NaN joints are ignored.
    margin : float
        Fraction of the half-width added around the poses.

    Returns
    -------
    centre : (3,) float, metres, camera frame
    half_width : float, metres
    """
    points = np.asarray(joints3d, dtype=np.float64).reshape(-1, 3)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        return np.zeros(3), 1.0
    low, high = points.min(axis=0), points.max(axis=0)
    half = max(float(np.max(high - low)) / 2.0, 0.05) * (1.0 + margin)
    return (low + high) / 2.0, half


def _style(style, markersize):
    """``(linewidth, markersize, alpha)`` of a drawing's ``**style`` keywords (a TypeError names any other)."""
    unknown = sorted(set(style) - {"linewidth", "markersize", "alpha"})
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}; the style keywords are linewidth, "
                        "markersize and alpha")
    return (float(style.get("linewidth", 2.5)), float(style.get("markersize", markersize)),
            float(style.get("alpha", 1.0)))


# --------------------------------------------------------------------------- 2D

def plot_2d(keypoints2d, skeleton="body15", image=None, ax=None, scores=None, score_threshold=0.0,
            color=None, legend=False, **style):
    """Draw a 2D skeleton, optionally over an image.

    Parameters
    ----------
    keypoints2d : (n_joints, 2) float, pixels (x right, y down)
        One pose in the skeleton's joint order.  NaN joints are not drawn.
    skeleton : Skeleton or str
        The joint set (bones and sides come from it).
    image : (H, W, 3) uint8 RGB or (H, W) array, optional
        Background picture; without it the y axis is flipped to image convention.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    scores : (n_joints,) float, optional
        Confidences; joints at or below ``score_threshold`` are treated as missing
        and bones touching them are not drawn.
    color : str, optional
        One colour for everything (for overlays) instead of the side colours.
    legend : bool
        Add a left/right legend.
    **style
        ``linewidth`` (default 2.5), ``markersize`` (4.0), ``alpha`` (1.0).

    Returns
    -------
    ax : matplotlib Axes
    """
    linewidth, markersize, alpha = _style(style, markersize=4.0)
    skeleton = get_skeleton(skeleton)
    points = _as_points(keypoints2d, skeleton, 2, "keypoints2d")
    visible = _visible(points, scores, score_threshold)
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(4, 4))
    if image is not None:
        image = np.asarray(image)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    for (a, b), side in zip(skeleton.edge_indices(), skeleton.edge_sides()):
        if visible[a] and visible[b]:
            ax.plot(points[[a, b], 0], points[[a, b], 1], "-", color=color or SIDE_COLOURS[side],
                    linewidth=linewidth, alpha=alpha, solid_capstyle="round")
    for side in ("centre", "left", "right"):
        idx = [i for i, joint in enumerate(skeleton.joints) if visible[i] and skeleton.side(joint) == side]
        ax.plot(points[idx, 0], points[idx, 1], "o", color=color or SIDE_COLOURS[side],
                markersize=markersize, markeredgecolor="white", markeredgewidth=0.6, alpha=alpha)
    ax.set_aspect("equal")
    if image is None:
        if visible.any():
            low, high = points[visible].min(axis=0), points[visible].max(axis=0)
            pad = 0.1 * max(float(np.max(high - low)), 1.0)
            ax.set_xlim(low[0] - pad, high[0] + pad)
            ax.set_ylim(high[1] + pad, low[1] - pad)  # y down, as in the image
        elif not ax.yaxis_inverted():
            ax.invert_yaxis()
    if legend:
        _side_legend(ax)
    return ax


def _side_legend(ax):
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=SIDE_COLOURS[s], linewidth=2.5, label=s) for s in ("left", "right")]
    ax.legend(handles=handles, loc="best", fontsize=7, framealpha=0.8)


# --------------------------------------------------------------------------- 3D

def _resolve_view(view):
    if isinstance(view, str):
        if view == "camera":
            return CAMERA_VIEW, True
        raise ValueError(f"view must be 'camera' or (elev, azim) in degrees; got {view!r}")
    try:
        elev, azim = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"view must be 'camera' or (elev, azim) in degrees; got {view!r}") from None
    return (elev, azim), False


def view_label(view) -> str:
    """Where a view looks from, relative to the camera, in words.

    Parameters
    ----------
    view : "camera" or (elev, azim) degrees (matplotlib's, see the module notes)

    Returns
    -------
    str
        ``"camera view"``, ``"from above"``, ``"from behind"``, or e.g.
        ``"70° right of the camera, 15° above"``: the viewer stands that far
        round the person from the camera (to the camera's right = towards
        the image's +x), and that far above the camera's height.
    """
    (elev, azim), _ = _resolve_view(view)
    # degrees round the vertical axis from the camera's own position, + towards the camera's right
    around = (azim - CAMERA_VIEW[1] + 180.0) % 360.0 - 180.0
    if abs(elev) >= 89.5:
        return "from above" if elev > 0 else "from below"
    parts = []
    if abs(abs(around) - 180.0) < 0.5:
        parts.append("from behind")
    elif abs(around) >= 0.5:
        parts.append(f"{abs(around):g}\u00b0 {'right' if around > 0 else 'left'} of the camera")
    if abs(elev) >= 0.5:
        parts.append(f"{abs(elev):g}\u00b0 {'above' if elev > 0 else 'below'}")
    return ", ".join(parts) if parts else "camera view"


def plot_3d(joints3d, skeleton="body15", view="camera", ax=None, limits=None, color=None, axis_labels=True,
            title=None, **style):
    """Draw a 3D skeleton from the camera's view or a novel view.

    Parameters
    ----------
    joints3d : (n_joints, 3) float, metres, camera frame (x right, y down, z away)
        One pose; NaN joints are not drawn.
    skeleton : Skeleton or str
    view : "camera" or (elev, azim) degrees
        ``"camera"`` is an orthographic view along the optical axis, matching the
        image; ``(elev, azim)`` is a perspective novel view (see module notes).
    ax : 3D Axes, optional
        Axes made with ``projection="3d"``; a new figure is made when omitted.
    limits : (centre (3,), half_width) or None
        Cube to show, in metres, camera frame (e.g. :func:`pose_limits` over a whole
        sequence, so an animation does not jump); the pose's own cube by default.
        The axes always have equal aspect, so bone lengths read true.
    color : str, optional
        One colour for everything (for overlaying several poses).
    axis_labels : bool
        Label the axes with camera coordinates (x, z depth, -y up).
    title : str, optional
    **style
        ``linewidth`` (default 2.5), ``markersize`` (3.5), ``alpha`` (1.0).

    Returns
    -------
    ax : 3D Axes
    """
    linewidth, markersize, alpha = _style(style, markersize=3.5)
    skeleton = get_skeleton(skeleton)
    points = _as_points(joints3d, skeleton, 3, "joints3d")
    (elev, azim), is_camera = _resolve_view(view)
    if ax is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(4, 4))
        ax = fig.add_subplot(projection="3d")
    if getattr(ax, "name", "") != "3d":
        raise ValueError("plot_3d needs 3D axes: make them with fig.add_subplot(projection='3d')")
    visible = _visible(points, None, 0.0)
    plot = _camera_to_plot(points)
    for (a, b), side in zip(skeleton.edge_indices(), skeleton.edge_sides()):
        if visible[a] and visible[b]:
            ax.plot(plot[[a, b], 0], plot[[a, b], 1], plot[[a, b], 2], "-", color=color or SIDE_COLOURS[side],
                    linewidth=linewidth, alpha=alpha, solid_capstyle="round")
    for side in ("centre", "left", "right"):
        idx = [i for i, joint in enumerate(skeleton.joints) if visible[i] and skeleton.side(joint) == side]
        if idx:
            ax.plot(plot[idx, 0], plot[idx, 1], plot[idx, 2], "o", color=color or SIDE_COLOURS[side],
                    markersize=markersize, alpha=alpha)
    if not visible.any() and title is None:
        title = "no 3D pose"
    centre, half = limits if limits is not None else pose_limits(points)
    centre = _camera_to_plot(np.asarray(centre, dtype=np.float64).reshape(1, 3))[0]
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    # matplotlib leaves wide margins around 3D axes; the zoom gives the skeleton the panel (more in
    # the orthographic camera view, where the cube's depth edges take no room).
    ax.set_box_aspect((1, 1, 1), zoom=1.25 if is_camera else 1.05)
    # The camera view is orthographic so that it reproduces the weak-perspective image.
    ax.set_proj_type("ortho" if is_camera else "persp")
    ax.view_init(elev=elev, azim=azim)
    ax.locator_params(nbins=4)
    ax.tick_params(labelsize=6, pad=-2)
    for pane in (ax.xaxis.pane, ax.yaxis.pane, ax.zaxis.pane):
        pane.set_facecolor((0.96, 0.96, 0.96, 1.0))
    if axis_labels:
        ax.set_xlabel("x (m)", fontsize=7, labelpad=-6)
        ax.set_ylabel("" if is_camera else "z depth (m)", fontsize=7, labelpad=-6)
        ax.set_zlabel("-y up (m)", fontsize=7, labelpad=-6)
    if is_camera:
        ax.set_yticklabels([])  # depth is edge-on in the camera view
    if title is not None:
        ax.set_title(title, fontsize=9)
    return ax


# --------------------------------------------------------------------------- side by side

def _draw_lift(fig, image, keypoints2d, joints3d, skeleton, novel_view, scores, score_threshold,
               limits, titles):
    skeleton = get_skeleton(skeleton)
    ax2d = fig.add_subplot(1, 3, 1)
    ax_cam = fig.add_subplot(1, 3, 2, projection="3d")
    ax_novel = fig.add_subplot(1, 3, 3, projection="3d")
    if keypoints2d is None:
        ax2d.text(0.5, 0.5, "no 2D keypoints", ha="center", va="center", transform=ax2d.transAxes)
        if image is not None:
            image = np.asarray(image)
            ax2d.imshow(image, cmap="gray" if image.ndim == 2 else None)
    else:
        plot_2d(keypoints2d, skeleton, image=image, ax=ax2d, scores=scores, score_threshold=score_threshold,
                legend=True)
    if image is None:
        ax2d.grid(alpha=0.3)
    else:
        ax2d.set_xticks([])
        ax2d.set_yticks([])
    joints3d = _as_points(joints3d, skeleton, 3, "joints3d")
    limits = limits if limits is not None else pose_limits(joints3d)
    plot_3d(joints3d, skeleton, view="camera", ax=ax_cam, limits=limits)
    plot_3d(joints3d, skeleton, view=novel_view, ax=ax_novel, limits=limits)
    if not np.isfinite(joints3d).all(axis=1).any():
        titles = (titles[0],) + tuple(f"{t} (no 3D pose)" for t in titles[1:])  # a failed lift, said
    for ax, title in zip((ax2d, ax_cam, ax_novel), titles):
        ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.03, right=0.97, bottom=0.05, top=0.9, wspace=0.12)
    return fig


def _default_titles(novel_view):
    return ("2D keypoints", "3D, camera view", f"3D, {view_label(novel_view)}")


def plot_lift(image, keypoints2d, joints3d, skeleton="body15", novel_view=DEFAULT_NOVEL_VIEW, scores=None,
              score_threshold=0.0, limits=None, titles=None, figsize=(12, 4)):
    """The lecture picture: 2D keypoints | 3D from the camera | 3D from a novel view.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB or None
        Picture under the keypoints (None: keypoints on a plain grid).
    keypoints2d : (n_joints, 2) float, pixels, or None
    joints3d : (n_joints, 3) float, metres, camera frame
        The lifted pose (NaN joints, e.g. of a failed frame, are not drawn).
    skeleton : Skeleton or str
    novel_view : (elev, azim) degrees
        Viewpoint of the third panel (see module notes).
    scores : (n_joints,) float, optional
        Keypoint confidences; joints at or below ``score_threshold`` are hidden in 2D.
    limits : (centre (3,), half_width), optional
        Fixed 3D cube (metres), see :func:`plot_3d`.
    titles : three str, optional
    figsize : (width, height) inches

    Returns
    -------
    fig : matplotlib Figure
        A pyplot figure (shown inline in notebooks); close it with
        ``plt.close(fig)`` in loops, or use :func:`render_lift` there.
    """
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=figsize)
    return _draw_lift(fig, image, keypoints2d, joints3d, skeleton, novel_view, scores, score_threshold,
                      limits, titles or _default_titles(novel_view))


def _frame_geometry(n_panels, height):
    """Figure size (inches) and dpi for a frame ``height`` pixels high.

    Below 300 px the figure keeps the 300-px layout and is drawn at a lower resolution, so
    small frames shrink instead of crowding titles and labels into each other.
    """
    inches = max(height, 300) / 100.0
    return (n_panels * inches, inches), height / inches


def _figure_to_rgb(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.array(fig.canvas.buffer_rgba())[..., :3]


def _offscreen_figure(figsize, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def render_lift(image, keypoints2d, joints3d, skeleton="body15", novel_view=DEFAULT_NOVEL_VIEW, scores=None,
                score_threshold=0.0, limits=None, titles=None, height=360):
    """:func:`plot_lift` rendered off-screen to an RGB array, for video frames.

    Parameters are those of :func:`plot_lift`, plus

    height : int
        Output height in pixels; the width is three times the height, so every
        frame of a video has the same size.

    Returns
    -------
    frame : (height, 3 * height, 3) uint8, RGB
    """
    height = int(height)
    if height < 64:
        raise ValueError(f"height must be at least 64 pixels; got {height}")
    fig = _offscreen_figure(*_frame_geometry(3, height))
    _draw_lift(fig, image, keypoints2d, joints3d, skeleton, novel_view, scores, score_threshold, limits,
               titles or _default_titles(novel_view))
    return _figure_to_rgb(fig)


# --------------------------------------------------------------------------- animation

def _render_3d_pair(joints3d, skeleton, novel_view, limits, height, label):
    fig = _offscreen_figure(*_frame_geometry(2, height))
    ax_cam = fig.add_subplot(1, 2, 1, projection="3d")
    ax_novel = fig.add_subplot(1, 2, 2, projection="3d")
    plot_3d(joints3d, skeleton, "camera", ax=ax_cam, limits=limits, title="camera view")
    plot_3d(joints3d, skeleton, novel_view, ax=ax_novel, limits=limits, title=view_label(novel_view))
    if label:
        fig.text(0.5, 0.02, label, ha="center", fontsize=9, color="#333333")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.06, top=0.9, wspace=0.05)
    return _figure_to_rgb(fig)


def animate(joints3d, skeleton, path, fps=10.0, keypoints2d=None, images=None, scores=None,
            novel_view=DEFAULT_NOVEL_VIEW, height=300, labels=None):
    """Write an animation of a pose sequence to a GIF or MP4 file.

    Each frame shows the 3D pose from the camera and from ``novel_view``; with
    ``keypoints2d`` (and optionally ``images``) it is the three-panel picture of
    :func:`render_lift`.  The 3D cube has one size over the whole sequence, so the
    motion is not hidden by rescaling, and its centre follows the body's centroid,
    so a walking person stays in view.  Frames whose pose is NaN (failed lifts)
    are drawn empty, titled "no 3D pose", rather than dropped, so time stays true.

    Parameters
    ----------
    joints3d : (n_frames, n_joints, 3) float, metres, camera frame
    skeleton : Skeleton or str
    path : str or Path
        Output file; ``.gif`` is written with Pillow, ``.mp4``/``.avi`` with OpenCV.
        The file appears only when complete (written to a temporary file, then renamed).
    fps : float
        Frames per second.
    keypoints2d : (n_frames, n_joints, 2) float, pixels, optional
    images : sequence of (H, W, 3) uint8 RGB, optional
        One picture per frame (needs ``keypoints2d``).
    scores : (n_frames, n_joints) float, optional
    novel_view : (elev, azim) degrees
    height : int
        Frame height in pixels.
    labels : sequence of str, optional
        A caption per frame (default ``"frame i"``).

    Returns
    -------
    path : Path
        The written file.
    """
    skeleton = get_skeleton(skeleton)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4", ".avi"):
        raise ValueError(f"{path}: unknown animation format {suffix!r}; use .gif (Pillow) or .mp4/.avi (OpenCV)")
    sequence = np.asarray(joints3d, dtype=np.float64)
    if sequence.ndim != 3 or sequence.shape[1:] != (skeleton.n_joints, 3) or len(sequence) == 0:
        raise ValueError(f"Expected joints3d of shape (n_frames, {skeleton.n_joints}, 3) with n_frames >= 1; "
                         f"got {sequence.shape}")
    n_frames = len(sequence)
    if keypoints2d is not None:
        keypoints2d = np.asarray(keypoints2d, dtype=np.float64)
        if keypoints2d.shape != (n_frames, skeleton.n_joints, 2):
            raise ValueError(f"Expected keypoints2d of shape ({n_frames}, {skeleton.n_joints}, 2) to match "
                             f"joints3d; got {keypoints2d.shape}")
    elif images is not None:
        raise ValueError("images need keypoints2d (the 2D panel draws them over the pictures)")
    if images is not None and len(images) != n_frames:
        raise ValueError(f"Expected {n_frames} images (one per frame); got {len(images)}")
    if labels is not None and len(labels) != n_frames:
        raise ValueError(f"Expected {n_frames} labels (one per frame); got {len(labels)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive; got {fps}")
    half_width = max(pose_limits(pose)[1] for pose in sequence)

    def frames():
        for i in range(n_frames):
            limits = (pose_limits(sequence[i])[0], half_width)
            label = labels[i] if labels is not None else f"frame {i}"
            if keypoints2d is None:
                yield _render_3d_pair(sequence[i], skeleton, novel_view, limits, height, label)
            else:
                titles = (f"2D keypoints ({label})",) + _default_titles(novel_view)[1:]
                yield render_lift(None if images is None else images[i], keypoints2d[i], sequence[i], skeleton,
                                  novel_view=novel_view, limits=limits, height=height, titles=titles,
                                  scores=None if scores is None else scores[i])

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=path.stem + ".", suffix=".part" + suffix, dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if suffix == ".gif":
            _write_gif(frames(), tmp, fps)
        else:
            _write_video(frames(), tmp, fps, suffix)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_gif(frames, path: Path, fps: float):
    from PIL import Image
    images = [Image.fromarray(frame) for frame in frames]
    # Pillow stores frame durations in milliseconds; loop=0 repeats forever.
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000.0 / fps)), loop=0, optimize=True)


def _write_video(frames, path: Path, fps: float, suffix: str):
    import cv2
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if suffix == ".mp4" else "MJPG"))
    writer = None
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), fourcc, float(fps), (width, height))
                if not writer.isOpened():
                    raise RuntimeError(f"{path}: OpenCV could not open a {suffix} writer (codec "
                                       "missing?); write a .gif instead")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()


# --------------------------------------------------------------------------- convergence

_HISTORY_KEYS = {
    "objective": ("objective", "objectives", "fun", "f"),
    "primal": ("primal_residual", "primal_residuals", "primal", "r_norm", "r"),
    "dual": ("dual_residual", "dual_residuals", "dual", "s_norm", "s"),
}


def _history_series(history, role):
    for key in _HISTORY_KEYS[role]:
        if isinstance(history, Mapping):
            if key in history:
                return np.asarray(history[key], dtype=np.float64).reshape(-1)
        elif hasattr(history, key):
            return np.asarray(getattr(history, key), dtype=np.float64).reshape(-1)
    return None


def plot_convergence(history, ax=None, label=None, tolerances=None, optimum=None):
    """Objective and residuals per ADMM iteration.

    Parameters
    ----------
    history : (n_iterations, 3 or 4) array, solver result, mapping or object
        The ``history`` of :func:`lift2d3d.solvers.solve_convex` (columns objective,
        primal residual, dual residual, penalty), or that result itself; or
        per-iteration arrays named ``objective``, ``primal_residual``,
        ``dual_residual`` (any may be missing; the ``r_norm``/``s_norm`` names of
        Boyd et al. work too) in a mapping, an object or a structured array.
    ax : two Axes, optional
        Axes for the objective and for the residuals; a new 1x2 figure is made when
        omitted.  Passing the same axes again overlays several runs (one colour per run,
        primal residual solid, dual residual dashed).
    label : str, optional
        Legend label of this run (e.g. the value of ``rho``).
    tolerances : (primal, dual), optional
        Stopping tolerances, drawn as dotted lines.
    optimum : float, optional
        The optimal value (e.g. from the CVXPY reference); the left panel then shows the
        suboptimality ``objective - optimum`` on a log axis, which shows the rate.

    Returns
    -------
    axes : (Axes, Axes)
    """
    if isinstance(getattr(history, "history", None), np.ndarray):
        history = history.history  # a solver result (lift2d3d.solvers.ConvexSolution)
    if isinstance(history, np.ndarray) and history.dtype.names:
        history = {name: history[name] for name in history.dtype.names}
    elif isinstance(history, np.ndarray):
        if history.ndim != 2 or history.shape[1] < 3:
            raise ValueError(f"Expected a history array of shape (n_iterations, 3 or 4) with columns objective, "
                             f"primal residual, dual residual[, penalty]; got {history.shape}")
        history = dict(zip(("objective", "primal_residual", "dual_residual"), history.T))
    series = {role: _history_series(history, role) for role in _HISTORY_KEYS}
    if all(v is None for v in series.values()):
        raise ValueError("history has none of objective, primal_residual, dual_residual; pass the solver's "
                         "per-iteration history (a mapping or object with those arrays)")
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_obj, ax_res = ax
    prefix = f"{label}: " if label else ""
    colour = None
    if series["objective"] is not None:
        objective = series["objective"]
        iterations = np.arange(1, len(objective) + 1)
        if optimum is None:
            (line,) = ax_obj.plot(iterations, objective, "-", label=label)
            ax_obj.set_title("objective", fontsize=10)
        else:
            # A solver may end a hair below a reference optimum; the log axis needs positives.
            gap = np.maximum(objective - float(optimum), 1e-16)
            (line,) = ax_obj.semilogy(iterations, gap, "-", label=label)
            ax_obj.set_title("objective - optimum", fontsize=10)
        colour = line.get_color()
        if label:
            ax_obj.legend(fontsize=8)
    ax_obj.set_xlabel("ADMM iteration")
    ax_obj.grid(alpha=0.3)
    for role, style, name in (("primal", "-", "primal residual"), ("dual", "--", "dual residual")):
        values = series[role]
        if values is not None:
            # Residuals can reach exactly 0; a log axis needs them positive.
            (line,) = ax_res.semilogy(np.arange(1, len(values) + 1), np.maximum(values, 1e-16), style,
                                      color=colour, label=prefix + name)
            colour = line.get_color()
    if tolerances is not None:
        for value, style in zip(tolerances, (":", "-.")):
            ax_res.axhline(value, color="grey", linestyle=style, linewidth=1)
    ax_res.set_title("residuals", fontsize=10)
    ax_res.set_xlabel("ADMM iteration")
    ax_res.grid(alpha=0.3, which="both")
    if series["primal"] is not None or series["dual"] is not None:
        ax_res.legend(fontsize=8)
    return ax_obj, ax_res
