"""Hidden checks for 02_cnn_structure.ipynb (layer-by-layer summary, a CNN whose flatten size follows the input)."""
import numpy as np
import pytest
import torch

from autograder.checks import CheckFailed, StudentCodeError, expect_close, expect_tensor, fail, grade
from autograder.checks.layouts import traced_ops
from autograder.checks import call, call_method
from autograder.checks.objects import (fill_by_shape, module_info, n_params, op_counts, param_shapes, reference_sequential,
                                       notebook_global, to_worker, worker_sequential)
from autograder.device import (DeviceSimulationUnsupported, check_device, device_words, forward_backward_on_device,
                               not_simulated, run_on_device)

# ---------------------------------------------------------------------------- layer_summary

LENET = ([("Conv2d", (1, 6, 5), {"padding": 2}), ("ReLU", (), {}), ("MaxPool2d", (2,), {}),
          ("Conv2d", (6, 16, 5), {}), ("ReLU", (), {}), ("MaxPool2d", (2,), {}), ("Flatten", (), {}),
          ("Linear", (400, 120), {}), ("ReLU", (), {}), ("Linear", (120, 10), {})], (3, 1, 28, 28))

STRIDES = ([("Conv2d", (3, 6, 5), {"stride": 2, "padding": 2}), ("BatchNorm2d", (6,), {}),
            ("Conv2d", (6, 8, 3), {"dilation": 2, "padding": 1}), ("MaxPool2d", (3,), {"stride": 2}),
            ("Conv2d", (8, 12, (3, 1)), {"stride": (1, 2), "padding": (1, 0), "bias": False}),
            ("AvgPool2d", (2,), {"padding": 1}), ("Dropout", (0.2,), {}), ("AdaptiveAvgPool2d", ((2, 3),), {}),
            ("Flatten", (), {}), ("Linear", (72, 5), {})], (2, 3, 40, 45))

NORMED = ([("Conv2d", (3, 32, 3), {"stride": 2, "padding": 1, "bias": False}), ("BatchNorm2d", (32,), {}),
           ("ReLU", (), {}), ("Conv2d", (32, 64, 3), {"padding": 1}), ("BatchNorm2d", (64,), {}), ("ReLU", (), {}),
           ("AvgPool2d", (2,), {}), ("Dropout", (0.3,), {}), ("AdaptiveAvgPool2d", (1,), {}), ("Flatten", (), {}),
           ("Linear", (64, 10), {})], (5, 3, 32, 32))


def _layers(spec):
    """(name, args, kwargs) items of the specs below as the library's layers: (name, *args, kwargs)."""
    return [(name, *args, kwargs) for name, args, kwargs in spec]


def _truth(spec, input_shape):
    model = reference_sequential(_layers(spec), dtype=None)
    x = torch.zeros(input_shape)
    rows = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            rows.append((type(layer).__name__, tuple(x.shape), sum(p.numel() for p in layer.parameters())))
    return rows


def _layer_hint(spec_item, got_shape, want_shape):
    name, args, kwargs = spec_item
    if name in ("Conv2d", "MaxPool2d", "AvgPool2d") and len(got_shape) == 4 and len(want_shape) == 4:
        if got_shape[2] == want_shape[2] - 1 or got_shape[3] == want_shape[3] - 1:
            return " Formüldeki sondaki `+ 1` unutulmuş olabilir."
        if kwargs.get("dilation"):
            return " Bu katmanda genişleme (dilation) var: H_out = (H + 2p − d(k − 1) − 1) // s + 1."
        if any(isinstance(v, tuple) for v in (*args, *kwargs.values())):
            return " Bu katmanın kernel_size/stride/padding değerleri (yükseklik, genişlik) demetleri: her eksende kendi değerini kullanın."
        return " H_out = (H + 2p − d(k − 1) − 1) // s + 1; havuzlamada adım `layer.stride`'dır."
    if name == "Flatten":
        return " Düzleştirme (N, C·H·W) verir."
    if name == "AdaptiveAvgPool2d":
        return " Çıktının H ve W'si `output_size`'dır (bir tam sayıysa ikisi de ona eşit)."
    return ""


