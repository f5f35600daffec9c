"""Benchmarks of the upload gatekeeper (issue 6): `python -m bench`."""
