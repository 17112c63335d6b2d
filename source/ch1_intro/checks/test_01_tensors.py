"""Hidden checks for 01_tensors.ipynb (tensors, creation, broadcasting, statistics, joining)."""
import numpy as np
import torch

from autograder.checks import (call, close, expect_close, expect_number, expect_shape, expect_tensor,
                               fail, grade)
from autograder.checks import mistakes

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


def _views(student, base):
    """Non-contiguous views of ``base`` made in the worker: (label, handle of the base, handle of the view, view)."""
    out = []
    for label, method, args, view in (("arr.T", "transpose", (), base.T),
                                      ("arr[:, ::2]", "__getitem__", ((slice(None), slice(None, None, 2)),),
                                       base[:, ::2])):
        hb = student.put(base)
        hv = student.call_method(hb, method, *args, keep=True)
        out.append((label, hb, hv, view))
    return out


@grade("tensors_numpy_bridge_test", weight=1)
def test_bridge_non_contiguous_arrays(student):
    base = np.arange(1.0, 13.0).reshape(3, 4)
    for label, hb, hv, view in _views(student, base):
        what = f"share_with_numpy({label}) (bitişik olmayan dizi)"
        t = call(student, "share_with_numpy", hv, keep=True)
        value = student.get(t)
        expect_tensor(value, what)
        expect_close(value, view, what=what)
        student.call_method(t, "__setitem__", (1, 1), -42.0)
        after = np.asarray(student.get(hb))
        if float(np.asarray(student.get(hv))[1, 1]) != -42.0:
            fail(f"{what}: tensöre yazılan değer diziye yansımadı: bitişik olmayan bir dizide bellek paylaşılmıyor. "
                 "np.ascontiguousarray(arr) ya da tür dönüşümü bir kopya üretir; doğrudan torch.from_numpy(arr) "
                 "kullanın (bitişik olmayan dizilerle de çalışır).")
        if np.count_nonzero(after == -42.0) != 1:
            fail(f"{what}: tensöre yazılan değer dizinin yanlış yerine yansıdı.")
    for label, hb, hv, view in _views(student, base):
        what = f"copy_from_numpy({label}) (bitişik olmayan dizi)"
        t = call(student, "copy_from_numpy", hv, keep=True)
        value = student.get(t)
        expect_tensor(value, what)
        expect_close(value, view, what=what)
        student.call_method(hb, "__setitem__", (0, 0), 777.0)
        if float(np.asarray(student.get(t))[0, 0]) == 777.0:
            fail(f"{what}: dizideki değişiklik tensöre yansıdı; bağımsız bir kopya için torch.tensor(arr) kullanın.")


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


def _expect_float32(got, key, ref):
    if got.dtype != torch.float32:
        hint = (f" ref'in türü ({str(ref.dtype)[6:]}) kullanılmış: dtype=ref.dtype vermeyin, ref'in türünü yalnızca "
                '"ones_like" alır.' if got.dtype == ref.dtype else "")
        fail(f'make_tensors(..., ref)["{key}"]: veri türü varsayılan tür olan float32 olmalıydı, ama '
             f"{str(got.dtype)[6:]} geldi ({str(ref.dtype)[6:]} bir ref ile).{hint} torch.zeros((rows, cols)), "
             "torch.ones((rows, cols)) ve torch.rand((rows, cols)) float32 verir.")


@grade("tensors_make_test", weight=1)
def test_zeros_and_ones(student):
    for ref in (torch.arange(4, dtype=torch.int64).reshape(2, 2), torch.zeros(3, dtype=torch.float64)):
        out = _make(student, 2, 5, ref)
        for key, value in (("zeros", 0.0), ("ones", 1.0)):
            got = out[key]
            if tuple(got.shape) != (2, 5):
                fail(f'make_tensors(2, 5, ...)["{key}"]: şekil (2, 5) olmalıydı (2 satır, 5 sütun), ama '
                     f"{tuple(got.shape)} geldi. Şekli (rows, cols) demeti olarak verin.")
            _expect_float32(got, key, ref)
            expect_close(got, np.full((2, 5), value), what=f'make_tensors(...)["{key}"]')


@grade("tensors_make_test", weight=1)
def test_rand_is_uniform_in_unit_interval(student):
    ref = torch.ones((2, 3), dtype=torch.float64)
    out = _make(student, 40, 50, ref)
    r = out["rand"]
    expect_shape(r, (40, 50), 'make_tensors(40, 50, ...)["rand"]')
    _expect_float32(r, "rand", ref)
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


