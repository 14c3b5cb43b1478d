"""``lift2d3d lift INPUT -o OUTPUT``: lift a keypoint file to 3D, streaming in chunks."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "lift"
HELP = ("Lift a file of 2D keypoints (wide/long CSV, COCO/AlphaPose, OpenPose or MMPose JSON, MediaPipe "
        "CSV, DeepLabCut CSV/H5, pixel TRC, NPY/NPZ) to 3D joints (CSV, JSON or NPZ by the output's extension).")

EPILOG = """\
inputs (detected from the content; --layout to force one):
  csv-wide        id columns + <joint>_x, <joint>_y[, <joint>_score]
  csv-long        frame,joint,x,y[,score]
  openpose-json   a folder of OpenPose *_keypoints.json files (BODY_25)
  coco-json       COCO keypoint results/annotations (MMPose/Detectron2 results, AlphaPose)
  mmpose-json     MMPoseInferencer predictions: a video's file or a folder of per-image files
  mediapipe-csv   MediaPipe landmarks (nose_x,...,nose_visibility or x0,y0,z0,v0,...); normalised,
                  so they need --image-size W H
  deeplabcut-csv  DeepLabCut CSV (scorer/[individuals]/bodyparts/coords header rows); parts are
  deeplabcut-h5   matched by name, --map FILE for others; .h5 needs pip install 'lift2d3d[h5]'
  trc             pixel TRC of Sports2D (*_px.trc; Z = 0); 3D TRC files are refused
  numpy           .npy (N, P, 2|3) or .npz with keypoints[, scores, joint_names, ids]
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
Exit codes: 0 done; 1 no row could be lifted; 2 unusable input or options.

examples:  lift2d3d lift examples/sample_coco17.csv -o lifted.csv
           lift2d3d lift landmarks.csv --image-size 1920 1080 -o lifted.csv
           lift2d3d lift video_DLC_resnet50.h5 --map parts.json -o lifted.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", nargs="+", help="keypoint file, or a folder of OpenPose JSON files "
                        "(with --scheduler: several files or quoted glob patterns)")
    parser.add_argument("-o", "--output", required=True, help="output .csv, .json or .npz")
    parser.add_argument("--format", help="keypoint format (skeleton) of the input, e.g. coco17; or a layout")
    parser.add_argument("--layout", help="file layout: csv-wide, csv-long, openpose-json, coco-json, numpy")
    parser.add_argument("--delimiter", help="CSV delimiter (detected from the header when omitted)")
    parser.add_argument("--image-size", type=float, nargs=2, metavar=("W", "H"),
                        help="image width and height in pixels: converts normalised (0-1) coordinates such as "
                             "MediaPipe's to pixels (also the height for a TRC whose Y points up)")
    parser.add_argument("--map", metavar="FILE", dest="joint_map",
                        help="JSON object mapping DeepLabCut body parts / TRC markers to joints, e.g. "
                             '{"LShoulder": "left_shoulder", "tail": null} (null ignores a part)')
    parser.add_argument("--write-camera", action="store_true",
                        help="add the camera columns: rotation r11..r33, scale (px/m), translation tx, ty, tz")
    parser.add_argument("--bases", default="default", help="shipped bases name or a .npz path (default: %(default)s)")
    parser.add_argument("--method", default="convex+refine", choices=("convex", "convex+refine", "robust"),
                        help="solver (default: %(default)s)")
    parser.add_argument("--alpha", type=float, help="sparsity weight (default: the bases' own)")
    parser.add_argument("--refine-alpha", type=float, help="sparsity weight of the refinement (default: alpha / 4)")
    parser.add_argument("--symmetry", type=float, help="weight of the left-right bone-length term (default 3; 0 = off)")
    parser.add_argument("--sequence", action="store_true",
                        help="lift each person's frames (rows equal in the id columns apart from the frame) as one "
                             "sequence with shared bone proportions (Lifter.lift_sequence; pooled per chunk)")
    parser.add_argument("--camera", default="weak", choices=("weak", "perspective"),
                        help="camera model (default: %(default)s); perspective needs --focal and --principal")
    parser.add_argument("--focal", type=float, help="focal length in pixels (perspective camera)")
    parser.add_argument("--principal", type=float, nargs=2, metavar=("CX", "CY"),
                        help="principal point in pixels (perspective camera)")
    parser.add_argument("--workers", type=int, help="threads for the solver (default: all cores)")
    parser.add_argument("--chunk-size", type=int, default=5000, help="poses per chunk (default: %(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run with the same input and options")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("--stats-json", metavar="PATH", help="also write the run's summary and timings as JSON")
    # --scheduler: many inputs on a Dask cluster (issue 6; lift2d3d/distributed/command.py)
    from ..distributed.command import add_arguments as add_distributed_arguments
    add_distributed_arguments(parser)


def _error(message: str, code: int = 2) -> int:
    print(f"lift2d3d lift: error: {message}", file=sys.stderr)
    return code


def lifter_options(args) -> dict:
    """The :class:`~lift2d3d.lifter.Lifter` keyword arguments (bar bases and threads) the options describe.

    Shared by the single-process and the ``--scheduler`` paths; a ValueError
    names the option at fault.
    """
    from ..lifter import Camera

    return dict(method=args.method, alpha=args.alpha, refine_alpha=args.refine_alpha, symmetry=args.symmetry,
                camera=Camera.from_options(args.camera, args.focal, args.principal))


def run(args) -> int:
    if args.scheduler:
        from ..distributed.command import run_distributed
        return run_distributed(args)
    if len(args.input) > 1:
        return _error("several inputs need --scheduler (e.g. --scheduler local:2); without it, lift one file "
                      "per call")
    args.input = args.input[0]
    from ..bases import BasesFileError
    from ..io import KeypointFormatError, lift_file
    from ..lifter import Lifter

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        options = lifter_options(args)
    except ValueError as exc:
        return _error(str(exc))
    if args.workers is not None:
        import numba
        limit = numba.config.NUMBA_NUM_THREADS
        if not 1 <= args.workers <= limit:
            return _error(f"--workers must be between 1 and {limit} (the threads numba was started with)")
        numba.set_num_threads(args.workers)
    if args.chunk_size < 1:
        return _error("--chunk-size must be at least 1")
    try:
        lifter = Lifter(bases=args.bases, n_threads=args.workers, **options)
    except (BasesFileError, ValueError) as exc:
        return _error(str(exc))
    settings = {"bases": str(args.bases), "method": args.method, "alpha": lifter.alpha,
                "refine_alpha": lifter.refine_alpha, "symmetry": lifter.symmetry, "sequence": args.sequence,
                "camera": args.camera,
                "focal": args.focal, "principal": args.principal}
    try:
        summary = lift_file(args.input, args.output, lifter, format=args.format, layout=args.layout,
                            delimiter=args.delimiter, chunk_rows=args.chunk_size, resume=args.resume,
                            progress=False if args.quiet else args.progress, settings=settings, log=say,
                            sequence=args.sequence, image_size=args.image_size, joint_map=args.joint_map,
                            write_camera=args.write_camera)
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
