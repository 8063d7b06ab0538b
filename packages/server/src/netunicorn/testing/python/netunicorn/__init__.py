"""A stand-in for the netunicorn package, for tests only: see executor/__main__.py."""
