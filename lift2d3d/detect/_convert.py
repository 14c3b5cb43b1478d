"""Build-time converter: BlazePose TFLite -> ONNX (needs TensorFlow and tf2onnx).

Run as ``python path/to/_convert.py SRC.tflite DST.onnx [--densify]``.
It imports nothing from lift2d3d, so it can run under any interpreter that has
``tensorflow`` (or ``tensorflow-cpu``) and ``tf2onnx`` installed, including a
separate build environment (``lift2d3d models build --python PATH``).

Steps
-----
1. ``--densify``: MediaPipe's person detector stores 38 weight tensors sparse
   (TFLite ``DENSIFY`` ops), which tf2onnx cannot convert.  The TFLite
   interpreter (reference kernels, no delegate) computes every densified
   tensor once; we write each one back as a constant buffer and drop the
   ``DENSIFY`` ops.  The densified model is checked to give bit-identical
   outputs to the original on a random input.
2. tf2onnx converts the dense TFLite flatbuffer (opset 13).
3. The ONNX model is run with onnxruntime (if installed) or skipped, and the
   TFLite reference interpreter on the same fixed pseudo-random input; the
   largest absolute difference per output, relative to the output's range, is
   written to the JSON report.  A relative error above 1e-3 fails the build.

The JSON report (``DST.onnx.json``) records the converter versions and the
agreement figures; the caller folds it into the model manifest.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

# tf2onnx's node naming depends on set iteration order; pinning the hash seed
# does not make the bytes reproducible, so the build is checked numerically
# (step 3) rather than by the SHA-256 of the ONNX file.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Largest tolerated |onnx - tflite| / max|tflite| per output.
REL_TOLERANCE = 1e-3


def _schema():
    import tensorflow as tf
    path = os.path.join(os.path.dirname(tf.__file__), "lite", "python", "schema_py_generated.py")
    spec = importlib.util.spec_from_file_location("_tflite_schema", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _interpreter(model_content: bytes, preserve: bool = False):
    import tensorflow as tf
    # Reference kernels: the XNNPACK delegate fuses DENSIFY/DEQUANTIZE into its
    # own packed weights and leaves the intermediate tensors unwritten.
    interp = tf.lite.Interpreter(
        model_content=model_content,
        experimental_preserve_all_tensors=preserve,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    return interp


def _test_input(interp):
    import numpy as np
    detail = interp.get_input_details()[0]
    rng = np.random.default_rng(20240508)
    return rng.uniform(0.0, 1.0, size=tuple(detail["shape"])).astype(np.float32)


def _run_tflite(interp, x):
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return {d["name"]: interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()}


def densify(model_content: bytes) -> tuple[bytes, int]:
    """Replace every DENSIFY op by a constant holding its dense output.

    Returns the new flatbuffer and the number of ops removed.
    """
    import flatbuffers
    import numpy as np

    schema = _schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_content, 0))
    interp = _interpreter(model_content, preserve=True)
    _run_tflite(interp, _test_input(interp))

    n_removed = 0
    for subgraph in model.subgraphs:
        kept = []
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            if builtin != schema.BuiltinOperator.DENSIFY:
                kept.append(op)
                continue
            dense = np.ascontiguousarray(interp.get_tensor(op.outputs[0]))
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(dense.tobytes(), dtype=np.uint8)
            model.buffers.append(buffer)
            subgraph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
            # The sparse source is now unused; emptying it keeps the file small.
            sparse = subgraph.tensors[op.inputs[0]]
            model.buffers[sparse.buffer].data = None
            n_removed += 1
        subgraph.operators = kept

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dense_content = bytes(builder.Output())

    x = _test_input(interp)
    before = _run_tflite(_interpreter(model_content), x)
    after = _run_tflite(_interpreter(dense_content), x)
    for name in before:
        if not np.array_equal(before[name], after[name]):
            raise RuntimeError(f"densified detector differs from the original on output {name!r}")
    return dense_content, n_removed


def convert(src: str, dst: str, do_densify: bool = False, opset: int = 13) -> dict:
    """Convert ``src`` (TFLite) to ``dst`` (ONNX) and return the build report."""
    import numpy as np
    import tensorflow as tf
    import tf2onnx

    with open(src, "rb") as f:
        content = f.read()
    report = {"source": os.path.basename(src), "tensorflow": tf.__version__,
              "tf2onnx": tf2onnx.__version__, "opset": opset, "densified_ops": 0}
    if do_densify:
        content, report["densified_ops"] = densify(content)
    tmp_tflite = dst + ".dense.tflite"
    with open(tmp_tflite, "wb") as f:
        f.write(content)
    try:
        tf2onnx.convert.from_tflite(tmp_tflite, opset=opset, output_path=dst)
    finally:
        os.remove(tmp_tflite)

    interp = _interpreter(content)
    x = _test_input(interp)
    reference = _run_tflite(interp, x)
    agreement = {}
    try:
        import onnxruntime as ort
    except ImportError:
        report["agreement"] = "not checked (onnxruntime missing in the build environment)"
    else:
        session = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
        outputs = session.run(None, {session.get_inputs()[0].name: x})
        for meta, value in zip(session.get_outputs(), outputs):
            ref = reference[meta.name]
            rel = float(np.abs(value - ref).max() / max(float(np.abs(ref).max()), 1e-6))
            agreement[meta.name] = rel
        report["agreement"] = agreement
        # The segmentation mask is unbounded logits that we never use; it is
        # recorded but not held to the tolerance.
        bad = {k: v for k, v in agreement.items() if v > REL_TOLERANCE and k != "Identity_2"}
        if bad:
            raise RuntimeError(f"ONNX conversion of {src} disagrees with TFLite: {bad}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--densify", action="store_true")
    parser.add_argument("--opset", type=int, default=13)
    args = parser.parse_args(argv)
    report = convert(args.src, args.dst, args.densify, args.opset)
    with open(args.dst + ".json", "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
