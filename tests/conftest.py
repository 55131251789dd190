"""Shared fixtures (a clean PostgreSQL database when the test services provide one, the sample store) and the CI
rule: with ``CI`` set, any skipped test fails the run — only a service that cannot be installed may skip, and CI
installs every one."""

from __future__ import annotations

import os

import pytest

_skipped: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and _in_ci() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped and _in_ci():
        terminalreporter.write_line(f"CI: {len(_skipped)} skipped test(s) fail the run (see SKIPPED): "
                                    + ", ".join(_skipped[:5]) + (" …" if len(_skipped) > 5 else ""), red=True)


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL store URL with no hubtree tables in it (``HUBTREE_TEST_PG_URL``), else skip."""
    url = os.environ.get("HUBTREE_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server (run the suite through scripts/with-test-services.sh)")
    from sqlmodel import SQLModel

    from crawler.store import open_store

    store = open_store(url)
    SQLModel.metadata.drop_all(store.engine)
    SQLModel.metadata.create_all(store.engine)
    store.engine.dispose()
    return url


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample world in a SQLite store, loaded through the crawler's page writer (shared, read-only)."""
    from tests.support.sample import load_sample

    return load_sample(f"sqlite:///{tmp_path_factory.mktemp('sample') / 'store.db'}")
