"""Make the detector test fixtures (run once by a developer; the outputs are committed).

    python tests/data/make_detect_fixtures.py --oracle-python /work/oracle-venv/bin/python

1. Downloads pose2sim==0.10.49 from PyPI (pip download, not installed) and takes three frames of
   its demo videos (Pose2Sim/Demo_SinglePerson, BSD-3-Clause, David Pagnon): cam01 frame 0,
   cam02 frame 50, cam04 frame 99, cropped to 1080 wide, halved to 540x960 and saved as JPEG (quality 90).
2. Runs MediaPipe's own Pose solution (mediapipe==0.10.14, model_complexity=1,
   static_image_mode=True) on the decoded JPEG pixels in the oracle environment and stores its 33
   landmarks (x, y pixels, visibility, presence) per image in blazepose_oracle.json.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FRAMES = (("cam01", 0), ("cam02", 50), ("cam04", 99))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--oracle-python", default="/work/oracle-venv/bin/python")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from detector_agreement import demo_dir

    demo = demo_dir(Path(tempfile.gettempdir()) / "lift2d3d-bench-data")
    names, pixels = [], []
    for cam, index in FRAMES:
        capture = cv2.VideoCapture(str(demo / "videos" / f"{cam}.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        assert ok, (cam, index)
        frame = frame[:, (frame.shape[1] - 1080) // 2:][:, :1080]  # cam03/04 are 1088 wide
        small = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
        name = f"pose2sim_{cam}_{index:03d}.jpg"
        cv2.imwrite(str(HERE / name), small, [cv2.IMWRITE_JPEG_QUALITY, 90])
        names.append(name)
        pixels.append(cv2.imread(str(HERE / name)))
    with tempfile.TemporaryDirectory() as tmp:
        frames_file, out_file = Path(tmp) / "frames.npy", Path(tmp) / "oracle.npy"
        np.save(frames_file, np.stack(pixels))
        subprocess.run([args.oracle_python, str(ROOT / "benchmarks" / "detector_agreement.py"), "oracle",
                        str(frames_file), str(out_file), "--static"], check=True)
        oracle = np.load(out_file)
    reference = {
        "oracle": "mediapipe==0.10.14 mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)",
        "command": "python tests/data/make_detect_fixtures.py --oracle-python /work/oracle-venv/bin/python",
        "columns": ["x_px", "y_px", "visibility", "presence"],
        "images": {n: np.round(o, 3).tolist() for n, o in zip(names, oracle)},
    }
    (HERE / "blazepose_oracle.json").write_text(json.dumps(reference, indent=None) + "\n")
    print("wrote", ", ".join(names), "and blazepose_oracle.json")


if __name__ == "__main__":
    main()
