"""Hidden checks for 02_regression.ipynb (split, standardization, model, training, prediction, R² gate).

Training checks build their model in the worker (with weights from the check, or the worker's seeded default
initialisation), so they depend on train_regressor alone. Expected values come from float64 references here.

- Full batch (batch_size > n): the trained model equals one SGD step per epoch on the MSE; NumPy and tensor inputs,
  targets of shape (n,) and (n, 1).
- Mini-batches where n is not a multiple of batch_size: every row of the data is the same (x = 0, y = c), so each
  batch's loss and gradient depend only on the model, not on which rows the shuffle put in it. That fixes the
  number of steps, every batch loss and so the epoch losses exactly, whatever the order.
- Shuffling every epoch: the same run repeated under other worker seeds (autograder.checks.training).
- The R² gate trains on "cpu" with its own seed, epochs and learning rate; device use is checked separately on the
  grading device (meta simulation without a GPU).
"""
import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from autograder.checks import as_array, describe_value, expect_close, expect_ndarray, expect_shape, expect_tensor, \
    fail, grade
from autograder.checks.inputs import put_noncontiguous
from autograder.checks.histories import batch_sizes, expect_epoch_losses, expect_history_of_floats
from autograder.checks.modes import expect_no_graph
from autograder.checks.training import expect_reshuffled_each_epoch
from autograder.device import expect_on_device, expect_ops_on_device
from autograder.checks import call, close
from autograder.checks.layouts import format_layout, layout
from autograder.checks.objects import random_params, reference_sequential, worker_sequential
from autograder.device import DeviceSimulationUnsupported, expect_device_agnostic, run_explained_on_device

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

FULL_BATCH_HINT = ("batch_size >= n iken her dönem bütün örneklerle tek bir tam yığın adımı atılır: yığınları "
                   "range(0, n, batch_size) ile alın (n // batch_size burada 0'dır). X ve y NumPy dizisi ya da tensör "
                   "olabilir: ikisini de torch.as_tensor(..., dtype=torch.float32) ile çevirin.")
TRAIN_HINT = ("Kayıp nn.MSELoss() (ortalama), eniyileyici torch.optim.SGD(model.parameters(), lr=lr); her dönem "
              "örnekleri karıştırıp sırayla batch_size'lık yığınlar alın (sonuncusu küçük olabilir), her yığında "
              "zero_grad → ileri geçiş → kayıp → backward → step. Verilen modeli eğitin, yenisini oluşturmayın.")


# ---------------------------------------------------------------------------- split_data / standardize

@grade("reg_data_test", weight=1)
def test_split_data_reproducible_with_seed(student):
    X = np.arange(80, dtype=np.float64).reshape(40, 2)
    y = np.arange(40, dtype=np.float64) * 0.5
    for test_size, seed in ((0.2, 0), (0.2, 7), (0.3, 11)):
        what = f"split_data(X, y, test_size={test_size}, seed={seed})"
        out = call(student, "split_data", X, y, test_size=test_size, seed=seed, what=what)
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


def _standardize_result(student, X_train, X_test, what="standardize(X_train, X_test)"):
    out = call(student, "standardize", X_train, X_test, what=what)
    if not isinstance(out, (list, tuple)) or len(out) != 2:
        fail(f"{what}: (X_train_std, X_test_std) ikilisi bekleniyordu.")
    for name, value in zip(("X_train_std", "X_test_std"), out):
        expect_ndarray(value, f"{what} → {name}")
        if value.dtype != np.float64:
            fail(f"{what} → {name}: float64 bir NumPy dizisi bekleniyordu, ama {value.dtype} geldi. Sonucu "
                 "float32'ye çevirmeyin: PyTorch'a geçerken çeviri train_regressor'ın işi.")
    return out


@grade("reg_data_test", weight=2)
def test_standardize_uses_training_statistics(student):
    X_train, X_test = _standardize_data()
    what = "standardize(X_train, X_test)"
    got_train, got_test = (as_array(v, what) for v in _standardize_result(student, X_train, X_test))
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    want_train, want_test = (X_train - mean) / std, (X_test - mean) / std
    if close(got_train, want_train) and close(got_test, want_test):
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
        if close(got_train, bad_train) and close(got_test, bad_test):
            fail(f"{what}: {message}")
    expect_close(got_train, want_train, what=f"{what} → X_train_std",
                 hint="Her sütundan eğitim ortalamasını çıkarıp eğitim standart sapmasına (X_train.std(axis=0)) bölün.")
    expect_close(got_test, want_test, what=f"{what} → X_test_std",
                 hint="X_test'i de X_train'in ortalaması ve standart sapmasıyla ölçekleyin.")


