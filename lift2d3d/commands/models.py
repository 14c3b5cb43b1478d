"""``lift2d3d models build|status``: the BlazePose ONNX models in the user cache."""

from __future__ import annotations

import argparse
import sys

NAME = "models"
HELP = ("Build (download from PyPI, convert to ONNX, verify) or check the BlazePose detector models "
        "used by `lift2d3d detect` and `lift2d3d run`.")

EPILOG = """\
build: downloads the mediapipe==0.10.14 wheel with pip (it is not installed), checks its SHA-256,
extracts pose_detection.tflite and pose_landmark_full.tflite (SHA-256 checked), densifies the
detector's sparse weights, converts both to ONNX with tf2onnx and checks the ONNX outputs against
the TFLite interpreter. Needs TensorFlow and tf2onnx at build time only:
    pip install "lift2d3d[models]"    (or: pip install tensorflow-cpu tf2onnx)
Cache: $LIFT2D3D_CACHE_DIR or the user cache dir (see `lift2d3d models status`).
Exit codes: 0 ok; 1 models missing/corrupt (status) or build failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("action", choices=("build", "status"), help="build the models, or check the cache")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid build is cached")
    parser.add_argument("--wheel", metavar="PATH", help="use a local copy of the mediapipe wheel (offline)")
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter that has tensorflow and tf2onnx (default: this one)")


def run(args) -> int:
    from ..detect.models import ModelError, build_models, cache_dir, check_models

    if args.action == "status":
        try:
            paths = check_models()
        except ModelError as exc:
            print(f"lift2d3d models: {exc}", file=sys.stderr)
            return 1
        print(f"models OK in {cache_dir()}")
        for name, path in paths.items():
            print(f"  {name}: {path}")
        return 0
    try:
        paths = build_models(force=args.force, wheel=args.wheel, python=args.python,
                             log=lambda msg: print(f"lift2d3d models: {msg}", file=sys.stderr))
    except ModelError as exc:
        print(f"lift2d3d models: error: {exc}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
