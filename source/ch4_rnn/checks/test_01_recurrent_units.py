"""Hidden checks for 01_recurrent_units.ipynb (RNN cell from scratch, RNN variants, truncated BPTT).

References are computed here with PyTorch's own layers (nn.RNN with the same weights copied in), in float64
where the student's function works in float64.

- rnn_forward: values against nn.RNN (square weights, T = 1, N = 1), float32 and a non-contiguous x (a
  transposed batch-first batch), inputs left unchanged, gradients through every time step (BPTT, against autograd
  here), inputs on the grading device (meta simulation without a GPU), no nn.RNN inside.
- ManyToOneRNN / ManyToManyRNN: the layers the text names, the last step for both layouts and N = 1, h0 given or
  not, on the grading device.
- train_tbptt: the loop of the text replayed here on nn.RNN(1, 1) with the same weights (the usual mistakes of the
  loop replayed too, to name them), NumPy and tensor series, on the grading device.
"""
import numpy as np
import torch
from torch import nn

from autograder.checks import CheckFailed, StudentCodeError, call, close, describe_value, fail, grade
from autograder.checks.inputs import call_with_inputs_on_device, expect_unchanged, put_on_device
from autograder.checks.messages import error_text
from autograder.checks.mistakes import expect_close
from autograder.checks.objects import parameter_arrays, tuple_items
from autograder.checks.source import builtin_uses
from autograder.device import (DeviceSimulationUnsupported, check_device, expect_device_agnostic,
                               expect_no_hardcoded_device, expect_on_device, expect_ops_on_device,
                               expect_tensor_on_device, not_simulated, run_explained_on_device, run_on_device)


def pair(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(f"{what}: iki ögeli bir demet (tuple) bekleniyordu: (outputs, h_T).")
    return value


# ---------------------------------------------------------------------------- 1. rnn_forward

FORMULA = "h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh), t = 1..T."


def _params(seed, I, H, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(H, I, generator=g, dtype=torch.float64) * 0.5).to(dtype),
            (torch.randn(H, H, generator=g, dtype=torch.float64) * 0.5).to(dtype),
            (torch.randn(H, generator=g, dtype=torch.float64) * 0.5).to(dtype),
            (torch.randn(H, generator=g, dtype=torch.float64) * 0.5).to(dtype)]


def _inputs(seed, T, N, I, H):
    g = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(T, N, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64) * 0.5
    return x, h0


