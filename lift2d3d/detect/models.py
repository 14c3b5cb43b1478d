"""BlazePose model files: download from PyPI, convert to ONNX, cache, verify.

The weights come from a package registry, never a model hub: MediaPipe's
``mediapipe==0.10.14`` wheel carries the TFLite models.  ``build_models``
downloads that wheel with pip (without installing it), checks its SHA-256,
extracts the two TFLite files (checked by SHA-256 too), converts them to ONNX
in-process with :mod:`.tflite_to_onnx` (needs the light ``onnx`` and
``flatbuffers`` packages, the ``models`` extra; no TensorFlow), checks the
result numerically against TFLite's own outputs (``REFERENCE``), and writes
the ONNX files with a manifest into the cache directory.  At run time
``model_paths`` needs only the standard library: it checks every ONNX file
against the SHA-256 recorded in the manifest and rebuilds (or says how to)
when one is missing or corrupt.

What is pinned and why
----------------------
The wheel and both TFLite files are byte-for-byte fixed (``SOURCES``).  The
ONNX bytes depend on the ``onnx`` package's serialisation only (node names
come from the TFLite graph), so they are reproducible for one ``onnx``
version; the manifest records the SHA-256 of the files the build produced,
and run-time checks use that record.

Where the build writes
----------------------
Only into the cache directory: ``platformdirs.user_cache_dir("lift2d3d")/
models/<MODEL_ID>``, or ``$LIFT2D3D_CACHE_DIR/models/<MODEL_ID>`` when that
environment variable is set.  The wheel is downloaded into a temporary folder
beside it (``models/.build-*``, removed at the end, also on failure) with
pip's own cache turned off, and the TFLite files are read from the wheel in
memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
MODEL_ID = f"blazepose-full-mediapipe-{MEDIAPIPE_VERSION}"
#: 2: converted by lift2d3d.detect.tflite_to_onnx (1 was TensorFlow + tf2onnx); older caches are rebuilt.
MANIFEST_VERSION = 2

#: One platform's wheel is pinned so the hash is fixed; the TFLite files are
#: the same in every platform's wheel.
WHEEL_FILE = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
PIP_DOWNLOAD = ["download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps", "--only-binary=:all:",
                "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11"]
#: pip writes nowhere but the download folder (no HTTP cache, no version-check state).
PIP_QUIET = ["--no-cache-dir", "--disable-pip-version-check", "--no-input"]

#: name -> (member in the wheel, SHA-256 of the TFLite file)
SOURCES = {
    "pose_detection": ("mediapipe/modules/pose_detection/pose_detection.tflite",
                       "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    "pose_landmark_full": ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                           "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
}

#: Agreement asked of the converted models (``tflite_to_onnx.relative_difference`` against
#: TFLite's reference kernels).  The landmark model's segmentation logits (``Identity_2``,
#: unused here) are large sums that cancel: TFLite's own two CPU paths (XNNPACK and the
#: reference kernels) differ on them by up to 5.0e-4 on the demo frames
#: (benchmarks/converter_equivalence.py), so they get 1e-3.
TOLERANCE = 1e-4
TOLERANCE_BY_OUTPUT = {("pose_landmark_full", "Identity_2"): 1e-3}

#: Build-time check.  TFLite's outputs (LiteRT 2.3.0, reference kernels, no delegate) on
#: :func:`check_input`: per output, max |output| and (flat index, value) of six elements (the
#: largest and five spread over the tensor).  Made by tests/data/make_detector_golden.py.
REFERENCE = {
    "pose_detection": {
        "Identity": (149.3289337158203, (
            (18137, 149.3289337158203), (0, -4.8386149406433105), (6761, 4.751589775085449),
            (13523, 9.029004096984863), (20285, -17.61310577392578), (27047, 0.08987750113010406),
        )),
        "Identity_1": (291.30810546875, (
            (1869, -291.30810546875), (0, -71.64685821533203), (563, -7.076571941375732),
            (1126, -80.07501220703125), (1689, -258.71661376953125), (2253, -29.049068450927734),
        )),
    },
    "pose_landmark_full": {
        "Identity": (184.42852783203125, (
            (156, 184.42852783203125), (0, 133.13381958007812), (48, 8.749834060668945),
            (97, -2.6318225860595703), (145, 143.9364013671875), (194, -0.03943347930908203),
        )),
        "Identity_1": (7.119549741418929e-12, (
            (0, 7.119549741418929e-12),
        )),
        "Identity_2": (1424.052978515625, (
            (54022, -1424.052978515625), (0, -77.217529296875), (16383, -13.231401443481445),
            (32767, -13.1392240524292), (49151, -12.6277437210083), (65535, -7.129101753234863),
        )),
        "Identity_3": (86.74596405029297, (
            (125262, -86.74596405029297), (0, -26.850412368774414), (39935, -7.949767112731934),
            (79871, -6.773338317871094), (119807, -9.54215145111084), (159743, -8.345187187194824),
        )),
        "Identity_4": (0.5646271705627441, (
            (7, -0.5646271705627441), (0, 0.046690940856933594), (29, -0.1373915672302246),
            (58, -0.2763965129852295), (87, 0.13472270965576172), (116, 0.03238440677523613),
        )),
    },
}

BUILD_COMMAND = 'pip install "lift2d3d[models]" && lift2d3d models build'
REBUILD_COMMAND = 'pip install "lift2d3d[models]" && lift2d3d models build --force'


class ModelError(RuntimeError):
    """The detector's model files are missing, corrupt or cannot be built."""


