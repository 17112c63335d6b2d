"""autograder.checks.cache: reference work once per process, copies handed out, keyed by file text and args."""
import importlib.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from autograder.checks import cache


def _load(path, name="conftest_like"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULE = """
from autograder.checks.cache import per_process
import torch
CALLS = []

@per_process
def reference(seed):
    CALLS.append(seed)
    return {"w": torch.randn(3, generator=torch.Generator().manual_seed(seed))}

@per_process(copy=False)
def shared():
    CALLS.append("shared")
    return [1, 2]
"""


def test_a_reimported_module_reuses_the_first_computation(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    first = _load(path)
    a = first.reference(0)
    second = _load(path)  # what pytest does for the next submission
    b = second.reference(0)
    assert first.CALLS == [0] and second.CALLS == []
    assert torch.equal(a["w"], b["w"])
    second.reference(1)
    assert second.CALLS == [1]


def test_each_call_gets_its_own_copy_unless_told_otherwise(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    module = _load(path)
    got = module.reference(0)
    got["w"].mul_(0)
    assert module.reference(0)["w"].abs().sum() > 0
    assert module.shared() is module.shared()


def test_an_edited_file_is_computed_again(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    _load(path).reference(0)
    path.write_text(textwrap.dedent(MODULE) + "\n# edited\n")
    edited = _load(path)
    edited.reference(0)
    assert edited.CALLS == [0]


STORED = """
from autograder.checks.cache import per_process
import numpy as np
import torch
CALLS = []

@per_process
def reference(n):
    CALLS.append(n)
    g = torch.Generator().manual_seed(n)
    return {"w": torch.randn(3, 2, generator=g), "counts": (n, 2.5, None, True, "iki"),
            "series": np.arange(n, dtype=np.float64) / 3, "layers": [torch.arange(4), np.zeros(2, dtype=np.int64)]}

@per_process
def unusual():
    CALLS.append("unusual")
    return {"slice": slice(1, 2)}

@per_process
def draws():
    CALLS.append("draws")
    return torch.rand(2).tolist() + [float(np.random.rand())]
"""


def _fresh_process(path):
    """What a second grading process (or the next run) sees: nothing in memory, the module imported anew."""
    cache.clear()
    return _load(path)


@pytest.fixture
def stored(tmp_path):
    """The STORED module's path, with values also kept in ``tmp_path / "ref"``."""
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(STORED))
    cache.clear()
    cache.use_folder(tmp_path / "ref")
    yield path
    cache.use_folder(None)


def test_a_folder_keeps_values_for_other_processes_and_runs(stored):
    first = _load(stored)
    computed = first.reference(5)
    later = _fresh_process(stored)
    read = later.reference(5)
    assert first.CALLS == [5] and later.CALLS == []  # read back, not computed again
    assert list((stored.parent / "ref").glob("*.safetensors"))
    assert torch.equal(read["w"], computed["w"]) and read["w"].dtype == torch.float32
    assert read["counts"] == (5, 2.5, None, True, "iki") and type(read["counts"]) is tuple
    assert read["series"].dtype == np.float64 and np.array_equal(read["series"], computed["series"])
    assert type(read["layers"]) is list and torch.equal(read["layers"][0], torch.arange(4))
    assert read["layers"][1].dtype == np.int64
    assert list(read) == ["w", "counts", "series", "layers"]


def test_what_cannot_be_stored_stays_in_memory(stored):
    assert _load(stored).unusual() == {"slice": slice(1, 2)}
    assert not list((stored.parent / "ref").glob("*.safetensors"))
    again = _fresh_process(stored)
    again.unusual()
    assert again.CALLS == ["unusual"]  # computed again: nothing was written


def test_a_damaged_file_is_computed_again_and_replaced(stored):
    expected = _load(stored).reference(3)
    [kept] = (stored.parent / "ref").glob("*.safetensors")
    kept.write_bytes(b"\x00not a safetensors file")
    module = _fresh_process(stored)
    assert torch.equal(module.reference(3)["w"], expected["w"]) and module.CALLS == [3]
    assert _fresh_process(stored).reference(3)["counts"][0] == 3  # the rewritten file reads back


def test_a_reference_leaves_the_global_random_streams_where_they_were(tmp_path):
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(STORED))
    cache.clear()
    module = _load(path)
    torch.manual_seed(1)
    np.random.seed(1)
    module.draws()  # draws from both global generators while computing
    after = torch.rand(1).item(), np.random.rand()
    torch.manual_seed(1)
    np.random.seed(1)
    assert (torch.rand(1).item(), np.random.rand()) == after  # as if it had never run


def test_processes_sharing_a_folder_compute_once(tmp_path):
    """Two grading processes asking at once: one computes while the other waits for it and reads it back."""
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(STORED).replace("CALLS.append(n)", "CALLS.append(n); _slow(n)") + textwrap.dedent("""
        def _slow(n):
            import time
            with open(__file__ + ".calls", "a") as fh:
                fh.write(f"{n}\\n")
            time.sleep(1.0)
    """))
    script = textwrap.dedent(f"""
        import importlib.util, json, sys
        from autograder.checks import cache
        cache.use_folder({str(tmp_path / 'ref')!r})
        spec = importlib.util.spec_from_file_location("c", {str(path)!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        print(json.dumps(m.reference(7)["w"].tolist()))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0] == outputs[1]
    assert (tmp_path / "conftest.py.calls").read_text().split() == ["7"]
