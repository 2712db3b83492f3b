"""Typed experiment configuration, read from TOML.

A configuration has one section per pipeline stage. Unknown sections or keys, and values of
the wrong type, raise :class:`~mirlearn.errors.ConfigError` naming the key — a misspelt key
never silently falls back to a default. The resolved configuration is saved beside every run.

The packaged configurations (``mirlearn/configs/*.toml``) hold the paper's settings; they are
addressed by name (``sigtia2014-relu-dropout-500``) or a TOML file can be given by path.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mirlearn.errors import ConfigError


@dataclass
class FramesConfig:
    """Input frames: |FFT| of Hann-windowed frames (see :mod:`mirlearn.features.spectral`)."""

    sr: int = 22050  #: sample rate the audio is resampled to, Hz
    n_fft: int = 1024  #: frame length, samples
    hop_length: int = 512  #: hop between frames, samples
    center: bool = False  #: librosa-style centring (zero padding n_fft // 2 each side)
    max_seconds: float | None = None  #: use only the first seconds of each track (ISMIR 2004: 30)


@dataclass
class NetworkConfig:
    """The MLP ``n_in → hidden[0] → … → n_classes``."""

    hidden: list[int] = field(default_factory=lambda: [500, 500, 500])
    activation: str = "relu"  #: "relu" or "sigmoid"
    dropout: float = 0.0  #: dropout rate on each hidden layer
    input_dropout: float = 0.0  #: dropout rate on the input (off in the paper)


@dataclass
class TrainingConfig:
    """Optimiser settings: SGD for ReLU nets, Hessian-Free for sigmoid nets."""

    optimizer: str = "sgd"  #: "sgd" or "hf"
    loss: str = "softmax"  #: "softmax" (cross-entropy) or "sigmoid" (binary CE per output)
    lr: float = 0.01  #: SGD learning rate, no schedule
    batch_size: int = 256  #: SGD minibatch, frames
    max_epochs: int = 200  #: SGD epochs (or HF steps when optimizer = "hf")
    patience: int = 10  #: early stopping on validation loss, epochs (0 = off)
    seed: int = 0
    init_damping: float = 10.0  #: HF: initial Levenberg-Marquardt λ
    max_cg_iters: int = 250  #: HF: conjugate-gradient iterations per step
    curvature_fraction: float = 0.25  #: HF: share of the training set for curvature
    max_train_frames: int | None = None  #: seeded subsample of training frames (a reduction)
    #: SGD: frames drawn afresh from all training frames each epoch (a reduction); None = all
    frames_per_epoch: int | None = None
    #: seeded subsample of the validation frames that early stopping watches (a reduction)
    max_valid_frames: int | None = None


@dataclass
class FeaturesConfig:
    """Which hidden activations become features, and the optional aggregation."""

    layers: list[str] = field(default_factory=lambda: ["1", "2", "3", "all"])
    aggregate: list[bool] = field(default_factory=lambda: [False, True])
    window_seconds: float = 5.0  #: aggregation window, s
    hop_seconds: float = 2.5  #: aggregation hop, s
    predict_layers: str = "all"  #: features of the forest saved with a model for `predict`
    predict_aggregate: bool = True


@dataclass
class ForestConfig:
    """The Random Forest on frame (or window) features, then a majority vote per track."""

    n_estimators: int = 500
    max_features: str | int | float = "sqrt"
    min_samples_leaf: int = 1
    #: bootstrap sample per tree: a share of the rows (float in (0, 1]), a number of rows (int,
    #: capped at the rows there are) or None (as many as there are rows)
    max_samples: int | float | None = None
    max_train_frames: int | None = None  #: seeded per-track subsample of training rows
    backend: str = "sklearn"  #: "sklearn" (Random Forest), "extra_trees" or "hist_gradient_boosting"
    n_jobs: int = -1
    seed: int = 0


@dataclass
class SplitsConfig:
    """The protocol: K random stratified train/valid/test splits."""

    n_splits: int = 4
    fractions: list[float] = field(default_factory=lambda: [0.5, 0.25, 0.25])
    seed: int = 0


@dataclass
class Config:
    """A whole experiment: frames → network → features → forest → vote, over splits."""

    name: str = "custom"
    description: str = ""
    frames: FramesConfig = field(default_factory=FramesConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    forest: ForestConfig = field(default_factory=ForestConfig)
    splits: SplitsConfig = field(default_factory=SplitsConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> "Config":
        """Check values that types alone cannot; returns self."""
        n, t, f = self.network, self.training, self.features
        _check(n.activation in ("relu", "sigmoid"), "network.activation", "must be 'relu' or 'sigmoid'")
        _check(len(n.hidden) >= 1 and all(h > 0 for h in n.hidden), "network.hidden", "must be positive widths")
        _check(0.0 <= n.dropout < 1.0, "network.dropout", "must be in [0, 1)")
        _check(0.0 <= n.input_dropout < 1.0, "network.input_dropout", "must be in [0, 1)")
        _check(t.optimizer in ("sgd", "hf"), "training.optimizer", "must be 'sgd' or 'hf'")
        _check(t.loss in ("softmax", "sigmoid"), "training.loss", "must be 'softmax' or 'sigmoid'")
        _check(t.lr > 0, "training.lr", "must be > 0")
        _check(t.batch_size > 0, "training.batch_size", "must be > 0")
        _check(t.max_epochs > 0, "training.max_epochs", "must be > 0")
        _check(t.patience >= 0, "training.patience", "must be >= 0")
        _check(0 < t.curvature_fraction <= 1, "training.curvature_fraction", "must be in (0, 1]")
        for key in ("max_train_frames", "frames_per_epoch", "max_valid_frames"):
            value = getattr(t, key)
            _check(value is None or value >= 1, f"training.{key}", "must be a positive number of frames (or unset)")
        valid_layers = {str(i) for i in range(1, len(n.hidden) + 1)} | {"all"}
        for layer in f.layers + [f.predict_layers]:
            _check(layer in valid_layers, "features.layers", f"{layer!r} is not one of {sorted(valid_layers)}")
        _check(f.window_seconds > 0 and f.hop_seconds > 0, "features.window_seconds", "must be > 0")
        _check(self.forest.n_estimators > 0, "forest.n_estimators", "must be > 0")
        _check(self.forest.backend in ("sklearn", "random_forest", "extra_trees", "hist_gradient_boosting"),
               "forest.backend", "must be sklearn, random_forest, extra_trees or hist_gradient_boosting")
        s = self.splits
        _check(len(s.fractions) == 3 and abs(sum(s.fractions) - 1) < 1e-9 and min(s.fractions) > 0,
               "splits.fractions", "must be three positive numbers summing to 1")
        _check(s.n_splits >= 1, "splits.n_splits", "must be >= 1")
        return self


def _check(ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"config key {key} {what}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (ints are accepted for floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key}: {value!r} is not of type {tp}")
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key {key}: expected a list, got {value!r}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"config key {key}: expected nothing, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"config key {key}: {value!r} is not of type {getattr(tp, '__name__', tp)}")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"section [{prefix}]" if prefix else "top level"
        raise ConfigError(f"unknown config key(s) in {where}: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for k, v in data.items():
        tp = hints[k]
        key = f"{prefix}.{k}" if prefix else k
        if dataclasses.is_dataclass(tp):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {key} must be a table [{key}]")
            kwargs[k] = _build(tp, v, key)
        else:
            kwargs[k] = _coerce(v, tp, key)
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a :class:`Config` from nested dicts (TOML or JSON)."""
    return _build(Config, data, "").validate()


