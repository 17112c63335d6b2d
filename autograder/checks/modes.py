"""Grad mode and train/eval mode: what a prediction or evaluation function must switch, seen from outside.

``torch.no_grad()`` leaves no trace in a function's result: ``model(X).detach().numpy()`` returns the same numbers.
What differs is that the forward pass recorded an autograd graph. The worker's ``watch_grad`` context counts the
torch calls whose result has a ``grad_fn``; :func:`expect_no_graph` fails with a Turkish message when there were any::

    from autograder.checks.modes import expect_no_graph, expect_training_mode

    out = expect_no_graph(student, "predict", model, X, device="cpu", what="predict(model, X)")
    expect_training_mode(student, model, False, what="predict sonrası model")   # model.eval() was called

``torch.inference_mode()`` records no graph either and passes.
"""
from __future__ import annotations

from autograder.checks import call, fail
from autograder.wire.names import GRAPH_COUNTS_GLOBAL

__all__ = ["run_watching_grad", "expect_no_graph", "training_mode", "expect_training_mode", "NO_GRAD_HINT"]

NO_GRAD_HINT = ("Tahmin ya da değerlendirme için hesap grafiği (computational graph) gerekmez: ileri geçişi "
                "`with torch.no_grad():` bağlamında yapın. Sonradan `.detach()` çağırmak grafiğin kurulmasını "
                "engellemez, yalnızca sonucu ondan ayırır.")


def run_watching_grad(student, fn, *args, contexts=(), hint: str = "", what: str | None = None, **kwargs):
    """Call ``fn`` under the ``watch_grad`` context; returns ``(result, {"graph": n, "no_graph": m})``.

    Student errors are explained as by :func:`autograder.checks.call`.
    """
    result = call(student, fn, *args, contexts=list(contexts) + ["watch_grad"], hint=hint, what=what, **kwargs)
    counts = student.get(GRAPH_COUNTS_GLOBAL)
    if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in ("graph", "no_graph")):
        fail("Hesap grafiği sayıları okunamadı (notlandırıcının değişkeni değiştirilmiş).")
    return result, counts


def expect_no_graph(student, fn, *args, what: str | None = None, hint: str = NO_GRAD_HINT, contexts=(), **kwargs):
    """Call ``fn`` and fail unless it recorded no autograd graph (its work ran under ``torch.no_grad()``).

    Returns the result. ``hint`` replaces the default explanation.
    """
    name = what or (f"{fn}(...)" if isinstance(fn, str) else "model(...)")
    result, counts = run_watching_grad(student, fn, *args, contexts=contexts, what=name, **kwargs)
    if counts["graph"]:
        fail(f"{name}: hesaplar gradyan kaydı açıkken yapılmış ({counts['graph']} işlem bir hesap grafiği kurdu). "
             f"{hint}")
    return result


def training_mode(student, model) -> bool:
    """``model.training`` as the worker reports it."""
    info = student.describe(model)
    if not info.get("module"):
        fail("Bir PyTorch modeli (nn.Module) bekleniyordu.")
    return bool(info.get("training"))


def expect_training_mode(student, model, training: bool, what: str = "model"):
    """Fail unless ``model`` is in training (``True``) or evaluation (``False``) mode."""
    if training_mode(student, model) != training:
        if training:
            fail(f"{what}: model eğitim kipinde (train mode) olmalıydı: eğitimden önce `model.train()` çağırın "
                 "(Dropout ve BatchNorm eğitimde başka davranır).")
        fail(f"{what}: model değerlendirme kipinde (eval mode) olmalıydı: tahminden önce `model.eval()` çağırın "
             "(Dropout ve BatchNorm eğitimde ve değerlendirmede farklı davranır).")
