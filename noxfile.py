"""nox sessions: tests, lint, bench, docs."""

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session):
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session):
    session.install("ruff")
    paths = ["innv_core", "innv_plugins", "tests", "bench", "examples", "docs/conf.py", "noxfile.py"]
    session.run("ruff", "check", *paths)


@nox.session
def bench(session):
    session.install("-e", ".")
    session.run("python", "bench/analyzers.py", *session.posargs)


@nox.session
def docs(session):
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "-b", "html", "docs", "docs/_build/html", *session.posargs)