def _check_summary(student, spec, input_shape, label, frozen=()):
    truth = _truth(spec, input_shape)
    model = worker_sequential(student, _layers(spec))
    for index in frozen:  # the checks built this model: its layers are "0", "1", ...
        call_method(student, model, f"{index}.requires_grad_", False)
    rows = call(student, "layer_summary", model, input_shape)
    what = f"layer_summary ({label}, girdi {input_shape})"
    if not isinstance(rows, (list, tuple)):
        fail(f"{what}: bir liste döndürmeliydi, ama {type(rows).__name__} geldi.")
    if len(rows) != len(truth):
        fail(f"{what}: modelde {len(truth)} katman var, {len(truth)} satır bekleniyordu, ama {len(rows)} geldi.")
    for i, (row, (name, shape, n_par), item) in enumerate(zip(rows, truth, spec)):
        where = f"{what}, {i + 1}. katman ({name})"
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            fail(f"{where}: (ad, çıktı şekli, parametre sayısı) üçlüsü bekleniyordu, ama {row!r} geldi.")
        got_name, got_shape, got_n = row
        if got_name != name:
            fail(f"{where}: katman adı {name!r} olmalıydı, ama {got_name!r} geldi (type(layer).__name__).")
        try:
            got_shape = tuple(int(v) for v in got_shape)
        except (TypeError, ValueError):
            fail(f"{where}: çıktı şekli tam sayılardan oluşan bir demet olmalı, ama {got_shape!r} geldi.")
        if got_shape != shape:
            fail(f"{where}: çıktı şekli {shape} olmalıydı, ama {got_shape} geldi."
                 + _layer_hint(item, got_shape, shape))
        if isinstance(got_n, bool) or not isinstance(got_n, (int, np.integer)) or int(got_n) != n_par:
            hint = ""
            if isinstance(got_n, (int, np.integer)) and int(got_n) == 0 and frozen:
                hint = (" Bu katmanın parametreleri dondurulmuş (requires_grad=False), ama onlar da sayılır: "
                        "`p.requires_grad`'a bakmadan bütün parametrelerin öge sayılarını toplayın.")
            if isinstance(got_n, (int, np.integer)) and int(got_n) == len(list(reference_sequential(_layers([item]), dtype=None)[0].parameters())):
                hint = " Parametre tensörlerinin sayısı değil, öge sayılarının toplamı isteniyor: sum(p.numel() ...)."
            fail(f"{where}: parametre sayısı {n_par} olmalıydı, ama {got_n!r} geldi.{hint}")
    return rows


@grade("layer_summary_test", weight=2)
def test_summary_lenet(student):
    _check_summary(student, *LENET, "LeNet benzeri ağ")


@grade("layer_summary_test", weight=2)
def test_summary_strides_padding_dilation(student):
    _check_summary(student, *STRIDES, "adım, dolgu, genişleme ve demet boyutlu katmanlar")


@grade("layer_summary_test", weight=1)
def test_summary_normalisation_and_pooling(student):
    _check_summary(student, *NORMED, "BatchNorm, Dropout ve uyarlanır havuzlama")


LINEAR_4D = ([("Conv2d", (2, 4, 3), {}), ("ReLU", (), {}), ("Linear", (6, 5), {}), ("Dropout", (0.1,), {}),
              ("Linear", (5, 3), {})], (2, 2, 8, 8))


@grade("layer_summary_test", weight=1)
def test_summary_linear_on_feature_maps_and_frozen_layers(student):
    # nn.Linear acts on the last axis only: (2, 4, 6, 6) -> (2, 4, 6, 5); frozen parameters still count.
    _check_summary(student, *LINEAR_4D, "evrişimden sonra düzleştirmeden Linear, ilk katman dondurulmuş",
                   frozen=(0,))


@grade("layer_summary_test", weight=1)
def test_summary_python_ints(student):
    rows = _check_summary(student, *LENET, "LeNet benzeri ağ")  # the types earn nothing without a right summary
    for row in rows:
        name, shape, n = row
        if not isinstance(shape, tuple) or any(type(v) is not int for v in shape):
            kinds = sorted({type(v).__name__ for v in shape}) if isinstance(shape, (list, tuple)) else []
            fail(f"layer_summary: {name} katmanının çıktı şekli Python int'lerinden oluşan bir demet (tuple) olmalı, "
                 f"ama {type(shape).__name__} ({', '.join(kinds)}) geldi. `np.prod` gibi NumPy işlemleri NumPy tam "
                 "sayısı verir: değerleri `int(...)` ile çevirin ya da döngüyle çarpın.")
        if type(n) is not int:
            fail(f"layer_summary: {name} katmanının parametre sayısı bir Python int'i olmalı, ama "
                 f"{type(n).__name__} geldi (`sum(p.numel() for p in layer.parameters())` bir int verir).")


