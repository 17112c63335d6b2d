"""Per-epoch loss histories: the bookkeeping of a mini-batch training loop, with the usual mistakes named.

A training function that returns "the mean loss of each epoch" has to weight each batch's mean loss by the batch's
size, ``sum(loss_b * m_b) / n``, because the last batch may be smaller. The usual mistakes (the plain mean of the
batch losses, the last batch's loss, a sum without dividing, dividing by the number of batches, tensors instead of
numbers) only show when ``n`` is not a multiple of ``batch_size``. A check that knows every batch's loss (for example
because all rows of its data are identical, so that the order of the batches does not matter) compares with
:func:`expect_epoch_losses`::

    from autograder.checks.histories import batch_sizes, expect_history_of_floats, expect_epoch_losses

    sizes = batch_sizes(10, 4)                         # [4, 4, 2]
    history = expect_history_of_floats(got, epochs=2, what="train(...)")
    expect_epoch_losses(history, batch_losses, sizes, what="train(...)")   # batch_losses: one list per epoch

Everything runs in the trusted process on numbers that came back from the worker.
"""
from __future__ import annotations

import math

from autograder.checks import describe_value, fail

__all__ = ["batch_sizes", "epoch_mean", "history_mistakes", "expect_history_of_floats", "expect_epoch_losses",
           "FLOAT_HINT"]

FLOAT_HINT = ("Her dönemin kaybını bir Python sayısı (float) olarak saklayın: değeri `loss.item()` ile okuyun. "
              "Tensör saklamak (`total += loss * len(xb)`) her yığının hesap grafiğini bellekte tutar.")


def batch_sizes(n: int, batch_size: int, drop_last: bool = False) -> list[int]:
    """Sizes of the consecutive batches of ``n`` samples: ``[batch_size, ..., rest]`` (``[n]`` if batch_size >= n)."""
    if n <= 0 or batch_size <= 0:
        raise ValueError("n and batch_size must be positive")
    full, rest = divmod(n, batch_size)
    sizes = [batch_size] * full
    if rest and not drop_last:
        sizes.append(rest)
    return sizes


def epoch_mean(losses, sizes) -> float:
    """The right epoch loss: the batch losses weighted by the batch sizes, divided by the number of samples."""
    return sum(l * m for l, m in zip(losses, sizes)) / sum(sizes)


def history_mistakes(losses, sizes) -> list[tuple[str, float]]:
    """``(Turkish message, value)`` of the usual bookkeeping mistakes for one epoch's batch losses and sizes."""
    n, k = sum(sizes), len(sizes)
    weighted = sum(l * m for l, m in zip(losses, sizes))
    return [
        ("dönemin kaybı yığın kayıplarının düz ortalaması alınarak hesaplanmış; son yığın daha küçük olabileceği "
         "için her yığının kaybını yığın boyuyla çarpıp toplayın ve örnek sayısına (n) bölün.", sum(losses) / k),
        ("dönemin kaybı olarak yalnız son yığının kaybı kaydedilmiş; bütün yığınların örnek sayısıyla ağırlıklı "
         "ortalamasını alın.", losses[-1]),
        ("dönemin kaybı örnek sayısına bölünmemiş (toplam kalmış): toplamı n'ye bölün.", weighted),
        ("yığın kayıpları toplanmış ama ortalama alınmamış: her yığının kaybını yığın boyuyla çarpıp toplayın ve "
         "n'ye bölün.", sum(losses)),
        ("ağırlıklı toplam yığın sayısına bölünmüş: örnek sayısına (n) bölün.", weighted / k),
        ("yığın kayıpları yığın boyuyla çarpılmadan toplanıp n'ye bölünmüş: her yığının (ortalama) kaybını yığın "
         "boyuyla çarpıp toplayın, sonra n'ye bölün.", sum(losses) / n),
        ("dönemin kaybı toplam kayıp olarak (reduction=\"sum\") hesaplanmış: ortalama kayıp (varsayılan "
         "reduction=\"mean\") kullanın ve yığın boyuyla ağırlıklandırıp n'ye bölün.",
         sum(l * m * m for l, m in zip(losses, sizes)) / n),
    ]


def expect_history_of_floats(history, epochs: int, what: str = "eğitim") -> list[float]:
    """Fail unless ``history`` is a list (or tuple) of ``epochs`` Python numbers; returns them as floats."""
    if not isinstance(history, (list, tuple)):
        fail(f"{what}: her dönem için bir kayıp değeri içeren bir liste döndürülmeliydi, ama "
             f"{describe_value(history)} geldi.")
    if len(history) != epochs:
        fail(f"{what}: {epochs} dönem için {epochs} kayıp değeri bekleniyordu, ama {len(history)} geldi "
             "(her dönemin sonunda listeye bir değer ekleyin).")
    out = []
    for i, value in enumerate(history):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f"{what}: kayıp listesinin {i}. ögesi {describe_value(value)}; bir Python sayısı bekleniyordu. "
                 f"{FLOAT_HINT}")
        out.append(float(value))
    return out


def expect_epoch_losses(history, batch_losses, sizes, what: str = "eğitim", tol: float = 1e-4, hint: str = ""):
    """Compare each epoch's loss with the weighted mean of its batch losses; name the mistake if one matches.

    ``batch_losses``: one list of batch losses per epoch (the mean loss of each batch, before its step);
    ``sizes``: the batch sizes of an epoch (:func:`batch_sizes`). ``history`` as returned by the student.
    """
    values = expect_history_of_floats(history, len(batch_losses), what)
    for epoch, (got, losses) in enumerate(zip(values, batch_losses)):
        want = epoch_mean(losses, sizes)
        scale = max(abs(want), 1e-12)
        if math.isfinite(got) and abs(got - want) <= tol * scale:
            continue
        for message, value in history_mistakes(losses, sizes):
            if abs(value - want) > tol * scale and math.isfinite(got) and abs(got - value) <= tol * max(abs(value), 1e-12):
                fail(f"{what}: {epoch}. dönemin kaybı {got:.6g}, beklenen {want:.6g}: {message}")
        fail(f"{what}: {epoch}. dönemin kaybı {got:.6g} geldi, {want:.6g} bekleniyordu (yığın kayıplarının örnek "
             "sayısıyla ağırlıklı ortalaması)." + (f" {hint}" if hint else ""))
