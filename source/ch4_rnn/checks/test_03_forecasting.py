"""Hidden checks for 03_forecasting.ipynb (LSTM/GRU forecasters, sliding windows, leak-free split, training loop).

Device checks run the student's models and loops on the check device (meta without a GPU). The forecasting
gates train on the CPU with fixed hyperparameters on the reference split (computed here); the worker gets
X_train, y_train and the test windows X_test (past values only, as at forecast time), never y_test. The RMSE is
computed here from the student's predictions, which must also agree with a forward pass of the trained weights
recomputed here (so predict cannot return anything but the model's output).
"""
import numpy as np
import torch
from torch import nn

from autograder.checks import call, CheckFailed, close, expect_close, expect_equal, fail, grade
from autograder.device import (DeviceSimulationUnsupported, expect_on_device, expect_ops_on_device,
                               run_counting_ops, run_on_device)
from autograder.checks.inputs import put_on_device
from autograder.checks.objects import parameter_arrays, tuple_items
from autograder.device import check_device, expect_no_hardcoded_device, expect_tensor_on_device

#: The forecasting gate: fixed hyperparameters; the model must beat this fraction of the naive RMSE.
GATE = dict(epochs=30, lr=0.01, batch_size=32)
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


def _reference_forward(cls, params, x, I, H, L):
    spec = MODELS[cls]
    layer = spec["nn"](I, H, num_layers=L, batch_first=True).double()
    head = nn.Linear(H, 1).double()
    with torch.no_grad():
        for name, value in params.items():
            owner, attr = name.split(".", 1)
            getattr(layer if owner == spec["layer"] else head, attr).copy_(torch.tensor(value))
        out, _ = layer(x.double())
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
    result = run_on_device(student, method, 4, keep=True, what=what)
    parts = tuple_items(student, result, 2, what) if spec["layer"] == "lstm" else [result]
    for label, handle in zip(("h0", "c0"), parts):
        expect_tensor_on_device(student, handle, (2, 4, 6), f"{what}: {label}")
    expect_no_hardcoded_device(student, {cls})


def _check_forward_on_device(student, cls):
    model = call(student, cls, input_size=1, hidden_size=6, num_layers=1, keep=True)
    student.call_method(model, "to", check_device())
    x = put_on_device(student, torch.randn(3, 7, 1))
    what = f"{cls}.forward"
    result = run_on_device(student, model, x, device_arg=None, keep=True, contexts=["no_grad"], what=what)
    expect_tensor_on_device(student, result, (3, 1), what)


def _check_forward_values(student, cls):
    for I, H, L in ((1, 6, 2), (2, 5, 1)):
        model, params = _build(student, cls, I, H, L)
        x = torch.randn(3, 7, I, generator=torch.Generator().manual_seed(20 + I))
        got = call(student, model, x, contexts=["no_grad"])
        what = f"{cls}(input_size={I}, hidden_size={H}, num_layers={L}) (3, 7, {I}) girdiyle"
        expected = _reference_forward(cls, params, x, I, H, L)
        if tuple(getattr(got, "shape", ())) != (3, 1):
            fail(f"{what}: çıktı (N, 1) = (3, 1) olmalıydı, ama {tuple(getattr(got, 'shape', ()))} geldi.")
        hint = "Tahmin, dizinin SON zaman adımındaki çıktıdan (out[:, -1]) self.head ile hesaplanmalı."
        expect_close(got, expected, tol=1e-5, what=what, hint=hint)


def _gate(student, cls, split, what):
    model = call(student, cls, input_size=1, hidden_size=GATE_HIDDEN, num_layers=1, keep=True)
    history = call(student, "train_forecaster", model, split.X_train, split.y_train, device="cpu", **GATE)
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
    got = call(student, "make_windows", series, window, horizon)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what}: bir (X, y) ikilisi bekleniyordu.")
    X, y = got
    X_ref, y_ref = reference.windows(series, window, horizon)
    m = len(series) - window - horizon + 1
    for label, value, shape in (("X", X, (m, window)), ("y", y, (m,))):
        if not isinstance(value, np.ndarray):
            fail(f"{what}: {label} bir NumPy dizisi olmalı.")
        if value.shape != shape:
            fail(f"{what}: {label} {shape} şeklinde olmalıydı (n − window − horizon + 1 = {m} örnek), ama "
                 f"{value.shape} geldi.")
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
def test_windows_from_integer_list(student, reference):
    _check_windows(student, reference, [3, 1, 4, 1, 5, 9, 2, 6], 3, 1)


# ---------------------------------------------------------------------------- 3. prepare_data

