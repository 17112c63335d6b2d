"""Data fixtures for the chapter 2 hidden checks (trusted process only).

The helpers the checks use (models built in the worker, layouts, device runs, source reading) live in
``autograder.checks``; the ``student`` fixture comes from the grader. Chapter 2's data is made inside each check
from fixed seeds, so this file has nothing more to offer.
"""
