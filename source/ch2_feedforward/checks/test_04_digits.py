"""Hidden checks for 04_digits.ipynb (data, model, training with Adam + cross-entropy, evaluation, accuracy gate).

Held-out labels never enter the worker: the accuracy gate reads the trained model's
logits on the test images and counts the correct ones here.
"""
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from autograder.checks import (as_array, describe_value, expect_close, expect_dtype, expect_number, expect_shape,
                               expect_tensor, fail, grade)
from autograder.checks.inputs import put_noncontiguous
from autograder.checks.histories import batch_sizes, expect_epoch_losses, expect_history_of_floats
from autograder.checks.modes import expect_no_graph
from autograder.checks.training import expect_reshuffled_each_epoch
from autograder.device import expect_on_device, expect_ops_on_device
from autograder.checks import call, close
from autograder.checks.layouts import format_layout, layout
from autograder.checks.objects import random_params, reference_sequential, worker_sequential
from autograder.device import DeviceSimulationUnsupported, expect_device_agnostic, run_explained_on_device

FULL_BATCH_HINT = ("batch_size >= n iken her dönem bütün örneklerle tek bir tam yığın adımı atılır: "
                   "DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True) kullanın, drop_last "
                   "kullanmayın.")
TRAIN_HINT = ("Kayıp nn.CrossEntropyLoss(), eniyileyici torch.optim.Adam(model.parameters(), lr=lr) (bir kez, "
              "döngüden önce oluşturulur); her dönem DataLoader(..., shuffle=True) yığınlarında zero_grad → ileri "
              "geçiş → kayıp → backward → step. Verilen modeli eğitin, yenisini oluşturmayın.")

# The accuracy gate, measured through the worker with the reference solution on one CPU core (taskset -c 0):
# seeds 0..11 and GATE_SEED give test accuracy 0.958 – 0.978 in about 0.4 s each; one epoch instead of ten
# gives 0.87.
GATE_SEED = 20241
GATE_EPOCHS = 10
GATE_LR = 1e-2
GATE_BATCH = 64
GATE_MIN_ACCURACY = 0.93
GATE_LAYERS = [("Linear", 64, 64), ("ReLU",), ("Dropout", 0.2), ("Linear", 64, 10)]


def _digits(test_size=0.25, seed=0, *, scale=16.0, stratify=True):
    digits = load_digits()
    X, y = digits.data / scale, digits.target
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y if stratify else None)


# ---------------------------------------------------------------------------- load_digits_split

def _split(student, what, **kwargs):
    out = call(student, "load_digits_split", what=what, **kwargs)
    if not isinstance(out, (list, tuple)) or len(out) != 4:
        fail(f"{what}: (X_train, X_test, y_train, y_test) dörtlüsü bekleniyordu.")
    for name, value in zip(("X_train", "X_test", "y_train", "y_test"), out):
        expect_tensor(value, f"{what} → {name}")
    return out


@grade("digits_data_test", weight=1)
def test_split_shapes_and_dtypes(student):
    what = "load_digits_split()"
    X_train, X_test, y_train, y_test = _split(student, what)
    expect_shape(X_train, (1347, 64), f"{what} → X_train")
    expect_shape(X_test, (450, 64), f"{what} → X_test")
    expect_shape(y_train, (1347,), f"{what} → y_train")
    expect_shape(y_test, (450,), f"{what} → y_test")
    expect_dtype(X_train, torch.float32, f"{what} → X_train")
    expect_dtype(X_test, torch.float32, f"{what} → X_test")
    for name, labels in (("y_train", y_train), ("y_test", y_test)):
        if labels.dtype != torch.int64:
            fail(f"{what} → {name}: etiketler int64 (torch.long) olmalıydı, ama {str(labels.dtype)[6:]} geldi. "
                 "nn.CrossEntropyLoss sınıf etiketlerini tam sayı olarak bekler.")


