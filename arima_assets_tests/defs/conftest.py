"""A Dagster world for automation tests: real definitions, an sqlite instance, ticks and executions."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.partitions.context import partition_loading_context

from arima_assets.config import ArimaConfig, get_arima_config
from arima_assets.definitions import build_definitions
from arima_assets_tests.conftest import small_sales_frame, write_sales

UNPARTITIONED = ""  # how an unpartitioned asset's request is listed
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _key_name(key: dg.AssetKey | dg.AssetCheckKey) -> str:
    if isinstance(key, dg.AssetCheckKey):
        return f"{key.asset_key.to_user_string()}:{key.name}"
    return key.to_user_string()


class AutomationWorld:
    """Evaluates the automation conditions tick by tick and executes what they request."""

    def __init__(self, folder: Path, config: ArimaConfig):
        self.folder = folder
        self.config = config
        self.defs = build_definitions(config)
        (folder / "dagster").mkdir(parents=True, exist_ok=True)
        self.instance = dg.DagsterInstance.local_temp(str(folder / "dagster"))
        self.cursor = None
        self.now = datetime.now(UTC)
        self.definitions = list(self.defs.assets or []) + list(self.defs.asset_checks or [])
        self.resources = dict(self.defs.resources or {})
        self.tick_seconds: list[float] = []
        self.job = self.defs.resolve_implicit_global_asset_job_def()

    def tick(self, advance: timedelta = timedelta(minutes=1)) -> dict[str, set[str]]:
        """One evaluation of every automation condition; returns what it requested, by key."""
        import time

        self.now += advance
        started = time.perf_counter()
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=self.now
        )
        self.tick_seconds.append(time.perf_counter() - started)
        self.cursor = result.cursor
        requested: dict[str, set[str]] = defaultdict(set)
        with partition_loading_context(dynamic_partitions_store=self.instance):
            for entity in result.results:
                subset = entity.true_subset
                if subset.size:
                    keys = subset.expensively_compute_partition_keys() if subset.is_partitioned else {UNPARTITIONED}
                    requested[_key_name(entity.key)].update(keys)
        return dict(requested)

    def ingest(self) -> None:
        """Materialize book_sales (what the sales-files sensor requests)."""
        dg.materialize(
            self.definitions, QUIET, instance=self.instance, resources=self.resources, selection=["book_sales"]
        )

    def execute(self, requested: dict[str, set[str]], raise_on_error: bool = True) -> dict[str, bool]:
        """Run what a tick requested as a backfill would: the per-ISBN assets in runs over contiguous ranges of at
        most `batch_size` partitions, then the unpartitioned ones; returns each run's success by partition."""
        from arima_assets.defs._dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
        from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
        from arima_assets.pipeline import batches

        outcome: dict[str, bool] = {}
        partitioned = {key: keys for key, keys in requested.items() if keys != {UNPARTITIONED}}
        order = list(self.instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME))
        everything = set().union(*partitioned.values()) if partitioned else set()
        for batch in batches(sorted(everything), order, self.config.batch_size):
            assets = {dg.AssetKey(key) for key, keys in partitioned.items() if keys & set(batch)}
            job = self.job.get_subset(asset_selection=assets)
            tags = {ASSET_PARTITION_RANGE_START_TAG: batch[0], ASSET_PARTITION_RANGE_END_TAG: batch[-1]}
            result = job.execute_in_process(
                run_config=QUIET, instance=self.instance, tags=tags, raise_on_error=raise_on_error
            )
            outcome.update({isbn: result.success for isbn in batch})
        unpartitioned = {dg.AssetKey(key) for key, keys in requested.items() if keys == {UNPARTITIONED}}
        if unpartitioned:
            result = self.job.get_subset(asset_selection=unpartitioned).execute_in_process(
                run_config=QUIET, instance=self.instance, raise_on_error=raise_on_error
            )
            outcome[UNPARTITIONED] = result.success
        return outcome

    def model_metadata(self, isbn: str) -> dict[str, object]:
        """The metadata of the ISBN's latest arima_model materialization (values only)."""
        from arima_assets.defs._dagster_internals import AssetRecordsFilter

        records = self.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=dg.AssetKey("arima_model"), asset_partitions=[isbn]), limit=1
        ).records
        assert records, f"arima_model[{isbn}] was never materialized"
        return {key: value.value for key, value in records[0].asset_materialization.metadata.items()}

    def settle(self, max_ticks: int = 12) -> list[dict[str, set[str]]]:
        """Tick and execute until a tick requests nothing; returns each tick's requests."""
        history = []
        for _ in range(max_ticks):
            requested = self.tick()
            history.append(requested)
            if not requested:
                return history
            self.execute(requested)
        raise AssertionError(f"automation did not settle in {max_ticks} ticks: {history}")

    def check_results(self, check: str, partition: str) -> list[str]:
        """Statuses (SUCCEEDED = passed, FAILED) of a check's executions for a partition, oldest first."""
        records = self.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("arima_model"), check), limit=1000
        )
        return [record.status.value for record in reversed(records) if record.partition == partition]


def settled_world(folder: Path, **overrides: object) -> AutomationWorld:
    """A world on the small sample in `folder` (testing preset, 2 trials, `overrides`), ingested and settled."""
    write_sales(small_sales_frame(), folder / "sales" / "export.csv")
    config = get_arima_config(
        "testing",
        **{
            "n_trials": 2,
            "sales_path": str(folder / "sales"),
            "state_dir": str(folder / "state"),
            "mlflow_tracking_uri": f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}",
            **overrides,
        },
    )
    world = AutomationWorld(folder, config)
    world.ingest()
    world.settle()
    return world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> AutomationWorld:
    """Two ISBNs of the sample (200 weeks) under the testing preset, nothing materialized yet."""
    folder = tmp_path_factory.mktemp("world")
    write_sales(small_sales_frame(), folder / "sales" / "export.csv")
    config = get_arima_config(
        "testing",
        sales_path=str(folder / "sales"),
        state_dir=str(folder / "state"),
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}",
    )
    return AutomationWorld(folder, config)
