"""HTTP routes, one module per resource, all under ``/api/`` and all authenticated."""
