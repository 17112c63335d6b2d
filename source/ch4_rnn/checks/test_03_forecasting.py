"""Hidden checks for 03_forecasting.ipynb (LSTM/GRU forecasters, sliding windows, leak-free split, training loop).

Device checks run the student's models and loops on the check device (meta without a GPU). The forecasting
gates train on the CPU with fixed hyperparameters on the reference split (computed here); the worker gets
X_train, y_train and the test windows X_test (past values only, as at forecast time), never y_test. The RMSE is
computed here from the student's predictions, which must also agree with a forward pass of the trained weights
recomputed here (so predict cannot return anything but the model's output).

The training loop is also checked on models built here in the worker (a Flatten + Linear model that needs exactly
(N, window, 1) inputs): mini-batches and epoch losses on identical rows (m not a multiple of batch_size, the last
batch kept), 3-D windows kept as they are, a new order every epoch, train mode with a Dropout model handed over in
eval mode; predict in eval mode, without a graph, for m = 1 and 3-D windows.
"""
import itertools

import numpy as np
import torch
from torch import nn

from autograder.checks import StudentCodeError, as_array, call, close, describe_value, expect_equal, fail, grade
from autograder.checks.cache import per_process
from autograder.checks.histories import batch_sizes, expect_epoch_losses, expect_history_of_floats
from autograder.checks.inputs import expect_unchanged, put_on_device
from autograder.checks.messages import error_text
from autograder.checks.mistakes import expect_close
from autograder.checks.modes import expect_no_graph
from autograder.checks.objects import (parameter_arrays, random_params, reference_sequential, tuple_items,
                                       worker_sequential)
from autograder.checks.training import expect_reshuffled_each_epoch
from autograder.device import (DeviceSimulationUnsupported, check_device, expect_device_agnostic,
                               expect_no_hardcoded_device, expect_on_device, expect_ops_on_device,
                               expect_tensor_on_device, not_simulated, run_explained_on_device, run_on_device)

#: The forecasting gate: fixed hyperparameters; the model must beat this fraction of the naive RMSE. 15 epochs:
#: correct forecasters are as good after 15 as after 30 (RMSE 17-19 either way, the limit is 25), at half the time.
GATE = dict(epochs=15, lr=0.01, batch_size=32)
GATE_TEXT = ", ".join(f"{k}={v}" for k, v in GATE.items())
GATE_HIDDEN = 32
GATE_FRACTION = 0.75


# ---------------------------------------------------------------------------- models (shared by LSTM and GRU)

MODELS = {
    "LSTMForecaster": {"layer": "lstm", "gates": 4, "nn": nn.LSTM},
    "GRUForecaster": {"layer": "gru", "gates": 3, "nn": nn.GRU},
}


def _build(student, cls, I, H, L):
    spec = MODELS[cls]
    what = f"{cls}(input_size={I}, hidden_size={H}, num_layers={L})"
    model = call(student, cls, input_size=I, hidden_size=H, num_layers=L, keep=True)
    params = parameter_arrays(student, model, what)
    layer, k = spec["layer"], spec["gates"]
    expected = {"head.weight": (1, H), "head.bias": (1,)}
    for layer_i in range(L):
        expected.update({f"{layer}.weight_ih_l{layer_i}": (k * H, I if layer_i == 0 else H),
                         f"{layer}.weight_hh_l{layer_i}": (k * H, H),
                         f"{layer}.bias_ih_l{layer_i}": (k * H,), f"{layer}.bias_hh_l{layer_i}": (k * H,)})
    shapes = {name: tuple(v.shape) for name, v in params.items()}
    if shapes != expected:
        fail(f"{what}: katmanlar `self.{layer} = nn.{spec['nn'].__name__}(input_size, hidden_size, "
             f"num_layers=num_layers, batch_first=True)` ve `self.head = nn.Linear(hidden_size, 1)` olmalı; "
             f"parametre şekilleri beklenenden farklı: {sorted(shapes.items())}.")
    if student.get(model, f"{layer}.batch_first") is not True:
        fail(f"{what}: self.{layer} `batch_first=True` ile kurulmalı: girdiler (N, T, input_size) şeklinde geliyor.")
    return model, params


STATE_HINT = ("Başlangıç durumu (num_layers, N, hidden_size) şeklinde olmalı (batch_first=True olsa bile: o yalnızca x "
              "ve out'u etkiler) ve self.{layer} `batch_first=True` ile kurulmalı; x (N, T, input_size) gelir.")


def _reference_forward(cls, params, x, I, H, L, read="last"):
    """The model's output in float64; ``read`` replays the usual mistakes: "first" (out[:, 0]), "h_n0" (the first
    layer's last state h_n[0])."""
    spec = MODELS[cls]
    layer = spec["nn"](I, H, num_layers=L, batch_first=True).double()
    head = nn.Linear(H, 1).double()
    with torch.no_grad():
        for name, value in params.items():
            owner, attr = name.split(".", 1)
            getattr(layer if owner == spec["layer"] else head, attr).copy_(torch.tensor(value))
        out, state = layer(x.double())
        h_n = state[0] if isinstance(state, tuple) else state
        if read == "first":
            return head(out[:, 0])
        if read == "h_n0":
            return head(h_n[0])
        return head(out[:, -1])


def _check_init_hidden_cpu(student, cls):
    spec = MODELS[cls]
    for I, H, L, N in ((1, 6, 1, 5), (2, 8, 2, 3)):
        model, _ = _build(student, cls, I, H, L)
        what = f"{cls}(hidden_size={H}, num_layers={L}).init_hidden({N}, cpu)"
        method = student.get(model, "init_hidden", keep=True)
        got = call(student, method, N, torch.device("cpu"), what=f"{cls}.init_hidden")
        parts = got if spec["layer"] == "lstm" else (got,)
        if spec["layer"] == "lstm" and (not isinstance(got, (tuple, list)) or len(got) != 2):
            fail(f"{what}: bir (h0, c0) ikilisi bekleniyordu (LSTM iki durum taşır).")
        if spec["layer"] == "gru" and not isinstance(got, torch.Tensor):
            fail(f"{what}: tek bir h0 tensörü bekleniyordu (GRU'nun hücre durumu yoktur).")
        for label, t in zip(("h0", "c0"), parts):
            if not isinstance(t, torch.Tensor):
                fail(f"{what}: {label} bir tensör olmalı.")
            if tuple(t.shape) != (L, N, H):
                hint = " batch_first=True yalnızca x ve out'u etkiler; h0/c0 her zaman (num_layers, N, hidden_size)." \
                    if tuple(t.shape) == (N, L, H) else ""
                fail(f"{what}: {label} (num_layers, N, hidden_size) = {(L, N, H)} şeklinde olmalı, ama "
                     f"{tuple(t.shape)} geldi.{hint}")
            if t.dtype != torch.float32 or bool(t.abs().sum() != 0):
                fail(f"{what}: {label} float32 sıfırlardan oluşmalı (torch.zeros).")


