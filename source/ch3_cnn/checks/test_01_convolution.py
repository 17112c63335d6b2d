"""Hidden checks for 01_convolution.ipynb (output size, conv2d and pooling from scratch, a conv layer module)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks import CheckFailed, expect_close, expect_tensor, fail, grade
from autograder.checks import call, call_method, close, rel_error
from autograder.checks.objects import module_info, op_counts, to_worker
from autograder.checks.source import builtin_uses
from autograder.device import not_simulated
from autograder.device import DeviceSimulationUnsupported, check_device, device_words, forward_backward_on_device, run_on_device

NEW_TENSORS = (" Fonksiyonun içinde oluşturduğunuz tensörleri (ör. torch.zeros(...)) girdinin cihazında "
               "oluşturun: torch.zeros(..., dtype=x.dtype, device=x.device).")

# ---------------------------------------------------------------------------- conv_output_size

SIZE_CASES = [(8, 3, 1, 0), (8, 3, 1, 1), (7, 3, 2, 0), (28, 5, 2, 2), (10, 4, 3, 1), (32, 3, 2, 1), (5, 5, 1, 0),
              (9, 2, 2, 0), (11, 3, 4, 2), (224, 7, 2, 3), (3, 4, 2, 0), (1, 2, 3, 0), (2, 5, 2, 1)]


def _size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _as_number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(f"{what}: bir tam sayı bekleniyordu, ama {type(value).__name__} türünde {value!r} geldi.")
    return value


@grade("conv_output_size_test", weight=2)
def test_output_size_table(student):
    for n, k, s, p in SIZE_CASES:
        what = f"conv_output_size({n}, {k}, stride={s}, padding={p})"
        got = _as_number(call(student, "conv_output_size", n, k, stride=s, padding=p), what)
        expected = _size(n, k, s, p)
        if got == expected:
            continue
        if p and got == (n + p - k) // s + 1:
            hint = "Dolgu iki yana da eklenir: `2 * padding`."
        elif got == expected - 1:
            hint = "Sondaki `+ 1` unutulmuş: ilk konum da sayılır."
        elif isinstance(got, (float, np.floating)) and abs(got - ((n + 2 * p - k) / s + 1)) < 1e-9:
            hint = "Bölme tam sayı bölmesi (`//`, taban) olmalı: sığmayan son konum sayılmaz."
        elif got == int((n + 2 * p - k) / s) + 1:
            hint = ("Pencere dolgulu eksene sığmıyor, sonuç 0 olmalı: `int(a / s)` sıfıra doğru yuvarlar, taban "
                    "bölmesi (`//`) kullanın.")
        else:
            hint = "Formül: (n + 2·padding − k) // stride + 1."
        fail(f"{what}: {expected} bekleniyordu, ama {got!r} geldi. {hint}")


@grade("conv_output_size_test", weight=1)
def test_output_size_is_int(student):
    for n, k, s, p in [(10, 4, 3, 1), (8, 2, 2, 0)]:
        got = call(student, "conv_output_size", n, k, stride=s, padding=p)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            fail(f"conv_output_size({n}, {k}, stride={s}, padding={p}): bir tam sayı (int) döndürmeli, ama "
                 f"{type(got).__name__} türünde {got!r} geldi. `/` yerine `//` kullanın; şekiller tam sayı olmalı.")
        if int(got) != (n + 2 * p - k) // s + 1:  # the type earns nothing without the right value
            fail(f"conv_output_size({n}, {k}, stride={s}, padding={p}): {(n + 2 * p - k) // s + 1} bekleniyordu, "
                 f"ama {got!r} geldi.")


# ---------------------------------------------------------------------------- conv2d


def _randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _check_conv(student, x, w, b, stride, padding):
    what = f"conv2d(x{tuple(x.shape)}, w{tuple(w.shape)}, {'b' if b is not None else 'None'}, stride={stride}, " \
           f"padding={padding})"
    got = call(student, "conv2d", x, w, b, stride=stride, padding=padding)
    expected = F.conv2d(x, w, b, stride=stride, padding=padding)
    expect_tensor(got, what)
    if tuple(got.shape) != tuple(expected.shape):
        fail(f"{what}: çıktı şekli {tuple(expected.shape)} olmalıydı, ama {tuple(got.shape)} geldi. Çıktı boyutunu "
             "conv_output_size(H, k_h, stride, padding) ve conv_output_size(W, k_w, stride, padding) ile bulun; "
             "filtre sayısı w.shape[0]'dır.")
    if got.dtype != x.dtype:
        fail(f"{what}: sonuç girdiyle aynı veri türünde (float64) olmalıydı, ama {str(got.dtype)[6:]} geldi. Yeni "
             "tensörleri `dtype=x.dtype` ile oluşturun.")
    if close(got, expected):
        return
    if close(got, F.conv2d(x, w.flip(-1, -2), b, stride=stride, padding=padding)):
        fail(f"{what}: sonuç, çekirdek ters çevrilerek (flip) hesaplanmış gibi. PyTorch çapraz korelasyon hesaplar: "
             "out[i, j] = Σ x[i·s + u, j·s + v] · w[u, v]; çekirdeği çevirmeyin.")
    if close(got, expected, 1e-5):
        fail(f"{what}: sonuç float32 hassasiyetinde hesaplanmış (bağıl hata {rel_error(got, expected):.1e}): ara "
             "tensörleri ve biriktiriciyi girdinin veri türünde oluşturun, `torch.zeros(..., dtype=x.dtype, "
             "device=x.device)`.")
    if b is not None and close(got, F.conv2d(x, w, None, stride=stride, padding=padding)):
        fail(f"{what}: sapma (bias) eklenmemiş: her filtrenin çıktısına b[f] ekleyin (b.reshape(1, -1, 1, 1)).")
    expect_close(got, expected, what=what, hint="Her çıktı konumu, dolgulu girdinin (i·s, j·s) köşesinden başlayan "
                                                "k_h×k_w penceresinin bütün kanallarıyla w[f]'nin çarpımlarının "
                                                "toplamıdır.")


@grade("conv2d_test", weight=2)
def test_conv2d_matches_torch(student):
    g = torch.Generator().manual_seed(31)
    _check_conv(student, _randn(g, 2, 3, 7, 6), _randn(g, 4, 3, 3, 2), _randn(g, 4), 1, 0)
    _check_conv(student, _randn(g, 1, 1, 5, 5), _randn(g, 2, 1, 2, 3), None, 1, 0)
    _check_conv(student, _randn(g, 3, 2, 4, 4), _randn(g, 5, 2, 1, 1), _randn(g, 5), 1, 0)


@grade("conv2d_test", weight=2)
def test_conv2d_stride_and_padding(student):
    g = torch.Generator().manual_seed(32)
    x = _randn(g, 2, 2, 9, 8)
    w = _randn(g, 3, 2, 3, 3)
    b = _randn(g, 3)
    for stride, padding in [(2, 1), (3, 2), (2, 0), (1, 2)]:
        _check_conv(student, x, w, b, stride, padding)
    _check_conv(student, x, _randn(g, 2, 2, 4, 2), None, 3, 1)


@grade("conv2d_test", weight=1)
def test_conv2d_does_not_call_torch_convolution(student):
    g = torch.Generator().manual_seed(33)
    # Not calling F.conv2d earns nothing unless the result is right.
    _check_conv(student, _randn(g, 1, 2, 6, 6), _randn(g, 3, 2, 3, 3), _randn(g, 3), 1, 1)
    counts = op_counts(student, "conv2d", _randn(g, 1, 2, 6, 6), _randn(g, 3, 2, 3, 3), _randn(g, 3),
                           stride=1, padding=1)
    if counts.get("conv", 0):
        fail("conv2d, PyTorch'un hazır evrişimini (F.conv2d / torch.conv2d / nn.Conv2d) çağırıyor: bu alıştırmada "
             "evrişimi kendiniz, dilimleme ve çarpma-toplama ile hesaplamalısınız.")


@grade("conv2d_test", weight=1)
def test_conv2d_on_device(student):
    dev = check_device()
    g = torch.Generator().manual_seed(34)
    x, w, b = _randn(g, 2, 3, 7, 6), _randn(g, 4, 3, 3, 3), _randn(g, 4)
    handles = [to_worker(student, t, dev) for t in (x, w, b)]
    try:
        out = run_on_device(student, "conv2d", *handles, stride=2, padding=1, device=dev, device_arg=None,
                                keep=True, what="conv2d")
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except CheckFailed as exc:
        fail(str(exc) + NEW_TENSORS)
    info = student.describe(out)
    if "tensor" not in info:
        fail(f"conv2d: bir tensör döndürmeliydi, ama {info.get('type')} geldi.")
    if torch.device(info["tensor"]["device"]).type != dev.type:
        fail(f"conv2d: girdiler {device_words(dev)} cihazındayken sonuç da orada olmalıydı, ama "
             f"{info['tensor']['device']} cihazında. Yeni tensörleri `device=x.device` ile oluşturun.")
    if tuple(info["tensor"]["shape"]) != (2, 4, 4, 3):
        fail(f"conv2d: {device_words(dev)} üzerinde şekil (2, 4, 4, 3) olmalıydı, ama "
             f"{tuple(info['tensor']['shape'])} geldi.")


# ---------------------------------------------------------------------------- pooling

POOL_CASES = [(2, None), (3, 2), (3, 1), (2, 1), (4, None)]
POOLS = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d}


def _check_pool(student, name):
    g = torch.Generator().manual_seed(41)
    x = _randn(g, 2, 3, 7, 8)
    for k, s in POOL_CASES:
        what = f"{name}(x{tuple(x.shape)}, kernel_size={k}, stride={s})"
        got = call(student, name, x, k, stride=s)
        expected = POOLS[name](x, k, s)
        expect_tensor(got, what)
        if tuple(got.shape) != tuple(expected.shape):
            extra = " stride=None iken adım kernel_size'a eşit olmalı." if s is None else ""
            fail(f"{what}: şekil {tuple(expected.shape)} olmalıydı, ama {tuple(got.shape)} geldi. Çıktı boyutu "
                 f"conv_output_size(H, kernel_size, stride) ile bulunur.{extra}")
        if name == "avg_pool2d" and close(got, expected * k):
            fail(f"{what}: pencerenin toplamı kernel_size ile bölünmüş; ortalama için kernel_size² öğeye bölün.")
        expect_close(got, expected, what=what, hint=f"Sonuç F.{name}(x, kernel_size, stride) ile aynı olmalı.")


@grade("pooling_test", weight=2)
def test_max_pool_matches_torch(student):
    _check_pool(student, "max_pool2d")


@grade("pooling_test", weight=2)
def test_avg_pool_matches_torch(student):
    _check_pool(student, "avg_pool2d")


@grade("pooling_test", weight=2)
def test_pooling_leaves_input_alone(student):
    g = torch.Generator().manual_seed(42)
    x = _randn(g, 1, 2, 6, 6)
    for name in POOLS:
        for k, s in [(2, None), (3, 1), (1, None)]:
            what = f"{name}(x, kernel_size={k}, stride={s})"
            # Leaving the input alone earns nothing unless the result is right.
            expect_close(call(student, name, x, k, stride=s), POOLS[name](x, k, s), what=what)
            hx = student.put(x)
            out = call(student, name, hx, k, stride=s, keep=True)
            if not torch.equal(student.get(hx), x):
                fail(f"{what} girdi tensörünü değiştirdi. Dilimler (x[:, :, a:b:s, ...]) girdinin görünümleridir "
                     "(view); onlara yerinde yazmak (out[...] = ..., +=, torch.maximum(..., out=...)) girdiyi bozar. "
                     "Her adımda yeni bir tensör üretin ya da ilk dilimi .clone() ile kopyalayın.")
            if "tensor" not in student.describe(out):
                fail(f"{what}: bir tensör döndürmeliydi.")
            student.call_method(out, "fill_", 123.0)
            if not torch.equal(student.get(hx), x):
                fail(f"{what} girdiyle bellek paylaşan bir tensör (görünüm) döndürüyor: sonuç değiştirilince girdi "
                     "de değişiyor. Sonucu .clone() ile kopyalayın ya da yeni bir tensörde hesaplayın.")


POOL_BUILTINS = {"max_pool2d", "avg_pool2d", "MaxPool2d", "AvgPool2d", "max_pool2d_with_indices", "lp_pool2d",
                 "adaptive_max_pool2d", "adaptive_avg_pool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d",
                 "fractional_max_pool2d"}


@grade("pooling_test", weight=1)
def test_pooling_written_by_hand(student):
    g = torch.Generator().manual_seed(44)
    x = _randn(g, 1, 2, 6, 7)
    for name in POOLS:  # not calling the built-in earns nothing unless the result is right
        expect_close(call(student, name, x, 3, stride=2), POOLS[name](x, 3, 2), what=f"{name}(x, 3, stride=2)")
    for cell in student.source_cells:
        used = builtin_uses(cell.source, set(POOLS), forbidden=POOL_BUILTINS)
        if used:
            fail(f"`{cell.label}` hücresi: havuzlama fonksiyonları PyTorch'un hazır havuzlamasını ({', '.join(used)}) "
                 "çağırıyor: bu alıştırmada havuzlamayı dilimleme ile kendiniz yazmalısınız (sonuçlar yalnız "
                 "karşılaştırma için F.max_pool2d / F.avg_pool2d ile aynı olmalı).")


@grade("pooling_test", weight=1)
def test_pooling_on_device(student):
    dev = check_device()
    g = torch.Generator().manual_seed(43)
    hx = to_worker(student, _randn(g, 2, 3, 7, 8), dev)
    for name in POOLS:
        try:
            out = run_on_device(student, name, hx, 3, stride=2, device=dev, device_arg=None, keep=True,
                                    what=name)
        except DeviceSimulationUnsupported as gap:
            not_simulated(gap)
        except CheckFailed as exc:
            fail(str(exc) + NEW_TENSORS)
        info = student.describe(out).get("tensor")
        if info is None:
            fail(f"{name}: bir tensör döndürmeliydi.")
        if torch.device(info["device"]).type != dev.type:
            fail(f"{name}: girdi {device_words(dev)} üzerindeyken sonuç da orada olmalıydı, ama "
                 f"{info['device']} cihazında." + NEW_TENSORS)
        if tuple(info["shape"]) != (2, 3, 3, 3):
            fail(f"{name}(x, 3, stride=2): (2, 3, 7, 8) girdide şekil (2, 3, 3, 3) olmalıydı, ama "
                 f"{tuple(info['shape'])} geldi.")


# ---------------------------------------------------------------------------- ScratchConv2d


def _params(student, handle, what):
    info = module_info(student, handle, what)
    return {name: tuple(shape) for name, shape, _, _ in info.get("parameters", [])}


@grade("scratch_conv_test", weight=1)
def test_scratch_conv_parameters(student):
    m = call(student, "ScratchConv2d", 3, 5, 3, stride=2, padding=1, keep=True)
    params = _params(student, m, "ScratchConv2d(3, 5, 3, stride=2, padding=1)")
    if not params:
        fail("ScratchConv2d'nin hiç parametresi yok: ağırlık ve sapmayı `nn.Parameter(...)` olarak atayın; düz "
             "tensör öznitelikleri parameters()'da görünmez, eğitilmez ve model.to(device) ile taşınmaz.")
    if "weight" not in params:
        fail("ScratchConv2d(3, 5, 3, stride=2, padding=1): `self.weight` parametreler arasında yok: ağırlığı "
             "`nn.Parameter(...)` olarak atayın; düz bir tensör eğitilmez ve model.to(device) ile taşınmaz.")
    if params != {"weight": (5, 3, 3, 3), "bias": (5,)}:
        fail(f"ScratchConv2d(3, 5, 3): parametreler {{'weight': (5, 3, 3, 3), 'bias': (5,)}} olmalıydı, ama "
             f"{params} geldi.")
    m2 = call(student, "ScratchConv2d", 3, 5, 3, bias=False, keep=True)
    params2 = _params(student, m2, "ScratchConv2d(3, 5, 3, bias=False)")
    if params2 != {"weight": (5, 3, 3, 3)} or student.get(m2, "bias") is not None:
        fail(f"ScratchConv2d(3, 5, 3, bias=False): yalnız `weight` parametresi olmalı ve `self.bias` None olmalı; "
             f"parametreler: {params2}.")


def _uniform_sample(student, args, name, what):
    m = call(student, "ScratchConv2d", *args, keep=True)
    value = student.get(m, name)
    if not isinstance(value, torch.Tensor):
        fail(f"{what}.{name} bir tensör (nn.Parameter) olmalı, ama {type(value).__name__} geldi.")
    return value.detach().double().reshape(-1)


def _expect_init_range(v, in_ch, out_ch, k, what):
    bound = 1 / math.sqrt(in_ch * k * k)
    top, std, mean = v.abs().max().item(), v.std().item(), v.mean().item()
    sigma = bound / math.sqrt(3)
    if top == 0:
        fail(f"{what}: bütün değerler 0: başlangıç değerleri [±1/√fan_in] = [±{bound:.4f}] aralığında düzgün "
             "dağılımdan gelmeli (`torch.empty(...).uniform_(-bound, bound)`), sıfırla başlatmayın.")
    for wrong, label in ((1 / math.sqrt(out_ch * k * k), "fan_out = out_channels · kernel_size²"),
                         (1 / math.sqrt(in_ch * k), "in_channels · kernel_size (kare alınmamış)"),
                         (1 / math.sqrt(in_ch), "yalnız in_channels")):
        if abs(wrong - bound) > 0.2 * bound and 0.9 * wrong <= top <= wrong * (1 + 1e-6) \
                and abs(std - wrong / math.sqrt(3)) < 0.1 * wrong / math.sqrt(3):
            fail(f"{what}: değerler [±{wrong:.4f}] aralığında; sınır {label} ile hesaplanmış gibi. fan_in = "
                 f"in_channels · kernel_size² = {in_ch * k * k}, sınır 1/√fan_in = {bound:.4f} olmalı.")
    if top > bound * (1 + 1e-6):
        fail(f"{what}: değerler [-1/√fan_in, 1/√fan_in] = [±{bound:.4f}] aralığında olmalı, ama en büyük mutlak "
             f"değer {top:.4f}. fan_in = in_channels · kernel_size² ile `torch.empty(...).uniform_(-bound, bound)` "
             "kullanın (randn değil).")
    if mean > 0.3 * bound or mean < -0.3 * bound:
        fail(f"{what}: değerlerin ortalaması {mean:.4f}; [±{bound:.4f}] aralığında düzgün dağılmış değerlerin "
             "ortalaması 0'a yakın olur (`torch.rand` [0, 1) verir: `uniform_(-bound, bound)` kullanın).")
    if top < 0.9 * bound or not 0.9 * sigma < std < 1.1 * sigma:
        fail(f"{what}: değerler [±{bound:.4f}] aralığında düzgün dağılmış görünmüyor (en büyük mutlak değer "
             f"{top:.4f}, standart sapma {std:.4f}, beklenen ≈ {sigma:.4f}). fan_in = in_channels · "
             "kernel_size² ile `uniform_(-bound, bound)` kullanın.")


@grade("scratch_conv_test", weight=1)
def test_scratch_conv_initialisation(student):
    for args in ((4, 64, 3), (64, 4, 3)):  # 2304 weights each: the range and the spread are clear
        what = f"ScratchConv2d{args}.weight"
        v = _uniform_sample(student, args, "weight", what)
        if v.numel() != args[0] * args[1] * 9:
            fail(f"{what}: {args[0] * args[1] * 9} öge bekleniyordu, {v.numel()} geldi.")
        _expect_init_range(v, args[0], args[1], args[2], what)


@grade("scratch_conv_test", weight=1)
def test_scratch_conv_bias_initialisation(student):
    for args in ((2, 500, 1), (50, 600, 1)):
        what = f"ScratchConv2d{args}.bias"
        v = _uniform_sample(student, args, "bias", what)
        if v.numel() != args[1]:
            fail(f"{what}: {args[1]} öge bekleniyordu, {v.numel()} geldi.")
        _expect_init_range(v, args[0], args[1], args[2], what + " (sapma da ağırlıklarla aynı aralıktan gelir)")


@grade("scratch_conv_test", weight=2)
def test_scratch_conv_forward(student):
    g = torch.Generator().manual_seed(51)
    for args, kwargs, x_shape in [((2, 3, 3), {"stride": 2, "padding": 1}, (2, 2, 7, 7)),
                                  ((3, 2, 2), {"padding": 2, "bias": False}, (1, 3, 5, 6))]:
        what = "ScratchConv2d(" + ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())]) + ")"
        m = call(student, "ScratchConv2d", *args, keep=True, **kwargs)
        module_info(student, m, what)
        call_method(student, m, "double")
        w = _randn(g, args[1], args[0], args[2], args[2])
        b = _randn(g, args[1]) if kwargs.get("bias", True) else None
        call_method(student, m, "weight.data.copy_", w)
        if b is not None:
            call_method(student, m, "bias.data.copy_", b)
        x = _randn(g, *x_shape)
        got = call(student, m, x, what=f"{what}(x)")
        stride, padding = kwargs.get("stride", 1), kwargs.get("padding", 0)
        expected = F.conv2d(x, w, b, stride=stride, padding=padding)
        expect_tensor(got, f"{what}(x)")
        if tuple(got.shape) != tuple(expected.shape):
            fail(f"{what}(x): şekil {tuple(expected.shape)} olmalıydı, ama {tuple(got.shape)} geldi. forward, conv2d'yi "
                 "self.stride ve self.padding ile çağırmalı.")
        expect_close(got, expected, what=f"{what}(x)",
                     hint="forward, conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding) "
                          "döndürmeli (conv2d'nin kendi kontrolleri de geçmeli).")


@grade("scratch_conv_test", weight=1)
def test_scratch_conv_forward_uses_own_conv2d(student):
    g = torch.Generator().manual_seed(53)
    m = call(student, "ScratchConv2d", 2, 3, 3, padding=1, keep=True)
    module_info(student, m, "ScratchConv2d(2, 3, 3, padding=1)")
    call_method(student, m, "double")
    w, b = _randn(g, 3, 2, 3, 3), _randn(g, 3)
    call_method(student, m, "weight.data.copy_", w)
    call_method(student, m, "bias.data.copy_", b)
    x = _randn(g, 1, 2, 5, 5)
    expect_close(call(student, m, x, what="ScratchConv2d(2, 3, 3, padding=1)(x)"), F.conv2d(x, w, b, padding=1),
                 what="ScratchConv2d(2, 3, 3, padding=1)(x)")  # a right result first
    counts = op_counts(student, m, x)
    if counts.get("conv", 0):
        fail("ScratchConv2d'nin ileri geçişi PyTorch'un hazır evrişimini (F.conv2d / nn.Conv2d) çağırıyor: forward, "
             "defterdeki kendi `conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)` "
             "fonksiyonunuzu çağırmalı (ve conv2d de evrişimi kendisi hesaplamalı).")


@grade("scratch_conv_test", weight=2)
def test_scratch_conv_on_device(student):
    dev = check_device()
    m = call(student, "ScratchConv2d", 3, 4, 3, padding=1, keep=True)
    module_info(student, m, "ScratchConv2d(3, 4, 3, padding=1)")
    call_method(student, m, "to", dev)
    g = torch.Generator().manual_seed(52)
    hx = to_worker(student, torch.randn(2, 3, 6, 6, generator=g), dev)
    out = forward_backward_on_device(student, m, hx, dev, "ScratchConv2d (model.to(device) sonrası ileri geçiş)")
    info = student.describe(out).get("tensor")
    if info is None or torch.device(info["device"]).type != dev.type or tuple(info["shape"]) != (2, 4, 6, 6):
        fail("ScratchConv2d: model ve girdi aynı cihazdayken çıktı da orada ve (2, 4, 6, 6) şeklinde olmalıydı.")
    grad = student.describe(m, "weight.grad").get("tensor")
    if grad is None:
        fail("ScratchConv2d: geri yayılımdan sonra weight.grad oluşmadı; ağırlık bir nn.Parameter olmalı ve forward "
             "onu kullanmalı.")
    m2 = call(student, "ScratchConv2d", 3, 2, 3, bias=False, keep=True)
    module_info(student, m2, "ScratchConv2d(3, 2, 3, bias=False)")
    call_method(student, m2, "to", dev)
    out = forward_backward_on_device(student, m2, hx, dev, "ScratchConv2d(3, 2, 3, bias=False) (model.to(device) "
                                     "sonrası ileri geçiş)",
                                     hint="bias=False iken conv2d'ye None verin; forward içinde CPU'da yeni bir "
                                          "tensör (ör. torch.zeros(...) bir sapma) oluşturmayın.")
    info = student.describe(out).get("tensor")
    if info is None or torch.device(info["device"]).type != dev.type or tuple(info["shape"]) != (2, 2, 4, 4):
        fail("ScratchConv2d(3, 2, 3, bias=False): model ve girdi aynı cihazdayken çıktı da orada ve (2, 2, 4, 4) "
             "şeklinde olmalıydı.")
