"""Hidden checks for 02_gated_cells.ipynb (LSTM and GRU cells from scratch, against nn.LSTMCell / nn.GRUCell).

All in float64 with the weights copied into PyTorch's cells, so the expected values do not depend on how the
student splits the computation.
"""
import itertools

import torch
from torch import nn

from autograder.checks import call, close, expect_close, fail, grade


def _random(seed, *shapes, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) * scale for s in shapes]


# ---------------------------------------------------------------------------- LSTM

def _nn_lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    cell = nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(value)
        return cell(x, (h, c))


def _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", cell_tanh=True):
    """LSTM step reading the four chunks in ``order`` (a permutation of 'ifgo'), to name a wrong gate order."""
    chunks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
    i, f = torch.sigmoid(chunks["i"]), torch.sigmoid(chunks["f"])
    g, o = torch.tanh(chunks["g"]), torch.sigmoid(chunks["o"])
    c_new = f * c + i * g
    return o * (torch.tanh(c_new) if cell_tanh else c_new), c_new


def _check_lstm(student, x, h, c, W_ih, W_hh, b_ih, b_hh, what, extra_hint=""):
    got = call(student, "lstm_cell", x, h, c, W_ih, W_hh, b_ih, b_hh,
               hint="Ön-aktivasyonlar x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, (N, 4H) şeklinde.")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{what}: bir (h_new, c_new) ikilisi bekleniyordu.")
    h_new, c_new = got
    h_ref, c_ref = _nn_lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
    if close(h_new, h_ref) and close(c_new, c_ref):
        return
    hint = extra_hint or "c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'); kapı sırası i, f, g, o."
    if close(h_new, c_ref) and close(c_new, h_ref):
        hint = "Sonuçların sırası ters: (h_new, c_new) döndürün."
    for order in ("".join(p) for p in itertools.permutations("ifgo")):
        variant = _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order)
        if order != "ifgo" and all(close(a, b) for a, b in zip(got, variant)):
            hint = (f"Kapılar {', '.join(order)} sırasıyla okunmuş; PyTorch'un sırası i, f, g, o "
                    "(girdi, unutma, aday, çıkış): `i, f, g, o = gates.chunk(4, dim=1)`.")
    zero = torch.zeros_like(b_ih)
    if any(all(close(a, b) for a, b in zip(got, _lstm_variant(x, h, c, W_ih, W_hh, bi, bh)))
           for bi, bh in ((b_ih, zero), (zero, b_hh))):
        hint = "Sapmalardan yalnızca biri eklenmiş: b_ih ve b_hh'nin ikisi de eklenmeli."
    if all(close(a, b) for a, b in zip(got, _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, cell_tanh=False))):
        hint = "h' = o ⊙ tanh(c') olmalı: yeni hücre durumu çıkış kapısıyla çarpılmadan önce tanh'ten geçer."
    expect_close(c_new, c_ref, what=f"{what}: c_new", hint=hint)
    expect_close(h_new, h_ref, what=f"{what}: h_new", hint=hint)


@grade("lstm_cell_test", weight=3)
def test_lstm_cell_matches_nn_lstmcell(student):
    N, I, H = 3, 4, 5
    x, h, c, W_ih, W_hh, b_ih, b_hh = _random(7, (N, I), (N, H), (N, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,))
    _check_lstm(student, x, h, c * 2, W_ih, W_hh, b_ih, b_hh, "lstm_cell (N=3, I=4, H=5)")
    x1, h1, c1, W1, U1, bi1, bh1 = _random(8, (1, 1), (1, 2), (1, 2), (8, 1), (8, 2), (8,), (8,), scale=1.0)
    _check_lstm(student, x1, h1, c1, W1, U1, bi1, bh1, "lstm_cell (N=1, I=1, H=2)")


@grade("lstm_cell_test", weight=1)
def test_lstm_forget_gate_keeps_the_cell_state(student):
    # Zero weights; biases open the forget gate (f = 1), close the input gate (i = 0): c' = c, h' = sigmoid(1) tanh(c).
    N, I, H = 2, 3, 4
    x, h, c = _random(9, (N, I), (N, H), (N, H), scale=1.0)
    W_ih, W_hh = torch.zeros(4 * H, I, dtype=torch.float64), torch.zeros(4 * H, H, dtype=torch.float64)
    b_ih = torch.cat([torch.full((H,), v, dtype=torch.float64) for v in (-30.0, 30.0, 0.5, 1.0)])
    b_hh = torch.zeros(4 * H, dtype=torch.float64)
    _check_lstm(student, x, h, c, W_ih, W_hh, b_ih, b_hh, "lstm_cell (açık unutma kapısı, kapalı girdi kapısı)",
                extra_hint="Unutma kapısı f = 1 ve girdi kapısı i = 0 iken hücre durumu değişmemeli (c' = c) ve "
                           "h' = σ(1)·tanh(c) olmalı. Kapı sırası i, f, g, o; çıkış kapısı dördüncü parça.")