@grade("layer_summary_test", weight=1)
def test_summary_does_not_run_layers(student):
    _check_summary(student, *LENET, "LeNet")  # not running the layers earns nothing without a right summary
    spec, input_shape = LENET
    model = worker_sequential(student, _layers(spec))
    counts = op_counts(student, "layer_summary", model, input_shape)
    ran = counts.get("conv", 0) + counts.get("matmul", 0)
    if ran:
        fail(f"layer_summary katmanları çalıştırıyor ({ran} evrişim/matris çarpımı yapıldı). Çıktı şekillerini "
             "katmanların özniteliklerinden (kernel_size, stride, padding, dilation, out_channels, out_features …) "
             "formülle hesaplayın; sahte bir girdiyle ileri geçiş yapmayın.")


# ---------------------------------------------------------------------------- DigitCNN


def _digit(student, *args, **kwargs):
    label = "DigitCNN(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"
    model = call(student, "DigitCNN", *args, keep=True, **kwargs)
    return model, module_info(student, model, label), label


def _forward(student, model, label, x, n_classes):
    what = f"{label} ileri geçişi, girdi {tuple(x.shape)}"
    out = call(student, model, x, contexts=["no_grad"], what=what,
                   hint="n_flat (düzleştirilmiş öznitelik sayısı) image_size'a göre hesaplanmalı, sabit "
                        "yazılmamalı." if x.shape[-1] != 8 else "")
    expect_tensor(out, what)
    if tuple(out.shape) != (x.shape[0], n_classes):
        fail(f"{what}: çıktı ({x.shape[0]}, {n_classes}) şeklinde olmalıydı, ama {tuple(out.shape)} geldi.")
    return out


@grade("digit_cnn_test", weight=2)
def test_digit_cnn_outputs_logits(student):
    g = torch.Generator().manual_seed(61)
    model, _, label = _digit(student)
    out = _forward(student, model, label, torch.randn(6, 1, 8, 8, generator=g), 10).double()
    if torch.allclose(out.sum(dim=1), torch.ones(6, dtype=torch.float64), atol=1e-5) and (out >= 0).all():
        fail(f"{label}: çıktılar olasılık gibi (her satırın toplamı 1): softmax uygulanmış. forward logit "
             "döndürmeli; softmax'ı nn.CrossEntropyLoss kendisi uygular.")
    model, _, label = _digit(student, in_channels=1, num_classes=10, image_size=8)
    _forward(student, model, label, torch.randn(2, 1, 8, 8, generator=g), 10)


@grade("digit_cnn_test", weight=2)
def test_digit_cnn_follows_input_size(student):
    g = torch.Generator().manual_seed(62)
    for kwargs, x_shape in [({"in_channels": 3, "num_classes": 7, "image_size": 28}, (2, 3, 28, 28)),
                            ({"in_channels": 1, "num_classes": 4, "image_size": 12}, (3, 1, 12, 12)),
                            ({"in_channels": 1, "num_classes": 3, "image_size": 14}, (2, 1, 14, 14)),
                            ({"in_channels": 2, "num_classes": 5, "image_size": 7}, (2, 2, 7, 7))]:
        model, _, label = _digit(student, **kwargs)
        _forward(student, model, label, torch.randn(*x_shape, generator=g), kwargs["num_classes"])


@grade("digit_cnn_test", weight=1)
def test_digit_cnn_parameters(student, ref):
    for kwargs in ({}, {"in_channels": 3, "num_classes": 7, "image_size": 28}, {"image_size": 14},
                   {"in_channels": 2, "image_size": 7}):
        _, info, label = _digit(student, **kwargs)
        expected = ref.DigitCNN(**kwargs)
        want = sorted(tuple(p.shape) for p in expected.parameters())
        got = param_shapes(info)
        if got != want:
            fail(f"{label}: parametre şekilleri {want} olmalıydı, ama {got} geldi. Mimari tablodakiyle aynı olmalı "
                 "ve n_flat girdi boyutundan hesaplanmalı.")
        total = sum(p.numel() for p in expected.parameters())
        if n_params(info) != total:
            fail(f"{label}: {total} parametre bekleniyordu, ama {n_params(info)} geldi.")


