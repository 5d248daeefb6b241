"""Translate: a live SB3 model becomes a :class:`~.program.Program` (inputs, ops, output)."""
