"""Learning management systems: reading the class they hand out, handing the grades back.

:mod:`autograder.lms.imports` reads Canvas, Moodle and Gradescope downloads (nbgrader's ``submitted/`` and plain
``<student>/<notebook>.ipynb`` folders are read by :mod:`autograder.submissions`); :mod:`autograder.lms.exports`
writes a Canvas gradebook import CSV, a Moodle grading worksheet, Gradescope ``results.json`` files and a
per-question CSV from a grading output folder.
"""
