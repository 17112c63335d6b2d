"""Hidden checks for 03_perceptron_torch.ipynb (perceptron on tensors, sigmoid neuron, probabilities).

Values are checked with device="cpu" (or torch.device("cpu")). Device use is checked separately on the grading
device: the meta simulation of a GPU without one (a forgotten `.to(device)` fails as on CUDA), the real GPU with
`--device cuda`; with inputs on the CPU (NumPy arrays, CPU tensors) and inputs already on the device. Where the
simulation cannot run an op, the device check is rerun on the CPU instead of passing silently.
"""
import numpy as np
import torch
from torch import nn

from autograder.checks import (StudentCodeError, call, close, expect_shape, expect_tensor, fail,
                               grade)
from autograder.checks import mistakes
from autograder.checks.device_override import expect_device_argument_kept
from autograder.checks.inputs import expect_unchanged, put_on_device
from autograder.checks.modes import expect_no_graph
from autograder.checks.messages import DTYPE_HINT, error_text, explain_error, student_line
from autograder.device import (DeviceSimulationUnsupported, check_device, expect_no_hardcoded_device,
                               expect_on_device, expect_ops_on_device, run_counting_ops, run_on_device)

CPU = "cpu"


# ---------------------------------------------------------------------------- running on the device

def device_words(dev) -> str:
    return "hedef cihaz (notlandırmada GPU `meta` cihazıyla taklit ediliyor)" if dev.type == "meta" else f"`{dev}`"


def _on_device(student, fn, make_args, *, what, counting=False, **kwargs):
    """Call ``fn(*make_args(dev), device=dev, **kwargs)`` on the grading device, keeping the result in the worker.

    Returns (handle, op counts or None, dev). Device errors become Turkish failures (autograder.device), other
    errors are explained with the student's line. When the simulation cannot run an op, the same call is made on
    the CPU with fresh arguments: the check then still verifies that the result is where ``device`` says.
    """
    for dev in (check_device(), torch.device(CPU)):
        args = make_args(dev)
        try:
            if counting:
                handle, counts = run_counting_ops(student, fn, *args, device=dev, keep=True, what=what, **kwargs)
            else:
                handle, counts = run_on_device(student, fn, *args, device=dev, keep=True, what=what, **kwargs), None
            return handle, counts, dev
        except DeviceSimulationUnsupported:
            continue
        except StudentCodeError as error:
            if error.type == "NotImplementedError":
                raise
            fail(error_text(f"{what} ({device_words(dev)} üzerinde)", error))
    raise AssertionError("unreachable: the CPU run does not raise DeviceSimulationUnsupported")


def _tensor_info(student, handle, what):
    info = student.describe(handle)
    if "tensor" not in info:
        fail(f"{what}: bir torch.Tensor döndürülmeliydi, ama {info.get('type', '?')} geldi.")
    return info["tensor"]


def _device_rules(student, name):
    expect_device_argument_kept(student, [name])
    expect_no_hardcoded_device(student, [name])


# ---------------------------------------------------------------------------- perceptron_fit_torch

PERCEPTRON_HINT = "X sapma sütunu olmadan verilir; birler sütununu (float64, aynı cihazda) başa ekleyin."


def _perceptron_mistakes(reference, Xn, yn, wn, alpha, epochs):
    return [
        ("x·w = 0 iken ŷ = 0 olmalı: koşul `> 0`, `>= 0` değil.",
         lambda: reference(Xn, yn, wn, alpha, epochs, ge=True)),
        ("Birler sütunu başa eklenmeli (torch.cat([ones, X], dim=1)); w0'ın ilk ögesi sapma ağırlığıdır.",
         lambda: reference(Xn, yn, wn, alpha, epochs, bias_last=True)),
        ("Güncelleme işareti ters: w ← w + α(y − ŷ)x olmalı.", lambda: reference(Xn, yn, wn, -alpha, epochs)),
        ("Öğrenme oranı alpha kullanılmamış (sabit 0.1 yazılmış olabilir): güncellemede verilen alpha'yı kullanın.",
         lambda: reference(Xn, yn, wn, 0.1, epochs) if alpha != 0.1 else None),
        (f"Yalnızca bir dönem yapılmış; örneklerin üzerinden epochs={epochs} kez geçin.",
         lambda: reference(Xn, yn, wn, alpha, 1) if epochs != 1 else None),
    ]


