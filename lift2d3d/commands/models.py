"""``lift2d3d models build|status``: the BlazePose ONNX models in the user cache."""

from __future__ import annotations

import argparse
import sys

NAME = "models"
HELP = ("Build (download from PyPI, convert to ONNX, verify) or check the BlazePose detector models "
        "used by `lift2d3d detect` and `lift2d3d run`.")

EPILOG = """\
build: downloads the mediapipe==0.10.14 wheel with pip (it is not installed), checks its SHA-256,
reads pose_detection.tflite and pose_landmark_full.tflite from it (SHA-256 checked), converts both
to ONNX (sparse weights densified, float16 weights widened to float32) and checks the ONNX outputs
against TFLite's on a fixed input. Needs the light onnx and flatbuffers packages at build time
only, no TensorFlow:
    pip install "lift2d3d[models]"
It writes only into the cache directory, $LIFT2D3D_CACHE_DIR/models/ or the user cache dir
(the wheel goes into a temporary folder there, removed afterwards).
status: the cache directory, and per model its path, size, SHA-256 and source.
Exit codes: 0 ok; 1 models missing/corrupt (status) or build failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("action", choices=("build", "status"), help="build the models, or check the cache")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid build is cached")
    parser.add_argument("--wheel", metavar="PATH", help="use a local copy of the mediapipe wheel (offline)")


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB ({n_bytes:,} bytes)"


def status() -> int:
    from ..detect.models import MODEL_ID, SOURCES, WHEEL_FILE, ModelError, cache_dir, check_models, read_manifest

    directory = cache_dir()
    print(f"cache: {directory}  ($LIFT2D3D_CACHE_DIR/models/{MODEL_ID} when set)")
    try:
        paths = check_models(directory)
        manifest = read_manifest(directory)
    except ModelError as exc:
        print(f"lift2d3d models: {exc}", file=sys.stderr)
        return 1
    print(f"models OK, built from {manifest.get('wheel', WHEEL_FILE)} (sha256 {manifest['wheel_sha256']})")
    for name, path in paths.items():
        entry = manifest["models"][name]
        build = entry.get("build", {})
        worst = max(build.get("agreement_with_tflite", {}).values(), default=float("nan"))
        print(f"{name}\n  path    {path}\n  size    {_size(path.stat().st_size)}\n  sha256  {entry['onnx_sha256']}\n"
              f"  source  {entry.get('source_member', SOURCES[name][0])} (sha256 {entry['tflite_sha256']})\n"
              f"  built   onnx {build.get('onnx', '?')}, opset {build.get('opset', '?')}, "
              f"{build.get('densified', 0)} sparse tensors densified; largest relative difference "
              f"from TFLite {worst:.1e}")
    return 0


def run(args) -> int:
    from ..detect.models import ModelError, build_models

    if args.action == "status":
        return status()
    try:
        paths = build_models(force=args.force, wheel=args.wheel,
                             log=lambda msg: print(f"lift2d3d models: {msg}", file=sys.stderr))
    except ModelError as exc:
        print(f"lift2d3d models: error: {exc}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
