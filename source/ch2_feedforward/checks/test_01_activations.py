"""Hidden checks for 01_activations.ipynb (activations from scratch, softmax, derivatives, get_device).

Every function is tried with the inputs the task text allows: float64 and float32 (the dtype must be kept), 1-D and
3-D, a non-contiguous view, an integer tensor for relu, a tensor on the (simulated) GPU, and the caller's tensor
must stay unchanged. "Finite at x = ±1000" covers the gradients too: an unselected torch.where branch that
overflows gives nan gradients although the forward values are right.
"""
import numpy as np
import torch

from autograder.checks import (StudentCodeError, describe_value, expect_close, expect_shape, expect_tensor, fail,
                               grade)
from autograder.checks.inputs import expect_follows_input_device, expect_unchanged, put_noncontiguous
from autograder.device import not_simulated
from autograder.device import DeviceSimulationUnsupported, expect_get_device
from autograder.checks import call
from autograder.checks.source import builtin_uses

# Large magnitudes on purpose: exp(710) already overflows float64.
GRID = np.concatenate([[-1000.0, -745.0, -710.0, -50.0, -20.0], np.linspace(-6.0, 6.0, 49),
                       [20.0, 50.0, 710.0, 745.0, 1000.0]])

ELEMENTWISE_BUILTINS = {"sigmoid", "sigmoid_", "tanh", "tanh_", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_",
                        "expit", "logistic", "hardtanh", "threshold", "Sigmoid", "Tanh", "ReLU", "LeakyReLU"}
SOFTMAX_BUILTINS = {"softmax", "log_softmax", "Softmax", "LogSoftmax"}
AUTOGRAD_NAMES = {"autograd", "backward", "grad", "jacobian", "vjp", "jvp", "functional"}

STABLE_HINT = {
    "sigmoid": "Büyük |x| için e^(-x) taşar: z = torch.exp(-torch.abs(x)) ile x ≥ 0'da 1/(1+z), x < 0'da z/(1+z) "
               "kullanın.",
    "tanh": "Büyük |x| için e^x taşar (inf/inf = nan): z = torch.exp(-2 * torch.abs(x)) ile "
            "torch.sign(x) * (1 - z) / (1 + z) kullanın.",
    "relu": "ReLU(x) = max(0, x): pozitifler aynen kalır, diğerleri 0 olur.",
    "leaky_relu": "Leaky ReLU: x > 0 ise x, değilse slope * x; bu formül her slope için (1'den büyük olsa da) "
                  "geçerli: torch.where(x > 0, x, slope * x).",
}
DTYPE_HINT = ("Girdinin veri türünü koruyun: float32 girdi float32, float64 girdi float64 sonuç vermeli. Girdiyi "
              "başka bir türe çevirmeyin (`x.double()`, `.float()`) ve yeni tensörleri girdiden türetin "
              "(`torch.zeros_like(x)`, `.to(x.dtype)`).")


def _tol(dtype):
    # float32: one ulp of a logit of 1000 is 6e-5, so exp(x - logsumexp(x)) is right only to ~1e-4 there.
    return 1e-10 if dtype == torch.float64 else 5e-4


def _inputs():
    """(label, tensor, noncontiguous) for every kind of input the general rules allow."""
    rng = np.random.default_rng(12)
    return [
        ("float64", torch.tensor(GRID, dtype=torch.float64), False),
        ("float64", torch.tensor(rng.normal(size=(3, 4, 5)) * 4.0), False),
        ("bitişik olmayan (non-contiguous) float64", torch.tensor(rng.normal(size=(4, 6)) * 5.0), True),
        ("float32", torch.tensor(GRID, dtype=torch.float32), False),
    ]


def _expect_same_dtype(out, x, what):
    if out.dtype != x.dtype:
        fail(f"{what}: sonuç {str(out.dtype).removeprefix('torch.')} geldi, ama girdi "
             f"{str(x.dtype).removeprefix('torch.')}. {DTYPE_HINT}")


