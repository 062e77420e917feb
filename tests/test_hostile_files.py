"""Hostile and oversized .xlsx workbooks are refused before openpyxl opens them.

Every hostile file is built here by a helper (nothing binary is checked in). Each refusal is
asserted word for word, and measured: ``refusal`` fails a test whose check peaks above 50 MB
of Python memory, so a bomb that inflates to more than 1 GB must be refused while reading a
few chunks of it.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from openpyxl import Workbook

from matcher.errors import InputError
from matcher.limits import DEFAULT_LIMITS, ReadLimits
from matcher.xlsx_guard import _CHUNK, check_workbook

NAME = "mentees.xlsx"
MiB = 1 << 20
SHEET = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REPAIR = "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8"
RESAVE = "save the register alone in a new workbook, or as CSV UTF-8"
DAMAGED = f"not a readable .xlsx workbook (the zip archive is damaged): {REPAIR}"
LIED = f"the workbook is damaged (a part unpacks to more than its recorded size): {REPAIR}"
DTD = (
    "the workbook contains an XML DOCTYPE or ENTITY declaration, which Excel never writes: "
    f"{REPAIR}"
)
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
).replace("&lol0;", "&lol;")


# --- building workbooks ---------------------------------------------------------------------


@functools.cache
def normal_workbook() -> bytes:
    """A register as openpyxl saves it: 3,000 rows by 6 columns, text and numbers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "email", "practice", "sessions", "notes"])
    for i in range(3000):
        sheet.append([f"E{i}", f"Person {i}", f"p{i}@nhs.net", f"Practice {i % 40}", i % 7, ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def repacked(
    data: bytes,
    edit: Callable[[str, bytes], bytes] = lambda _, body: body,
    extra: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A copy of the archive ``data`` with each part passed through ``edit`` and ``extra`` added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", compression) as copy,
    ):
        for info in source.infolist():
            copy.writestr(info.filename, edit(info.filename, source.read(info)))
        for filename, body in (extra or {}).items():
            copy.writestr(filename, body)
    return out.getvalue()


def replaced(part: str, old: str, new: str) -> Callable[[str, bytes], bytes]:
    """An ``edit`` for ``repacked`` that replaces the first ``old`` in ``part`` by ``new``."""

    def edit(filename: str, body: bytes) -> bytes:
        if filename != part:
            return body
        assert old.encode() in body, f"{old!r} not in {part}"
        return body.replace(old.encode(), new.encode(), 1)

    return edit


@dataclass(frozen=True)
class Part:
    """One zip entry written by hand: ``packed`` as stored, ``size`` as declared."""

    name: str
    packed: bytes
    size: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def raw_zip(parts: list[Part], directory_copies: int = 1) -> bytes:
    """A zip archive whose headers say whatever ``parts`` say, true or not.

    ``directory_copies`` > 1 lists every part that many times, all pointing at the same bytes.
    """
    body, directory = bytearray(), bytearray()
    for part in parts:
        name = part.name.encode()
        # version needed, flags, method, time, date, CRC, packed size, unpacked size
        fields = struct.pack(
            "<5H3I", 20, part.flags, part.method, 0, 0x21, 0, len(part.packed), part.size
        )
        # name and extra lengths, comment length, disk, attributes, local header offset
        where = struct.pack("<5H2I", len(name), 0, 0, 0, 0, 0, len(body))
        directory += b"PK\x01\x02" + struct.pack("<H", 20) + fields + where + name
        body += b"PK\x03\x04" + fields + struct.pack("<2H", len(name), 0) + name + part.packed
    directory *= directory_copies
    count = len(parts) * directory_copies
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0)
    return bytes(body + directory + end)


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes (a whole number of MiB), built cheaply.

    After a full flush the compressor starts afresh, so every MiB packs to the same ~1 KB:
    one is packed and repeated.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    one = packer.compress(bytes(MiB)) + packer.flush(zlib.Z_FULL_FLUSH)
    return one * (size // MiB) + packer.flush()


def stored(name: str, body: bytes) -> Part:
    return Part(name, body, len(body), method=zipfile.ZIP_STORED)


@dataclass(frozen=True)
class Refusal:
    message: str
    peak_bytes: int
    seconds: float


def refusal(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> Refusal:
    """How ``check_workbook`` refuses ``data``, with its peak memory and CPU time."""
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(InputError) as caught:
            check_workbook(NAME, data, limits)
        seconds = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (NAME, None, None, None)
    assert peak < 50 * MiB, f"peak {peak:,} bytes"
    return Refusal(problem.message, peak, seconds)


# --- workbooks that pass --------------------------------------------------------------------


def test_normal_workbook_with_excel_extra_parts_passes() -> None:
    rng = random.Random(7)
    extra = {
        "docProps/custom.xml": b'<?xml version="1.0"?><Properties><!-- scheme --></Properties>',
        "customXml/item1.xml": b"<b:Sources><![CDATA[<!-- not markup -->]]></b:Sources>",
        "xl/printerSettings/printerSettings1.bin": rng.randbytes(4000),
        "xl/media/image1.png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(20_000),
        # Images are not read as XML: an SVG's own DOCTYPE is no threat to openpyxl.
        "xl/media/image2.svg": b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg/>',
        "xl/calcChain.xml": b'<calcChain><c r="E2" i="1"/></calcChain>',
        "xl/worksheets/_rels/sheet1.xml.rels": b"<Relationships/>",
    }
    data = repacked(normal_workbook(), extra=extra)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # The sheet spans several chunks, so matches across chunk boundaries are exercised.
        assert archive.getinfo(SHEET).file_size > 3 * _CHUNK
    check_workbook(NAME, data)


def test_uncompressed_workbook_passes() -> None:
    check_workbook(NAME, repacked(normal_workbook(), compression=zipfile.ZIP_STORED))


def test_workbook_exactly_at_the_limits_passes() -> None:
    # openpyxl declares A1:F3001 (a header and 3,000 rows): 3,001 x 6 = 18,006 cells.
    with zipfile.ZipFile(io.BytesIO(normal_workbook())) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        parts = len(archive.infolist())
    limits = ReadLimits(
        max_rows=3001, max_columns=6, max_cells=18_006, max_unpacked_bytes=unpacked, max_parts=parts
    )
    check_workbook(NAME, normal_workbook(), limits)


# --- archives that are not zips, or are broken ----------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"PK\x03\x04" + b"this is not really a zip archive" * 20, id="not-a-zip"),
        pytest.param(normal_workbook()[: len(normal_workbook()) // 2], id="cut-in-half"),
        pytest.param(raw_zip([Part(SHEET, b"\xff" * 100, 1000)]), id="deflate-data-is-garbage"),
    ],
)
def test_damaged_archive_is_refused(data: bytes) -> None:
    assert refusal(data).message == DAMAGED


def test_parts_sharing_their_packed_bytes_are_refused() -> None:
    # 50 entries list the same 1 KB of packed data: together they claim 50 KB of a 1 KB file,
    # the shape of the overlapping zip bomb.
    part = Part(SHEET, deflated_zeros(MiB), 100)
    assert refusal(raw_zip([part], directory_copies=50)).message == DAMAGED


# --- too many parts, too many bytes ---------------------------------------------------------


def test_more_parts_than_the_limit_are_refused() -> None:
    data = raw_zip([stored(f"xl/media/image{i}.png", b"x") for i in range(1001)])
    assert refusal(data).message == f"the workbook has more than 1,000 parts (the limit): {RESAVE}"


def test_declared_size_bomb_is_refused_without_inflating_it() -> None:
    # One sheet that truly inflates to 1.2 GB and says so: the sum of declared sizes is over
    # the 400,000,000-byte default, so nothing is inflated at all.
    gigabytes = 1200 * MiB
    data = raw_zip([Part(SHEET, deflated_zeros(gigabytes), gigabytes)])
    outcome = refusal(data)
    assert outcome.message == (
        f"the workbook unpacks to more than 400,000,000 bytes (the limit): {RESAVE}"
    )
    assert outcome.seconds < 0.2


def test_declared_sizes_are_summed_over_parts() -> None:
    # Four parts of 3 MB each are each under a 10 MB cap; together (12 MB) they are not.
    data = raw_zip([Part(f"xl/media/image{i}.png", b"\x03\x00", 3_000_000) for i in range(4)])
    limits = ReadLimits(max_unpacked_bytes=10_000_000)
    assert refusal(data, limits).message == (
        f"the workbook unpacks to more than 10,000,000 bytes (the limit): {RESAVE}"
    )


def test_lying_size_bomb_is_refused_after_one_chunk_with_default_limits() -> None:
    # Declared as 10,000 bytes, inflates to 1.2 GB: inflation stops at the first chunk that
    # goes past the declared size (zipfile, and so openpyxl, would inflate it all first).
    data = raw_zip([Part(SHEET, deflated_zeros(1200 * MiB), 10_000)])
    outcome = refusal(data)
    assert outcome.message == LIED
    assert outcome.seconds < 0.2
    assert outcome.peak_bytes < 2 * MiB


def test_lying_size_bomb_inflates_no_further_than_the_cap() -> None:
    # Declared 9 MB, under a 10 MB cap; it would inflate to 1.2 GB. The check stops just past
    # 9 MB, holding one 64 KB chunk at a time.
    data = raw_zip([Part(SHEET, deflated_zeros(1200 * MiB), 9_000_000)])
    outcome = refusal(data, ReadLimits(max_unpacked_bytes=10_000_000))
    assert outcome.message == LIED
    assert outcome.peak_bytes < 2 * MiB


def test_stored_part_longer_than_declared_is_refused() -> None:
    part = Part("xl/styles.xml", b"<styleSheet/>" * 100, 13, method=zipfile.ZIP_STORED)
    assert refusal(raw_zip([part])).message == LIED


# --- encryption and compression methods -----------------------------------------------------


def test_encrypted_part_is_refused() -> None:
    part = Part(SHEET, b"\x00" * 64, 52, method=zipfile.ZIP_STORED, flags=0x1)
    assert refusal(raw_zip([part])).message == (
        "the workbook is encrypted: save it as .xlsx without a password, or as CSV UTF-8"
    )


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, 99])  # 99 is AES
def test_compression_other_than_stored_or_deflate_is_refused(method: int) -> None:
    part = Part(SHEET, b"\x00" * 64, 64, method=method)
    assert refusal(raw_zip([part])).message == (
        f"the workbook is packed in a way Excel does not use: {REPAIR}"
    )


# --- XML declarations: billion laughs, external entities ------------------------------------


def test_billion_laughs_in_sheet_is_refused() -> None:
    data = repacked(normal_workbook(), replaced(SHEET, "<worksheet", LAUGHS + "<worksheet"))
    assert refusal(data).message == DTD


def test_billion_laughs_in_shared_strings_is_refused() -> None:
    # openpyxl writes strings inline; Excel keeps them in sharedStrings.xml, as here.
    strings = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'{LAUGHS}<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    data = repacked(normal_workbook(), extra={"xl/sharedStrings.xml": strings.encode()})
    assert refusal(data).message == DTD


def test_external_entity_in_relationships_is_refused() -> None:
    entity = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'
    data = repacked(normal_workbook(), extra={"_rels/extra.rels": entity.encode()})
    assert refusal(data).message == DTD


def test_doctype_split_across_chunks_is_refused() -> None:
    # "<!DOC" ends the first 64 KB chunk and "TYPE" begins the second.
    body = b" " * (_CHUNK - 5) + b"<!DOCTYPE x []><worksheet/>"
    assert refusal(raw_zip([stored(SHEET, body)])).message == DTD


def test_doctype_in_utf16_is_refused() -> None:
    body = f'<?xml version="1.0" encoding="UTF-16"?>{LAUGHS}<sst/>'.encode("utf-16")
    assert refusal(raw_zip([stored("xl/sharedStrings.xml", body)])).message == DTD


# --- a sheet's declared size ----------------------------------------------------------------


def dimension(ref: str) -> bytes:
    """The normal workbook with its sheet declaring ``ref`` instead of its true A1:F3001."""
    return repacked(normal_workbook(), replaced(SHEET, 'ref="A1:F3001"', f'ref="{ref}"'))


def test_sheet_claiming_every_row_and_column_is_refused() -> None:
    assert refusal(dimension("A1:XFD1048576")).message == (
        f"a sheet says it has 1,048,576 rows, more than 250,000 (the limit): {RESAVE}"
    )


def test_sheet_claiming_too_many_columns_is_refused() -> None:
    # ZZ is column 26 + 26 x 26 = 702.
    assert refusal(dimension("A1:ZZ10")).message == (
        f"a sheet says it has 702 columns, more than 200 (the limit): {RESAVE}"
    )


def test_sheet_claiming_too_many_cells_is_refused() -> None:
    # GR is column 7 x 26 + 18 = 200, the most allowed; 60,000 rows of it are 12,000,000 cells.
    assert refusal(dimension("A1:GR60000")).message == (
        "a sheet says it has 12,000,000 cells (60,000 rows by 200 columns), "
        f"more than 6,000,000 (the limit): {RESAVE}"
    )


@pytest.mark.parametrize("tag", ['<c r="A{}"><v>1</v></c>', '<x:c r="A{}"><x:v>1</x:v></x:c>'])
def test_cells_are_counted_as_they_are_whatever_the_sheet_declares(tag: str) -> None:
    # No <dimension>, and 1,001 cells against a limit of 1,000 (the count runs across chunks).
    rows = "".join(f"<row>{tag.format(i)}</row>" for i in range(1, 1002)).encode()
    body = b"<worksheet><sheetData>" + rows + b"</sheetData></worksheet>"
    limits = ReadLimits(max_cells=1000)
    packed = zlib.compress(body)[2:-4]
    part = Part(SHEET, packed, len(body))
    assert refusal(raw_zip([part]), limits).message == (
        f"the workbook has more than 1,000 cells (the limit): {RESAVE}"
    )
    exact = ReadLimits(max_cells=1001)
    check_workbook(NAME, raw_zip([part]), exact)  # 1,001 cells: not counted twice


def test_sheet_over_small_limits_passed_in_is_refused() -> None:
    limits = ReadLimits(max_rows=1000)
    assert refusal(normal_workbook(), limits).message == (
        f"a sheet says it has 3,001 rows, more than 1,000 (the limit): {RESAVE}"
    )


def test_dimension_split_across_chunks_is_found() -> None:
    # '<dimension ref="A1:' ends the first 64 KB chunk and 'XFD1048576"/>' begins the second.
    head = b'<worksheet><dimension ref="A1:'
    body = b" " * (_CHUNK - len(head)) + head + b'XFD1048576"/><sheetData/></worksheet>'
    assert refusal(raw_zip([stored(SHEET, body)])).message == (
        f"a sheet says it has 1,048,576 rows, more than 250,000 (the limit): {RESAVE}"
    )


def test_dimension_hidden_at_the_end_of_the_sheet_data_is_found() -> None:
    # openpyxl takes a <dimension> met anywhere before </sheetData> ends, here after ~900 KB
    # of rows, written with a namespace prefix.
    hidden = f'<x:dimension xmlns:x="{MAIN_NS}" ref="$A$1:$XFD$1048576"/></sheetData>'
    data = repacked(normal_workbook(), replaced(SHEET, "</sheetData>", hidden))
    assert refusal(data).message == (
        f"a sheet says it has 1,048,576 rows, more than 250,000 (the limit): {RESAVE}"
    )
