"""Dynamic analysis: import the user's files and build their models, in contained processes.

``load`` runs each file in a fresh runner process (``processes`` contains it,
``userimport`` compiles project files from hashed bytes); inside it
``analyze`` builds each model while ``record`` sees every init write, and
``trace`` (with ``ops``, what each torch call is) pairs layers with
activations. Everything torch stays in this package.
"""
