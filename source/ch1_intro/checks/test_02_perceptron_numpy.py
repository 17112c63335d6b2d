"""Hidden checks for 02_perceptron_numpy.ipynb (bias column, step function, perceptron rule, accuracy)."""
import numpy as np

from autograder.checks import (call, close, expect_close, expect_ndarray, expect_number, expect_shape, fail, grade)
from autograder.checks import mistakes

BIAS_HINT = ("predict'e verilen X sapma sütununu zaten içerir: (n, d + 1) şekilli X ile (d + 1,) şekilli w'yi "
             "doğrudan çarpın (np.dot(X, w)); sapma sütununu predict içinde yeniden eklemeyin.")


# ---------------------------------------------------------------------------- add_bias_column

@grade("np_add_bias_column_test", weight=2)
def test_add_bias_column_prepends_ones(student):
    X = np.random.default_rng(3).normal(size=(6, 3)) * 5
    hX = student.put(X)
    got = call(student, "add_bias_column", hX)
    what = "add_bias_column(X)"
    expect_ndarray(got, what)
    shape = tuple(got.shape)
    if shape == X.shape:
        fail(f"{what}: şekil {shape} kaldı; sapma sütunu eklenmemiş. Başa birlerden oluşan bir sütun ekleyin: "
             "np.concatenate((np.ones((n, 1)), X), axis=1).")
    if shape == (X.shape[0], X.shape[1] + 2):
        fail(f"{what}: şekil {shape}; sapma sütunu iki kez eklenmiş. Yalnızca bir sütun (x0 = 1) ekleyin.")
    if shape == (X.shape[0] + 1, X.shape[1]):
        fail(f"{what}: şekil {shape}; birler bir satır olarak eklenmiş. Sütun olarak ekleyin (axis=1).")
    expect_shape(got, (X.shape[0], X.shape[1] + 1), what)
    got = np.asarray(got, dtype=np.float64)
    if np.all(got[:, -1] == 1.0) and not np.all(got[:, 0] == 1.0):
        fail(f"{what}: birler sütunu sona eklenmiş; x0 = 1 ilk sütun olmalı (sapma ağırlığı w0 ile eşleşir).")
    if not np.all(got[:, 0] == 1.0):
        fail(f"{what}: ilk sütun birlerden oluşmalı (x0 = 1).")
    expect_close(got[:, 1:], X, what=f"{what}[:, 1:]", hint="X'in sütunları değişmeden, sırasıyla gelmeli.")
    if not np.array_equal(np.asarray(student.get(hX)), X):
        fail(f"{what}: verilen X dizisi değişti. X'e yerinde (in-place) yazmayın; sonucu yeni bir dizide "
             "oluşturun: np.concatenate((np.ones((n, 1)), X), axis=1).")


@grade("np_add_bias_column_test", weight=1)
def test_add_bias_column_int_input_gives_float(student):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)
    got = call(student, "add_bias_column", X)
    what = "add_bias_column(X) (tam sayı X ile)"
    expect_ndarray(got, what)
    expect_shape(got, (4, 3), what)
    if got.dtype.kind != "f":
        fail(f"{what}: sonuç ondalıklı (float) olmalıydı, ama {got.dtype} geldi. np.insert ve tam sayı X ile "
             "np.concatenate türü int bırakır; np.ones((n, 1)) kullanın ya da X'i np.asarray(X, dtype=float) "
             "ile çevirin.")
    expect_close(got, np.concatenate((np.ones((4, 1)), X), axis=1), what=what)


# ---------------------------------------------------------------------------- predict

def _predict_problem(got, X, w):
    """A Turkish sentence naming a typical mistake, or ''."""
    z = X @ w
    vals = set(np.unique(np.asarray(got)).tolist())
    if -1 in vals or -1.0 in vals:
        return ("Etiketler 0 ve 1 olmalı, −1 ve +1 değil: np.where(x·w > 0, 1, 0) kullanın "
                "(np.sign da −1 verir).")
    if close(got, np.where(z >= 0, 1, 0)) and not close(got, np.where(z > 0, 1, 0)):
        return "x·w = 0 olduğunda çıktı 0 olmalı: koşul `> 0` olmalı, `>= 0` değil."
    return ""


