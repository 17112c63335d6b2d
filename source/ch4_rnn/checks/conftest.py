"""Shared reference code for the chapter 4 hidden checks (trusted process only).

Test modules cannot import this file by name (--import-mode=importlib), so what they share is offered as
fixtures: the reference split of the sunspots series and the reference windows/preparation. The helpers that talk
to the worker live in ``autograder.checks``.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.cache import per_process

#: The forecasting set-up of 03_forecasting: window of 12 years, the last 62 years (1947-2008) held out.
WINDOW = 12
N_TEST = 62


@per_process
def _sunspots() -> np.ndarray:
    from statsmodels.datasets import sunspots

    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def reference_windows(series, window, horizon=1):
    s = np.asarray(series, dtype=np.float64)
    m = max(len(s) - window - horizon + 1, 0)
    X = np.array([s[i:i + window] for i in range(m)], dtype=np.float64).reshape(m, window)
    y = s[window + horizon - 1:window + horizon - 1 + m].copy()
    return X, y


def reference_prepare(series, window, n_test, *, scale_on_all=False):
    """The correct chronological split (``scale_on_all`` builds the leaky variant, to name it)."""
    s = np.asarray(series, dtype=np.float64)
    stats_from = s if scale_on_all else s[:len(s) - n_test]
    mean, std = float(stats_from.mean()), float(stats_from.std())
    X, y = reference_windows((s - mean) / std, window)
    n_train = len(X) - n_test
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], (mean, std)


class Split:
    """The reference split of the sunspots series; ``actual`` (the held-out tail) stays in this process."""

    def __init__(self):
        self.series = _sunspots()
        self.X_train, self.y_train, self.X_test, y_test, (self.mean, self.std) = \
            reference_prepare(self.series, WINDOW, N_TEST)
        self.actual = self.series[-N_TEST:]
        assert np.allclose(y_test * self.std + self.mean, self.actual)
        self.naive_rmse = self.rmse(self.X_test[:, -1])

    def rmse(self, scaled_predictions) -> float:
        pred = np.asarray(scaled_predictions, dtype=np.float64) * self.std + self.mean
        return float(np.sqrt(np.mean((pred - self.actual) ** 2)))


@pytest.fixture
def sunspots_split() -> Split:
    return Split()


@pytest.fixture
def series_data():
    return _sunspots()


@pytest.fixture
def reference():
    """Reference helpers: ``reference.windows(...)``, ``reference.prepare(...)``."""
    class Reference:
        windows = staticmethod(reference_windows)
        prepare = staticmethod(reference_prepare)
    return Reference


