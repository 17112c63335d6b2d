"""Device checks for hidden check suites (trusted side).

Students must write device-agnostic code: functions take a ``device`` argument
and move models and batches to it. Without a GPU the grader checks this by
running the student's code on ``torch.device("meta")`` under the worker's
``simulate_device`` context, where a forgotten ``.to(device)`` fails exactly as
on a GPU; with ``--device cuda`` the same checks run on the real GPU::

    from autograder.device import expect_on_device, expect_ops_on_device, run_counting_ops

    @grade("train_test", weight=2)
    def test_train_moves_everything(student):
        model = student.call("MLP", 10, 3, keep=True)
        # device=check_device() is added: meta (simulated) without a GPU, else cuda
        _, ops = run_counting_ops(student, "train", model, X, y, epochs=1, what="train")
        expect_on_device(student, model, what="train içindeki model")  # model.to(device) was called
        expect_ops_on_device(ops, what="train")  # and the work really ran there, not on the CPU

Also here: static detection of hard-coded CUDA (:func:`hardcoded_device_uses`),
Turkish explanations of PyTorch's device errors (:func:`explain_device_error`),
op counts by device for the real-GPU path and a ``get_device()`` exercise.
Keep simulated runs small (a few batches): meta kernels run in Python.
"""
from __future__ import annotations

import ast
import functools
import os
import re
from dataclasses import dataclass

import torch

from autograder.checks import CheckFailed, fail
from autograder.checks.messages import student_line as _student_line
from autograder.checks.source import parse_cell as _parse
from autograder.session import StudentCodeError
from autograder.wire.names import AVAILABILITY, OP_COUNTS_GLOBAL

__all__ = [
    "Finding", "hardcoded_device_uses", "explain_device_error", "grading_device", "check_device", "contexts_for",
    "run_on_device", "expect_on_device", "run_counting_ops", "expect_ops_on_device", "expect_get_device",
    "DeviceSimulationUnsupported", "DEVICE_ENV", "IDIOM", "expect_no_hardcoded_device",
]

#: Environment variable with the grader's ``--device`` choice (auto, cpu, cuda, cuda:N).
DEVICE_ENV = "AUTOGRADER_DEVICE"

IDIOM = 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")'


# ---------------------------------------------------------------------- choosing the device

def grading_device(requested: str | None = None) -> torch.device:
    """The real device for ``--device auto|cpu|cuda`` (None: the ``AUTOGRADER_DEVICE`` variable, else auto)."""
    choice = (requested or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"--device {choice}: CUDA is not available on this machine")
        return torch.device(choice)
    raise ValueError(f"unknown device {choice!r}: use auto, cpu or cuda")


def check_device(real: torch.device | str | None = None) -> torch.device:
    """The device student code is run on in device checks: meta (the simulation) where the real one is the CPU."""
    real = grading_device() if real is None else torch.device(real)
    return torch.device("meta") if real.type == "cpu" else real


def contexts_for(device: torch.device | str) -> list[str]:
    """Worker contexts a call on ``device`` needs."""
    return ["simulate_device"] if torch.device(device).type == "meta" else []


def device_words(device: torch.device | str) -> str:
    d = torch.device(device)
    if d.type == "meta":
        return "hedef cihaz (notlandırmada GPU `meta` cihazıyla taklit ediliyor)"
    if d.type == "cuda":
        return f"GPU (`{d}`)"
    return "CPU" if d.type == "cpu" else f"`{d}`"


# ---------------------------------------------------------------------- explaining errors

_MIXED = ("Aynı işlemde farklı cihazlardaki tensörler buluşmuş (biri GPU'da, biri CPU'da): modeli `model.to(device)` "
          "ile, her yığını `xb, yb = xb.to(device), yb.to(device)` ile taşıyın, forward içinde oluşturduğunuz "
          "tensörlere `device=x.device` verin ve modelde sakladığınız sabit tensörleri düz öznitelik yerine "
          "`self.register_buffer(...)` ile kaydedin.")
_MODEL = ("Modelin ağırlıkları girdiyle aynı cihazda değil: modeli de `model.to(device)` ile girdinin cihazına "
          "taşıyın.")
_INPUT = "Girdi CPU'da kalmış ama model GPU'da: yığınları da `xb = xb.to(device)` ile modelin cihazına taşıyın."
_HIDDEN = ("LSTM/GRU'ya verilen başlangıç gizli durumu (h0/c0) girdiyle aynı cihazda değil: onu "
           "`torch.zeros(..., device=x.device)` ile girdinin cihazında oluşturun.")
