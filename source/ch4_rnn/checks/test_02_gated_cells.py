"""Hidden checks for 02_gated_cells.ipynb (LSTM and GRU cells from scratch, against nn.LSTMCell / nn.GRUCell).

Values in float64 with the weights copied into PyTorch's cells, so the expected values do not depend on how the
student splits the computation; the usual formula mistakes are replayed here to name them. Each cell is also tried
with what the text allows: float32 and non-contiguous inputs, inputs that must stay unchanged, inputs on the grading
device (meta simulation without a GPU), gradients through the cell (against autograd here), and no ready-made cell.
"""
import itertools

import torch
from torch import nn

from autograder.checks import StudentCodeError, call, close, fail, grade
from autograder.checks.inputs import (CREATE_ON_INPUT_DEVICE, call_with_inputs_on_device, expect_unchanged,
                                     put_noncontiguous)
from autograder.checks.mistakes import expect_close
from autograder.checks.objects import tuple_items
from autograder.checks.source import builtin_uses
from autograder.device import DeviceSimulationUnsupported, expect_tensor_on_device, not_simulated


def _random(seed, *shapes, scale=0.5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(*s, generator=g, dtype=torch.float64) * scale).to(dtype) for s in shapes]


DTYPE_HINT = ("Girdilerin veri türünü koruyun: float32 girdiler float32 sonuç vermeli. Girdileri başka bir türe "
              "çevirmeyin (`.double()`) ve yeni tensörleri girdiden türetin (`torch.ones_like(z)`, `dtype=x.dtype`).")
GRAPH_HINT = ("sonuç hesap grafiğine bağlı değil ya da gradyan girdilere ulaşmıyor: hücrenin içinde "
              "`torch.no_grad()`, `.detach()` ya da NumPy'a çevirme kullanmayın; bir eğitimde geri yayılım hücrenin "
              "içinden geçer.")
INPLACE = ("`{fn}` verilen `{label}` tensörünü değiştirdi: `c *= f`, `c.mul_(f)`, `h.mul_(z).add_(...)` gibi yerinde "
           "(in-place) işlemler çağıranın tensörünü bozar; yeni bir tensör üretin (`c_new = f * c + i * g`).")


def _run_on_device(student, fn, tensors, what):
    """``fn`` called with ``tensors`` on the check device; the result's handle (a device error fails with a hint on
    tensors created inside; an op the simulation cannot run skips the check)."""
    try:
        return call_with_inputs_on_device(student, fn, *tensors, what=what, hint=CREATE_ON_INPUT_DEVICE,
                                          device_errors=("Cannot copy out of meta tensor",))
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)


def _gradients(student, fn, tensors, n_out, what):
    """Gradients, computed in the worker, of sum(out_k * R_k) over the outputs with respect to every input."""
    leaves = [student.call_method(student.put(t.clone()), "requires_grad_", True, keep=True) for t in tensors]
    result = call(student, fn, *leaves, keep=True, what=what,
                  hint=f"Girdiler gradyan isterken (requires_grad=True) yerinde (in-place) işlem yapılamaz: "
                       f"`c.mul_(f)`, `h.mul_(z)` yerine yeni tensörler üretin (`f * c`); {GRAPH_HINT}")
    outs = tuple_items(student, result, n_out, what) if n_out > 1 else [result]
    g = torch.Generator().manual_seed(len(tensors))
    weights = []
    try:
        total = None
        for out in outs:
            info = student.describe(out).get("tensor") or {}
            if not info.get("requires_grad"):
                fail(f"{what}: {GRAPH_HINT}")
            r = torch.randn(*info["shape"], generator=g, dtype=torch.float64)
            weights.append(r)
            part = student.call_method(student.call_method(out, "mul", r, keep=True), "sum", keep=True)
            total = part if total is None else student.call_method(total, "add", part, keep=True)
        student.call_method(total, "backward")
    except StudentCodeError as error:
        fail(f"{what}: sonuçtan geri yayılım yapılamadı ({error.type}: {error.message[:160]}); {GRAPH_HINT}")
    return [student.get(leaf, "grad") for leaf in leaves], weights


