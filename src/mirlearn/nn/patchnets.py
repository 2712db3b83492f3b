"""Every net that takes spectrogram patches, by architecture name: the CNNs of
:mod:`mirlearn.nn.cnn` and the recurrent nets of :mod:`mirlearn.nn.rnn`.

They share their input (patches ``(B, n_bands, n_frames)``), training
(:mod:`mirlearn.nn.train.patches`), named feature layers and saved form, so one learner family
(:class:`mirlearn.learners.cnn.CNNLearner`, ``learner = "cnn"``) holds both; this module is
where a name becomes a net.

>>> family("crnn-short"), family("schindler-shallow")
('C-RNN', 'CNN')
>>> layer_names("bilstm")
('lstm1', 'lstm2')
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from mirlearn.errors import ConfigError
from mirlearn.nn import cnn, rnn

__all__ = ["architectures", "build", "family", "from_config", "has_convs", "layer_names", "min_input_size"]


def architectures() -> tuple[str, ...]:
    """Every architecture name: the CNNs', then the recurrent nets'."""
    return tuple(cnn.ARCHITECTURES) + tuple(rnn.RECURRENT)


def _check(architecture: str) -> None:
    if architecture not in cnn.ARCHITECTURES and architecture not in rnn.RECURRENT:
        raise ConfigError(f"unknown architecture {architecture!r}; known: {', '.join(architectures())}")


def family(architecture: str) -> str:
    """``"CNN"``, ``"C-RNN"`` (conv front-end and recurrent layers) or ``"RNN"``, for reports."""
    _check(architecture)
    if architecture in cnn.ARCHITECTURES:
        return "CNN"
    return "C-RNN" if rnn.RECURRENT[architecture].convs else "RNN"


def has_convs(architecture: str) -> bool:
    """Whether the architecture has conv blocks (``activation`` and ``batch_norm`` apply)."""
    return family(architecture) != "RNN"


def layer_names(architecture: str) -> tuple[str, ...]:
    """An architecture's feature layer names, in network order, without building a net."""
    _check(architecture)
    return (cnn.layer_names if architecture in cnn.ARCHITECTURES else rnn.layer_names)(architecture)


def min_input_size(architecture: str) -> tuple[int, int]:
    """The smallest patch ``(bands, frames)`` the architecture accepts."""
    _check(architecture)
    return (cnn.min_input_size if architecture in cnn.ARCHITECTURES else rnn.min_input_size)(architecture)


#: Options of a CNN's hidden dense layer; a recurrent net has none (unset is fine).
_DENSE_OPTIONS = ("dense_activation", "maxout_pieces", "dense_units")


def build(architecture: str, n_bands: int, n_frames: int, n_classes: int, **options: Any) -> nn.Module:
    """The :class:`~mirlearn.nn.cnn.PatchCNN` or :class:`~mirlearn.nn.rnn.PatchRNN` of that name
    (``options``: activation, batch_norm, dropout, init, seed, leaky_slope; a CNN's also
    dense_activation, maxout_pieces, dense_units)."""
    _check(architecture)
    if architecture in cnn.ARCHITECTURES:
        return cnn.PatchCNN(architecture, n_bands=n_bands, n_frames=n_frames, n_classes=n_classes, **options)
    given = [k for k in _DENSE_OPTIONS if options.get(k) is not None]
    if given:
        raise ConfigError(f"architecture {architecture!r} has no hidden dense layer: {', '.join(given)} does not apply")
    options = {k: v for k, v in options.items() if k not in _DENSE_OPTIONS}
    return rnn.PatchRNN(architecture, n_bands=n_bands, n_frames=n_frames, n_classes=n_classes, **options)


def from_config(config: Mapping[str, Any]) -> nn.Module:
    """The net of a saved ``net.config()`` (either family)."""
    config = dict(config)
    return build(config.pop("architecture"), config.pop("n_bands"), config.pop("n_frames"),
                 config.pop("n_classes"), **config)
