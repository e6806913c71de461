"""What both analysis modes share, torch-free: the facts they produce and what they know.

``facts`` (the frozen records handed to the rules) and ``layer_facts`` (their
one builder), ``graph`` (dataflow and the walks that pair layers with
activations), ``writes`` (init writes folded into a parameter's state),
``theory`` (gains, fans, expected std), ``knowledge`` (torch's init functions,
tensor writes and module classes, as tables), ``activations`` (activation
names as torch spells them), ``positions`` (lines and columns as Python counts
them), ``scripts`` (what of a script builds its models).
"""
