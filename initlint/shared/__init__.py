"""What both analysis modes share, torch-free: the facts they produce and what they know.

``facts`` (the frozen records handed to the rules), ``graph`` (dataflow and
the walks that pair layers with activations), ``writes`` (init writes folded
into a parameter's state), ``theory`` (gains, fans, expected std),
``activations`` (activation names as torch spells them).
"""