@grade("np_predict_test", weight=2)
def test_predict_values(student):
    rng = np.random.default_rng(21)
    X = np.concatenate((np.ones((30, 1)), rng.normal(size=(30, 3))), axis=1)
    w = np.array([0.3, -1.2, 0.8, 0.5])
    got = call(student, "predict", X, w, hint=BIAS_HINT)
    what = "predict(X, w)"
    expect_ndarray(got, what)
    expect_shape(got, (30,), what)
    expected = np.where(X @ w > 0, 1, 0)
    if not close(got, expected):
        problem = _predict_problem(got, X, w)
        expect_close(got, expected, what=what, hint=problem or "x·w > 0 ise 1, değilse 0.")


@grade("np_predict_test", weight=1)
def test_predict_step_at_zero_is_zero(student):
    X = np.array([[1.0, 2.0, -1.0], [1.0, 0.0, 0.0], [1.0, -1.0, 0.5], [1.0, 3.0, 1.0]])
    w = np.array([0.0, 1.0, 2.0])  # x·w = 0, 0, 0, 5
    got = call(student, "predict", X, w, hint=BIAS_HINT)
    expected = np.array([0, 0, 0, 1])
    if not close(got, expected):
        problem = _predict_problem(got, X, w)
        expect_close(got, expected, what="predict(X, w) (x·w = 0 olan satırlarla)",
                     hint=problem or "x·w = 0 olduğunda çıktı 0 olmalı (adım fonksiyonu: x·w > 0 ise 1).")


@grade("np_predict_test", weight=1)
def test_predict_single_row(student):
    w = np.array([0.5, -1.0, 2.0])
    for x in (np.array([1.0, 0.5, 0.25]), np.array([1.0, 2.0, 0.1]), np.array([1.0, 2.5, 1.0])):  # x·w = 0.5, -1.3, 0
        got = call(student, "predict", x, w, hint="predict tek bir (d + 1,) satırla da çalışmalı: np.dot(x, w) "
                                                   "bir sayı verir; axis=1 gibi 2 boyut varsayan ifadelerden kaçının.")
        what = f"predict(x, w) (tek satır, x·w = {float(x @ w):g})"
        arr = np.asarray(got) if isinstance(got, (np.ndarray, np.generic, int, float, bool)) else None
        if arr is None or arr.size != 1:
            fail(f"{what}: tek bir 0/1 değeri bekleniyordu, ama {type(got).__name__} geldi"
                 + (f" ({arr.shape} şekilli)" if arr is not None else "") + ".")
        value = float(arr.reshape(()))
        expected = 1.0 if x @ w > 0 else 0.0
        if value != expected:
            if value == -1.0:
                fail(f"{what}: −1 geldi; etiketler 0 ve 1 olmalı: np.where(x·w > 0, 1, 0).")
            fail(f"{what}: {expected:g} bekleniyordu, ama {value:g} geldi"
                 + (" (x·w = 0 olduğunda çıktı 0 olmalı: `> 0`, `>= 0` değil)." if x @ w == 0 else "."))


@grade("np_predict_test", weight=1)
def test_predict_returns_ints(student):
    X = np.array([[1.0, 0.5, -2.0], [1.0, 2.0, 1.0], [1.0, -3.0, 0.0]])
    w = np.array([0.1, 1.0, 0.5])
    got = call(student, "predict", X, w, hint=BIAS_HINT)
    what = "predict(X, w)"
    expect_ndarray(got, what)
    if got.dtype.kind == "b":
        fail(f"{what}: mantıksal (bool) bir dizi geldi; 0/1 tam sayı etiketler bekleniyor: "
             "np.where(np.dot(X, w) > 0, 1, 0) ya da (... > 0).astype(int).")
    if got.dtype.kind not in "iu":
        fail(f"{what}: etiketler tam sayı (int) olmalı, ama {got.dtype} geldi. np.where(..., 1, 0) int verir.")
    expect_close(got, np.where(X @ w > 0, 1, 0), what=what)


# ---------------------------------------------------------------------------- fit

FIT_HINT = "fit'e X sapma sütunu olmadan verilir; fit sütunu add_bias_column ile kendisi eklemeli."


