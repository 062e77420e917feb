"""Server-rendered pages for LMC staff: plain HTML forms, a session cookie, CSRF on every form.

The pages call the same record functions as the API (``service.people``, ``service.rounds``,
...) and keep the same roles; analysts see ids, never names.
"""
