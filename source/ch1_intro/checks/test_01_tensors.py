"""Hidden checks for 01_tensors.ipynb (tensors, creation, broadcasting, statistics, joining)."""
import numpy as np
import torch

from autograder.checks import (call, close, expect_close, expect_dtype, expect_number, expect_shape, expect_tensor,
                               fail, grade)

TORCH_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32,
               np.dtype(np.int64): torch.int64}


def expect_dict(value, keys, what):
    if not isinstance(value, dict):
        fail(f"{what}: bir sözlük (dict) bekleniyordu, ama {type(value).__name__} geldi.")
    missing = [k for k in keys if k not in value]
    if missing:
        fail(f"{what}: sözlükte şu anahtarlar eksik: {', '.join(repr(k) for k in missing)}.")


# ---------------------------------------------------------------------------- 1. numpy bridge

@grade("tensors_numpy_bridge_test", weight=2)
def test_share_with_numpy_shares_memory(student):
    arr = np.arange(1.0, 7.0).reshape(2, 3)
    h = student.put(arr)
    t = call(student, "share_with_numpy", h, keep=True)
    info = student.describe(t)
    if "tensor" not in info:
        fail(f"share_with_numpy: bir torch.Tensor bekleniyordu, ama {info.get('type')} geldi.")
    student.call_method(t, "__setitem__", (0, 0), 99.0)
    after = student.get(h)
    if float(after[0, 0]) != 99.0:
        fail("share_with_numpy: tensöre yazılan değer NumPy dizisine yansımadı, yani bellek paylaşılmıyor. "
             "torch.tensor(arr) veriyi kopyalar (tür dönüştürmek de kopyalar); aynı belleği paylaşmak için "
             "torch.from_numpy(arr) kullanın.")
    student.call_method(h, "__setitem__", (1, 2), -7.0)
    tv = student.get(t)
    if float(tv[1, 2]) != -7.0:
        fail("share_with_numpy: dizide yapılan değişiklik tensörde görünmüyor; torch.from_numpy(arr) kullanın.")


@grade("tensors_numpy_bridge_test", weight=2)
def test_copy_from_numpy_is_independent(student):
    arr = np.arange(1.0, 7.0).reshape(2, 3)
    h = student.put(arr)
    t = call(student, "copy_from_numpy", h, keep=True)
    info = student.describe(t)
    if "tensor" not in info:
        fail(f"copy_from_numpy: bir torch.Tensor bekleniyordu, ama {info.get('type')} geldi.")
    student.call_method(h, "__setitem__", (0, 0), 99.0)
    tv = student.get(t)
    if float(tv[0, 0]) == 99.0:
        fail("copy_from_numpy: dizide yapılan değişiklik tensöre yansıdı, yani bellek paylaşılıyor. "
             "torch.from_numpy belleği paylaşır; bağımsız bir kopya için torch.tensor(arr) kullanın.")
    expect_close(tv, arr, what="copy_from_numpy(arr)")
    student.call_method(t, "__setitem__", (1, 1), -5.0)
    after = student.get(h)
    if float(after[1, 1]) == -5.0:
        fail("copy_from_numpy: tensöre yazılan değer diziyi değiştirdi; torch.tensor(arr) ile kopyalayın.")


@grade("tensors_numpy_bridge_test", weight=1)
def test_bridge_keeps_dtype(student):
    base = np.array([[1.5, -2.0], [3.25, 4.0], [0.0, 7.5]])
    for np_dtype in (np.float64, np.int64, np.float32):
        arr = base.astype(np_dtype)
        for fn in ("share_with_numpy", "copy_from_numpy"):
            out = call(student, fn, arr)
            what = f"{fn}({np.dtype(np_dtype).name} dizi)"
            expect_tensor(out, what)
            if out.dtype != TORCH_DTYPE[np.dtype(np_dtype)]:
                fail(f"{what}: veri türü (dtype) korunmalıydı: {TORCH_DTYPE[np.dtype(np_dtype)]} bekleniyordu, ama "
                     f"{out.dtype} geldi. dtype=... vermeyin, .float() gibi dönüşümler yapmayın; "
                     "torch.tensor(arr) ve torch.from_numpy(arr) türü kendiliğinden korur.")
            expect_close(out, arr, what=what)


# ---------------------------------------------------------------------------- 2. creation