def _check_init_hidden_on_device(student, cls):
    spec = MODELS[cls]
    model = call(student, cls, input_size=1, hidden_size=6, num_layers=2, keep=True)
    method = student.get(model, "init_hidden", keep=True)
    what = f"{cls}.init_hidden(4, device)"
    try:
        result = run_on_device(student, method, 4, keep=True, what=what)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    parts = tuple_items(student, result, 2, what) if spec["layer"] == "lstm" else [result]
    for label, handle in zip(("h0", "c0"), parts):
        expect_tensor_on_device(student, handle, (2, 4, 6), f"{what}: {label}")
    expect_no_hardcoded_device(student, {cls})


def _check_forward_on_device(student, cls):
    model = call(student, cls, input_size=1, hidden_size=6, num_layers=1, keep=True)
    student.call_method(model, "to", check_device())
    x = put_on_device(student, torch.randn(3, 7, 1))
    what = f"{cls}.forward"
    try:
        result = run_on_device(student, model, x, device_arg=None, keep=True, contexts=["no_grad"], what=what)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except StudentCodeError as error:
        if error.type == "NotImplementedError":
            raise
        fail(error_text(f"{what} (cihaz denemesinde)", error, STATE_HINT.format(layer=MODELS[cls]["layer"])))
    expect_tensor_on_device(student, result, (3, 1), what)


def _check_forward_values(student, cls):
    for I, H, L in ((1, 6, 2), (2, 5, 1)):
        model, params = _build(student, cls, I, H, L)
        x = torch.randn(3, 7, I, generator=torch.Generator().manual_seed(20 + I))
        what = f"{cls}(input_size={I}, hidden_size={H}, num_layers={L}) (3, 7, {I}) girdiyle"
        got = call(student, model, x, contexts=["no_grad"], what=what, hint=STATE_HINT.format(layer=MODELS[cls]["layer"]))
        expected = _reference_forward(cls, params, x, I, H, L)
        if tuple(getattr(got, "shape", ())) != (3, 1):
            fail(f"{what}: çıktı (N, 1) = (3, 1) olmalıydı, ama {tuple(getattr(got, 'shape', ()))} geldi.")
        hint = "Tahmin, dizinin SON zaman adımındaki çıktıdan (out[:, -1]) self.head ile hesaplanmalı."
        expect_close(got, expected, tol=1e-5, what=what, hint=hint, mistakes=[
            ("tahmin dizinin İLK zaman adımından (out[:, 0]) yapılmış: son adımın çıktısını, out[:, -1]'i kullanın.",
             lambda: _reference_forward(cls, params, x, I, H, L, read="first")),
            ("tahmin h_n[0]'dan, yani İLK katmanın son durumundan yapılmış: çok katmanlı bir ağda son katmanın son "
             "durumu out[:, -1] (ya da h_n[-1]) olur.",
             lambda: _reference_forward(cls, params, x, I, H, L, read="h_n0") if L > 1 else None),
        ])


def _gate(student, cls, split, what):
    model = call(student, cls, input_size=1, hidden_size=GATE_HIDDEN, num_layers=1, keep=True)
    history = call(student, "train_forecaster", model, split.X_train, split.y_train, device="cpu", **GATE,
                   hint="X'i torch.as_tensor(X, dtype=torch.float32) ile float32 tensöre çevirin (NumPy dizileri "
                        "float64'tür) ve (m, window, 1) yapın; " + STATE_HINT.format(layer=MODELS[cls]["layer"]))
    if not isinstance(history, list) or len(history) != GATE["epochs"]:
        fail(f"{what}: train_forecaster her dönem için bir kayıp içeren bir liste döndürmeli.")
    pred = call(student, "predict", model, split.X_test, device="cpu")
    try:
        pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        fail(f"{what}: predict sayısal bir dizi döndürmeli.")
    if pred.size != len(split.X_test) or not np.all(np.isfinite(pred)):
        fail(f"{what}: predict {len(split.X_test)} sonlu tahmin döndürmeliydi, ama {pred.size} değer geldi "
             "(ya da NaN/sonsuz değerler var).")
    rmse = split.rmse(pred)
    limit = GATE_FRACTION * split.naive_rmse
    if rmse >= limit:
        fail(f"{what}: test döneminde (1947-2008) RMSE {rmse:.1f} leke; saf tahminin RMSE'si "
             f"{split.naive_rmse:.1f}, sınır {limit:.1f} (saf RMSE'nin {GATE_FRACTION:g} katı). Doğru bir çözüm "
             "16-21 civarına iner. Eğitim döngüsünü kontrol edin: y (m, 1) şeklinde mi (model çıktısıyla aynı), her "
             "yığında optimizer.zero_grad() çağrılıyor mu, tahmin son zaman adımından mı yapılıyor?")
    # The RMSE counts only if the predictions are the trained model's: recompute them here from its weights.
    try:
        params = parameter_arrays(student, model, what)
        x = torch.tensor(split.X_test[..., None])
        expected = _reference_forward(cls, params, x, 1, GATE_HIDDEN, 1).numpy().reshape(-1)
    except (KeyError, AttributeError, RuntimeError, ValueError):
        return  # not the architecture of the notebook: the model's own checks say so
    if not close(pred, expected, 1e-4):
        fail(f"{what}: predict'in döndürdüğü değerler eğitilmiş modelin çıktısı değil (model aynı pencerelerde "
             "başka değerler veriyor). predict, modeli X üzerinde çalıştırıp onun çıktısını döndürmeli.")


