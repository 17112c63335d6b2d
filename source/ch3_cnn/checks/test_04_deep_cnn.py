"""Hidden checks for 04_deep_cnn.ipynb (VGG block, residual block, a small ResNet, parameter counts).

Value checks give the student's convolutions known weights matched by shape (so the names and
order of their layers do not matter), leave batch norm at its initial state and use eval mode, in
float64; the expected outputs come from reference modules in conftest.py.
"""
import torch
from torch import nn

from autograder.checks import CheckFailed, StudentCodeError, expect_close, expect_tensor, fail, grade
from autograder.checks import call, call_method, close
from autograder.checks.cache import per_process
from autograder.checks.objects import fill_by_shape, module_info, n_params, notebook_global, param_shapes, to_worker
from autograder.device import (DeviceSimulationUnsupported, check_device, device_words, forward_backward_on_device,
                               not_simulated, run_on_device)


def _module(student, fn, *args, **kwargs):
    label = f"{fn}(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"
    handle = call(student, fn, *args, keep=True, **kwargs)
    return handle, module_info(student, handle, label), label


def _shape_of(student, handle, label, x, expected_shape, hint=""):
    what = f"{label}(x), x{tuple(x.shape)}"
    out = call(student, handle, x, contexts=["no_grad"], hint=hint, what=what)
    expect_tensor(out, what)
    if tuple(out.shape) != tuple(expected_shape):
        fail(f"{what}: çıktı şekli {tuple(expected_shape)} olmalıydı, ama {tuple(out.shape)} geldi. {hint}".rstrip())
    return out


def _values(student, handle, info, label, reference, x, seed, hint):
    want = sorted(tuple(p.shape) for p in reference.parameters())
    if param_shapes(info) != want:
        fail(f"{label}: parametre şekilleri {want} olmalıydı, ama {param_shapes(info)} geldi. Katmanları "
             "tarif edildiği gibi kurun (evrişimler bias=False).")
    fill_by_shape(student, handle, info, reference, seed=seed, only_4d=True)
    call_method(student, handle, "eval")
    reference.eval()
    got = call(student, handle, x, contexts=["no_grad"], what=f"{label}(x)", hint=hint)
    with torch.no_grad():
        expected = reference(x)
    expect_close(got, expected, what=f"{label}(x) (bilinen ağırlıklarla, eval kipinde)", hint=hint)


def _on_device(student, handle, label, x_shape, out_shape):
    dev = check_device()
    call_method(student, handle, "to", dev)
    hx = to_worker(student, torch.randn(*x_shape, generator=torch.Generator().manual_seed(99)), dev)
    out = forward_backward_on_device(student, handle, hx, dev, f"{label} (model.to(device) sonrası ileri geçiş)")
    info = student.describe(out).get("tensor")
    if info is None or torch.device(info["device"]).type != dev.type or tuple(info["shape"]) != tuple(out_shape):
        fail(f"{label}: {device_words(dev)} üzerinde {tuple(out_shape)} şekilli bir çıktı bekleniyordu.")
    for name, _, device, _ in student.describe(handle).get("parameters", []):
        if torch.device(device).type != dev.type:
            fail(f"{label}: model.to(device) sonrası `{name}` parametresi hâlâ {device} cihazında: katmanları "
                 "modülün özniteliği, nn.Sequential ya da nn.ModuleList yapın (düz Python listesi değil).")


# ---------------------------------------------------------------------------- vgg_block


@grade("vgg_block_test", weight=1)
def test_vgg_block_halves_the_size(student):
    g = torch.Generator().manual_seed(101)
    for args, x_shape, out_shape in [((3, 8, 2), (2, 3, 16, 12), (2, 8, 8, 6)),
                                     ((4, 4, 1), (1, 4, 7, 9), (1, 4, 3, 4))]:
        handle, info, label = _module(student, "vgg_block", *args)
        if "Sequential" not in info.get("type", ""):
            fail(f"{label}: bir nn.Sequential döndürmeliydi, ama {info.get('type')} geldi.")
        _shape_of(student, handle, label, torch.randn(*x_shape, generator=g), out_shape,
                  hint="3×3 evrişimler padding=1 ile boyutu korumalı, sondaki MaxPool2d(2, 2) yarıya indirmeli.")


@grade("vgg_block_test", weight=2)
def test_vgg_block_values(student, ref):
    handle, info, label = _module(student, "vgg_block", 3, 5, 3)
    x = torch.randn(2, 3, 10, 8, generator=torch.Generator().manual_seed(102), dtype=torch.float64)
    _values(student, handle, info, label, ref.vgg_block(3, 5, 3), x, seed=103,
            hint="Her evrişimden sonra BatchNorm2d ve ReLU gelmeli; blok tek bir MaxPool2d(2, 2) ile bitmeli.")


