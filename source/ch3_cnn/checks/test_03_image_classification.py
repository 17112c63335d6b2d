"""Hidden checks for 03_image_classification.ipynb (normalisation, training loop, prediction and evaluation).

The training gate fixes its own budget: 10 epochs, Adam lr=3e-3, batch size 32, on the CPU. The
trained weights are read back and the test accuracy is computed here; the test labels never
enter the worker. Device checks run the same functions on `check_device()` (the meta simulation
without a GPU) with one or two tiny batches.
"""
import math

import numpy as np
import torch

from torch import nn

from autograder.checks import CheckFailed, describe_value, expect_close, expect_tensor, fail, grade
from autograder.checks.histories import batch_sizes, epoch_mean, expect_history_of_floats, history_mistakes
from autograder.checks.modes import expect_no_graph
from autograder.checks.objects import op_counts, reference_sequential, worker_sequential
from autograder.checks.training import expect_reshuffled_each_epoch
from autograder.device import not_simulated
from autograder.device import expect_device_agnostic, expect_no_hardcoded_device, expect_on_device, expect_ops_on_device, run_counting_ops
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


def _matches(got, x, stats_of, ddofs=(1,)):
    return any(np.allclose(got.double().numpy(), _standardise(x, stats_of, ddof).numpy(), rtol=1e-9, atol=1e-9)
               for ddof in ddofs)


POPULATION_STD = ("standart sapma n'ye bölünerek (unbiased=False / correction=0) hesaplanmış; PyTorch'un "
                  "varsayılanını, n − 1'e bölen `X_train.std(dim=(0, 2, 3), keepdim=True)`'yi kullanın.")


@grade("normalize_test", weight=2)
def test_normalize_uses_training_statistics(student):
    g = torch.Generator().manual_seed(71)
    X_train = torch.randn(30, 1, 4, 4, generator=g, dtype=torch.float64) * 2 + 5
    X_test = torch.randn(12, 1, 4, 4, generator=g, dtype=torch.float64) * 7 - 1
    what = "normalize_splits(X_train, X_test)"
    tr, te = _normalize(student, X_train, X_test, what)
    if _matches(tr, X_train, X_train, (0,)) and not _matches(tr, X_train, X_train):
        fail(f"{what}: {POPULATION_STD}")
    if not _matches(tr, X_train, X_train) and _matches(tr, X_train, torch.cat([X_train, X_test]), (1, 0)):
        fail(f"{what}: istatistikler eğitim ve test kümelerinin birleşiminden alınmış; yalnız X_train'i kullanın.")
    if not _matches(tr, X_train, X_train):
        fail(f"{what}: X_train kendi kanal ortalaması ve standart sapmasıyla standartlaştırılmalı: "
             "(X_train - mean) / std, mean ve std dim=(0, 2, 3) boyunca.")
    if _matches(te, X_test, X_train):
        return
    if _matches(te, X_test, X_test, (1, 0)):
        fail(f"{what}: test kümesi kendi istatistikleriyle normalleştirilmiş. Bu, test verisinden bilgi sızdırır: "
             "ortalama ve standart sapmayı yalnız X_train'den hesaplayın ve X_test'e de aynılarını uygulayın.")
    both = torch.cat([X_train, X_test])
    if _matches(te, X_test, both, (1, 0)):
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
    expect_device_agnostic(student, ["train"])
    try:
        history, counts = run_counting_ops(student, "train", model, X_train[:16], y_train[:16], epochs=1, lr=1e-3,
                                           batch_size=8, device=dev, what="train")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    _history(history, 1, f"train(..., device={dev})")
    expect_on_device(student, model, dev, what="train'den sonra model")
    expect_ops_on_device(counts, dev, what="train")



TINY = [("Conv2d", 1, 2, 3), ("ReLU",), ("Flatten",), ("Linear", 2 * 4 * 4, 3)]  # (N, 1, 6, 6) -> (N, 3)


