"""Names both sides of the boundary agree on."""

#: Global (in the student's namespace) where the ``count_ops`` context leaves its counts.
OP_COUNTS_GLOBAL = "__autograder_op_counts__"

#: Global where the ``watch_grad`` context leaves how many torch calls recorded an autograd graph.
GRAPH_COUNTS_GLOBAL = "__autograder_graph_counts__"

#: Accelerator availability (cuda, mps) pretended by each ``available:*`` context.
AVAILABILITY = {
    "available:cuda+mps": (True, True),
    "available:cuda": (True, False),
    "available:mps": (False, True),
    "available:none": (False, False),
}
