"""Automation at scale: the project's automation conditions over 1,000 ISBN partitions, no real fitting.

A temporary sqlite (or Postgres) Dagster instance holds N ISBN partitions whose assets are all materialized as
runless events (book_sales, weekly_sales with its `series_version`, arima_model with its age clock and the
`series_version` it decided on, its five passing checks as the model step emits them, sales_forecast, the report).
Then ticks of the project's automation sensor are timed, evaluated as the user code server evaluates them
(`AutomationTickEvaluationContext`, Dagster-internal, at a chosen evaluation time):

1. settling: the first tick of a fresh cursor (the conditions seeing the history for the first time);
2. idle: nothing stale, repeated; the target is < 3 s per tick at 10,000 ISBNs on Postgres;
3. series changed: 1 % of the weekly_sales partitions are materialized again with another `series_version` (a
   series run by hand); exactly those arima_model partitions must be requested, with their forecasts;
4. retrained: their model and forecast materialized with the new version (what the run writes); only the report
   may be requested;
5. aged: the evaluation time moves 15 days on, past ``max_model_age_days`` for the 1 % whose clocks were
   set older at setup; exactly those arima_model partitions must be requested.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor
from dagster._core.definitions.automation_tick_evaluation_context import AutomationTickEvaluationContext
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._core.event_api import AssetRecordsFilter
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.instance.utils import RUNLESS_JOB_NAME
from dagster._daemon.asset_daemon import asset_daemon_cursor_to_instigator_serialized_cursor

from arima_assets.data.isbn import is_valid_isbn13
from arima_assets.definitions import build_definitions
from arima_assets.defs.automation import AGE_CLOCK_METADATA_KEY, SERIES_VERSION_METADATA_KEY
from arima_assets.defs.checks import CHECKS
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
from benchmarks.settings import preset_config

__all__ = ["make_isbns", "run_automation_scale"]

MODEL = dg.AssetKey("arima_model")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
_SETUP_RUN_ID = "benchmark-setup"
#: The project's checks on arima_model (each passes at setup; each should run again after a retrain).
_CHECKS = tuple(CHECKS)


def make_isbns(n: int, start: int = 978_1_000_00000) -> list[str]:
    """`n` valid, distinct ISBN-13s (978 prefix, consecutive bodies, computed check digits)."""
    isbns = []
    for body in range(start, start + n):
        first12 = str(body)
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
        isbn = first12 + str((10 - total % 10) % 10)
        if not is_valid_isbn13(isbn):
            raise RuntimeError(f"generated ISBN {isbn} is not valid")
        isbns.append(isbn)
    return isbns


def _materialize(
    instance: dg.DagsterInstance, key: str, partition: str | None, metadata: dict[str, Any], version: str = "v1"
) -> None:
    """A runless materialization with a data version (as the project's assets report one)."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key, partition=partition, metadata=metadata, tags={DATA_VERSION_TAG: f"{partition}-{version}"}
        )
    )


def _latest_model_materialization(
    instance: dg.DagsterInstance, partition: str
) -> AssetCheckEvaluationTargetMaterializationData:
    """Pointer to the partition's latest arima_model materialization, which the model step's check results
    target."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MODEL, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        raise RuntimeError(f"arima_model[{partition}] has no materialization")
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def _passing_check(
    instance: dg.DagsterInstance, name: str, partition: str, target: AssetCheckEvaluationTargetMaterializationData
) -> None:
    """Report a passing check result on arima_model[partition], targeting its model materialization `target`, as
    the setup run's model step would (from a run: dagster 1.13 stores at most one runless evaluation per check and
    partition)."""
    evaluation = dg.AssetCheckEvaluation(
        asset_key=MODEL,
        check_name=name,
        passed=True,
        partition=partition,
        severity=dg.AssetCheckSeverity.WARN,
        description="benchmark: ok",
        target_materialization_data=target,
    )
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
        event_specific_data=evaluation,
        job_name=RUNLESS_JOB_NAME,
    )
    instance.report_dagster_event(event, run_id=_SETUP_RUN_ID)


def _model_metadata(clock: datetime, version: str = "v1") -> dict[str, Any]:
    return {
        "status": "trained",
        AGE_CLOCK_METADATA_KEY: dg.MetadataValue.timestamp(clock.timestamp()),
        SERIES_VERSION_METADATA_KEY: version,
    }


def _setup_isbn(instance: dg.DagsterInstance, isbn: str, clock: datetime, checks: tuple[str, ...]) -> None:
    """One ISBN's history in the order runs write it: series, model, its passing `checks`, forecast."""
    _materialize(instance, "weekly_sales", isbn, {"weeks": 530, SERIES_VERSION_METADATA_KEY: "v1"})
    _materialize(instance, "arima_model", isbn, _model_metadata(clock))
    target = _latest_model_materialization(instance, isbn)
    for name in checks:
        _passing_check(instance, name, isbn, target)
    _materialize(instance, "sales_forecast", isbn, {"horizon_weeks": 13})


