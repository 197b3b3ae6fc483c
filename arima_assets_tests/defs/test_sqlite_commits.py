"""The sqlite commit tuning: WAL files written at synchronous=NORMAL with an idle connection kept, others untouched."""

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from arima_assets.defs.sqlite_commits import install_sqlite_commit_tuning, kept_files


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)


def test_a_wal_file_is_written_at_normal_sync_and_kept_open_a_rollback_journal_file_is_untouched(tmp_path) -> None:
    install_sqlite_commit_tuning()
    wal, plain = tmp_path / "events.db", tmp_path / "mlflow.db"
    with sqlite3.connect(wal) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
    for path in (wal, plain):
        with _engine(path).begin() as connection:
            connection.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
            connection.execute(sa.text("INSERT INTO t VALUES ('a')"))
            sync = connection.execute(sa.text("PRAGMA synchronous")).scalar()
            assert sync == (1 if path == wal else 2), (path, sync)  # 1 NORMAL, 2 FULL (SQLite's default)
    assert str(wal) in kept_files() and str(plain) not in kept_files()
    with _engine(wal).connect() as connection:  # what was committed through the tuned connections is there
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
