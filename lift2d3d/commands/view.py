"""``lift2d3d view LIFTED -o view.html``: an interactive page that plays a lifted clip in 3D beside its 2D keypoints."""

from __future__ import annotations

import argparse
import sys

NAME = "view"
HELP = ("Write a self-contained HTML page that plays a lifted clip (CSV, JSON, NPZ, 3D TRC or BVH) as a 3D "
        "skeleton to turn with the mouse, with a time slider and, given --keypoints, the 2D beside it.")

EPILOG = """\
The page needs no network and no library (it draws on a canvas); open it in any browser. Rows are
grouped by person (the id columns apart from the frame) and placed by the frame column; several
people are drawn together. --keypoints: the 2D keypoint file the clip was lifted from (the same
rows, in the same order), in any layout lift reads.

examples:  lift2d3d lift video_keypoints.csv --sequence --world -o lifted.csv
           lift2d3d view lifted.csv --keypoints video_keypoints.csv -o view.html
           lift2d3d view clip.bvh -o view.html
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", help="lifted output: .csv, .json, .npz, a 3D .trc, or a .bvh")
    parser.add_argument("-o", "--output", required=True, help="the HTML page to write")
    parser.add_argument("--keypoints", metavar="FILE", help="the 2D keypoints the clip was lifted from")
    parser.add_argument("--format", help="keypoint format (skeleton) of --keypoints, e.g. coco17")
    parser.add_argument("--layout", help="file layout of --keypoints (detected when omitted)")
    parser.add_argument("--image-size", type=float, nargs=2, metavar=("W", "H"),
                        help="--keypoints: image width and height for normalised (0-1) coordinates")
    parser.add_argument("--map", metavar="FILE", dest="joint_map", help="--keypoints: part/marker name map (JSON)")
    parser.add_argument("--fps", type=float, help="playback frame rate (default: the file's, else 30)")
    parser.add_argument("--title", help="the page's title (default: the input's name)")


def _error(message: str, code: int = 2) -> int:
    print(f"lift2d3d view: error: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from ..io import CAMERA_COLUMNS, RESULT_COLUMNS, KeypointFormatError, read_keypoints, read_lifted
    from ..pipeline import person_clips
    from ..viewer import write_viewer

    source = Path(args.input)
    if args.fps is not None and not args.fps > 0:
        return _error("--fps must be a positive number")
    try:
        if source.suffix.lower() == ".bvh":
            from ..mocap import read_bvh

            clip = read_bvh(source)
            fps = args.fps or (clip.fps if np.isfinite(clip.fps) else 30.0)
            joints, names, frame = clip.joints3d[:, None], clip.skeleton.joints, "world"
            numbers, status, rows_of = list(range(len(clip))), None, None
        else:
            lifted = read_lifted(source)
            fps = args.fps or 30.0
            table, names, frame = lifted.table, lifted.joint_names, lifted.frame
            joint_columns = {f"{j}_{a}" for j in names for a in "xyz"}
            ids = [c for c in table.columns if c not in joint_columns and c not in RESULT_COLUMNS
                   and c not in CAMERA_COLUMNS]
            clips = [c for c in person_clips(table, ids, fps) if len(c.frames)]
            if not clips:
                return _error(f"{source}: no row has a usable frame number")
            start = min(int(c.frames[0]) for c in clips)
            stop = max(int(c.frames[-1]) for c in clips) + 1
            xyz = lifted.joints3d()
            joints = np.full((stop - start, len(clips), len(names), 3), np.nan)
            rows_of = np.full((stop - start, len(clips)), -1)
            for k, c in enumerate(clips):
                at = np.flatnonzero(c.first_row >= 0)
                rows_of[c.frames[at] - start, k] = c.first_row[at]
                joints[c.frames[at] - start, k] = xyz[c.first_row[at]]
            numbers = list(range(start, stop))
            statuses = table["status"].astype(str).to_numpy()
            status = [", ".join(sorted({statuses[r] for r in row if r >= 0})) or "no pose" for row in rows_of]
        keypoints = keypoint_names = None
        if args.keypoints:
            if rows_of is None:
                return _error("--keypoints needs a lifted table (CSV, JSON or NPZ), whose rows match the keypoints'")
            table2d = read_keypoints(args.keypoints, format=args.format, layout=args.layout,
                                     image_size=args.image_size, joint_map=args.joint_map)
            if len(table2d) != len(table):
                return _error(f"{args.keypoints} has {len(table2d)} rows but {source} has {len(table)}: pass the "
                              "keypoint file the clip was lifted from")
            keypoint_names = table2d.skeleton.joints
            keypoints = np.full(rows_of.shape + (len(keypoint_names), 2), np.nan)
            have = rows_of >= 0
            keypoints[have] = table2d.keypoints[rows_of[have]]
        subtitle = (f"{len(numbers)} frames at {fps:g} fps, {joints.shape[1]} "
                    f"{'person' if joints.shape[1] == 1 else 'people'}, "
                    f"{'world frame' if frame == 'world' else 'camera frame'}")
        write_viewer(args.output, joints, names, frame=frame, fps=fps, frames=numbers, keypoints=keypoints,
                     keypoint_names=keypoint_names, status=status, title=args.title or source.name, subtitle=subtitle)
    except (KeypointFormatError, ValueError) as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{exc.filename or args.output}: {exc.strerror or exc}")
    print(f"wrote {args.output} ({Path(args.output).stat().st_size / 1e6:.2f} MB, {len(numbers)} frames)",
          file=sys.stderr)
    return 0
