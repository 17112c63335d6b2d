"""The student's side: device checks for visible cells, the self-check behind ``autograder check``, and a
Jupyter extension.

Nothing here knows a hidden check or an expected value: it runs the student's own code on the inputs a visible
cell gives, under the same meta-device simulation the grader uses (:class:`~autograder.sandboxed.contexts.
SimulatedDevice`), and reports with the grader's own Turkish sentences (:mod:`autograder.checks.messages`,
:func:`autograder.device.hardcoded_device_uses`).

In a visible check cell::

    try:
        from autograder.student import check_device
    except ImportError:
        print("autograder paketi kurulu değil: cihaz denetimi atlandı.")
    else:
        check_device(train_regressor, lin, X_toy, y_toy, epochs=1)

In Jupyter: ``%load_ext autograder.student`` then ``%check`` (or ``%check reg_train_test``), or
``from autograder.student import check; check()``: the saved notebook file is checked as ``autograder check``
would, in a separate process, and the ✔/✘ table is printed in the notebook.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["DeviceCheckFailed", "check_device", "check", "check_notebook", "load_ipython_extension"]

OK_MARK, FAIL_MARK, NOTE_MARK = "✔", "✘", "!"


class DeviceCheckFailed(AssertionError):
    """A device problem found by :func:`check_device`; its text is the Turkish explanation.

    In IPython only the explanation is shown, not a traceback into this module.
    """

    def _render_traceback_(self):  # IPython's hook for how an exception is displayed
        return [f"{FAIL_MARK} Cihaz denetimi: {line}" for line in str(self).splitlines()]


# ---------------------------------------------------------------------- where in the student's code

_CELL_FILE = re.compile(r"^<ipython-input-\d+-[0-9a-f]+>$|ipykernel_\d+")


def _user_frame(tb, own_file: str | None = None):
    """(file, line, code) of the last frame of a traceback that runs notebook code, or None."""
    import linecache

    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if _CELL_FILE.search(filename) or (own_file and filename == own_file):
            found = (filename, tb.tb_lineno, linecache.getline(filename, tb.tb_lineno).strip())
        tb = tb.tb_next
    return found


def _where(frame) -> str:
    if frame is None:
        return ""
    _, line, code = frame
    return f" ({line}. satır: `{code[:120]}`)" if code else f" ({line}. satır)"


# ---------------------------------------------------------------------- device checks in the student's kernel

def _static_findings(fn) -> list[str]:
    """The grader's hard-coded-CUDA findings in ``fn``'s source, with lines counted in its own cell."""
    import inspect

    from autograder.device import hardcoded_device_uses

    import torch

    if isinstance(fn, torch.nn.Module):
        fn = type(fn)  # a model: its class, forward and helpers included
    try:
        lines, first = inspect.getsourcelines(fn)
        source = "".join(lines)
    except (OSError, TypeError, AttributeError):
        return []
    # Parse it where it stands in its cell, so each finding's line is the cell's line.
    name = getattr(fn, "__name__", "?")
    return [f"`{name}` içinde, {f.message}"
            for f in hardcoded_device_uses("\n" * (first - 1) + textwrap.dedent(source))]


def _walk(value, depth: int = 0):
    """Modules and tensors inside arguments or a result (lists, tuples, dict values), two levels deep."""
    import torch

    if isinstance(value, (torch.nn.Module, torch.Tensor)):
        yield value
    elif depth < 2 and isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v, depth + 1)
    elif depth < 2 and isinstance(value, dict):
        for v in value.values():
            yield from _walk(v, depth + 1)


def _off_device(obj, device) -> str | None:
    """The name of a parameter/buffer (or "tensor") of ``obj`` that is not on ``device``, else None."""
    import torch

    if isinstance(obj, torch.Tensor):
        return None if obj.device.type == device.type else "tensor"
    for name, t in [*obj.named_parameters(), *obj.named_buffers()]:
        if t.device.type != device.type:
            return name
    return None


@contextlib.contextmanager
def _same_random_numbers():
    """The cell's own random numbers after a device check are those it would have drawn without it."""
    import random

    import numpy as np
    import torch

    state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.random.set_rng_state(state[2])


