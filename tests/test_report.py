"""The class report: its content, and its plots as a real headless browser (Chromium) shows them."""
import re
import shutil
import subprocess

import pytest

from autograder.assignment import Assignment, Course
from autograder.records import make_row
from autograder.report import FULL_COLOR, MEAN_COLOR, NOT_ATTEMPTED, render_report, write_report
from test_lms_exports import result

LONG = ("double(x): beklenen değerlerle uyuşmuyor; " + "çıktının her öğesi girdinin iki katı olmalı ve " * 8
        + "dizinin şekli korunmalı.")


@pytest.fixture
def report_rows():
    rows = [make_row(result(f"s{i}", {"lms": "moodle", "name": f"Öğrenci {i}", "id": str(100 + i)}))
            for i in range(3)]
    rows += [make_row(result("stub1", {}, double=0.0, scale=0.0)),
             make_row(result("stub2", {}, double=0.0, scale=0.0)),
             make_row(result("wrong", {"lms": "folders", "name": "<script>alert(1)</script>"}, double=1.0,
                             message=LONG)),
             make_row(result("broken", {}, status="error"))]
    return rows


def test_report_content(mini_course, report_rows):
    mini = Assignment.load(Course(mini_course), "mini")
    page = render_report(mini, report_rows, skipped=["notlar.txt: not a submission"])
    assert "mini — sınıf raporu (7 öğrenci)" in page
    assert page.count('src="data:image/png;base64,') == 3  # histogram, questions, notebooks: embedded
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The most common diagnoses, each with how many students got it; a stub's NotImplementedError is "not attempted".
    double = page[page.index("<code>double_test</code> <small"):page.index("<code>scale_test</code> <small")]
    assert re.search(r"<b>2 öğrenci</b> \(%33\):\s*" + re.escape(NOT_ATTEMPTED), double)
    assert "<b>1 öğrenci</b> (%17)" in double and LONG in double  # the whole message, and a summary cut at a word
    summary = re.search(r"<summary>(.*?)</summary>", double).group(1)
    assert summary.endswith(" …") and LONG.startswith(summary[:-2]) and summary[-3] != " "
    assert LONG[len(summary) - 2] == " "  # cut where a word ends
    # Every student links to their feedback page; the failed grading is listed, left out of the statistics.
    for sid in ["s0", "s1", "s2", "stub1", "stub2", "wrong", "broken"]:
        assert f'href="feedback/{sid}.html"' in page
    assert "Notlandırılamayan" in page and "broken" in page
    assert "Öğrenci 1</a> <small class=\"muted\">(s1)</small>" in page
    assert "notlar.txt: not a submission" in page


def _browser():
    """A headless Chromium that starts here (a snap wrapper without snapd does not count)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            if subprocess.run([path, "--version"], capture_output=True, timeout=60).returncode == 0:
                return path
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


BROWSER = _browser()


@pytest.mark.skipif(BROWSER is None, reason="no working Chromium on this machine (Debian: apt-get install chromium)")
def test_report_plots_show_in_a_headless_browser(mini_course, report_rows, tmp_path):
    from matplotlib import image

    mini = Assignment.load(Course(mini_course), "mini")
    page = write_report(tmp_path / "report.html", mini, report_rows)
    shot = tmp_path / "shot.png"
    r = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert shot.exists(), r.stderr[-2000:]
    pixels = image.imread(shot)[..., :3]

    def share(color):  # fraction of the screenshot painted in a plot's bar color
        rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        return float(((abs(pixels - rgb) < 0.04).all(axis=-1)).mean())

    # The page's own styles use neither color: only the decoded, rendered plots paint them.
    assert share(MEAN_COLOR) > 0.005 and share(FULL_COLOR) > 0.002, (share(MEAN_COLOR), share(FULL_COLOR))
