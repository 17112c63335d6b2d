"""Hidden checks for 03_perceptron_torch.ipynb (perceptron on tensors, sigmoid neuron, probabilities).

Every call passes device="cpu" (or torch.device("cpu")); the meta-device simulation of
device bugs is a separate concern of the grader.
"""
import numpy as np
import torch

from autograder.checks import (call, close, expect_close, expect_shape, expect_tensor, fail, grade, StudentCodeError)

CPU = "cpu"


# ---------------------------------------------------------------------------- perceptron_fit_torch

def _check_perceptron(student, reference, X, y, w0, alpha, epochs, device, what):
    got = call(student, "perceptron_fit_torch", X, y, w0, alpha=alpha, epochs=epochs, device=device,
               hint="X sapma sütunu olmadan verilir; birler sütununu (float64, aynı cihazda) başa ekleyin.")
    expect_tensor(got, what)
    d1 = X.shape[1] + 1
    if tuple(got.shape) != (d1,):
        fail(f"{what}: {d1} ağırlık bekleniyordu, ama {tuple(got.shape)} şekilli bir tensör geldi.")
    if got.dtype != torch.float64:
        fail(f"{what}: sonuç float64 olmalıydı, ama {str(got.dtype)[6:]} geldi. Hesabın tamamını "
             "torch.float64 ile yapın: X, y ve w0'ı torch.as_tensor(..., dtype=torch.float64, device=device) ile "
             "çevirin (float32 girdiler de).")
    Xn = np.asarray(X, dtype=np.float64)
    yn = np.asarray(y, dtype=np.float64)
    wn = np.asarray(w0, dtype=np.float64)
    expected = reference(Xn, yn, wn, alpha, epochs)
    if close(got, expected):
        return
    if close(got, reference(Xn, yn, wn, alpha, epochs, ge=True)):
        hint = "x·w = 0 iken ŷ = 0 olmalı: koşul `> 0`, `>= 0` değil."
    elif close(got, reference(Xn, yn, wn, alpha, epochs, bias_last=True)):
        hint = "Birler sütunu başa eklenmeli (torch.cat([ones, X], dim=1))."
    elif close(got, expected, tol=1e-5):
        hint = ("Sonuç yaklaşık doğru ama float32 hassasiyetinde: hesabın bir yerinde float32 kullanılmış. X, y ve w0'ın "
                "hepsini torch.float64'e çevirin (ör. tam sayı bir y tensörünün α ile çarpımı varsayılan olarak float32 "
                "olur).")
    else:
        hint = "NumPy defterindeki fit ile aynı olmalı: örnekler sırayla, her örnekten sonra w ← w + α(y − ŷ)x."
    expect_close(got, expected, what=what, hint=hint)