def check_device(fn, *args, model_on_device: bool = True, result_on_device: bool = True, **kwargs):
    """Run ``fn(*args, **kwargs, device=<simulated GPU>)`` as the grader's device check does, without a GPU.

    ``fn`` may also be a model (an ``nn.Module``): a copy of it is moved to the device and called on the tensor
    arguments moved there, so a state its ``forward`` makes on the CPU (an RNN's ``h0``) is found.

    The arguments are deep-copied first (the caller's model and tensors are not touched). The call runs on
    ``torch.device("meta")`` under the grader's device simulation, where a batch left on the CPU, a model never
    moved or a state made on the CPU fails exactly as on a GPU. Also reported: hard-coded CUDA in ``fn``'s
    source; with ``model_on_device``, a model given in the arguments that is not on the device afterwards; with
    ``result_on_device``, a returned model or tensor that is not on it. The random number generators are left as
    they were, so the cell's own checks draw what they would have drawn. Prints one line when all is well;
    raises :class:`DeviceCheckFailed` with the grader's Turkish sentence and the line otherwise.
    """
    import torch

    from autograder.checks.messages import explain_error
    from autograder.device import device_words, simulation_gap
    from autograder.sandboxed.contexts import SimulatedDevice

    device = torch.device("meta")
    where_device = device_words(device)
    problems = _static_findings(fn)
    args, kwargs = copy.deepcopy((args, kwargs))
    if isinstance(fn, torch.nn.Module):
        # A model: a copy of it on the device, called on the inputs moved there (its forward must make any state,
        # such as an RNN's h0, on the input's device).
        name = f"{type(fn).__name__}.forward"
        own_file = getattr(getattr(type(fn).forward, "__code__", None), "co_filename", None)
        fn, model_on_device = copy.deepcopy(fn).to(device), False
        args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)
    else:
        name = getattr(fn, "__name__", "fonksiyon")
        kwargs["device"] = device
        own_file = getattr(getattr(fn, "__code__", None), "co_filename", None)
    result, failed = None, False
    try:
        with _same_random_numbers(), SimulatedDevice():
            result = fn(*args, **kwargs)
    except NotImplementedError as exc:
        from autograder.session import StudentCodeError

        gap = StudentCodeError({"type": type(exc).__name__, "message": str(exc)})
        if simulation_gap(gap) or "meta" in str(exc).lower():
            print(f"{NOTE_MARK} Cihaz denetimi: `{name}`, GPU taklidinin çalıştıramadığı bir işlem kullanıyor; bu "
                  "denetim atlandı (sizin hatanız değil).")
            failed = True  # nothing to say about devices
        else:
            problems.append(f"`{name}` henüz yazılmamış (NotImplementedError).")
            failed = True
    except Exception as exc:  # noqa: BLE001 - the student's error is the finding
        failed = True
        kind, message = type(exc).__name__, str(exc)
        sentence = explain_error(kind, message)
        where = _where(_user_frame(exc.__traceback__, own_file))
        text = f"`{name}`, {where_device} üzerinde çalıştırılınca hata verdi{where}"
        problems.append(f"{text}. {sentence}" if sentence else f"{text}: {kind}: {message[:300]}")
    if not failed:
        if model_on_device:
            for obj in _walk((args, kwargs)):
                if isinstance(obj, torch.nn.Module) and _off_device(obj, device):
                    problems.append(f"`{name}`: verilen model çağrıdan sonra hâlâ CPU'da (`{_off_device(obj, device)}`"
                                    f" {where_device} üzerinde değil): fonksiyonun içinde `model.to(device)` "
                                    "çağırın.")
                    break
        if result_on_device:
            for obj in _walk(result):
                off = _off_device(obj, device)
                if off:
                    what = "dönen tensör" if off == "tensor" else f"dönen modelin `{off}` parametresi"
                    problems.append(f"`{name}`: {what} {where_device} üzerinde değil: sonucu verilen `device` "
                                    "üzerinde oluşturun ya da `.to(device)` ile taşıyın.")
                    break
    if problems:
        raise DeviceCheckFailed("\n".join(problems))
    print(f"{OK_MARK} Cihaz denetimi: `{name}` GPU taklidinde (meta cihazı) sorunsuz çalıştı.")


# ---------------------------------------------------------------------- autograder check

_FRAME = re.compile(r'File "<ipython-input-\d+-([0-9a-f]{12})>", line (\d+)[^\n]*\n[ \t]*([^\n]*)')


def _cell_hash(source: str) -> str:
    """The name IPython gives a cell's code (``<ipython-input-N-HASH>``) is keyed by this: the SHA-1 of the cell
    as IPython transforms it before compiling (leading blank lines dropped, magics rewritten, a final newline)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is not found, nothing worse
        pass
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]


def locate(traceback_text: str, cells) -> str:
    """"`grade_id` hücresi, 4. satır: `code`" for the last frame of notebook code in a worker traceback."""
    from autograder.checks.messages import TRACEBACK_SCAN

    text = traceback_text if isinstance(traceback_text, str) else ""
    frames = _FRAME.findall(text[-TRACEBACK_SCAN:])
    if not frames:
        return ""
    by_hash = {_cell_hash(c.source): c.label for c in cells}
    digest, line, code = frames[-1]
    label = by_hash.get(digest, "?")
    code = code.strip()[:120]
    return f"`{label}` hücresi, {line}. satır" + (f": `{code}`" if code else "")


def describe_error(err: dict, cells) -> str:
    """An error from the worker for a student: where, what, and the grader's Turkish explanation."""
    from autograder.checks.messages import explain_error

    kind, message = str(err.get("type", "")), str(err.get("message", ""))
    if kind == DeviceCheckFailed.__name__:
        return message.replace("\n", " ")
    where = locate(err.get("traceback", ""), cells)
    text = f"{kind}: {message[:300]}".strip(": ") or "başarısız"
    hint = explain_error(kind, message)
    return (f"{where}: " if where else "") + text + (f" — {hint}" if hint else "")