def _setup(
    instance: dg.DagsterInstance,
    isbns: list[str],
    aged: set[str],
    start: datetime,
    age_days: float,
    writers: int = 1,
    checks: tuple[str, ...] = _CHECKS,
) -> float:
    """Materialize everything as runless events, ISBNs on `writers` threads; returns the seconds it took."""
    started = time.perf_counter()
    instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, isbns)
    _materialize(instance, "book_sales", None, {"isbns": len(isbns)})
    # aged clocks are set so that 15 days later they pass the limit; the rest stay far inside it
    clocks = [start - timedelta(days=age_days - 5 if isbn in aged else 10) for isbn in isbns]
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(lambda args: _setup_isbn(instance, *args, checks), zip(isbns, clocks, strict=True)))
    _materialize(instance, "retraining_report", None, {"total_books": len(isbns)})
    return time.perf_counter() - started


@contextlib.contextmanager
def _bulk_writer(instance: dg.DagsterInstance, database_url: str | None) -> Iterator[tuple[dg.DagsterInstance, int]]:
    """The instance the setup writes through, and how many threads: on Postgres a second instance on the same
    database with pooled connections and 4 writers (Dagster's default opens a connection per query: the 80,000
    events of 10,000 partitions took over 40 minutes); the timed ticks use the default instance, as the code
    server does."""
    if database_url is None:
        yield instance, 1
        return
    with dg.DagsterInstance.from_ref(instance.get_ref()) as writer:
        writer.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=8)
        yield writer, 4


def _automation_sensors(defs: dg.Definitions) -> list[dg.AutomationConditionSensorDefinition]:
    return [s for s in defs.get_repository_def().sensor_defs if isinstance(s, dg.AutomationConditionSensorDefinition)]


def _evaluate_sensors(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursors: dict[str, AssetDaemonCursor], when: datetime
) -> tuple[list[dg.RunRequest], dict[str, AssetDaemonCursor]]:
    """One tick of every automation sensor of `defs`, as the user code server evaluates it
    (`use_user_code_server=True`): the sensor's selection, run tags and cursor, at `when`.

    `dagster.evaluate_automation_conditions` is not used: it serialises the evaluations with the plain instance
    as dynamic-partitions store, one full partition-key query per condition node, which the real tick answers
    from its per-tick cache (measured: 1,100 queries against 91 at 300 partitions).
    """
    repository = defs.get_repository_def()
    requests: list[dg.RunRequest] = []
    updated: dict[str, AssetDaemonCursor] = {}
    for sensor in _automation_sensors(defs):
        cursor = cursors.get(sensor.name, AssetDaemonCursor.empty())
        context = AutomationTickEvaluationContext(
            evaluation_id=cursor.evaluation_id,
            instance=instance,
            asset_graph=repository.asset_graph,
            cursor=cursor,
            materialize_run_tags=sensor.run_tags,
            observe_run_tags={},
            auto_observe_asset_keys=set(),
            asset_selection=sensor.asset_selection,
            asset_job_keys=sensor.asset_job_keys,
            emit_backfills=sensor.emit_backfills,
            default_condition=sensor.default_condition,
            evaluation_time=when,
            logger=logging.getLogger("arima_assets.benchmark"),
        )
        run_requests, new_cursor, _ = context.evaluate()
        asset_daemon_cursor_to_instigator_serialized_cursor(new_cursor)  # the sensor returns it serialised
        requests.extend(run_requests)
        updated[sensor.name] = new_cursor
    return requests, updated


