"""Bad input never corrupts, escapes or hides a NaN (issue: "the suite passes on any machine ...").

Each test names the defect it guards against; each failed before its fix.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from toymodel import ToyModel, evaluate_loss, feature_norms, n_represented, outputs, train_toy_model
from toymodel.__main__ import FIGURES, MANIFEST, main, output_folder
from toymodel.computation import AbsValueModel, evaluate_abs_loss, train_abs_model
from toymodel.data import density_sweep, generate_sparse_features, geometric_importance
from toymodel.experiments import basic_superposition, feature_geometry_densities, load_feature_geometry
from toymodel.geometry import tegum_factors
from toymodel.metrics import dimensions_per_feature, embedding_angles, superposition
from toymodel.neurons import n_monosemantic
from toymodel.phase import classify_candidate, classify_phase
import toymodel.train as train_module

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- the CLI's output folder

def test_cli_never_writes_through_a_dangling_symlink(tmp_path: Path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "summary.txt").symlink_to(elsewhere / "file")
    with pytest.raises(SystemExit, match="symbolic links named summary.txt"):
        main(["--quick", "--out", str(out)])
    assert not (elsewhere / "file").exists()
    with pytest.raises(outputs.OutputError, match="symbolic links"):
        output_folder(out).check(["summary.txt"])


def test_cli_never_writes_through_a_symlinked_manifest(tmp_path: Path):
    (tmp_path / MANIFEST).symlink_to(tmp_path / "outside")
    with pytest.raises(outputs.OutputError, match="symbolic links named .toymodel-files"):
        output_folder(tmp_path).check(["summary.txt"])
    assert not (tmp_path / "outside").exists()


def test_cli_writes_atomically_and_keeps_the_manifest_consistent(tmp_path: Path, monkeypatch):
    _save(tmp_path, "first", "a.txt")
    real = outputs.atomic_write

    def interrupted_before_the_rename(target, data, check=None):
        if target.name == "a.txt":  # the manifest has been written; Ctrl-C arrives now
            raise KeyboardInterrupt
        real(target, data, check)

    monkeypatch.setattr(outputs, "atomic_write", interrupted_before_the_rename)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path, "second", "a.txt")
    monkeypatch.undo()
    assert (tmp_path / "a.txt").read_text() == "first"  # whole: the old content
    _save(tmp_path, "second", "a.txt")  # the rerun still knows the file as its own: no SystemExit
    assert (tmp_path / "a.txt").read_text() == "second"
    assert (tmp_path / MANIFEST).read_text().count("a.txt") == 1  # only the new hash is left


def _save(path: Path, text: str, name: str) -> None:
    out = output_folder(path)
    out.check([name])
    out.save_text(text, name)


def test_cli_killed_while_saving_leaves_no_truncated_file(tmp_path: Path):
    """A real SIGINT during a real run: every PNG present is whole, and the rerun accepts them all."""
    code = ("import sys; from toymodel.__main__ import main; sys.exit(main(['--quick', '--out', sys.argv[1]]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # interrupt as soon as the first experiment has saved its figures
        if "experiment 1/4 done" in line:
            proc.send_signal(signal.SIGINT)
            break
    proc.wait(timeout=120)
    pngs = [p for p in tmp_path.iterdir() if p.suffix == ".png"]
    assert pngs, "the first experiment should have written its figures"
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.read_bytes()[-8:-4] == b"IEND", p.name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    output_folder(tmp_path).check(FIGURES + ["summary.txt"])  # all ours: no OutputError


def test_cli_refuses_a_file_the_user_edited_after_the_tool_wrote_it(tmp_path: Path):
    _save(tmp_path, "the tool's summary", "summary.txt")
    (tmp_path / "summary.txt").write_text("my edits")
    with pytest.raises(outputs.OutputError, match="did not write.*changed since"):
        output_folder(tmp_path).check(["summary.txt"])


def test_cli_does_not_believe_a_forged_manifest(tmp_path: Path):
    (tmp_path / "summary.txt").write_text("my notes")
    (tmp_path / MANIFEST).write_text("summary.txt\n")  # the old name-only format, or a user's own file
    with pytest.raises(outputs.OutputError, match="not written by this version"):
        output_folder(tmp_path).check(["summary.txt"])
    # a manifest in the right format that lists the name with another content's hash is no better
    (tmp_path / MANIFEST).write_text(output_folder(tmp_path).header + "\n" + "0" * 64 + "  summary.txt\n")
    with pytest.raises(outputs.OutputError, match="summary.txt, which python -m toymodel did not write"):
        output_folder(tmp_path).check(["summary.txt"])
    assert (tmp_path / "summary.txt").read_text() == "my notes"


@pytest.mark.parametrize("make_out, match", [
    (lambda tmp: tmp / "afile" / "sub", "cannot write to --out .*afile/sub"),
    (lambda tmp: Path("/proc/toymodel-x"), "cannot write to --out /proc/toymodel-x"),
    (lambda tmp: tmp / "afile", "exists and is not a folder"),
])
def test_cli_checks_the_destination_before_any_work(tmp_path: Path, make_out, match):
    (tmp_path / "afile").write_text("a file")
    proc = subprocess.run([sys.executable, "-m", "toymodel", "--quick", "--out", str(make_out(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "experiment 1/4" not in proc.stderr  # one clear line, no training
    assert __import__("re").search(match, proc.stderr), proc.stderr


def test_cli_main_in_process_restores_torch_threads(tmp_path: Path, monkeypatch):
    torch.set_num_threads(2)
    try:
        calls = []
        monkeypatch.setattr(sys.modules["toymodel.__main__"], "experiment_1", lambda out, opts: calls.append(
            torch.get_num_threads()) or "")
        for name in ("experiment_2", "experiment_3", "experiment_4"):
            monkeypatch.setattr(sys.modules["toymodel.__main__"], name, lambda out, opts: "")
        assert main(["--out", str(tmp_path)]) == 0
        assert calls == [1]  # the experiments ran on one thread ...
        assert torch.get_num_threads() == 2  # ... and the caller's setting is back
    finally:
        torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------ silent NaN

def test_train_abs_model_divergence_raises_and_leaves_the_model_unchanged():
    model = AbsValueModel(4, 3, n_instances=2)
    before = [t.detach().clone() for t in (model.W1, model.W2, model.b)]
    with pytest.raises(FloatingPointError, match="diverged.*NaN or inf.*lr=10000.*unchanged"):
        train_abs_model(model, 0.5, lr=1e4, steps=50)
    for old, new in zip(before, (model.W1, model.W2, model.b)):
        assert torch.equal(old, new)


def test_train_toy_model_divergence_raises_and_leaves_the_model_unchanged():
    model = ToyModel(5, 2, n_instances=2)
    before = model.W.detach().clone()
    with pytest.raises(FloatingPointError, match="diverged"):
        train_toy_model(model, 0.5, lr=1e6, steps=30)
    assert torch.equal(before, model.W)


def test_a_model_that_already_holds_nan_is_not_called_a_diverged_run():
    model = ToyModel(5, 2)
    with torch.no_grad():
        model.W[0, 1, 0] = float("nan")
    for call in (lambda: train_toy_model(model, 0.1, steps=5), lambda: evaluate_loss(model, 0.1)):
        with pytest.raises(ValueError, match=r"model.W holds non-finite values \(1 NaN.*before any training"):
            call()
    abs_model = AbsValueModel(3, 2)
    with torch.no_grad():
        abs_model.b[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"model.b holds non-finite values \(0 NaN, 1 inf"):
        evaluate_abs_loss(abs_model, 0.1)


@pytest.mark.parametrize("measure", [feature_norms, n_represented, superposition, dimensions_per_feature,
                                     embedding_angles, classify_phase, classify_candidate])
def test_metrics_refuse_a_weight_matrix_holding_nan(measure):
    W = torch.randn(3, 2, 2)  # 2 features in 2 dims: a valid input for every measure (embedding_angles needs m = 2)
    W[1, 0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"W holds non-finite values \(1 NaN"):
        measure(W)


def test_load_feature_geometry_refuses_nan_weights(tmp_path: Path):
    run = load_feature_geometry()
    bad = tmp_path / "nan.npz"
    with np.load(train_module.__file__.replace("train.py", "results/feature_geometry.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["W"] = arrays["W"].copy()
    arrays["W"][0, 0, 0] = np.nan
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="W holds non-finite values.*make_feature_geometry.py"):
        load_feature_geometry(bad)
    assert torch.isfinite(run.W).all()


@pytest.mark.parametrize("damage, match", [
    (lambda data: data[: len(data) // 2], "corrupt or truncated"),
    (lambda data: b"not a zip file at all", "corrupt or truncated"),
    (None, "lacks the entries W, copy_losses, index"),
])
def test_load_feature_geometry_names_a_corrupt_file_and_how_to_remake_it(tmp_path: Path, damage, match):
    path = tmp_path / "feature_geometry.npz"
    if damage is None:
        np.savez(path, densities=np.ones(2))
    else:
        good = Path(train_module.__file__).parent / "results" / "feature_geometry.npz"
        path.write_bytes(damage(good.read_bytes()))
    with pytest.raises(ValueError, match=f"{path}.*{match}.*make_feature_geometry.py"):
        load_feature_geometry(path)


# ------------------------------------------------------------------------------------------------ sizes

def test_a_batch_too_large_for_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"batch_size=1000000000 x 1 models .* needs about .* GB of memory"):
        train_toy_model(ToyModel(5, 2), 0.1, batch_size=10**9, steps=1)
    with pytest.raises(ValueError, match=r"batch_size=1000000000 x 1 models .* needs about"):
        evaluate_loss(ToyModel(5, 2), 0.1, batch_size=10**9)


@pytest.mark.parametrize("call, match", [
    (lambda: ToyModel(10**6, 10**5, n_instances=10), "n_instances=10 x n_features=1000000 x n_hidden=100000 needs"),
    (lambda: AbsValueModel(10**6, 10**5), "n_instances=1 x n_features=1000000 x n_hidden=100000 needs"),
    (lambda: generate_sparse_features(10**9, 100, 0.1), "batch_size=1000000000 x n_instances=1 x n_features=100"),
])
def test_models_and_batches_too_large_for_memory_are_refused(call, match):
    with pytest.raises(ValueError, match=match + r".* about .* GB of memory, but only"):
        call()


def test_too_many_snapshots_are_refused():
    with pytest.raises(ValueError, match="snapshots needs about"):
        train_toy_model(ToyModel(400, 30, n_instances=8), 0.1, steps=10**8, snapshot_every=1)


def test_the_learning_rate_schedule_is_computed_per_step():
    long = train_module.Recipe(steps=10**9, lr=1e-2)  # a schedule a list could not hold: lr_at computes each step
    assert long.lr_at(0) == pytest.approx(1e-2 / (0.05 * 10**9))
    assert long.lr_at(10**9 - 1) == pytest.approx(0.0, abs=1e-12)
    assert train_module.Recipe(lr=1e-2).lr_at(0) == pytest.approx(1e-2 / 150)


# ------------------------------------------------------------------------------- clear errors, one place

@pytest.mark.parametrize("kwargs, match", [
    (dict(seed="a"), "seed must be a non-negative integer below 2\\*\\*63, got 'a'"),
    (dict(seed=2**70), "seed must be a non-negative integer below 2\\*\\*63"),
    (dict(seed=True), "seed must be a non-negative integer"),
    (dict(device="bogus"), "device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got 'bogus'"),
    (dict(device="meta"), "device must be 'cpu', 'cuda'"),
    (dict(device=3.5), "device must be a string"),
])
def test_model_seed_and_device_errors(kwargs, match):
    for cls in (ToyModel, AbsValueModel):
        with pytest.raises(ValueError, match=match):
            cls(5, 2, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU is available here"):
        ToyModel(5, 2, device="cuda")


@pytest.mark.parametrize("x, error, match", [
    (torch.zeros(4, 1, 5, device="meta"), ValueError, "x is on device meta, the model on cpu"),
    (torch.zeros(4, 1, 5, dtype=torch.float64), TypeError, "x is torch.float64 but the model computes in torch.float3"),
    (torch.zeros(4, 1, 5, dtype=torch.int64), TypeError, "x must be float32 or float64.*got torch.int64"),
    (torch.zeros(4, 1, 5, dtype=torch.float16), TypeError, "x must be float32 or float64.*got torch.float16"),
    (np.zeros((4, 1, 5), dtype=np.float32), TypeError, "x must be a torch.Tensor, got ndarray"),
])
def test_forward_names_a_wrong_device_or_dtype(x, error, match):
    for model in (ToyModel(5, 2), AbsValueModel(5, 2)):
        with pytest.raises(error, match=match):
            model(x)


def test_a_float64_model_trains_in_float64_and_a_half_model_is_refused():
    model = ToyModel(5, 2).double()
    result = train_toy_model(model, 0.1, steps=50)
    assert model.W.dtype == torch.float64 and torch.isfinite(result.loss).all()
    assert model(torch.rand(3, 1, 5, dtype=torch.float64)).dtype == torch.float64
    same = ToyModel(5, 2, dtype=torch.float64)  # the same init, drawn in float32
    assert torch.equal(same.W, ToyModel(5, 2).W.double())
    with pytest.raises(TypeError, match=r"model.W must be float32 or float64.*got torch.float16"):
        train_toy_model(ToyModel(5, 2).half(), 0.1, steps=5)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        ToyModel(5, 2, dtype=torch.int32)


def test_float64_training_does_not_depend_on_the_cpu_code_path():
    """The point of float64: MKL's AVX2 and default code paths give the same trained |x| model to ~1e-12."""
    code = ("import torch, sys; from toymodel.experiments import computation_sweep; "
            "s = computation_sweep(n_features=30, n_hidden=12, densities=(0.1, 0.03), steps=300); "
            "sys.stdout.write(repr(s.model.W1.detach().flatten()[:50].tolist()))")
    outs = {}
    for setting in ("AVX2", "COMPATIBLE"):
        env = {**os.environ, "MKL_CBWR": setting}
        outs[setting] = np.array(eval(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                                     text=True, check=True, timeout=120).stdout))
    np.testing.assert_allclose(outs["AVX2"], outs["COMPATIBLE"], rtol=0, atol=1e-10)


