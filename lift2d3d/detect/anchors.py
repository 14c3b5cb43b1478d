"""SSD anchors of the BlazePose person detector.

The detector predicts, for each of 2254 anchors on a 224x224 input, a box and
four keypoints as offsets from the anchor centre.  The anchor layout is
MediaPipe's ``SsdAnchorsCalculator`` with the options of
``pose_detection_cpu.pbtxt``: five layers with strides 8, 16, 32, 32, 32;
layers of equal stride share one feature map; every location carries one
anchor per aspect ratio (1.0) plus one interpolated-scale anchor; with
``fixed_anchor_size`` every anchor is 1x1, so only centres matter.
"""

from __future__ import annotations

import numpy as np

INPUT_SIZE = 224
STRIDES = (8, 16, 32, 32, 32)
ANCHOR_OFFSET = 0.5


def ssd_anchor_centres(input_size: int = INPUT_SIZE, strides=STRIDES,
                       offset: float = ANCHOR_OFFSET) -> np.ndarray:
    """Anchor centres in the order the model emits its predictions.

    Returns
    -------
    centres : (n_anchors, 2) float64, (x, y) in [0, 1] of the input tensor
    """
    centres = []
    layer = 0
    while layer < len(strides):
        # Consecutive layers with the same stride share one feature map; each
        # contributes 2 anchors per location (ratio 1.0 + interpolated scale).
        last = layer
        n_per_location = 0
        while last < len(strides) and strides[last] == strides[layer]:
            n_per_location += 2
            last += 1
        size = int(np.ceil(input_size / strides[layer]))
        ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        grid = np.stack([(xs + offset) / size, (ys + offset) / size], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, n_per_location, axis=0))
        layer = last
    return np.concatenate(centres, axis=0)
