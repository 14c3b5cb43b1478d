"""One-euro filtering of the auxiliary landmarks that steer the tracking crop.

MediaPipe (0.10.14, ``PoseLandmarkFiltering``) smooths the two auxiliary
landmarks heavily (min cutoff 0.01 Hz, beta 10, derivative cutoff 1 Hz) so
that the crop of a still person does not jitter yet follows sudden movement.
The speed is measured relative to the object's size in pixels (there: the
side of the alignment square, twice the distance between the two points), so
the filter behaves the same for near and far people.  Reference: Casiez,
Roussel & Vogel, "1 Euro filter", CHI 2012; MediaPipe ``OneEuroFilter``.
"""

from __future__ import annotations

import numpy as np

#: MediaPipe's Python solutions stamp frame k at (k + 1) * 33333 microseconds.
FRAME_PERIOD_US = 33333


def _alpha(cutoff: float, frequency: float) -> float:
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau * frequency)


class OneEuroFilter:
    """Vector one-euro filter over points of shape ``(n, d)``.

    Parameters
    ----------
    min_cutoff : float, Hz
    beta : float, cutoff growth per unit of relative speed
    derivate_cutoff : float, Hz
    frequency : float, Hz, used until two timestamps give the real rate
    min_object_scale : float, pixels; smaller objects pass unfiltered
    """

    def __init__(self, min_cutoff=0.01, beta=10.0, derivate_cutoff=1.0, frequency=30.0,
                 min_object_scale=1e-6):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.derivate_cutoff = derivate_cutoff
        self.initial_frequency = frequency
        self.min_object_scale = min_object_scale
        self.reset()

    def reset(self):
        """Forget the history (after the person is lost)."""
        self.frequency = self.initial_frequency
        self.last_time_us = 0
        self.last_raw = None
        self.value = None
        self.derivative = None

    def __call__(self, points: np.ndarray, time_us: int, object_scale: float | None = None) -> np.ndarray:
        """Filter ``points`` (n, d) observed at ``time_us`` microseconds.

        ``object_scale`` (pixels) defaults to the mean of the points'
        bounding-box width and height.
        """
        points = np.asarray(points, dtype=np.float64)
        if object_scale is None:
            span = points.max(axis=0) - points.min(axis=0)
            object_scale = (span[0] + span[1]) / 2.0
        scale = float(object_scale)
        if scale < self.min_object_scale:
            return points
        if self.last_time_us >= time_us:
            # Same as MediaPipe: a non-increasing timestamp passes the value
            # through without touching the state (this includes frame 0 at t=0).
            return points
        if self.last_time_us != 0 and time_us != 0:
            self.frequency = 1e6 / (time_us - self.last_time_us)
        self.last_time_us = time_us
        if self.last_raw is None:
            speed = np.zeros_like(points)
        else:
            speed = (points - self.last_raw) / scale * self.frequency
        a_d = _alpha(self.derivate_cutoff, self.frequency)
        self.derivative = speed if self.derivative is None else a_d * speed + (1 - a_d) * self.derivative
        cutoff = self.min_cutoff + self.beta * np.abs(self.derivative)
        a = _alpha(cutoff, self.frequency)
        self.value = points if self.value is None else a * points + (1 - a) * self.value
        self.last_raw = points
        return self.value.copy()
