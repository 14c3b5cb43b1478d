"""How far each tool's export of the same keypoints lifts from the plain wide CSV of them.

Every writer of ``tests/tool_files.py`` (OpenPose, COCO results, MMPose video and images, MediaPipe
named and numbered -- unseen landmarks at the image centre with visibility 0.001, as MediaPipe
writes them --, DeepLabCut CSV/H5, Sports2D TRC, NumPy, the two CSV layouts) writes one set of
keypoints; each file is lifted with ``lift_file`` and compared joint by joint with the lift of the
plain wide CSV of the keypoints the file encodes (what ``test_io_contract`` asserts, < 2 mm).

    python benchmarks/tool_exports.py [--bases default]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None):
    from tool_files import WRITERS

    from lift2d3d import Lifter
    from lift2d3d.io import read_keypoints
    from lift2d3d.pipeline import lift_file, lift_keypoints

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", default="default")
    args = parser.parse_args(argv)
    lifter = Lifter(bases=args.bases)
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, writer in WRITERS.items():
            where = Path(folder) / name
            where.mkdir()
            written = writer(where)
            plain = where / "plain.csv"
            written.plain_frame().to_csv(plain, index=False, float_format="%.17g")
            expected = lift_keypoints(read_keypoints(plain), lifter)
            lift_file(written.path, where / "lifted.csv", lifter, **written.options)
            got = pd.read_csv(where / "lifted.csv")
            xyz = [c for c in expected.columns if c[-2:] in ("_x", "_y", "_z") and c not in written.ids.columns]
            both = expected["status"].isin(["ok", "not_converged"]).to_numpy() & got["status"].isin(
                ["ok", "not_converged"]).to_numpy()
            moved = np.abs(got.loc[both, xyz].to_numpy(float) - expected.loc[both, xyz].to_numpy(float))
            worst = max(worst, moved.max())
            print(f"  {name:20s} {both.sum()} rows lifted in both, largest difference {1000 * moved.max():.4f} mm")
    print(f"largest difference over every tool's export: {1000 * worst:.4f} mm (target <= 2 mm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