# ---------------------------------------------------------------------------- 1. LSTMForecaster

@grade("lstm_forecaster_test", weight=1)
def test_lstm_forecaster_structure(student):
    _build(student, "LSTMForecaster", 1, 8, 2)
    _build(student, "LSTMForecaster", 3, 4, 1)


@grade("lstm_forecaster_test", weight=1)
def test_lstm_init_hidden_shapes(student):
    _check_init_hidden_cpu(student, "LSTMForecaster")


@grade("lstm_forecaster_test", weight=2)
def test_lstm_init_hidden_on_device(student):
    _check_init_hidden_on_device(student, "LSTMForecaster")


@grade("lstm_forecaster_test", weight=2)
def test_lstm_forward_matches_reference(student):
    _check_forward_values(student, "LSTMForecaster")


@grade("lstm_forecaster_test", weight=2)
def test_lstm_forward_on_device(student):
    _check_forward_on_device(student, "LSTMForecaster")


# ---------------------------------------------------------------------------- 2. make_windows

def _check_windows(student, reference, series, window, horizon):
    what = f"make_windows({len(series)} değer, window={window}, horizon={horizon})"
    got = call(student, "make_windows", series, window, horizon, what=what,
               hint="series bir NumPy dizisi ya da liste olabilir: önce `np.asarray(series, dtype=np.float64)` ile "
                    "çevirin. Seri bir pencereye yetmiyorsa (n < window + horizon) örnek yoktur: X (0, window), y (0,) "
                    "şeklinde boş diziler döndürün (np.stack boş bir listeyle çalışmaz).")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what}: bir (X, y) ikilisi bekleniyordu.")
    X, y = got
    X_ref, y_ref = reference.windows(series, window, horizon)
    m = len(series) - window - horizon + 1
    count = (f"n − window − horizon + 1 = {m} örnek" if m > 0 else
             "seri bir pencereye yetmiyor, örnek yok: boş diziler")
    for label, value, shape in (("X", X, X_ref.shape), ("y", y, y_ref.shape)):
        if not isinstance(value, np.ndarray):
            fail(f"{what}: {label} bir NumPy dizisi olmalı.")
        if value.shape != shape:
            extra = (" Pencere listesi boşken np.array(liste) (0,) şeklinde olur: sonucu "
                     "`.reshape(-1, window)` ile (0, window) yapın." if label == "X" and value.shape == (0,) else "")
            fail(f"{what}: {label} {shape} şeklinde olmalıydı ({count}), ama {value.shape} geldi.{extra}")
    if not (np.array_equal(X, X_ref) and np.array_equal(y, y_ref)):
        hint = "X[i] = s[i : i + window], y[i] = s[i + window + horizon − 1]."
        if np.array_equal(y, X_ref[:, -1]):
            hint = "Hedef, pencerenin son değeri olmuş (pencerenin içinde!): y[i] = s[i + window + horizon − 1]."
        expect_equal(X, X_ref, what=f"{what}: X", hint=hint)
        expect_equal(y, y_ref, what=f"{what}: y", hint=hint)
    for label, value in (("X", X), ("y", y)):
        if value.dtype != np.float64:
            fail(f"{what}: {label} float64 olmalıydı, ama {value.dtype} geldi "
                 "(`np.asarray(series, dtype=np.float64)`).")


@grade("make_windows_test", weight=2)
def test_windows_exact_on_arange(student, reference):
    _check_windows(student, reference, np.arange(10.0), 3, 1)
    _check_windows(student, reference, np.arange(10.0), 3, 2)
    _check_windows(student, reference, np.arange(100.0, 120.0), 5, 4)


@grade("make_windows_test", weight=1)
def test_windows_count_edge_cases(student, reference):
    _check_windows(student, reference, np.arange(7.0), 5, 2)  # exactly one window
    _check_windows(student, reference, np.arange(8.0) * 1.5, 1, 1)


@grade("make_windows_test", weight=1)
def test_windows_too_short_series(student, reference):
    _check_windows(student, reference, np.arange(6.0), 3, 1)  # a right answer first: a stub earns nothing
    _check_windows(student, reference, np.arange(4.0), 3, 2)  # n = window + horizon - 1: no window
    _check_windows(student, reference, np.arange(2.0), 3, 1)  # shorter than one window


@grade("make_windows_test", weight=1)
def test_windows_from_integer_list(student, reference):
    _check_windows(student, reference, [3, 1, 4, 1, 5, 9, 2, 6], 3, 1)


# ---------------------------------------------------------------------------- 3. prepare_data

def _prepare(student, series, window, n_test, what):
    got = call(student, "prepare_data", series, window, n_test, what=what,
               hint="series bir NumPy dizisi ya da liste olabilir: önce `np.asarray(series, dtype=np.float64)` ile "
                    "çevirin.")
    if not isinstance(got, (tuple, list)) or len(got) != 5:
        fail(f"{what}: (X_train, y_train, X_test, y_test, (mean, std)) beşlisi bekleniyordu.")
    *arrays, stats = got
    if not isinstance(stats, (tuple, list)) or len(stats) != 2:
        fail(f"{what}: son öge bir (mean, std) ikilisi olmalı.")
    for label, value in zip(("mean", "std"), stats):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f"{what}: {label} bir Python float'ı olmalı (`float(...)`), ama {describe_value(value)} geldi.")
    arrays = [as_array(a, f"{what}: {label}") for a, label in zip(arrays, ("X_train", "y_train", "X_test", "y_test"))]
    return arrays, (float(stats[0]), float(stats[1]))


LEAK_SCALER = ("Ölçekleyici bütün seriden hesaplanmış: bu bir veri sızıntısı (data leakage), test döneminin bilgisi "
               "eğitime karışıyor. mean ve std'yi yalnızca eğitim kısmından (series[:len(series) - n_test]) "
               "hesaplayın.")
SPLIT_HINT = ("Test kümesi son n_test pencere (hedefleri son n_test değerde olanlar), eğitim kümesi ondan önceki bütün "
              "pencereler: n_train = len(X) - n_test ile X[:n_train], X[n_train:].")


