"""UK postcodes to coordinates, through a lookup file the scheme supplies (never the network).

The lookup is a CSV of postcode (or outward code) -> latitude, longitude: an ONS Postcode
Directory extract (columns ``pcd``, ``pcd2``, ``pcds``, ``lat``, ``long`` among dozens of
others, which are ignored) or a hand-made ``postcode,latitude,longitude`` or
``outward_code,latitude,longitude`` file. A postcode missing from the lookup is placed by its
outward code (district): one the file gives, or else the mean latitude and longitude of the
district's postcodes in the file. ``Location.by`` says which, so a reader can tell a user.

ONS conventions followed here:

* a postcode with no grid reference (the Channel Islands, the Isle of Man, some
  non-geographic postcodes) has ``lat`` 99.999999 and ``long`` 0.000000 in the ONS files:
  such rows are left out without a problem and counted in ``PostcodeLookup.skipped``;
* terminated postcodes (``doterm`` filled in) keep the coordinates they had, so they are kept:
  a spreadsheet may still hold one, and it is still a place.

Any other empty or bad coordinate is a problem, as is one outside the UK (latitude 49 to 61,
longitude -9 to 2: a typo, or the two columns swapped), and a bad file is rejected whole.

Large files (all of England: ~2.6 million rows, 1 GB) are streamed row by row. Postcodes are
packed into a sorted numpy array of 7-byte keys with a float64 pair each (about 23 bytes a
postcode, looked up by binary search), not held as Python objects.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NoReturn

import numpy as np

from matcher.cells import CellError, key
from matcher.errors import InputError, Problem

# Column names (after matcher.cells.key: lower case, spaces to underscores), first found wins.
POSTCODE_COLUMNS = ("postcode", "pcds", "pcd", "pcd2", "post_code", "postal_code")
OUTWARD_CODE_COLUMNS = ("outward_code", "outcode", "district", "postcode_district")
LATITUDE_COLUMNS = ("latitude", "lat")
LONGITUDE_COLUMNS = ("longitude", "long", "lon", "lng")

# How the ONS Postcode Directory marks a postcode with no grid reference.
ONS_NO_GRID_REFERENCE = (99.999999, 0.0)
# The UK with the Channel Islands, Scilly and Shetland, with a margin; a value outside is a
# typo or swapped columns, never a postcode.
UK_LATITUDE = (49.0, 61.0)
UK_LONGITUDE = (-9.0, 2.0)
# At most this many problems are listed; the rest are counted.
MAX_LISTED = 50

NOT_A_POSTCODE = "not a UK postcode (expected e.g. SW1A 1AA, or the outward code SW1A)"
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})?")
_KEY_BYTES = 7  # the longest postcode without its space: AA9A9AA
_BINARY_KINDS = (
    (b"PK\x03\x04", "a zip file or an .xlsx workbook (from an ONS download, extract the CSV)"),
    (b"%PDF", "a PDF"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) file"),
)


class PostcodeError(CellError):
    """A cell is not a UK postcode; the message says what was expected (a reader wraps it)."""


def normalise_postcode(text: str) -> str:
    """A UK postcode in its standard form: 'sw1a1aa' -> 'SW1A 1AA'; an outward code alone
    ('SW1A', 'mk9') -> 'SW1A' / 'MK9'. Raises PostcodeError (message: "not a UK postcode
    (expected e.g. SW1A 1AA, or the outward code SW1A)") otherwise.

    Case and spaces anywhere (also non-breaking ones) do not matter; nothing else is guessed.
    """
    outward, inward = _split(text)
    return f"{outward} {inward}" if inward else outward


def _split(text: str) -> tuple[str, str]:
    """(outward code, inward code or "")."""
    compact = "".join(text.split()).upper()
    if compact == "GIR0AA":  # the one postcode outside the pattern (Girobank)
        return "GIR", "0AA"
    match = _POSTCODE.fullmatch(compact)
    if match is None:
        raise PostcodeError(NOT_A_POSTCODE)
    return match[1], match[2] or ""


@dataclass(frozen=True)
class Location:
    """Where a postcode is; ``by`` says whether the full postcode or only its district was
    in the lookup (then the point is the district's centre, possibly kilometres away)."""

    latitude: float
    longitude: float
    by: Literal["postcode", "district"]


@dataclass(frozen=True, eq=False)
class PostcodeLookup:
    """A postcode lookup read by ``load_lookup``.

    ``file`` names the file for messages; ``skipped`` counts the rows ONS marks as having no
    grid reference. ``len()`` is the number of distinct postcodes and outward codes the file
    gives (districts worked out from postcodes not counted).
    """

    file: str
    skipped: int
    # Sorted postcodes without their space (dtype S7), and each one's latitude, longitude.
    _postcodes: np.ndarray = field(repr=False)
    _coordinates: np.ndarray = field(repr=False)
    # Outward code -> latitude, longitude: given by the file, or its postcodes' mean.
    _districts: Mapping[str, tuple[float, float]] = field(repr=False)
    _given_districts: int = field(repr=False)

    def locate(self, postcode: str) -> Location | None:
        """Where ``postcode`` is (any spelling ``normalise_postcode`` accepts; PostcodeError
        otherwise): the full postcode if listed, else its outward code; None if neither."""
        outward, inward = _split(postcode)
        if inward:
            probe = (outward + inward).encode("ascii")
            i = int(np.searchsorted(self._postcodes, probe))
            if i < len(self._postcodes) and self._postcodes[i] == probe:
                latitude, longitude = self._coordinates[i]
                return Location(float(latitude), float(longitude), "postcode")
        found = self._districts.get(outward)
        return None if found is None else Location(found[0], found[1], "district")

    def __len__(self) -> int:
        return len(self._postcodes) + self._given_districts


def load_lookup(path: str | Path) -> PostcodeLookup:
    """Read the lookup CSV; InputError listing every problem (file, row, column, value,
    message). Cached: the same file, unchanged (path, mtime, size), gives the same object."""
    path = Path(path)
    try:
        resolved = path.resolve(strict=True)
        stat = resolved.stat()
    except FileNotFoundError:
        _fail(path.name, "file not found")
    except OSError as exc:
        _fail(path.name, f"cannot be read ({exc.strerror or exc})")
    if resolved.is_dir():
        _fail(path.name, "is a folder, not a file")
    return _load(str(resolved), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> PostcodeLookup:
    """The lookup in ``path``; ``mtime_ns`` and ``size`` only key the cache."""
    file = Path(path)
    encoding, delimiter = _sniff(file)
    try:
        return _read(file, encoding, delimiter)
    except UnicodeDecodeError:
        if encoding != "utf-8-sig":
            _fail(file.name, "not a text file in a known encoding: save it as CSV UTF-8")
    try:  # not UTF-8: a file saved by older Excel on Windows
        return _read(file, "cp1252", delimiter)
    except UnicodeDecodeError:
        _fail(file.name, "not a text file in a known encoding: save it as CSV UTF-8")


def _fail(file: str, message: str) -> NoReturn:
    raise InputError([Problem(file, None, None, None, message)])


def _sniff(file: Path) -> tuple[str, str]:
    """The encoding to try first and the delimiter, from the start of the file."""
    try:
        with open(file, "rb") as handle:
            start = handle.read(65536)
    except OSError as exc:
        _fail(file.name, f"cannot be read ({exc.strerror or exc})")
    if not start.strip():
        _fail(file.name, "the file is empty")
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode Text"
    else:
        for magic, kind in _BINARY_KINDS:
            if start.startswith(magic):
                _fail(file.name, f"not a CSV file: it looks like {kind}")
        if b"\x00" in start:
            _fail(file.name, "not a CSV file: it contains binary data")
        encoding = "utf-8-sig"
    text = start.decode(encoding, errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in ",;\t" if d in first), ",")
    return encoding, delimiter


@dataclass(frozen=True)
class _Header:
    """Where the three columns of a lookup are, and their names as normalised."""

    positions: tuple[int, int, int]  # postcode, latitude, longitude
    names: tuple[str, str, str]
    outward_only: bool  # the postcode column is one of OUTWARD_CODE_COLUMNS


def _read(file: Path, encoding: str, delimiter: str) -> PostcodeLookup:
    builder = _Builder(file.name)
    with open(file, encoding=encoding, newline="") as handle:
        records = enumerate(csv.reader(handle, delimiter=delimiter), start=1)
        try:
            header = _header(file.name, records)
            ip, ilat, ilon = header.positions
            for row, cells in records:
                width = len(cells)
                text = cells[ip].strip() if ip < width else ""
                lat = cells[ilat].strip() if ilat < width else ""
                lon = cells[ilon].strip() if ilon < width else ""
                if text or lat or lon:  # else an empty row, or one with nothing for a lookup
                    builder.add(row, text, lat, lon, header)
        except csv.Error as exc:
            _fail(file.name, f"not a readable CSV file ({exc})")
    return builder.build(header.names[0])


def _header(file: str, records: Iterator[tuple[int, list[str]]]) -> _Header:
    """Read the header (the first non-empty row) and find the three columns."""
    for _, cells in records:
        if any(cell.strip() for cell in cells):
            header = [key(cell) for cell in cells]
            break
    else:
        _fail(file, "the file is empty")
    wanted = (
        ("postcode", POSTCODE_COLUMNS + OUTWARD_CODE_COLUMNS),
        ("latitude", LATITUDE_COLUMNS),
        ("longitude", LONGITUDE_COLUMNS),
    )
    names: list[str] = []
    problems = []
    for what, candidates in wanted:
        column = next((c for c in candidates if c in header), None)
        if column is None:
            found = ", ".join(c for c in header[:20] if c) + (", …" if len(header) > 20 else "")
            message = (
                f"required column is missing (expected one of: {', '.join(candidates)}; "
                f"found: {found or 'none'})"
            )
            problems.append(Problem(file, None, what, None, message))
        elif header.count(column) > 1:
            problems.append(Problem(file, None, column, None, "column name appears twice"))
        else:
            names.append(column)
    if problems:
        raise InputError(problems)
    postcode, latitude, longitude = names
    return _Header(
        positions=(header.index(postcode), header.index(latitude), header.index(longitude)),
        names=(postcode, latitude, longitude),
        outward_only=postcode in OUTWARD_CODE_COLUMNS,
    )


class _Builder:
    """Collects a lookup's rows compactly, row by row, then checks repeats and builds it.

    Problems are counted in full but only the first MAX_LISTED are kept, so a broken file of
    millions of rows costs no more memory than a good one.
    """

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.count = 0
        self.skipped = 0
        # Full postcodes, packed: key bytes, coordinates, row and district numbers.
        self.keys = bytearray()
        self.latitudes = array("d")
        self.longitudes = array("d")
        self.rows = array("q")
        self.districts = array("i")
        self.district_number: dict[str, int] = {}
        # Outward codes the file gives: code -> latitude, longitude, row.
        self.given: dict[str, tuple[float, float, int]] = {}

    def problem(self, row: int, column: str, value: str, message: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(self.file, row, column, value, message))

    def add(self, row: int, text: str, lat: str, lon: str, header: _Header) -> None:
        """Read one row: a postcode or an outward code and its latitude and longitude."""
        code = self._code(row, text, header)
        point = self._point(row, lat, lon, header)
        if code is None or point is None:
            return
        if point == ONS_NO_GRID_REFERENCE:
            self.skipped += 1
            return
        outward, inward = code
        if inward:
            self.keys += (outward + inward).encode("ascii").ljust(_KEY_BYTES, b"\0")
            self.latitudes.append(point[0])
            self.longitudes.append(point[1])
            self.rows.append(row)
            self.districts.append(
                self.district_number.setdefault(outward, len(self.district_number))
            )
            return
        earlier = self.given.setdefault(outward, (*point, row))
        if earlier[:2] != point:
            self.problem(row, header.names[0], text, _clash(earlier[2], earlier[:2], point))

    def _code(self, row: int, text: str, header: _Header) -> tuple[str, str] | None:
        column = header.names[0]
        if not text:
            self.problem(row, column, text, "empty, but the row gives coordinates")
            return None
        try:
            outward, inward = _split(text)
        except PostcodeError as exc:
            self.problem(row, column, text, str(exc))
            return None
        if inward and header.outward_only:
            message = "a full postcode in a column of outward codes (expected e.g. SW1A)"
            self.problem(row, column, text, message)
            return None
        return outward, inward

    def _point(self, row: int, lat: str, lon: str, header: _Header) -> tuple[float, float] | None:
        latitude = self._degrees(row, lat, header.names[1], "latitude")
        longitude = self._degrees(row, lon, header.names[2], "longitude")
        if (latitude, longitude) == ONS_NO_GRID_REFERENCE:
            return ONS_NO_GRID_REFERENCE
        swapped = (
            latitude is not None
            and longitude is not None
            and _inside(longitude, UK_LATITUDE)
            and _inside(latitude, UK_LONGITUDE)
        )
        hint = "; are latitude and longitude swapped?" if swapped else ""
        inside = True
        for value, text, column, what, (low, high) in (
            (latitude, lat, header.names[1], "latitude", UK_LATITUDE),
            (longitude, lon, header.names[2], "longitude", UK_LONGITUDE),
        ):
            if value is not None and not _inside(value, (low, high)):
                message = f"outside the UK (expected a {what} between {low:g} and {high:g}{hint})"
                self.problem(row, column, text, message)
                inside = False
        if latitude is None or longitude is None or not inside:
            return None
        return latitude, longitude

    def _degrees(self, row: int, text: str, column: str, what: str) -> float | None:
        """A latitude or longitude (``what``) in decimal degrees, or None after a problem."""
        example = "51.501009" if what == "latitude" else "-0.141588"
        expected = f"expected a {what} in decimal degrees, e.g. {example}"
        if not text:
            self.problem(row, column, text, f"empty ({expected})")
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.problem(row, column, text, f"not a number ({expected})")
            return None
        return value

    def build(self, column: str) -> PostcodeLookup:
        """Check that no postcode is given twice with different coordinates; the lookup."""
        n = len(self.latitudes)
        if n:
            keys = np.frombuffer(self.keys, dtype=f"S{_KEY_BYTES}")
            order = np.argsort(keys, kind="stable")  # stable: the first row of a run comes first
            keys = keys[order]
            lat = np.frombuffer(self.latitudes, dtype=np.float64)[order]
            lon = np.frombuffer(self.longitudes, dtype=np.float64)[order]
            rows = np.frombuffer(self.rows, dtype=np.int64)[order]
            districts = np.frombuffer(self.districts, dtype=np.int32)[order]
            del order
            self._release()
            new = np.ones(n, dtype=bool)
            new[1:] = keys[1:] != keys[:-1]
            first = np.flatnonzero(new)[np.cumsum(new) - 1]
            clashes = np.flatnonzero((lat != lat[first]) | (lon != lon[first]))
            clashes = clashes[np.argsort(rows[clashes], kind="stable")]
            for i in clashes[:MAX_LISTED]:
                j = first[i]
                value = normalise_postcode(keys[i].decode("ascii"))
                message = _clash(int(rows[j]), (lat[j], lon[j]), (lat[i], lon[i]))
                self.problems.append(Problem(self.file, int(rows[i]), column, value, message))
            self.count += len(clashes)
            postcodes, lat, lon, districts = keys[new], lat[new], lon[new], districts[new]
        else:
            postcodes, lat, lon = np.empty(0, dtype=f"S{_KEY_BYTES}"), np.empty(0), np.empty(0)
            districts = np.empty(0, dtype=np.int32)
        self._raise_problems()
        if not n and not self.given:
            unknown = f" ({self.skipped} row(s) without a grid reference)" if self.skipped else ""
            _fail(self.file, f"no postcode with coordinates in the file{unknown}")

        # District centres: the mean of their postcodes, unless the file gives the district.
        size = len(self.district_number)
        count = np.bincount(districts, minlength=size)
        mean_lat = np.bincount(districts, weights=lat, minlength=size) / np.maximum(count, 1)
        mean_lon = np.bincount(districts, weights=lon, minlength=size) / np.maximum(count, 1)
        centres = {
            code: (float(mean_lat[i]), float(mean_lon[i]))
            for code, i in self.district_number.items()
        }
        centres.update((code, (lat_, lon_)) for code, (lat_, lon_, _) in self.given.items())

        coordinates = np.column_stack((lat, lon))
        postcodes.flags.writeable = False
        coordinates.flags.writeable = False
        return PostcodeLookup(
            file=self.file,
            skipped=self.skipped,
            _postcodes=postcodes,
            _coordinates=coordinates,
            _districts=MappingProxyType(centres),
            _given_districts=len(self.given),
        )

    def _release(self) -> None:
        """Free the packed rows once sorted copies exist."""
        self.keys, self.rows, self.districts = bytearray(), array("q"), array("i")
        self.latitudes, self.longitudes = array("d"), array("d")

    def _raise_problems(self) -> None:
        if not self.count:
            return
        listed = sorted(self.problems, key=lambda p: p.row or 0)[:MAX_LISTED]
        if self.count > len(listed):
            more = self.count - len(listed)
            message = f"{more} more problem(s) like these not listed ({self.count} in all)"
            listed.append(Problem(self.file, None, None, None, message))
        raise InputError(listed)


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _clash(first_row: int, first: tuple[float, float], this: tuple[float, float]) -> str:
    """The message for a postcode or outward code listed again with other coordinates."""
    return (
        f"given twice with different coordinates: row {first_row} has "
        f"{float(first[0])}, {float(first[1])}; this row {float(this[0])}, {float(this[1])}"
    )
