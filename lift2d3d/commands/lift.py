"""``lift2d3d lift INPUT -o OUTPUT``: lift a keypoint file to 3D, streaming in chunks."""

from __future__ import annotations

import argparse
import json
import sys

from ._distributed import add_arguments as add_distributed_arguments
from ._distributed import run_distributed
from ._options import add_lifter_arguments, camera_from_args, check_workers, lifter_from_args

NAME = "lift"
HELP = ("Lift a file of 2D keypoints (wide/long CSV, COCO/AlphaPose, OpenPose or MMPose JSON, MediaPipe "
        "CSV, DeepLabCut CSV/H5, pixel TRC, NPY/NPZ) to 3D joints (CSV, JSON or NPZ by the output's extension; "
        "BVH or 3D TRC: each person's motion in the world frame).")

# the inputs are listed from the layout records (lift2d3d.io.LAYOUT_RECORDS): one place per layout
EPILOG = """\
inputs (detected from the content; --layout to force one):
{layouts}
formats (--format): coco17, h36m17, mpii16, openpose25, blazepose33, body15 (detected from names
or counts when omitted). Coordinates normalised to the image (within 0-1) are an error unless
--image-size gives the image's width and height in pixels.
Output columns: the input's id columns, <joint>_x, <joint>_y, <joint>_z (metres, camera frame:
x right, y down, z away from the camera) for each joint of the bases, then status,
reprojection_error (pixels), iterations, message; --write-camera adds r11..r33 (rotation, bases
frame -> camera frame, row-major), scale (pixels per metre) and tx, ty, tz (weak perspective: the
pose centroid's image position in pixels, tz = 0; perspective: the centroid in metres). Rows that
cannot be lifted are kept with their status and reason (bad_input, no_person for frames without
a person, ...). --resume on a finished output says "output is complete" and reruns nothing.
--world: the joints in each person's world frame instead (metres, Y up against gravity, the floor
at Y = 0, X the camera's x on the floor; estimated from the person's foot contacts over the clip;
--height M for metric scale), with the estimate's metadata in the JSON/NPZ or beside a CSV
(<output>.world.json). -o clip.bvh: each person's motion as a BVH (a T-pose rig fitted by inverse
kinematics, bone lengths the clip's medians; --bvh-rig cmu|mixamo names, --bvh-units m|cm);
-o clip.trc: each person's joints as a 3D TRC for OpenSim (metres, Y up, Pose2Sim's marker names).
BVH and TRC are in the world frame; several people give one file each (clip_person-1.bvh, ...).
Exit codes: 0 done; 1 no row could be lifted; 2 unusable input or options.

examples:  lift2d3d lift examples/sample_coco17.csv -o lifted.csv
           lift2d3d lift video_keypoints.csv --sequence --fps 25 --height 1.75 -o clip.bvh
           lift2d3d lift landmarks.csv --image-size 1920 1080 -o lifted.csv
           lift2d3d lift video_DLC_resnet50.h5 --map parts.json -o lifted.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..io import LAYOUTS, layouts_help

    parser.epilog = EPILOG.replace("{layouts}", layouts_help())
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", nargs="+", help="keypoint file, or a folder of OpenPose JSON files "
                        "(with --scheduler: several files or quoted glob patterns)")
    parser.add_argument("-o", "--output", required=True,
                        help="output .csv, .json or .npz (the lifted table), .bvh or .trc (each person's clip)")
    parser.add_argument("--format", help="keypoint format (skeleton) of the input, e.g. coco17; or a layout")
    parser.add_argument("--layout", help=f"file layout: {', '.join(LAYOUTS)} (detected from the content when omitted)")
    parser.add_argument("--delimiter", help="CSV delimiter (detected from the header when omitted)")
    parser.add_argument("--image-size", type=float, nargs=2, metavar=("W", "H"),
                        help="image width and height in pixels: converts normalised (0-1) coordinates such as "
                             "MediaPipe's to pixels (also the height for a TRC whose Y points up)")
    parser.add_argument("--map", metavar="FILE", dest="joint_map",
                        help="JSON object mapping DeepLabCut body parts / TRC markers to joints, e.g. "
                             '{"LShoulder": "left_shoulder", "tail": null} (null ignores a part)')
    parser.add_argument("--write-camera", action="store_true",
                        help="add the camera columns: rotation r11..r33, scale (px/m), translation tx, ty, tz")
    parser.add_argument("--output-skeleton", metavar="NAME",
                        help="write the 3D joints in another skeleton's order (h36m17, coco17, ...; joints the "
                             "bases cannot give, such as h36m17's head_top, are left empty)")
    parser.add_argument("--depth-order", metavar="FILE",
                        help="ordinal depth hints: a CSV with the input's id columns and joint_a, relation, joint_b "
                             "(relation < : joint_a is nearer the camera; > : farther; = : about the same depth)")
    parser.add_argument("--sequence", action="store_true",
                        help="lift each person's frames (rows equal in the id columns apart from the frame) as one "
                             "sequence (Lifter.lift_sequence: smooth motion, shared bone proportions; in the order "
                             "of the frame column, across chunks: each chunk with 32 of the person's frames from "
                             "the chunks before and after it)")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="the video's frame rate, for --sequence, --world, BVH and TRC (default: %(default)s)")
    parser.add_argument("--world", action="store_true",
                        help="write each person's joints in their world frame (gravity-aligned, the floor at 0, "
                             "metres) instead of the camera frame; BVH and TRC outputs always are")
    parser.add_argument("--bvh-rig", choices=("cmu", "mixamo"), default="cmu",
                        help="BVH joint names: cmu (Hips, LeftUpLeg, LeftArm ...: Blender, MotionBuilder, most "
                             "retargeting tools) or mixamo (the same with mixamorig: prefixes) (default: %(default)s)")
    parser.add_argument("--bvh-units", choices=("m", "cm"), default="m",
                        help="BVH units: m (Blender at scale 1) or cm (Unreal, MotionBuilder) (default: %(default)s)")
    add_lifter_arguments(parser)
    parser.add_argument("--chunk-size", type=int, default=5000, help="poses per chunk (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run with the same input and options")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("--stats-json", metavar="PATH", help="also write the run's summary and timings as JSON")
    add_distributed_arguments(parser)     # --scheduler: many inputs on a Dask cluster (._distributed)


def _error(message: str, code: int = 2) -> int:
    print(f"lift2d3d lift: error: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    if args.scheduler:
        if args.world or str(args.output).lower().endswith((".bvh", ".trc")):
            return _error("--world and BVH/TRC outputs need each person's whole clip in one process; run without "
                          "--scheduler")
        return run_distributed(args)
    if len(args.input) > 1:
        return _error("several inputs need --scheduler (e.g. --scheduler local:2); without it, lift one file "
                      "per call")
    args.input = args.input[0]
    from ..bases import BasesFileError
    from ..io import KeypointFormatError
    from ..pipeline import lift_file

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        camera_from_args(args)          # the options' own errors before any file is read
        check_workers(args)
        if args.chunk_size < 1:
            raise ValueError("--chunk-size must be at least 1")
        lifter = lifter_from_args(args)
    except (BasesFileError, ValueError) as exc:
        return _error(str(exc))
    try:
        summary = lift_file(args.input, args.output, lifter, format=args.format, layout=args.layout,
                            delimiter=args.delimiter, chunk_rows=args.chunk_size, resume=args.resume,
                            progress=False if args.quiet else args.progress, log=say,
                            sequence=args.sequence, image_size=args.image_size, joint_map=args.joint_map,
                            write_camera=args.write_camera, output_skeleton=args.output_skeleton,
                            depth_order=args.depth_order, fps=args.fps,
                            frame="world" if args.world else "camera", bvh_rig=args.bvh_rig,
                            bvh_units=args.bvh_units)
    except (KeypointFormatError, ValueError) as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{exc.filename or args.output}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        print(f"lift2d3d lift: interrupted; the finished chunks are kept in {args.output}.parts: run the same "
              "command with --resume to continue", file=sys.stderr)
        raise
    for note in summary.notes[:10]:
        if not note.startswith("joint mapping"):
            say(f"note: {note}")
    say(summary.text())
    if args.stats_json:
        with open(args.stats_json, "w", encoding="utf-8") as handle:
            json.dump(summary.to_dict(), handle, indent=1, default=str)
    if summary.lifted == 0:
        return _error(f"no row of {args.input} could be lifted (statuses: {summary.status_counts}); "
                      "see the status and message columns of the output", code=1)
    return 0
