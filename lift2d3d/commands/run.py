"""``lift2d3d run IMAGE|VIDEO -o lifted.csv [--overlay out.png|out.mp4]``: detect, lift, draw."""

from __future__ import annotations

import argparse
import sys

from ._options import add_lifter_arguments, check_workers, lifter_from_args

NAME = "run"
HELP = ("Detect 2D keypoints (BlazePose, ONNX) in an image or video, lift them to 3D, and optionally "
        "draw the 2D skeleton beside the 3D one from the camera and from a novel view.")

EPILOG = """\
Output: the lifted table (CSV, JSON or NPZ by extension) with source, frame, detect_status, then
<joint>_x/_y/_z (metres, camera frame) for the bases' joints, status, reprojection_error,
iterations, message. --overlay writes a PNG/JPEG for an image (or the first frame with a pose of a
video) or an MP4 with one picture per frame for a video. For a folder, a PNG/JPEG overlay is one
picture per file: --overlay out/x.png writes out/x_<file stem>.png for each image (and video).
Exit codes: 0 done; 1 no pose could be lifted; 2 unusable input or options / models missing.

example:  lift2d3d run photo.jpg -o lifted.csv --overlay lifted.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", help="image or video (or a folder of them)")
    parser.add_argument("-o", "--output", required=True, help="lifted output .csv, .json or .npz")
    parser.add_argument("--overlay", metavar="PATH",
                        help="picture: .png/.jpg (image; for a folder one per file, PATH_<stem>.png) or .mp4 (video)")
    parser.add_argument("--keypoints", metavar="PATH", help="also write the 2D keypoint CSV here")
    parser.add_argument("--sequence", action="store_true",
                        help="lift each person's frames of a video together with shared bone proportions "
                             "(Lifter.lift_sequence)")
    add_lifter_arguments(parser)
    parser.add_argument("--smooth", action="store_true",
                        help="videos: smooth the 2D landmarks over time (MediaPipe's one-euro filter)")
    parser.add_argument("--threads", type=int, help="detector inference threads (default: all cores)")
    parser.add_argument("--max-people", type=int, default=1, help="poses per frame (default: %(default)s)")
    parser.add_argument("--min-detection-confidence", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--min-tracking-confidence", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")


def _error(message: str, code: int = 2) -> int:
    print(f"lift2d3d run: error: {message}", file=sys.stderr)
    return code


def overlay_paths(overlay, sources) -> dict:
    """One picture per input file: ``out/x.png`` -> ``{"a.jpg": out/x_a.png, ...}``.

    Files whose stems clash (``a.jpg`` and ``a.png``) keep their extension in
    the name (``x_a_jpg.png``), so no picture overwrites another.
    """
    from pathlib import Path

    overlay = Path(overlay)
    sources = list(dict.fromkeys(str(s) for s in sources))
    stems = [Path(s).stem for s in sources]
    paths = {}
    for source, stem in zip(sources, stems):
        tag = stem if stems.count(stem) == 1 else Path(source).name.replace(".", "_")
        paths[source] = overlay.with_name(f"{overlay.stem}_{tag}{overlay.suffix}")
    return paths


def _lift(table, lifter, sequence: bool, fps: dict):
    """Lift the detected keypoints; with ``sequence``, each video at its own frame rate (the detector's
    confidences weigh the joints)."""
    import numpy as np
    import pandas as pd

    from ..pipeline import lift_table

    if not sequence:
        return lift_table(table, lifter, format="coco17")
    sources = table["source"].astype(str).to_numpy()
    parts, order = [], []
    for source in dict.fromkeys(sources):
        rows = np.flatnonzero(sources == source)
        parts.append(lift_table(table.iloc[rows], lifter, format="coco17", sequence=True,
                                fps=fps.get(source) or 30.0))
        order.append(rows)
    lifted = pd.concat(parts, ignore_index=True)
    return lifted.iloc[np.argsort(np.concatenate(order), kind="stable")].reset_index(drop=True)


def run(args) -> int:
    from pathlib import Path

    from .. import status
    from ..bases import BasesFileError
    from ..detect import ModelError, detect_keypoints
    from ..io import CLIP_SUFFIXES, atomic_path, check_suffix, write_lifted
    from .detect import detector_from_args

    from ..pipeline import check_not_an_input, normal_output

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    # a/../../x is ../x: making an output's folder never leaves a stray a/
    args.output = str(normal_output(args.output))
    args.keypoints = str(normal_output(args.keypoints)) if args.keypoints else None
    overlay = normal_output(args.overlay) if args.overlay else None
    try:
        if check_suffix(args.output) in CLIP_SUFFIXES:
            raise ValueError(f"{args.output}: run writes the lifted table (.csv, .json or .npz); for a BVH or TRC, "
                             "keep the keypoints (run ... --keypoints kp.csv -o lifted.csv), then lift2d3d lift "
                             "kp.csv --sequence --fps F -o clip.bvh")
        for written in (args.output, args.keypoints, overlay):
            if written is not None:
                check_not_an_input(written, [args.input])
    except ValueError as exc:
        return _error(str(exc))
    if overlay is not None and overlay.suffix.lower() not in (".png", ".jpg", ".jpeg", ".mp4"):
        return _error(f"{overlay}: the overlay must be .png, .jpg or .mp4")
    try:
        check_workers(args)
        lifter = lifter_from_args(args)
        detector = detector_from_args(args)
    except (ModelError, BasesFileError, ValueError, FileNotFoundError) as exc:
        return _error(str(exc))

    fps = {}        # source -> frame rate, for the videos

    def remember_fps(frame, result):
        if frame.is_video and frame.source not in fps:
            fps[frame.source] = frame.fps

    try:
        table, errors = detect_keypoints(args.input, format="coco17", detector=detector, on_frame=remember_fps)
    except (FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    for message in errors:
        print(f"lift2d3d run: warning: {message}", file=sys.stderr)
    if args.keypoints:
        with atomic_path(args.keypoints) as tmp:
            table.to_csv(tmp, index=False, float_format="%.3f", na_rep="")
    lifted = _lift(table, lifter, args.sequence, fps)
    write_lifted(lifted, args.output)
    n_ok = int(lifted["status"].isin(status.LIFTED).sum())
    say(f"wrote {args.output}: {len(lifted)} rows, {n_ok} lifted")
    if overlay is not None:
        from ..detect.overlay import write_overlay
        rate = next(iter(fps.values()), 30.0) or 30.0
        if Path(args.input).is_dir() and overlay.suffix.lower() != ".mp4":
            # a folder: one picture per file (one PNG cannot show them all)
            written, empty = [], []
            for source, path in overlay_paths(overlay, table["source"]).items():
                rows = (table["source"].astype(str) == source).to_numpy()
                part, part_lifted = table[rows].reset_index(drop=True), lifted[rows].reset_index(drop=True)
                if write_overlay(path, Path(args.input) / source, part, part_lifted, lifter, fps=rate):
                    written.append(path)
                else:
                    empty.append(source)
            if written:
                say(f"wrote {len(written)} overlay(s), one per file: {', '.join(str(p) for p in written)}")
            if empty:
                print(f"lift2d3d run: warning: no pose to draw in {', '.join(empty)}; no overlay written for "
                      f"{'it' if len(empty) == 1 else 'them'}", file=sys.stderr)
        else:
            written = write_overlay(overlay, args.input, table, lifted, lifter, fps=rate)
            if written:
                say(f"wrote {overlay}")
            else:
                print(f"lift2d3d run: warning: no pose to draw; {overlay} not written", file=sys.stderr)
    return 0 if n_ok else 1