def _vgg_relu_first(in_channels, out_channels, num_convs):
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   nn.ReLU(), nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


@grade("vgg_block_test", weight=1)
def test_vgg_block_values_in_training_mode(student, ref):
    """In training mode batch norm uses the batch's statistics: conv -> ReLU -> BN then differs from conv -> BN ->
    ReLU (with a fresh BN in eval mode the two would agree)."""
    handle, info, label = _module(student, "vgg_block", 2, 4, 2)
    reference = ref.vgg_block(2, 4, 2)
    want = sorted(tuple(p.shape) for p in reference.parameters())
    if param_shapes(info) != want:
        fail(f"{label}: parametre şekilleri {want} olmalıydı, ama {param_shapes(info)} geldi.")
    fill_by_shape(student, handle, info, reference, seed=104, only_4d=True)
    call_method(student, handle, "train")
    x = torch.randn(3, 2, 6, 8, generator=torch.Generator().manual_seed(105), dtype=torch.float64)
    got = call(student, handle, x, contexts=["no_grad"], what=f"{label}(x)")
    reference.train()
    relu_first = _vgg_relu_first(2, 4, 2).double()
    relu_first.load_state_dict(dict(zip(relu_first.state_dict(), reference.state_dict().values())))
    relu_first.train()
    with torch.no_grad():
        expected = reference(x)
        wrong = relu_first(x)
    expect_close(got, expected, what=f"{label}(x) (bilinen ağırlıklarla, eğitim kipinde)", mistakes=[
        ("ReLU toplu normalleştirmeden önce uygulanmış: her evrişimden sonra sıra Conv2d → BatchNorm2d → ReLU "
         "olmalı.", wrong)],
        hint="Her evrişimden sonra BatchNorm2d ve ReLU gelmeli; blok tek bir MaxPool2d(2, 2) ile bitmeli.")


@grade("vgg_block_test", weight=1)
def test_vgg_block_parameter_count(student, ref):
    for args in [(3, 8, 2), (16, 32, 3)]:
        _, info, label = _module(student, "vgg_block", *args)
        expected = sum(p.numel() for p in ref.vgg_block(*args).parameters())
        if n_params(info) != expected:
            fail(f"{label}: {expected} parametre bekleniyordu, ama {n_params(info)} geldi. Evrişimler "
                 "bias=False olmalı (BatchNorm kaydırmayı kendisi öğrenir); her evrişimden sonra bir BatchNorm2d.")


# ---------------------------------------------------------------------------- ResidualBlock

BLOCK_SHAPES = [((8, 8, 1), (2, 8, 9, 9), (2, 8, 9, 9)), ((8, 16, 2), (2, 8, 9, 9), (2, 16, 5, 5)),
                ((8, 8, 2), (2, 8, 9, 9), (2, 8, 5, 5)), ((4, 12, 1), (2, 4, 6, 7), (2, 12, 6, 7))]


def _block(student, in_ch, out_ch, stride):
    return _module(student, "ResidualBlock", in_ch, out_ch, stride=stride)


@grade("residual_block_test", weight=1)
def test_residual_block_shapes(student):
    g = torch.Generator().manual_seed(111)
    for args, x_shape, out_shape in BLOCK_SHAPES:
        handle, _, label = _block(student, *args)
        _shape_of(student, handle, label, torch.randn(*x_shape, generator=g), out_shape,
                  hint="Adım yalnız ilk 3×3 evrişimde (padding=1); kanal ya da adım değişince kestirme yol 1×1 bir "
                       "izdüşümle (stride=stride) girdiyi aynı şekle getirmeli.")


@grade("residual_block_test", weight=1)
def test_residual_block_projection_only_when_needed(student):
    for (in_ch, out_ch, stride), _, _ in BLOCK_SHAPES:
        _, info, label = _block(student, in_ch, out_ch, stride)
        one_by_one = [tuple(s) for _, s, _, _ in info.get("parameters", []) if len(s) == 4 and tuple(s[2:]) == (1, 1)]
        needed = stride != 1 or in_ch != out_ch
        if needed and one_by_one != [(out_ch, in_ch, 1, 1)]:
            fail(f"{label}: kanal sayısı ya da adım değiştiği için kestirme yolda tek bir 1×1 izdüşüm "
                 f"(nn.Conv2d({in_ch}, {out_ch}, kernel_size=1, stride={stride}, bias=False) ve BatchNorm2d) "
                 f"olmalıydı; bulunan 1×1 evrişim ağırlıkları: {one_by_one}.")
        if not needed and one_by_one:
            fail(f"{label}: girdi ve çıktı aynı şekilde; kestirme yol girdinin kendisi olmalı (nn.Identity()), "
                 "1×1 izdüşüm yalnız gerektiğinde kurulur.")


