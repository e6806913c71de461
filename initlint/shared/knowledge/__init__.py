"""What initlint knows about torch, as tables both analysis modes read.

Torch-free: the static mode reads these tables from source, the full mode
resolves runtime objects through them, and ``tests/test_knowledge.py`` checks
them against the installed torch (every ``torch.nn.init`` function and every
``torch.nn`` module class is described here or listed as unsupported, with the
signatures torch has), so a new torch release shows up as a failing test.

- ``params``: a function's parameters as a table row (names, defaults, kinds).
- ``values``: ``torch.nn.init`` functions, in-place tensor writes, tensor factories.
- ``modules``: ``torch.nn`` classes: role, layer kind, weight, fans, constructor.
- Activations are named in ``shared.activations``; ``modules`` refers to it.
"""