def _reference_gradients(reference, tensors, weights):
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    outs = reference(*leaves)
    outs = outs if isinstance(outs, tuple) else (outs,)
    sum((o * r).sum() for o, r in zip(outs, weights)).backward()
    return [leaf.grad for leaf in leaves]


# ---------------------------------------------------------------------------- LSTM

LSTM_NAMES = ("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh")
LSTM_FORMULA = "c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'); kapı sırası i, f, g, o."


def _nn_lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    cell = nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(value)
        h_new, c_new = cell(x.double(), (h.double(), c.double()))
    return h_new, c_new


def _lstm_reference(x, h, c, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


def _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", cell_tanh=True, g_act=torch.tanh, old_c=False,
                  coupled=False):
    """LSTM step reading the four chunks in ``order`` (a permutation of 'ifgo') and the other usual mistakes."""
    chunks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
    i, f = torch.sigmoid(chunks["i"]), torch.sigmoid(chunks["f"])
    g, o = g_act(chunks["g"]), torch.sigmoid(chunks["o"])
    c_new = f * c + ((1 - f) if coupled else i) * g
    squashed = torch.tanh(c if old_c else c_new)
    return torch.cat([o * (squashed if cell_tanh else c_new), c_new], dim=1)


def _lstm_mistakes(args):
    zero = torch.zeros_like(args[5])
    x, h, c, W_ih, W_hh, b_ih, b_hh = args
    out = [("Sonuçların sırası ters: (h_new, c_new) döndürün.",
            lambda: torch.cat(list(_nn_lstm_cell(*args))[::-1], dim=1))]
    for order in ("".join(p) for p in itertools.permutations("ifgo")):
        if order != "ifgo":
            out.append((f"Kapılar {', '.join(order)} sırasıyla okunmuş; PyTorch'un sırası i, f, g, o (girdi, unutma, "
                        "aday, çıkış): `i, f, g, o = gates.chunk(4, dim=1)`.",
                        lambda order=order: _lstm_variant(*args, order=order)))
    one_bias = "Sapmalardan yalnızca biri eklenmiş: b_ih ve b_hh'nin ikisi de eklenmeli."
    out += [
        (one_bias, lambda: _lstm_variant(x, h, c, W_ih, W_hh, b_ih, zero)),
        (one_bias, lambda: _lstm_variant(x, h, c, W_ih, W_hh, zero, b_hh)),
        ("h' = o ⊙ tanh(c') olmalı: yeni hücre durumu çıkış kapısıyla çarpılmadan önce tanh'ten geçer.",
         lambda: _lstm_variant(*args, cell_tanh=False)),
        ("Aday hücre durumu g sigmoid'den geçirilmiş: i, f, o kapılar (sigmoid), g ise tanh ile hesaplanır.",
         lambda: _lstm_variant(*args, g_act=torch.sigmoid)),
        ("h' eski hücre durumundan hesaplanmış (tanh(c)): önce c' = f ⊙ c + i ⊙ g, sonra h' = o ⊙ tanh(c').",
         lambda: _lstm_variant(*args, old_c=True)),
        ("Girdi kapısı yerine (1 − f) kullanılmış: LSTM'de yeni bilgiyi girdi kapısı i yazar: c' = f ⊙ c + i ⊙ g.",
         lambda: _lstm_variant(*args, coupled=True)),
    ]
    return out


def _lstm_result(got, what):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what}: bir (h_new, c_new) ikilisi bekleniyordu.")
    h_new, c_new = got
    for label, t in (("h_new", h_new), ("c_new", c_new)):
        if not isinstance(t, torch.Tensor):
            fail(f"{what}: {label} bir tensör olmalı.")
    return h_new, c_new


