"""autograder.checks.training: telling a loop that reshuffles every epoch from one that does not."""
import numpy as np
import pytest

from autograder.checks import CheckFailed, expect_shape
from autograder.checks.training import expect_reshuffled_each_epoch

START = np.zeros(3)
ORDERS = {0: [0, 1, 2], 1: [2, 0, 1], 2: [1, 2, 0]}


def fake_loop(order_of):
    """A 'training run': each epoch appends the epoch's order to the weights, so orders are visible."""
    def run(seed, start, epochs):
        w = np.array(start, dtype=float)
        for epoch in range(epochs):
            w = w * 10 + np.array(ORDERS[order_of(seed, epoch)])
        return w
    return run


def test_global_random_state_passes():
    expect_reshuffled_each_epoch(fake_loop(lambda seed, epoch: (seed + epoch) % 3), START)


def test_fixed_seed_once_per_call_passes():
    expect_reshuffled_each_epoch(fake_loop(lambda seed, epoch: epoch % 3), START)


def test_no_shuffle_is_named():
    run = fake_loop(lambda seed, epoch: 0)
    with pytest.raises(CheckFailed, match="hiç karıştırılmamış"):
        expect_reshuffled_each_epoch(run, START, unshuffled=run(0, START, 1))


def test_same_order_every_epoch_fails():
    with pytest.raises(CheckFailed, match="aynı sırayla"):
        expect_reshuffled_each_epoch(fake_loop(lambda seed, epoch: 1), START, unshuffled=np.array([0.0, 1, 2]))


def test_shape_hint_for_a_missing_dimension():
    with pytest.raises(CheckFailed, match=r"reshape\(-1\)`") as info:
        expect_shape(np.float64(1.0).reshape(()), (1,), "predict")
    assert "reshape(-1, 1)" not in str(info.value)
    with pytest.raises(CheckFailed, match=r"reshape\(-1, 1\)"):
        expect_shape(np.zeros(3), (3, 1), "y")
