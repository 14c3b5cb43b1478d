"""``lift2d3d detect IMAGE|VIDEO|DIR -o keypoints.csv``: 2D keypoints with BlazePose (ONNX)."""

from __future__ import annotations

import argparse
import sys

NAME = "detect"
HELP = "Detect 2D human keypoints in images or videos (BlazePose full, ONNX) and write a wide CSV."

EPILOG = """\
Output: one row per frame (and person): source (file name), frame (0 for an image, the index in a
video), person (only when more than one person is found), detect_status (ok, no_person,
unreadable), then <joint>_x, <joint>_y (pixels) and <joint>_score (visibility, 0..1) for each
joint of --format. Rows without a pose keep empty coordinates. The CSV is what `lift2d3d lift`
reads. Videos are tracked frame to frame (detector on the first frame or when the person is lost).
Exit codes: 0 done; 1 no pose found in any frame; 2 unusable input or options / models missing.

example:  lift2d3d detect clip.mp4 -o keypoints.csv && lift2d3d lift keypoints.csv -o lifted.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", help="image, video, or a folder of them")
    parser.add_argument("-o", "--output", required=True, help="output .csv")
    parser.add_argument("--format", default="coco17", choices=("coco17", "blazepose33"),
                        help="joint set of the output columns (default: %(default)s)")
    parser.add_argument("--max-people", type=int, default=1,
                        help="poses per frame; more than 1 runs the person detector on every frame "
                             "(default: %(default)s)")
    parser.add_argument("--min-detection-confidence", type=float, default=0.5,
                        help="person detector threshold (default: %(default)s)")
    parser.add_argument("--min-tracking-confidence", type=float, default=0.5,
                        help="pose presence threshold (default: %(default)s)")
    parser.add_argument("--smooth", action="store_true",
                        help="videos: smooth the landmarks over time as MediaPipe Pose does (one-euro filter)")
    parser.add_argument("--threads", type=int, help="inference threads (default: all cores)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")


def detector_from_args(args):
    """Build a PoseDetector from the shared options; ModelError/ValueError propagate."""
    from ..detect import PoseDetector
    return PoseDetector(max_people=args.max_people, min_detection_confidence=args.min_detection_confidence,
                        min_tracking_confidence=args.min_tracking_confidence, n_threads=args.threads,
                        smooth_landmarks=getattr(args, "smooth", False))


def run(args) -> int:
    from pathlib import Path

    from ..detect import ModelError, detect_keypoints
    from ..io import atomic_path

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    output = Path(args.output)
    if output.suffix.lower() != ".csv":
        print(f"lift2d3d detect: error: {output}: the output must be a .csv file", file=sys.stderr)
        return 2
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(unit="frame", desc="detect", file=sys.stderr)
    try:
        detector = detector_from_args(args)
        table, errors = detect_keypoints(args.input, format=args.format, detector=detector,
                                         progress=(lambda frame: bar.update()) if bar else None)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        print(f"lift2d3d detect: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    for message in errors:
        print(f"lift2d3d detect: warning: {message}", file=sys.stderr)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.3f", na_rep="")
    n_ok = int((table["detect_status"] == "ok").sum())
    say(f"wrote {output}: {len(table)} rows, {n_ok} with a pose, "
        f"{int((table['detect_status'] == 'no_person').sum())} without, {len(errors)} unreadable file(s)")
    return 0 if n_ok else 1