def _check_lstm(student, args, what, extra_hint="", handles=None, tol=1e-10):
    got = call(student, "lstm_cell", *(handles or args), what="lstm_cell(...)",
               hint="Ön-aktivasyonlar x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, (N, 4H) şeklinde; dört eşit parçaya "
                    "`gates.chunk(4, dim=1)` ya da `torch.split(gates, H, dim=1)` ile bölün "
                    "(`torch.split(gates, 4, dim=1)` 4'er sütunluk parçalar verir, 4 parça değil).")
    h_new, c_new = _lstm_result(got, what)
    for label, t in (("h_new", h_new), ("c_new", c_new)):
        if t.dtype != args[0].dtype:
            fail(f"{what}: {label} girdiler gibi {str(args[0].dtype).removeprefix('torch.')} olmalıydı, ama "
                 f"{str(t.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")
    args64 = [a.double() for a in args]
    h_ref, c_ref = _nn_lstm_cell(*args64)
    both = torch.cat([h_new.double(), c_new.double()], dim=1) if h_new.shape == c_new.shape else None
    if both is not None and close(both, torch.cat([h_ref, c_ref], dim=1), tol):
        return h_new, c_new
    mistakes = _lstm_mistakes(args64)
    if both is not None:
        expect_close(both, torch.cat([h_ref, c_ref], dim=1), tol=tol, what=f"{what}: (h_new, c_new)",
                     hint=extra_hint or LSTM_FORMULA, mistakes=mistakes, unique=True)
    expect_close(c_new, c_ref, tol=tol, what=f"{what}: c_new", hint=extra_hint or LSTM_FORMULA)
    expect_close(h_new, h_ref, tol=tol, what=f"{what}: h_new", hint=extra_hint or LSTM_FORMULA)
    return h_new, c_new


def _lstm_args(seed, N, I, H, dtype=torch.float64):
    x, h, c, W_ih, W_hh, b_ih, b_hh = _random(seed, (N, I), (N, H), (N, H), (4 * H, I), (4 * H, H), (4 * H,),
                                              (4 * H,), dtype=dtype)
    return [x, h, c * 2, W_ih, W_hh, b_ih, b_hh]


@grade("lstm_cell_test", weight=3)
def test_lstm_cell_matches_nn_lstmcell(student):
    _check_lstm(student, _lstm_args(7, 3, 4, 5), "lstm_cell (N=3, I=4, H=5)")
    args1 = _random(8, (1, 1), (1, 2), (1, 2), (8, 1), (8, 2), (8,), (8,), scale=1.0)
    _check_lstm(student, args1, "lstm_cell (N=1, I=1, H=2)")


@grade("lstm_cell_test", weight=1)
def test_lstm_forget_gate_keeps_the_cell_state(student):
    # Zero weights; biases open the forget gate (f = 1), close the input gate (i = 0): c' = c, h' = sigmoid(1) tanh(c).
    N, I, H = 2, 3, 4
    x, h, c = _random(9, (N, I), (N, H), (N, H), scale=1.0)
    W_ih, W_hh = torch.zeros(4 * H, I, dtype=torch.float64), torch.zeros(4 * H, H, dtype=torch.float64)
    b_ih = torch.cat([torch.full((H,), v, dtype=torch.float64) for v in (-30.0, 30.0, 0.5, 1.0)])
    b_hh = torch.zeros(4 * H, dtype=torch.float64)
    _check_lstm(student, [x, h, c, W_ih, W_hh, b_ih, b_hh], "lstm_cell (açık unutma kapısı, kapalı girdi kapısı)",
                extra_hint="Unutma kapısı f = 1 ve girdi kapısı i = 0 iken hücre durumu değişmemeli (c' = c) ve "
                           "h' = σ(1)·tanh(c) olmalı. Kapı sırası i, f, g, o; çıkış kapısı dördüncü parça.")


