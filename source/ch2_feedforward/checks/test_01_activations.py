"""Hidden checks for 01_activations.ipynb (activations from scratch, softmax, derivatives, get_device)."""
import numpy as np
import torch

from autograder.checks import StudentCodeError, expect_close, expect_dtype, expect_shape, expect_tensor, fail, grade
from autograder.device import expect_get_device

# Large magnitudes on purpose: exp(710) already overflows float64.
GRID = np.concatenate([[-1000.0, -745.0, -710.0, -50.0, -20.0], np.linspace(-6.0, 6.0, 49),
                       [20.0, 50.0, 710.0, 745.0, 1000.0]])

ELEMENTWISE_BUILTINS = {"sigmoid", "sigmoid_", "tanh", "tanh_", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_",
                        "expit", "logistic", "hardtanh", "threshold", "Sigmoid", "Tanh", "ReLU", "LeakyReLU"}
SOFTMAX_BUILTINS = {"softmax", "log_softmax", "Softmax", "LogSoftmax"}

STABLE_HINT = {
    "sigmoid": "Büyük |x| için e^(-x) taşar: z = torch.exp(-torch.abs(x)) ile x ≥ 0'da 1/(1+z), x < 0'da z/(1+z) "
               "kullanın.",
    "tanh": "Büyük |x| için e^x taşar (inf/inf = nan): z = torch.exp(-2 * torch.abs(x)) ile "
            "torch.sign(x) * (1 - z) / (1 + z) kullanın.",
    "relu": "ReLU(x) = max(0, x): pozitifler aynen kalır, diğerleri 0 olur.",
    "leaky_relu": "x > 0 ise x, değilse slope * x; verilen slope parametresini kullanın.",
}


def _inputs():
    rng = np.random.default_rng(12)
    return [torch.tensor(GRID, dtype=torch.float64), torch.tensor(rng.normal(size=(3, 4, 5)) * 4.0)]


def _check_elementwise(student, kit, name, reference, **kwargs):
    args = "".join(f", {k}={v}" for k, v in kwargs.items())
    for x in _inputs():
        what = f"{name}(x{args}) ({tuple(x.shape)} şekilli float64 x)"
        handle = student.put(x.clone())
        out = kit.call(student, name, handle, what=what, **kwargs)
        expect_tensor(out, what)
        expect_shape(out, tuple(x.shape), what)
        expect_dtype(out, torch.float64, what)
        expect_close(out, reference(x), what=what, hint=STABLE_HINT[name])
        if not torch.equal(student.get(handle), x):
            fail(f"{name} verilen x tensörünü değiştirdi. `x.clamp_(...)`, `x[x < 0] = 0`, `x *= ...` gibi yerinde "
                 "(in-place) işlemler çağıranın verisini bozar; yeni bir tensör üretin (ör. torch.where(...)).")


@grade("act_elementwise_test", weight=1)
def test_sigmoid_values_and_stability(student, kit):
    _check_elementwise(student, kit, "sigmoid", torch.sigmoid)


@grade("act_elementwise_test", weight=1)
def test_tanh_values_and_stability(student, kit):
    _check_elementwise(student, kit, "tanh", torch.tanh)


@grade("act_elementwise_test", weight=1)
def test_relu_values_input_unchanged(student, kit):
    _check_elementwise(student, kit, "relu", torch.relu)


@grade("act_elementwise_test", weight=1)
def test_leaky_relu_default_and_given_slope(student, kit):
    leaky = torch.nn.functional.leaky_relu
    _check_elementwise(student, kit, "leaky_relu", lambda x: leaky(x, 0.01))
    _check_elementwise(student, kit, "leaky_relu", lambda x: leaky(x, 0.2), slope=0.2)
    _check_elementwise(student, kit, "leaky_relu", lambda x: leaky(x, 0.05), slope=0.05)


@grade("act_elementwise_test", weight=1)
def test_elementwise_written_from_scratch(student, kit):
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    for name in ("sigmoid", "tanh", "relu", "leaky_relu"):
        expect_tensor(kit.call(student, name, x), f"{name}(x)")
    used = kit.builtin_uses(student.source, {"sigmoid", "tanh", "relu", "leaky_relu"}, ELEMENTWISE_BUILTINS)
    if used:
        fail("Aktivasyonlar sıfırdan yazılmalı, ama hazır fonksiyonlar kullanılmış: "
             + ", ".join(f"`{u}`" for u in used[:4]) + ". Yalnız torch.exp, torch.abs, torch.sign, torch.where gibi "
             "temel işlemleri kullanın.")


# ---------------------------------------------------------------------------- softmax

def _check_softmax(student, kit, x, dim, what_extra=""):
    what = f"softmax(x, dim={dim}) ({tuple(x.shape)} şekilli x{what_extra})"
    out = kit.call(student, "softmax", x, dim=dim, what=what,
                   hint="Toplamı `keepdim=True` ile alın ki bölme doğru yayınlansın.")
    expect_tensor(out, what)
    expect_shape(out, tuple(x.shape), what)
    expect_dtype(out, torch.float64, what)
    return out, what


@grade("act_softmax_test", weight=2)
def test_softmax_along_last_dim(student, kit):
    rng = np.random.default_rng(31)
    for shape in ((5, 7), (2, 3, 4), (6,)):
        x = torch.tensor(rng.normal(size=shape) * 3.0)
        out, what = _check_softmax(student, kit, x, -1)
        expect_close(out, torch.softmax(x, dim=-1), what=what,
                     hint="softmax(x)_i = e^(x_i) / Σ_j e^(x_j), toplam son boyut (sınıflar) boyunca alınır.")


