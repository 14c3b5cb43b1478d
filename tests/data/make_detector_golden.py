"""Make the converter's golden outputs (run once by a developer; the outputs are committed).

    pip install ai-edge-litert      # LiteRT, TFLite's interpreter (no TensorFlow)
    python tests/data/make_detector_golden.py

1. Downloads the mediapipe==0.10.14 wheel (lift2d3d.detect.models.download_wheel) and reads
   its two TFLite files (SHA-256 checked).
2. Inputs per model: two of the test frames as the detector pipeline feeds them (the 224x224
   letterbox of the whole frame, the 256x256 landmark crop of the detected person), reduced to
   112x112 / 128x128 uint8 RGB and stored (the test scales them up 2x by pixel repetition, so
   the model input is exactly reproducible), and the fixed pseudo-random input of the
   build-time check (models.check_input).
3. Runs LiteRT's interpreter (reference kernels, no delegate) on each input and stores, per
   output tensor, max |output| and the values at up to 2048 flat indices (all elements of a
   small tensor; else its 1024 largest |values| and 1024 indices drawn with a fixed seed), in
   blazepose_golden.npz.
4. Prints the ``REFERENCE`` table of lift2d3d/detect/models.py (the build-time check).
"""

import argparse
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from lift2d3d.detect import models  # noqa: E402  (after the sys.path line)

IMAGES = ("pose2sim_cam01_000.jpg", "pose2sim_cam04_099.jpg")
REDUCE = 2
N_SAMPLES = 2048


def model_input(name, small):
    """The model input from a stored reduced picture (uint8 RGB): pixel repetition, scaled."""
    big = np.repeat(np.repeat(small, REDUCE, axis=0), REDUCE, axis=1).astype(np.float32)
    return (big / 127.5 - 1.0 if name == "pose_detection" else big / 255.0)[None]


def pipeline_inputs(tflites, tmp):
    """The detector's and the landmark model's inputs for IMAGES, from the real pipeline."""
    from lift2d3d.detect import PoseDetector
    from lift2d3d.detect.tflite_to_onnx import convert

    paths = {}
    for name, content in tflites.items():
        paths[name] = Path(tmp) / f"{name}.onnx"
        paths[name].write_bytes(convert(content, name)[0].SerializeToString())

    class Recorder:
        def __init__(self, session):
            self.session, self.inputs = session, []

        def get_inputs(self):
            return self.session.get_inputs()

        def run(self, names, feed):
            self.inputs.append(next(iter(feed.values()))[0].copy())
            return self.session.run(names, feed)

    detector = PoseDetector(static_image_mode=True, models=paths)
    detector._detector, detector._landmarker = Recorder(detector._detector), Recorder(detector._landmarker)
    for image in IMAGES:
        assert detector.process(cv2.imread(str(HERE / image))).status == "ok", image
    out = {}
    for name, recorder, size, back in (
            ("pose_detection", detector._detector, 224 // REDUCE, lambda x: (x + 1) * 127.5),
            ("pose_landmark_full", detector._landmarker, 256 // REDUCE, lambda x: x * 255)):
        assert len(recorder.inputs) == len(IMAGES)
        out[name] = [cv2.resize(np.clip(back(x), 0, 255).astype(np.uint8), (size, size),
                                interpolation=cv2.INTER_AREA) for x in recorder.inputs]
    return out


def main():
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    from ai_edge_litert import __version__ as litert_version
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    golden = {"litert_version": np.array(litert_version)}
    reference = {}
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        tflites = models.read_tflite(models.download_wheel(Path(tmp), log=lambda m: None))
        pictures = pipeline_inputs(tflites, tmp)
        for name, content in tflites.items():
            interpreter = Interpreter(model_content=content,
                                      experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            interpreter.allocate_tensors()
            detail = interpreter.get_input_details()[0]
            cases = {f"image{k}": model_input(name, p) for k, p in enumerate(pictures[name])}
            cases["check"] = models.check_input(detail["shape"])
            for k, picture in enumerate(pictures[name]):
                golden[f"{name}/image{k}/picture"] = picture
            for case, x in cases.items():
                interpreter.set_tensor(detail["index"], x)
                interpreter.invoke()
                for out in interpreter.get_output_details():
                    value = interpreter.get_tensor(out["index"]).ravel()
                    if value.size <= N_SAMPLES:
                        index = np.arange(value.size)
                    else:
                        largest = np.argsort(-np.abs(value), kind="stable")[: N_SAMPLES // 2]
                        rest = np.setdiff1d(np.arange(value.size), largest)
                        index = np.sort(np.concatenate([largest, rng.choice(rest, N_SAMPLES // 2, replace=False)]))
                    key = f"{name}/{case}/{out['name']}"
                    golden[f"{key}/index"] = index.astype(np.int32)
                    golden[f"{key}/value"] = value[index].astype(np.float32)
                    golden[f"{key}/scale"] = np.float32(np.abs(value).max())
                    if case == "check":
                        spread = np.linspace(0, value.size - 1, 5).astype(int)
                        chosen = dict.fromkeys([int(np.argmax(np.abs(value)))] + [int(i) for i in spread])
                        reference.setdefault(name, {})[out["name"]] = (
                            float(np.abs(value).max()), tuple((i, float(value[i])) for i in chosen))
    np.savez_compressed(HERE / "blazepose_golden.npz", **golden)
    print(f"wrote blazepose_golden.npz ({(HERE / 'blazepose_golden.npz').stat().st_size} bytes); REFERENCE:")
    print("REFERENCE = {")
    for name, outputs in reference.items():
        print(f'    "{name}": {{')
        for output, (scale, samples) in outputs.items():
            # A no-break space inside each pair keeps the pairs whole when wrapping.
            body = textwrap.fill(" ".join(f"({i},\xa0{v!r})," for i, v in samples), width=100,
                                 initial_indent=" " * 12, subsequent_indent=" " * 12).replace("\xa0", " ")
            print(f'        "{output}": ({scale!r}, (\n{body}\n        )),')
        print("    },")
    print("}")


if __name__ == "__main__":
    main()
