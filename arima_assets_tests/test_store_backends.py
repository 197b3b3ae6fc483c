"""The model store's backends: object storage (in memory, and S3 through moto's server) and its expiring leases,
Postgres advisory leases, and what a dead lease holder leaves behind."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from filelock import Timeout

from arima_assets.store import ModelStore, Outcome, StoreError
from arima_assets.store_backends import (
    LeaseLostError,
    ObjectBackend,
    ObjectLeases,
    PostgresLeases,
    advisory_key,
    ensure_held,
    registry_leases,
)
from arima_assets_tests.conftest import missing_service
from arima_assets_tests.test_decision import record_for, weekly

ISBN = "9780722532935"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

#: A process that takes ISBN's lease on the store at argv[1] (TTL argv[2] s), says so, then holds it until killed.
HOLDER = """
import sys, time
from arima_assets.store_backends import backend_for, ObjectLeases, PostgresLeases
where, ttl = sys.argv[1], float(sys.argv[2])
leases = PostgresLeases(where) if where.startswith("postgresql") else ObjectLeases(backend_for(where), ttl=ttl)
with leases.lease("9780722532935", timeout=10):
    print("held", flush=True)
    time.sleep(600)
"""


def _memory_uri() -> str:
    return f"memory://bucket-{uuid.uuid4().hex[:8]}/state/models"


def test_object_store_round_trip_and_digest_check() -> None:
    uri = _memory_uri()
    store = ModelStore(uri)
    record = record_for(weekly(120), 110)
    store.put_champion(record)
    store.put_candidate(ISBN, record)
    store.put_outcome(Outcome(isbn=ISBN, status="trained", decision={}, run_id="abc-123"))
    assert store.get_champion(ISBN) == record and store.get_candidate(ISBN) == record
    assert store.get_run_outcome("abc-123", ISBN).status == "trained"
    assert list(store.outcomes()) == [ISBN]
    store.put_candidate(ISBN, None)
    assert store.get_candidate(ISBN) is None

    backend = store.backend
    damaged = json.loads(backend.read(f"champions/{ISBN}.json"))
    damaged["model"]["spec"]["order"] = [9, 9, 9]
    backend.write(f"champions/{ISBN}.json", json.dumps(damaged).encode())
    with pytest.raises(StoreError, match=rf"{uri}/champions/{ISBN}\.json does not match its content digest"):
        store.get_champion(ISBN)


def test_object_store_force_episode_first_writer_wins() -> None:
    store = ModelStore(_memory_uri())
    first, later = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)
    assert store.force_episode(True, first) == first
    assert store.force_episode(True, later) == first, "the episode started by the first caller holds"
    assert store.force_episode(False, later) is None
    assert store.force_episode(True, later) == later, "force turned off ended the episode"


def test_object_lease_is_exclusive_across_threads_and_free_after_release() -> None:
    store = ModelStore(_memory_uri())
    inside, overlaps = [0], []

    def work() -> None:
        for _ in range(5):
            with store.isbn_lock(ISBN, timeout=10):
                inside[0] += 1
                overlaps.append(inside[0])
                time.sleep(0.01)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlaps) == 20 and max(overlaps) == 1, "never two holders at once"
    with store.isbn_lock(ISBN, timeout=0):
        with pytest.raises(Timeout):
            with store.isbn_lock(ISBN, timeout=0):
                pass
    assert len(store.backend.names(f"locks/{ISBN}", ".json")) == 1, "older generations are cleaned up"


def test_a_held_object_lease_is_renewed_past_its_ttl_and_a_stale_one_expires() -> None:
    backend = ObjectBackend(_memory_uri())
    leases = ObjectLeases(backend, ttl=0.6, poll=0.05)
    with leases.lease(ISBN, timeout=0):
        time.sleep(1.5)  # over twice the TTL: the holder's renewals keep it
        with pytest.raises(Timeout):
            with leases.lease(ISBN, timeout=0):
                pass
    dead = ObjectLeases(backend, ttl=0.6).lease(ISBN, timeout=0)
    dead._renew = lambda: None  # a holder that stops renewing: it died
    dead.__enter__()
    with pytest.raises(Timeout):
        with leases.lease(ISBN, timeout=0):
            pass
    started = time.monotonic()
    with leases.lease(ISBN, timeout=5):
        waited = time.monotonic() - started
    assert 0.3 < waited < 1.5, f"taken over once the dead holder's lease expired, after {waited:.2f} s"


class _RenewalsFail:
    """An object backend whose lease renewals fail once armed (the bucket unreachable from this holder)."""

    def __init__(self, backend: ObjectBackend):
        self.backend, self.armed = backend, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def write(self, key: str, data: bytes) -> None:
        if self.armed and key.startswith("locks/"):
            raise OSError("bucket unreachable")
        self.backend.write(key, data)


def test_an_object_lease_whose_renewals_fail_for_a_ttl_is_reported_lost() -> None:
    backend = _RenewalsFail(ObjectBackend(_memory_uri()))
    leases = ObjectLeases(backend, ttl=0.6, poll=0.05)
    with leases.lease(ISBN, timeout=0) as held:
        time.sleep(0.9)  # renewed: still held past its first TTL
        ensure_held(held)
        backend.armed = True
        time.sleep(0.9)
        with pytest.raises(LeaseLostError, match=r"not renewed for \d+ s \(TTL 0.6 s\)"):
            ensure_held(held)
        with ObjectLeases(backend.backend, ttl=0.6).lease(ISBN, timeout=2):  # expired: another holder takes it
            time.sleep(0.5)  # the first holder's renewer sees the newer generation
            with pytest.raises(LeaseLostError, match="another process took it"):
                ensure_held(held)


def test_a_fit_whose_lease_was_lost_commits_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arima_assets.config import get_arima_config
    from arima_assets.lifecycle import ChampionLifecycle
    from arima_assets.registry import ModelRegistry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = ModelStore(tmp_path / "models", leases=ObjectLeases(_RenewalsFail(ObjectBackend(_memory_uri())), ttl=0.3))
    registry = ModelRegistry(uri, experiment_name="lost-lease")
    lifecycle = ChampionLifecycle(store, registry, get_arima_config("testing", n_trials=1, mlflow_tracking_uri=uri))
    import arima_assets.lifecycle as lifecycle_module

    fit = lifecycle_module.run_model_step

    def slow_fit_while_the_bucket_is_away(*args: Any, **kwargs: Any) -> Any:
        store.leases.backend.armed = True
        time.sleep(0.5)  # renewals fail for longer than the TTL
        return fit(*args, **kwargs)

    monkeypatch.setattr(lifecycle_module, "run_model_step", slow_fit_while_the_bucket_is_away)
    series = weekly(120)
    parent = registry.create_parent_run("lost-lease")
    result = lifecycle.run_batch({ISBN: series}, run_id="run-1", parent_run_id=parent).results[ISBN]
    assert result.outcome.status == "failed" and "LeaseLostError" in result.outcome.error
    assert store.get_champion(ISBN) is None, "no champion committed by a holder that lost its lease"
    assert registry.client.search_model_versions(f"name='arima-{ISBN}'") == []


def test_registry_leases_follow_the_tracking_uri(tmp_path: Path) -> None:
    assert registry_leases(f"sqlite:///{tmp_path}/m/mlflow.db").folder == tmp_path / "m" / "mlflow.db.leases"
    assert registry_leases(str(tmp_path / "mlruns")).folder == tmp_path / "mlruns.leases"
    assert isinstance(registry_leases("postgresql+psycopg2://u:p@db/mlflow"), PostgresLeases)
    assert registry_leases("postgresql+psycopg2://u:p@db/mlflow").dsn == "postgresql://u:p@db/mlflow"
    assert registry_leases("https://mlflow.example") is None
    assert registry_leases("sqlite:///:memory:") is None


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free port, and the environment that points s3fs (here and in children) at it."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    import fsspec

    fsspec.filesystem("s3", skip_instance_cache=True).mkdir("leases-bucket")
    yield env
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


def _hold_in_child(where: str, ttl: float, env: dict[str, str] | None = None) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, where, str(ttl)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline()
    if line.strip() != "held":
        child.kill()
        raise AssertionError(f"the holder did not take the lease: {line!r} {child.stderr.read()[-2000:]}")
    return child


def _free_after_killing(holder: subprocess.Popen, leases: Any, timeout: float) -> float:
    """Kill the process holding ISBN's lease (SIGKILL: no clean-up); the seconds until `leases` grants it."""
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with leases.lease(ISBN, timeout=timeout):
        return time.monotonic() - started