FLOAT64_HINT = ("Bu görevde hesabın tamamı torch.float64 ile yapılır: X, y ve w0'ı (girdi float32 ya da tam sayı olsa "
                "da) torch.as_tensor(..., dtype=torch.float64, device=device) ile çevirin, w0'ın kopyasını da "
                "(.clone()) bu float64 tensörden alın; birler sütununu da dtype=torch.float64 ile oluşturun.")


def _perceptron_call(student, *args, what, **kwargs):
    """perceptron_fit_torch(...); a dtype clash is explained with the float64 rule of this task, not float32's."""
    try:
        return student.call("perceptron_fit_torch", *args, **kwargs)
    except StudentCodeError as error:
        if error.type == "NotImplementedError":
            raise
        if explain_error(error.type, error.message) == DTYPE_HINT:
            fail(f"{what}: hesapta farklı veri türleri buluştu{student_line(error.traceback)} "
                 f"({error.type}: {error.message[:200]}). {FLOAT64_HINT}")
        fail(error_text("perceptron_fit_torch(...)", error, PERCEPTRON_HINT))


def _check_perceptron(student, reference, X, y, w0, alpha, epochs, device, what):
    got = _perceptron_call(student, X, y, w0, alpha=alpha, epochs=epochs, device=device, what=what)
    expect_tensor(got, what)
    d1 = X.shape[1] + 1
    if tuple(got.shape) != (d1,):
        fail(f"{what}: {d1} ağırlık bekleniyordu, ama {tuple(got.shape)} şekilli bir tensör geldi.")
    if got.dtype != torch.float64:
        fail(f"{what}: sonuç float64 olmalıydı, ama {str(got.dtype)[6:]} geldi. {FLOAT64_HINT}")
    Xn = np.asarray(X, dtype=np.float64)
    yn = np.asarray(y, dtype=np.float64)
    wn = np.asarray(w0, dtype=np.float64)
    expected = reference(Xn, yn, wn, alpha, epochs)
    if close(got, expected):
        return got
    if close(got, expected, tol=1e-5):
        hint = ("Sonuç yaklaşık doğru ama float32 hassasiyetinde: hesabın bir yerinde float32 kullanılmış. X, y ve "
                "w0'ın hepsini torch.float64'e çevirin (ör. tam sayı bir y tensörünün α ile çarpımı varsayılan olarak "
                "float32 olur).")
    else:
        hint = "NumPy defterindeki fit ile aynı olmalı: örnekler sırayla, her örnekten sonra w ← w + α(y − ŷ)x."
    mistakes.expect_close(got, expected, what=what, unique=True, hint=hint,
                          mistakes=_perceptron_mistakes(reference, Xn, yn, wn, alpha, epochs))
    return got