@grade("digit_cnn_test", weight=2)
def test_digit_cnn_computes_the_architecture(student, ref):
    model, info, label = _digit(student)
    reference = ref.DigitCNN()
    if param_shapes(info) != sorted(tuple(p.shape) for p in reference.parameters()):
        fail(f"{label}: parametre şekilleri mimariyle uyuşmuyor; katmanları tablodaki gibi kurun.")
    fill_by_shape(student, model, info, reference, seed=63)
    x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(64), dtype=torch.float64)
    got = call(student, model, x, contexts=["no_grad"], what=f"{label}(x)")
    with torch.no_grad():
        expected = reference(x)
    expect_close(got, expected, what=f"{label}(x) (bilinen ağırlıklarla)",
                 hint="Sıra: evrişim → ReLU → en büyük değer havuzlaması (iki kez), sonra düzleştirme → Linear → "
                      "ReLU → Linear; çıktıya softmax uygulamayın.")


@grade("digit_cnn_test", weight=1)
def test_digit_cnn_on_device(student):
    dev = check_device()
    model, _, label = _digit(student, in_channels=2, num_classes=5, image_size=16)
    call_method(student, model, "to", dev)
    hx = to_worker(student, torch.randn(3, 2, 16, 16, generator=torch.Generator().manual_seed(65)), dev)
    out = forward_backward_on_device(student, model, hx, dev, f"{label} (model.to(device) sonrası ileri geçiş)",
                                         hint="n_flat image_size'a göre hesaplanmalı.")
    info = student.describe(out).get("tensor")
    if info is None or torch.device(info["device"]).type != dev.type or tuple(info["shape"]) != (3, 5):
        fail(f"{label}: {device_words(dev)} üzerinde (3, 5) şekilli logitler bekleniyordu.")


@grade("digit_cnn_test", weight=1)
def test_digit_cnn_layer_order(student, ref):
    """conv -> ReLU -> max pooling in each stage. ReLU and max pooling commute (same numbers either way), so only
    the order of the forward pass tells: read by tracing it, whatever the layers are called, modules or F.relu."""
    test_digit_cnn_computes_the_architecture(student, ref)  # the order earns nothing without the right numbers
    model, _, label = _digit(student)
    ops = traced_ops(student, model, label)
    if ops is None:
        pytest.skip("ileri geçişin katman sırası okunamadı (izlenemeyen bir forward), bu kontrol sayılmadı")
    stage = [op for op in ops if op in ("conv", "relu", "maxpool")]
    for i, op in enumerate(stage[:-1]):
        if op == "conv" and stage[i + 1] == "maxpool" and "relu" in stage[i + 2:i + 3]:
            fail(f"{label}: öznitelik çıkarıcıda havuzlama ReLU'dan önce geliyor (evrişim → havuzlama → ReLU). "
                 "Tablodaki sıra her aşamada evrişim → ReLU → en büyük değer havuzlamasıdır.")


@grade("digit_cnn_test", weight=1)
def test_digit_cnn_built_without_a_device(student, ref):
    """On a machine with a GPU the notebook's `device` is CUDA: __init__ must still build on the CPU."""
    dev = check_device()
    kwargs = {"in_channels": 1, "num_classes": 4, "image_size": 12}
    expected = sorted(tuple(p.shape) for p in ref.DigitCNN(**kwargs).parameters())
    label = "DigitCNN(in_channels=1, num_classes=4, image_size=12)"
    with notebook_global(student, "DigitCNN", "device", dev):
        try:
            model = run_on_device(student, "DigitCNN", device=dev, device_arg=None, keep=True, what=label, **kwargs)
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
        except CheckFailed as failure:
            fail(f"{label}: defterin `device` değişkeni GPU iken model kurulamadı. `__init__` içinde cihaz "
                 f"kullanmayın: sahte girdiyi ve katmanları CPU'da oluşturun (cihazı çağıran seçer). ({failure})")
        except StudentCodeError as exc:
            fail(f"{label}: defterin `device` değişkeni GPU iken model kurulamadı ({exc.type}): `__init__` içinde "
                 "cihaz kullanmayın.")
    info = module_info(student, model, label)
    if param_shapes(info) != expected:
        fail(f"{label}: parametre şekilleri {expected} olmalıydı, ama {param_shapes(info)} geldi.")
    for name, _, device, _ in info.get("parameters", []):
        if torch.device(device).type != "cpu":
            fail(f"{label}: yeni kurulan modelin `{name}` parametresi `{device}` cihazında; model CPU'da kurulmalı, "
                 "`__init__` içinde `.to(device)` çağırmayın (cihazı çağıran `model.to(device)` ile seçer).")
