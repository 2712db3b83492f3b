"""A synthetic, labelled music collection: the default data when the user brings none.

:func:`make_synthetic` writes ``root/<class>/<class>.000NN.wav`` (16-bit PCM, mono), a
folder-per-label set that :func:`~mirlearn.datasets.folder.load_folder` reads. Each class is a
"style" defined by ranges of

* tempo (beats per minute) and rhythm: notes per beat (grid subdivision), onset density,
  drum pattern (kick, snare, hi-hat);
* instrument timbre: harmonic spectra with a class-specific amplitude roll-off
  (``a_h = h ** -rolloff``) and even-harmonic weight, attack and decay times;
* pitch register (MIDI range of the melody) and preferred scale;
* noise: level of the percussive noise bursts (drums) and of a background noise floor.

Every clip draws its own values inside its class's ranges (plus a random key, chord
progression, melody, and timbre jitter), and the ranges of classes that are neighbours on an
attribute overlap, so the classes differ measurably yet a frame-level classifier cannot be
perfect. The class definitions depend only on ``n_classes``; the clips on ``seed``: the same
seed gives byte-identical files, and clip ``i`` of class ``k`` is drawn from
``SeedSequence(seed).spawn(n_classes)[k].spawn(clips_per_class)[i]``, so it does not change
when more clips are asked for.

Synthesis is wavetable-based and vectorised over whole voices: about 30 ms of CPU per 30 s
clip at 22050 Hz, so 1000 such clips take about half a minute on one core.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mirlearn.errors import DatasetError
from mirlearn.io import atomic_path, atomic_write_json

GENERATOR_VERSION = 1
"""Bumped whenever the generated audio changes; part of the parameters in ``synthetic.json``."""

META_NAME = "synthetic.json"

_TABLE_BITS = 11
_TABLE_SIZE = 1 << _TABLE_BITS  # samples of one wavetable period
_MAX_HARMONICS = 48

_SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
}
_SCALE_NAMES = tuple(_SCALES)

# Drum patterns on a 16-step bar (4 steps per beat): kick, snare, hi-hat step lists.
_DRUM_PATTERNS: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...] = (
    ((0, 8), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),           # backbeat
    ((0, 4, 8, 12), (4, 12), (2, 6, 10, 14)),                 # four on the floor
    ((0, 10), (8,), tuple(range(16))),                        # half time, 16th hats
    ((0,), (), (0, 4, 8, 12)),                                # sparse, quarter ride
    ((0, 6, 10), (4, 12, 15), (0, 2, 4, 6, 8, 10, 12, 14)),   # breakbeat
    ((0, 3, 8, 11), (4, 12), (0, 3, 6, 8, 11, 14)),           # syncopated
)
_PROGRESSIONS: tuple[tuple[int, ...], ...] = (
    (0, 3, 4, 0), (0, 5, 3, 4), (0, 0, 3, 4), (5, 3, 0, 4), (0, 4, 5, 3), (0, 3, 0, 4),
)
_SUBDIVISIONS = (1, 2, 3, 4)

# Global attribute ranges (lo, hi, log-scale?); each class gets an overlapping window.
_ATTRIBUTES: dict[str, tuple[float, float, bool]] = {
    "tempo": (65.0, 175.0, False),       # beats per minute
    "register": (45.0, 81.0, False),     # MIDI note at the centre of the melody
    "rolloff": (0.6, 2.6, False),        # harmonic amplitude exponent
    "attack": (0.003, 0.12, True),       # s
    "decay": (0.08, 1.5, True),          # s, exponential time constant
    "density": (0.3, 0.95, False),       # probability of an onset per grid slot
    "drums": (0.0, 0.9, False),          # drum level relative to the melody
    "noise_db": (-55.0, -22.0, False),   # noise floor relative to the melody, dB
    "even": (0.1, 1.0, False),           # weight of the even harmonics
}


@dataclass(frozen=True)
class ClassStyle:
    """The ranges a class draws its clips from.

    Attributes
    ----------
    name : str
        Class name (``synth0`` ...).
    windows : dict of str to (float, float)
        For each attribute of ``_ATTRIBUTES`` (tempo in BPM, register in MIDI, rolloff,
        attack and decay in s, density, drum level, noise floor in dB, even-harmonic weight),
        the interval a clip draws from. Windows of neighbouring classes overlap.
    subdivision : int
        Preferred grid slots per beat (1-4).
    pattern : int
        Preferred drum pattern (index into the built-in patterns).
    scale : str
        Preferred scale.
    """

    name: str
    windows: dict[str, tuple[float, float]]
    subdivision: int
    pattern: int
    scale: str


def class_names(n_classes: int) -> list[str]:
    """``["synth0", "synth1", ...]``, zero-padded so that they sort in class order."""
    width = len(str(max(n_classes - 1, 0)))
    return [f"synth{k:0{width}d}" for k in range(n_classes)]


def class_styles(n_classes: int) -> list[ClassStyle]:
    """The class definitions for ``n_classes`` classes (independent of any seed).

    For every attribute, the classes are ranked by a fixed permutation and class of rank
    ``r`` draws from the window centred at ``(r + 0.5) / n`` of the attribute's range with
    half-width ``0.8 / n``: adjacent ranks overlap over 60 % of a window. Using a different
    permutation per attribute makes the classes differ in combinations of attributes rather
    than along one axis.

    Parameters
    ----------
    n_classes : int
        At least 2.

    Returns
    -------
    list of ClassStyle
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    design = np.random.default_rng(np.random.SeedSequence([2014, n_classes]))
    names = class_names(n_classes)
    ranks = {a: design.permutation(n_classes) for a in _ATTRIBUTES}
    sub_rank = design.permutation(n_classes)
    pat_rank = design.permutation(n_classes)
    scale_rank = design.permutation(n_classes)
    half = 0.8 / n_classes
    styles = []
    for k in range(n_classes):
        windows = {}
        for a, (lo, hi, log) in _ATTRIBUTES.items():
            u = (ranks[a][k] + 0.5) / n_classes
            u0, u1 = max(u - half, -0.05), min(u + half, 1.05)
            if log:
                w = (float(lo * (hi / lo) ** u0), float(lo * (hi / lo) ** u1))
            else:
                w = (float(lo + (hi - lo) * u0), float(lo + (hi - lo) * u1))
            windows[a] = w
        styles.append(ClassStyle(
            name=names[k], windows=windows,
            subdivision=_SUBDIVISIONS[sub_rank[k] % len(_SUBDIVISIONS)],
            pattern=int(pat_rank[k] % len(_DRUM_PATTERNS)),
            scale=_SCALE_NAMES[scale_rank[k] % len(_SCALE_NAMES)],
        ))
    return styles


