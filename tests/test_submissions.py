import zipfile

import pytest

from autograder.submissions import SubmissionsError, discover


def make(tmp_path, layout):
    for rel, text in layout.items():
        p = tmp_path / "subs" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path / "subs"


def test_both_layouts(tmp_path):
    root = make(tmp_path, {"ali/a.ipynb": "{}", "veli/hw1/a.ipynb": "{}", "veli/hw1/b.ipynb": "{}",
                           "__MACOSX/x.ipynb": "", ".hidden/x.ipynb": ""})
    subs = discover(root, "hw1", tmp_path / "unpack")
    assert [(s.student_id, [f.name for f in s.files]) for s in subs] == [("ali", ["a.ipynb"]),
                                                                        ("veli", ["a.ipynb", "b.ipynb"])]


def test_non_notebook_files_are_kept_so_they_can_be_reported(tmp_path):
    root = make(tmp_path, {"ali/odev.pdf": "%PDF"})
    assert [f.name for f in discover(root, "hw1", tmp_path / "u")[0].files] == ["odev.pdf"]


def test_zip_with_a_top_folder(tmp_path):
    z = tmp_path / "class.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("class/ali/a.ipynb", "{}")
        zf.writestr("class/ayse/a.ipynb", "{}")
    subs = discover(z, "hw1", tmp_path / "unpack")
    assert [s.student_id for s in subs] == ["ali", "ayse"]


def test_zip_slip_is_refused(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../escaped.ipynb", "{}")
    with pytest.raises(SubmissionsError, match="outside"):
        discover(z, "hw1", tmp_path / "unpack")
    assert not (tmp_path / "escaped.ipynb").exists()


@pytest.mark.parametrize("bad", ["nothing-here", "file.txt"])
def test_unusable_arguments(tmp_path, bad):
    if bad == "file.txt":
        (tmp_path / bad).write_text("x")
    with pytest.raises(SubmissionsError):
        discover(tmp_path / bad, "hw1", tmp_path / "u")
