"""Reading a class from each LMS's download layout (tests/data/lms/layouts.toml), without grading it."""
import shutil
import zipfile
from datetime import datetime

import pytest

from autograder.lms.imports import detect
from autograder.submissions import SubmissionsError, find_class, safe_id, slug
from lms_layouts import write_layout, zip_folder


def found(path, tmp_path, fmt="auto"):
    return find_class(path, "mini", tmp_path / "unpack", fmt)


def by_id(discovery):
    return {s.student_id: s for s in discovery.submissions}


def test_names_become_safe_ids_and_keep_their_display_name():
    assert slug("Çağrı Şahin-Öztürk") == "cagri-sahin-ozturk"
    assert safe_id("Ali Yılmaz", "12345") == "ali-yilmaz-12345"
    assert safe_id("李小龙", "7") == "student-7"
    assert safe_id("李小龙").startswith("student-") and safe_id("李小龙") == safe_id("李小龙")


def test_canvas_flat_download(mini_course, tmp_path):
    folder = write_layout("canvas", mini_course, tmp_path / "canvas")
    d = found(folder, tmp_path)
    assert d.format == "canvas"
    subs = by_id(d)
    assert sorted(subs) == ["anon-x7k2p", "ozturkayse-12346", "yilmazali-12345"]
    ali = subs["yilmazali-12345"]
    assert ali.identity == {"lms": "canvas", "name": "yılmazali", "id": "12345", "late": False, "anonymous": False}
    assert [f.name for f in ali.files] == ["mini.ipynb"]  # Canvas's prefix removed
    late = subs["ozturkayse-12346"]
    assert late.identity["late"] and any("LATE" in n for n in late.notes)
    assert [f.name for f in late.files] == ["mini-1.ipynb"]
    assert subs["anon-x7k2p"].identity["anonymous"] and subs["anon-x7k2p"].identity["late"]
    assert all(s.submitted_at is None for s in d.submissions)  # a Canvas download carries no times
    assert sorted(line.split(":")[0] for line in d.skipped) == ["kayaveli_12347_text.html", "notlar.txt"]


def test_moodle_folders_with_unicode_names_and_spaces(mini_course, tmp_path):
    folder = write_layout("moodle", mini_course, tmp_path / "moodle")
    d = found(folder, tmp_path)
    assert d.format == "moodle"
    subs = by_id(d)
    assert sorted(subs) == ["ali-yilmaz-12345", "ayse-ozturk-12346", "cagri-sahin-12348", "veli-kaya-12347"]
    assert subs["ali-yilmaz-12345"].identity == {"lms": "moodle", "name": "Ali Yılmaz", "id": "12345", "blind": False}
    assert [f.name for f in subs["cagri-sahin-12348"].files] == ["mini.ipynb"]  # the flat layout
    assert [f.name for f in subs["veli-kaya-12347"].files] == ["onlinetext.html"]  # kept: told why not graded
    assert subs["ali-yilmaz-12345"].submitted_source == "mtime"
    assert [line.split(":")[0] for line in d.skipped] == ["readme.txt"]


def test_moodle_blind_marking(mini_course, tmp_path):
    folder = tmp_path / "blind" / "Participant_9876_assignsubmission_file"
    folder.mkdir(parents=True)
    shutil.copy(mini_course / "solutions" / "mini" / "mini.ipynb", folder)
    sub = found(tmp_path / "blind", tmp_path).submissions[0]
    assert (sub.student_id, sub.identity["name"], sub.identity["blind"]) == ("participant-9876", "Participant 9876",
                                                                            True)


