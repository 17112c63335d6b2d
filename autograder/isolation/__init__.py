"""The trusted side of the sandbox: who student code runs as, what it can see, and how it is started.

- :mod:`.policy`: the isolation tiers (bubblewrap, user namespaces, process limits) and the unprivileged
  identity student code runs as when the grader is root;
- :mod:`.limits`: resource limits of a worker and of what the grader accepts from it;
- :mod:`.cgroups`: the control group that caps a grading process's workers (root);
- :mod:`.launchers`: starting a worker, or a warm template that forks one per notebook.
"""
from autograder.isolation.launchers import FreshLauncher, TemplateError, TemplateLauncher, spawn_worker
from autograder.isolation.limits import Limits
from autograder.isolation.policy import Bubblewrap, Isolation, UserNamespaces, detect_isolation

__all__ = ["Bubblewrap", "FreshLauncher", "Isolation", "Limits", "TemplateError", "TemplateLauncher",
           "UserNamespaces", "detect_isolation", "spawn_worker"]