def _standardize_mistakes(x):
    x_mean_all = lambda: (x - x.mean()) / x.std(axis=0, ddof=1, keepdims=True)  # noqa: E731
    x_std_all = lambda: (x - x.mean(axis=0, keepdims=True)) / x.std(ddof=1)  # noqa: E731
    return [
        ("standart sapma n'ye bölünerek (correction=0 / unbiased=False) hesaplanmış. PyTorch'un varsayılanı olan "
         "yansız tahmini kullanın: t.std(dim=0) (n - 1'e böler).", lambda: _standardize_ref(x, ddof=0)),
        ("ortalama ve standart sapma bütün tensör üzerinden alınmış. Her sütun için ayrı ayrı, satırlar boyunca "
         "hesaplayın: t.mean(dim=0), t.std(dim=0).", lambda: _standardize_ref(x, axis=None)),
        ("ortalama ve standart sapma bütün tensör üzerinden alınmış. Her sütun için ayrı ayrı, satırlar boyunca "
         "hesaplayın: t.mean(dim=0), t.std(dim=0).", lambda: _standardize_ref(x, ddof=0, axis=None)),
        ("ortalamalardan ya da standart sapmalardan biri bütün tensör üzerinden alınmış; ikisini de dim=0 ile, "
         "sütun sütun hesaplayın.", x_mean_all),
        ("ortalamalardan ya da standart sapmalardan biri bütün tensör üzerinden alınmış; ikisini de dim=0 ile, "
         "sütun sütun hesaplayın.", x_std_all),
        ("satırlar standartlaştırılmış (dim=1); sütunlar için dim=0 kullanın.", lambda: _standardize_ref(x, axis=1)),
    ]


STANDARDIZE_HINT = ("Her sütundan o sütunun ortalamasını çıkarıp standart sapmasına bölün: "
                    "(t - t.mean(dim=0)) / t.std(dim=0).")


def _check_standardize(student, x, arg, dtype, what, tol):
    out = call(student, "standardize_columns", arg)
    expect_tensor(out, what)
    expect_shape(out, x.shape, what)
    if out.dtype != dtype:
        fail(f"{what}: veri türü korunmalıydı: {str(dtype)[6:]} bir tensörden {str(dtype)[6:]} bir sonuç "
             f"bekleniyordu, ama {str(out.dtype)[6:]} geldi. Tensörü .double() / .to(torch.float64) gibi başka bir "
             "türe çevirmeyin: (t - t.mean(dim=0)) / t.std(dim=0) türü kendiliğinden korur.")
    mistakes.expect_close(out, _standardize_ref(x), tol=tol, what=what, mistakes=_standardize_mistakes(x),
                          hint=STANDARDIZE_HINT)
    return out


@grade("tensors_standardize_test", weight=2)
def test_standardize_columns_values(student):
    x = _table()
    _check_standardize(student, x, torch.tensor(x, dtype=torch.float64), torch.float64, "standardize_columns(t)",
                       1e-10)


@grade("tensors_standardize_test", weight=1)
def test_standardize_columns_float32_and_non_contiguous(student):
    x32 = _table().astype(np.float32)
    _check_standardize(student, x32.astype(np.float64), torch.tensor(x32), torch.float32,
                       "standardize_columns(t) (float32 t ile)", 1e-5)
    x = _table()
    h = student.put(torch.tensor(np.ascontiguousarray(x.T), dtype=torch.float64))
    ht = student.call_method(h, "t", keep=True)  # the (7, 4) table again, as a non-contiguous view
    _check_standardize(student, x, ht, torch.float64, "standardize_columns(t) (bitişik olmayan t ile)", 1e-10)


@grade("tensors_standardize_test", weight=1)
def test_standardize_columns_does_not_modify_input(student):
    x = _table()
    h = student.put(torch.tensor(x, dtype=torch.float64))
    out = call(student, "standardize_columns", h)
    expect_tensor(out, "standardize_columns(t)")
    if not close(out, _standardize_ref(x)):
        fail("standardize_columns(t): önce doğru sonucu döndürmeli (sütunları standartlaştırılmış yeni bir tensör); "
             "girdinin değişmediği ancak o zaman denetlenir.")
    after = student.get(h)
    if not np.array_equal(np.asarray(after, dtype=np.float64), x):
        fail("standardize_columns verilen tensörü değiştirdi. `t -= ...` ya da `t.sub_(...)` gibi yerinde (in-place) "
             "işlemler çağıranın tensörünü bozar; yeni bir tensör üretin: (t - mean) / std.")


