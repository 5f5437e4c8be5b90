"""Fuzz harnesses for dicomstream (atheris / libFuzzer), part of issue #7 "Hardening".

A package so the regression tests (``tests/hardening/test_fuzz_regressions.py``) can run
the very checks the harnesses make: ``from fuzz import _common``. See ``fuzz/README.md``.
"""
