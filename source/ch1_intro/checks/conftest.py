"""Shared reference code for the chapter 1 hidden checks (trusted process only).

The references are offered as fixtures (test modules cannot import this file by
name under --import-mode=importlib). The `student` fixture comes from the grader.
"""
import numpy as np
import pytest


def _perceptron_reference(X, y, w0, alpha=0.1, epochs=10, *, ge=False, signed=False, bias_last=False):
    """The perceptron rule in float64, sample by sample, in order.

    The keyword switches build the answers of typical mistakes, so that checks
    can name the mistake: ``ge`` (step(0) = 1), ``signed`` (labels -1/+1 from the
    step), ``bias_last`` (x0 = 1 appended as the last column).
    """
    X = np.asarray(X, dtype=np.float64)
    ones = np.ones((X.shape[0], 1))
    Xb = np.concatenate((X, ones) if bias_last else (ones, X), axis=1)
    w = np.array(w0, dtype=np.float64)
    for _ in range(epochs):
        for xi, target in zip(Xb, np.asarray(y, dtype=np.float64)):
            z = float(xi @ w)
            fired = z >= 0 if ge else z > 0
            y_hat = 1.0 if fired else (-1.0 if signed else 0.0)
            w = w + alpha * (target - y_hat) * xi
    return w


@pytest.fixture
def perceptron_reference():
    """fit(X, y, w0, alpha, epochs) as the book defines it, computed here in the trusted process."""
    return _perceptron_reference


@pytest.fixture
def blobs():
    """The chapter's data set: make_blobs(n_samples=100, centers=2, random_state=42)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=100, n_features=2, centers=2, random_state=42)
    return X.astype(np.float64), y.astype(np.int64)


@pytest.fixture
def and_data():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 0, 0, 1], dtype=np.int64)
    return X, y