def test_s3_store_and_lease_of_a_killed_holder_expires(s3_server: dict[str, str]) -> None:
    uri = f"s3://leases-bucket/{uuid.uuid4().hex[:8]}/models"
    store = ModelStore(uri)
    record = record_for(weekly(120), 110)
    store.put_champion(record)
    assert ModelStore(uri).get_champion(ISBN) == record
    assert not store.backend.create(f"champions/{ISBN}.json", b"{}"), "S3's create-only PUT refuses an object"

    ttl = 2.0
    holder = _hold_in_child(uri, ttl, s3_server)
    leases = ObjectLeases(ObjectBackend(uri), ttl=ttl, poll=0.1)
    time.sleep(ttl * 1.5)  # the living holder renews past its TTL
    with pytest.raises(Timeout):
        with leases.lease(ISBN, timeout=0):
            pass
    waited = _free_after_killing(holder, leases, timeout=3 * ttl)
    assert waited < ttl + 1.0, f"a dead holder's lease is free within its TTL ({waited:.2f} s)"


def test_report_asset_writes_its_json_beside_an_s3_model_store(
    s3_server: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from arima_assets.config import get_arima_config
    from arima_assets.defs.report_assets import REPORT_FILE, retraining_report
    from arima_assets.defs.resources import ModelStoreResource

    monkeypatch.chdir(tmp_path)  # a mangled URI would show up here as a folder named "s3:"
    state = f"s3://leases-bucket/{uuid.uuid4().hex[:8]}/state"
    config = get_arima_config("testing", state_dir=state)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("isbn", [ISBN])
    store = ModelStore(f"{state}/models")
    store.put_outcome(Outcome(isbn=ISBN, status="failed", decision={}, run_id="r1", error="ValueError: bad week"))
    result = dg.materialize(
        [retraining_report],
        instance=instance,
        resources={"arima_config": config, "model_store": ModelStoreResource(state_dir=state)},
    )
    written = json.loads(ObjectBackend(f"{state}/reports").read(REPORT_FILE))
    assert written["total_books"] == 1 and written["failed_models"] == 1
    metadata = result.asset_materializations_for_node("retraining_report")[0].metadata
    assert metadata["path"].value == f"{state}/reports/{REPORT_FILE}"
    assert not (tmp_path / "s3:").exists()


def _postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_SERVER, connect_timeout=3).close()
    except Exception:  # noqa: BLE001 - any failure means no server to test against
        return False
    return True