KEYS_MAKE = ("zeros", "ones", "rand", "ones_like")


def _make(student, rows, cols, ref):
    out = call(student, "make_tensors", rows, cols, ref)
    expect_dict(out, KEYS_MAKE, "make_tensors(...)")
    for key in KEYS_MAKE:
        expect_tensor(out[key], f'make_tensors(...)["{key}"]')
    return out


@grade("tensors_make_test", weight=1)
def test_zeros_and_ones(student):
    out = _make(student, 2, 5, torch.zeros(1))
    for key, value in (("zeros", 0.0), ("ones", 1.0)):
        got = out[key]
        if tuple(got.shape) != (2, 5):
            fail(f'make_tensors(2, 5, ...)["{key}"]: şekil (2, 5) olmalıydı (2 satır, 5 sütun), ama '
                 f"{tuple(got.shape)} geldi. Şekli (rows, cols) demeti olarak verin.")
        expect_dtype(got, torch.float32, f'make_tensors(...)["{key}"]')
        expect_close(got, np.full((2, 5), value), what=f'make_tensors(...)["{key}"]')


@grade("tensors_make_test", weight=1)
def test_rand_is_uniform_in_unit_interval(student):
    out = _make(student, 40, 50, torch.zeros(1))
    r = out["rand"]
    expect_shape(r, (40, 50), 'make_tensors(40, 50, ...)["rand"]')
    expect_dtype(r, torch.float32, 'make_tensors(...)["rand"]')
    values = r.double().numpy()
    if values.min() < 0.0 or values.max() >= 1.0:
        fail('make_tensors(...)["rand"]: değerler [0, 1) aralığında olmalı, ama '
             f"{values.min():.3g} ile {values.max():.3g} arasında. torch.randn normal dağılımdan üretir; "
             "düzgün dağılım (uniform) için torch.rand kullanın.")
    if values.std() < 0.2 or abs(values.mean() - 0.5) > 0.05:
        fail('make_tensors(...)["rand"]: değerler [0, 1) aralığında düzgün dağılımlı (torch.rand) görünmüyor.')


@grade("tensors_make_test", weight=1)
def test_ones_like_keeps_shape_and_dtype(student):
    refs = [torch.arange(6, dtype=torch.int64).reshape(3, 2), torch.zeros((2, 2, 2), dtype=torch.float64)]
    for ref in refs:
        got = _make(student, 1, 1, ref)["ones_like"]
        what = f'make_tensors(..., ref)["ones_like"] ({tuple(ref.shape)} şekilli {str(ref.dtype)[6:]} ref ile)'
        expect_shape(got, tuple(ref.shape), what)
        if got.dtype != ref.dtype:
            fail(f"{what}: veri türü ref ile aynı ({ref.dtype}) olmalıydı, ama {got.dtype} geldi. "
                 "torch.ones(ref.shape) varsayılan türü (float32) kullanır; torch.ones_like(ref) türü de korur.")
        expect_close(got, np.ones(tuple(ref.shape)), what=what)


# ---------------------------------------------------------------------------- 3. broadcasting

def _standardize_ref(x, ddof=1, axis=0):
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        return (x - x.mean()) / x.std(ddof=ddof)
    return (x - x.mean(axis=axis, keepdims=True)) / x.std(axis=axis, ddof=ddof, keepdims=True)


def _table():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(7, 4)) * np.array([1.0, 10.0, 100.0, 0.5]) + np.array([0.0, 5.0, -3.0, 2.0])
    return x