# ---------------------------------------------------------------------------- 4. statistics

KEYS_DESCRIBE = ("mean", "median", "min", "max", "q90")


def _describe(student, x, transposed=False):
    """describe(t) for the float64 tensor of ``x``; ``transposed``: t is a non-contiguous view (x.T in the worker)."""
    if transposed:
        h = student.put(torch.tensor(np.ascontiguousarray(x.T), dtype=torch.float64))
        out = call(student, "describe", student.call_method(h, "t", keep=True))
    else:
        out = call(student, "describe", torch.tensor(x, dtype=torch.float64))
    expect_dict(out, KEYS_DESCRIBE, "describe(t)")
    return out


def _lower_median(x):
    flat = np.sort(np.asarray(x).ravel())
    return float(flat[(flat.size - 1) // 2])


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
def test_describe_any_shape_and_layout(student):
    rng = np.random.default_rng(13)
    cases = [("1 boyutlu t", rng.normal(size=8) * 2, False), ("3 boyutlu t", rng.normal(size=(2, 3, 2)), False),
             ("bitişik olmayan t (t.T)", rng.normal(size=(3, 4)), True)]
    for label, x, transposed in cases:
        out = _describe(student, x, transposed)
        expected = {"mean": x.mean(), "median": _lower_median(x), "min": x.min(), "max": x.max(),
                    "q90": float(np.quantile(x, 0.9))}
        for key in KEYS_DESCRIBE:
            what = f'describe(t)["{key}"] ({label})'
            known = {"median": [("NumPy'nin ortanca kuralı (ortadaki iki değerin ortalaması) kullanılmış; "
                                 "torch.median ortadaki iki değerin küçüğünü verir: t.median() kullanın.",
                                 float(np.median(x)))],
                     "q90": [(f'ara değerleme "{m}" yapılmış; varsayılan doğrusal ara değerlemeyi (linear '
                              "interpolation) kullanın: torch.quantile(t, 0.9).",
                              float(np.quantile(x, 0.9, method=m)))
                             for m in ("lower", "higher", "nearest", "midpoint")]}
            mistakes.expect_close(expect_number(out[key], what), expected[key], what=what, mistakes=known.get(key, ()),
                                  hint="Tensörün şekli ne olursa olsun, boyut (dim) vermeden bütün ögeleri üzerinden "
                                       "hesaplayın (düzleştirmek gerekirse .view yerine .reshape(-1) kullanın).")


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


JOIN_1D_HINT = ("join 1 ve 3 boyutlu tensörlerle de çalışmalı: 2 boyut varsayan ifadelerden (dim=1, a.shape[1]) "
                "kaçının; 1 boyutlu tensörlerde dim=1 yoktur. hstack/vstack için torch.hstack/torch.vstack, row için "
                "torch.reshape(a, (1, -1)) kullanın.")


def _pair_1d():
    return torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])


def _pair_3d():
    a = torch.arange(24.0).reshape(2, 3, 4)
    return a, 100.0 + a


@grade("tensors_join_test", weight=1)
def test_join_cat_along_dim0(student):
    for label, (a, b) in (("2 boyutlu", _pair_2d()), ("1 boyutlu", _pair_1d()), ("3 boyutlu", _pair_3d())):
        got = _join(student, a, b, hint=JOIN_1D_HINT)["cat0"]
        what = f'join(a, b)["cat0"] ({label})'
        mistakes.expect_close(got, torch.cat([a, b], dim=0).double(), what=what, mistakes=[
            (f"iki {tuple(a.shape)} tensörden {tuple(torch.vstack((a, b)).shape)} çıktı: torch.vstack kullanılmış. "
             "vstack 1 boyutlu tensörleri alt alta iki satır yapar; dim=0 boyunca uç uca eklemek için "
             "torch.cat([a, b], dim=0) kullanın.", lambda: torch.vstack((a, b))),
            (f"iki {tuple(a.shape)} tensörden {tuple(torch.hstack((a, b)).shape)} çıktı, yani yan yana eklenmiş. "
             "Satırları alt alta eklemek için torch.cat([a, b], dim=0) kullanın.", lambda: torch.hstack((a, b))),
            (f"iki {tuple(a.shape)} tensör son eksen boyunca birleştirilmiş; torch.cat([a, b], dim=0) kullanın.",
             lambda: torch.cat([a, b], dim=-1)),
        ], hint="a'nın satırları önce, b'ninkiler sonra gelmeli.")


