"""The CUDA path of training (SGD, Hessian-Free, CNN patches), prediction, features and checkpoints.

Every test but the first group runs on a CUDA device and is skipped without one
(``MIRLEARN_CUDA_TESTS=cpu`` runs their code on the CPU: see ``tests/cuda_support.py``);
``benchmarks/device_check.sh`` runs them on a GPU machine. Each takes seconds on a GPU.

Tolerances, CPU against CUDA (both float32 unless said otherwise):

- TF32 is switched off for the comparisons (:func:`ieee_fp32`): torch lets cuDNN convolutions
  use it by default, and its 10-bit mantissa (~5e-4 relative per product) would swamp every
  float32 tolerance below. One test checks the default precision against a looser bound.
- Forward passes of the same weights (predictions, features): the devices sum the same products
  in another order (cuBLAS/cuDNN tiles against MKL/oneDNN), ~1e-6 relative after a few layers;
  checked at ``rtol=1e-4, atol=1e-5`` (100× margin; atol for activations near 0).
- Trained weights after tens of SGD steps from the same initial weights and the same batches
  (the shuffles are NumPy's, the same on both): the last-bit differences of each step carry
  over, and a ReLU or max-pool whose inputs nearly tie may route one gradient differently;
  checked at ``rtol=1e-3, atol=1e-4`` — still far below the O(1e-1) a wrong batch, a missing
  standardisation or a stale weight would give. Dropout is off in these comparisons: the masks
  come from the device's own generator (Philox on CUDA, Mersenne Twister on the CPU), so they
  differ by design.
- Hessian-Free is compared in float64: its discrete choices (CG's stopping iteration, the
  backtracked iterate, the damping update) could flip on float32 differences and send the two
  runs apart legitimately; in float64 the runs agree to ~1e-12 and the same choices are made,
  so the objectives are checked at ``rtol=1e-8`` and the weights at ``rtol=1e-6, atol=1e-9``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.cnn import PatchCNN
from mirlearn.nn.mlp import MLP
from mirlearn.nn.patches import BandStandardizer, even_patches
from mirlearn.nn.train import HFConfig, TrainConfig, load_checkpoint, train_hf, train_sgd
from mirlearn.nn.train.patches import PatchTrainConfig, patch_features, predict_patches, train_patches
from tests.cuda_support import DEVICE, ON_CUDA, ieee_fp32, needs_cuda, tensors

#: Tolerances (see the module docstring).
FORWARD = dict(rtol=1e-4, atol=1e-5)
TRAINED = dict(rtol=1e-3, atol=1e-4)
HF64_OBJECTIVE = dict(rtol=1e-8, atol=0.0)
HF64_WEIGHTS = dict(rtol=1e-6, atol=1e-9)

# -- data and nets ---------------------------------------------------------------------------

@pytest.fixture
def blobs(rng):
    """Three separable 20-D Gaussian blobs: 600 training and 300 validation frames."""
    centres = rng.normal(size=(3, 20)) * 1.5

    def draw(n):
        y = rng.integers(0, 3, n)
        return (centres[y] + rng.normal(size=(n, 20))).astype(np.float32), y.astype(np.int64)

    return (*draw(600), *draw(300))


def _mlp(**kw) -> MLP:
    args = dict(n_in=20, hidden=(32, 32), n_out=3, dropout=0.0, seed=0)
    args.update(kw)
    return MLP(**args)


def _sgd_cfg(device: str, **kw) -> TrainConfig:
    args = dict(lr=0.05, batch_size=32, max_epochs=4, patience=10, seed=0, device=device)
    args.update(kw)
    return TrainConfig(**args)


def _sgd(net, data, cfg, **kw):
    return train_sgd(net, *data, cfg, progress=False, epoch_lines=False, **kw)


@pytest.fixture
def frames(rng):
    """600 frames of 10 dims, 3 overlapping classes (for Hessian-Free)."""
    centres = rng.normal(size=(3, 10))
    y = rng.integers(0, 3, size=600)
    return (centres[y] + rng.normal(size=(600, 10))).astype(np.float32), y.astype(np.int64)


def _sigmoid_mlp(dtype=torch.float32) -> MLP:
    return MLP(10, (8, 8), 3, activation="sigmoid", seed=0).to(dtype)


def _hf(net, frames, device, dtype=np.float32, **kw):
    X, y = frames
    X = X.astype(dtype)
    cfg = HFConfig(max_steps=kw.pop("max_steps", 3), max_cg_iters=30, device=device)
    return train_hf(net, X[:450], y[:450], X[450:], y[450:], cfg, progress=False, epoch_lines=False, **kw)


N_BANDS, PATCH = 16, 20


@pytest.fixture
def bumps(rng):
    """10 training + 6 validation tracks of 40-70 frames × 16 bands, 2 classes: a bump in bands
    3-5 (class 0) or 10-12 (class 1), in noise; and the band standardizer of the training tracks."""
    def make(n_tracks):
        lengths = rng.integers(40, 70, n_tracks)
        y = np.arange(n_tracks) % 2
        X = rng.normal(size=(int(lengths.sum()), N_BANDS)).astype(np.float32) * 2.0 + 5.0
        off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        for i in range(n_tracks):
            X[off[i]:off[i + 1], 3 + 7 * y[i]:6 + 7 * y[i]] += 2.5
        return X, off, y.astype(np.int64)

    Xt, ot, yt = make(10)
    Xv, ov, yv = make(6)
    return Xt, ot, yt, Xv, ov, yv, BandStandardizer().fit(Xt, ot)


def _cnn(**kw) -> PatchCNN:
    args = dict(activation="relu", dropout=0.0, batch_norm=False, seed=0)
    args.update(kw)
    return PatchCNN("mirex2015", N_BANDS, PATCH, 2, **args)


def _cnn_cfg(device: str, **kw) -> PatchTrainConfig:
    args = dict(max_epochs=3, patience=10, batch_size=16, patches_per_track=4, seed=0, lr=3e-3, device=device)
    args.update(kw)
    return PatchTrainConfig(**args)


def _patches(net, data, cfg, **kw):
    Xt, ot, yt, Xv, ov, yv, std = data
    return train_patches(net, Xt, ot, yt, Xv, ov, yv, cfg, standardizer=std, patch_frames=PATCH, progress=False,
                         epoch_lines=False, **kw)


def _on(module: torch.nn.Module, device: str) -> bool:
    return all(t.device.type == torch.device(device).type for t in [*module.parameters(), *module.buffers()])


def _close_states(a: torch.nn.Module, b: torch.nn.Module, tol: dict) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k].cpu(), sb[k].cpu(), **tol, msg=lambda m, k=k: f"{k}: {m}")


def _history(result, key):
    return np.array([row[key] for row in result.history], dtype=np.float64)


def _kill_after(epoch):
    """A training callback ``(epoch, row)`` that kills the run after ``epoch`` (its checkpoint written)."""
    def callback(e, row):
        if e == epoch:
            raise KeyboardInterrupt
    return callback


# -- device='cuda' without CUDA: one clear line (runs everywhere) ------------------------------

def test_cuda_asked_for_without_cuda_is_one_config_error_everywhere(blobs, frames, bumps, monkeypatch):
    """Every training, prediction and feature entry point refuses CUDA in one line, before any work
    (torch itself raises a bare AssertionError). CUDA is hidden, so this runs on every machine."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    Xv, ov = bumps[3], bumps[4]
    grid = even_patches(ov, PATCH, PATCH // 2)
    calls = {
        "train_sgd": lambda: _sgd(_mlp(), blobs, _sgd_cfg("cuda")),
        "train_hf": lambda: _hf(_sigmoid_mlp(), frames, "cuda"),
        "train_patches": lambda: _patches(_cnn(), bumps, _cnn_cfg("cuda")),
        "predict_patches": lambda: predict_patches(_cnn(), Xv, grid, bumps[6], PATCH, device="cuda"),
        "patch_features": lambda: patch_features(_cnn(), Xv, grid, bumps[6], PATCH, ["conv1"], device="cuda"),
    }
    for name, call in calls.items():
        with pytest.raises(ConfigError, match="CUDA is not available") as e:
            call()
        assert "\n" not in str(e.value), name


# -- MLP + SGD ---------------------------------------------------------------------------------

@needs_cuda
def test_sgd_on_cuda_learns_and_follows_the_cpu_run(blobs):
    cpu_net, dev_net = _mlp(), _mlp()
    with ieee_fp32():
        r_cpu = _sgd(cpu_net, blobs, _sgd_cfg("cpu"))
        r_dev = _sgd(dev_net, blobs, _sgd_cfg(DEVICE))
    assert _on(dev_net, DEVICE)
    loss = _history(r_dev, "train_loss")
    assert loss[-1] < 0.5 * loss[0] and r_dev.best_valid_acc > 0.9
    np.testing.assert_allclose(loss, _history(r_cpu, "train_loss"), rtol=TRAINED["rtol"])
    np.testing.assert_allclose(_history(r_dev, "valid_loss"), _history(r_cpu, "valid_loss"), rtol=TRAINED["rtol"])
    _close_states(dev_net, cpu_net, TRAINED)


@needs_cuda
def test_sgd_dropout_on_cuda_draws_from_the_runs_own_generator(blobs):
    """Dropout masks on CUDA come from the runner's seeded CUDA generator: the same seed gives the
    same weights twice (not the global generator, which would have moved on), another seed others."""
    nets = [_mlp(dropout=0.25) for _ in range(3)]
    results = [_sgd(net, blobs, _sgd_cfg(DEVICE, max_epochs=3, seed=s)) for net, s in zip(nets, (0, 0, 1))]
    loss = _history(results[0], "train_loss")
    assert loss[-1] < loss[0] and results[0].best_valid_acc > 0.85
    _close_states(nets[0], nets[1], TRAINED)            # other masks would move them by ~1e-1
    w0, w2 = nets[0].layers[0].weight, nets[2].layers[0].weight
    assert not torch.allclose(w0, w2)


@needs_cuda
def test_sgd_checkpoint_written_on_cuda_holds_cpu_tensors(blobs, tmp_path):
    _sgd(_mlp(dropout=0.25), blobs, _sgd_cfg(DEVICE, max_epochs=2), run_dir=tmp_path)
    # No map_location: every tensor comes back on the device it was saved from.
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    found = dict(tensors({"model": ckpt["model"], "best": ckpt["progress"]["best_state"],
                          "runner": ckpt["runner_state"]}))
    assert any(k.startswith("/model/") for k in found) and any(k.startswith("/best/") for k in found)
    assert {k: str(t.device) for k, t in found.items() if t.device.type != "cpu"} == {}


def _resume_across(train, first: str, then: str, tmp_path, max_epochs: int):
    """Kill ``train(device, run_dir, callback)`` after epoch 2 on ``first``; resume it on ``then``."""
    with pytest.raises(KeyboardInterrupt):
        train(first, tmp_path, _kill_after(2))
    assert load_checkpoint(tmp_path / "checkpoint.pt")["progress"]["epoch"] == 2
    seen = []
    result = train(then, tmp_path, lambda e, row: seen.append(e))
    assert seen == list(range(3, max_epochs + 1))
    return result


ACROSS = pytest.mark.parametrize("first, then", [(DEVICE, "cpu"), ("cpu", DEVICE)], ids=["cuda-to-cpu", "cpu-to-cuda"])


@needs_cuda
@ACROSS
def test_sgd_run_resumes_on_the_other_device(blobs, tmp_path, first, then):
    straight = _mlp()
    resumed = _mlp()

    def train(device, run_dir, callback):
        return _sgd(resumed, blobs, _sgd_cfg(device), run_dir=run_dir, callback=callback)

    with ieee_fp32():
        r_straight = _sgd(straight, blobs, _sgd_cfg("cpu"))
        r_resumed = _resume_across(train, first, then, tmp_path, 4)
    assert _on(resumed, then)
    np.testing.assert_allclose(_history(r_resumed, "train_loss"), _history(r_straight, "train_loss"),
                               rtol=TRAINED["rtol"])
    _close_states(resumed, straight, TRAINED)


# -- Hessian-Free --------------------------------------------------------------------------------

@needs_cuda
def test_hf_on_cuda_lowers_the_objective_every_step(frames):
    net = _sigmoid_mlp()
    result = _hf(net, frames, DEVICE, max_steps=4)
    assert _on(net, DEVICE) and result.epochs_run == 4
    before, after = _history(result, "objective_before"), _history(result, "objective")
    assert np.all(np.isfinite(after))
    assert np.all(after < before)                        # every step lowers f (λ0 = 10: small steps)
    assert after[-1] < before[0] - 0.03                  # 2.03 -> 1.97 on the CPU
    np.testing.assert_allclose(before[1:], after[:-1], rtol=1e-5)  # each step starts where the last ended


@needs_cuda
def test_hf_trajectory_on_cuda_follows_the_cpu_one_in_float64(frames):
    cpu_net, dev_net = _sigmoid_mlp(torch.float64), _sigmoid_mlp(torch.float64)
    r_cpu = _hf(cpu_net, frames, "cpu", dtype=np.float64)
    r_dev = _hf(dev_net, frames, DEVICE, dtype=np.float64)
    assert next(dev_net.parameters()).dtype == torch.float64 and _on(dev_net, DEVICE)
    for key in ("cg_iters", "chosen_iter"):
        assert _history(r_dev, key).tolist() == _history(r_cpu, key).tolist(), key
    for key in ("objective_before", "objective", "damping", "valid_loss"):
        np.testing.assert_allclose(_history(r_dev, key), _history(r_cpu, key), **HF64_OBJECTIVE, err_msg=key)
    _close_states(dev_net, cpu_net, HF64_WEIGHTS)


@needs_cuda
def test_hf_checkpoint_written_on_cuda_holds_cpu_tensors(frames, tmp_path):
    _hf(_sigmoid_mlp(), frames, DEVICE, max_steps=2, run_dir=tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    found = dict(tensors({"model": ckpt["model"], "best": ckpt["progress"]["best_state"],
                          "runner": ckpt["runner_state"]}))
    assert "/runner/ch" in found
    assert {k: str(t.device) for k, t in found.items() if t.device.type != "cpu"} == {}


@needs_cuda
@ACROSS
def test_hf_run_resumes_on_the_other_device(frames, tmp_path, first, then):
    straight, resumed = _sigmoid_mlp(torch.float64), _sigmoid_mlp(torch.float64)
    r_straight = _hf(straight, frames, "cpu", dtype=np.float64, max_steps=4)

    def train(device, run_dir, callback):
        return _hf(resumed, frames, device, dtype=np.float64, max_steps=4, run_dir=run_dir,
                   callback=lambda row: callback(row["epoch"], row))

    r_resumed = _resume_across(train, first, then, tmp_path, 4)
    assert _on(resumed, then)
    for key in ("objective", "damping", "cg_iters"):
        np.testing.assert_allclose(_history(r_resumed, key), _history(r_straight, key), **HF64_OBJECTIVE,
                                   err_msg=key)
    _close_states(resumed, straight, HF64_WEIGHTS)


# -- CNN on patches ----------------------------------------------------------------------------

@needs_cuda
def test_cnn_patch_training_on_cuda_lowers_the_loss(bumps):
    """mirex2015 (ReLU) with its published dropout 0.5, masks from the CUDA generator, and batch norm."""
    net = _cnn(dropout=0.5, batch_norm=True)
    result = _patches(net, bumps, _cnn_cfg(DEVICE, max_epochs=4))
    assert _on(net, DEVICE) and result.epochs_run == 4
    loss = _history(result, "train_loss")
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    assert result.best_valid_acc > 0.8


@needs_cuda
def test_cnn_sgd_steps_on_cuda_follow_the_cpu_ones(bumps):
    """Plain SGD (no momentum: each step's update is the gradient itself, so the runs stay close),
    no dropout; the CPU net runs in its oneDNN layout (channels-last), the CUDA one as built."""
    cpu_net, dev_net = _cnn(), _cnn()
    kw = dict(optimizer="sgd", momentum=0.0, lr=0.02, max_epochs=2)
    with ieee_fp32():
        r_cpu = _patches(cpu_net, bumps, _cnn_cfg("cpu", **kw))
        r_dev = _patches(dev_net, bumps, _cnn_cfg(DEVICE, **kw))
    # (not valid_acc: one validation patch near p = 0.5 may fall either way, a 1/n jump)
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(_history(r_dev, key), _history(r_cpu, key), rtol=TRAINED["rtol"], err_msg=key)
    _close_states(dev_net, cpu_net, TRAINED)


def _trained_cnn(bumps) -> PatchCNN:
    """A CNN with batch norm trained one epoch on the CPU (non-trivial running statistics)."""
    net = _cnn(batch_norm=True)
    _patches(net, bumps, _cnn_cfg("cpu", max_epochs=1))
    return net


@needs_cuda
def test_predict_patches_and_patch_features_on_cuda_equal_the_cpu_ones(bumps):
    net = _trained_cnn(bumps)
    Xv, ov, std = bumps[3], bumps[4], bumps[6]
    grid = even_patches(ov, PATCH, 7)
    layers = ["dense", "conv1"]
    with ieee_fp32():
        p_cpu = predict_patches(net, Xv, grid, std, PATCH, device="cpu")
        f_cpu = patch_features(net, Xv, grid, std, PATCH, layers, device="cpu")
        p_dev = predict_patches(net, Xv, grid, std, PATCH, device=DEVICE, batch_size=7)
        assert _on(net, DEVICE)
        f_dev = patch_features(net, Xv, grid, std, PATCH, layers, device=DEVICE, batch_size=5)
    assert p_dev.dtype == f_dev.dtype == np.float32
    assert p_dev.shape == (len(grid), 2) and f_dev.shape == (len(grid), 200 + 15)
    np.testing.assert_allclose(p_dev, p_cpu, **FORWARD)
    np.testing.assert_allclose(f_dev, f_cpu, **FORWARD)
    assert net.training                                  # the model's mode is restored
    with ieee_fp32():                                    # one sigmoid per output (tags)
        s_dev = predict_patches(net, Xv, grid, std, PATCH, device=DEVICE, sigmoid=True)
        s_cpu = predict_patches(net, Xv, grid, std, PATCH, device="cpu", sigmoid=True)
    np.testing.assert_allclose(s_dev, s_cpu, **FORWARD)


@needs_cuda
def test_cuda_predictions_at_torch_default_precision_stay_close(bumps):
    """Without :func:`ieee_fp32` (torch's defaults: cuDNN convolutions may use TF32), the patch
    probabilities still agree with the CPU's to 1e-2: what a user gets out of the box."""
    net = _trained_cnn(bumps)
    Xv, ov, std = bumps[3], bumps[4], bumps[6]
    grid = even_patches(ov, PATCH, 7)
    p_cpu = predict_patches(net, Xv, grid, std, PATCH, device="cpu")
    p_dev = predict_patches(net, Xv, grid, std, PATCH, device=DEVICE)
    np.testing.assert_allclose(p_dev, p_cpu, rtol=0, atol=1e-2)


@needs_cuda
def test_cnn_checkpoint_written_on_cuda_holds_cpu_weights(bumps, tmp_path):
    _patches(_cnn(batch_norm=True), bumps, _cnn_cfg(DEVICE, max_epochs=2), run_dir=tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    found = dict(tensors({"model": ckpt["model"], "best": ckpt["progress"]["best_state"]}))
    assert any("running_mean" in k for k in found)
    assert {k: str(t.device) for k, t in found.items() if t.device.type != "cpu"} == {}


@needs_cuda
def test_cnn_checkpoint_written_on_cuda_holds_a_cpu_optimizer_state(bumps, tmp_path):
    _patches(_cnn(), bumps, _cnn_cfg(DEVICE, max_epochs=1), run_dir=tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    found = dict(tensors(ckpt["runner_state"]))
    assert any("exp_avg" in k for k in found)
    assert {k: str(t.device) for k, t in found.items() if t.device.type != "cpu"} == {}


@needs_cuda
@ACROSS
def test_cnn_run_resumes_on_the_other_device(bumps, tmp_path, first, then):
    kw = dict(optimizer="sgd", momentum=0.0, lr=0.02, max_epochs=4)
    straight, resumed = _cnn(), _cnn()

    def train(device, run_dir, callback):
        return _patches(resumed, bumps, _cnn_cfg(device, **kw), run_dir=run_dir, callback=callback)

    with ieee_fp32():
        r_straight = _patches(straight, bumps, _cnn_cfg("cpu", **kw))
        r_resumed = _resume_across(train, first, then, tmp_path, 4)
    assert _on(resumed, then)
    np.testing.assert_allclose(_history(r_resumed, "train_loss"), _history(r_straight, "train_loss"),
                               rtol=TRAINED["rtol"])
    _close_states(resumed, straight, TRAINED)


def test_the_cuda_tests_know_where_they_run():
    """The switch of ``tests/cuda_support.py``: a real GPU only when torch has CUDA and no dry run."""
    assert DEVICE in ("cpu", "cuda")
    assert ON_CUDA == (DEVICE == "cuda" and torch.cuda.is_available())
