"""Friendly messages: one Turkish sentence for a typical PyTorch mistake, used by every chapter.

The runtime uses these when student code raises inside a check; checks use
:func:`error_text` to add their own hint.
"""
from __future__ import annotations

import re

DTYPE_HINT = ("Veri türleri uyuşmuyor: NumPy dizileri varsayılan olarak float64'tür, PyTorch katmanlarının ağırlıkları "
              "ise float32. Girdileri `torch.as_tensor(X, dtype=torch.float32)` ile float32 tensörlere çevirin.")
LABEL_HINT = ("nn.CrossEntropyLoss sınıf etiketlerini tam sayı (int64, `torch.long`) bekler: etiketleri "
              "`torch.as_tensor(y, dtype=torch.int64)` ile çevirin.")
GRAD_HINT = ("Gradyan isteyen bir tensör NumPy'a çevrilemez: tahmini `with torch.no_grad():` bağlamında yapın "
             "(ya da `.detach()` kullanın).")
VIEW_HINT = ("`.view(...)` bellekte bitişik olmayan (non-contiguous) bir tensörde çalışmaz (ör. bir devrik `t.T` ya da "
             "dilimlenmiş `t[:, ::2]`): yeniden şekillendirmek için `.reshape(...)` kullanın.")
CAST_HINT = ("Ondalıklı bir sonuç tam sayı türündeki bir diziye ya da tensöre yerinde (`+=`, `*=`) yazılmaya "
             "çalışılmış: güncellenecek değişkeni ondalıklı bir kopya olarak başlatın (ör. "
             "`np.array(w0, dtype=float)` ya da `torch.as_tensor(w0, dtype=torch.float64).clone()`).")

_DTYPE = re.compile(r"same dtype|expected scalar type (Float|Double|Half) but found (Float|Double|Half)|"
                    r"Found dtype (Double|Float) but expected (Double|Float)|"
                    r"Input type \((double|Double|torch\.DoubleTensor)\) and|"
                    r"should be the same or input should be")
_LABELS = re.compile(r"target dtype to be Long|expected scalar type Long|not implemented for 'Float'|"
                     r"Expected floating point type for target|target[^\n]{0,200}?must be[^\n]{0,100}?(?:int|Long)")
_VIEW = re.compile(r"view size is not compatible with input tensor's size and stride")
_CAST = re.compile(r"result type \w+ can't be cast to the desired output type|"
                   r"Cannot cast ufunc '\w+' output from dtype\('float\d*'\) to dtype\('u?int\d*'\)")
# Linear on any input: no nested or unbounded repetition that can backtrack over the same text twice.
_STUDENT_FRAME = re.compile(r'File "(<ipython-input-[^">\n]*>|/tmp/ipykernel_[^"\n]*)", line (\d+)[^\n]*\n[ \t]*([^\n]*)')

#: The most of a message or traceback any pattern here reads (the worker's own caps cannot be trusted).
MESSAGE_SCAN = 2000
TRACEBACK_SCAN = 8000


def explain_error(exc_type: str, message: str) -> str | None:
    """A Turkish sentence for a typical dtype, label, autograd or device mistake, or None."""
    message = (message if isinstance(message, str) else "")[:MESSAGE_SCAN]
    exc_type = (exc_type if isinstance(exc_type, str) else "")[:200]
    if _LABELS.search(message):
        return LABEL_HINT
    if _DTYPE.search(message):
        return DTYPE_HINT
    if "requires grad" in message and "numpy" in message:
        return GRAD_HINT
    if _VIEW.search(message):
        return VIEW_HINT
    if _CAST.search(message):
        return CAST_HINT
    from autograder.device import explain_device_error  # imports torch: only when needed

    return explain_device_error(exc_type, message)


def student_line(traceback_text: str) -> str:
    """`` (satır: `code`)`` for the last line of student code in a worker traceback, or ""."""
    text = traceback_text if isinstance(traceback_text, str) else ""
    frames = _STUDENT_FRAME.findall(text[-TRACEBACK_SCAN:])
    if not frames or not frames[-1][2].strip():
        return ""
    return f" (satır: `{frames[-1][2].strip()[:120]}`)"


def error_text(what: str, error, hint: str = "") -> str:
    """'<what> bir hata verdi (satır: …): Type: message. <explanation or hint>' for a StudentCodeError."""
    explained = explain_error(error.type, error.message)
    text = f"{what} bir hata verdi{student_line(error.traceback)}: {error.type}: {error.message[:300]}".rstrip(". ")
    extra = explained or hint
    return f"{text}. {extra}" if extra else text
