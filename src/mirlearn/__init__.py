"""mirlearn: learn features from music audio with deep neural networks.

Heavy modules (torch, scikit-learn) are imported lazily, so ``import mirlearn`` and
``mirlearn --help`` stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
