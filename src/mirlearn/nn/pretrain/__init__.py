"""Unsupervised greedy layer-wise pre-training of the MLP's hidden layers.

=================  ================================================================
:mod:`.settings`   :class:`PretrainSettings` (the ``[pretrain]`` section; no torch)
:mod:`.rbm`        :class:`~.rbm.RBM`: Gaussian-Bernoulli and Bernoulli-Bernoulli, CD-k
:mod:`.dae`        :class:`~.dae.DenoisingAutoencoder`, :func:`~.dae.corrupt` (mask, Gaussian)
:mod:`.runner`     :class:`~.runner.LayerEpochs`: one layer as an epoch runner of the training loop
:mod:`.stack`      :func:`~.stack.pretrain_mlp`: the greedy stack, weights written into the MLP
=================  ================================================================

Only the settings are imported here, so that reading a configuration does not import torch;
the rest is imported from its module.
"""

from mirlearn.nn.pretrain.settings import CORRUPTIONS, PRETRAIN_METHODS, PretrainSettings

__all__ = ["CORRUPTIONS", "PRETRAIN_METHODS", "PretrainSettings"]