def _nn_rnn(x, h0, W_ih, W_hh, b_ih, b_hh):
    """(outputs, h_T) of nn.RNN with these weights copied in, in float64."""
    rnn = nn.RNN(W_ih.shape[1], W_ih.shape[0]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(rnn, name).copy_(value)
        out, h_n = rnn(x.double(), h0.double().unsqueeze(0))
    return out, h_n[0]


def _loop(x, h0, W_ih, W_hh, b_ih, b_hh, act=torch.tanh, detach=False):
    h, steps = h0, []
    for t in range(x.shape[0]):
        h = act(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        steps.append(h)
        if detach:
            h = h.detach()
    return torch.stack(steps), h


def _output_mistakes(x, h0, W_ih, W_hh, b_ih, b_hh):
    zero = torch.zeros_like(b_ih)
    one_bias = "Sapmalardan yalnızca biri eklenmiş: PyTorch'ta iki sapma vardır, b_ih ve b_hh'nin ikisi de eklenmeli."
    return [
        (one_bias, lambda: _loop(x, h0, W_ih, W_hh, b_ih, zero)[0]),
        (one_bias, lambda: _loop(x, h0, W_ih, W_hh, zero, b_hh)[0]),
        ("Ağırlık matrisleri devriksiz (transpose) kullanılmış: PyTorch ağırlıkları (çıkış, giriş) şeklinde saklar, "
         "yığınla çarpım x_t @ W_ih.T ve h @ W_hh.T olmalı.",
         lambda: _loop(x, h0, W_ih.T, W_hh.T, b_ih, b_hh)[0] if W_ih.shape[0] == W_ih.shape[1] else None),
        ("W_hh devriksiz kullanılmış (h @ W_hh): W_hh (çıkış, giriş) şeklinde saklanır, kare olduğu için şekil hatası "
         "vermez ama sonuç yanlıştır; h @ W_hh.T yazın.", lambda: _loop(x, h0, W_ih, W_hh.T, b_ih, b_hh)[0]),
        ("Aktivasyon fonksiyonu tanh olmalı (ReLU değil).",
         lambda: _loop(x, h0, W_ih, W_hh, b_ih, b_hh, torch.relu)[0]),
        ("Aktivasyon fonksiyonu tanh olmalı (sigmoid değil).",
         lambda: _loop(x, h0, W_ih, W_hh, b_ih, b_hh, torch.sigmoid)[0]),
        ("Verilen h0 kullanılmamış, dizi sıfır durumdan başlamış: döngüye h = h0 ile başlayın.",
         lambda: _loop(x, torch.zeros_like(h0), W_ih, W_hh, b_ih, b_hh)[0]),
        ("Her adımda h0 kullanılmış: bir adımın gizli durumu bir sonraki adıma aktarılmalı (h = tanh(...) ile h'yi "
         "güncelleyin).", lambda: torch.stack([torch.tanh(x[t] @ W_ih.T + b_ih + h0 @ W_hh.T + b_hh)
                                               for t in range(x.shape[0])])),
    ]


def _check_rnn_forward(student, T, N, I, H, seed, what):
    x, h0 = _inputs(seed, T, N, I, H)
    W_ih, W_hh, b_ih, b_hh = _params(seed, I, H)
    got = pair(call(student, "rnn_forward", x, h0, W_ih, W_hh, b_ih, b_hh,
                    hint="Ağırlıklar (çıkış, giriş) şeklinde: çarpım x_t @ W_ih.T ve h @ W_hh.T."), what)
    outs, h_last = got
    expected_out, expected_h = _nn_rnn(x, h0, W_ih, W_hh, b_ih, b_hh)
    if not isinstance(outs, torch.Tensor) or not isinstance(h_last, torch.Tensor):
        fail(f"{what}: outputs ve h_T tensör olmalı (adımları bir listede toplayıp `torch.stack` ile birleştirin), "
             f"ama {describe_value(outs)} ve {describe_value(h_last)} geldi.")
    if tuple(outs.shape) == tuple(expected_h.shape) and tuple(h_last.shape) == tuple(expected_out.shape) and T > 1:
        fail(f"{what}: sonuçların sırası ters: önce outputs (T, N, H), sonra h_T (N, H) döndürün.")
    if outs.dtype != x.dtype or h_last.dtype != x.dtype:
        fail(f"{what}: sonuçlar girdiler gibi {str(x.dtype).removeprefix('torch.')} olmalıydı, ama "
             f"{str(outs.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")
    expect_close(outs, expected_out, what=f"{what}: outputs", hint=FORMULA,
                 mistakes=[("`.squeeze()` T, N ya da H 1 iken o eksenleri de siler: outputs her zaman (T, N, H) "
                            "şeklinde olmalı; torch.stack(adımlar) sonucunu olduğu gibi döndürün.",
                            expected_out.squeeze())] + _output_mistakes(x, h0, W_ih, W_hh, b_ih, b_hh))
    expect_close(h_last, expected_h, what=f"{what}: h_T",
                 hint="h_T, son zaman adımının gizli durumu (outputs[-1]) olmalı.",
                 mistakes=[("h_T olarak h0 döndürülmüş: son adımın gizli durumunu döndürün.", h0),
                           ("h_T olarak ilk adımın gizli durumu döndürülmüş: son adımınkini (outputs[-1]) döndürün.",
                            expected_out[0])])


@grade("rnn_forward_test", weight=3)
def test_rnn_forward_matches_nn_rnn(student):
    _check_rnn_forward(student, T=6, N=3, I=4, H=5, seed=1, what="rnn_forward (T=6, N=3, I=4, H=5)")


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_square_weights_and_one_step(student):
    # I == H: transposed weights raise no shape error, only the values tell.
    _check_rnn_forward(student, T=4, N=2, I=3, H=3, seed=2, what="rnn_forward (I = H = 3)")
    _check_rnn_forward(student, T=1, N=1, I=2, H=3, seed=3, what="rnn_forward (tek zaman adımı, T=1, N=1)")


DTYPE_HINT = ("Girdilerin veri türünü koruyun: float32 girdiler float32 sonuç vermeli. Girdileri başka bir türe "
              "çevirmeyin (`.double()`) ve yeni tensörleri `dtype=x.dtype` ile oluşturun.")


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_float32_and_noncontiguous_x(student):
    # x arrives as a batch-first batch turned sequence-first with transpose(0, 1): a non-contiguous view.
    T, N, I, H = 5, 3, 2, 4
    x, h0 = _inputs(7, T, N, I, H)
    params = _params(7, I, H, torch.float32)
    x32, h032 = x.float(), h0.float()
    x_handle = student.call_method(student.put(x32.transpose(0, 1).contiguous()), "transpose", 0, 1, keep=True)
    what = "rnn_forward (float32 girdiler, x = x_bf.transpose(0, 1): bitişik olmayan bir görünüm)"
    outs, h_last = pair(call(student, "rnn_forward", x_handle, h032, *params, what=what), what)
    expected_out, expected_h = _nn_rnn(x32, h032, *params)
    for label, got, want in (("outputs", outs, expected_out), ("h_T", h_last, expected_h)):
        if not isinstance(got, torch.Tensor):
            fail(f"{what}: {label} bir tensör olmalı.")
        if got.dtype != torch.float32:
            fail(f"{what}: {label} float32 olmalıydı, ama {str(got.dtype).removeprefix('torch.')} geldi. {DTYPE_HINT}")
        expect_close(got, want, tol=1e-5, what=f"{what}: {label}", hint=FORMULA)


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_leaves_inputs_unchanged(student):
    T, N, I, H = 4, 2, 3, 3
    x, h0 = _inputs(8, T, N, I, H)
    params = _params(8, I, H)
    handles = [student.put(t.clone()) for t in (x, h0, *params)]
    what = "rnn_forward (T=4, N=2, I=H=3)"
    outs, h_last = pair(call(student, "rnn_forward", *handles, what=what), what)
    expected_out, expected_h = _nn_rnn(x, h0, *params)
    expect_close(outs, expected_out, what=f"{what}: outputs", hint=FORMULA)
    expect_close(h_last, expected_h, what=f"{what}: h_T")
    for label, handle, original in zip(("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"), handles, (x, h0, *params)):
        expect_unchanged(student, handle, original, what=f"rnn_forward ({label})",
                         message=f"rnn_forward verilen `{label}` tensörünü değiştirdi: `h = h0` ile başlayıp "
                                 "`h += ...` ya da `h.mul_(...)` gibi yerinde (in-place) işlemler çağıranın tensörünü "
                                 "bozar; her adımda yeni bir tensör üretin (`h = torch.tanh(...)`).")


NO_GRAPH = ("rnn_forward'un sonucu hesap grafiğine bağlı değil, gradyan ağırlıklara ulaşamıyor: döngüyü "
            "`torch.no_grad()` içine almayın, sonucu `.detach()` etmeyin ya da NumPy'a çevirmeyin. TSA zamanda geri "
            "yayılımla (BPTT) eğitilir; gradyan her adımdan geriye akabilmeli.")
CUT_IN_TIME = ("gradyan zaman içinde geriye akmıyor: gizli durum her adımdan sonra `.detach()` ile grafikten "
               "ayrılmış, bu yüzden her adımın gradyanı yalnızca kendi adımında kalıyor (BPTT kesilmiş). Adımlar "
               "arasında `detach` kullanmayın; kesme yalnızca eğitim döngüsünde, parçalar arasında yapılır.")


def _reference_grads(x, h0, params, r_out, r_last, detach=False):
    leaves = [t.clone().requires_grad_(True) for t in (h0, *params)]
    outs, h_last = _loop(x, leaves[0], *leaves[1:], detach=detach)
    ((outs * r_out).sum() + (h_last * r_last).sum()).backward()
    return [leaf.grad for leaf in leaves]


@grade("rnn_forward_test", weight=2)
def test_rnn_forward_backpropagates_through_time(student):
    T, N, I, H = 5, 2, 3, 4
    x, h0 = _inputs(9, T, N, I, H)
    params = _params(9, I, H)
    g = torch.Generator().manual_seed(19)
    r_out = torch.randn(T, N, H, generator=g, dtype=torch.float64)
    r_last = torch.randn(N, H, generator=g, dtype=torch.float64)
    what = "rnn_forward (h0 ve ağırlıklar requires_grad=True iken)"
    x_handle = student.put(x)
    leaves = [student.call_method(student.put(t.clone()), "requires_grad_", True, keep=True) for t in (h0, *params)]
    result = call(student, "rnn_forward", x_handle, *leaves, keep=True, what=what)
    outs, h_last = tuple_items(student, result, 2, what)
    # A right result first: gradients of a wrong recurrence name nothing useful.
    expected_out, expected_h = _nn_rnn(x, h0, *params)
    expect_close(student.get(outs), expected_out, what=f"{what}: outputs", hint=FORMULA)
    expect_close(student.get(h_last), expected_h, what=f"{what}: h_T")
    if not (student.describe(outs).get("tensor") or {}).get("requires_grad"):
        fail(f"{what}: {NO_GRAPH}")
    try:
        a = student.call_method(student.call_method(outs, "mul", r_out, keep=True), "sum", keep=True)
        b = student.call_method(student.call_method(h_last, "mul", r_last, keep=True), "sum", keep=True)
        student.call_method(student.call_method(a, "add", b, keep=True), "backward")
    except StudentCodeError as error:
        fail(f"{what}: sonuçtan geri yayılım yapılamadı ({error.type}: {error.message[:160]}). {NO_GRAPH}")
    want = _reference_grads(x, h0, params, r_out, r_last)
    cut = _reference_grads(x, h0, params, r_out, r_last, detach=True)
    for i, label in enumerate(("h0", "W_ih", "W_hh", "b_ih", "b_hh")):
        grad = student.get(leaves[i], "grad")
        if grad is None:
            fail(f"{what}: {label}.grad boş (None): gradyan {label}'a ulaşmadı. {NO_GRAPH}")
        expect_close(grad, want[i], tol=1e-8, what=f"{what}: {label}'ın gradyanı",
                     mistakes=[(CUT_IN_TIME, cut[i])],
                     hint="Gradyan, autograd'ın bu formülden hesapladığıyla aynı olmalı: " + FORMULA)


DEVICE_HINT = ("Fonksiyon girdileri hangi cihazdaysa orada çalışmalı: yeni tensörleri `device=x.device` (ve "
               "`dtype=x.dtype`) ile oluşturun, hiçbir tensörü başka bir cihaza (ör. defterin genel `device` "
               "değişkenine ya da `.cpu()` ile) taşımayın.")


def _run_with_inputs_on_device(student, fn, tensors, what, hint):
    """``fn`` called with ``tensors`` on the check device; the result's handle. A device error fails with
    ``hint``; an op the simulation cannot run skips the check."""
    try:
        return call_with_inputs_on_device(student, fn, *tensors, what=what, hint=hint)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_stays_on_device(student):
    x, _ = _inputs(4, 3, 2, 4, 5)
    h0 = torch.zeros(2, 5, dtype=torch.float64)
    params = _params(4, 4, 5)
    _check_rnn_forward(student, T=3, N=2, I=4, H=5, seed=4, what="rnn_forward (T=3, N=2, I=4, H=5)")
    result = _run_with_inputs_on_device(student, "rnn_forward", (x, h0, *params), "rnn_forward", DEVICE_HINT)
    outs, h_last = tuple_items(student, result, 2, "rnn_forward(...)")
    expect_tensor_on_device(student, outs, (3, 2, 5), "rnn_forward(...) outputs")
    expect_tensor_on_device(student, h_last, (2, 5), "rnn_forward(...) h_T")
    expect_no_hardcoded_device(student, {"rnn_forward"})


RNN_BUILTINS = {"RNN", "RNNCell", "rnn_tanh", "rnn_tanh_cell", "rnn_relu", "rnn_relu_cell", "_VF", "LSTM", "GRU",
                "LSTMCell", "GRUCell"}


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_written_step_by_step(student):
    _check_rnn_forward(student, T=3, N=2, I=2, H=3, seed=5, what="rnn_forward (T=3, N=2, I=2, H=3)")
    used = builtin_uses(student.source, {"rnn_forward"}, RNN_BUILTINS)
    if used:
        fail("rnn_forward formülü adım adım, bir for döngüsüyle uygulamalı; hazır TSA katmanları kullanılmamalı, "
             "ama şunlar kullanılmış: " + ", ".join(f"`{u}`" for u in used[:4]) + ".")


# ---------------------------------------------------------------------------- 2. variants

def _build(student, cls, I, H, O, batch_first):
    what = f"{cls}({I}, {H}, {O}, batch_first={batch_first})"
    model = call(student, cls, I, H, O, batch_first=batch_first, keep=True)
    params = parameter_arrays(student, model, what)
    expected = {"rnn.weight_ih_l0": (H, I), "rnn.weight_hh_l0": (H, H), "rnn.bias_ih_l0": (H,),
                "rnn.bias_hh_l0": (H,), "head.weight": (O, H), "head.bias": (O,)}
    shapes = {name: tuple(v.shape) for name, v in params.items()}
    if shapes != expected:
        fail(f"{what}: parametreler {expected} olmalıydı (tek katmanlı `self.rnn = nn.RNN(...)` ve "
             f"`self.head = nn.Linear(hidden_size, output_size)`), ama {shapes} bulundu.")
    if student.get(model, "rnn.batch_first") is not batch_first:
        fail(f"{what}: self.rnn'in batch_first ayarı {batch_first} olmalıydı: parametreyi nn.RNN'e iletin "
             "(`nn.RNN(..., batch_first=batch_first)`), sabit yazmayın.")
    if student.get(model, "rnn.nonlinearity") != "tanh":
        fail(f"{what}: self.rnn tanh kullanmalı (nn.RNN'in varsayılanı).")
    return model, params


def _reference_forward(params, x, batch_first, h0=None):
    """(out_all_steps_after_head, h_n) in float64 for a single-layer tanh RNN plus a linear head."""
    W_ih, W_hh = torch.tensor(params["rnn.weight_ih_l0"]), torch.tensor(params["rnn.weight_hh_l0"])
    b_ih, b_hh = torch.tensor(params["rnn.bias_ih_l0"]), torch.tensor(params["rnn.bias_hh_l0"])
    xs = x.double() if not batch_first else x.double().transpose(0, 1)
    start = torch.zeros(xs.shape[1], W_hh.shape[0], dtype=torch.float64) if h0 is None else h0.double()[0]
    out, h_n = _nn_rnn(xs, start, W_ih, W_hh, b_ih, b_hh)
    y = out @ torch.tensor(params["head.weight"]).T + torch.tensor(params["head.bias"])
    if batch_first:
        y = y.transpose(0, 1)
    return y, h_n.unsqueeze(0)


LAST_HINT = ("Son zaman adımı batch_first=True iken out[:, -1], False iken out[-1]'dir; self.rnn.batch_first'e göre "
             "seçin (ya da h_n[-1]'i kullanın).")


def _check_many_to_one(student, batch_first, N=4):
    T, I, H, O = 6, 3, 7, 2
    model, params = _build(student, "ManyToOneRNN", I, H, O, batch_first)
    g = torch.Generator().manual_seed(5 + N)
    x = torch.randn(N, T, I, generator=g) if batch_first else torch.randn(T, N, I, generator=g)
    layout = "(N, T, I)" if batch_first else "(T, N, I)"
    what = f"ManyToOneRNN(batch_first={batch_first}) {layout} = {tuple(x.shape)} girdiyle"
    got = call(student, model, x, contexts=["no_grad"])
    y_all, _ = _reference_forward(params, x, batch_first)
    expected = y_all[:, -1] if batch_first else y_all[-1]
    shape = tuple(getattr(got, "shape", ()))
    if shape != (N, O):
        squeeze = (" `.squeeze()` tek dizilik bir yığında (N = 1) yığın eksenini de siler: h_n[-1] ya da "
                   "out[:, -1] / out[-1] kullanın." if N == 1 and len(shape) < 2 else "")
        fail(f"{what}: çıktı (N, output_size) = {(N, O)} olmalıydı, ama {shape} geldi.{squeeze or ' ' + LAST_HINT}")
    first = y_all[:, 0] if batch_first else y_all[0]
    expect_close(got, expected, tol=1e-5, what=what, hint=LAST_HINT, mistakes=[
        ("çıktı İLK zaman adımından hesaplanmış: çoktan-bire model dizinin SON adımını kullanır. " + LAST_HINT, first),
        ("gizli durumların zaman boyunca ortalaması alınmış: çoktan-bire model yalnızca son adımın gizli durumunu "
         "self.head'e verir.", lambda: _mean_pool(params, x, batch_first)),
        ("self.head'in çıktısı bir aktivasyondan (sigmoid) geçirilmiş: çıkış katmanının sonucu olduğu gibi "
         "döndürülmeli.", torch.sigmoid(expected)),
    ])


def _mean_pool(params, x, batch_first):
    W_ih, W_hh = torch.tensor(params["rnn.weight_ih_l0"]), torch.tensor(params["rnn.weight_hh_l0"])
    b_ih, b_hh = torch.tensor(params["rnn.bias_ih_l0"]), torch.tensor(params["rnn.bias_hh_l0"])
    xs = x.double() if not batch_first else x.double().transpose(0, 1)
    out, _ = _nn_rnn(xs, torch.zeros(xs.shape[1], W_hh.shape[0], dtype=torch.float64), W_ih, W_hh, b_ih, b_hh)
    return out.mean(dim=0) @ torch.tensor(params["head.weight"]).T + torch.tensor(params["head.bias"])


@grade("rnn_variants_test", weight=1)
def test_many_to_one_batch_first(student):
    _check_many_to_one(student, batch_first=True)


@grade("rnn_variants_test", weight=1)
def test_many_to_one_sequence_first(student):
    _check_many_to_one(student, batch_first=False)


@grade("rnn_variants_test", weight=1)
def test_many_to_one_single_sequence(student):
    _check_many_to_one(student, batch_first=True, N=1)
    _check_many_to_one(student, batch_first=False, N=1)


H0_BATCH_HINT = ("h0'ı kendiniz oluşturuyorsanız yığın boyutu N, batch_first=True iken x.size(0), False iken "
                 "x.size(1)'dir; h0 her zaman (1, N, hidden_size) şeklindedir. En kolayı h0=None'ı olduğu gibi "
                 "self.rnn'e vermektir.")


@grade("rnn_variants_test", weight=2)
def test_many_to_many_values_and_h0(student):
    N, T, I, H, O = 3, 5, 2, 6, 4
    for batch_first in (True, False):
        model, params = _build(student, "ManyToManyRNN", I, H, O, batch_first)
        g = torch.Generator().manual_seed(6)
        x = torch.randn(N, T, I, generator=g) if batch_first else torch.randn(T, N, I, generator=g)
        h0 = torch.randn(1, N, H, generator=g) * 0.5
        for start in (None, h0):
            what = (f"ManyToManyRNN(batch_first={batch_first})" + (" h0 verilerek" if start is not None else ""))
            args = (x,) if start is None else (x, start)
            got = call(student, model, *args, contexts=["no_grad"], what=what, hint=H0_BATCH_HINT)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                fail(f"{what}: forward bir (y, h_n) ikilisi döndürmeli.")
            y, h_n = got
            y_ref, h_ref = _reference_forward(params, x, batch_first, start)
            ignored = "verilen h0 kullanılmamış, dizi sıfırdan başlamış: self.rnn(x, h0) ile diziyi h0'dan başlatın."
            zero_start = _reference_forward(params, x, batch_first) if start is not None else (None, None)
            expect_close(y, y_ref, tol=1e-5, what=f"{what}: y",
                         hint="self.head'i her zaman adımının çıktısına uygulayın (out'un tamamına).",
                         mistakes=[(ignored, zero_start[0]),
                                   ("self.head'in çıktısı bir aktivasyondan geçirilmiş: çıkış katmanının sonucu "
                                    "olduğu gibi döndürülmeli.", torch.sigmoid(y_ref))])
            expect_close(h_n, h_ref, tol=1e-5, what=f"{what}: h_n",
                         hint="h_n, nn.RNN'in döndürdüğü son gizli durumdur: (1, N, hidden_size).",
                         mistakes=[(ignored, zero_start[1])])


@grade("rnn_variants_test", weight=1)
def test_variants_run_on_device(student):
    dev = check_device()
    for cls, batch_first in (("ManyToOneRNN", True), ("ManyToManyRNN", True), ("ManyToManyRNN", False)):
        model = call(student, cls, 3, 5, 2, batch_first=batch_first, keep=True)
        student.call_method(model, "to", dev)
        shape = (4, 6, 3) if batch_first else (6, 4, 3)
        x = put_on_device(student, torch.randn(*shape))
        what = f"{cls}(batch_first={batch_first}).forward"
        try:
            result = run_on_device(student, model, x, device_arg=None, keep=True, contexts=["no_grad"], what=what)
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
        except StudentCodeError as error:
            if error.type == "NotImplementedError":
                raise
            fail(error_text(f"{what} (cihaz denemesinde)", error, H0_BATCH_HINT))
        if cls == "ManyToOneRNN":
            expect_tensor_on_device(student, result, (4, 2), what)
        else:
            y, h_n = tuple_items(student, result, 2, what)
            expect_tensor_on_device(student, y, (4, 6, 2) if batch_first else (6, 4, 2), f"{what}: y")
            expect_tensor_on_device(student, h_n, (1, 4, 5), f"{what}: h_n")
            # h0 given on the device too: it must be used where it is.
            h0 = put_on_device(student, torch.zeros(1, 4, 5))
            try:
                result = run_on_device(student, model, x, h0, device_arg=None, keep=True, contexts=["no_grad"],
                                       what=f"{what} (h0 verilerek)")
            except DeviceSimulationUnsupported as gap:
                not_simulated(gap)
            except StudentCodeError as error:
                if error.type == "NotImplementedError":
                    raise
                fail(error_text(f"{what} (h0 verilerek, cihaz denemesinde)", error, H0_BATCH_HINT))
            y, h_n = tuple_items(student, result, 2, f"{what} (h0 verilerek)")
            expect_tensor_on_device(student, h_n, (1, 4, 5), f"{what} (h0 verilerek): h_n")
    expect_no_hardcoded_device(student, {"ManyToOneRNN", "ManyToManyRNN"})


# ---------------------------------------------------------------------------- 3. truncated BPTT

def _tbptt_reference(params, series, chunk_len, epochs, lr, *, reset=True, carry=True, shift=True, drop_last=False,
                     zero_grad=True, step_first=False, record="mean", optimizer="SGD"):
    """The loop of the notebook on nn.RNN(1, 1, batch_first=True) in float32, as the student runs it; the keywords
    replay the usual mistakes. Returns (history, trained parameters)."""
    model = nn.RNN(1, 1, batch_first=True)
    with torch.no_grad():
        for name, value in params.items():
            getattr(model, name).copy_(torch.tensor(value, dtype=torch.float32))
    s = torch.tensor(np.asarray(series), dtype=torch.float32)
    x = s[:-1].reshape(1, -1, 1)
    y = (s[1:] if shift else s[:-1]).reshape(1, -1, 1)
    steps = x.shape[1]
    starts = range(0, steps - chunk_len + 1, chunk_len) if drop_last else range(0, steps, chunk_len)
    opt = getattr(torch.optim, optimizer)(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    history, h = [], None
    for _ in range(epochs):
        if reset:
            h = None
        losses, lengths = [], []
        for start in starts:
            if zero_grad:
                opt.zero_grad()
            out, h_new = model(x[:, start:start + chunk_len], h if carry else None)
            loss = loss_fn(out, y[:, start:start + chunk_len])
            if step_first:
                opt.step()
                loss.backward()
            else:
                loss.backward()
                opt.step()
            h = h_new.detach()
            losses.append(loss.item())
            lengths.append(out.shape[1])
        if not losses:
            history.append(float("nan"))
        elif record == "last":
            history.append(losses[-1])
        elif record == "sum":
            history.append(sum(losses))
        elif record == "weighted":
            history.append(sum(l * n for l, n in zip(losses, lengths)) / sum(lengths))
        else:
            history.append(sum(losses) / len(losses))
    return history, {n: p.detach().double().numpy() for n, p in model.named_parameters()}


DETACH_HINT = ("Her parçadan sonra taşınan gizli durumu hesap grafiğinden ayırın: `h = h.detach()`. Yoksa bir sonraki "
               "`loss.backward()` önceki parçanın grafiğinden de geçmeye çalışır.")
SERIES_HINT = ("series bir NumPy dizisi (float64) ya da tensör olabilir: ikisini de `torch.as_tensor(series, "
               "dtype=torch.float32)` ile float32 bir tensöre çevirin (modelin ağırlıkları float32).")

#: (keywords of _tbptt_reference, message): the usual mistakes of the loop, tried in this order.
TBPTT_MISTAKES = [
    (dict(reset=False), "gizli durum dönemler arasında sıfırlanmamış: her dönemin başında `h = None` yazın; dönem "
                        "dizinin başından başlar, önceki dönemin son durumu onunla ilgisizdir."),
    (dict(carry=False), "gizli durum parçadan parçaya taşınmamış (her parça sıfırdan başlıyor): bir parçanın son "
                        "durumunu `out, h = model(x_parça, h)` ile bir sonrakine verin."),
    (dict(drop_last=True), "yalnız tam uzunluktaki parçalar kullanılmış, daha kısa son parça atlanmış: parçaları "
                           "range(0, L - 1, chunk_len) ile alın; son parça daha kısa olabilir."),
    (dict(record="last"), "dönem kaybı olarak yalnız son parçanın kaybı kaydedilmiş: dönemdeki bütün parça "
                          "kayıplarının ortalamasını alın."),
    (dict(record="weighted"), "parça kayıpları parça uzunluğuyla ağırlıklandırılmış: metin parça kayıplarının düz "
                              "ortalamasını (loss.item() değerlerinin ortalaması) ister."),
    (dict(record="sum"), "dönem kaybı parça kayıplarının toplamı olarak kaydedilmiş: toplamı parça sayısına bölüp "
                         "ortalamasını alın."),
    (dict(optimizer="Adam"), "eniyileyici olarak Adam kullanılmış: metin torch.optim.SGD(model.parameters(), lr=lr) "
                             "ister."),
    (dict(zero_grad=False), "gradyanlar sıfırlanmamış, parçalar boyunca birikiyor: her parçada önce "
                            "`optimizer.zero_grad()` çağırın."),
    (dict(step_first=True), "eniyileyici adımı geri yayılımdan önce atılmış: sıra zero_grad → model → kayıp → "
                            "backward → step olmalı."),
    (dict(lr=0.05), "lr argümanı kullanılmamış (varsayılan 0.05 ile eğitilmiş): `torch.optim.SGD(model.parameters(), "
                    "lr=lr)` yazın."),
    (dict(shift=False), "hedefler kaydırılmamış: girdiler series[:-1], hedefler series[1:] olmalı (her adımda bir "
                        "SONRAKİ değer tahmin edilir)."),
]


def _tbptt_error(what, exc):
    text = exc.message
    if "backward through the graph a second time" in text or "modified by an inplace operation" in text:
        fail(f"{what}: eğitim ikinci parçada hata verdi ({exc.type}: {text[:160]}…). {DETACH_HINT}")
    if "dtype" in text or "has no attribute 'float'" in text or "has no attribute 'to'" in text or \
            "expected np.ndarray" in text:
        fail(error_text(what, exc, SERIES_HINT))
    fail(error_text(what, exc, "model(x, h) -> (y, h_n): x ve y (1, T, 1) şeklinde, h bir tensör ya da None."))


def _check_tbptt(student, length, chunk_len, epochs, lr, what, as_tensor=False):
    model = student.call_method("nn", "RNN", 1, 1, batch_first=True, keep=True)
    params = {n.split(".")[-1]: v for n, v in parameter_arrays(student, model, "nn.RNN(1, 1)").items()}
    series = 0.8 * np.sin(0.35 * np.arange(length))
    if as_tensor:
        series = torch.tensor(series, dtype=torch.float64)
    try:
        history = student.call("train_tbptt", model, series, chunk_len, epochs=epochs, lr=lr, device="cpu")
    except StudentCodeError as exc:
        if exc.type == "NotImplementedError":
            raise
        _tbptt_error(what, exc)
    if not isinstance(history, list) or len(history) != epochs:
        fail(f"{what}: her dönem için bir ortalama kayıp içeren {epochs} ögeli bir liste bekleniyordu.")
    if not all(isinstance(v, float) for v in history):
        fail(f"{what}: kayıplar Python float olmalı (`loss.item()`).")
    got = {n.split(".")[-1]: v for n, v in parameter_arrays(student, model, "nn.RNN(1, 1)").items()}
    ref_hist, ref_params = _tbptt_reference(params, series, chunk_len, epochs, lr)

    def matches(hist, ps):
        return close(history, hist, 1e-4) and all(close(got[n], ps[n], 1e-4) for n in ps)

    if matches(ref_hist, ref_params):
        return
    for keywords, message in TBPTT_MISTAKES:
        variant = _tbptt_reference(params, series, chunk_len, epochs, **{"lr": lr, **keywords})
        if not matches(*variant) or (close(variant[0], ref_hist, 1e-4)
                                     and all(close(variant[1][n], ref_params[n], 1e-4) for n in ref_params)):
            continue
        fail(f"{what}: {message}")
    n_chunks = -(-(length - 1) // chunk_len)
    hint = (f"Girdiler series[:-1], hedefler series[1:], şekil (1, L - 1, 1); zaman ekseni {chunk_len} adımlık "
            f"ardışık parçalara bölünmeli (burada {n_chunks} parça, sonuncusu daha kısa olabilir); her parça için bir "
            "SGD adımı; dönem kaybı parça kayıplarının ortalaması.")
    expect_close(history, ref_hist, tol=1e-4, what=f"{what}: dönem kayıpları", hint=hint)
    for name in ref_params:
        expect_close(got[name], ref_params[name], tol=1e-4, what=f"{what}: eğitilmiş {name}", hint=hint)


@grade("tbptt_test", weight=3)
def test_tbptt_matches_reference(student):
    _check_tbptt(student, length=41, chunk_len=8, epochs=3, lr=0.1,
                 what="train_tbptt(nn.RNN(1, 1), 41 değer, chunk_len=8, epochs=3)")


@grade("tbptt_test", weight=1)
def test_tbptt_uneven_last_chunk(student):
    _check_tbptt(student, length=23, chunk_len=5, epochs=2, lr=0.2,
                 what="train_tbptt(nn.RNN(1, 1), 23 değer, chunk_len=5: son parça 2 adım)")


@grade("tbptt_test", weight=1)
def test_tbptt_accepts_tensor_series(student):
    _check_tbptt(student, length=15, chunk_len=4, epochs=2, lr=0.2, as_tensor=True,
                 what="train_tbptt(nn.RNN(1, 1), float64 tensör olarak 15 değer, chunk_len=4)")


@grade("tbptt_test", weight=1)
def test_tbptt_runs_on_device(student):
    model = student.call_method("nn", "RNN", 1, 1, batch_first=True, keep=True)
    series = np.sin(0.5 * np.arange(9))
    what = "train_tbptt(nn.RNN(1, 1), 9 değer, chunk_len=4, epochs=1, device=device)"
    try:
        history, counts = run_explained_on_device(student, "train_tbptt", model, series, 4, epochs=1, lr=0.1,
                                                  what=what, counting=True, model=model)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except CheckFailed as failure:
        if "backward through the graph a second time" in str(failure):
            fail(f"{what}: ikinci parçada geri yayılım hata verdi. {DETACH_HINT}")
        raise
    if not isinstance(history, list) or len(history) != 1:
        fail(f"{what}: her dönem için bir kayıp içeren bir liste döndürmeli.")
    expect_device_agnostic(student, ["train_tbptt"])
    expect_on_device(student, model, what=f"{what}: model")
    expect_ops_on_device(counts, what=what)
