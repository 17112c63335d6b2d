"""Code that runs INSIDE the sandbox, next to student code: nothing here is trusted.

- :mod:`.worker`: runs one notebook's cells and answers the trusted side's requests;
- :mod:`.template`: the warm template that imports torch once and forks a worker per notebook;
- :mod:`.contexts`: what a request may ask a call to be wrapped in (no_grad, device simulation, op counts).

Student code can patch any of it; all it gains is to answer differently, and every answer is judged in the
trusted process. The trusted side never imports these modules for their behaviour, only
:mod:`autograder.wire` for the shared names.
"""
