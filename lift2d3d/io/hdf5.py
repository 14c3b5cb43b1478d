"""pandas HDF5 tables (DeepLabCut's ``.h5``) read safely: h5py in a child process, nothing unpickled.

PyTables unpickles node attributes when pandas opens a file, so a crafted
``.h5`` would run code; and the HDF5 C library can crash on a damaged file.
:func:`read_pandas_hdf` therefore runs ``_hdf5_child.py`` (numpy and h5py
only) as a separate process: it decodes the table's datasets directly and
reads pandas' pickled attributes as plain literals (an opcode that imports or
calls anything is refused), and a crash, a hang or an error there becomes a
:class:`KeypointFormatError` naming the file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .table import KeypointFormatError

__all__ = ["read_pandas_hdf", "H5_HINT", "is_hdf5"]

H5_HINT = ("reading DeepLabCut .h5 files needs h5py: pip install 'lift2d3d[h5]' (or pip install h5py), "
           "or read the CSV DeepLabCut writes beside it (analyze_videos(..., save_as_csv=True))")
_CHILD = Path(__file__).with_name("_hdf5_child.py")
#: Seconds the child may take: a base for starting Python and h5py, plus some per megabyte.
_TIMEOUT_BASE, _TIMEOUT_PER_MB = 60.0, 1.0


def is_hdf5(path) -> bool:
    """True when the file starts with the HDF5 signature."""
    try:
        with open(Path(path), "rb") as handle:
            return handle.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def _have_h5py() -> bool:
    import importlib.util

    if "h5py" in sys.modules:             # imported already, or blocked (None)
        return sys.modules["h5py"] is not None
    return importlib.util.find_spec("h5py") is not None


def read_pandas_hdf(path):
    """The DataFrame a pandas HDF5 file holds, as plain arrays.

    Returns
    -------
    values : (n_rows, n_columns) float64
    columns : (n_columns, n_levels) str
    level_names : list of str, the column levels' names
    index : list of 1-D arrays, one per index level (numbers or str)
    key : str, the table's key (``/df_with_missing``)

    Raises
    ------
    KeypointFormatError
        h5py is missing, or the file is not a readable pandas table (damaged,
        another layout, pickled objects): the message names the file.
    """
    path = Path(path)
    if not _have_h5py():
        raise KeypointFormatError(f"{path}: {H5_HINT}")
    timeout = _TIMEOUT_BASE + _TIMEOUT_PER_MB * path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="lift2d3d-h5-") as folder:
        out = Path(folder) / "table.npz"
        # the caller's environment (where h5py may be found), with HDF5's file locking off: the file is only read
        env = dict(os.environ, HDF5_USE_FILE_LOCKING="FALSE")
        try:
            done = subprocess.run([sys.executable, str(_CHILD), str(path.resolve()), str(out)],
                                  capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise KeypointFormatError(f"{path}: reading the HDF5 file took over {timeout:.0f} s and was stopped; "
                                      "the file is damaged or not a DeepLabCut pose file") from None
        if done.returncode < 0:
            try:
                name = signal.Signals(-done.returncode).name
            except ValueError:
                name = f"signal {-done.returncode}"
            raise KeypointFormatError(f"{path}: the HDF5 library crashed reading it ({name}); the file is damaged "
                                      "(re-export it, or read the CSV DeepLabCut writes beside it)")
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {done.returncode}"
            if "No module named 'h5py'" in reason:
                raise KeypointFormatError(f"{path}: {H5_HINT}")
            raise KeypointFormatError(f"{path}: not a readable DeepLabCut HDF5 pose file ({reason[:300]})")
        try:
            with np.load(out, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise KeypointFormatError(f"{path}: not a readable DeepLabCut HDF5 pose file ({exc})") from None
    index = [arrays[f"index_{k}"] for k in range(sum(1 for name in arrays if name.startswith("index_")))]
    return arrays["values"], arrays["columns"], list(arrays["level_names"]), index, str(arrays["key"])