@grade("lstm_cell_test", weight=1)
def test_lstm_cell_float32_and_noncontiguous(student):
    args = _lstm_args(14, 3, 2, 4, torch.float32)
    handles = [put_noncontiguous(student, t) if k in (0, 1, 2, 3) else t for k, t in enumerate(args)]
    what = "lstm_cell (float32 girdiler; x, h, c ve W_ih bitişik olmayan görünümler)"
    h_new, c_new = _check_lstm(student, args, what, handles=handles, tol=1e-5)
    for label, t in (("h_new", h_new), ("c_new", c_new)):
        if t.dtype != torch.float32:
            fail(f"{what}: {label} float32 olmalıydı, ama {str(t.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")


@grade("lstm_cell_test", weight=1)
def test_lstm_cell_leaves_inputs_unchanged(student):
    args = _lstm_args(15, 2, 3, 3)
    handles = [student.put(t.clone()) for t in args]
    _check_lstm(student, args, "lstm_cell (N=2, I=3, H=3)", handles=handles)
    for label, handle, original in zip(LSTM_NAMES, handles, args):
        expect_unchanged(student, handle, original, message=INPLACE.format(fn="lstm_cell", label=label))


@grade("lstm_cell_test", weight=1)
def test_lstm_cell_follows_input_device(student):
    args = _lstm_args(16, 2, 3, 4)
    _check_lstm(student, args, "lstm_cell (N=2, I=3, H=4)")
    result = _run_on_device(student, "lstm_cell", args, "lstm_cell(...)")
    h_new, c_new = tuple_items(student, result, 2, "lstm_cell(...)")
    expect_tensor_on_device(student, h_new, (2, 4), "lstm_cell(...) h_new")
    expect_tensor_on_device(student, c_new, (2, 4), "lstm_cell(...) c_new")


@grade("lstm_cell_test", weight=1)
def test_lstm_cell_gradients(student):
    args = _lstm_args(17, 2, 3, 3)
    what = "lstm_cell (bütün girdiler requires_grad=True iken)"
    _check_lstm(student, args, "lstm_cell (N=2, I=3, H=3)")
    grads, weights = _gradients(student, "lstm_cell", args, 2, what)
    want = _reference_gradients(_lstm_reference, args, weights)
    for label, grad, expected in zip(LSTM_NAMES, grads, want):
        if grad is None:
            fail(f"{what}: {label}.grad boş (None): {GRAPH_HINT}")
        expect_close(grad, expected, tol=1e-8, what=f"{what}: {label}'ın gradyanı", hint=LSTM_FORMULA)


CELL_BUILTINS = {"LSTMCell", "GRUCell", "LSTM", "GRU", "RNNCell", "lstm_cell", "gru_cell", "_VF"}


def _expect_from_scratch(student, fn, layer):
    used = builtin_uses(student.source, {fn}, CELL_BUILTINS)
    if used:
        fail(f"{fn} formülleriyle sıfırdan yazılmalı; {layer} gibi hazır hücreler kullanılmamalı, ama şunlar "
             "kullanılmış: " + ", ".join(f"`{u}`" for u in used[:4]) + ".")


@grade("lstm_cell_test", weight=1)
def test_lstm_cell_written_from_scratch(student):
    _check_lstm(student, _lstm_args(18, 2, 2, 3), "lstm_cell (N=2, I=2, H=3)")
    _expect_from_scratch(student, "lstm_cell", "nn.LSTMCell")


# ---------------------------------------------------------------------------- GRU

GRU_NAMES = ("x", "h", "W_ih", "W_hh", "b_ih", "b_hh")
GRU_FORMULA = "r, z, n sırası; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h."


def _nn_gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(value)
        return cell(x.double(), h.double())


