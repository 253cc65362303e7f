"""Hostile and damaged files given to the readers (``inspect``, ``verify``): every one is refused
or read cleanly, one line naming the file, before any data it should not touch is read."""

from __future__ import annotations

import numpy as np
import pytest

from initcli.errors import ResourceError
from initcli.readers import read_tensors
from initcli.verify import verify_file

from .helpers import run_in_process


def test_max_bytes_refuses_before_reading(tmp_path):
    assert run_in_process(["zeros", "-s", "100", "-o", "a.npz"], tmp_path).exit_code == 0
    with pytest.raises(ResourceError, match="more than --max-bytes"):
        with read_tensors(tmp_path / "a.npz", max_bytes=399):
            pass
    with pytest.raises(ResourceError, match="400 B of tensors"):
        verify_file(tmp_path / "a.npz", max_bytes=10)
    with read_tensors(tmp_path / "a.npz", max_bytes=400) as stored:
        assert np.array_equal(stored.tensors[0].load(), np.zeros(100, np.float32))
