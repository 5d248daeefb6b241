"""Exceptions raised by sb3_matlab_callback.

Every error names the offending thing (algorithm, policy, module, space, activation,
file) and, where there is a choice, lists what is supported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ExportError(Exception):
    """Base class of every error raised by this package."""


class UnsupportedError(ExportError, TypeError):
    """The model uses an algorithm, policy, module, space or activation we cannot export."""


class BundleError(ExportError, ValueError):
    """A bundle file is missing, unreadable or not a valid bundle."""


class ManifestError(ExportError, ValueError):
    """A manifest is unreadable, corrupt or breaks one of its rules."""


class ExportFolderError(ExportError, OSError):
    """The export folder cannot be used (unwritable, locked by another writer, ...)."""


class NonFiniteError(BundleError):
    """A weight, a ``VecNormalize`` statistic or a reference action is NaN or infinite.

    MATLAB's ``max``/``min`` drop NaN, so such a bundle could give plausible actions
    where SB3 gives NaN: it is never written.
    """


def unsupported(kind: str, name: str, supported: Iterable[str], hint: str = "") -> UnsupportedError:
    """Build an :class:`UnsupportedError` that names ``name`` and lists what is supported.

    :param kind: what ``name`` is, e.g. ``"algorithm"`` or ``"activation"``.
    :param name: the offending name.
    :param supported: the names that are supported.
    :param hint: an extra sentence, e.g. how to register an extension.
    :return: the error, ready to raise.
    """
    choices = sorted(set(supported))
    message = f"Unsupported {kind} {name!r}."
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    if close:
        message += f" Did you mean {' or '.join(repr(c) for c in close)}?"
    message += f" Supported {kind}s: {', '.join(choices)}."
    if hint:
        message += f" {hint}"
    return UnsupportedError(message)


class ExportWarning(UserWarning):
    """A background export failed and ``on_error="warn"`` let training continue."""
