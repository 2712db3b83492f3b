"""Old home of the frame settings and the ``|FFT|`` frames; kept so old imports work.

The code lives in :mod:`mirlearn.features.settings` (:class:`FrameSettings`,
:func:`frame_count`) and :mod:`mirlearn.features.representations` (the registry of frame
kinds, :func:`frames`, and ``fft.magnitude_frames``). New code imports from there.
"""

from __future__ import annotations

from mirlearn.features.representations import frames, kinds
from mirlearn.features.representations.fft import _window, magnitude_frames
from mirlearn.features.settings import FrameSettingError, FrameSettings, frame_count

#: The frame kinds registered when this module was imported (use
#: :func:`mirlearn.features.representations.kinds` for the live list).
KINDS: tuple[str, ...] = kinds()

__all__ = ["KINDS", "FrameSettingError", "FrameSettings", "frame_count", "frames", "magnitude_frames",
           "_window"]
