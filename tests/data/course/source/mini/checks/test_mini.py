import numpy as np

from autograder.checks import expect_close, expect_ndarray, grade


@grade("double_test", weight=2)
def test_double_values(student):
    out = student.call("double", np.array([1.0, -2.5, 4.0]))
    expect_ndarray(out, "double(x)")
    expect_close(out, [2.0, -5.0, 8.0], what="double(x)")


@grade("double_test")
def test_double_accepts_lists(student):
    expect_close(student.call("double", [1, 2]), [2.0, 4.0], what="double([1, 2])")


@grade("scale_test")
def test_scale_does_not_mutate(student):
    x = student.put(np.arange(3.0))
    out = student.call("scale_inplace_free", x, 2.0)
    expect_close(out, [0.0, 2.0, 4.0], what="scale_inplace_free(x, 2)")
    expect_close(student.get(x), [0.0, 1.0, 2.0], what="x (girdi)", hint="Girdiyi değiştirmeyin; yeni bir dizi döndürün.")
