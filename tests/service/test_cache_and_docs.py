"""What browsers and proxies may keep, and the API documentation page.

Every answer that can carry records (API JSON, errors, pages, downloads) says
``Cache-Control: no-store``; the site's static files and Swagger UI's may be kept. ``/docs``
opens signed out, under the site's Content-Security-Policy, and loads only this site's files.
"""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from scheme import sign_in

from service.web.site import CSP


class Resources(HTMLParser):
    """The scripts, style sheets and icons a page loads, and any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"] or "")
        elif tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")
        if tag in ("script", "style"):
            self._in = tag
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(f"<{tag}> attribute")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.inline.append(f"<{self._in}> {data.strip()[:40]}")


def test_records_errors_and_downloads_are_not_stored(
    client: TestClient, tokens: dict[str, str]
) -> None:
    api = {"Authorization": f"Bearer {tokens['matcher']}"}
    round_id = client.post("/api/rounds", json={"name": "Headers"}, headers=api).json()["id"]
    answers = {
        "API list": client.get("/api/rounds", headers=api),
        "API record": client.get(f"/api/rounds/{round_id}", headers=api),
        "API 404": client.get("/api/rounds/99999", headers=api),
        "API 401": client.get("/api/rounds"),
        "API 422": client.post("/api/rounds", json={"name": ""}, headers=api),
        "OpenAPI": client.get("/openapi.json"),
        "health": client.get("/health"),
    }
    sign_in(client, "matcher", "secret-matcher")
    answers |= {
        "page": client.get(f"/rounds/{round_id}"),
        "page 404": client.get("/rounds/99999"),
        "pairs CSV": client.get(f"/rounds/{round_id}/pairs.csv"),
        "pairs XLSX": client.get(f"/rounds/{round_id}/pairs.xlsx"),
        "template CSV": client.get("/import/template/mentors.csv"),
        "template XLSX": client.get("/import/template/mentees.xlsx"),
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "API list": 200,
        "API record": 200,
        "API 404": 404,
        "API 401": 401,
        "API 422": 422,
        "OpenAPI": 200,
        "health": 200,
        "page": 200,
        "page 404": 404,
        "pairs CSV": 200,
        "pairs XLSX": 200,
        "template CSV": 200,
        "template XLSX": 200,
    }
    assert {name: a.headers.get("cache-control") for name, a in answers.items()} == {
        name: "no-store" for name in answers
    }
    assert "attachment" in answers["pairs XLSX"].headers["content-disposition"]


def test_static_files_may_be_kept(client: TestClient) -> None:
    for path in ("/static/style.css", "/static/docs.js", "/docs/assets/swagger-ui-bundle.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "no-store" not in answer.headers.get("cache-control", ""), path


def test_the_docs_page_loads_only_this_sites_files(client: TestClient) -> None:
    page = client.get("/docs")  # signed out
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe" not in CSP
    found = Resources()
    found.feed(page.text)
    assert found.inline == []
    assert found.urls == [
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/static/docs.js",
    ]
    for url in found.urls:
        assert client.get(url).status_code == 200, url
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert "/api/rounds" in client.get("/openapi.json").json()["paths"]
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
