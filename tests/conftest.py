"""Shared fixtures: real Keras 3 on its numpy backend, side by side with initcli."""

from __future__ import annotations

import os
import tempfile

os.environ["KERAS_BACKEND"] = "numpy"  # must precede the first Keras import
# JAX stream tables are cached per test session, not in the home directory
os.environ.setdefault("INITCLI_CACHE_DIR", tempfile.mkdtemp(prefix="initcli-test-cache-"))

import pytest
from hypothesis import settings

# In CI the property-based fuzzers run a fixed budget of fixed examples (each test's
# max_examples, derandomized), so a run is reproducible; elsewhere they explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def keras():
    """The real ``keras`` package (3.15.1, numpy backend)."""
    import keras as keras_module

    assert keras_module.backend.backend() == "numpy"
    return keras_module