_INDEX = ("Bir tensör başka bir cihazdaki indekslerle indekslenmiş: indeksleri indekslenen tensörün cihazına "
          "(`idx.to(t.device)`) ya da CPU'ya taşıyın.")
_LENGTHS = ("`pack_padded_sequence`'a verilen `lengths` CPU'da olmalı: yalnız veriyi cihaza taşıyın, uzunlukları "
            "`lengths.cpu()` olarak verin.")
_NUMPY = ("Cihazdaki (GPU) bir tensör doğrudan NumPy'a çevrilmeye çalışılmış: önce `.detach().cpu()` ile CPU'ya "
          "alın, sonra `.numpy()` çağırın.")
_READ = ("Kod, cihazdaki bir tensörün değerini desteklenmeyen bir yoldan okumaya çalıştı: değerleri `.item()`, "
         "`.tolist()` ya da `.detach().cpu()` ile okuyun.")
_NO_CUDA = (f"Kod CUDA'yı koşulsuz kullanıyor ama bu makinede GPU yok: cihazı `{IDIOM}` ile seçin (ya da "
            "fonksiyona verilen `device`'ı kullanın) ve `.cuda()` yerine `.to(device)` yazın.")
_LOAD = ("`torch.load` GPU'da kaydedilmiş bir dosyayı GPU'suz bir makinede açmaya çalışıyor: "
         "`torch.load(yol, map_location=device)` kullanın.")
_GENERATOR = ("Varsayılan cihaz CUDA yapılmış (`torch.set_default_device`), ama karıştırma üreteci CPU'da: varsayılan "
              "cihazı değiştirmek yerine model ve verileri `.to(device)` ile taşıyın.")

# (pattern, sentence) in order: the first match wins. Texts as PyTorch 2.x writes them (provoked on torch 2.14
# with cpu and meta tensors, and from its CUDA library's strings), plus the older 1.x wording.
_EXPLANATIONS = [
    (r"Input and hidden tensors are not at the same device", _HIDDEN),
    # "... found input tensor at cpu and parameter tensor at cuda:0": the input was left behind.
    (r"Input and parameter tensors are not at the same device, found input tensor at cpu", _INPUT),
    (r"Input and parameter tensors are not at the same device", _MODEL),
    (r"'lengths' argument should be a 1D CPU int64 tensor", _LENGTHS),
    (r"indices should be either on cpu or on the same device as the indexed tensor", _INDEX),
    (r"can't convert \S+ device type tensor to numpy", _NUMPY),
    (r"Cannot copy out of meta tensor|cannot be called on meta tensors", _READ),
    (r"Attempting to deserialize object on a CUDA device", _LOAD),
    (r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are available|"
     r"no CUDA-capable device is detected|CUDA driver initialization failed", _NO_CUDA),
    (r"Expected a 'cuda' device type for generator", _GENERATOR),
    (r"Expected all tensors to be on the same device|is not on the expected device|"
     r"Expected object of device type|is on CPU, but expected (it|them) to be on GPU|"
     r"module must have its parameters and buffers on device|same device|incompatible tensor type|"
     r"device\b.{0,40}\b(does not|doesn't|do not|don't) match", _MIXED),
]
_TYPE_PAIR = re.compile(r"Input type \(([^)]*)\) and (?:weight|bias) type \(([^)]*)\) should be the same")


def explain_device_error(exc_type: str, message: str) -> str | None:
    """One Turkish sentence naming a device bug and its fix, or None if the error is not about devices.

    ``exc_type`` and ``message`` are the exception's class name and text (as in
    :class:`~autograder.session.StudentCodeError`). Only the start of the message is read: patterns run on
    text the student controls.
    """
    message = (message if isinstance(message, str) else "")[:2000]
    pair = _TYPE_PAIR.search(message)
    if pair:  # conv: "Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same"
        input_gpu, weight_gpu = ("cuda" in t.lower() for t in pair.groups())
        if input_gpu and not weight_gpu:
            return _MODEL
        if weight_gpu and not input_gpu:
            return _INPUT
        return None  # a dtype mismatch, not ours
    if exc_type == "AssertionError" and "CUDA" not in message:
        return None
    for pattern, sentence in _EXPLANATIONS:
        if re.search(pattern, message):
            return sentence
    return None