@grade("tensors_standardize_test", weight=2)
def test_standardize_columns_values(student):
    x = _table()
    out = call(student, "standardize_columns", torch.tensor(x, dtype=torch.float64))
    what = "standardize_columns(t)"
    expect_tensor(out, what)
    expect_shape(out, x.shape, what)
    expect_dtype(out, torch.float64, what)
    expected = _standardize_ref(x)
    if close(out, expected):
        return
    if close(out, _standardize_ref(x, ddof=0)):
        fail(f"{what}: standart sapma n'ye bölünerek (correction=0 / unbiased=False) hesaplanmış. "
             "PyTorch'un varsayılanı olan yansız tahmini kullanın: t.std(dim=0) (n - 1'e böler).")
    if close(out, _standardize_ref(x, axis=None)) or close(out, _standardize_ref(x, ddof=0, axis=None)):
        fail(f"{what}: ortalama ve standart sapma bütün tensör üzerinden alınmış. Her sütun için ayrı ayrı, "
             "satırlar boyunca hesaplayın: t.mean(dim=0), t.std(dim=0).")
    x_mean_all = (x - x.mean()) / x.std(axis=0, ddof=1, keepdims=True)
    x_std_all = (x - x.mean(axis=0, keepdims=True)) / x.std(ddof=1)
    if close(out, x_mean_all) or close(out, x_std_all):
        fail(f"{what}: ortalamalardan ya da standart sapmalardan biri bütün tensör üzerinden alınmış; ikisini de "
             "dim=0 ile, sütun sütun hesaplayın.")
    expect_close(out, expected, what=what, hint="Her sütundan o sütunun ortalamasını çıkarıp standart sapmasına "
                                                "bölün: (t - t.mean(dim=0)) / t.std(dim=0).")


@grade("tensors_standardize_test", weight=1)
def test_standardize_columns_does_not_modify_input(student):
    x = _table()
    h = student.put(torch.tensor(x, dtype=torch.float64))
    call(student, "standardize_columns", h)
    after = student.get(h)
    if not np.array_equal(np.asarray(after, dtype=np.float64), x):
        fail("standardize_columns verilen tensörü değiştirdi. `t -= ...` ya da `t.sub_(...)` gibi yerinde (in-place) "
             "işlemler çağıranın tensörünü bozar; yeni bir tensör üretin: (t - mean) / std.")


# ---------------------------------------------------------------------------- 4. statistics

KEYS_DESCRIBE = ("mean", "median", "min", "max", "q90")


def _describe(student, x):
    out = call(student, "describe", torch.tensor(x, dtype=torch.float64))
    expect_dict(out, KEYS_DESCRIBE, "describe(t)")
    return out


@grade("tensors_describe_test", weight=1)
def test_describe_returns_python_floats(student):
    x = np.random.default_rng(5).normal(size=(3, 5)) * 4 + 1
    out = _describe(student, x)
    for key in KEYS_DESCRIBE:
        if not isinstance(out[key], float):
            fail(f'describe(t)["{key}"]: bir Python float bekleniyordu, ama {type(out[key]).__name__} geldi. '
                 "0 boyutlu tensörü .item() ile sayıya çevirin.")
    for key, expected in (("mean", x.mean()), ("min", x.min()), ("max", x.max())):
        expect_close(expect_number(out[key], f'describe(t)["{key}"]'), expected, what=f'describe(t)["{key}"]',
                     hint="Boyut (dim) vermeden, tensörün bütün ögeleri üzerinden hesaplayın.")