def _expect_prepared(student, reference, series, window, n_test, what, arg=None):
    """Fail unless prepare_data(arg or series, ...) matches the reference split of ``series``."""
    (X_tr, y_tr, X_te, y_te), (mean, std) = _prepare(student, series if arg is None else arg, window, n_test, what)
    *ref, (ref_mean, ref_std) = reference.prepare(series, window, n_test)
    if n_test == 0 and not (np.isfinite(mean) and np.isfinite(std)):
        fail(f"{what}: mean ve std NaN geldi: n_test = 0 iken series[:-n_test] = series[:-0] boş bir dizidir. Eğitim "
             "kısmını series[:len(series) - n_test] ile, ayırmayı n_train = len(X) - n_test ile yapın.")
    if not (close(mean, ref_mean) and close(std, ref_std)):
        *_, (all_mean, all_std) = reference.prepare(series, window, n_test, scale_on_all=True)
        if n_test and close(mean, all_mean) and close(std, all_std):
            fail(f"{what}: {LEAK_SCALER}")
        fail(f"{what}: (mean, std) = ({mean:.4f}, {std:.4f}), beklenen ({ref_mean:.4f}, {ref_std:.4f}): eğitim "
             "kısmının np.mean ve np.std değerleri (n'ye bölen standart sapma).")
    for label, got, expected in zip(("X_train", "y_train", "X_test", "y_test"), (X_tr, y_tr, X_te, y_te), ref):
        if got.shape != expected.shape:
            zero = (" n_test = 0 iken test kümesi boştur: X[:-0] boş bir dizi verir, X[:len(X) - n_test] yazın."
                    if n_test == 0 else "")
            fail(f"{what}: {label} {expected.shape} şeklinde olmalıydı, ama {got.shape} geldi. {SPLIT_HINT}{zero}")
        expect_close(got, expected, what=f"{what}: {label}",
                     hint="Pencereler zaman sırasıyla kalmalı: karıştırmadan, ölçeklenmiş seriden make_windows ile.")


@grade("prepare_data_test", weight=2)
def test_prepare_data_on_sunspots(student, reference, series_data):
    _expect_prepared(student, reference, series_data, 12, 62, "prepare_data(sunspots, window=12, n_test=62)")


@grade("prepare_data_test", weight=1)
def test_scaler_fitted_on_training_part_only(student):
    series = np.concatenate([np.sin(np.arange(40) * 0.5) * 10 + 20, np.full(10, 500.0)])  # a jump in the test tail
    what = "prepare_data (test döneminde ani bir sıçrama olan seri)"
    _, (mean, std) = _prepare(student, series, 4, 10, what)
    train = series[:40]
    if close(mean, series.mean()) or close(std, series.std()):
        fail(f"{what}: {LEAK_SCALER}")
    expect_close([mean, std], [train.mean(), train.std()], what=f"{what}: (mean, std)",
                 hint="mean ve std yalnızca eğitim kısmından (son n_test değer hariç), np.mean ve np.std ile.",
                 mistakes=[("standart sapma n − 1'e bölünmüş (ddof=1): np.std'nin varsayılanı gibi n'ye bölen "
                            "standart sapmayı kullanın.", [train.mean(), train.std(ddof=1)]),
                           ("mean ve std eğitim pencerelerinin girdilerinden (son window değer eksik) hesaplanmış: "
                            "eğitim kısmının tamamını, series[:len(series) - n_test]'i kullanın.",
                            [series[:36].mean(), series[:36].std()])])


@grade("prepare_data_test", weight=1)
def test_split_is_chronological_without_overlap(student):
    series = np.arange(40.0)
    window, n_test = 4, 8
    what = f"prepare_data(np.arange(40), window={window}, n_test={n_test})"
    (X_tr, y_tr, X_te, y_te), (mean, std) = _prepare(student, series, window, n_test, what)
    if std <= 0:
        fail(f"{what}: std pozitif olmalı.")
    t_train, t_test = np.round(y_tr * std + mean, 6), np.round(y_te * std + mean, 6)  # the time index of each target
    first_test = len(series) - n_test
    if np.any(t_train >= first_test):
        fail(f"{what}: eğitim kümesinde hedefi test döneminde (son {n_test} değer: {first_test:g}, …, 39) olan "
             f"{int(np.sum(t_train >= first_test))} pencere var; bu bir veri sızıntısı (data leakage). Test kümesi "
             "son n_test pencere, eğitim kümesi ondan önceki pencereler olmalı: ayırmayı pencere sayısına göre yapın "
             "(X[:len(X) - n_test], X[len(X) - n_test:]).")
    shuffled = " Zaman serisinde karıştırmak (shuffle) geleceği eğitime sızdırır: sırayı koruyun."
    if not np.array_equal(t_test, np.arange(float(first_test), 40.0)):
        fail(f"{what}: test hedefleri serinin son {n_test} değeri olmalı, sırayla ({first_test:g}, …, 39); gelen: "
             f"{t_test[:10].tolist()}." + (shuffled if np.any(np.diff(t_test) <= 0) else ""))
    if not np.array_equal(t_train, np.arange(4.0, float(first_test))):
        fail(f"{what}: eğitim hedefleri 4, 5, …, {first_test - 1} olmalı, sırayla; gelen ilk değerler: "
             f"{t_train[:8].tolist()}." + (shuffled if np.any(np.diff(t_train) <= 0) else ""))


SMALL_SERIES = np.array([12.0, 30.0, 55.0, 41.0, 20.0, 8.0, 3.0, 15.0, 44.0, 70.0, 52.0, 27.0, 9.0, 5.0])


@grade("prepare_data_test", weight=1)
def test_prepare_data_accepts_list(student, reference):
    _expect_prepared(student, reference, SMALL_SERIES.tolist(), 3, 4,
                     "prepare_data(14 sayılık bir Python listesi, window=3, n_test=4)")


