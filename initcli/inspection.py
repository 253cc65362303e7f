"""``inspect``: the tensors of a file, their statistics, and what their initializer predicts.

For every tensor: shape, dtype, bytes; the sample mean, standard deviation,
min, max and fraction of values more than two standard deviations from the
mean; a histogram; and, when the file records the initializer (initcli's
provenance), the values that initializer predicts, with a flag where the
sample disagrees beyond what its size allows:

* mean: more than 6 standard errors (σ/√n) from the predicted mean;
* std: more than 6 standard errors (σ·√((κ-1)/4n), κ the distribution's
  kurtosis) from the predicted std;
* min/max: outside the distribution's support (by more than rounding);
* fraction beyond 2σ: more than 6 binomial standard errors from its
  predicted value (4.55 % for a normal, 3.47 % for Keras's truncated normal,
  0 for a uniform).

Deterministic initializers predict exact values (min = max = the constant).
Statistics are computed in float64 over chunks, so a tensor need not fit in
memory twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dtypes import float_info, is_float
from .errors import InvalidArgument
from .initializers import (
    Constant,
    Initializer,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    deserialize,
)
from .initializers.variance_scaling import TRUNCATED_STDDEV_RATIO
from .readers import StoredTensor, read_tensors

CHUNK = 1 << 22
Z = 6.0
BINS = 24
_BLOCKS = " ▁▂▃▄▅▆▇█"
_TRUNCATED_KURTOSIS = 2.3655367171296495  # standard normal truncated to [-2, 2]


def _phi_tail(x: float) -> float:
    """P(|Z| > x) for a standard normal."""
    return math.erfc(x / math.sqrt(2.0))


@dataclass
class Prediction:
    """What an initializer predicts for its values."""

    mean: float
    std: float
    low: float
    high: float
    beyond: float
    """Probability of |x - mean| > 2 std."""
    kurtosis: float
    exact: bool = False


def predict(initializer: Initializer, shape: tuple[int, ...]) -> Prediction | None:
    """The distribution of ``initializer``'s values for ``shape``, or ``None`` if unknown."""
    if isinstance(initializer, (Zeros, Ones, Constant)):
        value = 0.0 if isinstance(initializer, Zeros) else 1.0 if isinstance(initializer, Ones) else initializer.value
        if np.ndim(value) != 0:
            return None
        v = float(value)
        return Prediction(v, 0.0, v, v, 0.0, 1.0, exact=True)
    if isinstance(initializer, VarianceScaling):
        spread = initializer.spread(shape)
        if "limit" in spread:
            limit = spread["limit"]
            return Prediction(0.0, limit / math.sqrt(3), -limit, limit, 0.0, 1.8)
        sigma = spread["stddev"]
        if initializer.distribution == "untruncated_normal":
            return Prediction(0.0, sigma, -math.inf, math.inf, _phi_tail(2.0), 3.0)
        return _truncated(0.0, sigma)
    if isinstance(initializer, TruncatedNormal):
        return _truncated(float(initializer.mean), float(initializer.stddev))
    if isinstance(initializer, RandomNormal):
        return Prediction(float(initializer.mean), float(initializer.stddev), -math.inf, math.inf, _phi_tail(2.0), 3.0)
    if isinstance(initializer, RandomUniform):
        a, b = float(initializer.minval), float(initializer.maxval)
        return Prediction((a + b) / 2, (b - a) / math.sqrt(12), a, b, 0.0, 1.8)
    if isinstance(initializer, Orthogonal) and len(shape) >= 2:
        n = max(math.prod(shape[:-1]), shape[-1])
        gain = abs(float(initializer.gain))
        return Prediction(0.0, gain / math.sqrt(n), -gain, gain, math.nan, math.nan)
    return None


