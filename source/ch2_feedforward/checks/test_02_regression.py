"""Hidden checks for 02_regression.ipynb (split, standardization, model, training, prediction, R² gate).

Training checks build their model in the worker (with weights from the check, or the
worker's seeded default initialisation), so they depend on train_regressor alone.
The R² gate trains on "cpu" with its own seed, epochs and learning rate; device use is
checked separately on the grading device (meta simulation without a GPU).
"""
import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from autograder.checks import as_array, expect_close, expect_ndarray, expect_shape, expect_tensor, fail, grade
from autograder.device import expect_on_device, expect_ops_on_device

# The R² gate, measured through the worker with the reference solution on one CPU core (taskset -c 0):
# seeds 0..11 and GATE_SEED give held-out R² 0.396 – 0.463 in about 0.25 s each; y of shape (n,) (the
# broadcasting bug) gives 0.03 – 0.13. A linear least-squares fit on this split scores 0.44.
GATE_SEED = 20240
GATE_SPLIT_SEED = 2
GATE_EPOCHS = 40
GATE_LR = 0.01
GATE_BATCH = 32
GATE_HIDDEN = 16
GATE_MIN_R2 = 0.30


# ---------------------------------------------------------------------------- split_data / standardize

@grade("reg_data_test", weight=1)
def test_split_data_reproducible_with_seed(student, kit):
    X = np.arange(80, dtype=np.float64).reshape(40, 2)
    y = np.arange(40, dtype=np.float64) * 0.5
    for test_size, seed in ((0.2, 0), (0.2, 7), (0.3, 11)):
        what = f"split_data(X, y, test_size={test_size}, seed={seed})"
        out = kit.call(student, "split_data", X, y, test_size=test_size, seed=seed, what=what)
        if not isinstance(out, (list, tuple)) or len(out) != 4:
            fail(f"{what}: (X_train, X_test, y_train, y_test) dörtlüsü bekleniyordu.")
        expected = train_test_split(X, y, test_size=test_size, random_state=seed)
        for part, got, want in zip(("X_train", "X_test", "y_train", "y_test"), out, expected):
            g = as_array(got, f"{what} → {part}")
            if g.shape != want.shape or not np.array_equal(g, want):
                fail(f"{what}: {part} beklenen ayrımla aynı değil. train_test_split'e test_size=test_size ve "
                     "random_state=seed verin; aynı seed her seferinde aynı ayrımı vermeli.")


def _standardize_data():
    rng = np.random.default_rng(5)
    X_train = rng.normal(size=(40, 3)) * np.array([1.0, 10.0, 0.1]) + np.array([5.0, -20.0, 0.3])
    X_test = rng.normal(size=(12, 3)) * np.array([3.0, 2.0, 0.5]) + np.array([9.0, 10.0, -1.0])
    return X_train, X_test


