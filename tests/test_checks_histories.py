"""autograder.checks.histories: epoch-loss bookkeeping with the usual mistakes named."""
import pytest

from autograder.checks import CheckFailed
from autograder.checks.histories import batch_sizes, epoch_mean, expect_epoch_losses, expect_history_of_floats

LOSSES = [[4.0, 2.0, 1.0], [1.0, 0.5, 0.25]]
SIZES = [4, 4, 2]


def test_batch_sizes():
    assert batch_sizes(10, 4) == [4, 4, 2]
    assert batch_sizes(8, 4) == [4, 4]
    assert batch_sizes(3, 8) == [3]
    assert batch_sizes(10, 4, drop_last=True) == [4, 4]


def test_weighted_mean_passes():
    history = [epoch_mean(l, SIZES) for l in LOSSES]
    assert history[0] == pytest.approx((16 + 8 + 2) / 10)
    expect_epoch_losses(history, LOSSES, SIZES, what="train")


@pytest.mark.parametrize("wrong, words", [
    (lambda l, s: sum(l) / len(l), "düz ortalaması"),
    (lambda l, s: l[-1], "son yığının"),
    (lambda l, s: sum(a * b for a, b in zip(l, s)), "bölünmemiş"),
    (lambda l, s: sum(a * b for a, b in zip(l, s)) / len(l), "yığın sayısına"),
    (lambda l, s: sum(l) / sum(s), "çarpılmadan"),
])
def test_mistakes_are_named(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        expect_epoch_losses([wrong(l, SIZES) for l in LOSSES], LOSSES, SIZES, what="train")


def test_unknown_mistake_gives_the_numbers():
    with pytest.raises(CheckFailed, match="bekleniyordu"):
        expect_epoch_losses([0.123, 0.456], LOSSES, SIZES, what="train")


def test_history_must_hold_python_numbers():
    import torch

    assert expect_history_of_floats([1, 2.5], 2) == [1.0, 2.5]
    with pytest.raises(CheckFailed, match=r"loss\.item\(\)"):
        expect_history_of_floats([torch.tensor(1.0), 2.0], 2)
    with pytest.raises(CheckFailed, match="3 kayıp değeri"):
        expect_history_of_floats([1.0], 3)
    with pytest.raises(CheckFailed, match="liste"):
        expect_history_of_floats(None, 3)
