"""Walk a MAT v5 file's element tree before any MAT reader decodes it.

scipy's MAT reader trusts the sizes inside a file: a damaged or crafted bundle can make
it read out of bounds and crash the process (a segfault, not an exception). Before
``load_bundle`` hands a file to scipy, :func:`check_mat5` checks every element's tag and
size against its parent, every array's class and dimensions against its data, and
bounds the depth, the element count and what a compressed element inflates to. Anything
inconsistent raises :class:`BundleError`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError

# Data types (mi*) and their item sizes; 14 is miMATRIX, 15 miCOMPRESSED.
_ITEM_SIZE = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
# Array classes (mx*): cell, struct, char, then the numeric classes. Objects (3),
# sparse (5), function handles (16) and opaque objects (17) are refused.
_MX_CELL, _MX_STRUCT, _MX_CHAR = 1, 2, 4
_MX_NUMERIC = frozenset(range(6, 16))
_NUMERIC_ITEM = {6: 8, 7: 4, 8: 1, 9: 1, 10: 2, 11: 2, 12: 4, 13: 4, 14: 8, 15: 8}
MAX_DEPTH = 32
MAX_ELEMENTS = 1_000_000
#: The most a compressed element may inflate to.
MAX_INFLATED = 4 * 2**30


@dataclass
class _Budget:
    elements: int = 0


def check_mat5(path: Path) -> None:
    """Raise :class:`BundleError` unless ``path`` is a well-formed little-endian MAT v5 file.

    :param path: the file.
    """
    data = path.read_bytes()
    if len(data) < 128 or data[126:128] != b"IM" or data[124:126] != b"\x00\x01":
        raise _error(path, "it is not a little-endian MAT v5 file (bad header)")
    _walk(memoryview(data)[128:], path, 0, _Budget(), top=True)


def _walk(buffer: memoryview, path: Path, depth: int, budget: _Budget, top: bool = False) -> None:
    """Check the top-level elements in ``buffer`` (one, inside a compressed element)."""
    offset = 0
    while offset < len(buffer):
        kind, body, offset = _element(buffer, offset, path)
        budget.elements += 1
        if budget.elements > MAX_ELEMENTS:
            raise _error(path, f"it has more than {MAX_ELEMENTS} elements")
        if kind == _MI_COMPRESSED and top:
            _walk(memoryview(_inflate(body, path)), path, depth, budget, top=False)
        elif kind == _MI_MATRIX:
            _matrix(body, path, depth + 1, budget)
        else:
            raise _error(path, f"a top-level element has data type {kind}, not a matrix")
        if not top and offset < len(buffer):
            raise _error(path, "a compressed element holds more than one variable")


def _element(buffer: memoryview, offset: int, path: Path) -> tuple[int, memoryview, int]:
    """Return ``(data type, data, offset of the next element)`` of the element at ``offset``."""
    if offset + 8 > len(buffer):
        raise _error(path, "an element tag is cut off")
    first, second = struct.unpack_from("<II", buffer, offset)
    if first >> 16:  # small data element: type and size in the first four bytes
        size = first >> 16
        if size > 4:
            raise _error(path, f"a small data element claims {size} bytes")
        return first & 0xFFFF, buffer[offset + 4:offset + 4 + size], offset + 8
    start, end = offset + 8, offset + 8 + second
    if end > len(buffer):
        raise _error(path, f"an element of {second} bytes runs past its parent")
    if first == _MI_COMPRESSED:  # compressed elements are not padded
        return first, buffer[start:end], end
    return first, buffer[start:end], min(start + _padded(second), len(buffer))


def _padded(size: int) -> int:
    return (size + 7) // 8 * 8


def _inflate(body: memoryview, path: Path) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(bytes(body), MAX_INFLATED)
    except zlib.error as exc:
        raise _error(path, f"a compressed element is damaged ({exc})") from exc
    if inflater.unconsumed_tail:
        raise _error(path, f"a compressed element inflates to more than {MAX_INFLATED} bytes")
    return data


def _children(body: memoryview, path: Path) -> list[tuple[int, memoryview]]:
    """Split a matrix's body into its sub-elements ``(data type, data)``."""
    out, offset = [], 0
    while offset < len(body):
        kind, data, offset = _element(body, offset, path)
        out.append((kind, data))
    return out