@grade("digits_data_test", weight=2)
def test_split_values_scaled_and_stratified(student):
    for kwargs in ({}, {"test_size": 0.2, "seed": 5}):
        what = "load_digits_split(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        got = _split(student, what, **kwargs)
        args = (kwargs.get("test_size", 0.25), kwargs.get("seed", 0))
        want = _digits(*args)
        if all(a.shape == tuple(g.shape) for a, g in zip(want, got)) and \
                np.allclose(as_array(got[0]), want[0], atol=1e-6) and np.array_equal(as_array(got[2]), want[2]):
            expect_close(got[1], want[1], tol=1e-6, what=f"{what} → X_test")
            expect_close(got[3], want[3], tol=0, what=f"{what} → y_test")
            continue
        if as_array(got[0]).shape == want[0].shape and np.allclose(as_array(got[0]), _digits(*args, scale=1.0)[0]):
            fail(f"{what}: pikseller ölçeklenmemiş (0–16 aralığında). 16'ya bölerek [0, 1] aralığına getirin.")
        floored = np.floor(_digits(*args, scale=1.0)[0] / 16.0)
        if as_array(got[0]).shape == floored.shape and np.allclose(as_array(got[0]), floored):
            fail(f"{what}: pikseller tam sayı bölmesiyle (`// 16`) ölçeklenmiş: 16'dan küçük her değer 0 oluyor. "
                 "Ondalıklı bölme kullanın: `digits.data / 16.0`.")
        unstratified = _digits(*args, stratify=False)
        if as_array(got[0]).shape == unstratified[0].shape and np.allclose(as_array(got[0]), unstratified[0]):
            fail(f"{what}: ayrım tabakalı değil: train_test_split'e stratify=y verin.")
        fail(f"{what}: beklenen ayrım bu değil. train_test_split(X / 16, y, test_size=test_size, random_state=seed, "
             "stratify=y) kullanın ve sonuçları (X_train, X_test, y_train, y_test) sırasıyla döndürün.")


# ---------------------------------------------------------------------------- build_digits_model

@grade("digits_model_test", weight=1)
def test_build_digits_model_layers(student):
    for kwargs, hidden, p in (({}, 64, 0.2), ({"hidden": 32, "dropout": 0.5}, 32, 0.5)):
        what = "build_digits_model(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        model = call(student, "build_digits_model", keep=True, what=what, **kwargs)
        want = [("Linear", 64, hidden), ("ReLU",), ("Dropout", p), ("Linear", hidden, 10)]
        got = layout(student, model, what)
        if got != want:
            extra = ""
            if len(got) > len(want) and got[:len(want)] == want:
                extra = (" Son katmandan sonra softmax ya da aktivasyon olmamalı: model logit döndürür, "
                         "nn.CrossEntropyLoss softmax'ı kendisi uygular.")
            fail(f"{what}: katmanlar {format_layout(want)} olmalıydı, ama {format_layout(got)} geldi.{extra}")


# ---------------------------------------------------------------------------- train_classifier

TOY_LAYERS = [("Linear", 6, 8), ("Tanh",), ("Linear", 8, 4)]


def _reference_adam(params, X, y, epochs, lr, *, softmax_first=False, accumulate=False):
    """Full-batch Adam on the cross-entropy in float64 (``softmax_first``: softmax applied before the loss)."""
    model = reference_sequential(TOY_LAYERS, params)
    Xt, yt = X.double(), y
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        if not accumulate:
            optimizer.zero_grad()
        out = model(Xt)
        loss = loss_fn(torch.softmax(out, dim=1) if softmax_first else out, yt)
        history.append(loss.item())
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return model(Xt).numpy(), history