def packaged_configs() -> list[str]:
    """Names of the configurations shipped with mirlearn."""
    root = resources.files("mirlearn") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read a configuration by packaged name or TOML path, with optional overrides.

    Parameters
    ----------
    name_or_path : a packaged name (see :func:`packaged_configs`) or a path to a TOML file
    overrides : nested dict merged over the file, e.g. ``{"training": {"max_epochs": 5}}``
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text(encoding="utf-8")
        source = str(path)
    else:
        res = resources.files("mirlearn") / "configs" / f"{name_or_path}.toml"
        if not res.is_file():
            raise ConfigError(f"no config named {name_or_path!r}; packaged: {', '.join(packaged_configs())}")
        text = res.read_text(encoding="utf-8")
        source = f"{name_or_path} (packaged)"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    if overrides:
        data = merge(data, overrides)
    return config_from_dict(data)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge, ``over`` winning."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def dump_toml(cfg: Config) -> str:
    """The configuration as TOML text (saved beside runs)."""
    lines = [f"name = {_toml_value(cfg.name)}", f"description = {_toml_value(cfg.description)}"]
    for f in dataclasses.fields(cfg):
        sub = getattr(cfg, f.name)
        if not dataclasses.is_dataclass(sub):
            continue
        lines.append(f"\n[{f.name}]")
        for g in dataclasses.fields(sub):
            v = getattr(sub, g.name)
            if v is None:
                lines.append(f"# {g.name} = (unset)")
            else:
                lines.append(f"{g.name} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)
