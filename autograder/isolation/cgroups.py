"""Control groups that cap what the workers of one grading process may use together (root only)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path


class WorkerCgroup:
    """Control groups that cap what the workers of one grading process may use together.

    - pids: how many processes and threads (RLIMIT_NPROC does not bind root);
    - cpu: at most one core, so a fork bomb or a busy loop slows its own grading,
      not the submissions graded beside it.
    Made where the machine allows it (root, cgroup v1 controllers or a writable
    cgroup v2 tree); removed, with anything left in it, when closed. Student code
    runs as an unprivileged user and cannot move itself out (cgroup.procs belongs to root).
    """

    V1 = {"pids": "/sys/fs/cgroup/pids", "cpu": "/sys/fs/cgroup/cpu"}
    V2 = "/sys/fs/cgroup"

    def __init__(self, paths: list[Path]):
        self.paths = paths

    @classmethod
    def create(cls, max_tasks: int, cpus: float = 1.0) -> "WorkerCgroup | None":
        if os.geteuid() != 0:
            return None
        cls._remove_stale()
        name = f"autograder-{os.getpid()}-{id(object()):x}"
        made: list[Path] = []
        try:
            if (Path(cls.V1["pids"]) / "cgroup.procs").exists():
                pids = Path(cls.V1["pids"]) / name
                pids.mkdir()
                made.append(pids)
                (pids / "pids.max").write_text(str(max_tasks))
                cpu_root = Path(cls.V1["cpu"])
                if (cpu_root / "cpu.cfs_quota_us").exists():
                    cpu = cpu_root / name
                    cpu.mkdir()
                    made.append(cpu)
                    (cpu / "cpu.cfs_period_us").write_text("100000")
                    (cpu / "cpu.cfs_quota_us").write_text(str(int(100000 * cpus)))
            elif "pids" in (Path(cls.V2) / "cgroup.subtree_control").read_text().split():
                group = Path(cls.V2) / name
                group.mkdir()
                made.append(group)
                (group / "pids.max").write_text(str(max_tasks))
                if (group / "cpu.max").exists():
                    (group / "cpu.max").write_text(f"{int(100000 * cpus)} 100000")
            else:
                return None
        except OSError:
            cls(made).remove()
            return None
        return cls(made)

    @classmethod
    def _remove_stale(cls):
        """Groups left by a grader that was killed before it could clean up (its pid is gone)."""
        for root in (*cls.V1.values(), cls.V2):
            for path in Path(root).glob("autograder-*"):
                pid = path.name.split("-")[1]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    cls([path]).remove()

    def join(self):
        """Move the calling process in (between fork and exec, before it drops its privileges)."""
        for path in self.paths:
            with open(path / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def kill_all(self, keep: set[int] = frozenset()):
        """SIGKILL every task in the group but those in ``keep``."""
        for path in self.paths:
            try:
                pids = (path / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                if pid.isdigit() and int(pid) not in keep:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def remove(self):
        self.kill_all()
        for path in reversed(self.paths):
            for _ in range(50):  # the killed tasks take a moment to leave
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break  # removed already (by the grading process that used it)
                except OSError:
                    time.sleep(0.02)
