"""Refuse a hostile or oversized .xlsx workbook before openpyxl opens it.

openpyxl trusts the archive: it inflates a part whole into memory (1.2 GB took 63 s and
2.6 GB) and reads sizes from a sheet's own ``<dimension>``. ``check_workbook`` walks the zip
itself, inflating each part in small chunks and stopping at the first broken limit, so its
time and memory are bounded by ``ReadLimits`` and the upload, never by what the file claims.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import NoReturn

from openpyxl.utils.cell import range_boundaries

from matcher.errors import InputError, Problem
from matcher.limits import DEFAULT_LIMITS, ReadLimits

_CHUNK = 64 * 1024
# Bytes of one chunk kept in front of the next, so a match split between chunks is found:
# longer than the longest match of _DIMENSION.
_OVERLAP = 1024
_XML_SUFFIXES = (".xml", ".rels")
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature; name and extra-field lengths
# Bounded repeats keep every match shorter than _OVERLAP. The pattern opens with a literal,
# which re finds fast; the byte before it ("<", or ":" after a prefix) is checked apart.
_DIMENSION = re.compile(rb"dimension\s[^>]{0,512}?\bref\s{0,64}=\s{0,64}[\"']([^\"'<>]{1,64})[\"']")

# An opening tag; with a prefix only its attributed form, as ":c>" also ends "</x:c>".
_CELL_TAGS = (b"<c ", b"<c>", b":c ")
_RESAVE = "save the register alone in a new workbook, or as CSV UTF-8"
_REPAIR = "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8"
_DAMAGED = f"not a readable .xlsx workbook (the zip archive is damaged): {_REPAIR}"


def check_workbook(name: str, data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Raise InputError (one Problem for the whole file) unless the .xlsx archive is safe to open."""
    # Every central-directory entry starts with this signature, so the count bounds the
    # parts before zipfile builds an object for each of them.
    if data.count(b"PK\x01\x02") > limits.max_parts:
        _refuse(
            name, f"the workbook has more than {limits.max_parts:,} parts (the limit): {_RESAVE}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    # NotImplementedError: a part needs a newer zip version than Python reads.
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError):
        _refuse(name, _DAMAGED)
    if any(part.flag_bits & 0x1 for part in parts):
        _refuse(
            name, "the workbook is encrypted: save it as .xlsx without a password, or as CSV UTF-8"
        )
    if any(part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for part in parts):
        _refuse(name, f"the workbook is packed in a way Excel does not use: {_REPAIR}")
    if sum(part.file_size for part in parts) > limits.max_unpacked_bytes:
        _refuse(
            name,
            f"the workbook unpacks to more than {limits.max_unpacked_bytes:,} bytes (the limit): "
            f"{_RESAVE}",
        )
    # Parts whose packed bytes overlap unpack the same bytes many times over.
    if sum(part.compress_size for part in parts) > len(data):
        _refuse(name, _DAMAGED)
    view = memoryview(data)
    cells = 0
    for part in parts:
        cells = _check_part(name, part, view, limits, cells)


def _cells_in(window: bytes) -> int:
    """Cell elements (<c ...>, or with a namespace prefix <x:c ...>) in a piece of XML."""
    return sum(window.count(tag) for tag in _CELL_TAGS)


def _check_part(
    name: str, part: zipfile.ZipInfo, data: memoryview, limits: ReadLimits, cells: int
) -> int:
    """Inflate one part in chunks, refusing it as soon as it breaks a rule; the cells so far."""
    xml = part.filename.lower().endswith(_XML_SUFFIXES)
    size, tail = 0, b""
    for chunk in _unpacked(name, part, data):
        # The declared sizes sum to at most the cap, so this also holds the total to the cap.
        # zipfile would inflate such a part whole before cutting it to its declared size.
        size += len(chunk)
        if size > part.file_size:
            _refuse(
                name,
                f"the workbook is damaged (a part unpacks to more than its recorded size): {_REPAIR}",
            )
        if not xml:
            continue
        # Any encoding the XML parser accepts writes markup as ASCII bytes, NUL-padded in
        # UTF-16: dropping NULs lets one byte search cover them all. (translate, as
        # replace takes seconds on a chunk of NULs.)
        window = tail + (chunk.translate(None, b"\0") if b"\0" in chunk else chunk)
        # XML keywords are case-sensitive: <!doctype is a syntax error, not a declaration.
        if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
            _refuse(
                name,
                "the workbook contains an XML DOCTYPE or ENTITY declaration, which Excel never "
                f"writes: {_REPAIR}",
            )
        # Searched through the whole part, not its start: openpyxl accepts a <dimension>
        # anywhere before the end of the sheet's data, and a sheet may have any part name.
        for match in _DIMENSION.finditer(window):
            if window[match.start() - 1 : match.start()] in (b"<", b":"):
                _check_dimension(name, match.group(1), limits)
        # The cells a reader would hold, counted as they are, whatever the sheet declares:
        # a tag in the carried-over tail was counted with the window before.
        cells += _cells_in(window) - _cells_in(tail)
        if cells > limits.max_cells:
            _refuse(
                name,
                f"the workbook has more than {limits.max_cells:,} cells (the limit): {_RESAVE}",
            )
        tail = window[-_OVERLAP:]
    return cells


def _unpacked(name: str, part: zipfile.ZipInfo, data: memoryview) -> Iterator[bytes]:
    """The part's bytes in chunks of at most _CHUNK, however many its header claims."""
    offset = part.header_offset
    if not 0 <= offset <= len(data) - _LOCAL_HEADER.size:
        _refuse(name, _DAMAGED)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, offset)
    if signature != b"PK\x03\x04":
        _refuse(name, _DAMAGED)
    start = offset + _LOCAL_HEADER.size + name_length + extra_length
    packed = data[start : start + part.compress_size]
    if part.compress_type == zipfile.ZIP_STORED:
        for at in range(0, len(packed), _CHUNK):
            yield bytes(packed[at : at + _CHUNK])
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for at in range(0, len(packed), _CHUNK):
            pending: bytes | memoryview = packed[at : at + _CHUNK]
            while pending and not inflater.eof:
                yield inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
        # Output zlib still holds after the last input (the end of a long repeat).
        while not inflater.eof and (rest := inflater.decompress(b"", _CHUNK)):
            yield rest
    except zlib.error:
        _refuse(name, _DAMAGED)


def _check_dimension(name: str, ref: bytes, limits: ReadLimits) -> None:
    """Refuse a sheet whose declared size is over the limits; openpyxl pads rows out to it."""
    try:
        _, _, columns, rows = range_boundaries(ref.decode("ascii"))
    except ValueError:
        return  # not a cell range: openpyxl will fail on it and the reader says so
    # openpyxl reads from A1, so the last row and column are the counts it produces.
    rows, columns = rows or 0, columns or 0
    if rows > limits.max_rows:
        _refuse(
            name,
            f"a sheet says it has {rows:,} rows, more than {limits.max_rows:,} (the limit): {_RESAVE}",
        )
    if columns > limits.max_columns:
        _refuse(
            name,
            f"a sheet says it has {columns:,} columns, more than {limits.max_columns:,} "
            f"(the limit): {_RESAVE}",
        )
    if rows * columns > limits.max_cells:
        _refuse(
            name,
            f"a sheet says it has {rows * columns:,} cells ({rows:,} rows by {columns:,} "
            f"columns), more than {limits.max_cells:,} (the limit): {_RESAVE}",
        )


def _refuse(name: str, message: str) -> NoReturn:
    raise InputError([Problem(name, None, None, None, message)])