def _apply(student, name, x, noncontiguous=False, what=None, hint="", **kwargs):
    """Call ``name`` on a copy of ``x`` in the worker; checks type, shape, dtype. Returns (out, handle)."""
    handle = put_noncontiguous(student, x) if noncontiguous else student.put(x.clone())
    out = call(student, name, handle, what=what, hint=hint, **kwargs)
    expect_tensor(out, what)
    expect_shape(out, tuple(x.shape), what)
    _expect_same_dtype(out, x, what)
    return out, handle


def _check_elementwise(student, name, reference, **kwargs):
    args = "".join(f", {k}={v}" for k, v in kwargs.items())
    for label, x, strided in _inputs():
        what = f"{name}(x{args}) ({tuple(x.shape)} şekilli {label} x)"
        out, handle = _apply(student, name, x, strided, what, **kwargs)
        expect_close(out, reference(x.double()), tol=_tol(x.dtype), what=what, hint=STABLE_HINT[name])
        expect_unchanged(student, handle, x, what=name, message=(
            f"{name} verilen x tensörünü değiştirdi. `x.clamp_(...)`, `x[x < 0] = 0`, `x *= ...` gibi yerinde "
            "(in-place) işlemler çağıranın verisini bozar; yeni bir tensör üretin (ör. torch.where(...))."))


@grade("act_elementwise_test", weight=1)
def test_sigmoid_values_and_stability(student):
    _check_elementwise(student, "sigmoid", torch.sigmoid)


@grade("act_elementwise_test", weight=1)
def test_tanh_values_and_stability(student):
    _check_elementwise(student, "tanh", torch.tanh)


@grade("act_elementwise_test", weight=1)
def test_relu_values_input_unchanged(student):
    _check_elementwise(student, "relu", torch.relu)


@grade("act_elementwise_test", weight=1)
def test_relu_keeps_integer_dtype(student):
    x = torch.tensor([[-3, 0, 2], [5, -1, 7]], dtype=torch.int64)
    what = "relu(x) ((2, 3) şekilli int64 x)"
    out, _ = _apply(student, "relu", x, what=what)
    expect_close(out, torch.relu(x).double(), tol=0, what=what, hint=STABLE_HINT["relu"])


@grade("act_elementwise_test", weight=1)
def test_leaky_relu_default_and_given_slope(student):
    leaky = torch.nn.functional.leaky_relu
    _check_elementwise(student, "leaky_relu", lambda x: leaky(x, 0.01))
    for slope in (0.2, 0.05, 1.5):
        _check_elementwise(student, "leaky_relu", lambda x, s=slope: torch.where(x > 0, x, s * x), slope=slope)


@grade("act_elementwise_test", weight=1)
def test_elementwise_written_from_scratch(student):
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    for name, ref in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)):
        expect_close(call(student, name, x), ref(x), what=f"{name}(x)", hint=STABLE_HINT[name])
    used = builtin_uses(student.source, {"sigmoid", "tanh", "relu", "leaky_relu"}, ELEMENTWISE_BUILTINS)
    if used:
        fail("Aktivasyonlar sıfırdan yazılmalı, ama hazır fonksiyonlar kullanılmış: "
             + ", ".join(f"`{u}`" for u in used[:4]) + ". Yalnız torch.exp, torch.abs, torch.sign, torch.where gibi "
             "temel işlemleri kullanın.")


GRAD_POINTS = torch.tensor([-1000.0, -745.0, -50.0, -20.0, -2.5, -1.0, -0.25, 0.25, 1.0, 2.5, 20.0, 50.0, 745.0,
                            1000.0], dtype=torch.float64)


def _autograd_through(student, name, x):
    """The gradient of sum(name(x)) with respect to x, computed in the worker by torch.autograd."""
    handle = student.call_method(student.put(x.clone()), "requires_grad_", True, keep=True)
    what = f"{name}(x) (requires_grad=True bir x ile)"
    y = call(student, name, handle, keep=True, what=what)
    try:
        total = student.call_method(y, "sum", keep=True)
        (grad,) = student.call_method("torch", "autograd.grad", total, handle)
    except StudentCodeError as error:
        fail(f"{what}: autograd sonucun türevini alamadı ({error.type}). Fonksiyon tensör işlemleriyle yazılmalı "
             "(NumPy'a çevirmeden, `.detach()` çağırmadan) ki geri yayılım onun içinden geçebilsin.")
    return grad


