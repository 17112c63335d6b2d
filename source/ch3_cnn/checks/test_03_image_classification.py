"""Hidden checks for 03_image_classification.ipynb (normalisation, training loop, prediction and evaluation).

The training gate fixes its own budget: 10 epochs, Adam lr=3e-3, batch size 32, on the CPU. The
trained weights are read back and the test accuracy is computed here; the test labels never
enter the worker. Device checks run the same functions on `check_device()` (the meta simulation
without a GPU) with one or two tiny batches.
"""
import math

import numpy as np
import torch

from autograder.checks import expect_close, expect_tensor, fail, grade
from autograder.device import not_simulated
from autograder.device import expect_no_hardcoded_device, expect_on_device, expect_ops_on_device, run_counting_ops
from autograder.checks import call, call_method
from autograder.checks.objects import fetch_state, module_info
from autograder.device import DeviceSimulationUnsupported, check_device, run_on_device

GATE = {"epochs": 10, "lr": 3e-3, "batch_size": 32}
MIN_ACCURACY = 0.95


# ---------------------------------------------------------------------------- normalize_splits


def _standardise(x, mean_of, ddof):
    mean = mean_of.mean(dim=(0, 2, 3), keepdim=True)
    std = mean_of.std(dim=(0, 2, 3), keepdim=True, correction=ddof)
    return (x - mean) / std


def _normalize(student, X_train, X_test, what):
    out = call(student, "normalize_splits", X_train, X_test)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"{what}: (X_train_norm, X_test_norm) çifti döndürülmeliydi, ama {type(out).__name__} geldi.")
    for part, x in zip(out, (X_train, X_test)):
        expect_tensor(part, what)
        if tuple(part.shape) != tuple(x.shape):
            fail(f"{what}: normalleştirilmiş tensörler girdilerle aynı şekilde olmalı: {tuple(x.shape)} "
                 f"bekleniyordu, {tuple(part.shape)} geldi.")
    return out


def _matches(got, x, stats_of):
    return any(np.allclose(got.double().numpy(), _standardise(x, stats_of, ddof).numpy(), rtol=1e-9, atol=1e-9)
               for ddof in (1, 0))


@grade("normalize_test", weight=2)
def test_normalize_uses_training_statistics(student):
    g = torch.Generator().manual_seed(71)
    X_train = torch.randn(30, 1, 4, 4, generator=g, dtype=torch.float64) * 2 + 5
    X_test = torch.randn(12, 1, 4, 4, generator=g, dtype=torch.float64) * 7 - 1
    what = "normalize_splits(X_train, X_test)"
    tr, te = _normalize(student, X_train, X_test, what)
    if not _matches(tr, X_train, X_train):
        fail(f"{what}: X_train kendi kanal ortalaması ve standart sapmasıyla standartlaştırılmalı: "
             "(X_train - mean) / std, mean ve std dim=(0, 2, 3) boyunca.")
    if _matches(te, X_test, X_train):
        return
    if _matches(te, X_test, X_test):
        fail(f"{what}: test kümesi kendi istatistikleriyle normalleştirilmiş. Bu, test verisinden bilgi sızdırır: "
             "ortalama ve standart sapmayı yalnız X_train'den hesaplayın ve X_test'e de aynılarını uygulayın.")
    both = torch.cat([X_train, X_test])
    if _matches(te, X_test, both):
        fail(f"{what}: istatistikler eğitim ve test kümelerinin birleşiminden alınmış; yalnız X_train'i kullanın.")
    fail(f"{what}: X_test, X_train'in kanal ortalaması ve standart sapmasıyla normalleştirilmeli: "
         "(X_test - mean_train) / std_train.")


@grade("normalize_test", weight=1)
def test_normalize_per_channel(student):
    g = torch.Generator().manual_seed(72)
    scale = torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64).reshape(1, 3, 1, 1)
    shift = torch.tensor([0.0, -20.0, 300.0], dtype=torch.float64).reshape(1, 3, 1, 1)
    X_train = torch.randn(20, 3, 5, 5, generator=g, dtype=torch.float64) * scale + shift
    X_test = torch.randn(7, 3, 5, 5, generator=g, dtype=torch.float64) * scale + shift
    what = "normalize_splits (3 kanallı görüntüler)"
    tr, te = _normalize(student, X_train, X_test, what)
    if not (_matches(tr, X_train, X_train) and _matches(te, X_test, X_train)):
        fail(f"{what}: her kanal kendi ortalaması ve standart sapmasıyla ayrı ayrı normalleştirilmeli "
             "(dim=(0, 2, 3), keepdim=True); bütün tensörün tek bir ortalaması değil.")


