"""``initlint server``: initlint as a language server (LSP over stdio), for editors.

The pieces, in the order a buffer goes through them: ``settings`` (the file's
configuration, as ``initlint check`` resolves it), ``analysis`` (static
findings of the buffer, full findings of the saved file), ``convert`` (findings
as LSP diagnostics, quick fixes and positions), ``hover`` (a rule's doc for a
flagged range) and ``app`` (the pygls server: which request runs what, and
when results still apply). Only this package imports pygls: ``initlint check``
never does.
"""

from __future__ import annotations

from .app import serve

__all__ = ["serve"]