class DeviceSimulationUnsupported(Exception):
    """Student code used an op the meta simulation cannot run (e.g. ``torch.unique``): not the student's fault.

    A check may catch it and fall back to ``device="cpu"`` with fresh objects.
    """


def simulation_gap(error: StudentCodeError) -> bool:
    text = error.message
    return error.type == "NotImplementedError" and ("Meta" in text or "meta" in text) \
        or "data-dependent" in text or "DataDependentOutputException" in error.type




# ---------------------------------------------------------------------- running on a device

def run_on_device(student, fn, *args, device: torch.device | str | None = None, device_arg: str | None = "device",
                  contexts=(), keep: bool = False, timeout: float | None = None, what: str | None = None, **kwargs):
    """Call a student's function on ``device`` and turn a device error into a Turkish :class:`CheckFailed`.

    ``device``: "meta" (the simulation), "cpu", "cuda", a torch.device, or None
    for :func:`check_device` (meta without a GPU, else the GPU). The device is
    passed to the function as the keyword ``device_arg`` (None: not passed;
    put it in ``args`` yourself). ``contexts`` are added after the device's own.
    Errors that are not about devices propagate as :class:`StudentCodeError`;
    an op the simulation cannot run raises :class:`DeviceSimulationUnsupported`.
    """
    device = check_device() if device is None else torch.device(device)
    if device_arg is not None:
        kwargs[device_arg] = device
    name = what or (fn if isinstance(fn, str) else str(fn))
    try:
        return student.call(fn, *args, keep=keep, timeout=timeout, contexts=contexts_for(device) + list(contexts),
                            **kwargs)
    except StudentCodeError as error:
        sentence = explain_device_error(error.type, error.message)
        if sentence:
            raise CheckFailed(f"{name}, {device_words(device)} üzerinde çalıştırılınca hata verdi"
                              f"{_student_line(error.traceback)}. {sentence}") from None
        if device.type == "meta" and simulation_gap(error):
            raise DeviceSimulationUnsupported(f"{name}: {error.type}: {error.message[:300]}") from None
        raise


def _same_device(actual: str, expected: torch.device) -> bool:
    try:
        a = torch.device(actual)
    except (RuntimeError, TypeError):
        return False
    return a.type == expected.type and (expected.index is None or a.index == expected.index)


def expect_on_device(student, obj, device: torch.device | str | None = None, what: str = "model"):
    """Fail unless every parameter and buffer of a module (or a kept tensor) in the worker is on ``device``.

    ``obj`` is a Handle or a global name; ``device`` defaults to :func:`check_device`.
    """
    device = check_device() if device is None else torch.device(device)
    info = student.describe(obj)
    where = device_words(device)
    if "tensor" in info:
        actual = info["tensor"]["device"]
        if not _same_device(actual, device):
            fail(f"{what}: tensör {where} üzerinde olmalıydı, ama `{actual}` cihazında: onu `.to(device)` ile "
                 "taşıyın ya da `device=device` ile orada oluşturun.")
        return
    if not info.get("module"):
        fail(f"{what}: bir `nn.Module` ya da tensör bekleniyordu, ama {info.get('type', '?')} geldi.")
    for kind, entries in (("parametresi", info.get("parameters", [])), ("tamponu", info.get("buffers", []))):
        for name, _shape, actual, _dtype in entries:
            if not _same_device(actual, device):
                fail(f"{what}: `{name}` {kind} {where} üzerinde olmalıydı, ama `{actual}` cihazında: fonksiyonun "
                     "içinde `model.to(device)` çağırın (parametreler ve `register_buffer` ile kaydedilmiş "
                     "tamponlar onunla taşınır).")


def not_simulated(failure: DeviceSimulationUnsupported):
    """The one policy when the simulation cannot run an op the student used: this check is skipped, counts in
    neither the points nor the maximum, and says why (never a silent pass). Call it from an ``except``."""
    import pytest

    pytest.skip(f"cihaz taklidi bu kodu çalıştıramadı, bu kontrol sayılmadı (öğrencinin hatası değil): "
                f"{str(failure)[:200]}")


