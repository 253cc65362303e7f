"""Window functions for the STFT initializer, without a SciPy dependency.

Keras's ``STFT`` initializer takes its window from
``scipy.signal.get_window(name, length, fftbins=periodic)``.  The windows
used with STFTs in practice are built in here, written to give exactly
SciPy's values (tests compare them bit for bit):

* the generalised cosine windows ``w[n] = Σ_k a_k cos(k·x_n)`` with
  ``x = linspace(-π, π, M)``: ``hann`` (a = ½, ½), ``hamming``
  (a = 0.54, 0.46), ``blackman`` (a = 0.42, 0.5, 0.08);
* ``bartlett``: the triangle ``2n/(M-1)`` rising then falling, zero at both ends;
* ``boxcar``: all ones.

A *periodic* window of length ``M`` is the symmetric window of length
``M + 1`` without its last point.  Any other SciPy window name (``kaiser``
needs a parameter and is not reachable through a plain name) is passed to
SciPy when it is installed.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgument

_COSINE_COEFFICIENTS = {
    "hann": (0.5, 1.0 - 0.5),
    "hamming": (0.54, 1.0 - 0.54),
    "blackman": (0.42, 0.50, 0.08),
}

ALIASES = {
    "hann": "hann",
    "han": "hann",
    "hamming": "hamming",
    "hamm": "hamming",
    "ham": "hamming",
    "blackman": "blackman",
    "black": "blackman",
    "blk": "blackman",
    "bartlett": "bartlett",
    "bart": "bartlett",
    "brt": "bartlett",
    "boxcar": "boxcar",
    "box": "boxcar",
    "ones": "boxcar",
    "rect": "boxcar",
    "rectangular": "boxcar",
}
BUILT_IN = ("hann", "hamming", "blackman", "bartlett", "boxcar")


def _split_suffix(name: str, periodic: bool) -> tuple[str, bool]:
    """SciPy's ``_periodic`` / ``_symmetric`` name suffixes override ``periodic``."""
    if name.endswith("_symmetric"):
        return name[: -len("_symmetric")], False
    if name.endswith("_periodic"):
        return name[: -len("_periodic")], True
    return name, periodic


def check_window_name(name: str) -> None:
    """Raise :class:`InvalidArgument` unless ``name`` is a window we can build."""
    base, _ = _split_suffix(name, False)
    if base in ALIASES:
        return
    if _scipy_window(base, 4, False) is None:
        raise InvalidArgument(
            f"window {name!r} is not known; use one of {', '.join(BUILT_IN)}, "
            "a list of numbers, or none (other SciPy window names work when SciPy is installed)"
        )


def get_window(name: str, length: int, periodic: bool) -> np.ndarray:
    """Window ``name`` of ``length`` points, float64, as ``scipy.signal.get_window(name, length, periodic)``."""
    base, periodic = _split_suffix(name, periodic)
    canonical = ALIASES.get(base)
    if canonical is None:
        window = _scipy_window(base, length, periodic)
        if window is None:
            check_window_name(name)
        return np.asarray(window, dtype=np.float64)
    if length <= 1:
        return np.ones(length, dtype=np.float64)
    points = length + 1 if periodic else length
    if canonical == "boxcar":
        window = np.ones(points, dtype=np.float64)
    elif canonical == "bartlett":
        n = np.arange(0, points, dtype=np.float64)
        window = np.where(n <= (points - 1) / 2.0, 2.0 * n / (points - 1), 2.0 - 2.0 * n / (points - 1))
    else:
        coefficients = np.asarray(_COSINE_COEFFICIENTS[canonical], dtype=np.float64)
        x = np.linspace(-np.pi, np.pi, points, dtype=np.float64)
        window = np.zeros(points, dtype=np.float64)
        for k in range(coefficients.shape[0]):
            window += coefficients[k] * np.cos(k * x)
    return window[:-1] if periodic else window


def _scipy_window(name: str, length: int, periodic: bool) -> np.ndarray | None:
    """SciPy's window, or ``None`` if SciPy is missing or does not know ``name``."""
    try:
        from scipy.signal import get_window as scipy_get_window
    except ImportError:
        return None
    try:
        return scipy_get_window(name, length, periodic)
    except (ValueError, TypeError):
        return None