@grade("normalize_test", weight=1)
def test_normalize_leaves_inputs_alone(student):
    g = torch.Generator().manual_seed(73)
    X_train = torch.randn(10, 1, 3, 3, generator=g) * 3 + 2
    X_test = torch.randn(4, 1, 3, 3, generator=g) * 3 + 2
    # Leaving the inputs alone earns nothing unless the result is right (checked in float64).
    tr, te = _normalize(student, X_train.double(), X_test.double(), "normalize_splits(X_train, X_test)")
    if not (_matches(tr, X_train.double(), X_train.double()) and _matches(te, X_test.double(), X_train.double())):
        fail("normalize_splits(X_train, X_test): X_train ve X_test, X_train'in kanal ortalaması ve standart "
             "sapmasıyla normalleştirilmeli.")
    h_train, h_test = student.put(X_train), student.put(X_test)
    call(student, "normalize_splits", h_train, h_test)
    if not (torch.equal(student.get(h_train), X_train) and torch.equal(student.get(h_test), X_test)):
        fail("normalize_splits verilen tensörleri değiştirdi: yerinde işlemler (-=, /=, sub_, div_) yerine yeni "
             "tensörler üretin: (X - mean) / std.")


# ---------------------------------------------------------------------------- train


def _fresh_model(student):
    model = call(student, "make_digit_model", keep=True)
    module_info(student, model, "make_digit_model()")
    return model


def _history(value, epochs, what):
    if not isinstance(value, (list, tuple)) or len(value) != epochs:
        fail(f"{what}: {epochs} dönemlik kayıplardan oluşan bir liste döndürmeliydi, ama "
             f"{type(value).__name__} geldi" + (f" ({len(value)} öge)." if isinstance(value, (list, tuple)) else "."))
    for h in value:
        if isinstance(h, bool) or not isinstance(h, (float, int, np.floating)) or not math.isfinite(float(h)):
            fail(f"{what}: kayıplar sonlu Python float'ları olmalı (loss.item()), ama {h!r} geldi.")
    return [float(h) for h in value]


@grade("train_test", weight=3)
def test_train_reaches_test_accuracy(student, ref, digits):
    X_train, y_train, X_test, y_test = digits
    model = _fresh_model(student)
    what = "train(model, X_train, y_train, epochs=10, lr=3e-3, batch_size=32)"
    call(student, "train", model, X_train, y_train, device="cpu", **GATE)
    reference = ref.make_digit_model()
    reference.load_state_dict(fetch_state(student, model, reference.state_dict().keys()))
    reference.eval()
    with torch.no_grad():
        accuracy = (reference(X_test).argmax(dim=1) == y_test).double().mean().item()
    if accuracy < MIN_ACCURACY:
        fail(f"{what}: eğitilen model test kümesinde {accuracy:.3f} doğruluğa ulaştı, en az {MIN_ACCURACY:.2f} "
             "bekleniyordu. Her dönemde model.train(), karıştırılan mini yığınlar, zero_grad → ileri geçiş → "
             "CrossEntropyLoss → backward → step sırasını ve Adam(lr=lr) kullanımını denetleyin.")


@grade("train_test", weight=1)
def test_train_returns_mean_epoch_losses(student, digits):
    X_train, y_train, _, _ = digits
    model = _fresh_model(student)
    what = "train(model, X[:200], y[:200], epochs=3, lr=3e-3, batch_size=32)"
    history = _history(call(student, "train", model, X_train[:200], y_train[:200], epochs=3, lr=3e-3,
                                batch_size=32, device="cpu"), 3, what)
    if not 0.3 < history[0] < 5.0:
        fail(f"{what}: ilk dönemin ortalama kaybı {history[0]:.4g}; 10 sınıfta başlangıçta ~2.3 civarında olmalı. "
             "Her dönem için loss.item() * len(xb) toplamını örnek sayısına bölün (yığın sayısına ya da hiçbir şeye "
             "bölmeden toplamak yanlış olur).")
    if not history[-1] < history[0]:
        fail(f"{what}: kayıp azalmadı ({history}); eğitim adımları (backward, step) doğru atılıyor mu?")


@grade("train_test", weight=1)
def test_train_switches_to_training_mode(student, digits):
    X_train, y_train, _, _ = digits
    model = _fresh_model(student)
    call_method(student, model, "eval")
    call(student, "train", model, X_train[:64], y_train[:64], epochs=1, lr=1e-3, batch_size=32, device="cpu")
    running_mean = student.get(model, "1.running_mean")
    if not isinstance(running_mean, torch.Tensor) or not bool(running_mean.abs().sum() > 0):
        fail("train, model değerlendirme kipindeyken (model.eval()) çağrılınca modeli eğitim kipine almadı: toplu "
             "normalleştirme istatistiklerini güncellemedi ve dropout kapalı kaldı. Her dönemin başında "
             "model.train() çağırın.")


