"""`lift2d3d run FOLDER --overlay x.png`: one overlay picture per file of the folder."""

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from lift2d3d.commands.run import overlay_paths

DATA = Path(__file__).parent / "data"


def test_overlay_paths_name_one_picture_per_file():
    paths = overlay_paths(Path("out/x.png"), ["a.jpg", "b.png", "a.jpg", "clip.mp4"])
    assert paths == {"a.jpg": Path("out/x_a.png"), "b.png": Path("out/x_b.png"), "clip.mp4": Path("out/x_clip.png")}
    clash = overlay_paths(Path("x.jpg"), ["a.jpg", "a.png"])
    assert clash == {"a.jpg": Path("x_a_jpg.jpg"), "a.png": Path("x_a_png.jpg")}
    assert len(set(clash.values())) == 2


@pytest.fixture(scope="module")
def model_files():
    from lift2d3d.detect import models
    try:
        return models.check_models()
    except models.ModelError as exc:
        if models.build_dependencies_available():
            return models.build_models(log=lambda m: None)
        if os.environ.get("LIFT2D3D_REQUIRE_DETECTOR") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"BlazePose models not built ({exc})")


def test_run_on_a_folder_writes_one_overlay_per_image(model_files, tmp_path, capsys):
    from lift2d3d.bases import BasesFileError, ShapeBases
    try:
        ShapeBases.load("default")
    except (BasesFileError, FileNotFoundError, OSError) as exc:
        pytest.skip(f"shipped bases not available: {exc}")
    from lift2d3d.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    images = sorted(DATA.glob("*.jpg"))[:2]
    for image in images:
        shutil.copy(image, folder / image.name)
    out, picture = tmp_path / "lifted.csv", tmp_path / "pictures" / "x.png"
    assert main(["run", str(folder), "-o", str(out), "--overlay", str(picture)]) == 0
    lifted = pd.read_csv(out)
    assert sorted(lifted["source"].unique()) == [image.name for image in images]
    for image in images:
        drawn = cv2.imread(str(picture.with_name(f"x_{image.stem}.png")))
        assert drawn is not None and drawn.shape[1] == 3 * drawn.shape[0]
    assert not picture.exists()
    assert "one per file" in capsys.readouterr().err
    assert np.isfinite(lifted[[c for c in lifted.columns if c.endswith("_z")]].to_numpy()).all()
