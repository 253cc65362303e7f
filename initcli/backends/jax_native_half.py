"""Keras on JAX where XLA:CPU computes float16 natively (CPUs with AVX512-FP16).

The float16 numbers of Keras's JAX backend depend on the CPU.  XLA:CPU emits
the same LLVM code everywhere (``fmul``/``fadd`` on ``half`` vectors); how
LLVM lowers it depends on the CPU features XLA hands it:

* without AVX512-FP16, every float16 operation is widened to float32 and its
  result rounded back to float16, so ``f·(high - low) + low`` is rounded
  twice: this is :mod:`initcli.backends.jax_streams`, the stream of
  ``--backend jax`` on every machine (and its golden vectors);
* with AVX512-FP16 (Intel Sapphire Rapids and later), float16 is a native
  type and LLVM fuses the multiply-add into one ``vfmadd213ph``: rounded
  once.  That is this module.  Measured with jax/jaxlib 0.10.2: in 65,536
  float16 draws of ``RandomUniform(-0.05, 0.05)``, 29,660 differ by one unit in
  the last place from the stream of the first kind.

Only float16 differs (``erf_inv`` is computed in float32 either way, and
``sqrt2 · x`` and Keras's ``x · stddev + mean`` are single operations, each
correctly rounded on both kinds of CPU); float32 and float64 draws are the
:mod:`~initcli.backends.jax_streams` ones.

This variant is not offered as a backend: the same command gives the same
bytes on every machine.  The live tests use it to compare with Keras on
machines where XLA computes float16 natively (:func:`xla_float16_is_native`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import jax_streams

_WIDENING_ISAS = frozenset({"SSE4_2", "AVX", "AVX2"})
"""``--xla_cpu_max_isa`` values that take AVX512-FP16 away from XLA:CPU.  Checked with jaxlib
0.10.2 on a CPU with AVX512-FP16: ``AVX`` and ``AVX2`` give the widened float16 arithmetic
(``SSE4_2`` makes XLA fail to compile the draws); ``AVX512``, ``AVX512_VNNI``, ``AVX512_BF16``,
``AMX`` and ``AMX_FP16`` keep the native one, and so does an unknown value, which XLA ignores
with a warning.  Values are case-insensitive."""

_MAX_ISA = re.compile(r"(?:^|\s)--xla_cpu_max_isa=(\S*)")


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in ``/proc/cpuinfo`` text (empty if none)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def xla_float16_is_native(flags: frozenset[str], xla_flags: str = "") -> bool:
    """Whether XLA:CPU computes float16 natively (fused, one rounding) for a CPU with these
    ``/proc/cpuinfo`` ``flags`` under the ``XLA_FLAGS`` string ``xla_flags``: the CPU has
    ``avx512_fp16`` and the last ``--xla_cpu_max_isa=`` (if any) is not ``SSE4_2``, ``AVX`` or ``AVX2``."""
    if "avx512_fp16" not in flags:
        return False
    settings = _MAX_ISA.findall(xla_flags)
    return not (settings and settings[-1].upper() in _WIDENING_ISAS)


def this_machine_is_native(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """:func:`xla_float16_is_native` for this machine and ``$XLA_FLAGS`` (False where ``cpuinfo``
    cannot be read, i.e. outside Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return xla_float16_is_native(cpu_flags(text), os.environ.get("XLA_FLAGS", ""))


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """:func:`initcli.backends.jax_streams.uniform_chunks` with float16 computed natively."""
    return jax_streams.uniform_chunks(n, minval, maxval, dtype, seed, draw, fused_half=True)


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """:func:`initcli.backends.jax_streams.normal_chunks` with float16 computed natively."""
    return jax_streams.normal_chunks(n, mean, stddev, dtype, seed, draw, fused_half=True)


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """:func:`initcli.backends.jax_streams.truncated_normal_chunks` with float16 computed natively."""
    return jax_streams.truncated_normal_chunks(n, mean, stddev, dtype, seed, draw, fused_half=True)