def predict_torch(call: Any) -> Prediction | None:
    """The distribution of a ``torch.nn.init`` call's values (a record's ``{"function", "shape",
    "arguments"}``, torch's defaults for arguments left out), or ``None`` if unknown or malformed.

    ``uniform_(a, b)``: mean ``(a+b)/2``, std ``(b-a)/√12``; ``normal_(mean, std)``; ``xavier_*``:
    ``std = gain·√(2/(fan_in+fan_out))``; ``kaiming_*``: ``std = calculate_gain(nonlinearity, a)/√fan``
    (uniform on ``±√3·std``); ``trunc_normal_(mean, std, a, b)``: the normal restricted to
    ``[a, b]`` (:func:`_truncated_between`); ``constant_``, ``ones_``, ``zeros_``: exactly the value."""
    from .torch_init import INITIALIZERS, arguments
    from .torch_init.functions import calculate_correct_fan, calculate_fan_in_and_fan_out, calculate_gain

    if not isinstance(call, dict) or call.get("function") not in INITIALIZERS:
        return None
    name, shape, given = call["function"], call.get("shape"), call.get("arguments", {})
    if not isinstance(shape, list) or not isinstance(given, dict):
        return None
    args = {k: p.default for k, p in arguments(INITIALIZERS[name]).items() if p.default is not p.empty}
    args.update(given)
    try:
        if name in ("constant_", "ones_", "zeros_"):
            v = float(args["val"]) if name == "constant_" else 1.0 if name == "ones_" else 0.0
            return Prediction(v, 0.0, v, v, 0.0, 1.0, exact=True)
        if name == "uniform_":
            a, b = float(args["a"]), float(args["b"])
            return Prediction((a + b) / 2, (b - a) / math.sqrt(12), a, b, 0.0, 1.8)
        if name == "normal_":
            return Prediction(float(args["mean"]), float(args["std"]), -math.inf, math.inf, _phi_tail(2.0), 3.0)
        if name == "trunc_normal_":
            return _truncated_between(float(args["mean"]), float(args["std"]), float(args["a"]), float(args["b"]))
        if name.startswith("xavier_"):
            fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
            std = float(args["gain"]) * math.sqrt(2.0 / (fan_in + fan_out))
        elif name.startswith("kaiming_"):
            std = calculate_gain(args["nonlinearity"], args["a"]) / math.sqrt(
                calculate_correct_fan(shape, args["mode"])
            )
        else:
            return None
    except (InvalidArgument, KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if name.endswith("uniform_"):
        bound = math.sqrt(3.0) * std
        return Prediction(0.0, std, -bound, bound, 0.0, 1.8)
    return Prediction(0.0, std, -math.inf, math.inf, _phi_tail(2.0), 3.0)


def _truncated_between(mean: float, sigma: float, a: float, b: float) -> Prediction | None:
    """``N(mean, sigma²)`` restricted to ``[a, b]``: with ``α = (a-mean)/σ``, ``β = (b-mean)/σ``,
    ``Z = Φ(β) - Φ(α)``, mean ``mean + σ(φ(α) - φ(β))/Z`` and variance
    ``σ²(1 + (αφ(α) - βφ(β))/Z - ((φ(α) - φ(β))/Z)²)``; the share beyond 2 std from the CDF;
    kurtosis not predicted."""
    if not sigma > 0 or not a < b:
        return None
    alpha, beta = (a - mean) / sigma, (b - mean) / sigma

    def phi(x: float) -> float:  # the standard normal CDF
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    z = phi(beta) - phi(alpha)
    if not z > 1e-12:
        return None

    def pdf(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0

    def xpdf(x: float) -> float:
        return x * pdf(x) if math.isfinite(x) else 0.0

    shift = (pdf(alpha) - pdf(beta)) / z
    m = mean + sigma * shift
    std = sigma * math.sqrt(max(1 + (xpdf(alpha) - xpdf(beta)) / z - shift * shift, 0.0))

    def cdf(x: float) -> float:  # of the truncated distribution, in units of the untruncated one
        t = min(max((x - mean) / sigma, alpha), beta)
        return (phi(t) - phi(alpha)) / z

    beyond = cdf(m - 2 * std) + 1 - cdf(m + 2 * std)
    return Prediction(m, std, a, b, beyond, math.nan)


def _truncated(mean: float, sigma: float) -> Prediction:
    std = sigma * TRUNCATED_STDDEV_RATIO
    kept = 1.0 - _phi_tail(2.0)
    beyond = (_phi_tail(2.0 * TRUNCATED_STDDEV_RATIO) - _phi_tail(2.0)) / kept
    return Prediction(mean, std, mean - 2 * sigma, mean + 2 * sigma, beyond, _TRUNCATED_KURTOSIS)


def statistics(array: np.ndarray) -> dict[str, Any]:
    """Mean, std, min, max, fraction beyond 2 std and a histogram of an array (float64, chunked)."""
    flat = array.reshape(-1)
    return statistics_of(lambda: (flat[start : start + CHUNK] for start in range(0, flat.size, CHUNK)), flat.size)


_SCALE_FROM = 1e100
"""Above this magnitude, values are scaled by a power of two before squaring and summing (exact), so
that no float64 sum or square overflows."""


def statistics_of(chunks: Callable[[], Iterator[np.ndarray]], n: int) -> dict[str, Any]:
    """The same statistics over a tensor of ``n`` declared elements given as a re-startable stream
    of flat chunks: three passes (mean; spread; tails and histogram), never the whole tensor in memory.

    ``read`` is the number of elements the stream actually returned (less than ``n`` for a
    damaged file), and ``nan``, ``posinf``, ``neginf`` count the non-finite ones; every other
    statistic is over the ``finite`` values only and divides by their count, never by ``n``
    (``None`` when there are none).  Sums are float64; a tensor with values beyond 1e100 is
    summed scaled by a power of two, so nothing overflows at any float64 value.
    """
    if n == 0:
        return {"n": 0}
    read = finite = nan = posinf = neginf = 0
    total = 0.0
    low, high = math.inf, -math.inf
    for chunk in chunks():
        part = np.asarray(chunk).reshape(-1)
        read += part.size
        if is_float(part.dtype):
            good = np.isfinite(part)
            count = int(np.count_nonzero(good))
            if count != part.size:
                bad = part[~good]
                nan += int(np.count_nonzero(np.isnan(bad)))
                posinf += int(np.count_nonzero(bad == np.inf))
                neginf += int(np.count_nonzero(bad == -np.inf))
                part = part[good]
        if part.size:
            finite += part.size
            low, high = min(low, float(part.min())), max(high, float(part.max()))
            with np.errstate(over="ignore"):  # values beyond 1e100 are summed again, scaled
                total += float(part.sum(dtype=np.float64))
    counts = {"n": n, "read": read, "finite": finite, "nan": nan, "posinf": posinf, "neginf": neginf}
    if not finite:
        return {**counts, "mean": None, "std": None, "min": None, "max": None, "beyond_2std": None, "histogram": []}
    exponent = math.frexp(max(abs(low), abs(high)))[1] if max(abs(low), abs(high)) > _SCALE_FROM else 0

    def values() -> Iterator[np.ndarray]:
        """The finite values as float64, scaled by 2**-exponent (exact)."""
        for chunk in chunks():
            part = np.asarray(chunk).reshape(-1)
            if nan or posinf or neginf:  # dropped before the cast: a signalling NaN warns when cast
                part = part[np.isfinite(part)]
            part = part.astype(np.float64)
            yield np.ldexp(part, -exponent) if exponent else part

    if exponent:  # the unscaled sum may have overflowed: sum again, scaled
        total = sum(float(part.sum()) for part in values())
    mean = total / finite
    squares = 0.0
    for part in values():
        centred = part - mean
        squares += float(np.dot(centred, centred))
    std = math.sqrt(squares / finite)
    beyond = 0
    histogram = np.zeros(BINS, dtype=np.int64)
    scaled_low, scaled_high = math.ldexp(low, -exponent), math.ldexp(high, -exponent)
    edges = np.linspace(scaled_low, scaled_high, BINS + 1) if high > low else None
    for part in values():
        beyond += int(np.count_nonzero(np.abs(part - mean) > 2 * std))
        if edges is not None:
            histogram += np.histogram(part, bins=edges)[0]
    if edges is None:
        histogram[BINS // 2] = finite
    return {
        **counts,
        "mean": _unscaled(mean, exponent),
        "std": _unscaled(std, exponent),
        "min": low,
        "max": high,
        "beyond_2std": beyond / finite,
        "histogram": histogram.tolist(),
    }


def _unscaled(value: float, exponent: int) -> float:
    """``value * 2**exponent``, infinite if it does not fit a float64 (it always does for a mean or std)."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def non_finite_text(stats: dict[str, Any]) -> str:
    """``3 NaN, 1 +inf`` (only the nonzero counts); empty when every value read is finite."""
    parts = [f"{stats.get(key, 0)} {label}" for key, label in (("nan", "NaN"), ("posinf", "+inf"), ("neginf", "-inf"))]
    return ", ".join(part for part in parts if not part.startswith("0 "))


def value_flags(stats: dict[str, Any]) -> list[str]:
    """Flags any tensor gets, whatever wrote it: values that are not finite (a NaN or an
    infinity is never a valid initial weight), and fewer values read than the shape declares."""
    out = []
    if non_finite_text(stats):
        out.append("non-finite")
    if stats.get("n") and stats.get("read", stats["n"]) != stats["n"]:
        out.append(f"read {stats['read']} of {stats['n']} values")
    return out


def _stored_chunks(tensor: StoredTensor) -> Callable[[], Iterator[np.ndarray]]:
    n = math.prod(tensor.shape)

    def chunks() -> Iterator[np.ndarray]:
        read = tensor.flat_reader()
        for _ in range(0, n, CHUNK):
            yield read(CHUNK)

    return chunks


def flags(stats: dict[str, Any], prediction: Prediction, dtype: np.dtype) -> list[str]:
    """The ways ``stats`` disagree with ``prediction``, beyond what the sample size allows."""
    n = stats.get("finite", stats.get("n", 0))
    if not n:
        return []
    out = []
    rounding = (max(abs(prediction.low), abs(prediction.high), 1e-30) if math.isfinite(prediction.high) else 1.0) * (
        float(float_info(dtype).eps) * 4 if is_float(dtype) else 0.0
    )
    if prediction.exact:
        if abs(stats["min"] - prediction.low) > rounding or abs(stats["max"] - prediction.high) > rounding:
            out.append(f"values should all be {prediction.mean:g}")
        return out
    if abs(stats["mean"] - prediction.mean) > Z * prediction.std / math.sqrt(n) + rounding:
        out.append("mean")
    if not math.isnan(prediction.kurtosis):
        tolerance = Z * prediction.std * math.sqrt(max(prediction.kurtosis - 1.0, 0.1) / (4 * n))
        if abs(stats["std"] - prediction.std) > tolerance + rounding:
            out.append("std")
    elif abs(stats["std"] - prediction.std) > 0.05 * prediction.std + rounding:
        out.append("std")
    if stats["min"] < prediction.low - rounding or stats["max"] > prediction.high + rounding:
        out.append("range")
    if not math.isnan(prediction.beyond):
        p = prediction.beyond
        if abs(stats["beyond_2std"] - p) > Z * math.sqrt(max(p * (1 - p), 1.0 / n) / n) + 1.0 / n:
            out.append("beyond 2σ")
    return out


def inspect_file(
    path: str | Path, manifest: str | Path | None = None, *, max_bytes: int | None = None
) -> dict[str, Any]:
    """Everything ``initcli inspect`` shows, as a JSON-ready dict (non-finite statistics are
    ``None``; write it with :func:`initcli.cli.jsonout.write_json`).

    ``flags`` holds the ways a tensor disagrees with its recorded initializer and, for any
    tensor, ``non-finite`` (NaN or infinities: counted in ``stats``) and short reads; it is
    present when there is a prediction or a flag.  ``provenance_error`` says why a tensor's
    recorded initializer cannot be used (the tensor is still shown, without a prediction).
    ``max_bytes`` refuses, before any data is read, a file whose tensors hold more bytes
    (:class:`~initcli.errors.ResourceError`)."""
    report: dict[str, Any] = {"file": str(path), "tensors": []}
    with read_tensors(path, manifest, max_bytes=max_bytes) as stored:
        report["kind"] = stored.kind
        report["provenance"] = stored.provenance
        for tensor in stored.tensors:
            entry: dict[str, Any] = {
                "name": tensor.name,
                "shape": list(tensor.shape),
                "dtype": tensor.dtype.name,
                "bytes": tensor.nbytes,
                "stats": statistics_of(_stored_chunks(tensor), math.prod(tensor.shape)),
            }
            record = tensor.provenance
            if tensor.stale:
                entry["stale_provenance"] = tensor.stale
                record = None
            if record is not None:
                entry["path"] = record.get("path")
                pieces = record.get("pieces") or []
                if len(pieces) == 1:
                    try:  # well-formed JSON that initcli would refuse (edited by hand): no prediction
                        initializer = deserialize(pieces[0]["initializer"])
                        initializer.check_shape(tuple(pieces[0]["shape"]))
                        prediction = predict(initializer, tuple(pieces[0]["shape"]))
                    except InvalidArgument as error:
                        entry["provenance_error"] = str(error)
                    else:
                        entry["initializer"] = pieces[0]["initializer"]
                        if prediction is not None:
                            entry["predicted"] = _prediction_json(prediction)
                            entry["flags"] = flags(entry["stats"], prediction, tensor.dtype)
                elif len(pieces) > 1:  # built from several initializers along axis 0 (an LSTM's bias)
                    entry["pieces"] = [
                        {"shape": piece.get("shape"), "initializer": piece.get("initializer")}
                        for piece in pieces
                        if isinstance(piece, dict)
                    ]
                elif "alias_of" in record:
                    entry["alias_of"] = record["alias_of"]
                elif isinstance(record.get("torch"), dict):
                    _torch_entry(entry, record["torch"], tensor.dtype)
            found = value_flags(entry["stats"])
            if found:
                entry["flags"] = [*entry.get("flags", []), *found]
            report["tensors"].append(entry)
    return report


def _torch_entry(entry: dict[str, Any], run: dict[str, Any], dtype: np.dtype) -> None:
    """A torch.nn.init tensor's call, and its prediction and flags where known."""
    calls, index = run.get("calls"), run.get("index")
    if not isinstance(calls, list) or isinstance(index, bool) or not isinstance(index, int):
        return
    if not 0 <= index < len(calls) or not isinstance(calls[index], dict):
        return
    entry["torch"] = calls[index]
    prediction = predict_torch(calls[index])
    if prediction is not None:
        entry["predicted"] = _prediction_json(prediction)
        entry["flags"] = flags(entry["stats"], prediction, dtype)


def _prediction_json(prediction: Prediction) -> dict[str, Any]:
    def finite(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {
        "mean": prediction.mean,
        "std": prediction.std,
        "min": finite(prediction.low),
        "max": finite(prediction.high),
        "beyond_2std": None if math.isnan(prediction.beyond) else prediction.beyond,
    }


def sparkline(counts: list[int]) -> str:
    """A histogram as one line of block characters."""
    top = max(counts) if counts else 0
    if not top:
        return ""
    return "".join(_BLOCKS[0 if c == 0 else max(1, round(c / top * (len(_BLOCKS) - 1)))] for c in counts)
