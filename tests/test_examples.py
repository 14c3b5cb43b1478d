"""Every numbered example runs top to bottom as a notebook, teaches, ends with an exercise, and draws.

The examples are executed exactly as ``examples/make_gallery.py`` executes them
(jupytext -> nbclient, in a fresh temporary directory, Agg/inline backend), so
the gallery and CI see the same notebooks.
"""

import importlib.util
import time
from pathlib import Path

import pytest

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_spec = importlib.util.spec_from_file_location("make_gallery", EXAMPLES / "make_gallery.py")
make_gallery = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_gallery)

PATHS = make_gallery.example_paths()
# The brief: each example runs on a laptop in under a minute.  CI machines are slower and
# compile numba kernels on first use, so the test allows some slack over that budget.
MAX_SECONDS = 120


def test_examples_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in PATHS]
    assert numbers == list(range(1, len(numbers) + 1)), [p.name for p in PATHS]
    assert len(numbers) >= 1


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_example_runs_and_teaches(path, tmp_path):
    import jupytext

    source = jupytext.read(path)
    markdown = [cell.source for cell in source.cells if cell.cell_type == "markdown"]
    assert markdown and markdown[0].lstrip().startswith(f"# {int(path.name[:2])}."), \
        f"{path.name}: the first cell must be a markdown title '# N. ...'"
    assert "What you will learn" in markdown[0], f"{path.name}: the first cell must say what the reader learns"
    assert "## Exercise" in markdown[-1], f"{path.name}: the last markdown cell must hold an exercise"

    start = time.perf_counter()
    notebook = make_gallery.execute_example(path, tmp_path, timeout=MAX_SECONDS)
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.0f} s"

    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert errors == []
    images = make_gallery.gallery_images(notebook)
    assert len(images) >= 1, f"{path.name}: no picture in a cell tagged 'gallery'"
    for png in images:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) < make_gallery.MAX_PNG_BYTES, f"{path.name}: gallery picture over 300 KB"