def _question_cells(spec, question: str | None) -> set[str] | None:
    """The grade cell(s) ``--question`` names: a visible-check cell's grade_id, or an answer cell's (its check)."""
    if question is None:
        return None
    ids = {c.grade_id for c in spec.grade_cells}
    for candidate in (question, f"{question}_test"):
        if candidate in ids:
            return {candidate}
    return set()


def question_in(spec, question: str) -> bool:
    return bool(_question_cells(spec, question))


def check_notebook(path: Path, spec, limits, question: str | None = None, out=print) -> bool:
    """Run one notebook with its visible checks restored; print each question as ✔/✘, the cell and line of
    each error with the grader's Turkish explanation, and the hard-coded-device findings. True if all passed."""
    import importlib
    import threading
    import time

    from autograder.notebook import InvalidNotebook, read_notebook, sanitize
    from autograder.session import NotebookRun

    t0 = time.monotonic()
    # The static check and the explanations need torch here too (~1.5 s to import): import it while the worker
    # runs the notebook, not before.
    loader = threading.Thread(target=importlib.import_module, args=("autograder.device",), daemon=True)
    loader.start()
    try:
        nb = read_notebook(path)
    except InvalidNotebook as exc:
        out(f"{path}: {exc}")
        return False
    clean = sanitize(nb, spec, include_tests=True)
    grade_ids = {c.grade_id for c in spec.grade_cells}
    wanted = _question_cells(spec, question)
    cells = [c for c in clean.cells if wanted is None or c.label not in grade_ids or c.label in wanted]
    run = NotebookRun(spec.name, cells, limits)
    try:
        run.ensure_started()
    except Exception as exc:  # noqa: BLE001 - the worker could not run the notebook at all
        out(f"Defter çalıştırılamadı: {exc}")
        return False
    finally:
        run.close()
    loader.join()
    from autograder.device import hardcoded_device_uses

    all_ok = True
    for cell in clean.student_cells:  # the grader's static device check, on what the student wrote
        for finding in hardcoded_device_uses(cell.source):
            out(f"  {NOTE_MARK}  `{cell.label}` hücresi, {finding.message}")
            all_ok = False
    by_label = {o.label: o for o in run.outcomes}
    for cell in spec.grade_cells:
        if wanted is not None and cell.grade_id not in wanted:
            continue
        if cell.manual:
            out(f"  ·  {cell.grade_id} ({cell.points:g} puan): elle notlandırılacak")
            continue
        outcome = by_label.get(cell.grade_id)
        if outcome is not None and outcome.ok:
            out(f"  {OK_MARK}  {cell.grade_id} ({cell.points:g} puan)")
        else:
            all_ok = False
            err = (outcome.error or {}) if outcome else {"type": "", "message": "çalıştırılmadı"}
            out(f"  {FAIL_MARK}  {cell.grade_id} ({cell.points:g} puan): {describe_error(err, cells)}")
    for o in run.outcomes:
        if not o.ok and o.label not in grade_ids:  # a note: grading does not count these cells either
            out(f"  {NOTE_MARK}  `{o.label}` hücresi hata verdi: {describe_error(o.error or {}, cells)}")
    if os.environ.get("AUTOGRADER_CHECK_TIMES"):
        out(f"  (süre: {time.monotonic() - t0:.2f} s, hücreler: {run.cells_time:.2f} s)")
    return all_ok


# ---------------------------------------------------------------------- inside Jupyter

def _notebook_path(shell=None) -> str | None:
    """The live notebook's file, where the front end tells the kernel (VS Code, Jupyter Server 2)."""
    ns = getattr(shell, "user_ns", {}) if shell is not None else {}
    for candidate in (ns.get("__vsc_ipynb_file__"), ns.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return candidate
    return None


def check(notebook: str | None = None, question: str | None = None) -> bool:
    """Check the saved file of this notebook (or ``notebook``) as ``autograder check`` does; print the table."""
    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        pass
    path = notebook or _notebook_path(shell)
    if path is None:
        print("Defterin dosyası bulunamadı: yolunu verin, ör. `%check 02_regression.ipynb` ya da "
              "`check(\"02_regression.ipynb\")`.")
        return False
    print(f"Kaydedilmiş dosya denetleniyor: {path} (son değişiklikleriniz için önce defteri kaydedin).")
    command = [sys.executable, "-m", "autograder.cli", "check", str(Path(path).resolve())]
    if question:
        command += ["--question", question]
    # From the kernel's folder (Jupyter starts it in the notebook's): the course is found from there or from the
    # notebook's folder upwards, or from AUTOGRADER_COURSE.
    done = subprocess.run(command, capture_output=True, text=True)
    print((done.stdout + done.stderr).rstrip())
    return done.returncode == 0


def load_ipython_extension(shell):
    """``%load_ext autograder.student``: adds ``%check [NOTEBOOK.ipynb] [QUESTION]``."""

    def magic(line: str = ""):
        words = line.split()
        notebook = next((w for w in words if w.endswith(".ipynb")), None)
        question = next((w for w in words if not w.endswith(".ipynb")), None)
        check(notebook, question)

    shell.register_magic_function(magic, "line", "check")