@grade("act_elementwise_test", weight=1)
def test_sigmoid_tanh_gradients_finite_at_large_inputs(student):
    for name, ref in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        expect_close(call(student, name, GRAD_POINTS), ref(GRAD_POINTS), what=f"{name}(x)", hint=STABLE_HINT[name])
        grad = _autograd_through(student, name, GRAD_POINTS)
        want = _autograd(ref, GRAD_POINTS)
        what = f"{name} içinden geri yayılım (autograd ile türev, x = ±1000 dahil)"
        expect_tensor(grad, what)
        if not torch.isfinite(grad).all():
            bad = [f"{v:g}" for v in GRAD_POINTS[~torch.isfinite(grad)].tolist()[:4]]
            fail(f"{what}: x = {', '.join(bad)} noktalarında gradyan nan ya da sonsuz. torch.where iki dalı da "
                 "hesaplar: seçilmeyen dalda taşan bir ifade (ör. x < 0 için torch.exp(-x)) ileri geçişte görünmez "
                 "ama geri yayılımda 0 · inf = nan üretir. İki dalda da yalnız z = torch.exp(-torch.abs(x)) gibi "
                 "taşmayan ifadeler kullanın.")
        expect_close(grad, want, tol=1e-8, what=what, hint=STABLE_HINT[name])


@grade("act_elementwise_test", weight=1)
def test_elementwise_follow_input_device(student):
    x = torch.tensor([[-3.0, -0.5, 0.0], [0.5, 2.0, 40.0]], dtype=torch.float64)
    for name, ref in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu),
                      ("leaky_relu", lambda t: torch.nn.functional.leaky_relu(t, 0.01))):
        expect_close(call(student, name, x), ref(x), what=f"{name}(x)", hint=STABLE_HINT[name])
        try:
            info = expect_follows_input_device(student, name, x, what=f"{name}(x)")
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
        if info["shape"] != list(x.shape) or info["dtype"] != "float64":
            fail(f"{name}(x): girdi GPU'dayken sonuç {tuple(info['shape'])} şekilli, {info['dtype']} türünde geldi; "
                 "girdiyle aynı şekil ve türde olmalı.")


# ---------------------------------------------------------------------------- softmax

def _check_softmax(student, x, dim, what_extra="", noncontiguous=False):
    what = f"softmax(x, dim={dim}) ({tuple(x.shape)} şekilli x{what_extra})"
    out, handle = _apply(student, "softmax", x, noncontiguous, what,
                         hint="Toplamı `keepdim=True` ile alın ki bölme doğru yayınlansın.", dim=dim)
    return out, what, handle


@grade("act_softmax_test", weight=2)
def test_softmax_along_last_dim(student):
    rng = np.random.default_rng(31)
    for shape, strided in (((5, 7), False), ((2, 3, 4), False), ((6,), False), ((4, 5), True)):
        x = torch.tensor(rng.normal(size=shape) * 3.0)
        out, what, _ = _check_softmax(student, x, -1, ", bitişik olmayan (non-contiguous)" if strided else "",
                                      strided)
        expect_close(out, torch.softmax(x, dim=-1), what=what,
                     hint="softmax(x)_i = e^(x_i) / Σ_j e^(x_j), toplam son boyut (sınıflar) boyunca alınır.")


@grade("act_softmax_test", weight=1)
def test_softmax_along_given_dim(student):
    x = torch.tensor(np.random.default_rng(32).normal(size=(3, 4, 5)) * 2.0)
    for dim in (0, 1, -2):
        out, what, _ = _check_softmax(student, x, dim)
        expect_close(out, torch.softmax(x, dim=dim), what=what,
                     hint="En büyük değeri de toplamı da verilen `dim` boyunca alın (dim=dim, keepdim=True).")


@grade("act_softmax_test", weight=1)
def test_softmax_large_logits_are_stable(student):
    x = torch.tensor([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1000.0], [800.0, 0.0, -5.0],
                      [-750.0, -760.0, -740.0]], dtype=torch.float64)
    for logits, extra in ((x, ", ±1000 gibi büyük logitlerle"), (x.float(), ", float32, büyük logitlerle")):
        out, what, _ = _check_softmax(student, logits, -1, extra)
        expect_close(out, torch.softmax(x, dim=-1), tol=_tol(logits.dtype), what=what,
                     hint="e^1000 float64'te bile sonsuzdur: üsleri almadan önce her dilimin en büyük değerini "
                          "çıkarın (x - x.amax(dim=dim, keepdim=True)); softmax bundan etkilenmez.")


