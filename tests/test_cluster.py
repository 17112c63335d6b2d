"""Grading on a Dask cluster gives the same grades as grading locally."""
import pytest

from conftest import autograder


@pytest.mark.slow
def test_grade_on_a_local_dask_cluster(mini_course, tmp_path):
    distributed = pytest.importorskip("distributed")
    import shutil

    subs = tmp_path / "subs"
    for sid, src in [("ayse", "solutions"), ("bora", "assignments"), ("cem", "solutions")]:
        (subs / sid).mkdir(parents=True)
        shutil.copy(mini_course / src / "mini" / "mini.ipynb", subs / sid / "mini.ipynb")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        r = autograder("grade", "mini", subs, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
                       cwd=mini_course)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Dask cluster" in r.stderr
    local = autograder("grade", "mini", subs, "--out", tmp_path / "local", "--quiet", cwd=mini_course)
    assert local.returncode == 0, local.stderr
    assert (tmp_path / "dask" / "grades.csv").read_text() == (tmp_path / "local" / "grades.csv").read_text()
    assert "ayse,mini,3.00,,0.00,3.00,4.00,ok" in (tmp_path / "dask" / "grades.csv").read_text()
