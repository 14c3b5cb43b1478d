"""BlazePose model files: download from PyPI, convert to ONNX, cache, verify.

The weights come from a package registry, never a model hub: MediaPipe's
``mediapipe==0.10.14`` wheel carries the TFLite models.  ``build_models``
downloads that wheel with pip (without installing it), checks its SHA-256,
extracts the two TFLite files (checked by SHA-256 too), converts them to ONNX
in a subprocess that needs TensorFlow and tf2onnx (build-time only), and writes
them with a manifest into the cache directory.  At run time ``model_paths``
needs only the standard library: it checks every ONNX file against the SHA-256
recorded in the manifest and rebuilds (or says how to) when one is missing or
corrupt.

What is pinned and why
----------------------
The wheel and both TFLite files are byte-for-byte fixed (``SOURCES``).  The
ONNX bytes are *not*: tf2onnx names nodes in set-iteration order, so two
conversions of the same file differ in names though not in arithmetic.  The
build therefore verifies the ONNX numerically against the TFLite reference
interpreter (relative error <= 1e-3 on a fixed input, see ``_convert``) and
records the SHA-256 of the files it produced; run-time checks use that record.

The cache is ``platformdirs.user_cache_dir("lift2d3d")/models/<MODEL_ID>``,
overridden by the ``LIFT2D3D_CACHE_DIR`` environment variable.  The
conversion runs under this interpreter, or under ``LIFT2D3D_BUILD_PYTHON``
(an environment that has TensorFlow and tf2onnx) when that is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
MODEL_ID = f"blazepose-full-mediapipe-{MEDIAPIPE_VERSION}"
MANIFEST_VERSION = 1

#: One platform's wheel is pinned so the hash is fixed; the TFLite files are
#: the same in every platform's wheel.
WHEEL_FILE = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
PIP_DOWNLOAD = ["download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps", "--only-binary=:all:",
                "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11"]

#: name -> (member in the wheel, SHA-256 of the TFLite file, densify?)
SOURCES = {
    "pose_detection": ("mediapipe/modules/pose_detection/pose_detection.tflite",
                       "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", True),
    "pose_landmark_full": ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                           "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", False),
}

BUILD_COMMAND = 'pip install "lift2d3d[models]" && lift2d3d models build'
REBUILD_COMMAND = 'pip install "lift2d3d[models]" && lift2d3d models build --force'


class ModelError(RuntimeError):
    """The detector's model files are missing, corrupt or cannot be built."""


def cache_dir() -> Path:
    """Directory holding the converted models (created on demand)."""
    root = os.environ.get("LIFT2D3D_CACHE_DIR")
    if not root:
        import platformdirs
        root = platformdirs.user_cache_dir("lift2d3d")
    return Path(root) / "models" / MODEL_ID


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_path(directory: Path) -> Path:
    return directory / "manifest.json"


def check_models(directory: Path | None = None) -> dict[str, Path]:
    """Verify the cached ONNX files and return their paths by model name.

    Raises
    ------
    ModelError
        When the manifest or a model file is missing, was built from other
        sources, or its SHA-256 differs from the manifest (corruption).  The
        message gives the command that fixes it.
    """
    directory = Path(directory) if directory else cache_dir()
    manifest_file = _manifest_path(directory)
    if not manifest_file.is_file():
        raise ModelError(f"The BlazePose ONNX models are not built yet (no {manifest_file}). "
                         f"Build them once with: {BUILD_COMMAND}")
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"Unreadable model manifest {manifest_file} ({exc}). "
                         f"Rebuild with: {REBUILD_COMMAND}") from exc
    if manifest.get("manifest_version") != MANIFEST_VERSION or manifest.get("wheel_sha256") != WHEEL_SHA256:
        raise ModelError(f"The cached models in {directory} come from another build. "
                         f"Rebuild with: {REBUILD_COMMAND}")
    paths = {}
    for name, (_, tflite_sha, _) in SOURCES.items():
        entry = manifest.get("models", {}).get(name)
        if not entry or entry.get("tflite_sha256") != tflite_sha:
            raise ModelError(f"Model {name!r} is missing from {manifest_file}. Rebuild with: {REBUILD_COMMAND}")
        path = directory / entry["file"]
        if not path.is_file():
            raise ModelError(f"Model file {path} is missing. Rebuild with: {REBUILD_COMMAND}")
        actual = sha256_file(path)
        if actual != entry["onnx_sha256"]:
            raise ModelError(f"Model file {path} is corrupt: SHA-256 {actual[:12]}... differs from "
                             f"{entry['onnx_sha256'][:12]}... recorded when it was built. "
                             f"Rebuild with: {REBUILD_COMMAND}")
        paths[name] = path
    return paths


def build_python() -> str:
    """Interpreter that runs the conversion: ``$LIFT2D3D_BUILD_PYTHON`` or this one."""
    return os.environ.get("LIFT2D3D_BUILD_PYTHON") or sys.executable


def build_dependencies_available(python: str | None = None) -> bool:
    """Whether ``python`` (default: :func:`build_python`) can import tensorflow and tf2onnx."""
    python = python or build_python()
    if python == sys.executable:
        import importlib.util
        return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tf2onnx"))
    probe = subprocess.run([python, "-c", "import tensorflow, tf2onnx"], capture_output=True)
    return probe.returncode == 0