@grade("prepare_data_test", weight=1)
def test_prepare_data_leaves_series_unchanged(student, reference):
    handle = student.put(SMALL_SERIES.copy())
    what = "prepare_data(14 değerlik float64 NumPy dizisi, window=3, n_test=4)"
    _expect_prepared(student, reference, SMALL_SERIES, 3, 4, what, arg=handle)
    expect_unchanged(student, handle, SMALL_SERIES, message=(
        f"{what}: çağıranın series dizisi değişti. np.asarray(series, dtype=np.float64) float64 bir diziyi "
        "kopyalamaz: `s -= mean`, `s /= std` gibi yerinde (in-place) işlemler çağıranın dizisini bozar. "
        "Yeni bir dizi üretin: `scaled = (s - mean) / std`."))


@grade("prepare_data_test", weight=1)
def test_prepare_data_without_test_period(student, reference):
    _expect_prepared(student, reference, SMALL_SERIES, 3, 4, "prepare_data(14 değer, window=3, n_test=4)")
    _expect_prepared(student, reference, SMALL_SERIES, 3, 0, "prepare_data(14 değer, window=3, n_test=0)")


# ---------------------------------------------------------------------------- 4. train_forecaster / predict

#: A model for the loops that does not depend on the student's classes: (N, w, 1) -> (N, w) -> (N, 1). Flatten(1, 2)
#: needs exactly a 3-D input: a 2-D X that was not given its feature axis, or a 3-D X given a second one, fails.
def _linear_layers(n_in):
    return [("Flatten", 1, 2), ("Linear", n_in, 1)]


def _linear_model(student, n_in, params=None):
    return worker_sequential(student, _linear_layers(n_in), params)


def _flat(tensors):
    return np.concatenate([as_array(t).reshape(-1) for t in tensors])


def _weights(student, model):
    return [student.get(model, name) for name, *_ in student.describe(model)["parameters"]]


TRAIN_HINT = ("X (m, window) ise float32 tensöre çevirip son boyut ekleyin (m, window, 1) (3 boyutluysa olduğu gibi "
              "bırakın), y'yi (m, 1) yapın; torch.optim.Adam(model.parameters(), lr=lr) ve nn.MSELoss(); her dönem "
              "örnekleri karıştırıp batch_size'lık yığınlar alın (sonuncusu küçük olabilir), her yığında zero_grad → "
              "ileri geçiş → kayıp → backward → step. Verilen modeli eğitin, yenisini oluşturmayın.")
THREE_D_HINT = ("X zaten 3 boyutluysa ((m, window, 1)) olduğu gibi bırakın: yalnız X.dim() == 2 iken "
                "`X.unsqueeze(-1)` ile özellik boyutunu ekleyin.")

# Identical rows: every sample is x0 with target Y0, so each batch's MSE and gradient depend only on the model, not on
# which rows the shuffle put in it, and Adam's step does not depend on the batch size. That fixes every batch loss,
# the number of steps and so the epoch losses exactly, whatever the order.
X0 = np.array([0.5, -0.25, 0.75])
Y0 = 1.5


def _adam_constant_rows(params, sizes_per_epoch, lr, zero_grad=True, fresh="never", optimizer="Adam"):
    """(trained [W, b], batch losses per epoch) of the notebook's loop on identical rows, in float32 here.

    The keywords replay the usual mistakes: ``zero_grad=False`` (gradients never reset), ``fresh`` "epoch" or
    "batch" (a new optimizer every epoch or every batch: Adam's moments start over), ``optimizer="SGD"``."""
    lin = nn.Linear(len(X0), 1)
    with torch.no_grad():
        lin.weight.copy_(params[0])
        lin.bias.copy_(params[1])

    def new_optimizer():
        return getattr(torch.optim, optimizer)(lin.parameters(), lr=lr)

    opt = new_optimizer()
    x = torch.tensor(X0, dtype=torch.float32)[None]
    losses = []
    for sizes in sizes_per_epoch:
        epoch = []
        if fresh == "epoch":
            opt = new_optimizer()
        for m in sizes:
            if fresh == "batch":
                opt = new_optimizer()
            if zero_grad or not (losses or epoch):
                opt.zero_grad()
            loss = nn.functional.mse_loss(lin(x.expand(m, -1)), torch.full((m, 1), Y0))
            loss.backward()
            opt.step()
            epoch.append(loss.item())
        losses.append(epoch)
    return _flat([lin.weight.detach(), lin.bias.detach()]), losses