def _tiny_params(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 1, 3, 3, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(2, generator=g, dtype=torch.float64) * 0.1,
            torch.randn(3, 32, generator=g, dtype=torch.float64) * 0.2,
            torch.randn(3, generator=g, dtype=torch.float64) * 0.1]


def _tiny_worker(student, params):
    """The tiny float64 CNN in the worker with these parameters (its layers are "0" and "3")."""
    model = worker_sequential(student, TINY)
    call_method(student, model, "double")
    for name, value in zip(("0.weight", "0.bias", "3.weight", "3.bias"), params):
        call_method(student, model, f"{name}.data.copy_", value)
    return model


def _tiny_reference(params):
    model = reference_sequential(TINY, params)
    return model


def _batch_losses(params, x, label, steps, lr, optimizer="adam", softmax_first=False):
    """Identical samples: every mini-batch's mean loss and gradient are those of one sample, whatever the batch
    size or order; the losses before each of ``steps`` optimizer steps."""
    model = _tiny_reference(params)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits = model(x)
        if softmax_first:
            logits = torch.softmax(logits, dim=1)
        loss = nn.functional.cross_entropy(logits, label)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return losses


def _per_epoch(losses, sizes, epochs):
    k = len(sizes)
    return [losses[e * k:(e + 1) * k] for e in range(epochs)]


@grade("train_test", weight=2)
def test_train_epoch_losses_weighted_by_batch_size(student):
    """10 identical samples, batch_size=4: batches of 4, 4 and 2, and every batch loss is known."""
    n, batch_size, epochs, lr = 10, 4, 2, 0.05
    params = _tiny_params(81)
    g = torch.Generator().manual_seed(82)
    x1 = torch.randn(1, 1, 6, 6, generator=g, dtype=torch.float64)
    X, y = x1.repeat(n, 1, 1, 1), torch.full((n,), 2, dtype=torch.int64)
    model = _tiny_worker(student, params)
    what = "train(model, X, y, epochs=2, lr=0.05, batch_size=4) (10 örnek: yığınlar 4, 4 ve 2)"
    history = expect_history_of_floats(call(student, "train", model, X, y, epochs=epochs, lr=lr,
                                            batch_size=batch_size, device="cpu", what=what), epochs, what)
    sizes = batch_sizes(n, batch_size)
    per_epoch = _per_epoch(_batch_losses(params, x1, y[:1], len(sizes) * epochs, lr), sizes, epochs)
    want = [epoch_mean(losses, sizes) for losses in per_epoch]

    def variant(**kwargs):
        return lambda: [epoch_mean(l, sizes) for l in
                        _per_epoch(_batch_losses(params, x1, y[:1], len(sizes) * epochs, **kwargs), sizes, epochs)]

    def bookkeeping(fn):
        return [fn(losses) for losses in per_epoch]

    kept = batch_sizes(n, batch_size, drop_last=True)
    mistakes = [
        ("kayıptan önce softmax uygulanmış: nn.CrossEntropyLoss logit bekler ve softmax'ı kendisi uygular; modelin "
         "çıktısını doğrudan kayba verin.", variant(lr=lr, softmax_first=True)),
        ("eniyileyicinin öğrenme oranı `lr` argümanından alınmamış: `torch.optim.Adam(model.parameters(), lr=lr)` "
         "yazın.", variant(lr=1e-3)),
        ("eniyileyici Adam değil: `torch.optim.Adam(model.parameters(), lr=lr)` kullanın.",
         variant(lr=lr, optimizer="sgd")),
        ("son, küçük yığın atlanmış (drop_last=True ya da `range(n // batch_size)`): her dönem bütün örnekler "
         "kullanılmalı.", lambda: [epoch_mean(l, kept) for l in
                                   _per_epoch(_batch_losses(params, x1, y[:1], len(kept) * epochs, lr), kept, epochs)]),
        ("her yığının kaybı `batch_size` argümanıyla çarpılmış; son yığın daha küçük olabilir: gerçek yığın boyunu "
         "(`len(xb)`) kullanın.", bookkeeping(lambda l: sum(v * batch_size for v in l) / n)),
        ("ağırlıklı toplam `len(loader) * batch_size`'a bölünmüş; son yığın daha küçük olduğu için örnek sayısına "
         "(`len(X)`) bölün.", bookkeeping(lambda l: epoch_mean(l, sizes) * n / (len(sizes) * batch_size))),
    ]
    for j, (message, _) in enumerate(history_mistakes(per_epoch[0], sizes)):
        mistakes.append((message, bookkeeping(lambda l, j=j: history_mistakes(l, sizes)[j][1])))
    expect_close(history, want, tol=1e-6, mistake_tol=1e-6, what=what, mistakes=mistakes,
                 hint="Her dönemin kaybı, yığın kayıplarının yığın boyuyla ağırlıklı ortalamasıdır: "
                      "Σ loss.item() · len(xb) / len(X).")


