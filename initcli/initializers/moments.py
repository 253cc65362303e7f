"""The standard deviation an initializer's values have in expectation.

Recorded as ``std`` in provenance and in ``--dry-run`` plans, so that a reader
can check a written tensor against its distribution without Keras:

* ``VarianceScaling`` (and its presets): ``limit / sqrt(3)`` when uniform on
  ``[-limit, limit)``; ``stddev * 0.87962566103423978`` when truncated at two
  standard deviations; ``stddev`` when untruncated;
* ``TruncatedNormal(stddev)``: ``stddev * 0.87962566103423978``;
* ``RandomNormal(stddev)``: ``stddev``;
* ``RandomUniform(minval, maxval)``: ``(maxval - minval) / sqrt(12)``;
* any other initializer: ``None`` (not random).
"""

from __future__ import annotations

from .base import Initializer
from .random import RandomNormal, RandomUniform, TruncatedNormal
from .variance_scaling import TRUNCATED_STDDEV_RATIO, VarianceScaling


def expected_std(initializer: Initializer, shape: tuple[int, ...]) -> float | None:
    """The standard deviation the initializer's values have in expectation (``None`` if not random)."""
    if isinstance(initializer, VarianceScaling):
        spread = initializer.spread(shape)
        if "limit" in spread:
            return spread["limit"] / 3**0.5
        ratio = TRUNCATED_STDDEV_RATIO if initializer.distribution == "truncated_normal" else 1.0
        return spread["stddev"] * ratio
    if isinstance(initializer, TruncatedNormal):
        return initializer.stddev * TRUNCATED_STDDEV_RATIO
    if isinstance(initializer, RandomNormal):
        return float(initializer.stddev)
    if isinstance(initializer, RandomUniform):
        return (initializer.maxval - initializer.minval) / 12**0.5
    return None
