"""Statistical tests: sample moments and distributions against exact theory.

Tolerances come from the sample size: a sample mean of n draws has standard
error σ/√n, a sample standard deviation about σ·√((κ-1)/(4n)) for kurtosis
κ; we allow Z = 5 standard errors (a fixed seed makes each test
deterministic; 5 SE keeps a correct implementation far from the edge while a
wrong constant -- e.g. a missing truncation correction of 12 % -- fails by
hundreds of SE).  Distributions are checked with the Kolmogorov-Smirnov test
against the exact CDF (truncated where the initializer truncates).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import initcli.initializers as ours

Z = 5.0
SHAPE = (800, 500)  # n = 400,000; fan_in 800, fan_out 500
N = SHAPE[0] * SHAPE[1]
KS_N = 50_000
KS_ALPHA = 1e-4

TRUNC = stats.truncnorm(-2.0, 2.0)


def _distribution(init: ours.Initializer, shape):
    """(scipy frozen distribution, kurtosis) that the initializer should follow for ``shape``."""
    if isinstance(init, ours.VarianceScaling):
        spread = init.spread(shape)
        if init.distribution == "uniform":
            limit = spread["limit"]
            return stats.uniform(-limit, 2 * limit), 1.8
        if init.distribution == "untruncated_normal":
            return stats.norm(0.0, spread["stddev"]), 3.0
        sigma = spread["stddev"]
        return stats.truncnorm(-2.0, 2.0, loc=0.0, scale=sigma), 3.0 + float(TRUNC.stats(moments="k"))
    if isinstance(init, ours.RandomUniform):
        return stats.uniform(init.minval, init.maxval - init.minval), 1.8
    if isinstance(init, ours.TruncatedNormal):
        return stats.truncnorm(-2.0, 2.0, loc=init.mean, scale=init.stddev), 3.0 + float(TRUNC.stats(moments="k"))
    return stats.norm(init.mean, init.stddev), 3.0


CASES = [
    ours.RandomNormal(seed=11),
    ours.RandomNormal(mean=1.5, stddev=3.0, seed=12),
    ours.RandomUniform(seed=13),
    ours.RandomUniform(minval=-2.0, maxval=5.0, seed=14),
    ours.TruncatedNormal(seed=15),
    ours.TruncatedNormal(mean=-0.5, stddev=2.0, seed=16),
    ours.GlorotNormal(seed=17),
    ours.GlorotUniform(seed=18),
    ours.HeNormal(seed=19),
    ours.HeUniform(seed=20),
    ours.LecunNormal(seed=21),
    ours.LecunUniform(seed=22),
    ours.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal", seed=23),
    ours.VarianceScaling(scale=0.5, mode="fan_avg", distribution="truncated_normal", seed=24),
    ours.VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=25),
]


@pytest.mark.parametrize("init", CASES, ids=repr)
def test_moments_match_exact_theory(init):
    sample = init(SHAPE, dtype="float64").ravel()
    dist, kurtosis = _distribution(init, SHAPE)
    mean, std = float(dist.mean()), float(dist.std())
    assert abs(sample.mean() - mean) <= Z * std / math.sqrt(N), (sample.mean(), mean)
    std_error = std * math.sqrt((kurtosis - 1.0) / (4.0 * N))
    assert abs(sample.std() - std) <= Z * std_error, (sample.std(), std, std_error)
    lo, hi = dist.support()
    assert sample.min() >= lo and sample.max() <= hi


@pytest.mark.parametrize("init", CASES, ids=repr)
def test_distribution_passes_kolmogorov_smirnov(init):
    sample = init(SHAPE, dtype="float64").ravel()[:KS_N]
    dist, _ = _distribution(init, SHAPE)
    result = stats.kstest(sample, dist.cdf)
    assert result.pvalue > KS_ALPHA, result


def test_ks_would_catch_a_missing_truncation_correction():
    """The KS test has power here: truncated draws without the 0.8796 correction fail it."""
    init = ours.GlorotNormal(seed=17)
    sample = init(SHAPE, dtype="float64").ravel()[:KS_N]
    sigma_wrong = init.spread(SHAPE)["stddev"] * 0.87962566103423978
    assert stats.kstest(sample, stats.truncnorm(-2, 2, scale=sigma_wrong).cdf).pvalue < KS_ALPHA


def test_variance_scaling_std_is_sqrt_scale_over_n():
    """The kept values of every truncated preset have std sqrt(scale / n) exactly in expectation."""
    fan_in, fan_out = SHAPE
    expected = {
        ours.GlorotNormal: math.sqrt(2.0 / (fan_in + fan_out)),
        ours.HeNormal: math.sqrt(2.0 / fan_in),
        ours.LecunNormal: math.sqrt(1.0 / fan_in),
    }
    for cls, target in expected.items():
        spread = cls(seed=1).spread(SHAPE)["stddev"]
        assert math.isclose(spread * float(TRUNC.std()), target, rel_tol=1e-15)


@pytest.mark.parametrize("shape,gain", [((300, 200), 1.0), ((200, 300), 2.0), ((3, 3, 16, 32), 0.5)])
def test_orthogonal_is_orthogonal_and_haar_like(shape, gain):
    w = ours.Orthogonal(gain=gain, seed=7)(shape, dtype="float64").reshape(-1, shape[-1])
    rows, cols = w.shape
    gram = w.T @ w if rows >= cols else w @ w.T
    assert np.max(np.abs(gram - gain**2 * np.eye(min(rows, cols)))) < 2e-5 * gain**2
    # entries of a Haar matrix: mean 0, variance gain² / max(rows, cols)
    n = w.size
    variance = gain**2 / max(rows, cols)
    assert abs(w.mean()) <= Z * math.sqrt(variance / n)
    assert abs(w.var() - variance) <= Z * variance * math.sqrt(2.0 / n)