@grade("torch_perceptron_fit_test", weight=2)
def test_perceptron_torch_matches_numpy_on_blobs(student, perceptron_reference, blobs):
    X, y = blobs
    w0 = np.array([0.3, -0.5, 0.8])
    _check_perceptron(student, perceptron_reference, torch.tensor(X), torch.tensor(y), torch.tensor(w0), 0.1, 10,
                      CPU, "perceptron_fit_torch(X, y, w0, alpha=0.1, epochs=10) (make_blobs)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_numpy_inputs(student, perceptron_reference, blobs):
    X, y = blobs
    _check_perceptron(student, perceptron_reference, X[:30], y[:30], np.array([0.1, 0.2, -0.3]), 0.2, 4, CPU,
                      "perceptron_fit_torch (NumPy girdilerle)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_float32_inputs_give_float64(student, perceptron_reference, blobs):
    X, y = blobs
    X32 = torch.tensor(X[:40], dtype=torch.float32)
    w32 = torch.tensor([0.7, 0.35, -0.2], dtype=torch.float32)
    _check_perceptron(student, perceptron_reference, X32, torch.tensor(y[:40]), w32, 0.05, 5, torch.device(CPU),
                      "perceptron_fit_torch (float32 girdilerle)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_integer_w0(student, perceptron_reference, blobs):
    X, y = blobs
    _check_perceptron(student, perceptron_reference, torch.tensor(X[:30]), torch.tensor(y[:30]),
                      torch.tensor([1, -1, 0], dtype=torch.int64), 0.05, 3, CPU,
                      "perceptron_fit_torch (tam sayı w0 = torch.tensor([1, -1, 0]) ile)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_step_at_zero(student, perceptron_reference, and_data):
    X, y = and_data
    _check_perceptron(student, perceptron_reference, torch.tensor(X), torch.tensor(y),
                      torch.zeros(3, dtype=torch.float64), 0.5, 3, CPU,
                      "perceptron_fit_torch(X_AND, y_AND, sıfır w0, alpha=0.5, epochs=3)")


@grade("torch_perceptron_fit_test", weight=1)
def test_perceptron_torch_does_not_change_inputs(student, perceptron_reference, and_data):
    X, y = and_data
    for label, w0 in (("float64 tensör", torch.tensor([0.2, -0.4, 0.1], dtype=torch.float64)),
                      ("float64 NumPy dizisi", np.array([0.2, -0.4, 0.1]))):
        hw = student.put(w0)
        hX = student.put(torch.tensor(X))
        got = _perceptron_call(student, hX, torch.tensor(y), hw, alpha=0.25, epochs=2, device=CPU,
                               what="perceptron_fit_torch(X, y, w0, alpha=0.25, epochs=2)")
        if not close(got, perceptron_reference(X, y, np.asarray(w0, dtype=np.float64), 0.25, 2)):
            fail("perceptron_fit_torch(X, y, w0, alpha=0.25, epochs=2): önce doğru ağırlıkları döndürmeli; girdilerin "
                 "değişmediği ancak o zaman denetlenir.")
        if not np.array_equal(np.asarray(student.get(hw), dtype=np.float64), np.asarray(w0, dtype=np.float64)):
            fail(f"perceptron_fit_torch, çağıranın w0'ını ({label}) değiştirdi. torch.as_tensor, girdi zaten uygun "
                 "türde ve cihazdaysa aynı belleği kullanır (float64 bir NumPy dizisi de paylaşılır); `w += ...` ile "
                 "güncellemeden önce .clone() ile kopyalayın.")
        expect_unchanged(student, hX, torch.tensor(X), message="perceptron_fit_torch, verilen X tensörünü "
                         "değiştirdi; X'e yerinde (in-place) yazmayın.")


@grade("torch_perceptron_fit_test", weight=2)
def test_perceptron_torch_on_device(student, and_data):
    _device_rules(student, "perceptron_fit_torch")
    X, y = and_data
    w0 = np.array([0.2, -0.4, 0.1])
    cases = (("NumPy girdilerle", lambda dev: (X, y, w0)),
             ("girdiler zaten cihazdayken", lambda dev: (put_on_device(student, torch.tensor(X), dev),
                                                         put_on_device(student, torch.tensor(y), dev),
                                                         put_on_device(student, torch.tensor(w0), dev))))
    for label, make_args in cases:
        what = f"perceptron_fit_torch(..., device=device) ({label})"
        handle, counts, dev = _on_device(student, "perceptron_fit_torch", make_args, alpha=0.5, epochs=2,
                                         counting=True, what=what)
        info = _tensor_info(student, handle, what)
        if info["device"] == "cpu" and dev.type != "cpu":
            fail(f"{what}: dönen ağırlıklar `device` üzerinde olmalıydı, ama CPU'da. Hesabı device üzerinde yapın ve "
                 "sonucu `.cpu()` / `.numpy()` ile geri taşımayın.")
        expect_on_device(student, handle, dev, what=f"{what}: dönen ağırlıklar")
        if info["dtype"] != "float64" or tuple(info["shape"]) != (3,):
            fail(f"{what}: (3,) şekilli float64 bir tensör bekleniyordu, ama {tuple(info['shape'])} şekilli "
                 f"{info['dtype']} bir tensör geldi.")
        expect_ops_on_device(counts, dev, what=what)


# ---------------------------------------------------------------------------- train_sigmoid_neuron

def _reference_logistic(X, y, epochs, lr, *, accumulate=False, sigmoid_twice=False, reduction="mean"):
    """Full-batch gradient descent on the BCE loss from zero weights, in float64.

    The student trains in float32; the float32 rounding differs from this by far less than the
    tolerance. ``accumulate`` (zero_grad forgotten), ``sigmoid_twice`` (sigmoid before
    BCEWithLogitsLoss) and ``reduction="sum"`` give the weights of typical mistakes, to name them.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.zeros(X.shape[1])
    b = 0.0
    gw_sum, gb_sum = np.zeros_like(w), 0.0
    n = len(y) if reduction == "mean" else 1
    for _ in range(epochs):
        z = X @ w + b
        s = 1.0 / (1.0 + np.exp(-z))
        if sigmoid_twice:
            g = (1.0 / (1.0 + np.exp(-s)) - y) * s * (1.0 - s) / n
        else:
            g = (s - y) / n
        gw, gb = X.T @ g, g.sum()
        if accumulate:
            gw_sum, gb_sum = gw_sum + gw, gb_sum + gb
            gw, gb = gw_sum, gb_sum
        w = w - lr * gw
        b = b - lr * gb
    return w, b


def _bceloss_logits(X, y, epochs, lr):
    """The logits of the sigmoid + nn.BCELoss mistake, trained here in float32 as a student's code would."""
    Xt = torch.tensor(np.asarray(X), dtype=torch.float32)
    yt = torch.tensor(np.asarray(y), dtype=torch.float32).reshape(-1, 1)
    w = torch.zeros((Xt.shape[1], 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(epochs):
        loss = nn.functional.binary_cross_entropy(torch.sigmoid(Xt @ w + b), yt)
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    with torch.no_grad():
        return (Xt @ w + b).double().numpy()


def _trained_model(student, X, y, epochs, lr, what, device=CPU):
    model = call(student, "train_sigmoid_neuron", X, y, epochs=epochs, lr=lr, device=device, keep=True,
                 hint="X'i float32 bir tensöre, y'yi (n, 1) şeklinde float32 bir tensöre çevirin "
                      "(torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)).")
    info = student.describe(model)
    if not info.get("module"):
        fail(f"{what}: eğitilmiş model (bir nn.Module) döndürülmeliydi, ama {info.get('type')} geldi.")
    n_features = np.shape(X)[1]
    shapes = sorted(tuple(p[1]) for p in info.get("parameters", []))
    if shapes != sorted([(1, n_features), (1,)]):
        fail(f"{what}: model tek bir nn.Linear({n_features}, 1) olmalı (ağırlık (1, {n_features}), sapma (1,)); "
             f"parametre şekilleri: {shapes}.")
    return model


def _logits(student, model, X, what):
    out = call(student, model, torch.tensor(np.asarray(X), dtype=torch.float32), contexts=["no_grad"])
    expect_tensor(out, f"{what}: model(X)")
    expect_shape(out, (X.shape[0], 1), f"{what}: model(X)")
    return out


def _minibatch_logits(X, y, epochs, lr, batch_size):
    """Logits after mini-batch gradient descent in order (the mistake of several steps per epoch), float64."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        for start in range(0, len(y), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            g = (1.0 / (1.0 + np.exp(-(xb @ w + b))) - yb) / len(yb)
            w, b = w - lr * xb.T @ g, b - lr * g.sum()
    return (X @ w + b).reshape(-1, 1)


def _training_mistakes(X, y, epochs, lr):
    def logits(**kw):
        w, b = _reference_logistic(X, y, epochs, lr, **kw)
        return (X @ w + b).reshape(-1, 1)

    def minibatch():
        for batch_size in (1, 16, 32, 64):
            if batch_size < len(y):
                yield lambda batch_size=batch_size: _minibatch_logits(X, y, epochs, lr, batch_size)

    return [
        ("Gradyanlar adımdan adıma birikmiş: her adımdan önce eniyileyicinin zero_grad() metodunu çağırın.",
         lambda: logits(accumulate=True)),
        ("Sigmoid iki kez uygulanmış: BCEWithLogitsLoss sigmoid'i kendisi uygular; ona logitleri (model(X)) verin.",
         lambda: logits(sigmoid_twice=True)),
        ("Kayıp ortalama yerine toplam olarak alınmış (reduction=\"sum\"): varsayılan nn.BCEWithLogitsLoss() "
         "kullanın.", lambda: logits(reduction="sum")),
        ("sigmoid + nn.BCELoss kullanılmış: doygun (|z| büyük) logitlerde sigmoid float32'de tam 1'e ya da 0'a "
         "yuvarlanır ve gradyan kaybolur. Logitleri doğrudan nn.BCEWithLogitsLoss()'a verin.",
         lambda: _bceloss_logits(X, y, epochs, lr)),
        ("Model olasılık döndürüyor; forward logit döndürmeli (modele sigmoid eklemeyin).",
         lambda: 1.0 / (1.0 + np.exp(-logits()))),
        ("Model hiç öğrenmemiş (bütün logitler 0, ağırlıklar başlangıçtaki gibi): adımlar sıfır gradyanla atılmış. "
         "zero_grad()'ı backward()'dan sonra çağırmayın; sıra zero_grad → model(X) → kayıp → backward → step.",
         lambda: np.zeros((len(y), 1)) if epochs > 0 and lr > 0 else None),
    ] + [("Her dönemde birden çok adım (mini-batch) atılmış. Tam yığın (full batch) eğitimde her dönem bütün "
          "örneklerle tek bir adımdır: toplam epochs adım.", variant) for variant in minibatch()]


TRAINING_HINT = ("Ağırlığı ve sapmayı nn.init.zeros_ ile sıfırdan başlatın, her dönemde bütün örneklerle tek bir adım "
                 "atın (zero_grad → model(X) → BCEWithLogitsLoss → backward → step).")


def _check_training(student, X, y, epochs, lr, what, tol, X_arg=None, y_arg=None):
    model = _trained_model(student, X if X_arg is None else X_arg, y if y_arg is None else y_arg, epochs, lr, what)
    got = _logits(student, model, X, what)
    w, b = _reference_logistic(X, y, epochs, lr)
    expected = (X @ w + b).reshape(-1, 1)
    mistakes.expect_close(got, expected, tol=tol, mistake_tol=1e-4, what=f"{what}: model(X)",
                          mistakes=_training_mistakes(X, y, epochs, lr), hint=TRAINING_HINT)


@grade("torch_sigmoid_train_test", weight=1)
def test_sigmoid_neuron_one_step_from_zero(student):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    what = "train_sigmoid_neuron(X, y, epochs=1, lr=0.0)"
    model = _trained_model(student, torch.tensor(X, dtype=torch.float32), torch.tensor(y), 1, 0.0, what)
    got = _logits(student, model, X, what)
    if not close(got, np.zeros((len(X), 1))):
        fail(f"{what}: lr=0 ile ağırlıklar değişmez, yani model başlangıç ağırlıklarıyla her örnekte 0 logit "
             "vermeliydi. Ağırlığı ve sapmayı nn.init.zeros_(model.weight), nn.init.zeros_(model.bias) ile sıfırla "
             "başlatın (nn.Linear'ın varsayılan başlangıcı rastgeledir).")
    _check_training(student, X, y, 1, 0.5, "train_sigmoid_neuron(X, y, epochs=1, lr=0.5)", 1e-5,
                    X_arg=torch.tensor(X, dtype=torch.float32), y_arg=torch.tensor(y))


@grade("torch_sigmoid_train_test", weight=2)
def test_sigmoid_neuron_training_on_blobs(student, blobs):
    X, y = blobs
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    # NumPy inputs as the demo passes them: float64 X, int64 y
    _check_training(student, X, y, 60, 0.3, "train_sigmoid_neuron(X, y, epochs=60, lr=0.3) (make_blobs, NumPy "
                    "float64 X)", 1e-4)


@grade("torch_sigmoid_train_test", weight=1)
def test_sigmoid_neuron_saturated_logits(student):
    # Noisy labels and a large step: after a few steps |z| reaches ~50 on misclassified samples, where
    # sigmoid + BCELoss loses the gradient in float32 and BCEWithLogitsLoss does not.
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(12, 2)) * 3 + 4, rng.normal(size=(12, 2)) * 3 - 4])
    y = np.array([1] * 12 + [0] * 12)
    y[[0, 1, 13]] = 1 - y[[0, 1, 13]]
    _check_training(student, X, y.astype(np.float64), 5, 2.0,
                    "train_sigmoid_neuron(X, y, epochs=5, lr=2.0) (doygun logitlerle)", 1e-4,
                    X_arg=torch.tensor(X, dtype=torch.float64))


@grade("torch_sigmoid_train_test", weight=2)
def test_sigmoid_neuron_on_device(student):
    _device_rules(student, "train_sigmoid_neuron")
    rng = np.random.default_rng(6)
    X = rng.normal(size=(10, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    cases = (("NumPy girdilerle", lambda dev: (X, y)),
             ("girdiler zaten cihazdayken",
              lambda dev: (put_on_device(student, torch.tensor(X, dtype=torch.float32), dev),
                           put_on_device(student, torch.tensor(y), dev))))
    for label, make_args in cases:
        what = f"train_sigmoid_neuron(X, y, epochs=2, device=device) ({label})"
        model, counts, dev = _on_device(student, "train_sigmoid_neuron", make_args, epochs=2, lr=0.1, counting=True,
                                        what=what)
        info = student.describe(model)
        if not info.get("module"):
            fail(f"{what}: eğitilmiş model (bir nn.Module) döndürülmeliydi, ama {info.get('type')} geldi.")
        expect_on_device(student, model, dev, what=f"{what}: dönen model")
        expect_ops_on_device(counts, dev, what=what)


# ---------------------------------------------------------------------------- predict_proba

def _worker_model(student, weight, bias, hidden=None):
    """A model with known parameters, built in the worker with the notebook's own torch: nn.Linear(d, 1), or
    nn.Sequential(Linear(d, h), Tanh(), Linear(h, 1)) when ``hidden`` = (W1, b1) is given."""
    try:
        if hidden is None:
            model = student.call_method("torch", "nn.Linear", len(weight), 1, keep=True)
            params = [("weight", torch.tensor([weight], dtype=torch.float32)),
                      ("bias", torch.tensor([bias], dtype=torch.float32))]
        else:
            W1, b1 = hidden
            first = student.call_method("torch", "nn.Linear", W1.shape[1], W1.shape[0], keep=True)
            act = student.call_method("torch", "nn.Tanh", keep=True)
            last = student.call_method("torch", "nn.Linear", W1.shape[0], 1, keep=True)
            model = student.call_method("torch", "nn.Sequential", first, act, last, keep=True)
            params = [("0.weight", torch.tensor(W1, dtype=torch.float32)),
                      ("0.bias", torch.tensor(b1, dtype=torch.float32)),
                      ("2.weight", torch.tensor([weight], dtype=torch.float32)),
                      ("2.bias", torch.tensor([bias], dtype=torch.float32))]
        for name, value in params:  # our own model: its parameter names are known
            student.call_method(model, f"{name}.data.copy_", value)
    except StudentCodeError as exc:  # the notebook's `torch` was replaced by something else
        fail(f"Kontrol için bir model oluşturulamadı ({exc.type}: {exc.message[:200]}); defterin ilk hücresindeki "
             "`import torch` değiştirilmemeli.")
    return model


WEIGHT, BIAS = [0.8, -1.5, 0.25], -0.3


def _proba_expected(X, hidden=None):
    X = np.asarray(X, dtype=np.float64)
    h = X if hidden is None else np.tanh(X @ hidden[0].T + hidden[1])
    z = h @ np.array(WEIGHT) + BIAS
    return z, 1.0 / (1.0 + np.exp(-z))


def _check_proba_values(student, got, X, what, hidden=None):
    expect_tensor(got, what)
    n = np.shape(X)[0]
    z, expected = _proba_expected(X, hidden)
    mistakes.expect_close(got, expected, tol=1e-5, what=what, mistakes=[
        (f"şekil (n,) olmalıydı, ama ({n}, 1) geldi. Sonucu .reshape(-1) ya da .squeeze(1) ile 1 boyutlu yapın.",
         lambda: expected.reshape(-1, 1)),
        ("tek örnekte 0 boyutlu bir tensör geldi: .squeeze() bütün 1 uzunluklu boyutları siler. (n,) şekli için "
         ".reshape(-1) ya da .squeeze(1) kullanın.", lambda: expected.reshape(()) if n == 1 else None),
        ("logitler döndürülmüş; olasılık için torch.sigmoid(model(X)) uygulayın.", z),
    ], hint="Olasılıklar torch.sigmoid(model(X)) ile hesaplanır; şekil (n,).")


def _check_proba(student, n):
    lin = _worker_model(student, WEIGHT, BIAS)
    X = np.random.default_rng(8 + n).normal(size=(n, 3)) * 2
    got = call(student, "predict_proba", lin, torch.tensor(X, dtype=torch.float32), device=CPU)
    _check_proba_values(student, got, X, f"predict_proba(model, X) ({n} örnek)")


@grade("torch_predict_proba_test", weight=2)
def test_predict_proba_values(student):
    _check_proba(student, 17)


@grade("torch_predict_proba_test", weight=1)
def test_predict_proba_single_sample_is_1d(student):
    _check_proba(student, 1)


@grade("torch_predict_proba_test", weight=1)
def test_predict_proba_numpy_float64_input_and_any_model(student):
    X = np.random.default_rng(31).normal(size=(9, 3))
    lin = _worker_model(student, WEIGHT, BIAS)
    got = call(student, "predict_proba", lin, X, device=CPU,
               hint="X'i torch.as_tensor(X, dtype=torch.float32) ile float32 bir tensöre çevirin.")
    _check_proba_values(student, got, X, "predict_proba(model, X) (float64 NumPy X ile)")
    rng = np.random.default_rng(32)
    W1, b1 = rng.normal(size=(3, 3)), rng.normal(size=3)
    seq = _worker_model(student, WEIGHT, BIAS, hidden=(W1, b1))
    got = call(student, "predict_proba", seq, torch.tensor(X, dtype=torch.float32), device=CPU,
               hint="predict_proba her modelle çalışmalı: modeli yalnızca model(X) ile çağırın.")
    _check_proba_values(student, got, X, "predict_proba(model, X) (iki katmanlı bir nn.Sequential ile)", (W1, b1))


@grade("torch_predict_proba_test", weight=1)
def test_predict_proba_without_grad(student):
    X = np.random.default_rng(33).normal(size=(6, 3))
    lin = _worker_model(student, WEIGHT, BIAS)
    what = "predict_proba(model, X)"
    handle = call(student, "predict_proba", lin, torch.tensor(X, dtype=torch.float32), device=CPU, keep=True)
    info = _tensor_info(student, handle, what)
    _check_proba_values(student, student.get(handle), X, what)  # a valid result first
    if info["requires_grad"]:
        fail(f"{what}: dönen tensör gradyan gerektiriyor (requires_grad=True), yani hesap bir hesap grafiği "
             "kurularak yapılmış. Tahmini `with torch.no_grad():` (ya da `torch.inference_mode()`) bağlamında "
             "yapın.")
    expect_no_graph(student, "predict_proba", lin, torch.tensor(X, dtype=torch.float32), device=CPU, what=what)


@grade("torch_predict_proba_test", weight=2)
def test_predict_proba_on_device(student):
    _device_rules(student, "predict_proba")
    X = np.random.default_rng(34).normal(size=(5, 3))
    for label, on_device in (("CPU'daki model ve NumPy X ile", False), ("X zaten cihazdayken", True)):
        models = []

        def make_args(dev, on_device=on_device):
            models.append(_worker_model(student, WEIGHT, BIAS))
            x = put_on_device(student, torch.tensor(X, dtype=torch.float32), dev) if on_device else X
            return models[-1], x

        what = f"predict_proba(model, X, device=device) ({label})"
        handle, _, dev = _on_device(student, "predict_proba", make_args, what=what)
        info = _tensor_info(student, handle, what)
        if info["device"] == "cpu" and dev.type != "cpu":
            fail(f"{what}: olasılıklar `device` üzerinde kalmalıydı, ama sonuç CPU'da. Sonucu `.cpu()` ya da "
                 "`.to(\"cpu\")` ile geri taşımayın; `device`'ta döndürün.")
        expect_on_device(student, handle, dev, what=f"{what}: dönen olasılıklar")
        if tuple(info["shape"]) != (5,):
            fail(f"{what}: (5,) şekilli bir tensör bekleniyordu, ama {tuple(info['shape'])} geldi.")
        expect_on_device(student, models[-1], dev, what=f"{what}: model")