@grade("reg_data_test", weight=1)
def test_standardize_does_not_change_inputs(student):
    X_train, X_test = _standardize_data()
    h_train, h_test = student.put(X_train.copy()), student.put(X_test.copy())
    out = _standardize_result(student, h_train, h_test)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    expect_close(out[0], (X_train - mean) / std, what="standardize(X_train, X_test) → X_train_std")
    if not (np.array_equal(student.get(h_train), X_train) and np.array_equal(student.get(h_test), X_test)):
        fail("standardize verilen dizileri değiştirdi: `X -= mean` gibi yerinde (in-place) işlemler çağıranın "
             "verisini bozar. Yeni diziler üretin: (X_train - mean) / std.")


# ---------------------------------------------------------------------------- build_regressor

@grade("reg_model_test", weight=1)
def test_build_regressor_layers(student):
    for args, kwargs, want in (((10,), {}, [("Linear", 10, 16), ("ReLU",), ("Linear", 16, 1)]),
                               ((7,), {"hidden": 5}, [("Linear", 7, 5), ("ReLU",), ("Linear", 5, 1)])):
        what = f"build_regressor({', '.join([str(a) for a in args] + [f'{k}={v}' for k, v in kwargs.items()])})"
        model = call(student, "build_regressor", *args, keep=True, what=what, **kwargs)
        got = layout(student, model, what)
        if got != want:
            extra = ""
            if len(got) > len(want) and got[:len(want)] == want:
                extra = (" Çıktı katmanından sonra aktivasyon olmamalı: regresyonda çıktı her gerçel sayıyı "
                         "alabilmeli.")
            fail(f"{what}: katmanlar {format_layout(want)} olmalıydı, ama {format_layout(got)} geldi.{extra}")


# ---------------------------------------------------------------------------- train_regressor

TOY_LAYERS = [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 1)]


def _reference_sgd(params, X, y, epochs, lr, *, broadcast=False, accumulate=False):
    """Full-batch SGD on the MSE in float64; ``broadcast``: targets of shape (n,) against outputs (n, 1)."""
    model = reference_sequential(TOY_LAYERS, params)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
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