def test_gradescope_export_zip(mini_course, tmp_path):
    folder = write_layout("gradescope", mini_course, tmp_path / "gs")
    d = found(zip_folder(folder, tmp_path / "export.zip"), tmp_path)
    assert d.format == "gradescope"
    subs = by_id(d)
    assert sorted(subs) == ["ali-yilmaz-20231234", "ayse-ozturk-502"]
    ali = subs["ali-yilmaz-20231234"]
    assert (ali.identity["submission"], ali.identity["sid"], ali.identity["email"]) == (
        "submission_501", "20231234", "ali@example.edu")
    assert (ali.submitted_at, ali.submitted_source) == (datetime(2026, 12, 1, 17, 14, 3, 123456),
                                                        "submission_metadata.yml")
    group = subs["ayse-ozturk-502"]
    assert group.identity["name"] == "Ayşe Öztürk, Can Öz" and len(group.identity["submitters"]) == 2
    assert [f.name for f in group.files] == ["mini.ipynb"]  # found in a subfolder
    assert d.skipped == ["submission_503: listed in submission_metadata.yml but its folder is missing"]


def test_gradescope_metadata_with_ruby_tags(tmp_path):
    root = tmp_path / "gs"
    (root / "submission_9").mkdir(parents=True)
    (root / "submission_9" / "a.ipynb").write_text("{}")
    (root / "submission_metadata.yml").write_text(
        "submission_9: !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n"
        "  :submitters:\n  - !ruby/object:Submitter\n    :name: Ece\n    :sid: '42'\n")
    sub = found(root, tmp_path).submissions[0]
    assert (sub.student_id, sub.identity["name"]) == ("ece-42", "Ece")


def test_zip_names_without_the_utf8_flag_are_read_as_utf8(mini_course, tmp_path):
    folder = write_layout("moodle", mini_course, tmp_path / "moodle")
    archive = zip_folder(folder, tmp_path / "moodle.zip", utf8_flag=False)
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(archive).infolist())
    subs = by_id(found(archive, tmp_path))
    assert subs["ali-yilmaz-12345"].identity["name"] == "Ali Yılmaz"


def test_plain_folders_with_a_space_are_graded_under_a_derived_id(tmp_path):
    root = tmp_path / "subs"
    for name in ["Ali Yılmaz", "ali-yilmaz", "ayşe", "!!!"]:
        (root / name).mkdir(parents=True)
        (root / name / "mini.ipynb").write_text("{}")
    (root / "stray.ipynb").write_text("{}")
    d = found(root, tmp_path)
    assert d.format == "folders"
    names = {s.student_id: s.identity["name"] for s in d.submissions}
    # a valid id is kept as it is; a derived one that collides gets a suffix
    assert names["ali-yilmaz"] == "ali-yilmaz" and names["ali-yilmaz-2"] == "Ali Yılmaz"
    assert names["ayşe"] == "ayşe" and any(sid.startswith("student-") for sid in names)
    assert d.skipped == ["stray.ipynb: a file outside any student folder (expected <student>/<notebook>.ipynb)"]


def test_detect_nbgrader_and_forced_formats(tmp_path):
    root = tmp_path / "submitted"
    (root / "s1" / "mini").mkdir(parents=True)
    (root / "s1" / "mini" / "mini.ipynb").write_text("{}")
    assert detect(root, "mini") == "nbgrader"
    # Forcing another layout reports every entry it cannot use and finds nobody: one clear error.
    with pytest.raises(SubmissionsError, match="no submissions found in the canvas layout"):
        found(root, tmp_path, fmt="canvas")


def test_a_broken_entry_in_a_zip_costs_only_that_entry(mini_course, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(mini_course / "solutions" / "mini" / "mini.ipynb", "ali/mini.ipynb")
        zf.writestr("veli/mini.ipynb", b"v" * 5000)
    data = bytearray(archive.read_bytes())
    start = data.index(b"v" * 5000)
    data[start + 100:start + 150] = b"w" * 50  # veli's bytes no longer match their CRC
    archive.write_bytes(bytes(data))
    d = found(archive, tmp_path)
    assert "ali" in by_id(d)
    assert any(line.startswith("veli/mini.ipynb: could not be unpacked") for line in d.skipped)
