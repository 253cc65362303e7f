"""Seeds: the integers Keras accepts, and per-weight seeds derived from a master seed.

A Keras seed is an integer in ``[0, 2**32)`` (:data:`SEED_LIMIT`): one uint32
word of the stream key ``[seed, draw]``; :func:`check_seed` refuses anything
else.

A whole model is sampled from one master seed ``M``.  Each weight gets its own
seed, a function of ``M`` and the weight's path only (``enc1/kernel``,
``inner_block/inner_dense_a/bias``)::

    seed = int.from_bytes(sha256(b"initcli-seed-v1\\0" + str(M) + b"\\0" + path).digest()[:4], "big")

so adding, removing or reordering other layers never changes a weight's
values, while a different master seed changes them all.  The result is in
``[0, 2**32)``, the range of a Keras seed.  The ``v1`` tag is part of the
stream contract: it changes only if this derivation ever changes.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import InvalidArgument

SEED_LIMIT = 2**32
"""Seeds are integers in ``[0, SEED_LIMIT)``: one uint32 word of Keras's key."""

_TAG = b"initcli-seed-v1\0"


def check_seed(seed: object, what: str = "seed") -> int:
    """Return ``seed`` as an int if it is an integer in ``[0, 2**32)``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgument(f"{what} {seed!r} is not an integer; use an integer from 0 to {SEED_LIMIT - 1}")
    value = int(seed)
    if not 0 <= value < SEED_LIMIT:
        raise InvalidArgument(f"{what} {value} is out of range; use an integer from 0 to {SEED_LIMIT - 1}")
    return value


def derive_seed(master: int, path: str) -> int:
    """The seed of the weight at ``path`` under master seed ``master``.

    >>> derive_seed(1, "enc1/kernel") == derive_seed(1, "enc1/kernel")
    True
    """
    check_seed(master, "master seed")
    digest = hashlib.sha256(_TAG + str(int(master)).encode() + b"\0" + path.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")
