"""Per-weight seeds derived from a master seed and the weight's path.

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

from .streams import check_seed

_TAG = b"initcli-seed-v1\0"


def derive_seed(master: int, path: str) -> int:
    """The seed of the weight at ``path`` under master seed ``master``.

    >>> derive_seed(1, "enc1/kernel") == derive_seed(1, "enc1/kernel")
    True
    """
    check_seed(master, "master seed")
    digest = hashlib.sha256(_TAG + str(int(master)).encode() + b"\0" + path.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")