def _matrix(body: memoryview, path: Path, depth: int, budget: _Budget) -> None:
    """Check one miMATRIX element: flags, dimensions, name, then its class's data."""
    if depth > MAX_DEPTH:
        raise _error(path, f"arrays nest more than {MAX_DEPTH} levels deep")
    if len(body) == 0:  # an empty matrix element (scipy writes these for empty cells)
        return
    parts = _children(body, path)
    if len(parts) < 3 or parts[0][0] != _MI_UINT32 or len(parts[0][1]) != 8:
        raise _error(path, "an array lacks its flags, dimensions or name")
    flags = struct.unpack_from("<I", parts[0][1])[0]
    mx_class, complex_flag = flags & 0xFF, flags & 0x0800
    if parts[1][0] != _MI_INT32 or len(parts[1][1]) % 4 or len(parts[1][1]) < 8:
        raise _error(path, "an array's dimensions are not at least two int32 values")
    dims = struct.unpack_from(f"<{len(parts[1][1]) // 4}i", parts[1][1])
    if any(d < 0 for d in dims):
        raise _error(path, f"an array has negative dimensions {dims}")
    count = 1
    for d in dims:
        count *= d
    if mx_class in _MX_NUMERIC:
        _numeric(parts[3:], count, _NUMERIC_ITEM[mx_class], bool(complex_flag), path)
    elif mx_class == _MX_CHAR:
        _char(parts[3:], count, path)
    elif mx_class == _MX_CELL:
        _nested(parts[3:], count, path, depth, budget)
    elif mx_class == _MX_STRUCT:
        _struct(parts[3:], count, path, depth, budget)
    else:
        raise _error(path, f"an array has MATLAB class code {mx_class} (objects, sparse matrices "
                     "and function handles have no place in a bundle)")


def _numeric(parts: list[tuple[int, memoryview]], count: int, item: int, is_complex: bool,
             path: Path) -> None:
    if len(parts) != (2 if is_complex else 1):
        raise _error(path, "a numeric array has the wrong number of data parts")
    for kind, data in parts:
        if kind not in _ITEM_SIZE or len(data) != count * _ITEM_SIZE[kind]:
            raise _error(path, f"a numeric array of {count} elements holds {len(data)} bytes of "
                         f"data type {kind}")
    del item  # the stored type may be narrower than the class (MATLAB compresses integers)


def _char(parts: list[tuple[int, memoryview]], count: int, path: Path) -> None:
    if len(parts) != 1 or parts[0][0] not in _ITEM_SIZE:
        raise _error(path, "a char array has the wrong data part")
    kind, data = parts[0]
    if kind in (16, 17, 18):  # UTF-8/16/32: code units, not characters
        return
    if len(data) != count * _ITEM_SIZE[kind]:
        raise _error(path, f"a char array of {count} characters holds {len(data)} bytes")


def _nested(parts: list[tuple[int, memoryview]], count: int, path: Path, depth: int,
            budget: _Budget) -> None:
    if len(parts) != count or any(kind != _MI_MATRIX for kind, _ in parts):
        raise _error(path, f"a cell of {count} elements holds {len(parts)} arrays")
    for _, data in parts:
        budget.elements += 1
        if budget.elements > MAX_ELEMENTS:
            raise _error(path, f"it has more than {MAX_ELEMENTS} elements")
        _matrix(data, path, depth + 1, budget)


def _struct(parts: list[tuple[int, memoryview]], count: int, path: Path, depth: int,
            budget: _Budget) -> None:
    if len(parts) < 2 or parts[0][0] != _MI_INT32 or len(parts[0][1]) != 4 or parts[1][0] != _MI_INT8:
        raise _error(path, "a struct lacks its field-name length or names")
    width = struct.unpack_from("<i", parts[0][1])[0]
    names = len(parts[1][1])
    if width <= 0 or width > 4096 or names % width:
        raise _error(path, f"a struct's field names ({names} bytes) do not fit their width {width}")
    _nested(parts[2:], count * (names // width), path, depth, budget)


def _error(path: Path, what: str) -> BundleError:
    return BundleError(f"Bundle file {str(path)!r} is corrupt or not a MAT file: {what}.")


__all__ = ["check_mat5"]
