"""Hidden checks for 01_recurrent_units.ipynb (RNN cell from scratch, RNN variants, truncated BPTT).

References are computed here with PyTorch's own layers (nn.RNN with the same weights copied in), in float64
where the student's function works in float64.
"""
import numpy as np
import torch
from torch import nn

from autograder.checks import call, close, expect_close, fail, grade, StudentCodeError
from autograder.device import expect_on_device, run_on_device
from autograder.checks.inputs import put_on_device
from autograder.checks.objects import parameter_arrays, tuple_items
from autograder.device import check_device, expect_no_hardcoded_device, expect_tensor_on_device


def pair(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(f"{what}: iki ögeli bir demet (tuple) bekleniyordu: (outputs, h_T).")
    return value


# ---------------------------------------------------------------------------- 1. rnn_forward

def _params(seed, I, H):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(H, I, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(H, H, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(H, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(H, generator=g, dtype=torch.float64) * 0.5]


def _nn_rnn(x, h0, W_ih, W_hh, b_ih, b_hh):
    """(outputs, h_T) of nn.RNN with these weights copied in, in float64."""
    rnn = nn.RNN(W_ih.shape[1], W_ih.shape[0]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(rnn, name).copy_(value)
        out, h_n = rnn(x, h0.unsqueeze(0))
    return out, h_n[0]


def _loop(x, h0, W_ih, W_hh, b_ih, b_hh, act=torch.tanh):
    h, steps = h0, []
    for t in range(x.shape[0]):
        h = act(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        steps.append(h)
    return torch.stack(steps), h


def _check_rnn_forward(student, T, N, I, H, seed, what):
    g = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(T, N, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64) * 0.5
    W_ih, W_hh, b_ih, b_hh = _params(seed, I, H)
    got = pair(call(student, "rnn_forward", x, h0, W_ih, W_hh, b_ih, b_hh,
                    hint="Ağırlıklar (çıkış, giriş) şeklinde: çarpım x_t @ W_ih.T ve h @ W_hh.T."), what)
    outs, h_last = got
    expected_out, expected_h = _nn_rnn(x, h0, W_ih, W_hh, b_ih, b_hh)
    if close(outs, expected_out) and close(h_last, expected_h):
        return
    zero = torch.zeros_like(b_ih)
    hint = "h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh), t = 1..T."
    if close(outs, _loop(x, h0, W_ih, W_hh, b_ih, zero)[0]) or close(outs, _loop(x, h0, W_ih, W_hh, zero, b_hh)[0]):
        hint = "Sapmalardan yalnızca biri eklenmiş: PyTorch'ta iki sapma vardır, b_ih ve b_hh'nin ikisi de eklenmeli."
    elif I == H and close(outs, _loop(x, h0, W_ih.T, W_hh.T, b_ih, b_hh)[0]):
        hint = ("Ağırlık matrisleri devriksiz (transpose) kullanılmış: PyTorch ağırlıkları (çıkış, giriş) şeklinde "
                "saklar, yığınla çarpım x_t @ W_ih.T ve h @ W_hh.T olmalı.")
    elif close(outs, _loop(x, h0, W_ih, W_hh, b_ih, b_hh, torch.relu)[0]):
        hint = "Aktivasyon fonksiyonu tanh olmalı (ReLU değil)."
    elif close(outs, expected_out) and close(h_last, h0):
        hint = "h_T olarak h0 döndürülmüş: son adımın gizli durumunu döndürün."
    expect_close(outs, expected_out, what=f"{what}: outputs", hint=hint)
    expect_close(h_last, expected_h, what=f"{what}: h_T",
                 hint="h_T, son zaman adımının gizli durumu (outputs[-1]) olmalı.")


@grade("rnn_forward_test", weight=3)
def test_rnn_forward_matches_nn_rnn(student):
    _check_rnn_forward(student, T=6, N=3, I=4, H=5, seed=1, what="rnn_forward (T=6, N=3, I=4, H=5)")


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_square_weights_and_one_step(student):
    # I == H: transposed weights raise no shape error, only the values tell.
    _check_rnn_forward(student, T=4, N=2, I=3, H=3, seed=2, what="rnn_forward (I = H = 3)")
    _check_rnn_forward(student, T=1, N=1, I=2, H=3, seed=3, what="rnn_forward (tek zaman adımı, T=1)")


@grade("rnn_forward_test", weight=1)
def test_rnn_forward_stays_on_device(student):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 2, 4, generator=g, dtype=torch.float64)
    h0 = torch.zeros(2, 5, dtype=torch.float64)
    handles = [put_on_device(student, t) for t in (x, h0, *_params(4, 4, 5))]
    result = run_on_device(student, "rnn_forward", *handles, device_arg=None, keep=True, what="rnn_forward")
    outs, h_last = tuple_items(student, result, 2, "rnn_forward(...)")
    expect_tensor_on_device(student, outs, (3, 2, 5), "rnn_forward(...) outputs")
    expect_tensor_on_device(student, h_last, (2, 5), "rnn_forward(...) h_T")
    expect_no_hardcoded_device(student, {"rnn_forward"})


# ---------------------------------------------------------------------------- 2. variants

RNN_NAMES = ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias")


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


def _check_many_to_one(student, batch_first):
    N, T, I, H, O = 4, 6, 3, 7, 2
    model, params = _build(student, "ManyToOneRNN", I, H, O, batch_first)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(N, T, I, generator=g) if batch_first else torch.randn(T, N, I, generator=g)
    layout = "(N, T, I)" if batch_first else "(T, N, I)"
    what = f"ManyToOneRNN(batch_first={batch_first}) {layout} = {tuple(x.shape)} girdiyle"
    got = call(student, model, x, contexts=["no_grad"])
    y_all, _ = _reference_forward(params, x, batch_first)
    expected = y_all[:, -1] if batch_first else y_all[-1]
    last_hint = ("Son zaman adımı batch_first=True iken out[:, -1], False iken out[-1]'dir; self.rnn.batch_first'e "
                 "göre seçin.")
    if tuple(getattr(got, "shape", ())) != (N, O):
        fail(f"{what}: çıktı (N, output_size) = {(N, O)} olmalıydı, ama {tuple(getattr(got, 'shape', ()))} geldi. "
             + last_hint)
    expect_close(got, expected, tol=1e-5, what=what, hint=last_hint)


@grade("rnn_variants_test", weight=1)
def test_many_to_one_batch_first(student):
    _check_many_to_one(student, batch_first=True)


@grade("rnn_variants_test", weight=1)
def test_many_to_one_sequence_first(student):
    _check_many_to_one(student, batch_first=False)


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
            got = call(student, model, *args, contexts=["no_grad"])
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                fail(f"{what}: forward bir (y, h_n) ikilisi döndürmeli.")
            y, h_n = got
            y_ref, h_ref = _reference_forward(params, x, batch_first, start)
            if start is not None and not close(y, y_ref, 1e-5) and \
                    close(y, _reference_forward(params, x, batch_first)[0], 1e-5):
                fail(f"{what}: verilen h0 kullanılmamış, dizi sıfırdan başlamış: self.rnn(x, h0) ile diziyi h0'dan "
                     "başlatın.")
            expect_close(y, y_ref, tol=1e-5, what=f"{what}: y",
                         hint="self.head'i her zaman adımının çıktısına uygulayın (out'un tamamına).")
            hint = "h_n, nn.RNN'in döndürdüğü son gizli durumdur: (1, N, hidden_size)."
            if start is not None and close(h_n, _reference_forward(params, x, batch_first)[1], 1e-5):
                hint = "Verilen h0 kullanılmamış: self.rnn(x, h0) ile diziyi h0'dan başlatın."
            expect_close(h_n, h_ref, tol=1e-5, what=f"{what}: h_n", hint=hint)


@grade("rnn_variants_test", weight=1)
def test_variants_run_on_device(student):
    dev = check_device()
    for cls, batch_first in (("ManyToOneRNN", True), ("ManyToManyRNN", True), ("ManyToManyRNN", False)):
        model = call(student, cls, 3, 5, 2, batch_first=batch_first, keep=True)
        student.call_method(model, "to", dev)
        shape = (4, 6, 3) if batch_first else (6, 4, 3)
        x = put_on_device(student, torch.randn(*shape))
        what = f"{cls}(batch_first={batch_first}).forward"
        result = run_on_device(student, model, x, device_arg=None, keep=True, contexts=["no_grad"], what=what)
        if cls == "ManyToOneRNN":
            expect_tensor_on_device(student, result, (4, 2), what)
        else:
            y, h_n = tuple_items(student, result, 2, what)
            expect_tensor_on_device(student, y, (4, 6, 2) if batch_first else (6, 4, 2), f"{what}: y")
            expect_tensor_on_device(student, h_n, (1, 4, 5), f"{what}: h_n")
    expect_no_hardcoded_device(student, {"ManyToOneRNN", "ManyToManyRNN"})


# ---------------------------------------------------------------------------- 3. truncated BPTT

def _tbptt_reference(params, series, chunk_len, epochs, lr, *, reset=True, carry=True):
    """The loop of the notebook on nn.RNN(1, 1, batch_first=True) in float32, as the student runs it."""
    torch.manual_seed(0)
    model = nn.RNN(1, 1, batch_first=True)
    with torch.no_grad():
        for name, value in params.items():
            getattr(model, name).copy_(torch.tensor(value, dtype=torch.float32))
    s = torch.tensor(series, dtype=torch.float32)
    x, y = s[:-1].reshape(1, -1, 1), s[1:].reshape(1, -1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    history, h = [], None
    for _ in range(epochs):
        if reset:
            h = None
        losses = []
        for start in range(0, x.shape[1], chunk_len):
            opt.zero_grad()
            out, h_new = model(x[:, start:start + chunk_len], h if carry else None)
            loss = loss_fn(out, y[:, start:start + chunk_len])
            loss.backward()
            opt.step()
            h = h_new.detach()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history, {n: p.detach().double().numpy() for n, p in model.named_parameters()}


DETACH_HINT = ("Her parçadan sonra taşınan gizli durumu hesap grafiğinden ayırın: `h = h.detach()`. Yoksa bir sonraki "
               "`loss.backward()` önceki parçanın grafiğinden de geçmeye çalışır.")


def _check_tbptt(student, length, chunk_len, epochs, lr, what):
    model = student.call_method("nn", "RNN", 1, 1, batch_first=True, keep=True)
    params = {n.split(".")[-1]: v for n, v in parameter_arrays(student, model, "nn.RNN(1, 1)").items()}
    series = 0.8 * np.sin(0.35 * np.arange(length))
    try:
        history = student.call("train_tbptt", model, series, chunk_len, epochs=epochs, lr=lr, device="cpu")
    except StudentCodeError as exc:
        if exc.type == "NotImplementedError":
            raise
        text = exc.message
        if "backward through the graph a second time" in text or "modified by an inplace operation" in text:
            fail(f"{what}: eğitim ikinci parçada hata verdi ({exc.type}: {text[:160]}…). {DETACH_HINT}")
        fail(f"{what}: train_tbptt bir hata verdi: {exc.type}: {text[:300]}")
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
    if matches(*_tbptt_reference(params, series, chunk_len, epochs, lr, reset=False)):
        fail(f"{what}: gizli durum dönemler arasında sıfırlanmamış: her dönemin başında `h = None` yazın; dönem "
             "dizinin başından başlar, önceki dönemin son durumu onunla ilgisizdir.")
    if matches(*_tbptt_reference(params, series, chunk_len, epochs, lr, carry=False)):
        fail(f"{what}: gizli durum parçadan parçaya taşınmamış (her parça sıfırdan başlıyor): bir parçanın son "
             "durumunu `out, h = model(x_parça, h)` ile bir sonrakine verin.")
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
def test_tbptt_runs_on_device(student):
    model = student.call_method("nn", "RNN", 1, 1, batch_first=True, keep=True)
    series = np.sin(0.5 * np.arange(9))
    try:
        history = run_on_device(student, "train_tbptt", model, series, 4, epochs=1, lr=0.1, what="train_tbptt")
    except StudentCodeError as exc:
        if "backward through the graph a second time" in exc.message:
            fail(f"train_tbptt: ikinci parçada geri yayılım hata verdi. {DETACH_HINT}")
        raise
    if not isinstance(history, list) or len(history) != 1:
        fail("train_tbptt: her dönem için bir kayıp içeren bir liste döndürmeli.")
    expect_on_device(student, model, what="train_tbptt içindeki model")
    expect_no_hardcoded_device(student, {"train_tbptt"})
