"""nox sessions: tests, lint, bench."""

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session):
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "innv_core", "innv_plugins", "tests", "bench", "noxfile.py")


@nox.session
def bench(session):
    session.install("-e", ".")
    session.run("python", "bench/analyzers.py", *session.posargs)