def _requested(run_requests: list[dg.RunRequest]) -> dict[str, set[str]]:
    """Requested partitions per asset or check key (an unpartitioned key counts as one partition, ''), from single
    run requests and from the backfills the sensor emits for multi-partition requests."""
    requested: dict[str, set[str]] = {}
    for request in run_requests:
        subset = request.asset_graph_subset  # a backfill (emit_backfills): the partitions of each asset
        if subset is not None:
            for key, partitions in subset.partitions_subsets_by_asset_key.items():
                requested.setdefault(key.to_user_string(), set()).update(partitions.get_partition_keys())
            for key in subset.non_partitioned_asset_keys:
                requested.setdefault(key.to_user_string(), set()).add("")
            continue
        keys = [*(request.asset_selection or []), *(request.asset_check_keys or [])]
        for key in keys:
            requested.setdefault(key.to_user_string(), set()).add(request.partition_key or "")
    return requested


def _tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    cursors: dict[str, AssetDaemonCursor],
    when: datetime,
    label: str,
    expected: set[str],
    expected_others: dict[str, int] | None = None,
) -> tuple[dict[str, Any], dict[str, AssetDaemonCursor]]:
    """One timed tick of both automation sensors; compares the arima_model partitions with `expected` and the
    other request counts with `expected_others` (what the project's design says should follow, e.g. a forecast
    after a new model)."""
    started = time.perf_counter()
    run_requests, cursors = _evaluate_sensors(defs, instance, cursors, when)
    seconds = time.perf_counter() - started
    requested = _requested(run_requests)
    model = requested.get(MODEL.to_user_string(), set())
    missing, extra = sorted(expected - model), sorted(model - expected)
    others = {key: len(parts) for key, parts in requested.items() if key != MODEL.to_user_string()}
    others_expected = expected_others or {}
    row = {
        "tick": label,
        "seconds": seconds,
        "runs_requested": len(run_requests),
        "requested": {key: len(parts) for key, parts in requested.items()},
        "model_requested": len(model),
        "model_expected": len(expected),
        "exact": not missing and not extra,
        "missing": missing[:10],
        "extra": extra[:10],
        "n_missing": len(missing),
        "n_extra": len(extra),
        "others_expected": others_expected,
        "others_as_designed": others == others_expected,
    }
    status = "OK" if row["exact"] else f"MISMATCH: {len(missing)} missing, {len(extra)} extra (e.g. {extra[:3]})"
    print(f"  automation tick {label:<24} {seconds:6.2f} s  arima_model {len(model):4d}/{len(expected):4d} {status}")
    if others != others_expected:
        print(f"    other requests {others} differ from the design's {others_expected}")
    return row, cursors