@grade("act_softmax_test", weight=1)
def test_softmax_leaves_input_alone(student):
    x = torch.tensor(np.random.default_rng(33).normal(size=(4, 6)) * 3.0)
    out, what, handle = _check_softmax(student, x, -1)
    expect_close(out, torch.softmax(x, dim=-1), what=what)
    expect_unchanged(student, handle, x, what="softmax", message=(
        "softmax verilen logit tensörünü değiştirdi: `x -= x.amax(...)` gibi yerinde (in-place) bir çıkarma "
        "çağıranın logitlerini kaydırır. Yeni bir tensör üretin: `shifted = x - x.amax(dim=dim, keepdim=True)`."))


@grade("act_softmax_test", weight=1)
def test_softmax_follows_input_device(student):
    x = torch.tensor([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]], dtype=torch.float64)
    expect_close(call(student, "softmax", x, dim=-1), torch.softmax(x, dim=-1), what="softmax(x)")
    try:
        expect_follows_input_device(student, "softmax", x, what="softmax(x)", dim=-1)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)


@grade("act_softmax_test", weight=1)
def test_softmax_written_from_scratch(student):
    x = torch.tensor([[0.5, 1.5]], dtype=torch.float64)
    expect_close(call(student, "softmax", x), torch.softmax(x, dim=-1), what="softmax(x)")
    used = builtin_uses(student.source, {"softmax"}, SOFTMAX_BUILTINS)
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
def test_autograd_derivative_of_known_functions(student):
    rng = np.random.default_rng(41)
    cases = [("sin", torch.cos, torch.tensor(np.linspace(-4.0, 4.0, 17)), False),
             ("exp", torch.exp, torch.tensor(rng.normal(size=(3, 4))), False),
             ("square", lambda t: 2.0 * t, torch.tensor(rng.normal(size=(2, 3, 2))), False),
             ("tanh", lambda t: 1.0 - torch.tanh(t) ** 2, torch.tensor(rng.normal(size=(4, 5))), True),
             ("sin", torch.cos, torch.tensor(rng.normal(size=(6,)), dtype=torch.float32), False)]
    for name, derivative, x, strided in cases:
        kind = ("bitişik olmayan " if strided else "") + str(x.dtype).removeprefix("torch.")
        what = f"autograd_derivative(torch.{name}, x) ({tuple(x.shape)} şekilli {kind} x)"
        handle = put_noncontiguous(student, x) if strided else x
        out = call(student, "autograd_derivative", _torch_function(student, name), handle, what=what,
                       hint="Gradyan yalnız skaler bir çıktı için tanımlıdır: torch.autograd.grad(f(x).sum(), x).")
        expect_tensor(out, what)
        expect_shape(out, tuple(x.shape), what)
        _expect_same_dtype(out, x, what)
        expect_close(out, derivative(x.double()), tol=_tol(x.dtype), what=what,
                     hint="x'in requires_grad=True bir kopyasını alın, y = f(kopya), sonra "
                          "torch.autograd.grad(y.sum(), kopya)[0].")


@grade("act_grads_test", weight=1)
def test_autograd_derivative_leaves_input_alone(student):
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    handle = student.put(x.clone())
    out = call(student, "autograd_derivative", _torch_function(student, "sin"), handle,
                   what="autograd_derivative(torch.sin, x)")
    expect_close(out, torch.cos(x), what="autograd_derivative(torch.sin, x)")
    info = student.describe(handle).get("tensor", {})
    if info.get("requires_grad") or not torch.equal(student.get(handle), x):
        fail("autograd_derivative çağıranın x tensörünü değiştirdi (ona requires_grad verdi ya da değerlerini "
             "değiştirdi). Türevi bir kopyada alın: x.detach().clone().requires_grad_(True).")