def cache_dir() -> Path:
    """Directory holding the converted models (not created here)."""
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


def read_manifest(directory: Path | None = None) -> dict:
    """The build manifest of ``directory`` (default :func:`cache_dir`).

    Raises
    ------
    ModelError
        When it is missing or unreadable (the message says how to build).
    """
    directory = Path(directory) if directory else cache_dir()
    manifest_file = _manifest_path(directory)
    if not manifest_file.is_file():
        raise ModelError(f"The BlazePose ONNX models are not built yet (no {manifest_file}). "
                         f"Build them once with: {BUILD_COMMAND}")
    try:
        return json.loads(manifest_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"Unreadable model manifest {manifest_file} ({exc}). "
                         f"Rebuild with: {REBUILD_COMMAND}") from exc


def check_models(directory: Path | None = None) -> dict[str, Path]:
    """Verify the cached ONNX files and return their paths by model name.

    Raises
    ------
    ModelError
        When the manifest or a model file is missing, was built from other
        sources or by another converter, or its SHA-256 differs from the
        manifest (corruption).  The message gives the command that fixes it.
    """
    directory = Path(directory) if directory else cache_dir()
    manifest = read_manifest(directory)
    manifest_file = _manifest_path(directory)
    if manifest.get("manifest_version") != MANIFEST_VERSION or manifest.get("wheel_sha256") != WHEEL_SHA256:
        raise ModelError(f"The cached models in {directory} come from another build. "
                         f"Rebuild with: {REBUILD_COMMAND}")
    paths = {}
    for name, (_, tflite_sha) in SOURCES.items():
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


def build_dependencies_available() -> bool:
    """Whether this interpreter can convert the models (``onnx`` and ``flatbuffers`` importable)."""
    import importlib.util
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "flatbuffers"))


def download_wheel(dest: Path, log=print) -> Path:
    """Download the pinned MediaPipe wheel into ``dest`` with pip; check its SHA-256."""
    command = [sys.executable, "-m", "pip", *PIP_DOWNLOAD, *PIP_QUIET, "-d", str(dest)]
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


def read_tflite(wheel: Path) -> dict[str, bytes]:
    """The TFLite files in the wheel, checking the wheel's and each file's SHA-256."""
    actual = sha256_file(wheel)
    if actual != WHEEL_SHA256:
        raise ModelError(f"{wheel} has SHA-256 {actual}, expected {WHEEL_SHA256} "
                         f"({WHEEL_FILE} from PyPI). Delete it and run: lift2d3d models build")
    out = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, (member, sha) in SOURCES.items():
            content = archive.read(member)
            got = hashlib.sha256(content).hexdigest()
            if got != sha:
                raise ModelError(f"{member} in {wheel} has SHA-256 {got}, expected {sha}.")
            out[name] = content
    return out


def extract_tflite(wheel: Path, dest: Path) -> dict[str, Path]:
    """Write the checked TFLite files from the wheel into ``dest`` (for reference runtimes)."""
    paths = {}
    for name, content in read_tflite(wheel).items():
        paths[name] = Path(dest) / f"{name}.tflite"
        paths[name].write_bytes(content)
    return paths


def check_input(shape):
    """The fixed input of the build-time check: uniform [0, 1) from PCG64 seed 20240508, float32."""
    import numpy as np
    return np.random.default_rng(20240508).random(tuple(shape)).astype(np.float32)