def _fit_mistakes(reference, X, y, w0, alpha, epochs):
    """(message, weights) of typical mistakes, computed lazily, in the order they are tried."""
    def epoch_start():  # every y_hat of an epoch from the w at its start: the same as one summed update per epoch
        Xb = np.concatenate((np.ones((len(X), 1)), X), axis=1)
        w = np.array(w0, dtype=float)
        for _ in range(epochs):
            w = w + alpha * Xb.T @ (y - np.where(Xb @ w > 0, 1, 0))
        return w

    out = [
        ("Adım fonksiyonunda x·w = 0 iken tahmin 0 olmalı (`> 0`, `>= 0` değil).",
         lambda: reference(X, y, w0, alpha, epochs, ge=True)),
        ("Tahminler 0/1 olmalı (−1/+1 değil); aksi hâlde y − ŷ yanlış hesaplanır.",
         lambda: reference(X, y, w0, alpha, epochs, signed=True)),
        ("Sapma sütunu (x0 = 1) başa eklenmeli; w0 sapmanın ağırlığıdır.",
         lambda: reference(X, y, w0, alpha, epochs, bias_last=True)),
        ("Güncelleme işareti ters: w ← w + α(y − ŷ)x olmalı, (ŷ − y) değil.",
         lambda: reference(X, y, w0, -alpha, epochs)),
        ("Tahminler (ŷ) dönem başındaki w ile hesaplanmış: ya tahminler döngüden önce bir kez alınmış ya da ağırlıklar "
         "dönem başına bir kez, bütün örneklerin toplamıyla güncellenmiş (ikisi aynı sonucu verir). Algılayıcı kuralı "
         "her örnekten sonra günceller: ŷ, o örneğe gelindiğinde o anki w ile, döngünün içinde predict(xi, w) ile "
         "hesaplanmalı.", epoch_start),
        ("Öğrenme oranı alpha kullanılmamış (sabit 0.1 yazılmış olabilir): güncellemede verilen alpha'yı kullanın.",
         lambda: reference(X, y, w0, 0.1, epochs) if alpha != 0.1 else None),
        (f"Yalnızca bir dönem yapılmış; örneklerin üzerinden epochs={epochs} kez geçin.",
         lambda: reference(X, y, w0, alpha, 1) if epochs != 1 else None),
    ]
    return out


def _check_fit(student, reference, X, y, w0, alpha, epochs, what, pass_kwargs=True):
    if pass_kwargs:
        got = call(student, "fit", X, y, w0, alpha=alpha, epochs=epochs, hint=FIT_HINT)
    else:
        got = call(student, "fit", X, y, w0, hint=FIT_HINT)
    expect_ndarray(got, what)
    if tuple(got.shape) != (X.shape[1] + 1,):
        fail(f"{what}: {X.shape[1] + 1} ağırlık (sapma + her özellik için bir) bekleniyordu, ama "
             f"{tuple(got.shape)} şekilli bir dizi geldi.")
    if got.dtype.kind != "f":
        fail(f"{what}: ağırlıklar ondalıklı (float) bir dizi olmalıydı, ama {got.dtype} geldi. w0'ın ondalıklı bir "
             "kopyasıyla başlayın: w = np.array(w0, dtype=float).")
    expected = reference(X, y, w0, alpha, epochs)
    # float32 weights are floats too (the text asks for "ondalıklı"): compared at float32's precision
    tol = 1e-10 if got.dtype == np.float64 else 1e-5
    mistakes.expect_close(got, expected, tol=tol, what=what, unique=True,
                          mistakes=_fit_mistakes(reference, X, y, w0, alpha, epochs),
                          hint="Güncellemeyi her örnekten sonra, örnekler verildikleri sırayla, w0'ın bir kopyasından "
                               "başlayarak yapın: w ← w + α(y − ŷ)x.")
    return got


@grade("np_fit_test", weight=2)
def test_fit_and_one_epoch(student, perceptron_reference, and_data):
    X, y = and_data
    w0 = np.array([0.2, -0.4, 0.1])
    _check_fit(student, perceptron_reference, X, y, w0, 0.25, 1, "fit(X_AND, y_AND, w0, alpha=0.25, epochs=1)")


@grade("np_fit_test", weight=1)
def test_fit_and_from_zero_weights(student, perceptron_reference, and_data):
    X, y = and_data
    _check_fit(student, perceptron_reference, X, y, np.zeros(3), 0.5, 3,
               "fit(X_AND, y_AND, sıfır w0, alpha=0.5, epochs=3)")


@grade("np_fit_test", weight=2)
def test_fit_blobs_with_defaults(student, perceptron_reference, blobs):
    X, y = blobs
    w0 = np.array([0.3, -0.5, 0.8])
    _check_fit(student, perceptron_reference, X, y, w0, 0.1, 10, "fit(X, y, w0) (make_blobs, varsayılan alpha=0.1, "
               "epochs=10)", pass_kwargs=False)