def _prepare(student, series, window, n_test, what):
    got = call(student, "prepare_data", series, window, n_test)
    if not isinstance(got, (tuple, list)) or len(got) != 5:
        fail(f"{what}: (X_train, y_train, X_test, y_test, (mean, std)) beşlisi bekleniyordu.")
    *arrays, stats = got
    if not isinstance(stats, (tuple, list)) or len(stats) != 2:
        fail(f"{what}: son öge bir (mean, std) ikilisi olmalı.")
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    return arrays, (float(stats[0]), float(stats[1]))


LEAK_SCALER = ("Ölçekleyici bütün seriden hesaplanmış: bu bir veri sızıntısı (data leakage), test döneminin bilgisi "
               "eğitime karışıyor. mean ve std'yi yalnızca eğitim kısmından (series[:len(series) - n_test]) "
               "hesaplayın.")


@grade("prepare_data_test", weight=2)
def test_prepare_data_on_sunspots(student, reference, series_data):
    window, n_test = 12, 62
    what = f"prepare_data(sunspots, window={window}, n_test={n_test})"
    (X_tr, y_tr, X_te, y_te), (mean, std) = _prepare(student, series_data, window, n_test, what)
    *ref, (ref_mean, ref_std) = reference.prepare(series_data, window, n_test)
    if not (close(mean, ref_mean) and close(std, ref_std)):
        *_, (all_mean, all_std) = reference.prepare(series_data, window, n_test, scale_on_all=True)
        if close(mean, all_mean) and close(std, all_std):
            fail(f"{what}: {LEAK_SCALER}")
        fail(f"{what}: (mean, std) = ({mean:.4f}, {std:.4f}), beklenen ({ref_mean:.4f}, {ref_std:.4f}): eğitim "
             "kısmının np.mean ve np.std değerleri (n'ye bölen standart sapma).")
    for label, got, expected in zip(("X_train", "y_train", "X_test", "y_test"), (X_tr, y_tr, X_te, y_te), ref):
        if got.shape != expected.shape:
            fail(f"{what}: {label} {expected.shape} şeklinde olmalıydı, ama {got.shape} geldi. Test kümesi son "
                 f"{n_test} pencere (hedefleri son {n_test} yılda olanlar), eğitim kümesi ondan önceki bütün "
                 "pencereler.")
        expect_close(got, expected, what=f"{what}: {label}",
                     hint="Pencereler zaman sırasıyla kalmalı: karıştırmadan, ölçeklenmiş seriden make_windows ile.")


@grade("prepare_data_test", weight=1)
def test_scaler_fitted_on_training_part_only(student):
    series = np.concatenate([np.sin(np.arange(40) * 0.5) * 10 + 20, np.full(10, 500.0)])  # a jump in the test tail
    what = "prepare_data (test döneminde ani bir sıçrama olan seri)"
    _, (mean, std) = _prepare(student, series, 4, 10, what)
    train = series[:40]
    if close(mean, series.mean()) or close(std, series.std()):
        fail(f"{what}: {LEAK_SCALER}")
    expect_close([mean, std], [train.mean(), train.std()], what=f"{what}: (mean, std)",
                 hint="mean ve std yalnızca eğitim kısmından (son n_test değer hariç), np.mean ve np.std ile.")


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
             "(X[:-n_test], X[-n_test:]).")
    shuffled = " Zaman serisinde karıştırmak (shuffle) geleceği eğitime sızdırır: sırayı koruyun."
    if not np.array_equal(t_test, np.arange(float(first_test), 40.0)):
        fail(f"{what}: test hedefleri serinin son {n_test} değeri olmalı, sırayla ({first_test:g}, …, 39); gelen: "
             f"{t_test[:10].tolist()}." + (shuffled if np.any(np.diff(t_test) <= 0) else ""))
    if not np.array_equal(t_train, np.arange(4.0, float(first_test))):
        fail(f"{what}: eğitim hedefleri 4, 5, …, {first_test - 1} olmalı, sırayla; gelen ilk değerler: "
             f"{t_train[:8].tolist()}." + (shuffled if np.any(np.diff(t_train) <= 0) else ""))


# ---------------------------------------------------------------------------- 4. train_forecaster / predict

def _linear_model(student, n_in):
    """nn.Sequential(nn.Flatten(), nn.Linear(n_in, 1)), built in the worker from the notebook's `nn`.

    It maps (N, n_in, 1) to (N, 1): a model for the training loop that does not depend on the student's classes.
    """
    flat = student.call_method("nn", "Flatten", keep=True)
    lin = student.call_method("nn", "Linear", n_in, 1, keep=True)
    return student.call_method("nn", "Sequential", flat, lin, keep=True)