def download_wheel(dest: Path, log=print) -> Path:
    """Download the pinned MediaPipe wheel into ``dest`` with pip; check its SHA-256."""
    command = [sys.executable, "-m", "pip", *PIP_DOWNLOAD, "-d", str(dest)]
    log(f"downloading {WHEEL_FILE} from the package index: {' '.join(command[2:])}")
    proc = subprocess.run(command, capture_output=True, text=True)
    wheel = dest / WHEEL_FILE
    if proc.returncode != 0 or not wheel.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelError("Could not download mediapipe==0.10.14 from the package index "
                         f"(pip said: {' | '.join(tail)}). Check the connection to PyPI (or your pip "
                         "index settings) and run: lift2d3d models build; offline, download "
                         f"{WHEEL_FILE} elsewhere and run: lift2d3d models build --wheel PATH")
    return wheel


def extract_tflite(wheel: Path, dest: Path) -> dict[str, Path]:
    """Extract the TFLite files from the wheel, checking the wheel's and each file's SHA-256."""
    actual = sha256_file(wheel)
    if actual != WHEEL_SHA256:
        raise ModelError(f"{wheel} has SHA-256 {actual}, expected {WHEEL_SHA256} "
                         f"({WHEEL_FILE} from PyPI). Delete it and run: lift2d3d models build")
    out = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, (member, sha, _) in SOURCES.items():
            target = dest / f"{name}.tflite"
            with archive.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            got = sha256_file(target)
            if got != sha:
                raise ModelError(f"{member} in {wheel} has SHA-256 {got}, expected {sha}.")
            out[name] = target
    return out


def build_models(force: bool = False, wheel: str | os.PathLike | None = None,
                 python: str | None = None, log=print) -> dict[str, Path]:
    """Download, convert and cache the BlazePose models; return their paths.

    Parameters
    ----------
    force : bool
        Rebuild even when a valid build is cached.
    wheel : path, optional
        A local copy of ``WHEEL_FILE`` (for machines without index access).
    python : str, optional
        Interpreter that has tensorflow and tf2onnx (default: :func:`build_python`).
    log : callable
        Progress messages.
    """
    directory = cache_dir()
    if not force:
        try:
            return check_models(directory)
        except ModelError:
            pass
    python = python or build_python()
    if not build_dependencies_available(python):
        raise ModelError("Building the BlazePose ONNX models needs TensorFlow and tf2onnx (build time "
                         f"only) in {python}. Install them and build with: {BUILD_COMMAND} "
                         "(or point --python at an environment that has them).")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lift2d3d-models-") as tmp:
        tmp = Path(tmp)
        wheel_path = Path(wheel) if wheel else download_wheel(tmp, log)
        if not wheel_path.is_file():
            raise ModelError(f"Wheel file {wheel_path} does not exist.")
        tflites = extract_tflite(wheel_path, tmp)
        manifest = {"manifest_version": MANIFEST_VERSION, "model_id": MODEL_ID,
                    "wheel": WHEEL_FILE, "wheel_sha256": WHEEL_SHA256, "models": {}}
        for name, (member, tflite_sha, needs_densify) in SOURCES.items():
            onnx_tmp = tmp / f"{name}.onnx"
            # Run by path: _convert imports nothing from lift2d3d, so the build interpreter
            # needs neither lift2d3d nor this environment's packages on its path.
            command = [python, str(Path(__file__).with_name("_convert.py")), str(tflites[name]), str(onnx_tmp)]
            if needs_densify:
                command.append("--densify")
            log(f"converting {member} to ONNX{' (densifying sparse weights)' if needs_densify else ''}")
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
                raise ModelError(f"Converting {member} failed:\n{tail}")
            report = json.loads(Path(str(onnx_tmp) + ".json").read_text())
            # Write under a temporary name, then rename: a crash never leaves a
            # half-written model that looks valid.
            final = directory / f"{name}.onnx"
            staging = directory / f".{name}.onnx.part"
            shutil.copyfile(onnx_tmp, staging)
            os.replace(staging, final)
            manifest["models"][name] = {"file": final.name, "source_member": member,
                                        "tflite_sha256": tflite_sha, "onnx_sha256": sha256_file(final),
                                        "build": report}
        staging = directory / ".manifest.json.part"
        staging.write_text(json.dumps(manifest, indent=1))
        os.replace(staging, _manifest_path(directory))
    log(f"models ready in {directory}")
    return check_models(directory)


def model_paths(auto_build: bool = True, log=None) -> dict[str, Path]:
    """Paths of the verified ONNX models, building them on first use if possible.

    A missing or corrupt cache is rebuilt when TensorFlow and tf2onnx are
    importable (with a message on stderr); otherwise ``ModelError`` says which
    command to run.
    """
    try:
        return check_models()
    except ModelError as exc:
        if not auto_build or not build_dependencies_available():
            raise
        log = log or (lambda msg: print(f"lift2d3d: {msg}", file=sys.stderr))
        log(f"{exc} -- building now (one time, about a minute).")
        return build_models(force=True, log=log)
