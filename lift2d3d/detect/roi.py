"""Regions of interest: rotated square crops that frame one person.

A :class:`Roi` is a rotated rectangle in image pixels.  Both the person
detector and the previous frame's landmarks give two points -- the hip centre
and a point whose distance encodes body size and whose direction encodes the
body's tilt -- and :func:`roi_from_alignment_points` turns them into the crop
the landmark model sees (MediaPipe's ``AlignmentPointsRectsCalculator`` with
target angle 90 degrees, then ``RectTransformationCalculator`` with scale 1.25
and ``square_long``).  :func:`crop` warps the image into the model input with
the same corner correspondence as MediaPipe's OpenCV image-to-tensor
converter, and :func:`project` maps model-space points back to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: The landmark crop is the alignment square grown by this factor.
ROI_SCALE = 1.25


@dataclass(frozen=True)
class Roi:
    """Rotated rectangle in image pixels.

    Attributes
    ----------
    center : (2,) float, pixels (x right, y down)
    width, height : float, pixels
    rotation : float, radians, counter-clockwise in the image as MediaPipe
        defines it (the crop's up axis is rotated by this angle)
    """

    center: tuple
    width: float
    height: float
    rotation: float = 0.0

    def corners(self) -> np.ndarray:
        """(4, 2) float32 corners in the order of ``cv2.boxPoints``."""
        box = ((float(self.center[0]), float(self.center[1])), (float(self.width), float(self.height)),
               float(np.degrees(self.rotation)))
        return cv2.boxPoints(box).astype(np.float32)


def normalize_radians(angle: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return float(angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi)))


def roi_from_alignment_points(start, end, scale: float = ROI_SCALE) -> Roi:
    """Square crop centred on ``start`` whose side is ``2 * scale * |end - start|``.

    Parameters
    ----------
    start, end : (2,) float, pixels
        Hip centre and the size/rotation point (detector keypoints 0, 1 or the
        landmark model's auxiliary landmarks 33, 34).
    scale : float
        Growth factor of the square (1.25 in MediaPipe).
    """
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    size = 2.0 * float(np.hypot(*(end - start)))
    # Target angle 90 deg: the crop is turned so that start -> end points up.
    rotation = normalize_radians(np.pi / 2 - np.arctan2(-(end[1] - start[1]), end[0] - start[0]))
    return Roi(center=(float(start[0]), float(start[1])), width=size * scale, height=size * scale,
               rotation=rotation)


def pad_roi_to_aspect(roi: Roi, out_width: int, out_height: int) -> tuple[Roi, tuple]:
    """Grow ``roi`` to the output aspect ratio (letterbox), keeping its centre.

    Returns the padded ROI and the padding (left, top, right, bottom) as
    fractions of the padded size, which :func:`remove_letterbox` undoes.
    """
    tensor_aspect = out_height / out_width
    roi_aspect = roi.height / roi.width
    if tensor_aspect > roi_aspect:
        new_w, new_h = roi.width, roi.width * tensor_aspect
        pad_v = (1.0 - roi_aspect / tensor_aspect) / 2.0
        padding = (0.0, pad_v, 0.0, pad_v)
    else:
        new_w, new_h = roi.height / tensor_aspect, roi.height
        pad_h = (1.0 - tensor_aspect / roi_aspect) / 2.0
        padding = (pad_h, 0.0, pad_h, 0.0)
    return Roi(roi.center, new_w, new_h, roi.rotation), padding


def crop_matrix(roi: Roi, out_width: int, out_height: int) -> np.ndarray:
    """(3, 3) perspective matrix mapping image pixels into the crop.

    The ROI's corners go to the crop's outer corners, as in MediaPipe's OpenCV
    converter (``boxPoints`` order: bottom-left, top-left, top-right,
    bottom-right of the unrotated box).
    """
    dst = np.array([[0, out_height], [0, 0], [out_width, 0], [out_width, out_height]], dtype=np.float32)
    return cv2.getPerspectiveTransform(roi.corners(), dst)


def crop(image: np.ndarray, roi: Roi, out_width: int, out_height: int,
         border: str = "replicate") -> np.ndarray:
    """Warp the ROI of ``image`` to an ``(out_height, out_width, C)`` uint8 crop.

    ``border`` is ``"replicate"`` (landmark model) or ``"zero"`` (detector).
    """
    mode = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    return cv2.warpPerspective(image, crop_matrix(roi, out_width, out_height), (out_width, out_height),
                               flags=cv2.INTER_LINEAR, borderMode=mode, borderValue=0)


def project(points: np.ndarray, roi: Roi) -> np.ndarray:
    """Map points normalised to the crop ([0, 1]^2) back to image pixels.

    Parameters
    ----------
    points : (..., 2) float, crop fraction (x right, y down)
    roi : Roi the crop was taken from

    Returns
    -------
    (..., 2) float64, image pixels
    """
    p = np.asarray(points, dtype=np.float64) - 0.5
    c, s = np.cos(roi.rotation), np.sin(roi.rotation)
    x = (c * p[..., 0] - s * p[..., 1]) * roi.width + roi.center[0]
    y = (s * p[..., 0] + c * p[..., 1]) * roi.height + roi.center[1]
    return np.stack([x, y], axis=-1)


def remove_letterbox(points: np.ndarray, padding) -> np.ndarray:
    """Undo :func:`pad_roi_to_aspect` on crop-normalised points."""
    left, top, right, bottom = padding
    p = np.asarray(points, dtype=np.float64)
    x = (p[..., 0] - left) / (1.0 - left - right)
    y = (p[..., 1] - top) / (1.0 - top - bottom)
    return np.stack([x, y], axis=-1)