@grade("reg_data_test", weight=2)
def test_standardize_uses_training_statistics(student, kit):
    X_train, X_test = _standardize_data()
    what = "standardize(X_train, X_test)"
    out = kit.call(student, "standardize", X_train, X_test, what=what)
    if not isinstance(out, (list, tuple)) or len(out) != 2:
        fail(f"{what}: (X_train_std, X_test_std) ikilisi bekleniyordu.")
    got_train, got_test = (as_array(v, what) for v in out)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    want_train, want_test = (X_train - mean) / std, (X_test - mean) / std
    if kit.close(got_train, want_train) and kit.close(got_test, want_test):
        return
    X_all = np.concatenate([X_train, X_test])
    mistakes = [
        ((X_train - X_all.mean(axis=0)) / X_all.std(axis=0), (X_test - X_all.mean(axis=0)) / X_all.std(axis=0),
         "Ortalama ve standart sapma eğitim ve test verisinin tamamından hesaplanmış: bu, test kümesinden bilgi "
         "sızdırır (data leakage). İstatistikleri yalnız X_train'den hesaplayın, ikisine de onları uygulayın."),
        (want_train, (X_test - X_test.mean(axis=0)) / X_test.std(axis=0),
         "Test kümesi kendi ortalaması ve standart sapmasıyla ölçeklenmiş: test verisine de EĞİTİM kümesinin "
         "istatistiklerini uygulayın (gerçek kullanımda gelecekteki verinin istatistiklerini bilemeyiz)."),
        ((X_train - mean) / X_train.std(axis=0, ddof=1), (X_test - mean) / X_train.std(axis=0, ddof=1),
         "Standart sapma n - 1'e bölünerek hesaplanmış; NumPy'nin varsayılanı ve StandardScaler gibi n'ye bölün "
         "(X_train.std(axis=0))."),
    ]
    for bad_train, bad_test, message in mistakes:
        if kit.close(got_train, bad_train) and kit.close(got_test, bad_test):
            fail(f"{what}: {message}")
    expect_close(got_train, want_train, what=f"{what} → X_train_std",
                 hint="Her sütundan eğitim ortalamasını çıkarıp eğitim standart sapmasına (X_train.std(axis=0)) bölün.")
    expect_close(got_test, want_test, what=f"{what} → X_test_std",
                 hint="X_test'i de X_train'in ortalaması ve standart sapmasıyla ölçekleyin.")


@grade("reg_data_test", weight=1)
def test_standardize_does_not_change_inputs(student, kit):
    X_train, X_test = _standardize_data()
    h_train, h_test = student.put(X_train.copy()), student.put(X_test.copy())
    kit.call(student, "standardize", h_train, h_test, what="standardize(X_train, X_test)")
    if not (np.array_equal(student.get(h_train), X_train) and np.array_equal(student.get(h_test), X_test)):
        fail("standardize verilen dizileri değiştirdi: `X -= mean` gibi yerinde (in-place) işlemler çağıranın "
             "verisini bozar. Yeni diziler üretin: (X_train - mean) / std.")


# ---------------------------------------------------------------------------- build_regressor

@grade("reg_model_test", weight=1)
def test_build_regressor_layers(student, kit):
    for args, kwargs, want in (((10,), {}, [("Linear", 10, 16), ("ReLU",), ("Linear", 16, 1)]),
                               ((7,), {"hidden": 5}, [("Linear", 7, 5), ("ReLU",), ("Linear", 5, 1)])):
        what = f"build_regressor({', '.join([str(a) for a in args] + [f'{k}={v}' for k, v in kwargs.items()])})"
        model = kit.call(student, "build_regressor", *args, keep=True, what=what, **kwargs)
        got = kit.layout(student, model, what)
        if got != want:
            extra = ""
            if len(got) > len(want) and got[:len(want)] == want:
                extra = (" Çıktı katmanından sonra aktivasyon olmamalı: regresyonda çıktı her gerçel sayıyı "
                         "alabilmeli.")
            fail(f"{what}: katmanlar {kit.format_layout(want)} olmalıydı, ama {kit.format_layout(got)} geldi.{extra}")


# ---------------------------------------------------------------------------- train_regressor

TOY_LAYERS = [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 1)]