def import_onnxruntime():
    """``import onnxruntime`` with its telemetry off, unless the user set ``ORT_DISABLE_TELEMETRY``.

    ONNX Runtime (1.2x on Linux) otherwise writes a device id under
    ``~/.cache/Microsoft`` on import; lift2d3d keeps to its own cache.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime
    return onnxruntime


def tolerance(name: str, output: str) -> float:
    return TOLERANCE_BY_OUTPUT.get((name, output), TOLERANCE)


def verify_against_reference(name: str, onnx_bytes: bytes) -> dict[str, float]:
    """Run the converted model on :func:`check_input` and compare with ``REFERENCE``.

    Returns the relative difference per output; raises ``ModelError`` above the tolerance.
    """
    import numpy as np

    from .tflite_to_onnx import relative_difference

    ort = import_onnxruntime()
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    outputs = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {meta.name: check_input(meta.shape)})))
    agreement, bad = {}, {}
    for output, (scale, samples) in REFERENCE[name].items():
        index = np.array([i for i, _ in samples])
        expected = np.array([v for _, v in samples])
        agreement[output] = relative_difference(outputs[output].ravel()[index], expected, scale=scale)
        if not agreement[output] <= tolerance(name, output):
            bad[output] = agreement[output]
    if bad:
        raise ModelError(f"The ONNX conversion of {name} disagrees with TFLite's outputs: relative "
                         f"differences {bad} (tolerance {TOLERANCE:g}). Please report this with the "
                         "versions of onnx and onnxruntime.")
    return agreement


def _build_tmpdir(directory: Path) -> tempfile.TemporaryDirectory:
    directory.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=".build-", dir=directory.parent)


def build_models(force: bool = False, wheel: str | os.PathLike | None = None, log=print) -> dict[str, Path]:
    """Download, convert and cache the BlazePose models; return their paths.

    Parameters
    ----------
    force : bool
        Rebuild even when a valid build is cached.
    wheel : path, optional
        A local copy of ``WHEEL_FILE`` (for machines without index access).
    log : callable
        Progress messages.
    """
    directory = cache_dir()
    if not force:
        try:
            return check_models(directory)
        except ModelError:
            pass
    if not build_dependencies_available():
        raise ModelError("Building the BlazePose ONNX models needs the onnx and flatbuffers packages "
                         f"(build time only). Install them and build with: {BUILD_COMMAND}")
    from .tflite import TFLiteError
    from .tflite_to_onnx import ConversionError, convert

    with _build_tmpdir(directory) as tmp:
        wheel_path = Path(wheel) if wheel else download_wheel(Path(tmp), log)
        if not wheel_path.is_file():
            raise ModelError(f"Wheel file {wheel_path} does not exist.")
        tflites = read_tflite(wheel_path)
    manifest = {"manifest_version": MANIFEST_VERSION, "model_id": MODEL_ID,
                "wheel": WHEEL_FILE, "wheel_sha256": WHEEL_SHA256, "models": {}}
    converted = {}
    for name, (member, tflite_sha) in SOURCES.items():
        log(f"converting {member} to ONNX")
        try:
            model, report = convert(tflites[name], graph_name=name)
        except (ConversionError, TFLiteError) as exc:
            raise ModelError(f"Converting {member} failed: {exc}") from exc
        converted[name] = model.SerializeToString()
        report["agreement_with_tflite"] = verify_against_reference(name, converted[name])
        manifest["models"][name] = {"file": f"{name}.onnx", "source_member": member, "tflite_sha256": tflite_sha,
                                    "onnx_sha256": hashlib.sha256(converted[name]).hexdigest(),
                                    "size_bytes": len(converted[name]), "build": report}
    # Only checked models are written, each under a temporary name and then renamed, the
    # manifest last: a crash never leaves a half-written model that looks valid.
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in converted.items():
        staging = directory / f".{name}.onnx.part"
        staging.write_bytes(content)
        os.replace(staging, directory / f"{name}.onnx")
    staging = directory / ".manifest.json.part"
    staging.write_text(json.dumps(manifest, indent=1))
    os.replace(staging, _manifest_path(directory))
    log(f"models ready in {directory}")
    return check_models(directory)


def model_paths(auto_build: bool = True, log=None) -> dict[str, Path]:
    """Paths of the verified ONNX models, building them on first use if possible.

    A missing or corrupt cache is rebuilt when onnx and flatbuffers are
    importable (with a message on stderr); otherwise ``ModelError`` says which
    command to run.
    """
    try:
        return check_models()
    except ModelError as exc:
        if not auto_build or not build_dependencies_available():
            raise
        log = log or (lambda msg: print(f"lift2d3d: {msg}", file=sys.stderr))
        log(f"{exc} -- building now (one time: a 36 MB download and a few seconds).")
        return build_models(force=True, log=log)