def _full_batch_case(student, seed, X_of, y_of, label):
    """Train TOY_LAYERS with batch_size > n; compare the model and the history with full-batch SGD."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=24)
    params = random_params(TOY_LAYERS, rng)
    epochs, lr = 4, 0.1
    model = worker_sequential(student, TOY_LAYERS, params)
    what = f"train_regressor(model, X, y, epochs=4, lr=0.1, batch_size=50) ({label}; 24 örnek: tek tam yığın)"
    history = call(student, "train_regressor", model, X_of(X), y_of(y), epochs=epochs, lr=lr, device="cpu",
                       batch_size=50, what=what, hint=FULL_BATCH_HINT)
    history = expect_history_of_floats(history, epochs, what)
    got = call(student, model, torch.tensor(X, dtype=torch.float32), contexts=["no_grad"],
                   what="eğitilmiş model(X)")
    expect_tensor(got, "eğitilmiş model(X)")
    expect_shape(got, (24, 1), "eğitilmiş model(X)")
    want, want_history = _reference_sgd(params, X, y, epochs, lr)
    expect_close(got, want, tol=1e-4, what=f"{what}: eğitilmiş modelin tahminleri", hint=TRAIN_HINT, mistakes=[
        ("model, hedeflerin şekli yanlışken öğrenilecek ağırlıkları öğrenmiş. Model (n, 1) şeklinde tahmin üretiyor, "
         "hedef ise başka bir şekilde: MSELoss bunları (n, n)'lik bir tabloya yayınlıyor (broadcasting) ve her "
         "tahmini bütün hedeflerle karşılaştırıyor. y (n,) ya da (n, 1) şeklinde verilebilir: ikisini de "
         "y.reshape(-1, 1) ile (n, 1) şekline getirin.",
         lambda: _reference_sgd(params, X, y, epochs, lr, broadcast=True)[0]),
        ("gradyanlar adımdan adıma birikmiş: her adımdan önce optimizer.zero_grad() çağırın.",
         lambda: _reference_sgd(params, X, y, epochs, lr, accumulate=True)[0]),
        ("model hiç güncellenmemiş. batch_size >= n iken her dönem bütün örneklerle tek bir tam yığın adımı atılmalı "
         "(yığınları range(0, n, batch_size) ile alın; n // batch_size tam yığın sayısı 0 olur).",
         lambda: _reference_sgd(params, X, y, 0, lr)[0]),
    ])
    expect_close(history, want_history, tol=1e-4, what=f"{what}: dönem kayıpları",
                 hint="Her dönemin kaybı, yığın kayıplarının (loss.item()) örnek sayısıyla ağırlıklı ortalaması "
                      "olmalı; tam yığında bu, adımdan önceki MSE'dir.")


@grade("reg_train_test", weight=2)
def test_train_regressor_full_batch_sgd(student):
    _full_batch_case(student, 21, lambda X: X, lambda y: y, "NumPy float64 X, (24,) şekilli y")


@grade("reg_train_test", weight=1)
def test_train_regressor_accepts_tensors_and_column_targets(student):
    _full_batch_case(student, 25, lambda X: torch.tensor(X, dtype=torch.float32),
                     lambda y: torch.tensor(y, dtype=torch.float32).reshape(-1, 1),
                     "float32 tensör X, (24, 1) şekilli tensör y")
    _full_batch_case(student, 26, lambda X: put_noncontiguous(student, torch.tensor(X)),
                     lambda y: y.reshape(-1, 1), "bitişik olmayan (non-contiguous) float64 tensör X, (24, 1) şekilli "
                     "NumPy y")


# Mini-batches on identical rows: x = 0 and y = C for every sample. A Linear(3, 1) model then predicts its bias b
# for every row; each batch's MSE is (b - C)², its gradient 2(b - C) on the bias and 0 on the weights.
CONST_TARGET = 2.0


def _constant_rows_run(sizes_per_epoch, b0, lr, reduction_sum=False):
    """(bias after training, batch losses per epoch) of SGD on identical rows, in float64."""
    b, losses = b0, []
    for sizes in sizes_per_epoch:
        epoch = []
        for m in sizes:
            epoch.append((b - CONST_TARGET) ** 2)
            b -= lr * 2.0 * (b - CONST_TARGET) * (m if reduction_sum else 1)
        losses.append(epoch)
    return b, losses


def _constant_rows_case(student, n, batch_size, epochs, lr=0.1):
    rng = np.random.default_rng(27 + n + batch_size)
    params = [torch.tensor(rng.uniform(-0.5, 0.5, size=(1, 3)), dtype=torch.float32),
              torch.tensor([-1.0], dtype=torch.float32)]
    model = worker_sequential(student, [("Linear", 3, 1)], params)
    X, y = np.zeros((n, 3)), np.full(n, CONST_TARGET)
    what = (f"train_regressor(model, X, y, epochs={epochs}, lr={lr}, batch_size={batch_size}) ({n} örnek: "
            + (f"yığınlar {batch_sizes(n, batch_size)})" if batch_size < n else "tek tam yığın)"))
    history = call(student, "train_regressor", model, X, y, epochs=epochs, lr=lr, device="cpu",
                       batch_size=batch_size, what=what, hint=FULL_BATCH_HINT if batch_size >= n else TRAIN_HINT)
    history = expect_history_of_floats(history, epochs, what)
    b = float(as_array(call(student, model, torch.zeros(1, 3), contexts=["no_grad"],
                                what="eğitilmiş model(x)")).reshape(-1)[0])
    sizes = batch_sizes(n, batch_size)
    want_b, losses = _constant_rows_run([sizes] * epochs, -1.0, lr)
    if abs(b - want_b) > 1e-4 * max(1.0, abs(want_b)):
        full = batch_sizes(n, batch_size, drop_last=True)
        variants = [
            ([full] * epochs, False, "yalnız tam yığınlarla adım atılmış: son, daha küçük yığın atlanıyor (örneğin "
             "range(n // batch_size)). Yığınları range(0, n, batch_size) ile alın; sonuncusu küçük olabilir."
             + (" batch_size >= n iken her dönem tek bir tam yığın adımı atılmalı." if not full else "")),
            ([[n]] * epochs, False, "her dönem tek bir adım atılmış: batch_size'lık mini yığınlara bölün ve her "
             "yığında bir adım atın."),
            ([sizes] * epochs, True, "kayıp yığının ortalaması yerine toplamı olarak (reduction=\"sum\") alınmış: "
             "nn.MSELoss() varsayılanıyla ortalama kayıp kullanın."),
            ([sizes], False, "yalnız bir dönem eğitilmiş: epochs kadar dönem yapın."),
        ]
        for sizes_per_epoch, summed, message in variants:
            other, _ = _constant_rows_run(sizes_per_epoch, -1.0, lr, summed)
            if abs(other - want_b) > 1e-4 and abs(b - other) <= 1e-4 * max(1.0, abs(other)):
                fail(f"{what}: {message}")
        fail(f"{what}: eğitimden sonra model beklenen yere gelmedi ({b:.6g} geldi, {want_b:.6g} bekleniyordu). "
             f"{TRAIN_HINT}")
    expect_epoch_losses(history, losses, sizes, what=f"{what}: dönem kayıpları")


@grade("reg_train_test", weight=2)
def test_train_regressor_minibatch_steps_and_epoch_losses(student):
    _constant_rows_case(student, 10, 4, 3)
    _constant_rows_case(student, 7, 16, 2)


SHUFFLE_LAYERS = [("Linear", 3, 1)]


@grade("reg_train_test", weight=1)
def test_train_regressor_shuffles_every_epoch(student):
    rng = np.random.default_rng(28)
    X = rng.normal(size=(12, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + rng.normal(size=12)
    start = random_params(SHUFFLE_LAYERS, rng)
    what = "train_regressor(model, X, y, lr=0.1, batch_size=4) (12 örnek, aynı model iki farklı tohumla)"

    shapes = [tuple(w.shape) for w in start]

    def run(seed, flat_weights, epochs):
        weights, offset = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            weights.append(torch.tensor(np.asarray(flat_weights[offset:offset + size]).reshape(shape),
                                        dtype=torch.float32))
            offset += size
        model = worker_sequential(student, SHUFFLE_LAYERS, weights)
        student.seed(seed)
        expect_history_of_floats(call(student, "train_regressor", model, X, y, epochs=epochs, lr=0.1,
                                          device="cpu", batch_size=4, what=what), epochs, what)
        return _flat([student.get(model, name) for name, *_ in student.describe(model)["parameters"]])

    reference = reference_sequential(SHUFFLE_LAYERS, start)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    Xt, yt = torch.tensor(X), torch.tensor(y).reshape(-1, 1)
    for i in range(0, 12, 4):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(Xt[i:i + 4]), yt[i:i + 4]).backward()
        optimizer.step()
    expect_reshuffled_each_epoch(run, _flat(start), unshuffled=_flat(list(reference.parameters())), what=what)


def _flat(tensors):
    return np.concatenate([as_array(t).reshape(-1) for t in tensors])


DROPOUT_LAYERS = [("Linear", 3, 16), ("ReLU",), ("Dropout", 0.5), ("Linear", 16, 1)]


@grade("reg_train_test", weight=1)
def test_train_regressor_switches_to_train_mode(student):
    # lr=0: nothing changes, so the epoch's loss is the loss of the given weights; with Dropout active (train mode)
    # it differs from the loss in eval mode, which is what a loop that never calls model.train() reports.
    rng = np.random.default_rng(29)
    params = random_params(DROPOUT_LAYERS, rng)
    X = rng.normal(size=(20, 3)) * 2.0
    y = rng.normal(size=20)
    model = worker_sequential(student, DROPOUT_LAYERS, params)
    student.call_method(model, "eval", keep=True)
    what = "train_regressor(model, X, y, epochs=1, lr=0.0, batch_size=64) (Dropout'lu model eval() kipindeyken verildi)"
    history = expect_history_of_floats(call(student, "train_regressor", model, X, y, epochs=1, lr=0.0,
                                                device="cpu", batch_size=64, what=what, hint=FULL_BATCH_HINT), 1,
                                       what)
    with torch.no_grad():
        out = reference_sequential(DROPOUT_LAYERS, params).eval()(torch.tensor(X))
        eval_loss = float(((out.reshape(-1) - torch.tensor(y)) ** 2).mean())
    if abs(history[0] - eval_loss) <= 1e-5 * max(abs(eval_loss), 1.0):
        fail(f"{what}: eğitim Dropout kapalıyken yapılmış (kayıp, değerlendirme kipindeki kayıpla aynı). Model daha "
             "önce eval() kipine alınmış olabilir: her dönemin başında model.train() çağırın.")


@grade("reg_train_test", weight=1)
def test_train_regressor_on_device(student):
    rng = np.random.default_rng(22)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([0.5, 1.0, -1.0])
    layers = [("Linear", 3, 4), ("ReLU",), ("Linear", 4, 1)]
    model = worker_sequential(student, layers)
    what = "train_regressor(model, X, y, epochs=2, batch_size=16, device=device)"
    try:
        history, counts = run_explained_on_device(student, "train_regressor", model, X, y, epochs=2, lr=0.01, batch_size=16,
                                         what=what, counting=True, model=model)
    except DeviceSimulationUnsupported:
        model = worker_sequential(student, layers)  # the simulation cannot run this code: check it on the CPU
        history, counts = run_explained_on_device(student, "train_regressor", model, X, y, epochs=2, lr=0.01, batch_size=16,
                                         what=what, counting=True, device="cpu")
        expect_on_device(student, model, "cpu", what=f"{what}: model")
        expect_device_agnostic(student, ["train_regressor"])
        return
    expect_history_of_floats(history, 2, what)
    expect_device_agnostic(student, ["train_regressor"])
    expect_on_device(student, model, what=f"{what}: eğitilen model")
    expect_ops_on_device(counts, what=what)


def _r2(y, pred):
    return 1.0 - float(np.sum((y - pred) ** 2)) / float(np.sum((y - y.mean()) ** 2))


def diabetes_r2(student, seed=GATE_SEED):
    """Train a fixed network with the student's train_regressor on the diabetes data; R² on the held-out set."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=GATE_SPLIT_SEED)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    y_mean, y_std = y_train.mean(), y_train.std()
    student.seed(seed)
    model = worker_sequential(student, [("Linear", 10, GATE_HIDDEN), ("ReLU",), ("Linear", GATE_HIDDEN, 1)])
    what = (f"train_regressor(model, X_train, y_train, epochs={GATE_EPOCHS}, lr={GATE_LR}, "
            f"batch_size={GATE_BATCH}) (diyabet verisi)")
    call(student, "train_regressor", model, X_train, (y_train - y_mean) / y_std, epochs=GATE_EPOCHS, lr=GATE_LR,
             device="cpu", batch_size=GATE_BATCH, what=what)
    out = call(student, model, torch.tensor(X_test, dtype=torch.float32), contexts=["no_grad"],
                   what="eğitilmiş model(X_test)")
    pred = as_array(out, "eğitilmiş model(X_test)").reshape(-1) * y_std + y_mean
    return _r2(y_test, pred), what


