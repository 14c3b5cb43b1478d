"""Converter benchmark: our TFLite -> ONNX models against TFLite itself, on real frames.

Every tensor the detector pipeline feeds the two models on the four Pose2Sim demo videos
(tracked, 400 frames: the detector's letterboxes and the landmark crops) and on the test
frames in tests/data goes through

* the ONNX models built by ``lift2d3d models build`` (ONNX Runtime),
* LiteRT, TFLite's interpreter without TensorFlow (``pip install ai-edge-litert``), with its
  reference kernels (the reference) and with XNNPACK (MediaPipe's CPU path, for scale), and
* optionally the ONNX models of an older TensorFlow + tf2onnx build (``--tf-onnx DIR``).

For every output tensor it prints the largest relative difference
(``tflite_to_onnx.relative_difference``: max |a - b| / max |reference|) against the reference,
and whether our outputs are bit-identical to the tf2onnx build's; also the time of the
conversion itself (both models, in-process, no download) and, with ``--tf-onnx``, ONNX
Runtime's time per call for both builds.  It fails only where an output
strays further from TFLite than twice TFLite's own XNNPACK-vs-reference spread (or tolerance).

Run (about 4 minutes on 2 cores)::

    python benchmarks/converter_equivalence.py [--tf-onnx DIR] [--frames-per-video 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def record_inputs(model_files, videos, images, frames_per_video):
    """The tensors the pipeline feeds each model: {name: [(1, H, W, 3) float32, ...]}."""
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

    from detector_agreement import read_frames
    detector = PoseDetector(models=model_files)
    detector._detector, detector._landmarker = Recorder(detector._detector), Recorder(detector._landmarker)
    for video in videos:
        detector.reset()
        for frame in read_frames(video)[:frames_per_video]:
            detector.process(frame)
    # The person detector runs only when tracking is lost; run it on every 10th frame too.
    detector.static_image_mode = True
    for video in videos:
        for frame in read_frames(video)[:frames_per_video:10]:
            detector.process(frame)
    for image in images:
        detector.process(cv2.imread(str(image)))
    return {"pose_detection": detector._detector.inputs, "pose_landmark_full": detector._landmarker.inputs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "lift2d3d-bench-data"),
                        help="where the pose2sim wheel is downloaded and extracted")
    parser.add_argument("--tf-onnx", metavar="DIR", help="folder with the TensorFlow + tf2onnx build's ONNX files")
    parser.add_argument("--frames-per-video", type=int, default=100)
    args = parser.parse_args(argv)

    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from detector_agreement import CAMERAS, demo_dir

    from lift2d3d.detect import models
    from lift2d3d.detect.tflite_to_onnx import convert, relative_difference

    ort = models.import_onnxruntime()

    model_files = models.build_models(log=lambda m: None)
    with tempfile.TemporaryDirectory() as tmp:
        tflites = models.read_tflite(models.download_wheel(Path(tmp), log=lambda m: None))
    start = time.perf_counter()
    for name, content in tflites.items():
        convert(content, name)
    print(f"conversion of both models (in-process, no download): {time.perf_counter() - start:.2f} s")

    demo = demo_dir(Path(args.data))
    images = sorted((HERE.parent / "tests" / "data").glob("*.jpg"))
    inputs = record_inputs(model_files, [demo / "videos" / f"{c}.mp4" for c in CAMERAS], images,
                           args.frames_per_video)

    def run_tflite(interpreter, x):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}

    def run_onnx(session, x):
        return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input_1": x})))

    worst_overall, spread = {}, {}
    for name, content in tflites.items():
        reference = Interpreter(model_content=content,
                                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        xnnpack = Interpreter(model_content=content)
        for interpreter in (reference, xnnpack):
            interpreter.allocate_tensors()
        ours = ort.InferenceSession(str(model_files[name]), providers=["CPUExecutionProvider"])
        tf = (ort.InferenceSession(str(Path(args.tf_onnx) / f"{name}.onnx"), providers=["CPUExecutionProvider"])
              if args.tf_onnx else None)
        worst = {}
        identical = 0
        for x in inputs[name]:
            ref, fast, mine = run_tflite(reference, x), run_tflite(xnnpack, x), run_onnx(ours, x)
            theirs = run_onnx(tf, x) if tf else None
            same = True
            for output in ref:
                row = worst.setdefault(output, {"ours": 0.0, "xnnpack": 0.0, "tf2onnx": 0.0})
                row["ours"] = max(row["ours"], relative_difference(mine[output], ref[output]))
                row["xnnpack"] = max(row["xnnpack"], relative_difference(fast[output], ref[output]))
                if theirs:
                    row["tf2onnx"] = max(row["tf2onnx"], relative_difference(theirs[output], ref[output]))
                    same = same and np.array_equal(mine[output], theirs[output])
            identical += bool(theirs) and same
        print(f"{name}: {len(inputs[name])} inputs from the pipeline; largest relative difference from "
              f"TFLite's reference kernels, per output (tolerance {models.TOLERANCE:g}"
              + (f"; {models.TOLERANCE_BY_OUTPUT}" if name == "pose_landmark_full" else "") + "):")
        for output, row in worst.items():
            print(f"  {output}: ours {row['ours']:.2e}   TFLite XNNPACK {row['xnnpack']:.2e}"
                  + (f"   tf2onnx build {row['tf2onnx']:.2e}" if tf else ""))
            worst_overall[(name, output)] = row["ours"]
            spread[(name, output)] = row["xnnpack"]
        if tf:
            print(f"  bit-identical to the tf2onnx build on {identical} of {len(inputs[name])} inputs")
    if args.tf_onnx:
        print("ONNX Runtime time per call, 1 thread, median of 25, the two builds called in turn "
              "(this build / the tf2onnx build):")
        for name in tflites:
            sessions = []
            for path in (model_files[name], Path(args.tf_onnx) / f"{name}.onnx"):
                options = ort.SessionOptions()
                options.intra_op_num_threads = options.inter_op_num_threads = 1
                sessions.append(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
            times = [[], []]
            for _ in range(30):
                for session, spent in zip(sessions, times):
                    start = time.perf_counter()
                    session.run(None, {"input_1": inputs[name][0]})
                    spent.append(time.perf_counter() - start)
            print(f"  {name}: " + " / ".join(f"{1000 * np.median(t[5:]):.1f} ms" for t in times))
    within = [f"{n}/{o}" for (n, o), v in worst_overall.items() if v <= models.tolerance(n, o)]
    over = {(n, o): (v, spread[(n, o)]) for (n, o), v in worst_overall.items() if v > models.tolerance(n, o)}
    print(f"EQUIVALENCE with TFLite: {len(within)} of {len(worst_overall)} outputs within the tolerance"
          + "".join(f"; {n}/{o} {v:.2e} (TFLite's XNNPACK vs its reference kernels: {x:.2e})"
                    for (n, o), (v, x) in over.items()))
    # Fails only where ours strays further from TFLite than TFLite's own two CPU paths do (2x margin).
    return 1 if any(v > 2 * max(x, models.tolerance(n, o)) for (n, o), (v, x) in over.items()) else 0


if __name__ == "__main__":
    sys.exit(main())