@grade("train_test", weight=2)
def test_train_on_device(student, digits):
    """train runs on the grading device (meta simulation without a GPU) and has no hard-coded CUDA."""
    X_train, y_train, _, _ = digits
    dev = check_device()
    model = _fresh_model(student)
    expect_no_hardcoded_device(student, ["train"])
    try:
        history, counts = run_counting_ops(student, "train", model, X_train[:16], y_train[:16], epochs=1, lr=1e-3,
                                           batch_size=8, device=dev, what="train")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    _history(history, 1, f"train(..., device={dev})")
    expect_on_device(student, model, dev, what="train'den sonra model")
    expect_ops_on_device(counts, dev, what="train")



# ---------------------------------------------------------------------------- predict / evaluate


def _known_model(student, ref, state):
    """make_digit_model in the worker and here, with the same weights and batch-norm statistics.

    ``state`` (conftest's trained_digit_state) predicts well in eval mode and very differently in
    training mode; the worker's copy is left in training mode: predict must call model.eval() itself.
    """
    reference = ref.make_digit_model()
    reference.load_state_dict(state)
    reference.eval()
    model = _fresh_model(student)
    call_method(student, model, "load_state_dict", dict(state))
    call_method(student, model, "train")
    return model, reference


def _expected_labels(reference, X):
    with torch.no_grad():
        logits = reference(X)
    top2 = logits.topk(2, dim=1).values
    return logits.argmax(dim=1), (top2[:, 0] - top2[:, 1]) > 1e-4  # labels, and where they are unambiguous


@grade("predict_test", weight=2)
def test_predict_uses_evaluation_mode(student, ref, digits, trained_digit_state):
    _, _, X_test, _ = digits
    X = X_test[:300]
    model, reference = _known_model(student, ref, trained_digit_state)
    what = "predict(model, X, device='cpu') (300 görüntü, batch_size=256)"
    got = call(student, "predict", model, X, device="cpu")
    expect_tensor(got, what)
    if tuple(got.shape) != (300,):
        fail(f"{what}: (300,) şeklinde bir etiket tensörü bekleniyordu, ama {tuple(got.shape)} geldi "
             "(logits.argmax(dim=1)).")
    if got.dtype != torch.int64:
        fail(f"{what}: etiketler int64 olmalı (argmax'ın verdiği tür), ama {str(got.dtype)[6:]} geldi.")
    expected, clear = _expected_labels(reference, X)
    wrong = int(((got != expected) & clear).sum())
    if wrong:
        fail(f"{what}: {wrong} görüntünün sınıfı değerlendirme kipindeki modelinkinden farklı. predict içinde "
             "model.eval() çağırın: yoksa toplu normalleştirme yığının kendi istatistiklerini kullanır ve dropout "
             "nöronları rastgele kapatır.")


@grade("predict_test", weight=1)
def test_evaluate_returns_accuracy(student, ref, digits, trained_digit_state):
    _, _, X_test, _ = digits
    X = X_test[:120]
    model, reference = _known_model(student, ref, trained_digit_state)
    expected, _ = _expected_labels(reference, X)
    labels = expected.clone()
    labels[:30] = (labels[:30] + 1) % 10  # exactly 30 wrong on purpose: accuracy 0.75
    what = "evaluate(model, X, y, device='cpu')"
    got = call(student, "evaluate", model, X, labels, device="cpu")
    if isinstance(got, bool) or not isinstance(got, (float, np.floating)):
        fail(f"{what}: doğruluk bir Python float'ı olmalı (0 ile 1 arası), ama {type(got).__name__} türünde "
             f"{got!r} geldi. Doğru tahmin sayısını örnek sayısına bölüp .item() ile sayıya çevirin.")
    expect_close(float(got), 0.75, tol=1e-6, what=what,
                 hint="Doğruluk, predict'in etiketlerinin y ile aynı olduğu örneklerin oranıdır.")


@grade("predict_test", weight=2)
def test_predict_on_device(student, digits):
    """predict runs on the grading device, returns its labels on the CPU and has no hard-coded CUDA."""
    _, _, X_test, _ = digits
    dev = check_device()
    model = _fresh_model(student)
    expect_no_hardcoded_device(student, ["predict", "evaluate"])
    try:
        got = run_on_device(student, "predict", model, X_test[:12], device=dev, batch_size=8, what="predict")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    if not isinstance(got, torch.Tensor):
        fail(f"predict(..., device={dev}): etiketler CPU'da bir tensör olarak döndürülmeli (.cpu()), ama "
             f"{type(got).__name__} geldi (cihazdaki bir tensör .cpu() olmadan döndürülmüş olabilir).")
    if tuple(got.shape) != (12,):
        fail(f"predict(..., device={dev}): (12,) şeklinde etiketler bekleniyordu, ama {tuple(got.shape)} geldi.")
    expect_on_device(student, model, dev, what="predict'ten sonra model")