def _check_derivative(student, name, reference, hint):
    rng = np.random.default_rng(43)
    for label, x, strided in (("float64", torch.tensor(GRID, dtype=torch.float64), False),
                              ("float64", torch.tensor(rng.normal(size=(4, 5)) * 3.0), False),
                              ("bitişik olmayan float64", torch.tensor(rng.normal(size=(3, 4)) * 2.0), True),
                              ("float32", torch.tensor(rng.normal(size=(7,)) * 3.0, dtype=torch.float32), False)):
        what = f"{name}(x) ({tuple(x.shape)} şekilli {label} x)"
        out, _ = _apply(student, name, x, strided, what)
        expect_close(out, _autograd(reference, x.double()), tol=_tol(x.dtype), what=what, hint=hint)


@grade("act_grads_test", weight=1)
def test_sigmoid_grad_matches_autograd(student):
    _check_derivative(student, "sigmoid_grad", torch.sigmoid,
                      "σ'(x) = σ(x)(1 - σ(x)); kendi sigmoid fonksiyonunuzu kullanın (x = ±1000'de de sonlu olmalı).")


@grade("act_grads_test", weight=1)
def test_tanh_grad_matches_autograd(student):
    _check_derivative(student, "tanh_grad", torch.tanh,
                      "tanh'(x) = 1 - tanh(x)²; kendi tanh fonksiyonunuzu kullanın (x = ±1000'de de sonlu olmalı).")


@grade("act_grads_test", weight=1)
def test_relu_grad_matches_autograd(student):
    _check_derivative(student, "relu_grad", torch.relu,
                      "ReLU'(x) = 1 (x > 0 ise), 0 (değilse); x = 0'da PyTorch gibi 0 kullanın: (x > 0).to(x.dtype).")


@grade("act_grads_test", weight=1)
def test_grads_by_formula_with_own_functions(student):
    x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64)
    for name, ref in (("sigmoid_grad", torch.sigmoid), ("tanh_grad", torch.tanh), ("relu_grad", torch.relu)):
        expect_close(call(student, name, x), _autograd(ref, x), what=f"{name}(x)")
    used = builtin_uses(student.source, {"sigmoid_grad", "tanh_grad", "relu_grad"},
                            ELEMENTWISE_BUILTINS | AUTOGRAD_NAMES, names={"autograd_derivative"})
    if used:
        fail("Türevler formülle ve kendi sigmoid/tanh fonksiyonlarınızla hesaplanmalı, ama "
             + ", ".join(f"`{u}`" for u in used[:4]) + " kullanılmış. Örneğin s = sigmoid(x) ile s * (1 - s), "
             "t = tanh(x) ile 1 - t * t; autograd (autograd_derivative, backward) ve hazır fonksiyonlar "
             "(torch.tanh, torch.sigmoid) kullanılmaz.")


@grade("act_grads_test", weight=1)
def test_grads_follow_input_device(student):
    x = torch.tensor([[-3.0, -0.5, 0.0], [0.5, 2.0, 40.0]], dtype=torch.float64)
    for name, ref in (("sigmoid_grad", torch.sigmoid), ("tanh_grad", torch.tanh), ("relu_grad", torch.relu)):
        expect_close(call(student, name, x), _autograd(ref, x), what=f"{name}(x)")
        try:
            info = expect_follows_input_device(student, name, x, what=f"{name}(x)")
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
        if info["shape"] != list(x.shape) or info["dtype"] != "float64":
            fail(f"{name}(x): girdi GPU'dayken sonuç {tuple(info['shape'])} şekilli, {info['dtype']} türünde geldi; "
                 "girdiyle aynı şekil ve türde olmalı.")


# ---------------------------------------------------------------------------- get_device

@grade("act_device_test", weight=1)
def test_get_device_prefers_cuda_then_mps(student):
    expect_get_device(student, "get_device")


@grade("act_device_test", weight=1)
def test_get_device_returns_a_torch_device(student):
    expect_get_device(student, "get_device")
    for context in ("available:none", "available:cuda"):
        got = student.call("get_device", contexts=[context])
        if not isinstance(got, torch.device):
            fail(f"get_device(): bir `torch.device` döndürmeliydi, ama {describe_value(got)} geldi: cihaz adını "
                 "`torch.device(\"cuda\")` gibi bir torch.device nesnesine çevirip döndürün.")
