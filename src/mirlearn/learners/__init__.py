"""Feature learners: a family of estimators that turn frames into named feature layers.

One module per learner, all following :class:`~mirlearn.learners.base.Learner`:

- :mod:`~mirlearn.learners.mlp` — the paper's MLP (ReLU + SGD ± dropout, sigmoid + Hessian-Free);
- :mod:`~mirlearn.learners.cnn` — CNNs on spectrogram patches (the tutorials' architectures);

and the generic pieces every learner shares: :mod:`~mirlearn.learners.layers` (layer
selection, feature cells). :data:`LEARNERS` maps a family name to its class;
:func:`learner_from_config` builds the learner a configuration asks for and
:func:`load_learner` reads a saved one of any family.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirlearn.errors import MirlearnError
from mirlearn.learners.base import Learner
from mirlearn.learners.layers import (FeatureSpec, LayerSpec, cell_features, check_layer_names, layer_columns,
                                      parse_layers, select_layers)
from mirlearn.learners.cnn import CNNLearner
from mirlearn.learners.mlp import MLPLearner

__all__ = ["Learner", "MLPLearner", "CNNLearner", "LEARNERS", "FeatureSpec", "LayerSpec", "cell_features", "check_layer_names",
           "layer_columns", "parse_layers", "select_layers", "learner_from_config", "load_learner",
           "learner_class", "check_config_layers"]

#: Family name → learner class.
LEARNERS: dict[str, type[Learner]] = {MLPLearner.kind: MLPLearner, CNNLearner.kind: CNNLearner}


def learner_class(cfg: Any) -> type[Learner]:
    """The learner family a configuration asks for (its ``learner`` key; ``"mlp"`` when absent)."""
    kind = getattr(cfg, "learner", None) or "mlp"
    if kind not in LEARNERS:
        raise MirlearnError(f"unknown learner {kind!r}; known: {', '.join(LEARNERS)}")
    return LEARNERS[kind]


def learner_from_config(cfg: Any, **kwargs: Any) -> Learner:
    """The (unfitted) learner of a configuration; ``kwargs`` set runtime options (run_dir, device…)."""
    return learner_class(cfg).from_config(cfg, **kwargs)


def check_config_layers(cfg: Any) -> None:
    """Check the configuration's feature cells against the layers its learner declares.

    Raises :class:`~mirlearn.errors.ConfigError` naming the key, the value and the valid names.
    """
    from mirlearn.errors import ConfigError

    cls = learner_class(cfg)
    names = cls.layer_names_for(cls.from_config(cfg).get_params(deep=False))
    f = cfg.features
    for key, selections in (("features.layers", f.layers), ("features.predict_layers", [f.predict_layers])):
        try:
            check_layer_names(selections, names, key)
        except MirlearnError as e:
            raise ConfigError(str(e)) from None


def load_learner(path: str | Path) -> Learner:
    """Load a saved learner of any family from its folder (or file)."""
    import torch

    path = Path(path)
    f = path / "featurenet.pt" if path.is_dir() else path
    if not f.is_file():
        raise MirlearnError(f"no trained network at {f}")
    blob = torch.load(f, map_location="cpu", weights_only=False)  # read once, whatever the family
    kind = blob.get("kind", "mlp")
    if kind not in LEARNERS:
        raise MirlearnError(f"{f}: unknown learner kind {kind!r}; known: {', '.join(LEARNERS)}")
    return LEARNERS[kind].from_saved(blob)