@grade("reg_train_test", weight=2)
def test_train_regressor_diabetes_r2(student):
    r2, what = diabetes_r2(student)
    if not np.isfinite(r2) or r2 < GATE_MIN_R2:
        fail(f"{what}: test kümesindeki R² = {r2:.3f}, en az {GATE_MIN_R2} bekleniyordu (doğru bir eğitimle "
             "yaklaşık 0,40–0,46 çıkıyor). Hedefin (n, 1) şeklinde olduğunu, her yığında zero_grad → ileri geçiş → "
             "MSELoss → backward → step sırasını, örneklerin her dönem karıştırıldığını ve bütün dönemlerin "
             "yapıldığını kontrol edin.")


# ---------------------------------------------------------------------------- predict

PREDICT_LAYERS = [("Linear", 3, 5), ("Tanh",), ("Linear", 5, 1)]


def _predict_result(student, model, X, what, **kwargs):
    out = call(student, "predict", model, X, what=what, **kwargs)
    if isinstance(out, torch.Tensor):
        fail(f"{what}: bir NumPy dizisi bekleniyordu, ama bir tensör geldi: sonucu `.cpu().numpy()` ile çevirin.")
    expect_ndarray(out, what)
    expect_shape(out, (len(X),), what)
    return out


@grade("reg_predict_test", weight=2)
def test_predict_values_and_shape(student):
    rng = np.random.default_rng(23)
    params = random_params(PREDICT_LAYERS, rng)
    for n, dtype in ((11, np.float64), (1, np.float64), (6, np.float32)):
        model = worker_sequential(student, PREDICT_LAYERS, params)
        X = (rng.normal(size=(n, 3)) * 2.0).astype(dtype)
        what = f"predict(model, X) ({n} örnek, NumPy {np.dtype(dtype).name} X)"
        out = _predict_result(student, model, X, what, device="cpu")
        with torch.no_grad():
            want = reference_sequential(PREDICT_LAYERS, params)(torch.tensor(X, dtype=torch.float64))
        expect_close(out, want.numpy().reshape(-1), tol=1e-5, what=what,
                     hint="Tahminler modelin X üzerindeki çıktısıdır, (n,) şeklinde: `.reshape(-1)` tek örnekte de "
                          "(1,) verir (`.squeeze()` ise 0 boyutlu bir dizi).")


