"""The TFLite -> ONNX converter (no TensorFlow) checked against TFLite's own outputs.

* Everywhere the models are built: the ONNX outputs on fixed inputs against TFLite's outputs
  stored in tests/data/blazepose_golden.npz (made with LiteRT by
  tests/data/make_detector_golden.py).
* Where LiteRT (``pip install ai-edge-litert``, TFLite's interpreter, no TensorFlow) is
  installed: every output of both models on the test frames, as the pipeline feeds them, and
  the densified weights, against the interpreter itself.
* The sparse-tensor format on a hand-worked example, and the errors for what is not supported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lift2d3d.detect import models, tflite
from lift2d3d.detect.tflite_to_onnx import ConversionError, _Converter, convert, relative_difference

DATA = Path(__file__).parent / "data"
GOLDEN = np.load(DATA / "blazepose_golden.npz")
IMAGES = sorted(json.loads((DATA / "blazepose_oracle.json").read_text())["images"])


def _unavailable(reason):
    if os.environ.get("LIFT2D3D_REQUIRE_DETECTOR") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def converter():
    """The converter's build dependencies (the ``models`` extra), which ``[dev]`` does not install."""
    if not models.build_dependencies_available():
        _unavailable("converting the models needs onnx and flatbuffers: pip install -e '.[models]'")