@grade("residual_block_test", weight=2)
def test_residual_block_skip_path(student):
    handle, info, label = _block(student, 6, 6, 1)
    call_method(student, handle, "double")
    call_method(student, handle, "eval")
    for name, shape, _, _ in info.get("parameters", []):
        if len(shape) == 4:
            call_method(student, handle, f"{name}.data.zero_")
    x = torch.randn(2, 6, 5, 5, generator=torch.Generator().manual_seed(112), dtype=torch.float64)
    got = call(student, handle, x, contexts=["no_grad"], what=f"{label}(x)")
    expect_tensor(got, f"{label}(x)")
    if tuple(got.shape) == tuple(x.shape) and close(got, torch.zeros_like(x)):
        fail(f"{label}: evrişim ağırlıkları sıfırken (eval kipinde) blok 0 döndürdü; ReLU(x) döndürmeliydi. Kestirme "
             "yol eksik: çıktı ReLU(F(x) + x) olmalı.")
    expect_close(got, torch.relu(x), what=f"{label}(x) (evrişim ağırlıkları sıfır, eval kipi)",
                 hint="F(x) = 0 iken blok ReLU(0 + x) = ReLU(x) vermeli: girdiyi toplamaya ekleyin, son ReLU "
                      "toplamdan sonra gelsin.")


@grade("residual_block_test", weight=2)
def test_residual_block_values(student, ref):
    hint = ("Ana yol: conv1 (3×3, stride=stride, padding=1) → BN → ReLU → conv2 (3×3, stride=1, padding=1) → BN; "
            "kestirme: girdi ya da 1×1 izdüşüm (stride=stride) → BN; çıktı ReLU(ana + kestirme).")
    g = torch.Generator().manual_seed(113)
    for seed, (in_ch, out_ch, stride), x_shape in [(114, (6, 6, 1), (2, 6, 7, 7)), (115, (4, 8, 2), (2, 4, 9, 8))]:
        handle, info, label = _block(student, in_ch, out_ch, stride)
        x = torch.randn(*x_shape, generator=g, dtype=torch.float64)
        _values(student, handle, info, label, ref.ResidualBlock(in_ch, out_ch, stride), x, seed, hint)


@grade("residual_block_test", weight=1)
def test_residual_block_on_device(student):
    for args, x_shape, out_shape in [((4, 8, 2), (2, 4, 9, 9), (2, 8, 5, 5)), ((6, 6, 1), (2, 6, 5, 5), (2, 6, 5, 5))]:
        handle, _, label = _block(student, *args)
        _on_device(student, handle, label, x_shape, out_shape)


# ---------------------------------------------------------------------------- SmallResNet


@grade("small_resnet_test", weight=2)
def test_small_resnet_shapes(student):
    g = torch.Generator().manual_seed(121)
    for kwargs, x_shape, out_shape in [({}, (2, 1, 8, 8), (2, 10)), ({}, (1, 1, 28, 28), (1, 10)),
                                       ({"in_channels": 3, "num_classes": 5}, (2, 3, 32, 32), (2, 5))]:
        handle, _, label = _module(student, "SmallResNet", **kwargs)
        call_method(student, handle, "eval")
        _shape_of(student, handle, label, torch.randn(*x_shape, generator=g), out_shape,
                  hint="Başta nn.AdaptiveAvgPool2d(1) ve nn.Flatten() kullanın ki sınıflandırıcının girdisi her "
                       "görüntü boyutunda 64 olsun.")


@grade("small_resnet_test", weight=1)
def test_small_resnet_parameter_count(student, ref):
    for kwargs in ({}, {"in_channels": 3, "num_classes": 5}):
        _, info, label = _module(student, "SmallResNet", **kwargs)
        expected = sum(p.numel() for p in ref.SmallResNet(**kwargs).parameters())
        if n_params(info) != expected:
            fail(f"{label}: {expected} parametre bekleniyordu, ama {n_params(info)} geldi. Bloklar bir "
                 "nn.Sequential ya da nn.ModuleList içinde olmalı (düz bir listedekiler modüle kaydedilmez); baş "
                 "AdaptiveAvgPool2d(1) → Flatten → Linear(64, num_classes).")