@grade("digits_train_test", weight=2)
def test_train_classifier_full_batch_adam(student):
    rng = np.random.default_rng(61)
    X = torch.tensor(rng.normal(size=(30, 6)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, size=30), dtype=torch.int64)
    params = random_params(TOY_LAYERS, rng)
    epochs, lr = 3, 0.05
    model = worker_sequential(student, TOY_LAYERS, params)
    what = ("train_classifier(model, X, y, epochs=3, lr=0.05, batch_size=64) (30 örnek: tek tam yığın; X bitişik "
            "olmayan (non-contiguous) bir tensör)")
    history = call(student, "train_classifier", model, put_noncontiguous(student, X), y, epochs=epochs, lr=lr, device="cpu", batch_size=64,
                       what=what, hint=FULL_BATCH_HINT)
    history = expect_history_of_floats(history, epochs, what)
    got = call(student, model, X, contexts=["no_grad"], what="eğitilmiş model(X)")
    expect_tensor(got, "eğitilmiş model(X)")
    expect_shape(got, (30, 4), "eğitilmiş model(X)")
    want, want_history = _reference_adam(params, X, y, epochs, lr)
    expect_close(got, want, tol=1e-4, what=f"{what}: eğitilmiş modelin logitleri", mistakes=[
        ("kayıptan önce softmax uygulanmış. nn.CrossEntropyLoss logitleri bekler ve softmax'ı (logaritmasıyla "
         "birlikte) kendisi uygular; iki kez uygulanan softmax gradyanları küçültür ve eğitimi yavaşlatır. Kayba "
         "doğrudan model(xb) çıktısını verin.",
         lambda: _reference_adam(params, X, y, epochs, lr, softmax_first=True)[0]),
        ("gradyanlar adımdan adıma birikmiş: her adımdan önce optimizer.zero_grad() çağırın.",
         lambda: _reference_adam(params, X, y, epochs, lr, accumulate=True)[0]),
    ], hint="Kayıp nn.CrossEntropyLoss(), eniyileyici torch.optim.Adam(model.parameters(), lr=lr); batch_size >= n "
            "iken her dönem bütün örneklerle tek bir adım atılır (drop_last kullanmayın). Verilen modeli eğitin, "
            "yenisini oluşturmayın.")
    expect_close(history, want_history, tol=1e-4, what=f"{what}: dönem kayıpları",
                 hint="Her dönemin kaybı, yığın kayıplarının (loss.item()) örnek sayısıyla ağırlıklı ortalaması "
                      "olmalı; tam yığında bu, adımdan önceki çapraz entropidir.")


# Mini-batches on identical rows: x = 0 and the same label for every sample. A Linear(6, 4) model then gives its bias
# as the logits of every row, so each batch's loss and gradient depend only on the model, not on which rows the
# shuffle put in the batch: the number of Adam steps and every batch loss are fixed, whatever the order.
CONST_LABEL = 1


def _constant_rows_run(sizes_per_epoch, lr, b0, reduction_sum=False, fresh_optimizer=False):
    """(bias after training, batch losses per epoch) of Adam on identical rows, in float64."""
    bias = torch.nn.Parameter(torch.tensor(b0, dtype=torch.float64))
    optimizer = torch.optim.Adam([bias], lr=lr)
    target = torch.tensor([CONST_LABEL])
    losses = []
    for sizes in sizes_per_epoch:
        if fresh_optimizer:
            optimizer = torch.optim.Adam([bias], lr=lr)
        epoch = []
        for m in sizes:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(bias.unsqueeze(0), target)
            epoch.append(loss.item())
            (loss * m if reduction_sum else loss).backward()
            optimizer.step()
        losses.append(epoch)
    return bias.detach().numpy(), losses