def expect_tensor_on_device(student, handle, shape=None, what: str = "sonuç",
                            device: torch.device | str | None = None):
    """Fail unless ``handle`` (kept in the worker) is a tensor on ``device`` (default :func:`check_device`) and,
    when given, of ``shape``. Only a handle tells where a tensor lives: one decoded by value is on the CPU."""
    device = check_device() if device is None else torch.device(device)
    info = student.describe(handle)
    if "tensor" not in info:
        fail(f"{what}: bir tensör bekleniyordu, ama {info.get('type', '?')} geldi.")
    got_shape = tuple(info["tensor"]["shape"])
    if shape is not None and got_shape != tuple(shape):
        fail(f"{what}: şekil {tuple(shape)} olmalıydı, ama {got_shape} geldi.")
    actual = info["tensor"]["device"]
    if not _same_device(actual, torch.device(device.type)):
        fail(f"{what}: sonuç {device_words(device)} üzerinde olmalıydı, ama `{actual}` cihazında. Yeni tensörleri "
             "girdinin cihazında oluşturun (`torch.zeros(..., device=x.device)` ya da `device=device`); "
             "`torch.zeros(...)` cihaz verilmezse CPU'da oluşturur.")
    return info["tensor"]


def forward_backward_on_device(student, model, x_handle, device, what: str, hint: str = ""):
    """``model(x)`` and a backward pass on ``device`` (the simulation without a GPU); the output's handle.

    An op the simulation cannot run skips the check (:func:`not_simulated`); other student errors fail it.
    """
    try:
        out = run_on_device(student, model, x_handle, device=device, device_arg=None, keep=True, what=what)
        total = student.call_method(out, "sum", keep=True, contexts=contexts_for(device))
        student.call_method(total, "backward", contexts=contexts_for(device))
    except DeviceSimulationUnsupported as gap:
        not_simulated(gap)
    except StudentCodeError as exc:
        if torch.device(device).type == "meta" and simulation_gap(exc):  # in the backward pass
            not_simulated(DeviceSimulationUnsupported(f"{what}: {exc.type}: {exc.message[:300]}"))
        if exc.type == "NotImplementedError":
            raise
        from autograder.checks.messages import error_text

        fail(error_text(what, exc, hint))
    return out


_MIXED_MARKERS = ("farklı cihazlardaki tensörler", "ağırlıkları girdiyle aynı cihazda")


def run_explained_on_device(student, fn, *args, what: str, counting: bool = False, model=None, **kwargs):
    """:func:`run_on_device` (or :func:`run_counting_ops` when ``counting``); returns ``(result, counts)``.

    Student errors become Turkish failures; when ``model`` (a Handle) is still entirely on the CPU after a
    mixed-device error, the message says so instead of the general advice. A ``NotImplementedError`` (the stub)
    and :class:`DeviceSimulationUnsupported` propagate: the caller decides (usually :func:`not_simulated`).
    """
    from autograder.checks.messages import error_text

    try:
        if counting:
            return run_counting_ops(student, fn, *args, what=what, **kwargs)
        return run_on_device(student, fn, *args, what=what, **kwargs), None
    except StudentCodeError as error:
        if error.type == "NotImplementedError":
            raise
        fail(error_text(f"{what} (cihaz denemesinde)", error))
    except CheckFailed as failure:
        mixed = any(marker in str(failure) for marker in _MIXED_MARKERS)
        if mixed and model is not None and kwargs.get("device", "x") != "cpu":
            devices = {entry[2] for entry in student.describe(model).get("parameters", [])}
            if devices == {"cpu"}:
                raise CheckFailed(f"{what}: model CPU'da kalmış, veriler ise hedef cihazda: fonksiyonun içinde "
                                  "modeli de `model.to(device)` ile verilen cihaza taşıyın.") from None
        raise


# ---------------------------------------------------------------------- op counts (real-GPU path)

def run_counting_ops(student, fn, *args, **kwargs):
    """:func:`run_on_device` under the ``count_ops`` context; returns ``(result, counts)``.

    ``counts`` is ``{"cuda:0": {"matmul": 12, "conv": 4, "rnn": 2}, "cpu": {...}}``
    (forward and backward ops, by the device of each op's first tensor).
    """
    contexts = list(kwargs.pop("contexts", ())) + ["count_ops"]
    result = run_on_device(student, fn, *args, contexts=contexts, **kwargs)
    counts = student.get(OP_COUNTS_GLOBAL)
    if not isinstance(counts, dict):
        fail("İşlem sayıları okunamadı (notlandırıcının değişkeni değiştirilmiş).")
    return result, counts