# ---------------------------------------------------------------------------- GRU

def _nn_gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1]).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(value)
        return cell(x, h)


def _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, kind):
    H = h.shape[1]
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    if kind == "zrn":
        i_r, i_z, h_r, h_z = i_z, i_r, h_z, h_r
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    if kind == "r_outside":
        n = torch.tanh(i_n + r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:])
    elif kind == "cho":
        n = torch.tanh(i_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
    else:
        n = torch.tanh(i_n + r * h_n)
    if kind == "z_swapped":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


GRU_MISTAKES = {
    "r_outside": "Sıfırlama kapısı b_hn'nin dışında uygulanmış (r ⊙ (W_hn h) + b_hn): PyTorch'un formülasyonunda "
                 "r, sapmayla birlikte bütün gizli taraf terimini çarpar: r ⊙ (W_hn h + b_hn).",
    "cho": "Özgün makaledeki formülasyon (W_hn (r ⊙ h)) kullanılmış; bu defter PyTorch'unkini ister: "
           "r ⊙ (W_hn h + b_hn).",
    "z_swapped": "Güncelleme kapısının rolü ters: h' = (1 − z) ⊙ n + z ⊙ h olmalı (z = 1 iken eski durum korunur).",
    "zrn": "Kapılar z, r, n sırasıyla okunmuş; PyTorch'un sırası r, z, n (sıfırlama, güncelleme, aday).",
}


def _check_gru(student, x, h, W_ih, W_hh, b_ih, b_hh, what, extra_hint=""):
    got = call(student, "gru_cell", x, h, W_ih, W_hh, b_ih, b_hh,
               hint="Girdi tarafı x @ W_ih.T + b_ih ve gizli taraf h @ W_hh.T + b_hh, ikisi de (N, 3H).")
    expected = _nn_gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)
    if close(got, expected):
        return
    hint = extra_hint or "r, z, n sırası; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h."
    for kind, text in GRU_MISTAKES.items():
        if close(got, _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, kind)):
            hint = text
            break
    expect_close(got, expected, what=what, hint=hint)


@grade("gru_cell_test", weight=3)
def test_gru_cell_matches_nn_grucell(student):
    N, I, H = 3, 4, 5
    x, h, W_ih, W_hh, b_ih, b_hh = _random(10, (N, I), (N, H), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,), scale=0.8)
    _check_gru(student, x, h, W_ih, W_hh, b_ih, b_hh, "gru_cell (N=3, I=4, H=5)")
    x1, h1, W1, U1, bi1, bh1 = _random(11, (2, 1), (2, 2), (6, 1), (6, 2), (6,), (6,), scale=1.0)
    _check_gru(student, x1, h1, W1, U1, bi1, bh1, "gru_cell (N=2, I=1, H=2)")


@grade("gru_cell_test", weight=1)
def test_gru_closed_reset_gate_drops_hidden_bias(student):
    # r = 0 (b_hr = -30): PyTorch's candidate is tanh(W_in x + b_in), without b_hn.
    N, I, H = 2, 3, 3
    x, h, W_ih, W_hh = _random(12, (N, I), (N, H), (3 * H, I), (3 * H, H), scale=0.7)
    b_ih = torch.zeros(3 * H, dtype=torch.float64)
    b_hh = torch.cat([torch.full((H,), -30.0), torch.zeros(H), torch.full((H,), 1.5)]).double()
    _check_gru(student, x, h, W_ih, W_hh, b_ih, b_hh, "gru_cell (kapalı sıfırlama kapısı, b_hn = 1.5)",
               extra_hint="r = 0 iken aday durum gizli durumdan hiçbir şey almamalı, b_hn dahil: "
                          "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).")


@grade("gru_cell_test", weight=1)
def test_gru_update_gate_interpolates(student):
    # z = 1 keeps the old state; z = 0 takes the candidate.
    N, I, H = 2, 2, 3
    x, h, W_ih, W_hh = _random(13, (N, I), (N, H), (3 * H, I), (3 * H, H), scale=0.7)
    for z_bias, label in ((30.0, "z = 1: h' = h"), (-30.0, "z = 0: h' = n")):
        b_ih = torch.cat([torch.zeros(H), torch.full((H,), z_bias), torch.zeros(H)]).double()
        b_hh = torch.zeros(3 * H, dtype=torch.float64)
        _check_gru(student, x, h, W_ih, W_hh, b_ih, b_hh, f"gru_cell (güncelleme kapısı {label})",
                   extra_hint="h' = (1 − z) ⊙ n + z ⊙ h: güncelleme kapısı 1 iken eski durum aynen korunur.")
