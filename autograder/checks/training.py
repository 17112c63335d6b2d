"""Mini-batch training loops seen from outside: is the data reshuffled every epoch?

"Shuffle the samples at the start of every epoch" leaves no trace in one training run: the loss still falls. It
shows when the same run is repeated. A loop that shuffles with the global random state (``torch.randperm(n)``,
``DataLoader(..., shuffle=True)``, ``np.random.permutation``) trains differently when the worker is seeded
differently; a loop that never shuffles, or resets a fixed seed every epoch, trains identically.
:func:`expect_reshuffled_each_epoch` runs the student's loop through a callback and tells these apart::

    from autograder.checks.training import expect_reshuffled_each_epoch

    def run(seed, start, epochs):          # trains a fresh copy of the model from ``start`` weights
        ...                                # student.seed(seed); train(model, X, y, epochs=epochs, ...)
        return trained_weights             # a flat array / tensor, compared in the trusted process

    expect_reshuffled_each_epoch(run, start_weights, unshuffled=weights_without_shuffling, what="train(...)")

A fixed seed set once inside the function (a different order every epoch, the same for every call) passes: the
text asks for a new order every epoch, not for the caller's random state.
"""
from __future__ import annotations

from typing import Callable

from autograder.checks import close, fail

__all__ = ["expect_reshuffled_each_epoch", "SHUFFLE_HINT"]

SHUFFLE_HINT = ("Örnekleri her dönemin başında yeniden karıştırın: `torch.randperm(n)` ile yeni bir sıra alın ya da "
                "`DataLoader(..., shuffle=True)` kullanın; fonksiyonun içinde her dönem `torch.manual_seed(...)` "
                "çağırmayın (her dönem aynı sırayı verir).")


def expect_reshuffled_each_epoch(run: Callable, start, *, unshuffled=None, what: str = "eğitim",
                                 seeds=(1234, 98765), tol: float = 1e-6):
    """Fail unless the training loop behind ``run`` visits the samples in a new order every epoch.

    ``run(seed, start, epochs)`` trains a fresh model from the weights ``start`` for ``epochs`` epochs after seeding
    the worker with ``seed`` and returns the trained weights. ``unshuffled``: the weights one epoch without any
    shuffling gives (to name that mistake). Costs two to four runs.
    """
    first = run(seeds[0], start, 1)
    if not close(first, run(seeds[1], start, 1), tol):
        return  # the order follows the worker's random state
    if unshuffled is not None and close(first, unshuffled, tol):
        fail(f"{what}: örnekler hiç karıştırılmamış: her dönem yığınlar aynı sırayla (verinin kendi sırasıyla) "
             f"alınıyor. {SHUFFLE_HINT}")
    again = run(seeds[0], first, 1)      # one more epoch, started afresh: the order of a call's first epoch
    twice = run(seeds[0], start, 2)      # two epochs in one call
    if close(again, twice, tol):
        fail(f"{what}: her dönem örnekler aynı sırayla geliyor (karıştırma her dönem aynı sonucu veriyor; tohum her "
             f"dönem yeniden ayarlanıyor ya da hiç karıştırılmıyor). {SHUFFLE_HINT}")