# ------------------------------------------------------------------------------------------
# One clip
# ------------------------------------------------------------------------------------------
def _draw(rng: np.random.Generator, window: tuple[float, float], log: bool = False) -> float:
    lo, hi = window
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def _fold(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Reflect integers into ``[lo, hi]`` (a triangle wave), shape kept."""
    span = hi - lo
    y = np.mod(x - lo, 2 * span)
    return lo + np.where(y > span, 2 * span - y, y)


def _degree_to_midi(deg: np.ndarray, anchor: int, scale: tuple[int, ...]) -> np.ndarray:
    """MIDI notes of scale degrees (0 = ``anchor``; negative and > len(scale) allowed)."""
    s = np.asarray(scale)
    n = len(s)
    return anchor + 12 * np.floor_divide(deg, n) + s[np.mod(deg, n)]


# Just-intonation ratios of 0..11 semitones: a chord of such tones is periodic, so a whole
# triad fits one wavetable (its period is that of root / lcm(denominators)).
_JUST: tuple[tuple[int, int], ...] = ((1, 1), (16, 15), (9, 8), (6, 5), (5, 4), (4, 3), (7, 5),
                                      (3, 2), (8, 5), (5, 3), (7, 4), (15, 8))


@dataclass
class _Voice:
    """Notes of one monophonic instrument (a note may be a chord in one wavetable).

    ``starts`` (int64, sorted, samples), ``lengths`` (sounding samples, at most the gap to
    the next onset), ``midi`` (int, root of each note), ``chord`` (int, shape
    ``(n_notes, k)``: semitones of each tone above the root, ``[[0]]`` for single tones),
    ``amps`` (linear), ``harmonics`` (shape ``(_MAX_HARMONICS,)``), attack and decay (s),
    ``level`` (linear gain of the voice).
    """

    starts: np.ndarray
    lengths: np.ndarray
    midi: np.ndarray
    chord: np.ndarray
    amps: np.ndarray
    harmonics: np.ndarray
    attack: float
    decay: float
    level: float


def _harmonic_amps(rng: np.random.Generator, rolloff: float, even: float) -> np.ndarray:
    """Amplitudes of harmonics 1..H: ``h ** -rolloff``, even ones times ``even``, jittered."""
    h = np.arange(1, _MAX_HARMONICS + 1, dtype=np.float64)
    a = h ** -rolloff
    a[1::2] *= even
    a *= np.exp(rng.normal(0.0, 0.25, size=a.shape))  # timbre jitter, about +-2 dB
    return a / a[0]


def _plan_clip(style: ClassStyle, rng: np.random.Generator, n: int, sr: int) -> dict[str, Any]:
    """Draw everything about a clip (parameters, notes, drum hits) except the noise; no audio."""
    w = style.windows
    p: dict[str, Any] = {}
    p["tempo"] = _draw(rng, w["tempo"])
    p["register"] = _draw(rng, w["register"])
    p["rolloff"] = _draw(rng, w["rolloff"])
    p["attack"] = _draw(rng, w["attack"], log=True)
    p["decay"] = _draw(rng, w["decay"], log=True)
    p["density"] = min(_draw(rng, w["density"]), 1.0)
    p["drums"] = max(_draw(rng, w["drums"]), 0.0)
    p["noise_db"] = _draw(rng, w["noise_db"])
    p["even"] = float(np.clip(_draw(rng, w["even"]), 0.02, 1.0))
    p["subdivision"] = int(style.subdivision if rng.random() < 0.75 else rng.choice(_SUBDIVISIONS))
    p["pattern"] = int(style.pattern if rng.random() < 0.75 else rng.integers(len(_DRUM_PATTERNS)))
    p["scale"] = str(style.scale if rng.random() < 0.6 else _SCALE_NAMES[rng.integers(len(_SCALES))])
    p["key"] = int(rng.integers(12))
    p["progression"] = int(rng.integers(len(_PROGRESSIONS)))
    p["gate"] = float(rng.uniform(0.55, 1.0))
    p["bass_level"] = float(rng.uniform(0.3, 0.8))
    p["pad_level"] = float(rng.uniform(0.0, 0.45))
    p["peak"] = float(rng.uniform(0.3, 0.9))
    scale = _SCALES[p["scale"]]
    m = len(scale)

    bar = int(round(4 * 60.0 / p["tempo"] * sr))     # samples per bar (4 beats), an integer
    beat = bar / 4
    prog = np.asarray(_PROGRESSIONS[p["progression"]])
    anchor = p["key"] + 12 * int(round((p["register"] - p["key"]) / 12))
    single = np.zeros((1, 1), dtype=np.int64)

    # melody: onsets on the grid, a folded random walk over scale degrees
    sub = p["subdivision"]
    slot = beat / sub
    n_slots = int(np.ceil(n / slot))
    on = rng.random(n_slots) < p["density"]
    on[:: 4 * sub] = True                              # every bar starts with a note
    slots = np.flatnonzero(on)
    t = slots * slot + rng.normal(0.0, 0.004 * sr, size=len(slots))   # humanised timing
    starts = np.unique(np.clip(np.round(t), 0, n - 1).astype(np.int64))
    gaps = np.diff(np.append(starts, n))
    lengths = np.maximum((gaps * p["gate"]).astype(np.int64), np.minimum(gaps, int(0.03 * sr)))
    steps = rng.choice(np.array([-3, -2, -1, 0, 1, 2, 3]), size=len(starts),
                       p=[0.05, 0.15, 0.25, 0.1, 0.25, 0.15, 0.05])
    deg = _fold(np.cumsum(steps), -m, m + m // 2)
    bar_of = starts // bar
    on_chord = rng.random(len(starts)) < 0.4          # some notes snap to the chord root
    deg = np.where(on_chord, prog[bar_of % 4] + m * np.floor_divide(deg, m), deg)
    in_beat = np.mod(starts, beat)
    accent = (in_beat < 0.01 * sr) | (beat - in_beat < 0.01 * sr)     # notes on the beat
    amps = rng.uniform(0.55, 0.9, size=len(starts)) + 0.1 * accent
    melody = _Voice(starts, lengths, _degree_to_midi(deg, anchor, scale),
                    np.repeat(single, len(starts), axis=0), amps,
                    _harmonic_amps(rng, p["rolloff"], p["even"]), p["attack"], p["decay"], 1.0)

    # bass: the chord root on every beat (or every other beat), two octaves down
    every = 1 if rng.random() < 0.5 else 2
    b_starts = np.round(np.arange(0, int(np.ceil(n / beat)), every) * beat).astype(np.int64)
    b_starts = b_starts[b_starts < n]
    b_len = np.minimum(int(every * beat * 0.9), n - b_starts)
    b_anchor = anchor - 24
    while b_anchor < 28:
        b_anchor += 12
    b_deg = prog[(b_starts // bar) % 4]
    bass = _Voice(b_starts, b_len, _degree_to_midi(b_deg, b_anchor, scale),
                  np.repeat(single, len(b_starts), axis=0), rng.uniform(0.7, 1.0, size=len(b_starts)),
                  _harmonic_amps(rng, p["rolloff"] + 0.8, 0.5), 0.008, max(p["decay"], 0.3),
                  p["bass_level"])

    # pad: a triad of the scale per bar, one octave below the melody, slow attack
    bars = np.arange(int(np.ceil(n / bar)))
    pad_deg = prog[bars % 4]
    roots = _degree_to_midi(pad_deg, anchor - 12, scale)
    chord = np.stack([np.zeros_like(roots),
                      _degree_to_midi(pad_deg + 2, anchor - 12, scale) - roots,
                      _degree_to_midi(pad_deg + 4, anchor - 12, scale) - roots], axis=1)
    pad_starts = bars * bar
    pad = _Voice(pad_starts, np.minimum(bar, n - pad_starts), roots, chord,
                 np.ones(len(bars)), _harmonic_amps(rng, p["rolloff"] + 0.4, p["even"]),
                 min(0.25, 0.35 * bar / sr), 4.0, p["pad_level"])

    # drums: a two-bar phrase on a 16-steps-per-bar grid, the pattern plus a few random hits
    drum_hits = []
    for pattern in _DRUM_PATTERNS[p["pattern"]]:
        grid = np.zeros(32, dtype=bool)
        grid[list(pattern)] = True
        grid[[s + 16 for s in pattern]] = True
        grid |= rng.random(32) < 0.04
        s = np.round(np.flatnonzero(grid) * (bar / 16)).astype(np.int64)
        drum_hits.append((s, rng.uniform(0.6, 1.0, size=len(s))))
    p["_bar"] = bar
    p["_voices"] = (melody, bass, pad)
    p["_drum_hits"] = drum_hits
    return p


def _wavetables(harmonics: np.ndarray, keys: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Band-limited single-period wavetables.

    Parameters
    ----------
    harmonics : np.ndarray [shape=(H,)]
        Amplitude of each harmonic of a tone.
    keys : np.ndarray [shape=(n_rows, 1 + k)], int
        Per row: the MIDI root, then the semitones of the ``k`` tones above the root.
    sr : int
        Sample rate in Hz; partials above 0.45 ``sr`` are left out.

    Returns
    -------
    tables : np.ndarray [shape=(n_rows + 1, _TABLE_SIZE)], float32
        One period per row, peak 1; the extra last row is silence.
    base_hz : np.ndarray [shape=(n_rows,)]
        Frequency of one period of each row (the root divided by the lcm of the
        just-intonation denominators of its tones), Hz.
    """
    n_rows = len(keys)
    spec = np.zeros((n_rows, _TABLE_SIZE // 2 + 1), dtype=np.complex128)
    base_hz = np.empty(n_rows)
    h = np.arange(1, len(harmonics) + 1)
    for r, key in enumerate(keys):
        root_hz = 440.0 * 2.0 ** ((int(key[0]) - 69) / 12.0)
        ratios = []
        for semis in key[1:]:
            octave, step = divmod(int(semis), 12)
            num, den = _JUST[step]
            ratios.append((num * 2 ** octave, den))
        denom = int(np.lcm.reduce([d for _, d in ratios]))
        base_hz[r] = root_hz / denom
        for num, den in ratios:
            mult = num * denom // den                      # tone = mult x the table frequency
            idx = mult * h
            keep = (idx < _TABLE_SIZE // 2) & (idx * base_hz[r] < 0.45 * sr)
            spec[r, idx[keep]] += -1j * harmonics[keep] / len(ratios)
    tables = np.zeros((n_rows + 1, _TABLE_SIZE), dtype=np.float32)
    t = np.fft.irfft(spec, n=_TABLE_SIZE, axis=1)
    peak = np.abs(t).max(axis=1, keepdims=True)
    tables[:n_rows] = t / np.where(peak > 0, peak, 1.0)
    return tables, base_hz


def _segments(starts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Spans of sorted events up to the next one (or ``n``), and each sample's place in its event.

    Returns ``spans`` (samples, int64), ``j`` of shape ``(n - starts[0],)`` (int32: index of
    each sample within its event, the events tiling ``[starts[0], n)``) and ``starts[0]``.
    """
    s0 = int(starts[0])
    spans = np.diff(np.append(starts, n)).astype(np.int64)
    j = np.arange(n - s0, dtype=np.int32)
    j -= np.repeat((starts - s0).astype(np.int32), spans)
    return spans, j, s0


def _render_voice(v: _Voice, n: int, sr: int) -> np.ndarray:
    """A monophonic voice, shape (n,), float32.

    Vectorised over the whole clip: every sample belongs to the latest onset at or before
    it, reads its note's band-limited wavetable at a 32-bit fixed-point phase (the silent row
    after the note's length), and is shaped by the voice's attack / decay envelope (one
    curve, looked up) and a 10 ms release ramp.
    """
    out = np.zeros(n, dtype=np.float32)
    if len(v.starts) == 0 or v.level <= 0:
        return out
    keys = np.column_stack([v.midi.astype(np.int64), v.chord.astype(np.int64)])
    uniq, row = np.unique(keys, axis=0, return_inverse=True)
    row = row.ravel()
    tables, base_hz = _wavetables(v.harmonics, uniq, sr)
    spans, j, s0 = _segments(v.starts, n)
    lengths = np.minimum(v.lengths, spans)
    inc = np.round(base_hz[row] / sr * 2.0 ** 32).astype(np.uint64).astype(np.uint32)
    phase = j.view(np.uint32) * np.repeat(inc, spans)      # wraps modulo 2**32 = one period
    idx = phase >> np.uint32(32 - _TABLE_BITS)
    seg_rows = np.empty(2 * len(row), dtype=np.uint32)     # note, then silence until the next
    seg_rows[0::2] = row * _TABLE_SIZE
    seg_rows[1::2] = len(uniq) * _TABLE_SIZE
    seg_len = np.empty(2 * len(row), dtype=np.int64)
    seg_len[0::2] = lengths
    seg_len[1::2] = spans - lengths
    idx += np.repeat(seg_rows, seg_len)
    y = np.take(tables.ravel(), idx)
    t = np.arange(int(spans.max()) + 1, dtype=np.float32)
    env = np.exp(t * np.float32(-1.0 / (v.decay * sr)))
    env *= np.minimum(t * np.float32(1.0 / max(v.attack * sr, 1.0)), np.float32(1.0))
    env *= np.float32(v.level)
    y *= np.take(env, j)
    y *= np.repeat(v.amps.astype(np.float32), spans)
    r = min(int(0.01 * sr), int(lengths.min()))
    if r > 1:
        ends = (v.starts - s0) + lengths
        pos = (ends[:, None] - r + np.arange(r)[None, :]).ravel()
        y[pos] *= np.tile(np.linspace(1.0, 0.0, r, dtype=np.float32), len(ends))
    out[s0:] = y
    return out


def _drum_sounds(rng: np.random.Generator, sr: int) -> list[np.ndarray]:
    """Kick, snare and hi-hat one-shots with per-clip jitter, float32."""
    t = np.arange(int(0.3 * sr)) / sr
    f_hi, f_lo = rng.uniform(110, 180), rng.uniform(42, 60)
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / rng.uniform(0.08, 0.16))
    ts = t[: int(0.2 * sr)]
    noise = rng.standard_normal(len(ts))
    snare = (0.7 * np.diff(noise, prepend=0.0) * np.exp(-ts / rng.uniform(0.04, 0.1))
             + 0.5 * np.sin(2 * np.pi * rng.uniform(160, 240) * ts) * np.exp(-ts / 0.04))
    th = t[: int(0.08 * sr)]
    hn = rng.standard_normal(len(th) + 2)
    hat = np.diff(hn, n=2) * np.exp(-th / rng.uniform(0.012, 0.04))
    return [(s / np.abs(s).max()).astype(np.float32) for s in (kick, snare, 0.6 * hat)]


def _render_drums(plan: dict[str, Any], rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """The drum track: one two-bar phrase (a new hit chokes the last), repeated; shape (n,)."""
    phrase_len = 2 * plan["_bar"]
    phrase = np.zeros(phrase_len, dtype=np.float32)
    for sound, (starts, vel) in zip(_drum_sounds(rng, sr), plan["_drum_hits"]):
        if len(starts) == 0:
            continue
        spans, j, s0 = _segments(starts, phrase_len)
        ext = np.append(sound, np.float32(0.0))
        d = np.take(ext, np.minimum(j, len(sound)))
        d *= np.repeat(vel.astype(np.float32), spans)
        phrase[s0:] += d
    phrase *= np.float32(plan["drums"])
    return np.tile(phrase, -(-n // phrase_len))[:n]


def _render_clip(plan: dict[str, Any], rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Mix the planned voices, drums and noise floor; peak-normalised, shape (n,), float32."""
    y = np.zeros(n, dtype=np.float32)
    for v in plan["_voices"]:
        y += _render_voice(v, n, sr)
    if plan["drums"] > 0:
        y += _render_drums(plan, rng, n, sr)
    rms = float(np.sqrt(np.mean(y * y))) or 1.0
    noise = rng.random(n, dtype=np.float32)                 # uniform: cheap, unit variance below
    noise -= np.float32(0.5)
    noise *= np.float32(np.sqrt(12.0) * rms * 10 ** (plan["noise_db"] / 20))
    y += noise
    fade = min(int(0.01 * sr), n // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        y[:fade] *= ramp
        y[n - fade:] *= ramp[::-1]
    peak = float(np.abs(y).max())
    if peak > 0:
        y *= np.float32(plan["peak"] / peak)
    return y


def synthesize_clip(style: ClassStyle, seed: np.random.SeedSequence, *, seconds: float = 10.0,
                    sr: int = 22050) -> tuple[np.ndarray, dict[str, Any]]:
    """One clip of a class.

    Parameters
    ----------
    style : ClassStyle
        The class (from :func:`class_styles`).
    seed : numpy.random.SeedSequence
        The clip's seed; its children 0 and 1 drive the plan (notes) and the rendering
        (noise, drum sounds). The sequence itself is not changed.
    seconds : float
        Duration in s.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    y : np.ndarray [shape=(round(seconds * sr),)], float32
        The audio, peak in [0.3, 0.9].
    params : dict
        The clip's drawn parameters (tempo in BPM, register in MIDI, ...), JSON-ready.
    """
    n = int(round(seconds * sr))
    plan = _plan_clip(style, np.random.default_rng(_child(seed, 0)), n, sr)
    y = _render_clip(plan, np.random.default_rng(_child(seed, 1)), n, sr)
    return y, _public(plan)


def _child(seed: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """Child ``i`` of ``seed``, as ``seed.spawn(i + 1)[i]`` on a fresh sequence.

    Unlike ``spawn``, this does not depend on (or change) how many children ``seed`` has
    already spawned, so calling a function twice with the same seed object gives the same
    result.
    """
    return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (i,),
                                  pool_size=seed.pool_size)


def _public(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in plan.items()
            if not k.startswith("_")}


def _to_pcm16(y: np.ndarray) -> np.ndarray:
    return np.clip(np.round(y * 32767.0), -32767, 32767).astype(np.int16)


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(tmp, _to_pcm16(y), sr, subtype="PCM_16", format="WAV")


def _wav_size(n: int) -> int:
    return 44 + 2 * n  # canonical PCM_16 mono WAV header + data, as libsndfile writes it


# ------------------------------------------------------------------------------------------
# The collection
# ------------------------------------------------------------------------------------------
def make_synthetic(root: str | Path, *, n_classes: int = 4, clips_per_class: int = 20,
                   seconds: float = 10.0, sr: int = 22050, seed: int = 0,
                   overwrite: bool = False, n_jobs: int = 1,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate (or reuse) a labelled synthetic music collection.

    Parameters
    ----------
    root : str or Path
        Folder to fill; created if needed. It must be empty, or hold a collection made by
        this function (recognised by its ``synthetic.json``), unless ``overwrite``.
    n_classes : int
        Number of classes, at least 2; named :func:`class_names` (``synth0`` ...).
    clips_per_class : int
        Clips per class, at least 1.
    seconds : float
        Duration of every clip in s.
    sr : int
        Sample rate in Hz.
    seed : int
        Seed of the clips (the class definitions depend on ``n_classes`` only).
    overwrite : bool
        Regenerate every file even if the folder already holds the requested set, and
        write into a non-empty folder that was not made by this function.
    n_jobs : int
        Threads generating clips in parallel (numpy releases the GIL in the heavy parts).
    progress : callable, optional
        Called as ``progress(done, total)`` after each clip.

    Returns
    -------
    Path
        ``root``, holding ``<class>/<class>.000NN.wav`` (16-bit PCM, mono, ``sr`` Hz) and
        ``synthetic.json`` (the parameters, classes and each clip's drawn values).

    Raises
    ------
    DatasetError
        if ``root`` is a file, or a non-empty folder not made by this function (and not
        ``overwrite``).

    Notes
    -----
    Nothing is done when ``synthetic.json`` records the same parameters (and generator
    version) and every file is present with the right size. Files are written atomically
    and ``synthetic.json`` is marked complete last, so an interrupted run resumes where it
    stopped. When the parameters differ, the files of the previous set are removed.

    Examples
    --------
    >>> from mirlearn.datasets.folder import load_folder
    >>> root = make_synthetic("data/synth", n_classes=4, clips_per_class=20)  # doctest: +SKIP
    >>> load_folder(root).classes                                              # doctest: +SKIP
    ['synth0', 'synth1', 'synth2', 'synth3']
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    if clips_per_class < 1:
        raise ValueError(f"clips_per_class must be >= 1, got {clips_per_class}")
    if not seconds > 0 or not sr > 0:
        raise ValueError(f"seconds and sr must be positive, got {seconds}, {sr}")
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root}: exists and is not a folder")
    meta_path = root / META_NAME
    params = {"generator": "mirlearn.datasets.synthetic", "version": GENERATOR_VERSION,
              "n_classes": int(n_classes), "clips_per_class": int(clips_per_class),
              "seconds": float(seconds), "sr": int(sr), "seed": int(seed)}
    styles = class_styles(n_classes)
    files = [f"{s.name}/{s.name}.{i:05d}.wav" for s in styles for i in range(clips_per_class)]
    n = int(round(seconds * sr))

    old = _read_meta(meta_path)
    if old is None and root.is_dir() and any(not e.name.startswith(".") for e in root.iterdir()):
        if not overwrite:
            raise DatasetError(f"{root}: folder is not empty and holds no {META_NAME}; refusing to "
                               f"write a synthetic collection into it (use an empty folder, or "
                               f"overwrite=True)")
    same = old is not None and old.get("params") == params

    def intact(rel: str) -> bool:
        p = root / rel
        return p.is_file() and p.stat().st_size == _wav_size(n)

    if same and old.get("complete") and not overwrite and all(intact(f) for f in files):
        return root
    if old is not None and not same:
        _remove_old(root, old, keep=set(files))

    todo = files if overwrite or not same else [f for f in files if not intact(f)]
    todo_set = set(todo)
    atomic_write_json(meta_path, {"params": params, "complete": False, "files": files})

    root_ss = np.random.SeedSequence(seed)
    jobs = []
    for k, style in enumerate(styles):
        for i in range(clips_per_class):
            rel = f"{style.name}/{style.name}.{i:05d}.wav"
            jobs.append((rel, style, _child(_child(root_ss, k), i), rel in todo_set))

    def work(job: tuple[str, ClassStyle, np.random.SeedSequence, bool]) -> dict[str, Any]:
        rel, style, clip_ss, write = job
        if write:
            y, info = synthesize_clip(style, clip_ss, seconds=seconds, sr=sr)
            _write_wav(root / rel, y, sr)
        else:  # the file is there: only redo the cheap plan for its parameters
            info = _public(_plan_clip(style, np.random.default_rng(_child(clip_ss, 0)), n, sr))
        return {"file": rel, "class": style.name, **info}

    clips: list[dict[str, Any]] = []
    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            for k, c in enumerate(pool.map(work, jobs), start=1):
                clips.append(c)
                if progress:
                    progress(k, len(jobs))
    else:
        for k, job in enumerate(jobs, start=1):
            clips.append(work(job))
            if progress:
                progress(k, len(jobs))
    atomic_write_json(meta_path, {
        "params": params, "complete": True, "files": files,
        "classes": [asdict(s) for s in styles],
        "clips": clips,
    })
    return root


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and isinstance(meta.get("params"), dict) else None


def _remove_old(root: Path, old: dict[str, Any], keep: set[str]) -> None:
    """Delete the files of a previous synthetic set (only those it lists) and empty folders."""
    dirs = set()
    for rel in old.get("files", []):
        if not isinstance(rel, str) or rel in keep or ".." in Path(rel).parts or Path(rel).is_absolute():
            continue
        p = root / rel
        if p.is_file() and p.suffix == ".wav":
            p.unlink()
            dirs.add(p.parent)
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            pass  # not empty: something else lives there