def _constant_rows_case(student, n, batch_size, epochs, lr=0.1):
    rng = np.random.default_rng(64 + n + batch_size)
    b0 = np.array([0.5, -0.3, 0.2, 0.0])
    params = [torch.tensor(rng.uniform(-0.4, 0.4, size=(4, 6)), dtype=torch.float32),
              torch.tensor(b0, dtype=torch.float32)]
    model = worker_sequential(student, [("Linear", 6, 4)], params)
    X, y = torch.zeros(n, 6), torch.full((n,), CONST_LABEL, dtype=torch.int64)
    what = (f"train_classifier(model, X, y, epochs={epochs}, lr={lr}, batch_size={batch_size}) ({n} örnek: "
            + (f"yığınlar {batch_sizes(n, batch_size)})" if batch_size < n else "tek tam yığın)"))
    history = call(student, "train_classifier", model, X, y, epochs=epochs, lr=lr, device="cpu",
                       batch_size=batch_size, what=what, hint=FULL_BATCH_HINT if batch_size >= n else TRAIN_HINT)
    history = expect_history_of_floats(history, epochs, what)
    got = as_array(call(student, model, torch.zeros(1, 6), contexts=["no_grad"], what="eğitilmiş model(x)"))
    got = got.reshape(-1)
    sizes = batch_sizes(n, batch_size)
    want, losses = _constant_rows_run([sizes] * epochs, lr, b0)
    if got.shape != want.shape or not close(got, want, 1e-4):
        full = batch_sizes(n, batch_size, drop_last=True)
        variants = [
            (dict(sizes_per_epoch=[full] * epochs), "yalnız tam yığınlarla adım atılmış: son, daha küçük yığın "
             "atlanıyor (drop_last=True ya da n // batch_size). DataLoader'ı drop_last olmadan kullanın; son yığın "
             "küçük olabilir." + (" batch_size >= n iken her dönem tek bir tam yığın adımı atılmalı." if not full
                                  else "")),
            (dict(sizes_per_epoch=[[n]] * epochs), "her dönem tek bir adım atılmış: batch_size'lık mini yığınlara "
             "bölün (DataLoader(..., batch_size=batch_size)) ve her yığında bir adım atın."),
            (dict(sizes_per_epoch=[sizes] * epochs, reduction_sum=True), "kayıp yığının ortalaması yerine toplamı "
             "olarak (reduction=\"sum\") alınmış: nn.CrossEntropyLoss() varsayılanıyla ortalama kayıp kullanın."),
            (dict(sizes_per_epoch=[sizes] * epochs, fresh_optimizer=True), "eniyileyici her dönem yeniden "
             "oluşturulmuş: Adam'ın hareketli ortalamaları sıfırlanıyor. torch.optim.Adam(...)'ı döngüden önce bir kez "
             "oluşturun."),
            (dict(sizes_per_epoch=[sizes]), "yalnız bir dönem eğitilmiş: epochs kadar dönem yapın."),
        ]
        for kwargs, message in variants:
            other, _ = _constant_rows_run(lr=lr, b0=b0, **kwargs)
            if not close(other, want, 1e-4) and got.shape == other.shape and close(got, other, 1e-4):
                fail(f"{what}: {message}")
        fail(f"{what}: eğitimden sonra modelin çıktıları beklenen değerlere gelmedi. {TRAIN_HINT}")
    expect_epoch_losses(history, losses, sizes, what=f"{what}: dönem kayıpları")


@grade("digits_train_test", weight=2)
def test_train_classifier_minibatch_steps_and_epoch_losses(student):
    _constant_rows_case(student, 10, 4, 3)
    _constant_rows_case(student, 7, 16, 2)


SHUFFLE_LAYERS = [("Linear", 6, 3)]


@grade("digits_train_test", weight=1)
def test_train_classifier_shuffles_every_epoch(student):
    rng = np.random.default_rng(65)
    X = torch.tensor(rng.normal(size=(12, 6)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 3, size=12), dtype=torch.int64)
    start = random_params(SHUFFLE_LAYERS, rng)
    shapes = [tuple(w.shape) for w in start]
    what = "train_classifier(model, X, y, lr=0.05, batch_size=4) (12 örnek, aynı model iki farklı tohumla)"

    def run(seed, flat_weights, epochs):
        weights, offset = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            weights.append(torch.tensor(np.asarray(flat_weights[offset:offset + size]).reshape(shape),
                                        dtype=torch.float32))
            offset += size
        model = worker_sequential(student, SHUFFLE_LAYERS, weights)
        student.seed(seed)
        expect_history_of_floats(call(student, "train_classifier", model, X, y, epochs=epochs, lr=0.05,
                                          device="cpu", batch_size=4, what=what), epochs, what)
        return _flat([student.get(model, name) for name, *_ in student.describe(model)["parameters"]])

    reference = reference_sequential(SHUFFLE_LAYERS, start)
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.05)
    for i in range(0, 12, 4):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(reference(X[i:i + 4].double()), y[i:i + 4]).backward()
        optimizer.step()
    expect_reshuffled_each_epoch(run, _flat(start), unshuffled=_flat(list(reference.parameters())), what=what)


def _flat(tensors):
    return np.concatenate([as_array(t).reshape(-1) for t in tensors])


DROPOUT_LAYERS = [("Linear", 6, 16), ("ReLU",), ("Dropout", 0.5), ("Linear", 16, 4)]


