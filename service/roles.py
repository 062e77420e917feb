"""The service's roles and who may do what, for the API, the pages and the command line
alike (the README's roles table). Imports nothing, so `matcher --help` can name the roles
without loading the database models."""

ROLES = ("admin", "matcher", "organiser", "analyst")  # staff: users made by an admin
# Mentors and mentees who sign in with a one-time link (``service.participants``): they see
# their own record and match on the pages under /me, and nothing else.
PARTICIPANT_ROLES = ("mentor", "mentee")
STAFF = frozenset({"admin", "matcher"})
PEOPLE_READERS = frozenset({"admin", "matcher", "organiser"})
ROUND_READERS = frozenset(ROLES)
REPORT_READERS = frozenset({"admin", "matcher", "analyst"})
ADMINS = frozenset({"admin"})
ORGANISERS = frozenset({"admin", "organiser"})
EVENT_READERS = frozenset({"admin", "organiser", "matcher"})