def _resnet_variant(ref, stem_relu=True, pool="avg", stage2_stride=2, softmax=False):
    class Variant(ref.SmallResNet):
        def __init__(self):
            super().__init__()
            if not stem_relu:
                self.stem = nn.Sequential(*list(self.stem)[:2])
            if pool == "max":
                self.head[0] = nn.AdaptiveMaxPool2d(1)
            if stage2_stride != 2:
                self.blocks[1] = ref.ResidualBlock(16, 32, stage2_stride)

        def forward(self, x):
            out = super().forward(x)
            return torch.softmax(out, dim=1) if softmax else out

    return Variant()


@grade("small_resnet_test", weight=2)
def test_small_resnet_values(student, ref):
    """Known weights (matched by shape), eval mode, float64: the whole network as the table says."""
    handle, info, label = _module(student, "SmallResNet")
    reference = ref.SmallResNet()
    want = sorted(tuple(p.shape) for p in reference.parameters())
    if param_shapes(info) != want:
        fail(f"{label}: parametre şekilleri {want} olmalıydı, ama {param_shapes(info)} geldi.")
    fill_by_shape(student, handle, info, reference, seed=122, scale=0.2)
    call_method(student, handle, "eval")
    reference.eval()
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(123), dtype=torch.float64)
    got = call(student, handle, x, contexts=["no_grad"], what=f"{label}(x)")
    with torch.no_grad():
        expected = reference(x)

    def variant(**kwargs):
        def compute():
            model = _resnet_variant(ref, **kwargs).double()
            model.load_state_dict(reference.state_dict())
            model.eval()
            with torch.no_grad():
                return model(x)
        return compute

    expect_close(got, expected, what=f"{label}(x) (bilinen ağırlıklarla, eval kipinde)", mistakes=[
        ("çıktıya softmax uygulanmış: forward logit döndürmeli (nn.CrossEntropyLoss softmax'ı kendisi uygular).",
         variant(softmax=True)),
        ("girişte (stem) ReLU eksik: Conv2d(in_channels, 16, 3, padding=1, bias=False) → BatchNorm2d(16) → ReLU.",
         variant(stem_relu=False)),
        ("başta küresel en büyük değer havuzlaması kullanılmış: küresel ortalama havuzlama, "
         "nn.AdaptiveAvgPool2d(1), olmalı.", variant(pool="max")),
        ("aşama 2 boyutu yarıya indirmiyor: ResidualBlock(16, 32, stride=2) olmalı.", variant(stage2_stride=1)),
    ], hint="Sıra: giriş (Conv → BN → ReLU) → ResidualBlock(16, 16) → ResidualBlock(16, 32, stride=2) → "
            "ResidualBlock(32, 64, stride=2) → AdaptiveAvgPool2d(1) → Flatten → Linear(64, num_classes).")


@grade("small_resnet_test", weight=1)
def test_small_resnet_built_on_the_cpu(student, ref):
    """On a machine with a GPU the notebook's `device` is CUDA: __init__ must still leave the model on the CPU."""
    dev = check_device()
    label = "SmallResNet()"
    expected = sorted(tuple(p.shape) for p in ref.SmallResNet().parameters())
    with notebook_global(student, "SmallResNet", "device", dev):
        try:
            handle = run_on_device(student, "SmallResNet", device=dev, device_arg=None, keep=True, what=label)
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
    info = module_info(student, handle, label)
    if param_shapes(info) != expected:
        fail(f"{label}: parametre şekilleri {expected} olmalıydı, ama {param_shapes(info)} geldi.")
    for name, _, device, _ in info.get("parameters", []):
        if torch.device(device).type != "cpu":
            fail(f"{label}: yeni kurulan modelin `{name}` parametresi `{device}` cihazında: `__init__` içinde "
                 "`self.to(device)` çağırmayın; model CPU'da kurulur, cihazı çağıran `model.to(device)` ile seçer.")


@grade("small_resnet_test", weight=1)
def test_small_resnet_on_device(student):
    handle, _, label = _module(student, "SmallResNet")
    _on_device(student, handle, label, (2, 1, 8, 8), (2, 10))


# ---------------------------------------------------------------------------- count_parameters


def _count(student, model, label, **kwargs):
    got = call(student, "count_parameters", model, **kwargs)
    if isinstance(got, bool) or not isinstance(got, int):
        fail(f"count_parameters({label}): bir Python int'i döndürmeliydi, ama {type(got).__name__} türünde "
             f"{got!r} geldi. p.numel() değerlerini toplayın (sum(...) bir int verir).")
    return got


