"""Autofix: rules say what the right init is (intent), plan turns that into edits, apply writes them."""