def test_evaluate_loss_batch_size_zero_is_a_clear_error():
    for call in (lambda: evaluate_loss(ToyModel(5, 2), 0.1, batch_size=0),
                 lambda: evaluate_abs_loss(AbsValueModel(5, 2), 0.1, batch_size=0)):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            call()


def test_n_densities_zero_is_reported_as_n_densities():
    with pytest.raises(ValueError, match="n_densities must be a positive integer"):
        basic_superposition(n_densities=0, steps=1)
    with pytest.raises(ValueError, match="n_densities must be a positive integer"):
        feature_geometry_densities(0)


@pytest.mark.parametrize("call, name", [
    (lambda: train_toy_model(ToyModel(5, 2), True, steps=1), "density"),
    (lambda: generate_sparse_features(4, 2, [True, 0.5]), "density"),
    (lambda: train_toy_model(ToyModel(5, 2), 0.1, steps=True), "steps"),
    (lambda: train_toy_model(ToyModel(5, 2), 0.1, lr=True), "lr"),
    (lambda: geometric_importance(5, importance_decay=True), "importance_decay"),
    (lambda: basic_superposition(densities=[True, 0.5], steps=1), "densities"),
])
def test_bools_are_not_taken_as_numbers(call, name):
    with pytest.raises(ValueError, match=rf"^{name} .*True"):
        call()