@pytest.fixture(scope="module")
def model_files():
    try:
        return models.check_models()
    except models.ModelError as exc:
        if models.build_dependencies_available():
            return models.build_models(log=lambda m: None)
        _unavailable(f"BlazePose models not built ({exc})")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The pinned mediapipe wheel, downloaded from the package index."""
    try:
        return models.download_wheel(tmp_path_factory.mktemp("wheel"), log=lambda m: None)
    except models.ModelError as exc:
        _unavailable(f"the mediapipe wheel is not reachable ({exc})")


@pytest.fixture(scope="module")
def tflite_models(wheel):
    return models.read_tflite(wheel)


def _session(path_or_bytes):
    import onnxruntime as ort
    return ort.InferenceSession(path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes),
                                providers=["CPUExecutionProvider"])


def _run(session, x):
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {session.get_inputs()[0].name: x})))


# -- golden outputs (everywhere) ---------------------------------------------------------------

def _golden_cases(name):
    cases = sorted({key.split("/")[1] for key in GOLDEN.files if key.startswith(name + "/")})
    assert cases == ["check", "image0", "image1"]
    return cases


def _golden_input(name, case, shape):
    if case == "check":
        return models.check_input(shape)
    small = GOLDEN[f"{name}/{case}/picture"]
    factor = shape[1] // small.shape[0]        # stored at half size, repeated back (exact)
    big = np.repeat(np.repeat(small, factor, axis=0), factor, axis=1).astype(np.float32)
    return (big / 127.5 - 1.0 if name == "pose_detection" else big / 255.0)[None]


@pytest.mark.parametrize("name", list(models.SOURCES))
def test_onnx_outputs_match_tflite_golden_outputs(model_files, name):
    session = _session(model_files[name])
    shape = session.get_inputs()[0].shape
    for case in _golden_cases(name):
        outputs = _run(session, _golden_input(name, case, shape))
        assert len(outputs) == {"pose_detection": 2, "pose_landmark_full": 5}[name]
        for output, value in outputs.items():
            key = f"{name}/{case}/{output}"
            diff = relative_difference(value.ravel()[GOLDEN[key + "/index"]], GOLDEN[key + "/value"],
                                       scale=GOLDEN[key + "/scale"])
            assert diff <= models.tolerance(name, output), (key, diff)


def test_golden_pictures_show_a_person(model_files):
    """The stored inputs are real: the detector finds the person in them, the landmark model too."""
    from lift2d3d.detect import decode
    from lift2d3d.detect.anchors import ssd_anchor_centres
    detector, landmarker = _session(model_files["pose_detection"]), _session(model_files["pose_landmark_full"])
    for case in ("image0", "image1"):
        boxes, scores = _run(detector, _golden_input("pose_detection", case, [1, 224, 224, 3])).values()
        _, _, found = decode.decode_detections(boxes[0], scores[0, :, 0], ssd_anchor_centres())
        assert len(found) >= 1 and found.max() > 0.5
        flag = _run(landmarker, _golden_input("pose_landmark_full", case, [1, 256, 256, 3]))["Identity_1"]
        assert flag.item() > 0.99


# -- against TFLite's interpreter, where LiteRT is installed --------------------------------

@pytest.fixture(scope="module")
def litert():
    return pytest.importorskip("ai_edge_litert.interpreter",
                               reason="LiteRT (pip install ai-edge-litert) is the TFLite reference runtime")


def _interpreter(litert, content, preserve=False):
    interpreter = litert.Interpreter(
        model_content=content, experimental_preserve_all_tensors=preserve,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def _run_tflite(interpreter, x):
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}


def _pipeline_inputs(model_files):
    """The tensors the detector pipeline feeds both models on the test frames."""
    import cv2

    from lift2d3d.detect import PoseDetector

    class Recorder:   # passes every call through to ONNX Runtime, keeping the input
        def __init__(self, session):
            self.session, self.inputs = session, []

        def get_inputs(self):
            return self.session.get_inputs()

        def run(self, names, feed):
            self.inputs.append(next(iter(feed.values())).copy())
            return self.session.run(names, feed)

    detector = PoseDetector(static_image_mode=True, models=model_files)
    detector._detector, detector._landmarker = Recorder(detector._detector), Recorder(detector._landmarker)
    for name in IMAGES:
        assert detector.process(cv2.imread(str(DATA / name))).status == "ok"
    return {"pose_detection": detector._detector.inputs, "pose_landmark_full": detector._landmarker.inputs}


def test_every_output_matches_litert_on_the_test_frames(litert, converter, tflite_models, model_files):
    inputs = _pipeline_inputs(model_files)
    for name, content in tflite_models.items():
        onnx_model, _ = convert(content, name)
        session, interpreter = _session(onnx_model.SerializeToString()), _interpreter(litert, content)
        shape = session.get_inputs()[0].shape
        for x in [*inputs[name], models.check_input(shape)]:
            ours, reference = _run(session, x), _run_tflite(interpreter, x)
            assert set(ours) == set(reference)
            for output, value in ours.items():
                assert value.shape == reference[output].shape and value.dtype == np.float32
                diff = relative_difference(value, reference[output])
                assert diff <= models.tolerance(name, output), (name, output, diff)


def test_densified_weights_equal_tflite_densify(litert, tflite_models):
    content = tflite_models["pose_detection"]
    model = tflite.read_model(content)
    interpreter = _interpreter(litert, content, preserve=True)
    _run_tflite(interpreter, models.check_input((1, 224, 224, 3)))
    densify_ops = [op for op in model.operators if op.opcode == "DENSIFY"]
    assert len(densify_ops) == 38
    for op in densify_ops:
        sparse = model.tensors[op.inputs[0]]
        dense = tflite.densify(model.constant(sparse.index), sparse.shape, sparse.sparsity)
        reference = interpreter.get_tensor(op.outputs[0])
        assert dense.dtype == reference.dtype == np.float16
        assert np.array_equal(dense, reference), sparse.name


# -- the converter's own promises ---------------------------------------------------------

def test_conversion_is_reproducible_and_complete(converter, tflite_models):
    for name, content in tflite_models.items():
        first, report = convert(content, name)
        assert first.SerializeToString() == convert(content, name)[0].SerializeToString()
        ops = {node.op_type for node in first.graph.node}
        assert ops <= {"Conv", "Add", "Relu", "Clip", "Pad", "MaxPool", "Resize", "DepthToSpace", "Reshape",
                       "Concat", "Sigmoid", "Transpose", "Identity"}
        assert "DEQUANTIZE" in report["operators"] and all(i.data_type == 1 for i in first.graph.initializer
                                                            if i.name.endswith("_oihw"))
    assert convert(tflite_models["pose_detection"])[1]["densified"] == 38


def test_densify_block_sparse_example():
    """A 4x4 matrix in 2x2 blocks, CSR over the block rows (the layout of TFLite's sparsity docs)."""
    dense = np.array([[1, 0, 2, 3], [0, 4, 0, 0], [0, 0, 5, 0], [0, 0, 0, 6]], dtype=np.float32)
    sparsity = tflite.Sparsity(traversal_order=(0, 1, 2, 3), block_map=(0, 1), levels=(
        (0, 2, None, None),                                   # block rows: dense
        (1, 0, np.array([0, 2, 3]), np.array([0, 1, 1])),     # block columns: CSR
        (0, 2, None, None), (0, 2, None, None)))              # inside a block: dense
    values = np.array([1, 0, 0, 4, 2, 3, 0, 0, 5, 0, 0, 6], dtype=np.float32)
    assert np.array_equal(tflite.densify(values, (4, 4), sparsity), dense)
    # Plain CSR on the last axis, the layout of the detector's weights.
    csr = tflite.Sparsity((0, 1), (), ((0, 2, None, None), (1, 0, np.array([0, 1, 3]), np.array([1, 0, 2]))))
    assert np.array_equal(tflite.densify(np.array([2.0, 3.0, 4.0]), (2, 3), csr), [[0, 2, 0], [3, 0, 4]])
    with pytest.raises(tflite.TFLiteError, match="names 3 values, 2 stored"):
        tflite.densify(np.array([2.0, 3.0]), (2, 3), csr)


def test_unsupported_input_is_named():
    with pytest.raises(tflite.TFLiteError, match="not a TFLite model"):
        tflite.read_model(b"PK\x03\x04 a zip, not a model")


def test_unsupported_operators_are_named(converter):
    f32 = np.float32
    model = tflite.Model(tensors=(tflite.Tensor(0, "x", (1, 4), f32, 0), tflite.Tensor(1, "y", (1, 4), f32, 0)),
                         operators=(tflite.Operator(0, "SOFTMAX", (0,), (1,)),), inputs=(0,), outputs=(1,),
                         buffers=(b"",), version=3, description="")
    with pytest.raises(ConversionError, match="operator 0 is SOFTMAX"):
        _Converter(model, "test").convert()


# -- the build: where it writes, what status says ---------------------------------------------

def test_build_writes_only_into_the_cache_and_status_reports_it(converter, wheel, tmp_path):
    """A fresh home, temporary folder and cache: after the build only the cache holds anything."""
    home, tmp, cache = tmp_path / "home", tmp_path / "tmp", tmp_path / "cache"
    for folder in (home, tmp):
        folder.mkdir()
    # pip's user agent runs `rustc --version` when rustc is on PATH, and a rustup shim then
    # writes its settings into the fresh HOME: pip's doing, not the build's, so no rustc here.
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not (Path(d) / "rustc").exists())
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), XDG_CACHE_HOME=str(home / ".cache"),
               LIFT2D3D_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1", PATH=path)
    env.pop("ORT_DISABLE_TELEMETRY", None)     # the build turns ONNX Runtime's device id off itself
    cli = [sys.executable, "-m", "lift2d3d", "models"]
    proc = subprocess.run([*cli, "build"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == []
    directory = cache / "models" / models.MODEL_ID
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")) == [
        "models", f"models/{models.MODEL_ID}", f"models/{models.MODEL_ID}/manifest.json",
        f"models/{models.MODEL_ID}/pose_detection.onnx", f"models/{models.MODEL_ID}/pose_landmark_full.onnx"]
    proc = subprocess.run([*cli, "status"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    for name in models.SOURCES:
        path = directory / f"{name}.onnx"
        assert str(path) in proc.stdout and models.sha256_file(path) in proc.stdout
        assert f"{path.stat().st_size:,} bytes" in proc.stdout
    assert "tensorflow" not in proc.stdout.lower()


def test_failed_build_leaves_nothing_behind(converter, tmp_path, monkeypatch):
    monkeypatch.setenv("LIFT2D3D_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / models.WHEEL_FILE
    fake.write_bytes(b"PK not the wheel")
    with pytest.raises(models.ModelError, match="SHA-256"):
        models.build_models(wheel=fake, log=lambda m: None)
    assert [p.name for p in (tmp_path / "cache").rglob("*")] == ["models"]
