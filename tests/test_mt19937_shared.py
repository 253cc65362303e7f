"""``mt19937.WordStreams``: one shared engine for neighbouring requests, private engines for late ones.

Expected words come from NumPy's own MT19937 seeded with ``init_genrand`` (torch's ``manual_seed``).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from initcli.backends import mt19937


def _expected(seed: int, count: int) -> np.ndarray:
    bits = np.random.MT19937(0)
    bits._legacy_seeding(seed)
    return bits.random_raw(count).astype(np.uint32)


@pytest.mark.parametrize("history", [1 << 22, 5000])
def test_requests_in_any_order_and_overlapping_get_the_stream(monkeypatch, history):
    monkeypatch.setattr(mt19937, "HISTORY", history)
    expected = _expected(99, 60_000)
    streams = mt19937.WordStreams(99)
    rng = np.random.default_rng(0)
    for _ in range(300):
        start = int(rng.integers(0, 50_000))
        count = int(rng.integers(1, 9_000))
        assert np.array_equal(streams.words(start, count), expected[start : start + count]), (start, count)
    assert sum(w.size for _, w in streams.kept) <= history + 9_000


def test_threads_on_neighbouring_blocks_share_one_pass_over_the_stream():
    expected = _expected(5, 64 * 4096)
    streams = mt19937.WordStreams(5)
    got: dict[int, np.ndarray] = {}

    def work(first: int) -> None:
        for block in range(first, 64, 4):
            got[block] = streams.words(block * 4096, 4096)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.array_equal(np.concatenate([got[b] for b in range(64)]), expected)
    assert streams.shared.position == 64 * 4096 and not streams.idle  # drawn once, by the shared engine