def test_postgres_advisory_lease_is_exclusive_and_freed_when_its_holder_dies() -> None:
    if not _postgres_reachable():
        missing_service(f"no PostgreSQL at {PG_SERVER}")
    leases = PostgresLeases(PG_SERVER)
    with leases.lease(ISBN, timeout=0):
        with pytest.raises(Timeout, match=f"advisory lock of ISBN {ISBN}"):
            with PostgresLeases(PG_SERVER).lease(ISBN, timeout=0):
                pass
    holder = _hold_in_child(PG_SERVER, 0)
    with pytest.raises(Timeout):
        with leases.lease(ISBN, timeout=0.3):
            pass
    waited = _free_after_killing(holder, leases, timeout=10)
    assert waited < 5, f"the server frees a dead session's lock ({waited:.2f} s)"


def test_a_postgres_lease_whose_session_ended_is_reported_lost() -> None:
    if not _postgres_reachable():
        missing_service(f"no PostgreSQL at {PG_SERVER}")
    import psycopg2

    with PostgresLeases(PG_SERVER).lease(ISBN, timeout=0) as held:
        ensure_held(held)
        admin = psycopg2.connect(PG_SERVER)
        admin.autocommit = True
        with admin.cursor() as cursor:  # the server ends the holder's session (a restart, a network cut)
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                (advisory_key(ISBN) & 0xFFFFFFFF,),
            )
            assert cursor.fetchall() == [(True,)]
        admin.close()
        with pytest.raises(LeaseLostError, match="session ended"):
            ensure_held(held)
