"""Resource limits of one worker, and of what the trusted side accepts from it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker. Times in seconds, sizes in bytes."""

    memory: int = 4 * 1024**3  # private data (heap and anonymous mappings)
    cpu_time: int = 900  # CPU seconds for the worker's whole life
    open_files: int = 256
    processes: int = 256  # processes and threads a worker may add
    file_size: int = 256 * 1024**2
    cell_timeout: float = 60.0  # one cell, or one request from a check
    submission_timeout: float = 600.0  # everything of one notebook
    # What one reply from a worker may carry (arrays and tensors, in bytes). The course's largest honest reply is
    # a batch of digit images (~0.5 MB); anything far beyond it fails that submission instead of the grader's memory.
    reply_bytes: int = 64 * 1024**2

    @property
    def check_timeout(self) -> float:
        """Wall-clock bound of one check body in the trusted process (its own work and the calls it makes)."""
        return 3 * self.cell_timeout + 30.0