@grade("digits_train_test", weight=1)
def test_train_classifier_switches_to_train_mode(student):
    # With lr=0 nothing changes, so the first epoch's loss is the loss of the given weights: with Dropout active
    # (train mode) it differs from the loss in eval mode, which is what a loop that never calls model.train() gets.
    rng = np.random.default_rng(62)
    params = random_params(DROPOUT_LAYERS, rng)
    X = torch.tensor(rng.normal(size=(20, 6)) * 2.0, dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, size=20), dtype=torch.int64)
    model = worker_sequential(student, DROPOUT_LAYERS, params)
    student.call_method(model, "eval", keep=True)
    what = "train_classifier(model, X, y, epochs=1, lr=0.0) (Dropout'lu model eval() kipindeyken verildi)"
    history = call(student, "train_classifier", model, X, y, epochs=1, lr=0.0, device="cpu", batch_size=64,
                       what=what, hint=FULL_BATCH_HINT)
    first = expect_history_of_floats(history, 1, what)[0]
    with torch.no_grad():
        eval_loss = torch.nn.functional.cross_entropy(reference_sequential(DROPOUT_LAYERS, params).eval()(
            X.double()), y).item()
    if abs(first - eval_loss) <= 1e-5 * max(abs(eval_loss), 1.0):
        fail(f"{what}: eğitim Dropout kapalıyken yapılmış (kayıp, değerlendirme kipindeki kayıpla aynı). Model daha "
             "önce eval() kipine alınmış olabilir: her dönemin başında model.train() çağırın.")


@grade("digits_train_test", weight=1)
def test_train_classifier_on_device(student):
    layers = [("Linear", 6, 8), ("ReLU",), ("Dropout", 0.2), ("Linear", 8, 4)]
    model = worker_sequential(student, layers)
    rng = np.random.default_rng(63)
    X = torch.tensor(rng.normal(size=(40, 6)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, size=40), dtype=torch.int64)
    what = "train_classifier(model, X, y, epochs=1, batch_size=16, device=device)"
    try:
        history, counts = run_explained_on_device(student, "train_classifier", model, X, y, epochs=1, lr=0.01, batch_size=16,
                                         what=what, counting=True, model=model)
    except DeviceSimulationUnsupported:
        model = worker_sequential(student, layers)  # the simulation cannot run this code: check it on the CPU
        _, counts = run_explained_on_device(student, "train_classifier", model, X, y, epochs=1, lr=0.01, batch_size=16,
                                   what=what, counting=True, device="cpu")
        expect_on_device(student, model, "cpu", what=f"{what}: model")
        expect_device_agnostic(student, ["train_classifier"])
        return
    expect_history_of_floats(history, 1, what)
    expect_device_agnostic(student, ["train_classifier"])
    expect_on_device(student, model, what=f"{what}: eğitilen model")
    expect_ops_on_device(counts, what=what)


def digits_accuracy(student, seed=GATE_SEED):
    """Train the gate network with the student's train_classifier; test accuracy computed here."""
    X_train, X_test, y_train, y_test = _digits()
    student.seed(seed)
    model = worker_sequential(student, GATE_LAYERS)
    what = (f"train_classifier(model, X_train, y_train, epochs={GATE_EPOCHS}, lr={GATE_LR}, "
            f"batch_size={GATE_BATCH}) (digits)")
    call(student, "train_classifier", model, torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train),
             epochs=GATE_EPOCHS, lr=GATE_LR, device="cpu", batch_size=GATE_BATCH, what=what)
    student.call_method(model, "eval", keep=True)
    logits = call(student, model, torch.tensor(X_test, dtype=torch.float32), contexts=["no_grad"],
                      what="eğitilmiş model(X_test)")
    expect_shape(logits, (len(y_test), 10), "eğitilmiş model(X_test)")
    accuracy = float(np.mean(as_array(logits).argmax(axis=1) == y_test))
    return accuracy, what


@grade("digits_train_test", weight=2)
def test_train_classifier_digits_accuracy(student):
    accuracy, what = digits_accuracy(student)
    if not accuracy >= GATE_MIN_ACCURACY:
        fail(f"{what}: test doğruluğu {accuracy:.3f}, en az {GATE_MIN_ACCURACY} bekleniyordu (doğru bir eğitimle "
             "yaklaşık 0,95–0,98 çıkıyor). Bütün dönemlerin yapıldığını, her yığında zero_grad → ileri geçiş → "
             "CrossEntropyLoss(logitler, etiketler) → backward → step sırasını ve verilerin her dönem "
             "karıştırıldığını kontrol edin.")


# ---------------------------------------------------------------------------- evaluate

EVAL_LAYERS = [("Linear", 8, 16), ("ReLU",), ("Dropout", 0.5), ("Linear", 16, 3)]