def _constant_rows_case(student, n, batch_size, epochs, lr=0.1, three_d=False):
    rng = np.random.default_rng(40 + n + batch_size)
    params = [torch.tensor(rng.uniform(-0.5, 0.5, size=(1, 3)), dtype=torch.float32),
              torch.tensor([-1.0], dtype=torch.float32)]
    model = _linear_model(student, 3, params)
    X = np.tile(X0, (n, 1))
    if three_d:
        X = X[..., None]
    y = np.full(n, Y0)
    sizes = batch_sizes(n, batch_size)
    what = (f"train_forecaster(model, X, y, epochs={epochs}, lr={lr}, batch_size={batch_size}) ({n} örnek"
            + (", X (m, window, 1) şeklinde" if three_d else "")
            + (f": yığınlar {sizes})" if batch_size < n else ": tek tam yığın)"))
    history = call(student, "train_forecaster", model, X, y, epochs=epochs, lr=lr, batch_size=batch_size,
                   device="cpu", what=what, hint=THREE_D_HINT if three_d else TRAIN_HINT)
    history = expect_history_of_floats(history, epochs, what)
    got = _flat(_weights(student, model))
    want, losses = _adam_constant_rows(params, [sizes] * epochs, lr)
    if not close(got, want, 1e-4):
        full = batch_sizes(n, batch_size, drop_last=True)
        variants = [
            ([full] * epochs, "yalnız tam yığınlarla adım atılmış: son, daha küçük yığın atlanıyor (örneğin "
             "range(0, m - batch_size + 1, batch_size) ya da range(m // batch_size)). Yığınları "
             "range(0, m, batch_size) ile alın; sonuncusu küçük olabilir."
             + (" batch_size >= m iken her dönem tek bir tam yığın adımı atılmalı." if not full else "")),
            ([[n]] * epochs, "her dönem tek bir adım atılmış: batch_size'lık mini yığınlara bölün ve her yığında bir "
             "adım atın."),
            ([sizes], "yalnız bir dönem eğitilmiş: epochs kadar dönem yapın."),
        ]
        for sizes_per_epoch, message in variants:
            other, _ = _adam_constant_rows(params, sizes_per_epoch, lr)
            if not close(other, want, 1e-4) and close(got, other, 1e-4):
                fail(f"{what}: {message}")
        loop_mistakes = [
            (dict(zero_grad=False), "gradyanlar sıfırlanmamış, yığınlar boyunca birikiyor: her yığında önce "
                                    "`optimizer.zero_grad()` çağırın."),
            (dict(fresh="epoch"), "eniyileyici her dönem yeniden oluşturulmuş (Adam'ın momentleri her dönem "
                                  "sıfırlanıyor): `torch.optim.Adam(...)`'ı döngülerden önce bir kez oluşturun."),
            (dict(fresh="batch"), "eniyileyici her yığında yeniden oluşturulmuş (Adam'ın momentleri her adımda "
                                  "sıfırlanıyor): `torch.optim.Adam(...)`'ı döngülerden önce bir kez oluşturun."),
            (dict(optimizer="SGD"), "eniyileyici olarak SGD kullanılmış: metin torch.optim.Adam(model.parameters(), "
                                    "lr=lr) ister."),
            (dict(lr=0.01), "lr argümanı kullanılmamış (varsayılan 0.01 ile eğitilmiş): "
                            "`torch.optim.Adam(model.parameters(), lr=lr)` yazın."),
        ]
        for keywords, message in loop_mistakes:
            other, _ = _adam_constant_rows(params, [sizes] * epochs, **{"lr": lr, **keywords})
            if not close(other, want, 1e-4) and close(got, other, 1e-4):
                fail(f"{what}: {message}")
        fail(f"{what}: eğitimden sonra modelin ağırlıkları beklenen değerlerde değil. {TRAIN_HINT}")
    for epoch, (value, batch) in enumerate(zip(history, losses)):
        by_full_size = sum(l * batch_size for l in batch) / n
        right = sum(l * m for l, m in zip(batch, sizes)) / n
        if len(sizes) > 1 and abs(by_full_size - right) > 1e-4 * abs(right) and \
                abs(value - by_full_size) <= 1e-4 * abs(by_full_size):
            fail(f"{what}: {epoch}. dönemin kaybı {value:.6g}, beklenen {right:.6g}: her yığının kaybı batch_size ile "
                 "çarpılmış, son yığın daha küçük olsa da; kendi boyuyla (len(idx) ya da xb.shape[0]) çarpın.")
    expect_epoch_losses(history, losses, sizes, what=f"{what}: dönem kayıpları")


@grade("train_forecaster_test", weight=2)
def test_train_forecaster_minibatches_and_epoch_losses(student):
    _constant_rows_case(student, 10, 4, 2)
    _constant_rows_case(student, 5, 8, 2)


@grade("train_forecaster_test", weight=1)
def test_train_forecaster_keeps_3d_windows(student):
    _constant_rows_case(student, 6, 4, 1, three_d=True)


SHUFFLE_LAYERS = _linear_layers(3)


def _weights_from_flat(flat, shapes):
    weights, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        weights.append(torch.tensor(np.asarray(flat[offset:offset + size]).reshape(shape), dtype=torch.float32))
        offset += size
    return weights


def _adam_orders(start, X, y, orders, lr, batch_size):
    """The weights after one Adam epoch per entry of ``orders`` (each a sequence of sample indices), in float32
    here, as the notebook's loop trains Flatten + Linear from ``start``."""
    model = reference_sequential(SHUFFLE_LAYERS, start, dtype=None)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    Xt = torch.tensor(X, dtype=torch.float32)[..., None]
    yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    for order in orders:
        order = list(order)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            nn.functional.mse_loss(model(Xt[idx]), yt[idx]).backward()
            optimizer.step()
    return _flat([p.detach() for p in model.parameters()])


def _shuffle_run(student, X, y, shapes, lr, batch_size, what):
    """run(seed, flat start weights, epochs) -> flat trained weights, for the helpers of autograder.checks.training."""
    def run(seed, flat_weights, epochs):
        model = _linear_model(student, 3, _weights_from_flat(flat_weights, shapes))
        student.seed(seed)
        expect_history_of_floats(call(student, "train_forecaster", model, X, y, epochs=epochs, lr=lr,
                                      batch_size=batch_size, device="cpu", what=what, hint=TRAIN_HINT), epochs, what)
        return _flat(_weights(student, model))
    return run


ONCE_HINT = ("her dönem örnekler aynı sırayla geliyor: sıra yalnızca bir kez (dönem döngüsünden önce) çekilip her "
             "dönem yeniden kullanılıyor ya da tohum her dönem yeniden ayarlanıyor. Karıştırmayı dönem döngüsünün "
             "içinde yapın (`torch.randperm(m)` her dönem yeni bir sıra verir); fonksiyonun içinde her dönem "
             "`torch.manual_seed(...)` çağırmayın.")


FIVE_ORDERS = list(itertools.permutations(range(5)))