@grade("train_forecaster_test", weight=2)
def test_train_forecaster_runs_on_device(student):
    model = _linear_model(student, 4)
    rng = np.random.default_rng(21)
    X, y = rng.normal(size=(8, 4)), rng.normal(size=8)
    try:
        history, ops = run_counting_ops(student, "train_forecaster", model, X, y, epochs=1, lr=0.01, batch_size=4,
                                        what="train_forecaster")
    except (CheckFailed, DeviceSimulationUnsupported) as failure:
        if not isinstance(failure, DeviceSimulationUnsupported):
            raise
        # The simulation cannot run this (right) code: check it on the CPU instead.
        model = _linear_model(student, 4)
        history = call(student, "train_forecaster", model, X, y, epochs=1, lr=0.01, batch_size=4, device="cpu")
        ops = None
    if not isinstance(history, list) or len(history) != 1:
        fail("train_forecaster: her dönem için bir kayıp içeren bir liste döndürmeli.")
    if ops is not None:
        expect_on_device(student, model, what="train_forecaster içindeki model")
        expect_ops_on_device(ops, what="train_forecaster")
    expect_no_hardcoded_device(student, {"train_forecaster", "predict"})


@grade("train_forecaster_test", weight=1)
def test_train_forecaster_learns(student):
    rng = np.random.default_rng(22)
    X = rng.normal(size=(64, 4))
    y = X @ np.array([0.5, -1.0, 0.25, 2.0]) + 0.3
    model = _linear_model(student, 4)
    history = call(student, "train_forecaster", model, X, y, epochs=40, lr=0.05, batch_size=16, device="cpu")
    if not isinstance(history, list) or len(history) != 40 or not all(isinstance(v, float) for v in history):
        fail("train_forecaster(..., epochs=40): her dönem için bir ortalama kayıp, 40 Python float'lık bir liste "
             "bekleniyordu.")
    if not np.all(np.isfinite(history)) or not history[-1] < 0.02 * history[0]:
        fail(f"train_forecaster: doğrusal bir ilişkiyi öğrenemedi (ilk dönem kaybı {history[0]:.3g}, son dönem "
             f"{history[-1]:.3g}). y'yi model çıktısıyla aynı şekle, (m, 1)'e getirin (yoksa MSELoss yayınlama "
             "(broadcasting) ile yanlış bir kayıp hesaplar) ve her yığında zero_grad → backward → step sırasını "
             "izleyin.")


@grade("train_forecaster_test", weight=1)
def test_predict_values_and_shape(student):
    model = _linear_model(student, 3)
    params = parameter_arrays(student, model, "nn.Sequential(nn.Flatten(), nn.Linear(3, 1))")
    X = np.random.default_rng(23).normal(size=(11, 3))
    got = call(student, "predict", model, X, device="cpu")
    if not isinstance(got, np.ndarray):
        fail(f"predict: bir NumPy dizisi döndürmeli (`.cpu().numpy()`), ama {type(got).__name__} geldi.")
    if got.shape != (11,):
        fail(f"predict: (m,) = (11,) şeklinde bir dizi bekleniyordu, ama {got.shape} geldi: `.reshape(-1)` ile "
             "(m, 1) çıktıyı düzleştirin.")
    expected = X @ params["1.weight"].reshape(-1) + params["1.bias"][0]
    expect_close(got, expected, tol=1e-5, what="predict(model, X)",
                 hint="X'i (m, window, 1) float32 tensöre çevirip modelin çıktısını döndürün.")


@grade("train_forecaster_test", weight=1)
def test_predict_runs_on_device(student):
    model = _linear_model(student, 4)
    X = np.random.default_rng(24).normal(size=(5, 4))
    on_device = True
    try:
        got = run_on_device(student, "predict", model, X, what="predict")
    except (CheckFailed, DeviceSimulationUnsupported) as failure:
        if not isinstance(failure, DeviceSimulationUnsupported):
            raise
        # e.g. torch.inference_mode(): right on a GPU, beyond the simulation; check it on the CPU instead.
        model, on_device = _linear_model(student, 4), False
        got = call(student, "predict", model, X, device="cpu")
    if not isinstance(got, np.ndarray) or got.shape != (5,):
        fail("predict: cihazda çalışınca da sonucu CPU'da, (m,) şeklinde bir NumPy dizisi olarak döndürmeli "
             "(`out.cpu().numpy().reshape(-1)`).")
    if on_device:
        expect_on_device(student, model, what="predict içindeki model")


@grade("train_forecaster_test", weight=3)
def test_lstm_beats_naive_forecast(student, sunspots_split):
    _gate(student, "LSTMForecaster", sunspots_split,
          f"LSTMForecaster(1, {GATE_HIDDEN}) + train_forecaster(epochs=30, lr=0.01, batch_size=32)")


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
          f"GRUForecaster(1, {GATE_HIDDEN}) + train_forecaster(epochs=30, lr=0.01, batch_size=32)")
