"""Hidden checks for 03_mlp.ipynb (make_mlp structure and forward, parameter counts)."""
import numpy as np
import torch

from autograder.checks import StudentCodeError, expect_close, expect_shape, expect_tensor, fail, grade
from autograder.checks.layouts import distinct_children, parameters
from autograder.checks import call
from autograder.checks.layouts import format_layout, layout
from autograder.checks.objects import worker_sequential
from autograder.checks.source import builtin_uses

NO_OUTPUT_ACTIVATION = ("Son Linear katmandan sonra aktivasyon ya da softmax olmamalı: çıktı katmanı logit (ya da "
                        "regresyonda herhangi bir gerçel sayı) üretir, nn.CrossEntropyLoss softmax'ı kendisi uygular.")


def _activation(student, name):
    try:
        return student.get("nn", name, keep=True)
    except StudentCodeError:
        try:
            return student.get("torch", f"nn.{name}", keep=True)
        except StudentCodeError:
            fail("Kontrol için nn katmanlarına erişilemedi; defterin ilk hücresindeki importlar değiştirilmemeli.")


def _expected(sizes, activation=("ReLU",)):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(("Linear", n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation)
    return layers


def _check_layout(student, sizes, activation=None, expected_activation=("ReLU",)):
    what = f"make_mlp({sizes}" + (f", activation=nn.{activation})" if activation else ")")
    args = (sizes, _activation(student, activation)) if activation else (sizes,)
    model = call(student, "make_mlp", *args, keep=True, what=what)
    got = layout(student, model, what)
    want = _expected(sizes, expected_activation)
    if got == want:
        return model
    hint = ""
    if len(got) > len(want) and got[:len(want)] == want:
        hint = " " + NO_OUTPUT_ACTIVATION
    elif [g[0] for g in got if g[0] == "Linear"] == [w[0] for w in want if w[0] == "Linear"] and activation and \
            any(g[0] == "ReLU" for g in got):
        hint = (" Aktivasyon olarak verilen `activation` sınıfını kullanın (her seferinde yeni bir örnek: "
                "`activation()`); nn.ReLU'yu sabit yazmayın.")
    fail(f"{what}: katmanlar {format_layout(want)} olmalıydı, ama {format_layout(got)} geldi.{hint}")


@grade("mlp_make_test", weight=1)
def test_make_mlp_default_relu(student):
    _check_layout(student, [4, 8, 3])
    _check_layout(student, [6, 5, 5, 2])


@grade("mlp_make_test", weight=1)
def test_make_mlp_uses_activation_argument(student):
    _check_layout(student, [10, 16, 8, 2], "Tanh", ("Tanh",))
    _check_layout(student, [3, 7, 2], "LeakyReLU", ("LeakyReLU", 0.01))


@grade("mlp_make_test", weight=1)
def test_make_mlp_no_activation_after_last_layer(student):
    _check_layout(student, [5, 1])
    _check_layout(student, [3, 2], "Tanh", ("Tanh",))


@grade("mlp_make_test", weight=1)
def test_make_mlp_forward_returns_logits(student):
    sizes = [3, 6, 4]
    model = call(student, "make_mlp", sizes, _activation(student, "LeakyReLU"), keep=True,
                     what="make_mlp([3, 6, 4], activation=nn.LeakyReLU)")
    rng = np.random.default_rng(51)
    X = torch.tensor(rng.normal(size=(8, 3)) * 2.0, dtype=torch.float32)
    what = "make_mlp([3, 6, 4], activation=nn.LeakyReLU)(X)"
    got = call(student, model, X, contexts=["no_grad"], what=what)
    expect_tensor(got, what)
    expect_shape(got, (8, 4), what)
    found = [t for _, t in parameters(student, model, what)]
    if [tuple(t.shape) for t in found] != [(6, 3), (6,), (4, 6), (4,)]:
        fail(f"{what}: katmanlar [Linear(3, 6), LeakyReLU, Linear(6, 4)] sırasıyla bir nn.Sequential içinde olmalı "
             f"(parametre şekilleri {[tuple(t.shape) for t in found]} geldi).")
    w1, b1, w2, b2 = (t.double() for t in found)
    hidden = torch.nn.functional.leaky_relu(X.double() @ w1.T + b1, 0.01)
    want = hidden @ w2.T + b2
    expect_close(got, want, tol=1e-5, what=what, mistakes=[
        (f"çıktılar olasılık (softmax uygulanmış). {NO_OUTPUT_ACTIVATION}", lambda: torch.softmax(want, dim=1)),
    ], hint="İleri geçiş Linear → aktivasyon → Linear olmalı; son katmandan sonra bir şey uygulanmamalı.")


@grade("mlp_make_test", weight=1)
def test_make_mlp_new_activation_per_layer(student):
    sizes = [4, 6, 6, 6, 2]
    what = f"make_mlp({sizes})"
    model = _check_layout(student, sizes)
    if distinct_children(student, model, what) != 2 * len(sizes) - 3:
        fail(f"{what}: aynı aktivasyon katmanı örneği birden çok yerde kullanılmış. Her Linear'dan sonra "
             "`activation()` çağırarak yeni bir örnek oluşturun (döngünün dışında bir kez oluşturup tekrar "
             "kullanmayın: parametreli ya da kanca (hook) takılmış bir aktivasyon katmanlar arasında paylaşılır).")


@grade("mlp_make_test", weight=1)
def test_make_mlp_leaves_sizes_alone(student):
    sizes = [5, 7, 3]
    handle = student.put(list(sizes))
    what = f"make_mlp({sizes})"
    model = call(student, "make_mlp", handle, keep=True, what=what)
    got = layout(student, model, what)
    want = _expected(sizes)
    if got != want:
        fail(f"{what}: katmanlar {format_layout(want)} olmalıydı, ama {format_layout(got)} geldi.")
    after = student.get(handle)
    if after != sizes:
        fail(f"{what}: verilen sizes listesi değişti ({sizes} → {after}): `sizes.pop()`, `sizes.append(...)` gibi "
             "yerinde işlemler çağıranın listesini bozar. Listeyi değiştirmeden okuyun (zip(sizes[:-1], sizes[1:])).")


@grade("mlp_make_test", weight=1)
def test_make_mlp_returns_a_cpu_model(student):
    what = "make_mlp([3, 4, 2])"
    model = _check_layout(student, [3, 4, 2])
    devices = {entry[2] for entry in student.describe(model).get("parameters", [])}
    used = builtin_uses(student.source, {"make_mlp"}, {"to", "cuda", "device"}, names={"device"})
    if devices != {"cpu"} or used:
        where = ", ".join(f"`{u}`" for u in used[:3]) if used else ", ".join(sorted(devices))
        fail(f"{what}: make_mlp modeli bir cihaza taşımamalı ({where}): modeli CPU'da oluşturup döndürün; cihazı "
             "modeli kullanan kod seçer (eğitim fonksiyonları `model.to(device)` ile taşır).")


# ---------------------------------------------------------------------------- counting

@grade("mlp_count_test", weight=2)
def test_count_parameters_trainable_and_all(student):
    layers = [("Linear", 7, 5), ("BatchNorm1d", 5), ("ReLU",), ("Linear", 5, 2)]
    model = worker_sequential(student, layers)
    total = 7 * 5 + 5 + 2 * 5 + 5 * 2 + 2  # BatchNorm: weight and bias are parameters, running stats are buffers
    for kwargs, want in (({}, total), ({"trainable_only": False}, total)):
        what = "count_parameters(model" + "".join(f", {k}={v}" for k, v in kwargs.items()) + ")"
        got = call(student, "count_parameters", model, what=what, **kwargs)
        if type(got) is not int:
            fail(f"{what}: bir Python int bekleniyordu, ama {type(got).__name__} geldi.")
        if got != want:
            hint = (" BatchNorm'un running_mean/running_var gibi tamponları (buffers) parametre değildir: yalnız "
                    "model.parameters() sayılır.") if got > want else ""
            fail(f"{what}: {want} bekleniyordu, ama {got} geldi.{hint}")
    student.call_method(model, "0.requires_grad_", False, keep=True)  # freeze the first layer
    frozen = 7 * 5 + 5
    for kwargs, want, hint in (({}, total - frozen, " Dondurulmuş (requires_grad=False) parametreler "
                                                     "trainable_only=True iken sayılmamalı."),
                               ({"trainable_only": False}, total, " trainable_only=False iken dondurulmuş "
                                                                    "parametreler de sayılmalı.")):
        what = ("count_parameters(model" + "".join(f", {k}={v}" for k, v in kwargs.items())
                + ") (ilk katman dondurulmuşken)")
        got = call(student, "count_parameters", model, what=what, **kwargs)
        if got != want:
            fail(f"{what}: {want} bekleniyordu, ama {got!r} geldi.{hint}")


@grade("mlp_count_test", weight=1)
def test_mlp_num_params_formula(student):
    for sizes in ([4, 8, 3], [64, 32, 16, 10], [5, 1], [2, 3, 3, 3, 1]):
        want = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        what = f"mlp_num_params({sizes})"
        got = call(student, "mlp_num_params", sizes, what=what)
        if type(got) is not int:
            fail(f"{what}: bir Python int bekleniyordu, ama {type(got).__name__} geldi.")
        if got != want:
            weights_only = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
            hint = " Sapmalar (bias) unutulmuş: her Linear(n_in, n_out) katmanında n_out sapma vardır." \
                if got == weights_only else " Her Linear(n_in, n_out) katmanı n_in·n_out + n_out parametre ekler."
            fail(f"{what}: {want} bekleniyordu, ama {got} geldi.{hint}")


@grade("mlp_count_test", weight=1)
def test_count_parameters_counts_model_parameters_once(student):
    # model.parameters() also yields parameters registered on the model itself, and a layer used twice once.
    try:
        shared = student.call_method("torch", "nn.Linear", 4, 4, keep=True)
        act = student.call_method("torch", "nn.Tanh", keep=True)
        head = student.call_method("torch", "nn.Linear", 4, 2, keep=True)
        model = student.call_method("torch", "nn.Sequential", shared, act, shared, head, keep=True)
        scale = student.call_method("torch", "nn.Parameter", torch.ones(3), keep=True)
        student.call_method(model, "register_parameter", "scale", scale, keep=True)
    except StudentCodeError:
        fail("Kontrol için bir model kurulamadı; defterin ilk hücresindeki `import torch` değiştirilmemeli.")
    want = (4 * 4 + 4) + (4 * 2 + 2) + 3
    what = ("count_parameters(model) (bir Linear katmanı iki kez kullanılmış, modelin kendisinde de bir "
            "parametre var)")
    got = call(student, "count_parameters", model, what=what)
    if got != want:
        fail(f"{what}: {want} bekleniyordu, ama {got!r} geldi. Katmanları tek tek dolaşmak yerine "
             "model.parameters() üzerinden sayın: modelin kendi parametrelerini de içerir ve iki kez kullanılan bir "
             "katmanın parametrelerini bir kez verir.")


@grade("mlp_count_test", weight=1)
def test_mlp_num_params_without_building_a_model(student):
    sizes = [6, 5, 3]
    what = f"mlp_num_params({sizes})"
    got = call(student, "mlp_num_params", sizes, what=what)
    if got != 6 * 5 + 5 + 5 * 3 + 3:
        fail(f"{what}: {6 * 5 + 5 + 5 * 3 + 3} bekleniyordu, ama {got!r} geldi.")
    used = builtin_uses(student.source, {"mlp_num_params"},
                            {"Linear", "Sequential", "parameters", "numel", "Module"},
                            names={"make_mlp", "count_parameters", "Linear", "Sequential"})
    if used:
        fail(f"{what}: parametre sayısı model kurulmadan, yalnız boyutlardan hesaplanmalı, ama "
             + ", ".join(f"`{u}`" for u in used[:3]) + " kullanılmış. Her (n_in, n_out) çifti için "
             "n_in·n_out + n_out toplayın.")
