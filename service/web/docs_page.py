"""``/docs``: Swagger UI for the API, from the files the installed ``fastapi-offline``
package ships (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes).

Nothing comes from elsewhere and nothing runs inline: those files are served under
``/docs/assets``, and the page starts Swagger UI from ``/static/docs.js``, so the site's
``script-src 'self'`` holds. The page is open to all: the OpenAPI schema it shows is open too
and carries no personal data.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

PATH = "/docs"
ASSETS = "/docs/assets"
# swagger-ui-bundle.js, swagger-ui.css, favicon.png (and ReDoc's script, not used)
ASSET_FILES = Path(str(files("fastapi_offline") / "static"))
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} – API documentation</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}/favicon.png">
</head>
<body>
  <main id="swagger-ui" data-openapi-url="{openapi}"></main>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get(PATH)
def docs(request: Request) -> HTMLResponse:
    app = request.app
    return HTMLResponse(
        PAGE.format(title=escape(app.title), assets=ASSETS, openapi=escape(app.openapi_url or ""))
    )


def install(app: FastAPI) -> None:
    """The page, and the bundle's files beneath it (which browsers may cache)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=ASSET_FILES), name="docs-assets")