NORM_LAYERS = [("Linear", 3, 6), ("BatchNorm1d", 6), ("ReLU",), ("Dropout", 0.5), ("Linear", 6, 1)]


@grade("reg_predict_test", weight=1)
def test_predict_in_eval_mode(student):
    # A model with Dropout and BatchNorm with non-trivial running statistics, handed over in training mode: only
    # model.eval() gives the deterministic predictions that use the running statistics.
    rng = np.random.default_rng(30)
    params = random_params(NORM_LAYERS, rng)
    model = worker_sequential(student, NORM_LAYERS, params)
    mean, var = rng.normal(size=6) * 0.5, rng.uniform(0.5, 2.0, size=6)
    student.call_method(model, "1.running_mean.copy_", torch.tensor(mean, dtype=torch.float32), keep=True)
    student.call_method(model, "1.running_var.copy_", torch.tensor(var, dtype=torch.float32), keep=True)
    X = rng.normal(size=(8, 3)) * 2.0
    what = "predict(model, X) (Dropout ve BatchNorm'lu bir model, eğitim kipinde verildi)"
    out = _predict_result(student, model, X, what, device="cpu")
    reference = reference_sequential(NORM_LAYERS, params)
    with torch.no_grad():
        reference[1].running_mean.copy_(torch.tensor(mean))
        reference[1].running_var.copy_(torch.tensor(var))
        want = reference.eval()(torch.tensor(X)).numpy().reshape(-1)
    if not close(out, want, 1e-5):
        fail(f"{what}: tahminler değerlendirme kipinde yapılmamış: Dropout nöronları rastgele kapatıyor ve "
             "BatchNorm yığının istatistiklerini kullanıyor. İleri geçişten önce model.eval() çağırın.")