@grade("torch_perceptron_fit_test", weight=2)
def test_perceptron_torch_matches_numpy_on_blobs(student, perceptron_reference, blobs):
    X, y = blobs
    w0 = np.array([0.3, -0.5, 0.8])
    _check_perceptron(student, perceptron_reference, torch.tensor(X), torch.tensor(y), torch.tensor(w0), 0.1, 10,
                      CPU, "perceptron_fit_torch(X, y, w0, alpha=0.1, epochs=10) (make_blobs)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_float32_inputs_give_float64(student, perceptron_reference, blobs):
    X, y = blobs
    X32 = torch.tensor(X[:40], dtype=torch.float32)
    w32 = torch.tensor([0.7, 0.35, -0.2], dtype=torch.float32)
    _check_perceptron(student, perceptron_reference, X32, torch.tensor(y[:40]), w32, 0.05, 5, torch.device(CPU),
                      "perceptron_fit_torch (float32 girdilerle)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_step_at_zero(student, perceptron_reference, and_data):
    X, y = and_data
    _check_perceptron(student, perceptron_reference, torch.tensor(X), torch.tensor(y),
                      torch.zeros(3, dtype=torch.float64), 0.5, 3, CPU,
                      "perceptron_fit_torch(X_AND, y_AND, sıfır w0, alpha=0.5, epochs=3)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_does_not_change_w0(student, and_data):
    X, y = and_data
    w0 = torch.tensor([0.2, -0.4, 0.1], dtype=torch.float64)
    hw = student.put(w0)
    hX = student.put(torch.tensor(X))
    call(student, "perceptron_fit_torch", hX, torch.tensor(y), hw, alpha=0.25, epochs=2, device=CPU)
    if not torch.equal(student.get(hw), w0):
        fail("perceptron_fit_torch, çağıranın w0 tensörünü değiştirdi. torch.as_tensor, girdi zaten uygun türde ve "
             "cihazdaysa aynı tensörü döndürür; `w += ...` ile güncellemeden önce .clone() ile kopyalayın.")
    if not torch.equal(student.get(hX), torch.tensor(X)):
        fail("perceptron_fit_torch, verilen X tensörünü değiştirdi; X'e yerinde (in-place) yazmayın.")


# ---------------------------------------------------------------------------- train_sigmoid_neuron

def _reference_logistic(X, y, epochs, lr, *, accumulate=False, sigmoid_twice=False):
    """Full-batch gradient descent on the mean BCE loss from zero weights, in float64.

    The student trains in float32; the float32 rounding differs from this by far less than the
    tolerance. ``accumulate`` (zero_grad forgotten) and ``sigmoid_twice`` (sigmoid before
    BCEWithLogitsLoss) give the weights of two typical mistakes, to name them in the feedback.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.zeros(X.shape[1])
    b = 0.0
    gw_sum, gb_sum = np.zeros_like(w), 0.0
    for _ in range(epochs):
        z = X @ w + b
        s = 1.0 / (1.0 + np.exp(-z))
        if sigmoid_twice:
            g = (1.0 / (1.0 + np.exp(-s)) - y) * s * (1.0 - s) / len(y)
        else:
            g = (s - y) / len(y)
        gw, gb = X.T @ g, g.sum()
        if accumulate:
            gw_sum, gb_sum = gw_sum + gw, gb_sum + gb
            gw, gb = gw_sum, gb_sum
        w = w - lr * gw
        b = b - lr * gb
    return w, b


def _trained_model(student, X, y, epochs, lr, what):
    model = call(student, "train_sigmoid_neuron", torch.tensor(X, dtype=torch.float32), torch.tensor(y),
                 epochs=epochs, lr=lr, device=CPU, keep=True,
                 hint="Hedefler logitlerle aynı şekilde olmalı: y'yi float32 ve (n, 1) şekline getirin "
                      "(y.reshape(-1, 1)).")
    info = student.describe(model)
    if not info.get("module"):
        fail(f"{what}: eğitilmiş model (bir nn.Module) döndürülmeliydi, ama {info.get('type')} geldi.")
    shapes = sorted(tuple(p[1]) for p in info.get("parameters", []))
    if shapes != sorted([(1, X.shape[1]), (1,)]):
        fail(f"{what}: model tek bir nn.Linear({X.shape[1]}, 1) olmalı (ağırlık (1, {X.shape[1]}), sapma (1,)); "
             f"parametre şekilleri: {shapes}.")
    return model


def _logits(student, model, X, what):
    out = call(student, model, torch.tensor(X, dtype=torch.float32), contexts=["no_grad"])
    expect_tensor(out, f"{what}: model(X)")
    expect_shape(out, (X.shape[0], 1), f"{what}: model(X)")
    return out


def _training_hint(got, X, y, epochs, lr):
    """Name the mistake whose weights the student's model reproduces, if any."""
    def logits(**kw):
        w, b = _reference_logistic(X, y, epochs, lr, **kw)
        return (X @ w + b).reshape(-1, 1)

    if close(got, logits(accumulate=True), tol=1e-4):
        return ("Gradyanlar adımdan adıma birikmiş: her adımdan önce eniyileyicinin zero_grad() metodunu çağırın.")
    if close(got, logits(sigmoid_twice=True), tol=1e-4):
        return ("Sigmoid iki kez uygulanmış: BCEWithLogitsLoss sigmoid'i kendisi uygular; ona logitleri (model(X)) verin.")
    expected = logits()
    if close(got, 1.0 / (1.0 + np.exp(-expected)), tol=1e-4):
        return "Model olasılık döndürüyor; forward logit döndürmeli (modele sigmoid eklemeyin)."
    return ("Ağırlığı ve sapmayı nn.init.zeros_ ile sıfırdan başlatın, her dönemde bütün örneklerle tek bir adım atın "
            "(zero_grad → model(X) → BCEWithLogitsLoss → backward → step).")


@grade("torch_sigmoid_train_test", weight=1)
def test_sigmoid_neuron_one_step_from_zero(student):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    what = "train_sigmoid_neuron(X, y, epochs=1, lr=0.5)"
    model = _trained_model(student, X, y, 1, 0.5, what)
    got = _logits(student, model, X, what)
    w, b = _reference_logistic(X, y, 1, 0.5)
    expected = (X @ w + b).reshape(-1, 1)
    if not close(got, expected, tol=1e-5):
        expect_close(got, expected, tol=1e-5, what=f"{what}: model(X)", hint=_training_hint(got, X, y, 1, 0.5))


@grade("torch_sigmoid_train_test", weight=2)
def test_sigmoid_neuron_training_on_blobs(student, blobs):
    X, y = blobs
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    what = "train_sigmoid_neuron(X, y, epochs=60, lr=0.3) (make_blobs)"
    model = _trained_model(student, X, y, 60, 0.3, what)
    got = _logits(student, model, X, what)
    w, b = _reference_logistic(X, y, 60, 0.3)
    expected = (X @ w + b).reshape(-1, 1)
    if not close(got, expected, tol=1e-4):
        expect_close(got, expected, tol=1e-4, what=f"{what}: model(X)", hint=_training_hint(got, X, y, 60, 0.3))


# ---------------------------------------------------------------------------- predict_proba

def _known_linear(student, weight, bias):
    """An nn.Linear with known parameters, built in the worker with the notebook's own torch."""
    try:
        lin = student.call_method("torch", "nn.Linear", len(weight), 1, keep=True)
        student.call_method(lin, "weight.data.copy_", torch.tensor([weight], dtype=torch.float32))
        student.call_method(lin, "bias.data.fill_", float(bias))
    except StudentCodeError as exc:  # the notebook's `torch` was replaced by something else
        fail(f"Kontrol için bir nn.Linear oluşturulamadı ({exc.type}: {exc.message[:200]}); defterin ilk hücresindeki "
             "`import torch` değiştirilmemeli.")
    return lin


def _check_proba(student, n):
    weight, bias = [0.8, -1.5, 0.25], -0.3
    lin = _known_linear(student, weight, bias)
    X = np.random.default_rng(8 + n).normal(size=(n, 3)) * 2
    got = call(student, "predict_proba", lin, torch.tensor(X, dtype=torch.float32), device=CPU)
    what = f"predict_proba(model, X) ({n} örnek)"
    expect_tensor(got, what)
    z = X @ np.array(weight) + bias
    if tuple(got.shape) == (n, 1):
        fail(f"{what}: şekil (n,) olmalıydı, ama ({n}, 1) geldi. Sonucu .reshape(-1) ya da .squeeze(1) ile "
             "1 boyutlu yapın.")
    expect_shape(got, (n,), what)
    expected = 1.0 / (1.0 + np.exp(-z))
    if close(got, z, tol=1e-5):
        fail(f"{what}: logitler döndürülmüş; olasılık için torch.sigmoid(model(X)) uygulayın.")
    expect_close(got, expected, tol=1e-5, what=what, hint="Olasılıklar torch.sigmoid(model(X)) ile hesaplanır.")


@grade("torch_predict_proba_test", weight=2)
def test_predict_proba_values(student):
    _check_proba(student, 17)


@grade("torch_predict_proba_test", weight=1)
def test_predict_proba_single_sample_is_1d(student):
    _check_proba(student, 1)