def expect_ops_on_device(counts: dict, device: torch.device | str | None = None, what: str = "model",
                         min_ops: int = 1):
    """Fail unless at least ``min_ops`` matmul/conv/rnn/attention ops ran on ``device``.

    Catches code that ignores its ``device`` argument and quietly computes on the CPU.
    """
    device = check_device() if device is None else torch.device(device)

    def total(match):
        return sum(int(n) for dev, fams in counts.items() if match(dev) for n in dict(fams).values())

    on_device = total(lambda d: _same_device(d, device))
    if on_device < min_ops:
        on_cpu = total(lambda d: d == "cpu")
        fail(f"{what}: ağır hesapların (matris çarpımı, evrişim, RNN) {device_words(device)} üzerinde yapılması "
             f"gerekirdi, ama {on_device} tanesi orada, {on_cpu} tanesi CPU'da yapıldı: `device` argümanını "
             "kullanın, modeli ve verileri `.to(device)` ile taşıyın.")


# ---------------------------------------------------------------------- get_device()

_EXPECTED_DEVICE = {"available:cuda+mps": "cuda", "available:cuda": "cuda", "available:mps": "mps",
                    "available:none": "cpu"}
_SITUATION = {"available:cuda+mps": "hem CUDA hem MPS varken", "available:cuda": "yalnız CUDA varken",
              "available:mps": "yalnız MPS (Apple) varken", "available:none": "hiç hızlandırıcı yokken"}


def expect_get_device(student, fn: str = "get_device", *, mps: bool = True, what: str | None = None):
    """Call ``fn()`` under each accelerator combination and check it picks cuda, then mps, then cpu.

    ``mps=False`` for exercises that only ask for CUDA/CPU: the MPS-only case is skipped.
    """
    what = what or f"{fn}()"
    assert set(_EXPECTED_DEVICE) == set(AVAILABILITY)
    for context, expected in _EXPECTED_DEVICE.items():
        if expected == "mps" and not mps:
            continue
        got = student.call(fn, contexts=[context])
        try:
            got_type = torch.device(got).type if isinstance(got, (str, torch.device)) else None
        except (RuntimeError, TypeError):
            got_type = None
        if got_type is None:
            fail(f"{what}: bir `torch.device` (ya da \"cuda\" gibi bir cihaz adı) döndürmeliydi, ama {got!r} geldi.")
        if got_type != expected:
            fail(f"{what}: {_SITUATION[context]} `{expected}` döndürmeliydi, ama `{got_type}` döndü: önce "
                 "`torch.cuda.is_available()`, sonra `torch.backends.mps.is_available()` deneyin, ikisi de yoksa "
                 "`torch.device(\"cpu\")` döndürün.")


# ---------------------------------------------------------------------- static check

@dataclass(frozen=True)
class Finding:
    line: int
    col: int
    code: str  # the offending expression as written
    message: str  # Turkish, for the student


_CUDA_NAME = re.compile(r"^cuda(:\d+)?$")
_DEVICE_KEYWORDS = {"device", "map_location"}
_DEVICE_CALLS = {"to", "device", "set_default_device"}  # calls whose positional "cuda" names a device


