"""Comparisons that name a known mistake.

A wrong answer is most useful to a student when the feedback says *which* mistake produced it. Checks know the
typical ones (``>=`` instead of ``>``, the biased standard deviation, ``vstack`` instead of ``cat``) and can compute
what each would have returned. :func:`autograder.checks.expect_close` (``mistakes=``) compares with the right answer first and, when that fails,
with each known mistake in turn; the first one the answer matches gives the message::

    from autograder.checks.mistakes import expect_close

    expect_close(got, expected, what="standardize_columns(t)", mistakes=[
        ("standart sapma n'ye bölünmüş: t.std(dim=0) kullanın.", lambda: reference(x, ddof=0)),
        ("ortalama bütün tensörden alınmış: t.mean(dim=0) kullanın.", reference(x, axis=None)),
    ])

A mistake's *variant* is the value that mistake gives (array, tensor, number, nested list), or a zero-argument
callable that computes it (only called when needed, in order). A variant may have another shape than the right
answer (``(2, 3)`` where ``(6,)`` was asked): shapes are compared as part of the match, before the right answer's
shape is enforced. A variant that equals the right answer is never reported; with ``unique=True`` an answer that
two different mistakes would both give names neither. Everything runs in the trusted process.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Tuple, Union

from autograder.checks import close, expect_close as _expect_close

__all__ = ["Mistake", "matching_mistake", "expect_close"]

#: (message, variant): the variant is a value or a zero-argument callable that returns it.
Mistake = Tuple[str, Union[Any, Callable[[], Any]]]


def _value(variant):
    return variant() if callable(variant) else variant


def matching_mistake(got, mistakes: Iterable[Mistake], *, expected=None, tol: float = 1e-10,
                     unique: bool = False) -> str | None:
    """The message of the first mistake whose variant ``got`` matches within ``tol``, or None.

    With ``expected``, a variant that itself matches the right answer is skipped (it names no mistake on these
    inputs). With ``unique``, every variant is computed and None is returned when ``got`` matches variants with
    different messages: on inputs where two mistakes give the same answer, naming one of them could mislead.
    """
    found = []
    for message, variant in mistakes:
        value = _value(variant)
        if value is None:
            continue
        if expected is not None and close(value, expected, tol):
            continue
        if close(got, value, tol):
            if not unique:
                return message
            if message not in found:
                found.append(message)
    return found[0] if len(found) == 1 else None


#: The comparison that names known mistakes is :func:`autograder.checks.expect_close` itself (``mistakes=``);
#: re-exported here so that ``from autograder.checks.mistakes import expect_close`` reads as what it does.
expect_close = _expect_close