@grade("tensors_describe_test", weight=2)
def test_describe_median_follows_torch(student):
    even = np.array([[7.0, 1.0, 5.0, 3.0], [8.0, 2.0, 6.0, 4.0]])  # lower middle 4, numpy's median 4.5
    odd = np.array([[9.0, -1.0, 4.0], [2.5, 6.0, 0.5], [3.0, 8.0, 1.0]])
    for x in (even, odd):
        got = expect_number(_describe(student, x)["median"], 'describe(t)["median"]')
        flat = np.sort(x.ravel())
        lower = flat[(flat.size - 1) // 2]
        if got == lower:
            continue
        if abs(got - np.median(x)) < 1e-12:
            fail(f'describe(t)["median"]: {x.size} ögeli tensör için {got:g} geldi; bu NumPy\'nin kuralı (ortadaki iki '
                 f"değerin ortalaması). torch.median ortadaki iki değerin küçüğünü verir ({lower:g}); "
                 "t.median() kullanın (quantile(0.5) de ortalamayı verir).")
        fail(f'describe(t)["median"]: {lower:g} bekleniyordu, ama {got:g} geldi. t.median() kullanın.')


@grade("tensors_describe_test", weight=1)
def test_describe_q90_linear(student):
    x = np.random.default_rng(9).normal(size=(4, 5)) * 3
    got = expect_number(_describe(student, x)["q90"], 'describe(t)["q90"]')
    expected = float(np.quantile(x, 0.9))
    if abs(got - expected) <= 1e-10 * max(abs(expected), 1.0):
        return
    if abs(got - float(np.quantile(x, 0.5))) < 1e-10:
        fail('describe(t)["q90"]: 0,5-yüzdelik (ortanca) hesaplanmış; 0,9-yüzdelik için torch.quantile(t, 0.9) '
             "kullanın.")
    for method in ("lower", "higher", "nearest", "midpoint"):
        if abs(got - float(np.quantile(x, 0.9, method=method))) < 1e-10:
            fail(f'describe(t)["q90"]: ara değerleme "{method}" yapılmış; varsayılan doğrusal ara değerlemeyi '
                 "(linear interpolation) kullanın: torch.quantile(t, 0.9).")
    expect_close(got, expected, what='describe(t)["q90"]', hint="torch.quantile(t, 0.9) kullanın.")


# ---------------------------------------------------------------------------- 5. joining

KEYS_JOIN = ("cat0", "hstack", "vstack", "row")


def _join(student, a, b, hint=""):
    out = call(student, "join", a, b, hint=hint)
    expect_dict(out, KEYS_JOIN, "join(a, b)")
    for key in KEYS_JOIN:
        expect_tensor(out[key], f'join(a, b)["{key}"]')
    return out


def _pair_2d():
    a = torch.arange(1.0, 7.0).reshape(2, 3)
    b = torch.arange(11.0, 17.0).reshape(2, 3)
    return a, b


@grade("tensors_join_test", weight=1)
def test_join_cat_along_dim0(student):
    a, b = _pair_2d()
    got = _join(student, a, b)["cat0"]
    if tuple(got.shape) == (2, 6):
        fail('join(a, b)["cat0"]: iki (2, 3) tensörden (2, 6) çıktı, yani sütunlar yan yana eklenmiş (dim=1). '
             "Satırları alt alta eklemek için torch.cat([a, b], dim=0) kullanın; sonuç (4, 3) olmalı.")
    expect_close(got, torch.cat([a, b], dim=0).double(), what='join(a, b)["cat0"]',
                 hint="a'nın satırları önce, b'ninkiler sonra gelmeli.")


@grade("tensors_join_test", weight=1)
def test_join_hstack_vstack(student):
    a, b = _pair_2d()
    out = _join(student, a, b)
    expect_close(out["hstack"], torch.hstack((a, b)).double(), what='join(a, b)["hstack"] (2 boyutlu)')
    expect_close(out["vstack"], torch.vstack((a, b)).double(), what='join(a, b)["vstack"] (2 boyutlu)')
    a1 = torch.tensor([1, 2, 3])
    b1 = torch.tensor([4, 5, 6])
    out1 = _join(student, a1, b1, hint="1 boyutlu tensörlerde dim=1 yoktur: yatay birleştirmek için torch.hstack, "
                                       "dikey birleştirmek için torch.vstack kullanın.")
    if tuple(out1["hstack"].shape) != (6,):
        fail('join(a, b)["hstack"]: iki (3,) tensör yatay birleşince (6,) şekli bekleniyordu, ama '
             f"{tuple(out1['hstack'].shape)} geldi. torch.hstack((a, b)) kullanın.")
    if tuple(out1["vstack"].shape) != (2, 3):
        fail('join(a, b)["vstack"]: iki (3,) tensör dikey birleşince (2, 3) şekli bekleniyordu, ama '
             f"{tuple(out1['vstack'].shape)} geldi. torch.vstack((a, b)) kullanın (cat(dim=0) 1 boyutta (6,) verir).")
    expect_close(out1["hstack"], [1, 2, 3, 4, 5, 6], what='join(a, b)["hstack"] (1 boyutlu)')
    expect_close(out1["vstack"], [[1, 2, 3], [4, 5, 6]], what='join(a, b)["vstack"] (1 boyutlu)')


@grade("tensors_join_test", weight=1)
def test_join_row(student):
    a, b = _pair_2d()
    got = _join(student, a, b)["row"]
    if tuple(got.shape) == (6, 1):
        fail('join(a, b)["row"]: (6, 1) şeklinde tek bir sütun geldi; tek bir satır için '
             "torch.reshape(a, (1, -1)) kullanın.")
    expect_close(got, a.reshape(1, -1).double(), what='join(a, b)["row"]',
                 hint="a'yı (1, -1) şekline getirin: tek satır, a.numel() sütun.")
