"""Context managers the trusted side may ask the worker to wrap a call in.

The trusted side names them in a ``call`` request (``contexts=["no_grad"]``);
the worker looks them up here. Each is a zero-argument factory.
"""
from __future__ import annotations


def _no_grad():
    import torch

    return torch.no_grad()


CONTEXTS = {
    "no_grad": _no_grad,
}
