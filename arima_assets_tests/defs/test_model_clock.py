"""The model clock condition's reads: every partition's age clock, deserialising only new materializations."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from arima_assets.defs.automation import AGE_CLOCK_METADATA_KEY, latest_age_clocks
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME

MODEL = dg.AssetKey("arima_model")
A, B, C = "9780141439471", "9780141439518", "9780241003008"


def _materialize(instance: dg.DagsterInstance, isbn: str, clock: datetime | None) -> None:
    metadata = {AGE_CLOCK_METADATA_KEY: dg.MetadataValue.timestamp(clock.timestamp())} if clock else {}
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=MODEL, partition=isbn, metadata=metadata))


class _CountingReads:
    """Counts the materialization records an instance deserialises through fetch_materializations."""

    def __init__(self, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch):
        self.records = 0
        original = instance.fetch_materializations

        def counting(*args, **kwargs):
            result = original(*args, **kwargs)
            self.records += len(result.records)
            return result

        monkeypatch.setattr(instance, "fetch_materializations", counting)


def test_clocks_are_read_once_per_materialization(tmp_path, monkeypatch) -> None:
    jan, feb, mar = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, [A, B, C])
        _materialize(instance, A, jan)
        _materialize(instance, B, feb)
        reads = _CountingReads(instance, monkeypatch)

        assert latest_age_clocks(instance, MODEL, {A, B, C}) == {A: jan, B: feb}, "C was never materialized"
        assert reads.records == 2

        assert latest_age_clocks(instance, MODEL, {A, B, C}) == {A: jan, B: feb}
        assert reads.records == 2, "an unchanged partition is not deserialised again"

        _materialize(instance, A, mar)  # a retrain restarts A's clock
        assert latest_age_clocks(instance, MODEL, {A, B}) == {A: mar, B: feb}
        assert reads.records == 3, "only A's new materialization is read"

        # the code server builds a new instance object per tick: the same event store shares what was read
        with dg.DagsterInstance.from_ref(instance.get_ref()) as again:
            other = _CountingReads(again, monkeypatch)
            assert latest_age_clocks(again, MODEL, {A, B}) == {A: mar, B: feb}
            assert other.records == 0


def test_a_materialization_without_clock_metadata_counts_from_its_time(tmp_path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, [A])
        before = datetime.now(UTC)
        _materialize(instance, A, None)
        clock = latest_age_clocks(instance, MODEL, {A})[A]
        assert before.timestamp() - 1 <= clock.timestamp() <= datetime.now(UTC).timestamp() + 1


def test_other_event_stores_do_not_share_clocks(tmp_path) -> None:
    jan, feb = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with (
        dg.instance_for_test(temp_dir=str(tmp_path / "one")) as one,
        dg.instance_for_test(temp_dir=str(tmp_path / "two")) as two,
    ):
        for instance, clock in ((one, jan), (two, feb)):
            instance.add_dynamic_partitions(ISBN_PARTITIONS_NAME, [A])
            _materialize(instance, A, clock)  # the same partition at the same storage id in both stores
        assert latest_age_clocks(one, MODEL, {A}) == {A: jan}
        assert latest_age_clocks(two, MODEL, {A}) == {A: feb}