@grade("act_softmax_test", weight=1)
def test_softmax_along_given_dim(student, kit):
    x = torch.tensor(np.random.default_rng(32).normal(size=(3, 4, 5)) * 2.0)
    for dim in (0, 1, -2):
        out, what = _check_softmax(student, kit, x, dim)
        expect_close(out, torch.softmax(x, dim=dim), what=what,
                     hint="En büyük değeri de toplamı da verilen `dim` boyunca alın (dim=dim, keepdim=True).")


@grade("act_softmax_test", weight=1)
def test_softmax_large_logits_are_stable(student, kit):
    x = torch.tensor([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1000.0], [800.0, 0.0, -5.0],
                      [-750.0, -760.0, -740.0]], dtype=torch.float64)
    out, what = _check_softmax(student, kit, x, -1, ", ±1000 gibi büyük logitlerle")
    expect_close(out, torch.softmax(x, dim=-1), what=what,
                 hint="e^1000 float64'te bile sonsuzdur: üsleri almadan önce her dilimin en büyük değerini çıkarın "
                      "(x - x.amax(dim=dim, keepdim=True)); softmax bundan etkilenmez.")


@grade("act_softmax_test", weight=1)
def test_softmax_written_from_scratch(student, kit):
    expect_tensor(kit.call(student, "softmax", torch.tensor([[0.5, 1.5]], dtype=torch.float64)), "softmax(x)")
    used = kit.builtin_uses(student.source, {"softmax"}, SOFTMAX_BUILTINS)
    if used:
        fail("softmax sıfırdan yazılmalı, ama hazır bir fonksiyon kullanılmış: "
             + ", ".join(f"`{u}`" for u in used[:4]) + ". torch.exp, amax ve sum ile yazın.")


# ---------------------------------------------------------------------------- derivatives

def _autograd(fn, x):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


def _torch_function(student, name):
    try:
        return student.get("torch", name, keep=True)
    except StudentCodeError:  # the notebook's torch was replaced
        fail("Kontrol için torch fonksiyonlarına erişilemedi; defterin ilk hücresindeki `import torch` değiştirilmemeli.")


@grade("act_grads_test", weight=2)
def test_autograd_derivative_of_known_functions(student, kit):
    rng = np.random.default_rng(41)
    cases = [("sin", torch.cos, torch.tensor(np.linspace(-4.0, 4.0, 17))),
             ("exp", torch.exp, torch.tensor(rng.normal(size=(3, 4)))),
             ("square", lambda t: 2.0 * t, torch.tensor(rng.normal(size=(2, 3, 2))))]
    for name, derivative, x in cases:
        what = f"autograd_derivative(torch.{name}, x) ({tuple(x.shape)} şekilli x)"
        out = kit.call(student, "autograd_derivative", _torch_function(student, name), x, what=what,
                       hint="Gradyan yalnız skaler bir çıktı için tanımlıdır: torch.autograd.grad(f(x).sum(), x).")
        expect_tensor(out, what)
        expect_shape(out, tuple(x.shape), what)
        expect_close(out, derivative(x), what=what,
                     hint="x'in requires_grad=True bir kopyasını alın, y = f(kopya), sonra "
                          "torch.autograd.grad(y.sum(), kopya)[0].")


@grade("act_grads_test", weight=1)
def test_autograd_derivative_leaves_input_alone(student, kit):
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    handle = student.put(x.clone())
    out = kit.call(student, "autograd_derivative", _torch_function(student, "sin"), handle,
                   what="autograd_derivative(torch.sin, x)")
    expect_close(out, torch.cos(x), what="autograd_derivative(torch.sin, x)")
    info = student.describe(handle).get("tensor", {})
    if info.get("requires_grad") or not torch.equal(student.get(handle), x):
        fail("autograd_derivative çağıranın x tensörünü değiştirdi (ona requires_grad verdi ya da değerlerini "
             "değiştirdi). Türevi bir kopyada alın: x.detach().clone().requires_grad_(True).")


def _check_derivative(student, kit, name, reference, hint):
    rng = np.random.default_rng(43)
    for x in (torch.tensor(GRID, dtype=torch.float64), torch.tensor(rng.normal(size=(4, 5)) * 3.0)):
        what = f"{name}(x) ({tuple(x.shape)} şekilli float64 x)"
        out = kit.call(student, name, x, what=what)
        expect_tensor(out, what)
        expect_shape(out, tuple(x.shape), what)
        expect_dtype(out, torch.float64, what)
        expect_close(out, _autograd(reference, x), what=what, hint=hint)


@grade("act_grads_test", weight=1)
def test_sigmoid_grad_matches_autograd(student, kit):
    _check_derivative(student, kit, "sigmoid_grad", torch.sigmoid,
                      "σ'(x) = σ(x)(1 - σ(x)); kendi sigmoid fonksiyonunuzu kullanın (x = ±1000'de de sonlu olmalı).")


@grade("act_grads_test", weight=1)
def test_tanh_grad_matches_autograd(student, kit):
    _check_derivative(student, kit, "tanh_grad", torch.tanh,
                      "tanh'(x) = 1 - tanh(x)²; kendi tanh fonksiyonunuzu kullanın (x = ±1000'de de sonlu olmalı).")


@grade("act_grads_test", weight=1)
def test_relu_grad_matches_autograd(student, kit):
    _check_derivative(student, kit, "relu_grad", torch.relu,
                      "ReLU'(x) = 1 (x > 0 ise), 0 (değilse); x = 0'da PyTorch gibi 0 kullanın: (x > 0).to(x.dtype).")


# ---------------------------------------------------------------------------- get_device

@grade("act_device_test", weight=1)
def test_get_device_prefers_cuda_then_mps(student):
    expect_get_device(student, "get_device")