@grade("tensors_join_test", weight=1)
def test_join_hstack_vstack(student):
    for label, (a, b) in (("2 boyutlu", _pair_2d()), ("1 boyutlu", _pair_1d()), ("3 boyutlu", _pair_3d())):
        out = _join(student, a, b, hint=JOIN_1D_HINT)
        what = f'join(a, b)["hstack"] ({label})'
        mistakes.expect_close(out["hstack"], torch.hstack((a, b)).double(), what=what, mistakes=[
            ("son eksen boyunca birleştirilmiş (cat(dim=-1)); hstack 2 ve daha çok boyutlu tensörlerde 1. eksen "
             "boyunca (1 boyutlularda 0. eksen boyunca) birleştirir: torch.hstack((a, b)) kullanın.",
             lambda: torch.cat([a, b], dim=-1)),
            ("dikey birleştirilmiş; yatay birleştirmek için torch.hstack((a, b)) kullanın.",
             lambda: torch.vstack((a, b))),
            ("dim=0 boyunca birleştirilmiş; yatay birleştirmek için torch.hstack((a, b)) kullanın.",
             lambda: torch.cat([a, b], dim=0)),
        ], hint="torch.hstack((a, b)) kullanın.")
        what = f'join(a, b)["vstack"] ({label})'
        mistakes.expect_close(out["vstack"], torch.vstack((a, b)).double(), what=what, mistakes=[
            ("dim=0 boyunca uç uca eklenmiş; 1 boyutlu tensörlerde vstack iki satırlı bir tablo yapar: "
             "torch.vstack((a, b)) kullanın.", lambda: torch.cat([a, b], dim=0)),
            ("yatay birleştirilmiş; dikey birleştirmek için torch.vstack((a, b)) kullanın.",
             lambda: torch.hstack((a, b))),
        ], hint="torch.vstack((a, b)) kullanın.")


@grade("tensors_join_test", weight=1)
def test_join_row(student):
    a, b = _pair_2d()
    got = _join(student, a, b)["row"]
    row_mistakes = [("tek bir sütun geldi; tek bir satır için torch.reshape(a, (1, -1)) kullanın.",
                     lambda: a.reshape(-1, 1)),
                    ("1 boyutlu bir vektör geldi; (1, a.numel()) şeklinde tek bir satır için torch.reshape(a, (1, -1)) "
                     "kullanın.", lambda: a.reshape(-1))]
    mistakes.expect_close(got, a.reshape(1, -1).double(), what='join(a, b)["row"]', mistakes=row_mistakes,
                          hint="a'yı (1, -1) şekline getirin: tek satır, a.numel() sütun.")
    for label, (a, b) in (("1 boyutlu", _pair_1d()), ("3 boyutlu", _pair_3d())):
        got = _join(student, a, b, hint=JOIN_1D_HINT)["row"]
        mistakes.expect_close(got, a.reshape(1, -1).double(), what=f'join(a, b)["row"] ({label})',
                              hint="a'yı (1, -1) şekline getirin: tek satır, a.numel() sütun (a'nın boyut sayısı "
                                   "ne olursa olsun).")


@grade("tensors_join_test", weight=1)
def test_join_non_contiguous(student):
    base = torch.arange(1.0, 13.0).reshape(4, 3)
    ha = student.put(base)
    a_t = student.call_method(ha, "t", keep=True)  # (3, 4), not contiguous
    a = base.t()
    b = torch.arange(21.0, 33.0).reshape(3, 4)
    out = _join(student, a_t, b)
    mistakes.expect_close(out["row"], a.reshape(1, -1).double(), what='join(a, b)["row"] (bitişik olmayan a ile)',
                          mistakes=[("a'nın bellekteki sırası okunmuş, tensördeki sırası değil; "
                                     "torch.reshape(a, (1, -1)) kullanın.", lambda: base.reshape(1, -1))],
                          hint="torch.reshape(a, (1, -1)) kullanın (.view bitişik olmayan tensörlerde çalışmaz).")
    expect_close(out["cat0"], torch.cat([a, b], dim=0).double(), what='join(a, b)["cat0"] (bitişik olmayan a ile)')
    expect_close(out["hstack"], torch.hstack((a, b)).double(), what='join(a, b)["hstack"] (bitişik olmayan a ile)')