def _reference_sgd(kit, params, X, y, epochs, lr, *, broadcast=False, accumulate=False):
    """Full-batch SGD on the MSE in float64; ``broadcast``: targets of shape (n,) against outputs (n, 1)."""
    model = kit.reference_sequential(TOY_LAYERS, params)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    yt = yt.reshape(-1) if broadcast else yt.reshape(-1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        if not accumulate:
            optimizer.zero_grad()
        loss = ((model(Xt) - yt) ** 2).mean()
        history.append(loss.item())
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return model(Xt).numpy(), history


@grade("reg_train_test", weight=2)
def test_train_regressor_full_batch_sgd(student, kit):
    rng = np.random.default_rng(21)
    X = rng.normal(size=(24, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=24)
    params = kit.random_params(TOY_LAYERS, rng)
    epochs, lr = 4, 0.1
    model = kit.worker_sequential(student, TOY_LAYERS, params)
    what = "train_regressor(model, X, y, epochs=4, lr=0.1, batch_size=24) (NumPy float64 X, (24,) şekilli y)"
    history = kit.call(student, "train_regressor", model, X, y, epochs=epochs, lr=lr, device="cpu", batch_size=24,
                       what=what)
    if not isinstance(history, (list, tuple)) or len(history) != epochs:
        fail(f"{what}: her dönem için bir kayıp değeri içeren {epochs} ögeli bir liste döndürülmeliydi, ama "
             f"{type(history).__name__} geldi" + (f" ({len(history)} öge)." if isinstance(history, (list, tuple)) else "."))
    got = kit.call(student, model, torch.tensor(X, dtype=torch.float32), contexts=["no_grad"],
                   what="eğitilmiş model(X)")
    expect_tensor(got, "eğitilmiş model(X)")
    expect_shape(got, (24, 1), "eğitilmiş model(X)")
    want, want_history = _reference_sgd(kit, params, X, y, epochs, lr)
    if kit.close(got, want, 1e-4):
        expect_close([float(h) for h in history], want_history, tol=1e-4, what=f"{what}: dönem kayıpları",
                     hint="Her dönemin kaybı, yığın kayıplarının (loss.item()) örnek sayısıyla ağırlıklı ortalaması "
                          "olmalı; tam yığında bu, adımdan önceki MSE'dir.")
        return
    if kit.close(got, _reference_sgd(kit, params, X, y, epochs, lr, broadcast=True)[0], 1e-4):
        fail(f"{what}: model, hedeflerin şekli yanlışken öğrenilecek ağırlıkları öğrenmiş. Model (n, 1) şeklinde "
             "tahmin üretiyor, y ise (n,) şeklinde: MSELoss bunları (n, n)'lik bir tabloya yayınlıyor (broadcasting) "
             "ve her tahmini bütün hedeflerle karşılaştırıyor. Hedefi y.reshape(-1, 1) ile (n, 1) şekline getirin.")
    if kit.close(got, _reference_sgd(kit, params, X, y, epochs, lr, accumulate=True)[0], 1e-4):
        fail(f"{what}: gradyanlar adımdan adıma birikmiş: her adımdan önce optimizer.zero_grad() çağırın.")
    expect_close(got, want, tol=1e-4, what=f"{what}: eğitilmiş modelin tahminleri",
                 hint="Kayıp nn.MSELoss() (ortalama), eniyileyici torch.optim.SGD(model.parameters(), lr=lr); "
                      "batch_size >= n iken her dönem bütün örneklerle tek bir adım atılır. Verilen modeli eğitin, "
                      "yenisini oluşturmayın.")


@grade("reg_train_test", weight=1)
def test_train_regressor_on_device(student, kit):
    rng = np.random.default_rng(22)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([0.5, 1.0, -1.0])
    layers = [("Linear", 3, 4), ("ReLU",), ("Linear", 4, 1)]
    model = kit.worker_sequential(student, layers)
    what = "train_regressor(model, X, y, epochs=2, batch_size=16, device=device)"
    try:
        history, counts = kit.run_device(student, "train_regressor", model, X, y, epochs=2, lr=0.01, batch_size=16,
                                         what=what, counting=True)
    except kit.DeviceSimulationUnsupported:
        model = kit.worker_sequential(student, layers)  # the simulation cannot run this code: check it on the CPU
        history, counts = kit.run_device(student, "train_regressor", model, X, y, epochs=2, lr=0.01, batch_size=16,
                                         what=what, counting=True, device="cpu")
        expect_on_device(student, model, "cpu", what=f"{what}: model")
        kit.no_hardcoded_cuda(student)
        return
    expect_on_device(student, model, what=f"{what}: eğitilen model")
    expect_ops_on_device(counts, what=what)
    kit.no_hardcoded_cuda(student)


def _r2(y, pred):
    return 1.0 - float(np.sum((y - pred) ** 2)) / float(np.sum((y - y.mean()) ** 2))


def diabetes_r2(student, kit, seed=GATE_SEED):
    """Train a fixed network with the student's train_regressor on the diabetes data; R² on the held-out set."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=GATE_SPLIT_SEED)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    y_mean, y_std = y_train.mean(), y_train.std()
    student.seed(seed)
    model = kit.worker_sequential(student, [("Linear", 10, GATE_HIDDEN), ("ReLU",), ("Linear", GATE_HIDDEN, 1)])
    what = (f"train_regressor(model, X_train, y_train, epochs={GATE_EPOCHS}, lr={GATE_LR}, "
            f"batch_size={GATE_BATCH}) (diyabet verisi)")
    kit.call(student, "train_regressor", model, X_train, (y_train - y_mean) / y_std, epochs=GATE_EPOCHS, lr=GATE_LR,
             device="cpu", batch_size=GATE_BATCH, what=what)
    out = kit.call(student, model, torch.tensor(X_test, dtype=torch.float32), contexts=["no_grad"],
                   what="eğitilmiş model(X_test)")
    pred = as_array(out, "eğitilmiş model(X_test)").reshape(-1) * y_std + y_mean
    return _r2(y_test, pred), what


@grade("reg_train_test", weight=2)
def test_train_regressor_diabetes_r2(student, kit):
    r2, what = diabetes_r2(student, kit)
    if not np.isfinite(r2) or r2 < GATE_MIN_R2:
        fail(f"{what}: test kümesindeki R² = {r2:.3f}, en az {GATE_MIN_R2} bekleniyordu (doğru bir eğitimle "
             "yaklaşık 0,40–0,46 çıkıyor). Hedefin (n, 1) şeklinde olduğunu, her yığında zero_grad → ileri geçiş → "
             "MSELoss → backward → step sırasını, örneklerin her dönem karıştırıldığını ve bütün dönemlerin "
             "yapıldığını kontrol edin.")


# ---------------------------------------------------------------------------- predict

PREDICT_LAYERS = [("Linear", 3, 5), ("Tanh",), ("Linear", 5, 1)]


@grade("reg_predict_test", weight=2)
def test_predict_values_and_shape(student, kit):
    rng = np.random.default_rng(23)
    params = kit.random_params(PREDICT_LAYERS, rng)
    model = kit.worker_sequential(student, PREDICT_LAYERS, params)
    X = rng.normal(size=(11, 3)) * 2.0
    what = "predict(model, X) (11 örnek, NumPy float64 X)"
    out = kit.call(student, "predict", model, X, device="cpu", what=what)
    if isinstance(out, torch.Tensor):
        fail(f"{what}: bir NumPy dizisi bekleniyordu, ama bir tensör geldi: sonucu `.cpu().numpy()` ile çevirin.")
    expect_ndarray(out, what)
    expect_shape(out, (11,), what)
    with torch.no_grad():
        want = kit.reference_sequential(PREDICT_LAYERS, params)(torch.tensor(X)).numpy().reshape(-1)
    expect_close(out, want, tol=1e-5, what=what, hint="Tahminler modelin X üzerindeki çıktısıdır, (n,) şeklinde.")


@grade("reg_predict_test", weight=1)
def test_predict_on_device(student, kit):
    model = kit.worker_sequential(student, PREDICT_LAYERS)
    X = np.random.default_rng(24).normal(size=(9, 3))
    what = "predict(model, X, device=device)"
    try:
        out, _ = kit.run_device(student, "predict", model, X, what=what)
    except kit.DeviceSimulationUnsupported:
        return  # the simulation cannot run this code; the values check covers the CPU
    if isinstance(out, torch.Tensor) or not isinstance(out, np.ndarray):
        fail(f"{what}: GPU'da da bir NumPy dizisi döndürülmeli: sonucu `.cpu().numpy()` ile CPU'ya alıp çevirin.")
    expect_shape(out, (9,), what)
    expect_on_device(student, model, what=f"{what}: model")