@per_process
def _shuffle_cases() -> dict:
    """The shuffle check's data and everything of it that does not depend on the student: the weights after one
    unshuffled epoch on twelve samples, and after one epoch in each of the 120 orders of five samples (120 Adam runs,
    the bulk of the check's own work: computed once per class, not once per student)."""
    rng = np.random.default_rng(28)
    X = rng.normal(size=(12, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + rng.normal(size=12)
    start = random_params(SHUFFLE_LAYERS, rng)
    X5 = rng.normal(size=(5, 3))
    y5 = X5 @ np.array([1.0, 0.5, -2.0]) + rng.normal(size=5) * 0.1
    return {"X": X, "y": y, "start": start, "unshuffled": _adam_orders(start, X, y, [range(12)], 0.05, 4),
            "X5": X5, "y5": y5,
            "candidates": np.stack([_adam_orders(start, X5, y5, [order], 0.05, 1) for order in FIVE_ORDERS])}


@grade("train_forecaster_test", weight=1)
def test_train_forecaster_shuffles_every_epoch(student):
    case = _shuffle_cases()
    start = case["start"]
    shapes = [tuple(w.shape) for w in start]
    # 1. Twelve samples: the order of the first epoch must follow the worker's random state (never shuffled, or a
    #    seed reset inside, gives the same weights for two seeds).
    what = "train_forecaster(model, X, y, lr=0.05, batch_size=4) (12 örnek, aynı model iki farklı tohumla)"
    run = _shuffle_run(student, case["X"], case["y"], shapes, 0.05, 4, what)
    expect_reshuffled_each_epoch(run, _flat(start), unshuffled=case["unshuffled"], what=what, tol=1e-5)
    # 2. Five samples, one per batch: the order of a call's first epoch is found among all 120 orders; the second
    #    epoch must not train exactly as that same order again (Adam's moments carry over, so only a replay tells).
    X5, y5 = case["X5"], case["y5"]
    what5 = "train_forecaster(model, X, y, epochs=2, lr=0.05, batch_size=1) (5 örnek)"
    run5 = _shuffle_run(student, X5, y5, shapes, 0.05, 1, what5)
    repeated = 0
    for seed in (11, 12):
        first = run5(seed, _flat(start), 1)
        orders = [order for order, weights in zip(FIVE_ORDERS, case["candidates"]) if close(first, weights, 1e-5)]
        if not orders:
            fail(f"{what5}: bir dönemlik eğitimin sonucu, örneklerin hiçbir sırasıyla atılan Adam adımlarına uymuyor. "
                 f"{TRAIN_HINT}")
        twice = run5(seed, _flat(start), 2)
        repeated += any(close(twice, _adam_orders(start, X5, y5, [order, order], 0.05, 1), 1e-5) for order in orders)
    if repeated == 2:
        fail(f"{what5}: {ONCE_HINT}")


DROPOUT_LAYERS = [("Flatten", 1, 2), ("Linear", 3, 8), ("ReLU",), ("Dropout", 0.5), ("Linear", 8, 1)]


@grade("train_forecaster_test", weight=1)
def test_train_forecaster_switches_to_train_mode(student):
    # lr=0: nothing changes, so the epoch's loss is the loss of the given weights; with Dropout active (train mode)
    # it differs from the loss in eval mode, which is what a loop that never calls model.train() reports.
    rng = np.random.default_rng(29)
    params = random_params(DROPOUT_LAYERS, rng)
    X = rng.normal(size=(20, 3)) * 2.0
    y = rng.normal(size=20)
    model = worker_sequential(student, DROPOUT_LAYERS, params)
    student.call_method(model, "eval", keep=True)
    what = ("train_forecaster(model, X, y, epochs=1, lr=0.0, batch_size=64) (Dropout'lu model eval() kipindeyken "
            "verildi)")
    history = expect_history_of_floats(call(student, "train_forecaster", model, X, y, epochs=1, lr=0.0,
                                            batch_size=64, device="cpu", what=what, hint=TRAIN_HINT), 1, what)
    with torch.no_grad():
        out = reference_sequential(DROPOUT_LAYERS, params).eval()(torch.tensor(X)[..., None])
        eval_loss = float(((out.reshape(-1) - torch.tensor(y)) ** 2).mean())
    if not np.isfinite(history[0]):
        fail(f"{what}: dönem kaybı sonlu bir sayı olmalı, ama {history[0]} geldi.")
    if abs(history[0] - eval_loss) <= 1e-5 * max(abs(eval_loss), 1.0):
        fail(f"{what}: eğitim Dropout kapalıyken yapılmış (kayıp, değerlendirme kipindeki kayıpla aynı). Model daha "
             "önce eval() kipine alınmış olabilir (ör. predict ile): eğitimden önce model.train() çağırın.")


@grade("train_forecaster_test", weight=2)
def test_train_forecaster_runs_on_device(student):
    model = _linear_model(student, 4)
    rng = np.random.default_rng(21)
    X, y = rng.normal(size=(10, 4)), rng.normal(size=10)
    what = "train_forecaster(model, X, y, epochs=1, batch_size=4, device=device)"
    try:
        history, counts = run_explained_on_device(student, "train_forecaster", model, X, y, epochs=1, lr=0.01,
                                                  batch_size=4, what=what, counting=True, model=model)
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    expect_history_of_floats(history, 1, what)
    expect_device_agnostic(student, ["train_forecaster", "predict"])
    expect_on_device(student, model, what=f"{what}: eğitilen model")
    expect_ops_on_device(counts, what=what)


@grade("train_forecaster_test", weight=1)
def test_train_forecaster_learns(student):
    rng = np.random.default_rng(22)
    X = rng.normal(size=(64, 4))
    y = X @ np.array([0.5, -1.0, 0.25, 2.0]) + 0.3
    model = _linear_model(student, 4)
    history = call(student, "train_forecaster", model, X, y, epochs=40, lr=0.05, batch_size=16, device="cpu",
                   what="train_forecaster(...)", hint=TRAIN_HINT)
    if not isinstance(history, list) or len(history) != 40 or not all(isinstance(v, float) for v in history):
        fail("train_forecaster(..., epochs=40): her dönem için bir ortalama kayıp, 40 Python float'lık bir liste "
             "bekleniyordu.")
    if not np.all(np.isfinite(history)) or not history[-1] < 0.02 * history[0]:
        fail(f"train_forecaster: doğrusal bir ilişkiyi öğrenemedi (ilk dönem kaybı {history[0]:.3g}, son dönem "
             f"{history[-1]:.3g}). y'yi model çıktısıyla aynı şekle, (m, 1)'e getirin (yoksa MSELoss yayınlama "
             "(broadcasting) ile yanlış bir kayıp hesaplar), X ile y'yi aynı sırayla karıştırın (tek bir "
             "torch.randperm(m) ile) ve her yığında zero_grad → backward → step sırasını izleyin.")


PREDICT_HINT = ("X'i (m, window, 1) float32 tensöre çevirip (3 boyutluysa olduğu gibi bırakıp) modelin çıktısını "
                "(m,) şeklinde döndürün: `.reshape(-1)` tek örnekte de (1,) verir (`.squeeze()` ise 0 boyutlu bir "
                "dizi).")


def _predict_result(student, model, X, what, **kwargs):
    out = call(student, "predict", model, X, what=what, hint=PREDICT_HINT, **kwargs)
    if isinstance(out, torch.Tensor):
        fail(f"{what}: bir NumPy dizisi bekleniyordu, ama bir tensör geldi: sonucu `.cpu().numpy()` ile çevirin.")
    if not isinstance(out, np.ndarray):
        fail(f"{what}: bir NumPy dizisi döndürmeli (`.cpu().numpy()`), ama {describe_value(out)} geldi.")
    if out.shape != (len(X),):
        fail(f"{what}: (m,) = ({len(X)},) şeklinde bir dizi bekleniyordu, ama {out.shape} geldi. {PREDICT_HINT}")
    return out


@grade("train_forecaster_test", weight=1)
def test_predict_values_and_shape(student):
    rng = np.random.default_rng(23)
    params = random_params(_linear_layers(3), rng)
    for n, three_d in ((11, False), (1, False), (4, True)):
        model = _linear_model(student, 3, params)
        X = rng.normal(size=(n, 3))
        if three_d:
            X = X[..., None]
        what = f"predict(model, X) ({n} örnek, X {X.shape} şeklinde)"
        got = _predict_result(student, model, X, what, device="cpu")
        with torch.no_grad():
            want = reference_sequential(_linear_layers(3), params)(torch.tensor(X.reshape(n, 3, 1)))
        expect_close(got, want.numpy().reshape(-1), tol=1e-5, what=what, hint=PREDICT_HINT)


EVAL_LAYERS = [("Flatten", 1, 2), ("Linear", 3, 6), ("ReLU",), ("Dropout", 0.5), ("Linear", 6, 1)]


@grade("train_forecaster_test", weight=1)
def test_predict_in_eval_mode(student):
    # A model with Dropout handed over in training mode: only model.eval() gives the deterministic predictions.
    rng = np.random.default_rng(30)
    params = random_params(EVAL_LAYERS, rng)
    model = worker_sequential(student, EVAL_LAYERS, params)
    X = rng.normal(size=(8, 3)) * 2.0
    what = "predict(model, X) (Dropout'lu bir model, eğitim kipinde verildi)"
    got = _predict_result(student, model, X, what, device="cpu")
    with torch.no_grad():
        want = reference_sequential(EVAL_LAYERS, params).eval()(torch.tensor(X)[..., None]).numpy().reshape(-1)
    if not close(got, want, 1e-5):
        fail(f"{what}: tahminler değerlendirme kipinde yapılmamış: Dropout nöronları rastgele kapatıyor. İleri "
             "geçişten önce model.eval() çağırın (torch.no_grad() kipi değiştirmez).")


@grade("train_forecaster_test", weight=1)
def test_predict_without_graph(student):
    rng = np.random.default_rng(31)
    params = random_params(_linear_layers(3), rng)
    model = _linear_model(student, 3, params)
    X = rng.normal(size=(5, 3))
    what = "predict(model, X)"
    got = expect_no_graph(student, "predict", model, X, device="cpu", what=what, hint=(
        "Tahmin için hesap grafiği gerekmez: model.eval() ile birlikte ileri geçişi `with torch.no_grad():` "
        "bağlamında yapın. Sonradan `.detach()` çağırmak grafiğin kurulmasını engellemez."))
    if not isinstance(got, np.ndarray) or got.shape != (5,):
        fail(f"{what}: (m,) = (5,) şeklinde bir NumPy dizisi bekleniyordu, ama {describe_value(got)} geldi. "
             f"{PREDICT_HINT}")
    with torch.no_grad():
        want = reference_sequential(_linear_layers(3), params)(torch.tensor(X)[..., None]).numpy().reshape(-1)
    expect_close(got, want, tol=1e-5, what=what, hint=PREDICT_HINT)


@grade("train_forecaster_test", weight=1)
def test_predict_runs_on_device(student):
    rng = np.random.default_rng(24)
    params = random_params(_linear_layers(4), rng)
    model = _linear_model(student, 4, params)
    X = rng.normal(size=(5, 4))
    what = "predict(model, X, device=device)"
    try:
        got, _ = run_explained_on_device(student, "predict", model, X, what=what, model=model)
        device = None
    except DeviceSimulationUnsupported:
        # e.g. torch.inference_mode(): right on a GPU, beyond the simulation; check it on the CPU instead.
        model = _linear_model(student, 4, params)
        got, _ = run_explained_on_device(student, "predict", model, X, what=what, device="cpu")
        device = "cpu"
    if not isinstance(got, np.ndarray) or got.shape != (5,):
        fail(f"{what}: cihazda çalışınca da sonucu CPU'da, (m,) şeklinde bir NumPy dizisi olarak döndürmeli "
             "(`out.cpu().numpy().reshape(-1)`), ama " + describe_value(got) + " geldi.")
    expect_device_agnostic(student, ["predict"])
    expect_on_device(student, model, device, what=f"{what}: model")
    if device == "cpu":
        with torch.no_grad():
            want = reference_sequential(_linear_layers(4), params)(torch.tensor(X)[..., None]).numpy().reshape(-1)
        expect_close(got, want, tol=1e-5, what=what, hint=PREDICT_HINT)


@grade("train_forecaster_test", weight=3)
def test_lstm_beats_naive_forecast(student, sunspots_split):
    _gate(student, "LSTMForecaster", sunspots_split,
          f"LSTMForecaster(1, {GATE_HIDDEN}) + train_forecaster({GATE_TEXT})")


# ---------------------------------------------------------------------------- 5. GRUForecaster

@grade("gru_forecaster_test", weight=1)
def test_gru_structure_and_init_hidden(student):
    _build(student, "GRUForecaster", 1, 8, 2)
    _check_init_hidden_cpu(student, "GRUForecaster")


@grade("gru_forecaster_test", weight=1)
def test_gru_runs_on_device(student):
    _check_init_hidden_on_device(student, "GRUForecaster")
    _check_forward_on_device(student, "GRUForecaster")


@grade("gru_forecaster_test", weight=1)
def test_gru_forward_matches_reference(student):
    _check_forward_values(student, "GRUForecaster")


@grade("gru_forecaster_test", weight=2)
def test_gru_beats_naive_forecast(student, sunspots_split):
    _gate(student, "GRUForecaster", sunspots_split,
          f"GRUForecaster(1, {GATE_HIDDEN}) + train_forecaster({GATE_TEXT})")