def _is_cuda_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_CUDA_NAME.match(node.value))


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _mentions_availability(node, flags: set[str]) -> bool:
    """Whether a test asks about CUDA: ``torch.cuda.is_available()``, ``device_count()``, a flag set from one,
    or a comparison with a "cuda" string (``device.type == "cuda"``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and _call_name(sub) in ("is_available", "device_count"):
            return True
        if isinstance(sub, ast.Name) and sub.id in flags:
            return True
        if isinstance(sub, ast.Compare) and any(_is_cuda_str(c) for c in [sub.left, *sub.comparators]):
            return True
    return False


def hardcoded_device_uses(source: str) -> list[Finding]:
    """Hard-coded CUDA outside an availability test: ``.cuda()``, ``device="cuda"``, ``torch.device("cuda")``,
    ``.to("cuda")``, ``map_location="cuda"``, ``device = "cuda"``, ``def f(device="cuda")``. Sorted by line.

    An availability test is an ``if``/``while``/conditional expression whose test
    calls ``is_available()`` / ``device_count()``, reads a flag assigned from one,
    or compares with a "cuda" string (``if device.type == "cuda":``).
    """
    if len(source) > _CACHED_SOURCE_CHARS:
        return list(_scan_hardcoded_device_uses(source))
    return list(_cached_hardcoded_device_uses(source))


#: Cells up to this size are scanned once: every device check of a submission reads the same cells again (ch4: ~30
#: scans of each). Larger ones (a pasted dataset, a hostile notebook) are scanned each time rather than kept.
_CACHED_SOURCE_CHARS = 64 * 1024


def _scan_hardcoded_device_uses(source: str) -> tuple[Finding, ...]:
    tree = _parse(source)
    if tree is None:
        return ()
    # Names that hold an availability answer: use_cuda = torch.cuda.is_available()
    flags = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and _mentions_availability(node.value, set()) for t in node.targets if isinstance(t, ast.Name)}
    findings: dict[tuple[int, int], Finding] = {}

    def report(node, code: str | None = None):
        code = (code or ast.get_source_segment(source, node) or "cuda").splitlines()[0][:120]
        message = (f"{node.lineno}. satır: `{code}` cihazı sabit olarak CUDA'ya bağlıyor, bu kod GPU'suz bir "
                   f"makinede çalışmaz: cihazı bir kez `{IDIOM}` ile seçin (ya da fonksiyona verilen `device`'ı "
                   "kullanın) ve tensörleri, modelleri `x.to(device)` ile taşıyın.")
        findings.setdefault((node.lineno, node.col_offset), Finding(node.lineno, node.col_offset, code, message))

    def visit(node, guarded: bool):
        if isinstance(node, (ast.If, ast.IfExp, ast.While)) and _mentions_availability(node.test, flags):
            guarded = True
        if not guarded:
            if isinstance(node, ast.Call):
                name = _call_name(node)
                if name == "cuda" and isinstance(node.func, ast.Attribute):
                    report(node)
                elif name in _DEVICE_CALLS and node.args and _is_cuda_str(node.args[0]):
                    report(node)
                elif any(k.arg in _DEVICE_KEYWORDS and _is_cuda_str(k.value) for k in node.keywords):
                    report(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_cuda_str(node.value):
                report(node)
            elif isinstance(node, ast.arguments):  # def train(..., device="cuda")
                params = [*node.posonlyargs, *node.args][-len(node.defaults):] if node.defaults else []
                pairs = [*zip(params, node.defaults), *zip(node.kwonlyargs, node.kw_defaults)]
                for param, default in pairs:
                    if "device" in param.arg and _is_cuda_str(default):
                        report(default, f'{param.arg}="{default.value}"')
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return tuple(sorted(findings.values(), key=lambda f: (f.line, f.col)))


_cached_hardcoded_device_uses = functools.lru_cache(maxsize=256)(_scan_hardcoded_device_uses)


def _definition_spans(tree, names) -> list[tuple[int, int, str]]:
    return [(n.lineno, n.end_lineno, n.name) for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name in names]


def expect_no_hardcoded_device(student, names=None):
    """Fail if the student's code hard-codes CUDA (see :func:`hardcoded_device_uses`).

    ``names``: look only inside the top-level functions/classes with these names
    (the ones a grade cell is about); None: all the code the student wrote. Each
    cell is read on its own, so the message names the cell and its own line.
    """
    for cell in student.source_cells:
        findings = hardcoded_device_uses(cell.source)
        if not findings:
            continue
        spans = None
        if names is not None:
            tree = _parse(cell.source)
            spans = _definition_spans(tree, set(names)) if tree is not None else []
        for f in findings:
            owner = None
            if spans is not None:
                owner = next((name for a, b, name in spans if a <= f.line <= b), None)
                if owner is None:
                    continue
            where = f"`{cell.label}` hücresi, {f.line}. satır" + (f" (`{owner}` içinde)" if owner else "")
            fail(f"{where}: `{f.code}` cihazı sabit olarak CUDA'ya bağlıyor, bu kod GPU'suz bir makinede çalışmaz: "
                 f"cihazı bir kez `{IDIOM}` ile seçin (ya da fonksiyona verilen `device`'ı kullanın) ve tensörleri, "
                 "modelleri `x.to(device)` ile taşıyın.")


def expect_device_agnostic(student, names=None):
    """No hard-coded CUDA in the definitions called ``names`` (all code: None), and each of them uses the
    ``device`` argument it was given instead of choosing a device anew inside."""
    from autograder.checks.device_override import expect_device_argument_kept

    expect_no_hardcoded_device(student, names)
    if names:
        expect_device_argument_kept(student, names)
