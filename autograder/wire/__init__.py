"""What crosses the trust boundary, and nothing else.

- :mod:`.protocol`: requests and replies between the trusted grader and a worker (JSON + safetensors, never pickle);
- :mod:`.control`: the small JSON datagrams that drive the worker template;
- :mod:`.names`: names both sides agree on (context names, the op-count global).
"""
