"""JSON keypoint files read with the same rules as CSV cells: numbers only, within float range.

Python's :mod:`json` turns ``true`` into ``True`` (which NumPy makes 1.0), a
400-digit integer into an int NumPy cannot convert (OverflowError), and
deeply nested arrays into a RecursionError.  :func:`load_json` and
:func:`json_numbers` make each of these a clean error or a flagged value:

* :func:`load_json`: integers too large for a float become ``inf`` (which
  :func:`~.table.check_values` flags as an absurd coordinate, as the CSV
  readers do with ``1e400``), nesting too deep is a :class:`KeypointFormatError`;
* :func:`json_numbers`: an array of numbers (``null`` = missing) as float64;
  a boolean, a string or an object in it is a ValueError naming the value.
"""

from __future__ import annotations

import json

import numpy as np

from .table import KeypointFormatError

__all__ = ["load_json", "loads_json", "json_numbers"]


def _parse_int(text: str):
    # int() of more than 4,300 digits raises, and NumPy cannot convert ints beyond int64/float range
    return int(text) if len(text) <= 18 else float(text)


def loads_json(text, source):
    """``json.loads`` with :func:`_parse_int`; KeypointFormatError naming ``source`` when it fails."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise KeypointFormatError(f"{source}: the JSON is nested too deeply to be keypoints") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeypointFormatError(f"{source}: not valid JSON ({exc})") from None


def load_json(path):
    """The JSON document in the file ``path`` (see :func:`loads_json`)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise KeypointFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KeypointFormatError(f"{path}: not valid JSON (not UTF-8: {exc})") from None
    return loads_json(text, path)


def _check_numbers(values, depth):
    for value in values:
        kind = type(value)
        if kind is float or kind is int or value is None:
            continue
        if kind is list and depth < 2:
            _check_numbers(value, depth + 1)
            continue
        shown = json.dumps(value)[:20] if not isinstance(value, (list, dict)) else type(value).__name__
        raise ValueError(f"{shown} is not a number")


def json_numbers(value) -> np.ndarray:
    """A JSON array (of numbers, or of arrays of numbers) as float64; ``null`` becomes NaN.

    Raises
    ------
    ValueError
        Not an array, or an element that is a boolean, a string or an object
        (JSON's ``true`` must not become the coordinate 1).
    """
    if not isinstance(value, list):
        raise ValueError(f"{type(value).__name__ if value is not None else 'null'} is not an array of numbers")
    _check_numbers(value, 0)
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"not a regular array of numbers ({exc})") from None