@grade("reg_predict_test", weight=1)
def test_predict_without_graph(student):
    rng = np.random.default_rng(31)
    params = random_params(PREDICT_LAYERS, rng)
    model = worker_sequential(student, PREDICT_LAYERS, params)
    X = rng.normal(size=(5, 3))
    what = "predict(model, X)"
    out = expect_no_graph(student, "predict", model, X, device="cpu", what=what)
    with torch.no_grad():
        want = reference_sequential(PREDICT_LAYERS, params)(torch.tensor(X)).numpy().reshape(-1)
    expect_close(out, want, tol=1e-5, what=what)


@grade("reg_predict_test", weight=1)
def test_predict_on_device(student):
    rng = np.random.default_rng(24)
    params = random_params(PREDICT_LAYERS, rng)
    model = worker_sequential(student, PREDICT_LAYERS, params)
    X = rng.normal(size=(9, 3))
    what = "predict(model, X, device=device)"
    try:
        out, _ = run_explained_on_device(student, "predict", model, X, what=what, model=model)
        device = None
    except DeviceSimulationUnsupported:  # the simulation cannot run this code: check it on the CPU
        model = worker_sequential(student, PREDICT_LAYERS, params)
        out, _ = run_explained_on_device(student, "predict", model, X, what=what, device="cpu")
        device = "cpu"
    if not isinstance(out, np.ndarray):
        fail(f"{what}: GPU'da da bir NumPy dizisi döndürülmeli, ama {describe_value(out)} geldi: sonucu "
             "`.cpu().numpy()` ile CPU'ya alıp çevirin.")
    expect_shape(out, (9,), what)
    expect_device_agnostic(student, ["predict"])
    expect_on_device(student, model, device, what=f"{what}: model")
    if device == "cpu":
        with torch.no_grad():
            want = reference_sequential(PREDICT_LAYERS, params)(torch.tensor(X)).numpy().reshape(-1)
        expect_close(out, want, tol=1e-5, what=what)