def test_numpy_and_torch_scalars_are_numbers():
    model = ToyModel(5, 2)
    r1 = train_toy_model(model, 0.1, steps=np.int64(20), lr=np.float32(0.01), batch_size=np.int32(64),
                         seed=np.uint8(1))
    r2 = train_toy_model(ToyModel(5, 2), torch.tensor(0.1), steps=torch.tensor(20), lr=torch.tensor(0.01),
                         batch_size=64, seed=1)
    assert r1.recipe.steps == r2.recipe.steps == 20 and isinstance(r1.recipe.steps, int)
    assert torch.allclose(r1.loss, r2.loss)
    assert torch.allclose(geometric_importance(3, np.float64(0.5)), torch.tensor([1.0, 0.5, 0.25]))
    assert density_sweep(np.int64(3), np.float32(0.25)).shape == (3,)
    W = torch.randn(2, 6, 3)
    assert torch.equal(n_monosemantic(W, fraction=np.float64(0.5)), n_monosemantic(W))
    assert tegum_factors(W[0], edge_threshold=np.float32(0.2)) == tegum_factors(W[0])


# ---------------------------------------------------------------------------------------- snapshots

def test_snapshots_record_the_kept_copy_and_end_on_the_final_weights():
    model = ToyModel(5, 2, n_instances=3)
    result = train_toy_model(model, [1.0, 0.3, 0.05], steps=100, snapshot_every=25, n_seeds=2)
    snaps = result.snapshots
    assert snaps["step"].tolist() == [0, 25, 50, 75, 100]
    assert snaps["W"].shape == (5, 3, 5, 2) and snaps["b"].shape == (5, 3, 5) and snaps["loss"].shape == (5, 3)
    assert torch.equal(snaps["W"][-1], model.W.detach())
    assert torch.allclose(snaps["loss"][-1], result.loss)
    # the run is the same with or without recording
    plain = ToyModel(5, 2, n_instances=3)
    train_toy_model(plain, [1.0, 0.3, 0.05], steps=100, n_seeds=2)
    assert torch.equal(plain.W, model.W)
    assert train_toy_model(ToyModel(5, 2), 0.1, steps=10).snapshots is None


