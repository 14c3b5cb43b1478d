"""Execute the numbered examples as notebooks and regenerate the README gallery.

    python examples/make_gallery.py                  # every example -> docs/gallery/*.png
    python examples/make_gallery.py 01 05            # only examples 01 and 05
    python examples/make_gallery.py --notebooks out/ # also keep the executed .ipynb files

Each ``examples/NN_*.py`` is a percent-format script (jupytext).  It is turned
into a notebook, executed top to bottom with nbclient in a fresh temporary
directory (so an example cannot depend on files left by another), and every
picture shown by a cell tagged ``gallery`` (``# %% tags=["gallery"]``) is
written to ``docs/gallery/NN_name.png``.  The pictures therefore always come
from the code a reader runs.  This script needs jupytext, nbclient and
ipykernel (the ``dev`` extra), not lift2d3d itself; the kernel imports
lift2d3d from the environment it runs in.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
GALLERY = REPO / "docs" / "gallery"
GALLERY_TAG = "gallery"
#: Pictures in the gallery are kept under this size (bytes) so the repository stays light.
MAX_PNG_BYTES = 300_000

# Run first in every kernel: a fixed resolution so the gallery does not depend on the
# machine's matplotlib defaults, and no GUI backend.
_SETUP = "import matplotlib\nmatplotlib.rcParams['figure.dpi'] = 80\nmatplotlib.rcParams['savefig.dpi'] = 80"


def example_paths(selected=()):
    """The numbered example scripts, in order (``selected``: number prefixes such as ``"01"``)."""
    paths = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))
    if selected:
        paths = [p for p in paths if any(p.name.startswith(s.zfill(2)) for s in selected)]
    return paths


def execute_example(path, workdir, timeout=600):
    """Run one example as a notebook in ``workdir``.

    Parameters
    ----------
    path : Path
        A percent-format ``NN_*.py`` script.
    workdir : Path
        Working directory of the kernel (files the example writes land here).
    timeout : int
        Seconds allowed per cell.

    Returns
    -------
    notebook : nbformat.NotebookNode
        The executed notebook, outputs included.  A cell that raises raises
        ``nbclient.exceptions.CellExecutionError`` naming the cell.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_SETUP, metadata={"tags": ["setup"]}))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = dict(os.environ)
    # The kernel must import the lift2d3d of this checkout when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    # Inline, whatever the caller uses (CI exports MPLBACKEND=Agg): the pictures must reach the
    # notebook's outputs to be checked and saved.
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # The examples' matrices are small: BLAS threads only add overhead (on a busy 2-core CI
    # machine, 20x for the dictionary learning of example 2).  numba's threads are unaffected.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    return notebook


def gallery_images(notebook):
    """PNG bytes shown by the cells tagged ``gallery``, in order."""
    images = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or GALLERY_TAG not in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                images.append(base64.b64decode(data["image/png"]))
    return images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="*", help="number prefixes to run (default: all)")
    parser.add_argument("--out", type=Path, default=GALLERY, help=f"gallery folder (default {GALLERY})")
    parser.add_argument("--notebooks", type=Path, help="also write the executed notebooks here")
    args = parser.parse_args(argv)
    paths = example_paths(args.examples)
    if not paths:
        print(f"no examples match {args.examples}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in paths:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lift2d3d-example-") as workdir:
            try:
                notebook = execute_example(path, Path(workdir))
            except Exception as exc:  # report every example, not just the first failure
                print(f"{path.name}: FAILED\n{exc}", file=sys.stderr)
                failures += 1
                continue
        images = gallery_images(notebook)
        written = []
        for i, png in enumerate(images):
            name = path.stem + ("" if i == 0 else f"_{i + 1}") + ".png"
            target = args.out / name
            tmp = target.with_suffix(".png.tmp")
            tmp.write_bytes(png)
            tmp.replace(target)
            size = len(png)
            written.append(f"{name} ({size // 1000} KB{', TOO BIG' if size > MAX_PNG_BYTES else ''})")
        if args.notebooks:
            import nbformat
            args.notebooks.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, args.notebooks / (path.stem + ".ipynb"))
        print(f"{path.name}: {time.perf_counter() - start:.1f} s; {', '.join(written) or 'no gallery picture'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
