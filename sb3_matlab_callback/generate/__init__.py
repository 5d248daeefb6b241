"""Generated MATLAB code for Simulink and MATLAB Coder (see docs/simulink.md).

:func:`generate_matlab_function` writes a bundle's deterministic policy as one
straight-line ``%#codegen`` function that takes its weights as ``params``;
:func:`bundle_fingerprint` is the architecture fingerprint recorded in each bundle.
"""

from __future__ import annotations

from typing import Any

from .matlab_function import (
    default_name,
    function_name,
    generate_matlab_function,
    load_program_spec,
    render_matlab_function,
)
from .spec import architecture_fingerprint, program_spec


def bundle_fingerprint(fields: dict[str, Any]) -> str:
    """Return the architecture fingerprint of a bundle's program fields (``program_fields``)."""
    return architecture_fingerprint(program_spec(fields))


__all__ = [
    "architecture_fingerprint",
    "bundle_fingerprint",
    "default_name",
    "function_name",
    "generate_matlab_function",
    "load_program_spec",
    "render_matlab_function",
]