def test_train_abs_model_returns_the_same_result_type_with_history():
    result = train_abs_model(AbsValueModel(3, 6), 1.0, steps=40, snapshot_every=20)
    assert isinstance(result, train_module.TrainResult)
    assert result.history["loss"].shape == (len(result.history["step"]), 1)
    assert set(result.snapshots) == {"step", "loss", "W1", "W2", "b"}


# ----------------------------------------------------------------------------------------- .ci/run

def test_ci_phase_summary_keeps_the_phase_that_failed(tmp_path: Path):
    """A red run still shows how long its tests took: the trap closes the phase that was running."""
    script = (REPO / ".ci" / "run").read_text()
    start, stop = script.index("declare -a PHASES"), script.index("trap summary EXIT")
    harness = (script[start:stop] + 'trap summary EXIT\nbegin "tests: failing"\nfalse\nend\n')
    proc = subprocess.run(["bash", "-c", "set -euo pipefail\n" + harness], capture_output=True, text=True,
                          env={**os.environ})
    assert proc.returncode == 1
    assert "tests: failing" in proc.stdout.split("=== phase timings")[1], proc.stdout


# ----------------------------------------------------------------------------- torch's global default dtype

def _seeded_results() -> dict[str, torch.Tensor]:
    """Seeded outputs of the library's public calls, each creating tensors of its own."""
    from toymodel import generate_correlated_features
    from toymodel.phase import candidate_weights
    model = ToyModel(5, 2, 3, seed=0)
    out = {"init W": model.W.detach().clone()}
    train_toy_model(model, density_sweep(3), geometric_importance(5), steps=30, n_seeds=2)
    out.update({"trained W": model.W.detach().clone(), "trained b": model.b.detach().clone(),
                "loss": evaluate_loss(model, density_sweep(3)),
                "batch": generate_sparse_features(4, 5, 0.3, generator=torch.Generator().manual_seed(1)),
                "sets": generate_correlated_features(4, 2, 0.5, generator=torch.Generator().manual_seed(1)),
                "densities": density_sweep(4), "importance": geometric_importance(5),
                "candidate": candidate_weights(3, 1)[0]})
    sweep = basic_superposition(n_densities=2, steps=20, n_seeds=1)
    out.update({"sweep W": sweep.W.clone(), "sweep density": sweep.density.clone()})
    return out


def test_seeded_results_do_not_depend_on_torchs_default_dtype():
    """The same seed gives the same float32 numbers after torch.set_default_dtype(torch.float64) (xavier_normal's
    randn used to take the default dtype, so the same seed trained a different model)."""
    reference = _seeded_results()
    torch.set_default_dtype(torch.float64)
    try:
        other = _seeded_results()
    finally:
        torch.set_default_dtype(torch.float32)
    for name, value in reference.items():
        assert other[name].dtype == value.dtype == torch.float32, name
        assert torch.equal(other[name], value), name