def _eval_case(seed):
    rng = np.random.default_rng(seed)
    params = random_params(EVAL_LAYERS, rng)
    X = torch.tensor(rng.normal(size=(60, 8)) * 2.0, dtype=torch.float32)
    with torch.no_grad():
        reference = reference_sequential(EVAL_LAYERS, params).eval()
        predicted = reference(X.double()).argmax(dim=1)
    y = predicted.clone()
    y[42:] = (y[42:] + 1) % 3  # 42 of 60 right in eval mode
    return params, X, y, 42 / 60


@grade("digits_evaluate_test", weight=2)
def test_evaluate_accuracy_in_eval_mode(student):
    params, X, y, want = _eval_case(71)
    model = worker_sequential(student, EVAL_LAYERS, params)  # a fresh model is in training mode
    what = "evaluate(model, X, y) (Dropout'lu bir model, eğitim kipinde verildi)"
    results = [expect_number(call(student, "evaluate", model, X, y, device="cpu", what=what), what)
               for _ in range(2)]
    if results[0] != results[1]:
        fail(f"{what}: aynı model ve veriyle iki çağrı farklı doğruluk verdi ({results[0]:.4f} ve {results[1]:.4f}): "
             "Dropout tahmin sırasında da çalışıyor. Tahminden önce model.eval() çağırın.")
    if abs(results[0] - want) > 1e-6:
        fail(f"{what}: doğruluk {want:.4f} olmalıydı, ama {results[0]:.4f} geldi. Modeli model.eval() ile "
             "değerlendirme kipine alın, sınıfı logits.argmax(dim=1) ile seçin ve doğru tahminlerin oranını "
             "döndürün.")


@grade("digits_evaluate_test", weight=1)
def test_evaluate_returns_python_float(student):
    params, X, y, want = _eval_case(72)
    model = worker_sequential(student, EVAL_LAYERS, params)
    what = "evaluate(model, X, y) (X bitişik olmayan (non-contiguous) bir tensör)"
    out = call(student, "evaluate", model, put_noncontiguous(student, X), y, device="cpu", what=what)
    if not isinstance(out, float):
        fail(f"{what}: bir Python float bekleniyordu, ama {describe_value(out)} geldi. Tensörü `.item()` ile "
             "Python sayısına çevirin.")
    if not 0.0 <= out <= 1.0:
        fail(f"{what}: doğruluk 0 ile 1 arasında bir oran olmalı, ama {out} geldi (doğru sayısını örnek sayısına "
             "bölün).")
    if abs(out - want) > 1e-6:
        fail(f"{what}: doğruluk {want:.4f} olmalıydı, ama {out:.4f} geldi.")


@grade("digits_evaluate_test", weight=1)
def test_evaluate_without_graph(student):
    params, X, y, want = _eval_case(74)
    model = worker_sequential(student, EVAL_LAYERS, params)
    what = "evaluate(model, X, y)"
    out = expect_number(expect_no_graph(student, "evaluate", model, X, y, device="cpu", what=what), what)
    if abs(out - want) > 1e-6:
        fail(f"{what}: doğruluk {want:.4f} olmalıydı, ama {out:.4f} geldi.")


@grade("digits_evaluate_test", weight=1)
def test_evaluate_on_device(student):
    params, X, y, want = _eval_case(73)
    model = worker_sequential(student, EVAL_LAYERS, params)
    what = "evaluate(model, X, y, device=device)"
    device = None
    try:
        out, _ = run_explained_on_device(student, "evaluate", model, X, y, what=what, model=model)
    except DeviceSimulationUnsupported:  # the simulation cannot run this code: check it on the CPU
        model = worker_sequential(student, EVAL_LAYERS, params)
        out, _ = run_explained_on_device(student, "evaluate", model, X, y, what=what, device="cpu")
        device = "cpu"
    if not isinstance(out, float):
        fail(f"{what}: GPU'da da bir Python float döndürülmeli (ör. `(tahmin == y).sum().item() / len(y)`), ama "
             f"{describe_value(out)} geldi.")
    expect_device_agnostic(student, ["evaluate"])
    expect_on_device(student, model, device, what=f"{what}: model")
    if device == "cpu" and abs(out - want) > 1e-6:
        fail(f"{what}: doğruluk {want:.4f} olmalıydı, ama {out:.4f} geldi.")
