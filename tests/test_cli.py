"""`python -m toymodel`: writes the figures and the summary, and never overwrites what it did not write."""

from pathlib import Path

import matplotlib.image as mpimg
import pytest
import torch

import toymodel.__main__ as cli
from toymodel.__main__ import FIGURES, MANIFEST, main, output_folder


def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path, capsys):
    mine = tmp_path / "summary.txt"
    mine.write_text("my notes")
    with pytest.raises(SystemExit, match="summary.txt, which python -m toymodel did not write"):
        main(["--quick", "--out", str(tmp_path)])
    assert mine.read_text() == "my notes"
    assert not (tmp_path / FIGURES[0]).exists()  # it stopped before any work


def test_no_option_overwrites_a_file_it_did_not_write(tmp_path: Path, monkeypatch, capsys):
    """--force used to overwrite the user's files: it is gone, and nothing else overwrites them either."""
    for name in ("experiment_1", "experiment_2", "experiment_3", "experiment_4"):
        monkeypatch.setattr(cli, name, lambda out, opts: "")
    (tmp_path / "summary.txt").write_text("my notes")
    with pytest.raises(SystemExit) as exit_info:
        main(["--force", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "unrecognized arguments: --force" in capsys.readouterr().err
    assert (tmp_path / "summary.txt").read_text() == "my notes"


def test_quick_run_writes_every_figure_and_a_summary(tmp_path: Path, capsys):
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    for name in FIGURES:
        image = mpimg.imread(tmp_path / name)
        assert image.shape[0] > 200 and image.shape[1] > 200, name
    summary = (tmp_path / "summary.txt").read_text()
    assert "p = 0.05 (S = 0.95): 5 of 5 represented" in summary
    assert "D* = m / ||W||_F^2 sticks at 1" in summary
    # the files are recorded as its own, so a second run may overwrite them
    assert set(FIGURES + ["summary.txt"]) <= set((tmp_path / MANIFEST).read_text().split())
    output_folder(tmp_path).check(FIGURES + ["summary.txt"])


def test_summary_names_kept_features_only_when_the_norms_clear_the_cut():
    from toymodel.__main__ import _kept_text

    clear = torch.tensor([1.0, 0.98, 1.01, 0.02, 0.0, 0.01])  # the 3 most important kept, the rest dropped
    assert _kept_text(clear, 3) == "features represented (norm > 0.5): [0, 1, 2]"
    # a dense model with equal importance: ||W||_F^2 = n_hidden spread over all features, norms around the cut
    spread = torch.tensor([0.37, 0.35, 0.59, 0.86, 0.37, 0.88, 0.36, 0.47, 0.47, 0.44])
    text = _kept_text(spread, 3)
    assert "features represented" not in text and "||W||_F^2 = 3.0 (n_hidden = 3)" in text and "0.35-0.88" in text