@grade("np_fit_test", weight=1)
def test_fit_integer_w0(student, perceptron_reference, blobs):
    X, y = blobs
    X, y = X[:30], y[:30]
    w0 = np.array([1, -1, 0], dtype=np.int64)
    _check_fit(student, perceptron_reference, X, y, w0, 0.05, 3,
               "fit(X, y, w0) (tam sayı w0 = np.array([1, -1, 0]) ile)")


@grade("np_fit_test", weight=1)
def test_fit_does_not_change_inputs(student, perceptron_reference, blobs):
    X, y = blobs
    X, y = X[:20], y[:20]
    w0 = np.array([0.3, -0.5, 0.8])
    hX, hy, hw = student.put(X), student.put(y), student.put(w0)
    got = call(student, "fit", hX, hy, hw, alpha=0.1, epochs=2, hint=FIT_HINT)
    if not close(got, perceptron_reference(X, y, w0, 0.1, 2)):
        fail("fit(X, y, w0, alpha=0.1, epochs=2): önce doğru ağırlıkları döndürmeli; girdilerin değişmediği ancak o "
             "zaman denetlenir.")
    if not np.array_equal(np.asarray(student.get(hw)), w0):
        fail("fit, çağıranın w0 dizisini değiştirdi. `w = w0` yeni bir dizi oluşturmaz, aynı diziye ikinci bir ad "
             "verir; `w += ...` de w0'ı değiştirir. Bir kopyayla başlayın: w = np.array(w0, dtype=float) "
             "(ya da w0.copy()).")
    if not np.array_equal(np.asarray(student.get(hX)), X):
        fail("fit, verilen X dizisini değiştirdi; X'e yerinde (in-place) yazmayın, yeni bir dizi oluşturun.")
    if not np.array_equal(np.asarray(student.get(hy)), y):
        fail("fit, verilen y dizisini değiştirdi; y'ye yerinde (in-place) yazmayın.")


# ---------------------------------------------------------------------------- accuracy

def _accuracy(student, y_true, y_pred, expected, what, known=(), hint=""):
    got = call(student, "accuracy", y_true, y_pred)
    mistakes.expect_close(expect_number(got, what), expected, what=what, mistakes=known, hint=hint)
    if not isinstance(got, float):  # np.float64 is a float
        fail(f"{what}: bir Python float bekleniyordu, ama {type(got).__name__} geldi: sonucu float(...) ile çevirin.")


@grade("np_accuracy_test", weight=1)
def test_accuracy_is_a_fraction(student):
    y_true = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1])
    y_pred = np.array([1, 0, 0, 1, 0, 1, 1, 0, 1, 0])  # 7 of 10
    what = "accuracy(y_true, y_pred)"
    _accuracy(student, y_true, y_pred, 0.7, what, [
        ("doğru tahminlerin sayısı (7) döndürülmüş; oranı döndürün: doğru sayısı / örnek sayısı "
         "(np.mean(y_true == y_pred)).", 7.0),
        ("sonuç yüzde olarak (70) verilmiş; 0 ile 1 arasında bir oran döndürün (0.7).", 70.0),
        ("yanlış tahminlerin oranı (0.3) döndürülmüş; doğru tahminlerin oranını döndürün.", 0.3),
    ], hint="Doğru tahminlerin oranı: np.mean(y_true == y_pred).")
    _accuracy(student, np.array([0, 1, 1]), np.array([0, 1, 1]), 1.0, "accuracy (hepsi doğru)")


@grade("np_accuracy_test", weight=1)
def test_accuracy_not_rounded(student):
    y_true = np.array([1, 0, 1, 1, 0, 1])
    y_pred = np.array([1, 0, 0, 1, 1, 1])  # 4 of 6
    what = "accuracy(y_true, y_pred) (6 örnekten 4'ü doğru)"
    _accuracy(student, y_true, y_pred, 4 / 6, what, [
        ("sonuç yuvarlanmış; oranı yuvarlamadan döndürün (4 / 6 = 0.666…).", lambda: round(4 / 6, 2)),
        ("sonuç yuvarlanmış; oranı yuvarlamadan döndürün (4 / 6 = 0.666…).", lambda: round(4 / 6, 3)),
        ("sonuç yuvarlanmış; oranı yuvarlamadan döndürün (4 / 6 = 0.666…).", lambda: round(4 / 6, 1)),
        ("sonuç yüzde olarak verilmiş; 0 ile 1 arasında bir oran döndürün.", 400 / 6),
        ("doğru tahminlerin sayısı döndürülmüş; oranı döndürün.", 4.0),
    ], hint="Doğru tahminlerin oranı: np.mean(y_true == y_pred), yuvarlamadan.")