FROZEN = ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4")  # the body frozen in the trainable-only check


@per_process
def _resnet18_counts() -> tuple[int, int]:
    """(all parameters, those left trainable with FROZEN frozen) of torchvision's resnet18: sizes only, so the
    model is built on the meta device (no memory, no random initialisation)."""
    import torchvision

    with torch.device("meta"):
        local = torchvision.models.resnet18(weights=None)
    total = sum(p.numel() for p in local.parameters())
    for name in FROZEN:
        getattr(local, name).requires_grad_(False)
    return total, sum(p.numel() for p in local.parameters() if p.requires_grad)


def _student_resnet18(student):
    """A resnet18 in the student's worker, from the notebook's own torchvision; built on meta and given (CPU)
    memory afterwards: a real model for their count_parameters, without initialising 11 M random weights."""
    try:
        model = student.call_method("torchvision", "models.resnet18", weights=None, keep=True,
                                    contexts=["build_on_meta"])
        return student.call_method(model, "to_empty", device="cpu", keep=True)
    except Exception as exc:  # noqa: BLE001 - the notebook's torchvision import was removed or replaced
        fail(f"Kontrol için torchvision.models.resnet18 kurulamadı ({exc}); defterin ilk hücresindeki "
             "`import torchvision` değiştirilmemeli.")


@grade("count_parameters_test", weight=2)
def test_count_parameters_resnet18(student):
    expected, _ = _resnet18_counts()
    model = _student_resnet18(student)
    got = _count(student, model, "resnet18")
    if got != expected:
        hint = " Parametre tensörlerinin sayısı değil, öge sayılarının (p.numel()) toplamı isteniyor." \
            if got == 62 else ""
        fail(f"count_parameters(resnet18): {expected:,} bekleniyordu, ama {got:,} geldi.{hint}")


@grade("count_parameters_test", weight=1)
def test_count_parameters_trainable_only(student):
    total, trainable = _resnet18_counts()
    model = _student_resnet18(student)
    for name in FROZEN:
        student.call_method(model, f"{name}.requires_grad_", False)
    got_all = _count(student, model, "resnet18 (dondurulmuş gövde)")
    got_trainable = _count(student, model, "resnet18 (dondurulmuş gövde), trainable_only=True",
                           trainable_only=True)
    if got_all != total:
        fail(f"count_parameters(model) (gövdesi dondurulmuş resnet18): {total:,} bekleniyordu, ama {got_all:,} "
             "geldi. trainable_only=False iken dondurulmuş parametreler de sayılır; öge sayılarını (p.numel()) "
             "toplayın.")
    if got_trainable != trainable:
        fail(f"count_parameters(model, trainable_only=True): yalnız requires_grad=True olan parametreler (son katman, "
             f"{trainable:,}) sayılmalıydı, ama {got_trainable:,} geldi.")


@grade("count_parameters_test", weight=1)
def test_count_parameters_on_device(student, ref):
    """The count reads only sizes: it works for a model on the GPU (the simulated one here)."""
    model = student.call_method("torch", "nn.Sequential", keep=True)
    for layer in (student.call_method("torch", "nn.Conv2d", 3, 4, 3, padding=1, bias=False, keep=True),
                  student.call_method("torch", "nn.BatchNorm2d", 4, keep=True),
                  student.call_method("torch", "nn.Linear", 4, 5, keep=True)):
        student.call_method(model, "append", layer)
    expected = 4 * 3 * 9 + 8 + 4 * 5 + 5
    got = _count(student, model, "küçük bir model (CPU'da)")
    if got != expected:
        fail(f"count_parameters (küçük bir model): {expected} bekleniyordu, ama {got} geldi.")
    dev = check_device()
    student.call_method(model, "to", dev)
    try:
        got = run_on_device(student, "count_parameters", model, device=dev, device_arg=None,
                            what="count_parameters (model cihazdayken)")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except StudentCodeError as exc:
        fail(f"count_parameters: model {device_words(dev)} üzerindeyken hata verdi ({exc.type}). Değerleri okumayın "
             "(NumPy'a çevirmeyin): öge sayısını `p.numel()` ile alın.")
    except CheckFailed as failure:
        fail(f"{failure} count_parameters değerleri okumamalı: öge sayısını `p.numel()` ile alın.")
    if isinstance(got, bool) or not isinstance(got, int) or got != expected:
        fail(f"count_parameters (model {device_words(dev)} üzerindeyken): {expected} (bir int) bekleniyordu, ama "
             f"{got!r} geldi. Öge sayısını `p.numel()` ile alın.")