@contextlib.contextmanager
def _instance(folder: str, storage: str) -> Iterator[tuple[dg.DagsterInstance, str | None]]:
    """A temporary instance and its database URL: sqlite files in `folder` (no URL), or a fresh Postgres database
    (dropped afterwards)."""
    if storage == "sqlite":
        with dg.DagsterInstance.local_temp(folder) as instance:
            yield instance, None
        return
    if storage != "postgres":
        raise ValueError(f"storage must be 'sqlite' or 'postgres', got {storage!r}")
    import psycopg2

    database = f"arima_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(f"{PG_SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    try:
        settings = {"storage": {"postgres": {"postgres_url": f"{PG_SERVER}/{database}"}}}
        Path(folder, "dagster.yaml").write_text(yaml.safe_dump(settings))
        with dg.DagsterInstance.from_config(folder) as instance:
            yield instance, f"{PG_SERVER}/{database}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def _analyze(url: str) -> dict[str, Any]:
    """ANALYZE the benchmark's database after its bulk setup, as autovacuum does on a default server (this
    machine's server runs with autovacuum off; without statistics Postgres plans Dagster's check-state query as
    a nested loop: 15-16 s per tick at 2,000 partitions instead of 1.4 s, measured)."""
    import psycopg2

    with psycopg2.connect(url) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            autovacuum = cursor.fetchone()[0]
            started = time.perf_counter()
            cursor.execute("ANALYZE")
    return {"server_autovacuum": autovacuum, "analyze_seconds": time.perf_counter() - started}


def run_automation_scale(
    n_isbns: int = 1000,
    share: float = 0.01,
    idle_ticks: int = 3,
    folder: str | None = None,
    storage: str = "sqlite",
    with_checks: bool = True,
) -> dict[str, Any]:
    """The whole automation benchmark; returns JSON-serialisable rows per tick and the setup cost.

    Args:
        n_isbns: partitions.
        share: fraction of partitions made stale in each scenario (aged; series changed).
        idle_ticks: timed ticks with nothing stale.
        folder: where the temporary instance lives; default /dev/shm when present (sqlite commits are much
            cheaper on tmpfs than on disk), else the system temp folder.
        storage: ``sqlite`` (the instance of `dagster dev`) or ``postgres`` (the production profile's instance,
            a fresh database on the local server at 127.0.0.1:5432).
        with_checks: write each ISBN's five passing check evaluations at setup (the conditions do not read them;
            without them the setup writes 3 events per ISBN instead of 8).
    """
    config = preset_config("production")
    isbns = make_isbns(n_isbns)
    k = max(1, round(share * n_isbns))
    aged = set(isbns[1 :: (n_isbns // k)][:k])
    changed = set(isbns[3 :: (n_isbns // k)][:k]) - aged
    start = datetime(2024, 7, 22, 6, 0, tzinfo=UTC)
    parent = folder or ("/dev/shm" if Path("/dev/shm").is_dir() else None)
    with tempfile.TemporaryDirectory(prefix="arima-automation-", dir=parent) as tmp:
        config = config.model_copy(update={"state_dir": tmp})
        defs = build_definitions(config)
        with _instance(tmp, storage) as (instance, database_url):
            with _bulk_writer(instance, database_url) as (writer, threads):
                checks = _CHECKS if with_checks else ()
                setup = _setup(writer, isbns, aged, start, config.max_model_age_days, threads, checks)
            statistics_refresh = _analyze(database_url) if database_url else {}
            rows: list[dict[str, Any]] = []
            row, cursor = _tick(defs, instance, {}, start, "settling", set())
            rows.append(row)
            for i in range(idle_ticks):
                row, cursor = _tick(defs, instance, cursor, start + timedelta(hours=1 + i), f"idle {i + 1}", set())
                rows.append(row)
            for isbn in sorted(changed):
                _materialize(instance, "weekly_sales", isbn, {"weeks": 531, SERIES_VERSION_METADATA_KEY: "v2"})
            with_model = {"sales_forecast": len(changed)}  # a forecast runs in the same run as its model
            row, cursor = _tick(
                defs,
                instance,
                cursor,
                start + timedelta(hours=6),
                f"{len(changed)} series changed",
                changed,
                with_model,
            )
            rows.append(row)
            for isbn in sorted(changed):  # the run they asked for: model (with its checks) and forecast
                _materialize(instance, "arima_model", isbn, _model_metadata(start + timedelta(hours=6), "v2"), "v2")
                _materialize(instance, "sales_forecast", isbn, {"horizon_weeks": 13}, "v2")
            row, cursor = _tick(
                defs,
                instance,
                cursor,
                start + timedelta(hours=7),
                "changed ones retrained",
                set(),
                {"retraining_report": 1},
            )
            rows.append(row)
            row, cursor = _tick(
                defs,
                instance,
                cursor,
                start + timedelta(days=15),
                f"{len(aged)} past age limit",
                aged,
                {"sales_forecast": len(aged)},
            )
            rows.append(row)
    idle = [r["seconds"] for r in rows if r["tick"].startswith("idle")]
    return {
        "n_isbns": n_isbns,
        "storage": storage,
        "instance_folder": parent or tempfile.gettempdir(),
        "max_model_age_days": config.max_model_age_days,
        "setup_seconds": setup,
        "statistics_refresh": statistics_refresh,
        "setup_events": (3 + (len(_CHECKS) if with_checks else 0)) * n_isbns + 2,
        "idle_median_seconds": statistics.median(idle) if idle else float("nan"),
        "ticks": rows,
        "all_exact": all(r["exact"] for r in rows),
        "others_as_designed": all(r["others_as_designed"] for r in rows),
    }
