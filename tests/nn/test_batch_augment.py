"""Tests of mirlearn.nn.batch_augment: off is a no-op, draws are a function of the generator and
the shape (never the data), gain is exact in the unstandardised domain, masks and mixup do what
they say, and every bad setting is one error naming its field."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError, MirlearnError
from mirlearn.nn.batch_augment import BatchAugment, apply, apply_draw, beta_sample, draw
from mirlearn.nn.patches import BandStandardizer

B, BANDS, FRAMES, CLASSES = 6, 8, 20, 4


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _clone(g: torch.Generator) -> torch.Generator:
    c = torch.Generator()
    c.set_state(g.get_state())
    return c


def _fitted(rows: np.ndarray) -> BandStandardizer:
    return BandStandardizer().fit(rows, np.array([0, len(rows)]))


def _db_batch(seed: int = 0) -> tuple[torch.Tensor, BandStandardizer]:
    """Unstandardised dB patches (B, bands, frames) around -40 dB, and a standardizer fitted on
    other dB frames of the same bands."""
    rng = np.random.default_rng(seed)
    rows = (rng.normal(size=(200, BANDS)) * rng.uniform(2, 15, BANDS) - 40).astype(np.float32)
    v = (rng.normal(size=(B, BANDS, FRAMES)) * 8 - 40).astype(np.float32)
    return torch.from_numpy(v), _fitted(rows)


def _standardise(v: torch.Tensor, s) -> torch.Tensor:
    m = torch.as_tensor(s.mean_, dtype=torch.float64)
    sd = torch.as_tensor(s.std_, dtype=torch.float64)
    return ((v.double() - m[:, None]) / sd[:, None]).float()


def _unstandardise(x: torch.Tensor, s) -> torch.Tensor:
    m = torch.as_tensor(s.mean_, dtype=torch.float64)
    sd = torch.as_tensor(s.std_, dtype=torch.float64)
    return x.double() * sd[:, None] + m[:, None]


def _labels() -> torch.Tensor:
    return torch.tensor([0, 1, 2, 3, 1, 0], dtype=torch.int64)


ALL_ON = BatchAugment(gain_db=6.0, time_masks=2, time_mask_frames=5, freq_masks=2, freq_mask_bands=3,
                      mixup_alpha=0.4)


# -- off, determinism, data-independent draws ---------------------------------------------------
@pytest.mark.parametrize("aug", [BatchAugment(), BatchAugment(time_masks=3), BatchAugment(time_mask_frames=3),
                                 BatchAugment(freq_masks=2, freq_mask_bands=0)])
def test_disabled_returns_the_batch_and_integer_targets_without_drawing(aug):
    x, y, g = torch.randn(B, BANDS, FRAMES), _labels(), _gen()
    state = g.get_state()
    assert not aug.enabled
    xa, t = apply(aug, x, y, CLASSES, g, representation="mfcc")
    assert xa is x and t is y and t.dtype == torch.int64
    assert torch.equal(g.get_state(), state)


def test_enabled_flags_each_transform():
    assert BatchAugment(gain_db=1).enabled and BatchAugment(mixup_alpha=0.1).enabled
    assert BatchAugment(time_masks=1, time_mask_frames=1).enabled
    assert BatchAugment(freq_masks=1, freq_mask_bands=1).enabled


def test_same_seed_same_output_and_draws_do_not_depend_on_the_data():
    s = _db_batch()[1]
    x1, x2 = torch.randn(B, BANDS, FRAMES), torch.randn(B, BANDS, FRAMES) * 100 + 7
    x2[0, 0, 0] = float("nan")
    g1, g2, g3 = _gen(5), _gen(5), _gen(5)
    a1, t1 = apply(ALL_ON, x1, _labels(), CLASSES, g1, representation="fft", standardizer=s)
    a2, t2 = apply(ALL_ON, x1.clone(), _labels(), CLASSES, g2, representation="fft", standardizer=s)
    assert torch.equal(a1, a2) and torch.equal(t1, t2)
    apply(ALL_ON, x2, _labels(), CLASSES, g3, representation="fft", standardizer=s)
    assert torch.equal(g1.get_state(), g3.get_state())
    # and the next batch's draws go on from the same state
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g3))


def test_inplace_writes_into_x_and_the_default_does_not():
    x = torch.randn(B, BANDS, FRAMES)
    before = x.clone()
    aug = BatchAugment(gain_db=3.0)
    xa, _ = apply(aug, x, _labels(), CLASSES, _gen(), representation="logmel")
    assert torch.equal(x, before) and not torch.equal(xa, x)
    xb, _ = apply(aug, x, _labels(), CLASSES, _gen(), representation="logmel", inplace=True)
    assert xb is x and torch.equal(xb, xa)


def test_a_cuda_generator_or_a_non_generator_is_refused():
    with pytest.raises(ValueError, match="CPU torch.Generator"):
        apply(BatchAugment(gain_db=1.0), torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.int64), 2, None,
              representation="logmel")


# -- gain -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rep", ["logmel", "cqt"])
def test_db_gain_adds_g_db_per_example_in_the_unstandardised_domain(rep):
    v, s = _db_batch()
    aug, g = BatchAugment(gain_db=10.0), _gen(3)
    d = draw(aug, v.shape, _clone(g))
    xa, t = apply(aug, _standardise(v, s), _labels(), CLASSES, g, representation=rep, standardizer=s)
    diff = _unstandardise(xa, s) - v.double()                 # (B, bands, frames): g per example
    gains = diff.mean(dim=(1, 2))
    assert torch.allclose(diff, gains[:, None, None].expand_as(diff), atol=2e-4)
    assert torch.allclose(gains, d.gain_db, atol=2e-4)
    assert (gains.abs() <= 10.0 + 1e-4).all() and gains.std() > 1.0  # drawn per example
    assert t.dtype == torch.int64


def test_fft_gain_multiplies_magnitudes_by_10_to_the_g_over_20():
    rng = np.random.default_rng(1)
    rows = np.abs(rng.normal(size=(300, BANDS)) * rng.uniform(0.5, 4, BANDS) + 3).astype(np.float32)
    s = _fitted(rows)
    v = torch.from_numpy(np.abs(rng.normal(size=(B, BANDS, FRAMES)) * 2 + 3).astype(np.float32))
    aug, g = BatchAugment(gain_db=12.0), _gen(4)
    d = draw(aug, v.shape, _clone(g))
    xa, _ = apply(aug, _standardise(v, s), _labels(), CLASSES, g, representation="fft", standardizer=s)
    k = 10.0 ** (d.gain_db / 20.0)
    assert torch.allclose(_unstandardise(xa, s), v.double() * k[:, None, None], rtol=1e-5, atol=1e-4)


def test_gain_on_frames_uses_the_mlp_standardizer_scale():
    class MlpStd:  # features.standardize.Standardizer's attribute names
        mean_ = np.linspace(1, 2, BANDS)
        scale_ = np.linspace(0.5, 3, BANDS)

    x, aug = torch.randn(B, BANDS), BatchAugment(gain_db=6.0)
    d = draw(aug, x.shape, _gen(2))
    xa, _ = apply(aug, x, _labels(), CLASSES, _gen(2), representation="logmel", standardizer=MlpStd())
    expect = x.double() + d.gain_db[:, None] / torch.as_tensor(MlpStd.scale_)[None, :]
    assert torch.allclose(xa.double(), expect, atol=1e-5)


def test_gain_without_standardizer_acts_on_raw_values():
    v = torch.rand(B, BANDS, FRAMES) + 0.5
    aug = BatchAugment(gain_db=6.0)
    d = draw(aug, v.shape, _gen(1))
    xa, _ = apply(aug, v, _labels(), CLASSES, _gen(1), representation="fft")
    assert torch.allclose(xa.double(), v.double() * 10.0 ** (d.gain_db[:, None, None] / 20), rtol=1e-6)


def test_gain_refused_on_mfcc_and_unknown_kinds_and_a_standardizer_of_other_width():
    x, y = torch.zeros(2, BANDS, FRAMES), torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ConfigError, match=r"augment\.gain_db.*c0"):
        apply(BatchAugment(gain_db=3.0), x, y, 2, _gen(), representation="mfcc")
    with pytest.raises(ConfigError, match=r"augment\.gain_db.*'pmsc'"):
        apply(BatchAugment(gain_db=3.0), x, y, 2, _gen(), representation="pmsc")
    with pytest.raises(MirlearnError, match="standardizer has 3 bands"):
        apply(BatchAugment(gain_db=3.0), x, y, 2, _gen(), representation="logmel",
              standardizer=_fitted(np.random.default_rng(0).normal(size=(10, 3))))
    # masks and mixup on MFCCs are fine
    apply(BatchAugment(mixup_alpha=0.2, freq_masks=1, freq_mask_bands=2), x, y, 2, _gen(), representation="mfcc")


# -- masks ----------------------------------------------------------------------------------------
def test_masks_set_spans_within_bounds_to_zero_and_leave_the_rest():
    x = torch.randn(40, BANDS, FRAMES) + 10.0                  # no zeros of its own
    y = torch.zeros(40, dtype=torch.int64)
    aug, g = BatchAugment(time_masks=2, time_mask_frames=6, freq_masks=1, freq_mask_bands=3), _gen(7)
    d = draw(aug, x.shape, _clone(g))
    xa, _ = apply(aug, x, y, 2, g, representation="cqt")
    for start, width, n_masks, top, length in ((d.time_start, d.time_width, 2, 6, FRAMES),
                                               (d.freq_start, d.freq_width, 1, 3, BANDS)):
        assert start.shape == (40, n_masks) and width.shape == (40, n_masks)
        assert (width >= 0).all() and (width <= top).all() and (start >= 0).all()
        assert (start + width <= length).all()
        assert set(width.flatten().tolist()) == set(range(top + 1))   # every width drawn
    expect = torch.zeros(40, BANDS, FRAMES, dtype=torch.bool)
    for b in range(40):
        for s, w in zip(d.time_start[b].tolist(), d.time_width[b].tolist()):
            expect[b, :, s:s + w] = True
        for s, w in zip(d.freq_start[b].tolist(), d.freq_width[b].tolist()):
            expect[b, s:s + w, :] = True
    assert torch.equal(xa == 0, expect)
    assert torch.equal(xa[~expect], x[~expect])
    # masked frames per example never exceed masks × widest mask
    masked_frames = (xa == 0).all(dim=1).sum(dim=1)
    assert (masked_frames <= 2 * 6).all()


def test_freq_masks_on_frames_and_time_masks_refused_there():
    x = torch.randn(30, BANDS) + 10.0
    y = torch.zeros(30, dtype=torch.int64)
    xa, _ = apply(BatchAugment(freq_masks=2, freq_mask_bands=2), x, y, 2, _gen(), representation="fft")
    assert ((xa == 0).sum(dim=1) <= 4).all() and (xa == 0).any()
    assert torch.equal(xa[xa != 0], x[xa != 0])
    with pytest.raises(ConfigError, match=r"augment\.time_masks=1.*single frames"):
        apply(BatchAugment(time_masks=1, time_mask_frames=2), x, y, 2, _gen(), representation="fft")


def test_masks_wider_than_the_input_are_refused():
    with pytest.raises(ConfigError, match=r"augment\.time_mask_frames=21 .* 20 frames"):
        BatchAugment(time_masks=1, time_mask_frames=FRAMES + 1).validate((BANDS, FRAMES))
    with pytest.raises(ConfigError, match=r"augment\.freq_mask_bands=9 .* 8 bands"):
        apply(BatchAugment(freq_masks=1, freq_mask_bands=BANDS + 1), torch.zeros(2, BANDS, FRAMES),
              torch.zeros(2, dtype=torch.int64), 2, _gen(), representation="logmel")
    BatchAugment(time_masks=1, time_mask_frames=FRAMES, freq_masks=1, freq_mask_bands=BANDS).validate((BANDS, FRAMES))


# -- mixup ----------------------------------------------------------------------------------------
def test_mixup_mixes_with_a_permutation_and_soft_targets():
    x, y = torch.randn(B, BANDS, FRAMES), _labels()
    aug, g = BatchAugment(mixup_alpha=0.4), _gen(11)
    d = draw(aug, x.shape, _clone(g))
    xa, t = apply(aug, x, y, CLASSES, g, representation="logmel")
    lam, perm = d.lam, d.perm
    assert 0.0 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(B))
    assert torch.allclose(xa, lam * x + (1 - lam) * x[perm], atol=1e-6)
    assert t.shape == (B, CLASSES) and t.dtype == torch.float32
    assert torch.allclose(t.sum(1), torch.ones(B))
    onehot = torch.nn.functional.one_hot
    assert torch.allclose(t, lam * onehot(y, CLASSES) + (1 - lam) * onehot(y[perm], CLASSES))
    # cross_entropy takes them as class probabilities
    assert torch.isfinite(torch.nn.functional.cross_entropy(torch.randn(B, CLASSES), t))


def test_mixup_alpha_zero_is_off():
    x = torch.randn(B, BANDS)
    xa, t = apply(BatchAugment(mixup_alpha=0.0), x, _labels(), CLASSES, _gen(), representation="logmel")
    assert xa is x and t.dtype == torch.int64


def test_order_is_gain_then_masks_then_mixup():
    v, s = _db_batch(2)
    x, y, g = _standardise(v, s), _labels(), _gen(13)
    d = draw(ALL_ON, x.shape, _clone(g))
    xa, t = apply(ALL_ON, x, y, CLASSES, g, representation="logmel", standardizer=s)
    step = apply_draw(BatchAugment(gain_db=1.0), d.__class__(gain_db=d.gain_db), x, y, CLASSES,
                      representation="logmel", standardizer=s)[0]
    step = apply_draw(ALL_ON, d.__class__(time_start=d.time_start, time_width=d.time_width,
                                          freq_start=d.freq_start, freq_width=d.freq_width), step, y, CLASSES,
                      representation="logmel")[0]
    assert (step == 0).any()                                  # masks come after the gain: exact zeros
    expect = d.lam * step + (1 - d.lam) * step[d.perm]
    assert torch.allclose(xa, expect, atol=1e-6) and t.shape == (B, CLASSES)


def test_beta_sampler_matches_the_beta_moments():
    for alpha in (0.2, 1.0, 4.0):
        lam = beta_sample(alpha, 20000, _gen(int(alpha * 10)))
        assert lam.dtype == torch.float64 and ((lam >= 0) & (lam <= 1)).all()
        var = 1.0 / (4.0 * (2.0 * alpha + 1.0))
        assert abs(float(lam.mean()) - 0.5) < 4 * math.sqrt(var / 20000)
        assert abs(float(lam.var()) - var) < 0.05 * var


# -- settings -------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, what", [
    ("gain_db", -1.0, ">= 0"), ("gain_db", float("nan"), "finite"), ("gain_db", float("inf"), "finite"),
    ("mixup_alpha", -0.1, ">= 0"), ("mixup_alpha", float("nan"), "finite"), ("mixup_alpha", "0.2", "number"),
    ("time_masks", -1, ">= 0"), ("time_mask_frames", 2.5, "integer"), ("freq_masks", True, "integer"),
    ("freq_mask_bands", -3, ">= 0"),
])
def test_validate_errors_name_the_field(field, value, what):
    with pytest.raises(ConfigError, match=rf"^augment\.{field} .*{what}") as err:
        BatchAugment(**{field: value}).validate()
    assert "\n" not in str(err.value)


def test_to_dict_from_dict_round_trip_and_bad_keys():
    d = ALL_ON.to_dict()
    assert d == {"gain_db": 6.0, "time_masks": 2, "time_mask_frames": 5, "freq_masks": 2, "freq_mask_bands": 3,
                 "mixup_alpha": 0.4}
    assert BatchAugment.from_dict(d) == ALL_ON
    assert BatchAugment.from_dict({}) == BatchAugment()
    assert BatchAugment.from_dict({"time_masks": 2.0, "gain_db": 3}) == BatchAugment(time_masks=2, gain_db=3.0)
    with pytest.raises(ConfigError, match=r"augment\.gain is not a batch augmentation setting"):
        BatchAugment.from_dict({"gain": 3})
    with pytest.raises(ConfigError, match=r"augment\.time_masks .*integer"):
        BatchAugment.from_dict({"time_masks": 2.5})
    with pytest.raises(ConfigError, match=r"augment\.mixup_alpha .*>= 0"):
        BatchAugment.from_dict({"mixup_alpha": -1})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_batch_gets_the_cpu_batch_result():
    v, s = _db_batch(3)
    x, y = _standardise(v, s), _labels()
    a_cpu, t_cpu = apply(ALL_ON, x, y, CLASSES, _gen(9), representation="fft", standardizer=s)
    a_gpu, t_gpu = apply(ALL_ON, x.cuda(), y.cuda(), CLASSES, _gen(9), representation="fft", standardizer=s)
    assert a_gpu.device.type == "cuda" and t_gpu.device.type == "cuda"
    assert torch.allclose(a_gpu.cpu(), a_cpu, atol=1e-5) and torch.allclose(t_gpu.cpu(), t_cpu)
