"""Imports over HTTP as staff use them: the reading shown, a preview that stores nothing,
normalised records, columns a file lacks, large files and hostile workbooks."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from matcher.columns import MENTEES, MENTORS
from matcher.readers import mentees_file, mentors_file
from matcher.spreadsheet import parse_table
from service.app import create_app
from service.config import ServiceSettings

Headers = Callable[[str], dict[str, str]]
MENTORS_CSV = (
    "Supporting Mentors Scheme - register\n"
    "\n"
    "Mentor ID,Name,E-mail,Focus areas,Availability,IMG,Notes\n"
    "M1,Dr Ada,ada@example.org,Leadership; career planning,Monday morning; Thu evening,Yes,keen\n"
    "M2,Dr Bo,bo@example.org,,,No,\n"
)
MENTEES_CSV = (
    "mentee_id,name,cohort,waiting_since,max_distance_km,latitude,longitude,modes\n"
    "E1,Dr Cy,GP Fellow,03/11/2025,16 km,52.1,-0.7,face to face\n"
    "E2,Dr Di,New GP partner,18/4/26,,,,\n"
)


def upload(
    client: TestClient, kind: str, body: str | bytes, headers: dict[str, str], **params: str
):
    data = body.encode() if isinstance(body, str) else body
    name = f"{kind}.xlsx" if data.startswith(b"PK") else f"{kind}.csv"
    files = {"file": (name, data, "application/octet-stream")}
    return client.post(f"/api/{kind}/import", files=files, headers=headers, params=params)


def test_a_preview_shows_how_every_column_is_read_and_stores_nothing(
    client: TestClient, as_role: Headers
) -> None:
    staff = as_role("matcher")
    answer = upload(client, "mentors", MENTORS_CSV, staff, dry_run="true")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert (preview["stored"], preview["rows"], preview["added"], preview["header_row"]) == (
        False,
        2,
        2,
        3,
    )
    assert [(c["letter"], c["heading"], c["read_as"], c["how"]) for c in preview["columns"]] == [
        ("A", "Mentor ID", "mentor_id", "renamed"),
        ("B", "Name", "name", "exact"),
        ("C", "E-mail", "email", "renamed"),
        ("D", "Focus areas", "focus_areas", "renamed"),
        ("E", "Availability", "availability", "exact"),
        ("F", "IMG", "img", "exact"),
        ("G", "Notes", "", "unknown"),
    ]
    warnings = [n["message"] for n in preview["notes"] if n["level"] == "warning"]
    assert warnings == ["column G 'Notes' is not a column of a mentors file: ignored, not stored"]
    assert "postcode" in preview["absent"]
    assert client.get("/api/mentors", headers=staff).json() == []


def test_records_keep_normalised_values_and_never_unknown_columns(
    client: TestClient, as_role: Headers
) -> None:
    staff, admin = as_role("matcher"), as_role("admin")
    assert upload(client, "mentors", MENTORS_CSV, staff).json()["added"] == 2
    (first,) = client.get("/api/mentors/M1/history", headers=admin).json()
    assert first["record"] == {
        "mentor_id": "M1",
        "name": "Dr Ada",
        "email": "ada@example.org",
        "focus_areas": "leadership;career_planning",
        "availability": "mon_am;thu_eve",
        "img": "yes",
    }
    # The same people written the way the contract writes them: nothing changes.
    contract = (
        "mentor_id,name,email,focus_areas,availability,img\n"
        "M1,Dr Ada,ada@example.org,leadership;career_planning,mon_am;thu_eve,yes\n"
        "M2,Dr Bo,bo@example.org,,,no\n"
    )
    again = upload(client, "mentors", contract, staff).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert len(client.get("/api/mentors/M1/history", headers=admin).json()) == 1


def test_a_reimport_in_another_format_changes_nothing(client: TestClient, as_role: Headers) -> None:
    staff, admin = as_role("matcher"), as_role("admin")
    assert upload(client, "mentees", MENTEES_CSV, staff).json()["added"] == 2
    other = (
        "mentee_id,name,cohort,waiting_since,max_distance_km,latitude,longitude,modes\n"
        "E1,Dr Cy,fellow,2025-11-03,16,52.10,-0.70,Face-to-Face\n"
        "E2,Dr Di,new_partner,2026-04-18,,,,\n"
    )
    again = upload(client, "mentees", other, staff).json()
    assert (again["updated"], again["unchanged"]) == (0, 2)
    versions = client.get("/api/mentees/E2/history", headers=admin).json()
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["record"]["waiting_since"] == "2026-04-18"


def test_a_column_the_file_lacks_keeps_its_stored_values_and_an_empty_cell_clears(
    client: TestClient, as_role: Headers
) -> None:
    staff, admin = as_role("matcher"), as_role("admin")
    upload(client, "mentors", MENTORS_CSV, staff)
    # Only names and focus areas: e-mails and slots stay; M2's empty focus stays empty and
    # M1's cleared cell clears.
    partial = "mentor_id,name,focus_areas\nM1,Dr Ada Lovelace,\nM2,Dr Bo,\n"
    answer = upload(client, "mentors", partial, staff).json()
    assert (answer["updated"], answer["unchanged"]) == (1, 1)
    (_, latest) = client.get("/api/mentors/M1/history", headers=admin).json()
    assert latest["record"] == {
        "mentor_id": "M1",
        "name": "Dr Ada Lovelace",
        "email": "ada@example.org",
        "availability": "mon_am;thu_eve",
        "img": "yes",
    }


def test_a_row_made_invalid_by_its_stored_values_is_refused(
    client: TestClient, as_role: Headers
) -> None:
    staff = as_role("matcher")
    upload(client, "mentees", MENTEES_CSV, staff)
    # Clearing E1's latitude leaves the stored longitude alone: not a place any more.
    answer = upload(client, "mentees", "mentee_id,name,cohort,latitude\nE1,Dr Cy,fellow,\n", staff)
    assert answer.status_code == 422
    (problem,) = answer.json()["problems"]
    assert problem == {
        "file": "mentees.csv (with stored values of columns not in the file)",
        "row": "2",
        "column": "latitude",
        "value": "",
        "problem": "empty, but longitude is given (give both or neither)",
    }


def test_many_rows_in_one_import_on_both_databases(database_url: str, tmp_path: Path) -> None:
    # 14,000 people x 5 columns of a statement would pass PostgreSQL's 65,535 parameters.
    settings = ServiceSettings(database_url=database_url, max_upload_bytes=2_000_000)
    app = create_app(settings)
    from service.auth import create_user, issue_token
    from service.db import transaction

    with transaction(app.state.sessions) as session:
        token = issue_token(session, create_user(session, "officer", "matcher", "a password!"))
    body = "mentee_id,name,cohort\n" + "".join(f"E{i:05d},Dr {i},fellow\n" for i in range(14_000))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        first = upload(client, "mentees", body, headers)
        assert first.status_code == 200, first.text[:500]
        assert (first.json()["added"], first.json()["rows"]) == (14_000, 14_000)
        again = upload(client, "mentees", body.replace("fellow", "GP Fellow"), headers).json()
        assert again["unchanged"] == 14_000
        assert len(client.get("/api/mentees", headers=headers).json()) == 14_000


def _bomb() -> bytes:
    """A workbook whose sheet says it is small and unpacks to over a gigabyte."""
    book = io.BytesIO()
    Workbook().save(book)
    archive = bytearray(book.getvalue())
    # The first part's declared unpacked size, in its local and its central header.
    local = archive.index(b"PK\x03\x04")
    central = archive.index(b"PK\x01\x02")
    struct.pack_into("<I", archive, local + 22, 1_300_000_000)
    struct.pack_into("<I", archive, central + 24, 1_300_000_000)
    return bytes(archive)


def test_a_zip_bomb_is_refused_with_a_sentence_not_a_500(
    client: TestClient, as_role: Headers
) -> None:
    answer = upload(client, "mentors", _bomb(), as_role("matcher"))
    assert answer.status_code == 422
    (problem,) = answer.json()["problems"]
    assert problem["problem"] == (
        "the workbook unpacks to more than 400,000,000 bytes (the limit): save the register "
        "alone in a new workbook, or as CSV UTF-8"
    )


def test_damaged_and_empty_uploads_are_refused(client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    broken = upload(client, "mentors", b"PK\x03\x04" + zlib.compress(b"x" * 100), staff)
    assert broken.status_code == 422
    assert broken.json()["problems"][0]["problem"].startswith("not a readable .xlsx workbook")
    nothing = client.post("/api/mentors/import", headers=staff, files={"other": ("a.csv", b"x")})
    assert (nothing.status_code, nothing.json()["detail"]) == (
        422,
        "send the spreadsheet as the multipart field 'file'",
    )
    not_a_form = client.post("/api/mentors/import", headers=staff, content=b"mentor_id,name\n")
    assert not_a_form.status_code == 422


def test_the_import_page_previews_then_imports(app, as_role: Headers) -> None:
    from test_pages import signed_in

    client, csrf = signed_in(app, "matcher")
    files = {"mentors": ("register.csv", MENTORS_CSV.encode())}
    preview = client.post("/import", data={"csrf_token": csrf, "action": "preview"}, files=files)
    assert preview.status_code == 200, preview.text
    assert "Preview: nothing has been stored" in preview.text
    assert "<td>Focus areas</td><td>focus_areas (renamed)</td>" in preview.text
    assert "ignored: not a column of a mentors file; not stored" in preview.text
    assert "above the header (row 3): not read, taken for a title" in preview.text
    assert client.get("/api/mentors", headers=as_role("matcher")).json() == []
    stored = client.post("/import", data={"csrf_token": csrf, "action": "import"}, files=files)
    assert ">Imported<" in stored.text
    assert len(client.get("/api/mentors", headers=as_role("matcher")).json()) == 2


def test_templates_read_back_as_one_example_person(app, tokens: dict[str, str]) -> None:
    from test_pages import signed_in

    client, _csrf = signed_in(app, "matcher")
    for kind, schema, read in (
        ("mentors", MENTORS, mentors_file),
        ("mentees", MENTEES, mentees_file),
    ):
        for suffix in ("csv", "xlsx"):
            answer = client.get(f"/import/template/{kind}.{suffix}")
            assert answer.status_code == 200
            assert f'filename="{kind}-template.{suffix}"' in answer.headers["content-disposition"]
            people = read(parse_table(f"{kind}.{suffix}", answer.content, schema))
            assert len(people.records) == 1
            assert people.table.header == schema.columns
            assert not [n for n in people.notes if n.warning]
    book = load_workbook(io.BytesIO(client.get("/import/template/mentees.xlsx").content))
    assert book.sheetnames == ["Mentees", "Columns"]
    assert book["Mentees"].freeze_panes == "A2" and book["Mentees"]["A1"].font.bold
    assert client.get("/import/template/rounds.csv").status_code == 404


def test_postcodes_become_places_only_through_the_servers_lookup(
    database_url: str, tmp_path: Path
) -> None:
    from scheme import run_round

    from service.auth import create_user, issue_token
    from service.db import transaction

    lookup = tmp_path / "postcodes.csv"
    lookup.write_text("pcds,lat,long\nMK9 3BZ,52.04,-0.76\nMK9 2FZ,52.05,-0.75\n")
    without = create_app(ServiceSettings(database_url=database_url))
    with transaction(without.state.sessions) as session:
        token = issue_token(session, create_user(session, "officer", "matcher", "a password!"))
    staff = {"Authorization": f"Bearer {token}"}
    mentors = "mentor_id,name,modes,postcode\nM1,Dr Ada,face to face,mk93bz\n"
    mentees = "mentee_id,name,cohort,modes,postcode\nE1,Dr Cy,fellow,face to face,MK9 2FZ\n"
    with TestClient(without) as client:
        assert upload(client, "mentors", mentors, staff).status_code == 200
        assert upload(client, "mentees", mentees, staff).status_code == 200
        body = {"name": "R", "settings": {"capacity": {"min": 1}}}
        round_id = client.post("/api/rounds", json=body, headers=staff).json()["id"]
        failed = run_round(client, round_id, staff)
    assert failed["status"] == "failed"
    assert failed["error"].startswith(
        "the stored records do not pass this round's settings: mentor M1, postcode: a "
        "face-to-face-only pair needs this distance, but no postcode lookup turns the "
        "postcode into a place"
    )
    assert "MK9" not in failed["error"]  # a postcode is personal data
    placed = create_app(ServiceSettings(database_url=database_url, postcode_lookup=str(lookup)))
    with TestClient(placed) as client:
        done = run_round(client, round_id, staff)
        assert done["status"] == "done", done
        (pair,) = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
    assert (pair["mentor_id"], pair["mentee_id"]) == ("M1", "E1")
    assert "face to face" in pair["reasons"]