@grade("train_test", weight=1)
def test_train_reshuffles_every_epoch(student):
    """Six different samples in batches of two: the order of the batches changes the trained weights."""
    n, batch_size, lr = 6, 2, 0.05
    g = torch.Generator().manual_seed(83)
    X = torch.randn(n, 1, 6, 6, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    start = _tiny_params(84)
    what = "train(model, X, y, epochs=1, lr=0.05, batch_size=2) (6 farklı örnek)"
    # the losses first: reshuffling earns nothing without a working loop
    test_train_epoch_losses_weighted_by_batch_size(student)

    def unflatten(flat):
        flat = torch.as_tensor(flat, dtype=torch.float64)
        out, i = [], 0
        for p in start:
            out.append(flat[i:i + p.numel()].reshape(p.shape))
            i += p.numel()
        return out

    def run(seed, weights, epochs):
        model = _tiny_worker(student, unflatten(weights))
        student.seed(seed)
        call(student, "train", model, X, y, epochs=epochs, lr=lr, batch_size=batch_size, device="cpu", what=what)
        return torch.cat([student.get(model, name).detach().double().reshape(-1)
                          for name in ("0.weight", "0.bias", "3.weight", "3.bias")])

    reference = _tiny_reference(start)
    opt = torch.optim.Adam(reference.parameters(), lr=lr)
    for i in range(0, n, batch_size):
        opt.zero_grad()
        nn.functional.cross_entropy(reference(X[i:i + batch_size]), y[i:i + batch_size]).backward()
        opt.step()
    unshuffled = torch.cat([p.detach().reshape(-1) for p in reference.parameters()])
    expect_reshuffled_each_epoch(run, torch.cat([p.reshape(-1) for p in start]), unshuffled=unshuffled, what=what)


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
    expect_close(float(got), 0.75, tol=1e-6, what=what, mistakes=[
        ("doğruluk yüzde olarak döndürülmüş: 0 ile 1 arasında bir oran döndürün (100 ile çarpmayın).", 75.0),
        ("doğru tahminlerin sayısı döndürülmüş: örnek sayısına bölün.", 90.0)],
        hint="Doğruluk, predict'in etiketlerinin y ile aynı olduğu örneklerin oranıdır.")


@grade("predict_test", weight=2)
def test_predict_on_device(student, digits):
    """predict runs on the grading device, returns its labels on the CPU and has no hard-coded CUDA."""
    _, _, X_test, _ = digits
    dev = check_device()
    model = _fresh_model(student)
    expect_device_agnostic(student, ["predict", "evaluate"])
    try:
        got = run_on_device(student, "predict", model, X_test[:12], device=dev, batch_size=8, what="predict")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    if not isinstance(got, torch.Tensor):
        fail(f"predict(..., device={dev}): etiketler CPU'da bir tensör olarak döndürülmeli (.cpu()), ama "
             f"{describe_value(got)} geldi (cihazdaki bir tensör .cpu() olmadan döndürülmüş olabilir).")
    if tuple(got.shape) != (12,):
        fail(f"predict(..., device={dev}): (12,) şeklinde etiketler bekleniyordu, ama {tuple(got.shape)} geldi.")
    expect_on_device(student, model, dev, what="predict'ten sonra model")


@grade("predict_test", weight=1)
def test_predict_records_no_graph(student, ref, digits, trained_digit_state):
    _, _, X_test, _ = digits
    X = X_test[:40]
    model, reference = _known_model(student, ref, trained_digit_state)
    what = "predict(model, X, device='cpu')"
    got = expect_no_graph(student, "predict", model, X, device="cpu", what=what)
    expect_tensor(got, what)  # a right result too: no graph alone earns nothing
    expected, clear = _expected_labels(reference, X)
    if tuple(got.shape) != (40,) or int(((got != expected) & clear).sum()):
        fail(f"{what}: tahmin edilen sınıflar değerlendirme kipindeki modelinkilerle aynı olmalı.")


@grade("predict_test", weight=1)
def test_predict_uses_batch_size(student, ref, digits, trained_digit_state):
    """20 images in batches of 8: three forward passes (two convolutions each), not one."""
    _, _, X_test, _ = digits
    X = X_test[:20]
    model, reference = _known_model(student, ref, trained_digit_state)
    what = "predict(model, X, device='cpu', batch_size=8) (20 görüntü)"
    got = call(student, "predict", model, X, device="cpu", batch_size=8, what=what)
    expected, clear = _expected_labels(reference, X)
    expect_tensor(got, what)
    if tuple(got.shape) != (20,) or int(((got != expected) & clear).sum()):
        fail(f"{what}: (20,) şeklinde, değerlendirme kipindeki modelin sınıfları bekleniyordu.")
    whole = op_counts(student, "predict", model, X, device="cpu", batch_size=20).get("conv", 0)
    parts = op_counts(student, "predict", model, X, device="cpu", batch_size=8).get("conv", 0)
    if whole and parts != 3 * whole:
        fail(f"{what}: model {parts // whole} kez çalıştırıldı gibi görünüyor, 3 parça (8 + 8 + 4) "
             "bekleniyordu. X'i `batch_size`'lık parçalar halinde işleyin: "
             "`for start in range(0, len(X), batch_size): xb = X[start:start + batch_size]` (son parça küçük "
             "olabilir).")


@grade("predict_test", weight=1)
def test_evaluate_on_device(student, ref, digits, trained_digit_state):
    """evaluate runs with a device argument (the simulated GPU) and compares the labels on the CPU."""
    _, _, X_test, _ = digits
    X = X_test[:60]
    model, reference = _known_model(student, ref, trained_digit_state)
    expected, _ = _expected_labels(reference, X)
    labels = expected.clone()
    labels[:15] = (labels[:15] + 1) % 10
    got = call(student, "evaluate", model, X, labels, device="cpu", what="evaluate(model, X, y, device='cpu')")
    if isinstance(got, bool) or not isinstance(got, (float, np.floating)) or abs(float(got) - 0.75) > 1e-6:
        fail(f"evaluate(model, X, y, device='cpu'): 0.75 bekleniyordu, ama {got!r} geldi.")
    dev = check_device()
    fresh = _fresh_model(student)
    expect_no_hardcoded_device(student, ["evaluate"])
    try:
        got = run_on_device(student, "evaluate", fresh, X_test[:12], labels[:12], device=dev, what="evaluate")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except CheckFailed as failure:
        fail(f"{failure} evaluate'te etiketleri (y) cihaza taşımayın: predict'in CPU'daki etiketleriyle CPU'da "
             "karşılaştırın (`labels == y.cpu()`).")
    if isinstance(got, bool) or not isinstance(got, (float, np.floating)):
        fail(f"evaluate(..., device={dev}): doğruluk bir Python float'ı olmalı, ama {type(got).__name__} geldi.")
