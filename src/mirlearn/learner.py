"""Old home of the feature learner; kept so that existing imports keep working.

Use :mod:`mirlearn.learners` (``MLPLearner``, ``FeatureSpec``, layer selection) instead.
"""

from mirlearn.learners import FeatureSpec, LayerSpec, layer_columns, parse_layers  # noqa: F401
from mirlearn.learners.mlp import MLPLearner as FeatureLearner  # noqa: F401
