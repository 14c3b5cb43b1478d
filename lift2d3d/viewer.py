"""A self-contained HTML page that plays a lifted clip in 3D, turned with the mouse, beside its 2D keypoints.

:func:`viewer_html` writes one page: the clip's numbers (millimetres and
tenths of a pixel, as JSON) and a small script (``viewer.js`` beside this
module) that draws the skeletons on a canvas -- no library and nothing
fetched at run time, so the page opens offline and a 1,000-frame clip weighs
about 0.4 MB (plotly's bundle alone is 4.6 MB).  Controls: a time slider,
play/pause (space), the arrow keys to step, drag to turn the view, the wheel
to zoom.  Bones are coloured by side as in :mod:`lift2d3d.viz` (left blue,
right vermillion, the trunk grey); several people are drawn in lighter shades.
The page sets ``window.lift2d3dViewer`` (``ready``, ``frame``, ``draws``,
``setFrame``) and ``<body data-ready="1">`` once it has drawn, for tests.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

__all__ = ["viewer_html", "write_viewer", "skeleton_of"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lift2d3d {version}">
<title>{title}</title>
<style>
  body {{ font-family: sans-serif; margin: 0; background: #f2f2f2; color: #222; }}
  header {{ padding: 8px 12px; font-size: 14px; }}
  main {{ display: flex; gap: 8px; padding: 0 12px; height: calc(100vh - 120px); min-height: 320px; }}
  canvas {{ flex: 1; min-width: 0; height: 100%; background: #fff; border: 1px solid #ccc; touch-action: none; }}
  #view3d {{ cursor: grab; }}
  footer {{ display: flex; gap: 12px; align-items: center; padding: 8px 12px; font-size: 13px; }}
  #slider {{ flex: 1; }}
</style>
</head>
<body>
<header><b>{title}</b> &mdash; {subtitle}</header>
<main><canvas id="view3d" aria-label="3D skeleton: drag to turn, wheel to zoom"></canvas>{canvas2d}</main>
<footer><button id="play" type="button">&#9654; play</button>
<input id="slider" type="range" min="0" max="0" value="0" step="1" aria-label="frame">
<span id="label"></span></footer>
<script id="lift2d3d-data" type="application/json">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def skeleton_of(joint_names):
    """The registered skeleton whose joints are ``joint_names`` in this order (None if there is none)."""
    from .skeletons import SKELETONS

    names = tuple(joint_names)
    return next((s for s in SKELETONS.values() if s.joints == names), None)


def _edges(joint_names):
    from .skeletons import Skeleton

    skeleton = skeleton_of(joint_names)
    if skeleton is None:
        helper = Skeleton("unregistered", tuple(joint_names), ())
        return [], [], [helper.side(j) for j in joint_names]
    return ([list(e) for e in skeleton.edge_indices()], skeleton.edge_sides(),
            [skeleton.side(j) for j in skeleton.joints])


def _integers(values, scale):
    """Flat list of ``round(values * scale)`` with None for NaN (compact JSON)."""
    flat = np.asarray(values, dtype=np.float64).ravel() * scale
    good = np.isfinite(flat)
    out = np.where(good, np.round(np.where(good, flat, 0.0)), 0).astype(np.int64).tolist()
    return [v if g else None for v, g in zip(out, good.tolist())]


def viewer_html(joints3d, joint_names, frame="camera", fps=30.0, frames=None, keypoints=None, keypoint_names=None,
                status=None, title="lift2d3d clip", subtitle="") -> str:
    """The viewer page of a clip.

    Parameters
    ----------
    joints3d : (N, P, 3) or (N, K, P, 3) float, metres
        The clip's joints per frame (and person); NaN where missing.
    joint_names : sequence of str
        A registered skeleton's joints give the bones (body15, coco17, ...); others are drawn as points.
    frame : {"camera", "world"}
        The camera frame (x right, y down, z away) or the world frame (Y up, floor at 0).
    fps : float
        Playback rate.
    frames : (N,) optional
        Frame numbers shown in the label (default ``0 .. N-1``).
    keypoints : (N, Q, 2) or (N, K, Q, 2) float, pixels, optional
        The 2D keypoints, drawn beside the 3D.
    keypoint_names : sequence of str, optional
        Their joints (a registered skeleton's for the bones).
    status : (N,) str, optional
        Shown in the label.
    title, subtitle : str

    Returns
    -------
    str
        A complete HTML document.
    """
    from . import __version__

    joints3d = np.asarray(joints3d, dtype=np.float64)
    if joints3d.ndim == 3:
        joints3d = joints3d[:, None]
    names = list(joint_names)
    if joints3d.ndim != 4 or joints3d.shape[2:] != (len(names), 3):
        raise ValueError(f"expected joints of shape (N, {len(names)}, 3) or (N, people, {len(names)}, 3); got "
                         f"{np.shape(joints3d)}")
    if frame not in ("camera", "world"):
        raise ValueError(f"frame must be 'camera' or 'world'; got {frame!r}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}")
    n, k = joints3d.shape[:2]
    edges, sides, joint_sides = _edges(names)
    data = {"frame": frame, "fps": float(fps), "joints": names, "people": [str(i) for i in range(k)],
            "frames": [v.item() if hasattr(v, "item") else v for v in (range(n) if frames is None else frames)],
            "edges": edges, "sides": sides, "joint_sides": joint_sides, "xyz": _integers(joints3d, 1000.0)}
    if len(data["frames"]) != n:
        raise ValueError(f"{len(data['frames'])} frame numbers for {n} frames")
    if status is not None:
        data["status"] = [str(s) for s in status]
    canvas2d = ""
    if keypoints is not None:
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if keypoints.ndim == 3:
            keypoints = keypoints[:, None]
        qnames = list(keypoint_names) if keypoint_names is not None else [f"k{i}" for i in range(keypoints.shape[2])]
        if keypoints.shape[:2] != (n, k) or keypoints.shape[2:] != (len(qnames), 2):
            raise ValueError(f"expected 2D keypoints of shape ({n}, {k}, {len(qnames)}, 2) to match the 3D; got "
                             f"{keypoints.shape}")
        finite = keypoints[np.isfinite(keypoints).all(axis=-1)]
        box = ([float(v) for v in finite.min(axis=0)] + [float(v) for v in finite.max(axis=0)]
               if len(finite) else [0.0, 0.0, 1.0, 1.0])
        qedges, qsides, _ = _edges(qnames)
        data.update(keypoints=_integers(keypoints, 10.0), keypoint_names=qnames, keypoint_edges=qedges,
                    keypoint_sides=qsides, keypoint_box=box)
        canvas2d = '<canvas id="view2d" aria-label="2D keypoints"></canvas>'
    script = (Path(__file__).with_name("viewer.js")).read_text(encoding="utf-8")
    # "</" cannot appear inside a <script> element
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return _PAGE.format(version=__version__, title=html.escape(title), subtitle=html.escape(subtitle),
                        canvas2d=canvas2d, data=payload, script=script.replace("</", "<\\/"))


def write_viewer(path, *args, **kwargs) -> Path:
    """Write :func:`viewer_html` to ``path`` through a temporary file and a rename."""
    import os

    path = Path(path)
    text = viewer_html(*args, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