def _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, kind="right"):
    H = h.shape[1]
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    if kind == "zrn":
        i_r, i_z, h_r, h_z = i_z, i_r, h_z, h_r
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    if kind == "r_outside":
        n = torch.tanh(i_n + r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:])
    elif kind == "cho":
        n = torch.tanh(i_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
    elif kind == "sum_then_split":
        n = torch.tanh(r * (i_n + h_n))
    elif kind in ("only_b_ih", "only_b_hh"):
        gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
        gi, gh = (gi, gh - b_hh) if kind == "only_b_ih" else (gi - b_ih, gh)
        (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
    elif kind == "no_reset":
        n = torch.tanh(i_n + h_n)
    else:
        n = torch.tanh(i_n + r * h_n)
    if kind == "z_swapped":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


GRU_MISTAKES = {
    "r_outside": "Sıfırlama kapısı b_hn'nin dışında uygulanmış (r ⊙ (W_hn h) + b_hn): PyTorch'un formülasyonunda "
                 "r, sapmayla birlikte bütün gizli taraf terimini çarpar: r ⊙ (W_hn h + b_hn).",
    "cho": "Özgün makaledeki formülasyon (W_hn (r ⊙ h)) kullanılmış; bu defter PyTorch'unkini ister: "
           "r ⊙ (W_hn h + b_hn).",
    "sum_then_split": "Girdi ve gizli taraf önce toplanıp sonra r ile çarpılmış (r ⊙ (W_in x + b_in + W_hn h + b_hn)): "
                      "n için iki tarafı ayrı tutun, r yalnız gizli tarafı çarpar: "
                      "tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "no_reset": "Sıfırlama kapısı r aday durumda hiç kullanılmamış: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "only_b_ih": "Sapmalardan yalnızca biri (b_ih) eklenmiş: b_ih ve b_hh'nin ikisi de eklenmeli.",
    "only_b_hh": "Sapmalardan yalnızca biri (b_hh) eklenmiş: b_ih ve b_hh'nin ikisi de eklenmeli.",
    "z_swapped": "Güncelleme kapısının rolü ters: h' = (1 − z) ⊙ n + z ⊙ h olmalı (z = 1 iken eski durum korunur).",
    "zrn": "Kapılar z, r, n sırasıyla okunmuş; PyTorch'un sırası r, z, n (sıfırlama, güncelleme, aday).",
}


def _check_gru(student, args, what, extra_hint="", handles=None, tol=1e-10):
    got = call(student, "gru_cell", *(handles or args), what="gru_cell(...)",
               hint="Girdi tarafı x @ W_ih.T + b_ih ve gizli taraf h @ W_hh.T + b_hh, ikisi de (N, 3H); üç eşit "
                    "parçaya `chunk(3, dim=1)` ile bölün.")
    if not isinstance(got, torch.Tensor):
        fail(f"{what}: h_new bir tensör olmalı: `(1 - z) * n + z * h` döndürün.")
    if got.dtype != args[0].dtype:
        fail(f"{what}: h_new girdiler gibi {str(args[0].dtype).removeprefix('torch.')} olmalıydı, ama "
             f"{str(got.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")
    args64 = [a.double() for a in args]
    expected = _nn_gru_cell(*args64)
    expect_close(got, expected, tol=tol, what=what, hint=extra_hint or GRU_FORMULA,
                 mistakes=[(text, lambda kind=kind: _gru_variant(*args64, kind=kind))
                           for kind, text in GRU_MISTAKES.items()], unique=True)
    return got


def _gru_args(seed, N, I, H, scale=0.8, dtype=torch.float64):
    return _random(seed, (N, I), (N, H), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,), scale=scale, dtype=dtype)


@grade("gru_cell_test", weight=3)
def test_gru_cell_matches_nn_grucell(student):
    _check_gru(student, _gru_args(10, 3, 4, 5), "gru_cell (N=3, I=4, H=5)")
    _check_gru(student, _gru_args(11, 2, 1, 2, scale=1.0), "gru_cell (N=2, I=1, H=2)")


@grade("gru_cell_test", weight=1)
def test_gru_closed_reset_gate_drops_hidden_bias(student):
    # r = 0 (b_hr = -30): PyTorch's candidate is tanh(W_in x + b_in), without b_hn.
    N, I, H = 2, 3, 3
    x, h, W_ih, W_hh = _random(12, (N, I), (N, H), (3 * H, I), (3 * H, H), scale=0.7)
    b_ih = torch.zeros(3 * H, dtype=torch.float64)
    b_hh = torch.cat([torch.full((H,), -30.0), torch.zeros(H), torch.full((H,), 1.5)]).double()
    _check_gru(student, [x, h, W_ih, W_hh, b_ih, b_hh], "gru_cell (kapalı sıfırlama kapısı, b_hn = 1.5)",
               extra_hint="r = 0 iken aday durum gizli durumdan hiçbir şey almamalı, b_hn dahil: "
                          "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).")


@grade("gru_cell_test", weight=1)
def test_gru_update_gate_interpolates(student):
    # z = 1 keeps the old state; z = 0 takes the candidate.
    N, I, H = 2, 2, 3
    x, h, W_ih, W_hh = _random(13, (N, I), (N, H), (3 * H, I), (3 * H, H), scale=0.7)
    for z_bias, label in ((30.0, "z = 1: h' = h"), (-30.0, "z = 0: h' = n")):
        b_ih = torch.cat([torch.zeros(H), torch.full((H,), z_bias), torch.zeros(H)]).double()
        b_hh = torch.zeros(3 * H, dtype=torch.float64)
        _check_gru(student, [x, h, W_ih, W_hh, b_ih, b_hh], f"gru_cell (güncelleme kapısı {label})",
                   extra_hint="h' = (1 − z) ⊙ n + z ⊙ h: güncelleme kapısı 1 iken eski durum aynen korunur.")


@grade("gru_cell_test", weight=1)
def test_gru_cell_float32_and_noncontiguous(student):
    args = _gru_args(20, 3, 2, 4, dtype=torch.float32)
    handles = [put_noncontiguous(student, t) if k in (0, 1, 2) else t for k, t in enumerate(args)]
    what = "gru_cell (float32 girdiler; x, h ve W_ih bitişik olmayan görünümler)"
    got = _check_gru(student, args, what, handles=handles, tol=1e-5)
    if got.dtype != torch.float32:
        fail(f"{what}: h_new float32 olmalıydı, ama {str(got.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")


@grade("gru_cell_test", weight=1)
def test_gru_cell_leaves_inputs_unchanged(student):
    args = _gru_args(21, 2, 3, 3)
    handles = [student.put(t.clone()) for t in args]
    _check_gru(student, args, "gru_cell (N=2, I=3, H=3)", handles=handles)
    for label, handle, original in zip(GRU_NAMES, handles, args):
        expect_unchanged(student, handle, original, message=INPLACE.format(fn="gru_cell", label=label))


@grade("gru_cell_test", weight=1)
def test_gru_cell_follows_input_device(student):
    args = _gru_args(22, 2, 3, 4)
    _check_gru(student, args, "gru_cell (N=2, I=3, H=4)")
    result = _run_on_device(student, "gru_cell", args, "gru_cell(...)")
    expect_tensor_on_device(student, result, (2, 4), "gru_cell(...) h_new")


@grade("gru_cell_test", weight=1)
def test_gru_cell_gradients(student):
    args = _gru_args(23, 2, 3, 3)
    what = "gru_cell (bütün girdiler requires_grad=True iken)"
    _check_gru(student, args, "gru_cell (N=2, I=3, H=3)")
    grads, weights = _gradients(student, "gru_cell", args, 1, what)
    want = _reference_gradients(lambda *a: _gru_variant(*a), args, weights)
    for label, grad, expected in zip(GRU_NAMES, grads, want):
        if grad is None:
            fail(f"{what}: {label}.grad boş (None): {GRAPH_HINT}")
        expect_close(grad, expected, tol=1e-8, what=f"{what}: {label}'ın gradyanı", hint=GRU_FORMULA)


@grade("gru_cell_test", weight=1)
def test_gru_cell_written_from_scratch(student):
    _check_gru(student, _gru_args(24, 2, 2, 3), "gru_cell (N=2, I=2, H=3)")
    _expect_from_scratch(student, "gru_cell", "nn.GRUCell")
