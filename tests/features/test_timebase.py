"""Tests of mirlearn.features.timebase: times of frames and of aggregation windows."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.timebase import TimeBase, window_frames


def test_frame_times_follow_the_framing() -> None:
    # center=False: frame t covers samples [t * hop, t * hop + n_fft).
    tb = TimeBase(22050, 512, "fft", n_fft=1024)
    np.testing.assert_allclose(tb.times(3), [0, 512 / 22050, 1024 / 22050])
    np.testing.assert_allclose(tb.times(3, "center"), (np.arange(3) * 512 + 512) / 22050)
    np.testing.assert_allclose(tb.times(3, "end"), (np.arange(3) * 512 + 1024) / 22050)
    assert tb.frame_seconds == 512 / 22050 and not tb.is_windows
    assert (tb.window_frames, tb.window_hop_frames, tb.row_length_samples) == (None, None, 1024)
    # center=True: frame t is centred on sample t * hop, librosa's frames_to_time.
    c = TimeBase(22050, 512, "fft", n_fft=1024, center=True)
    np.testing.assert_allclose(c.times(4, "center"), np.arange(4) * 512 / 22050)
    np.testing.assert_allclose(c.times(2), [-512 / 22050, 0.0])


def test_window_times_use_whole_frames() -> None:
    w = TimeBase(22050, 512, "fft", n_fft=1024).windows(5.0, 2.5)
    assert w == TimeBase(22050, 512, "windows", 5.0, 2.5, n_fft=1024)
    assert (w.window_frames, w.window_hop_frames) == (215, 108)
    assert w.row_hop_samples == 108 * 512 and w.row_length_samples == 214 * 512 + 1024
    np.testing.assert_allclose(w.times(3), np.arange(3) * 108 * 512 / 22050)
    assert w.times(0).shape == (0,)
    with pytest.raises(ValueError, match="windows already"):
        w.windows(5.0, 2.5)


def test_unknown_frame_length_gives_starts_only() -> None:
    tb = TimeBase(22050, 512, "features")
    np.testing.assert_allclose(tb.times(2), [0, 512 / 22050])
    with pytest.raises(ValueError, match="needs n_fft"):
        tb.times(2, "center")
    with pytest.raises(ValueError, match="anchor"):
        tb.times(2, "middle")  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs, match", [
    ({"sr": 0}, "sr"),
    ({"hop_length": -1}, "hop_length"),
    ({"kind": ""}, "kind"),
    ({"window_seconds": 5.0}, "together"),
    ({"window_seconds": -5.0, "window_hop_seconds": 2.5}, "window_seconds"),
    ({"window_seconds": 5.0, "window_hop_seconds": 1e-6}, "less than one frame"),
    ({"center": True}, "needs n_fft"),
])
def test_invalid(kwargs: dict, match: str) -> None:
    args = {"sr": 22050, "hop_length": 512, "kind": "fft", **kwargs}
    with pytest.raises(ValueError, match=match):
        TimeBase(**args)


def test_dict_round_trip_and_replace() -> None:
    w = TimeBase(16000, 160, "windows", 1.0, 0.5, n_fft=400)
    assert TimeBase.from_dict(w.to_dict()) == w
    assert w.replace(kind="x").kind == "x" and w.kind == "windows"


def test_window_frames() -> None:
    assert window_frames(5.0, 22050, 512) == 215
    assert window_frames(2.5, 22050, 512) == 108
    from mirlearn.features import aggregate

    assert aggregate.window_frames is window_frames  # old import path
