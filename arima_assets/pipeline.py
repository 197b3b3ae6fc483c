"""Python API: run the asset graph in-process and return the retraining report."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from filelock import FileLock

from arima_assets.config import ArimaConfig, default_tracking_uri, get_arima_config
from arima_assets.decision import StepStatus
from arima_assets.defs._dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from arima_assets.defs.partitions import ISBN_PARTITIONS_NAME
from arima_assets.report import build_report
from arima_assets.store import ModelStore, Outcome, open_model_store

__all__ = ["batches", "book_sales_arima_modeling_pipeline", "config_for_output_dir", "ignore_dagster_warnings"]

logger = logging.getLogger(__name__)

_PER_ISBN = ["weekly_sales", "arima_model", "sales_forecast"]
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def ignore_dagster_warnings() -> None:
    """Add filters hiding Dagster's notices about the APIs this project uses: beta, preview and supersession
    warnings, and DeprecationWarnings raised in dagster or dagster_mlflow code.

    Call it inside ``warnings.catch_warnings()``, which restores the filters on exit: the API and the CLI hide
    these notices from their users only while they build and run the definitions, never process-wide (tests
    and ``dagster dev`` still show them).
    """
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"dagster(_[a-z]+)?(\.|$)")


@contextlib.contextmanager
def _dagster_warnings_ignored() -> Iterator[None]:
    with warnings.catch_warnings():
        ignore_dagster_warnings()
        yield


def config_for_output_dir(config: ArimaConfig | None, output_dir: Path) -> ArimaConfig:
    """The configuration with its state (Dagster instance, model store, MLflow store) kept under `output_dir`.

    An explicitly set MLflow tracking URI is kept; a derived local one moves under `output_dir`.
    """
    base = config or get_arima_config()
    values = base.as_dict()
    values["state_dir"] = str(output_dir)
    if values["mlflow_tracking_uri"] == default_tracking_uri(base.environment, Path(base.state_dir)):
        values["mlflow_tracking_uri"] = ""
    environment = values.pop("environment")
    return get_arima_config(environment, **values)


def book_sales_arima_modeling_pipeline(
    output_dir: str | Path | None = None,
    selected_isbns: list[str] | None = None,
    config: ArimaConfig | None = None,
) -> dict[str, Any]:
    """Ingest the sales files, then for each ISBN refresh its series, decide, train only if stale, and forecast.

    Decides before launching anything (`arima_assets.triage`): an ISBN whose series, champion and forecast are
    unchanged and whose champion the decision engine keeps is reported as reused without a Dagster run; the
    others run the Dagster assets in-process on an instance kept under `output_dir`, in runs of at most
    `batch_size` ISBNs (contiguous ranges of the partition set); one ISBN's failure does not stop the others.
    Calling it again with the same `output_dir` and unchanged data reuses every model and launches no run.

    Args:
        output_dir: folder for the Dagster instance, model store, tables and MLflow store
            (default: `<state_dir>/pipeline`).
        selected_isbns: ISBNs to model (default: every valid ISBN in the sales files).
        config: settings (default: `get_arima_config()`).

    Returns:
        The retraining report: total_books, successful_models, reused_models, newly_trained_models,
        failed_models, reuse_rate, configuration, retraining_stats, decisions.

    Raises:
        ValueError: a selected ISBN is not in the sales data, `output_dir` cannot be used as a folder, or the
            sales files cannot be loaded (`SalesDataError`, naming the file and the problem).
    """
    with _dagster_warnings_ignored():  # Dagster's beta/preview notices are for us, not for the API's users
        return _run_pipeline(output_dir, selected_isbns, config)


class _Runs:
    """In-process Dagster runs of the project's assets; the definitions are built on the first run only (an idle
    call builds none)."""

    def __init__(self, config: ArimaConfig, instance: dg.DagsterInstance):
        self._config = config
        self._instance = instance
        self._defs: dg.Definitions | None = None
        self.launched = 0

    def materialize(self, selection: list[str], partitions: tuple[str, str] | None = None) -> dg.ExecuteInProcessResult:
        """Run the selected assets, over the partition range `partitions` (first, last key) when given; errors are
        raised for unpartitioned selections only (a batch's failures are read from its outcomes)."""
        if self._defs is None:
            from arima_assets.definitions import build_definitions  # heavy import, only when a run is needed

            self._defs = build_definitions(self._config)
        self.launched += 1
        tags = {"arima_assets/source": "python_api"}
        if partitions is not None:
            tags.update({ASSET_PARTITION_RANGE_START_TAG: partitions[0], ASSET_PARTITION_RANGE_END_TAG: partitions[1]})
        return dg.materialize(
            list(self._defs.assets or []),
            _QUIET,
            instance=self._instance,
            resources=dict(self._defs.resources or {}),
            selection=selection,
            raise_on_error=partitions is None,
            tags=tags,
        )


#: The largest run of ISBNs needing nothing that the Python API carries inside a batch rather than split it in two:
#: an ISBN carried along costs a reuse decision and a forecast refresh (about 0.1-0.2 s), an extra in-process run
#: 1.5-3 s of start-up and per-run events. Titles without a new week (long-tail weeks without a sale, titles out of
#: print) would otherwise cut a weekly file's contiguous ranges into many small runs.
BRIDGED_GAP = 8


def batches(
    work: list[str], order: list[str], batch_size: int, max_gap: int = 0, bridgeable: set[str] | None = None
) -> list[list[str]]:
    """The ISBNs of `work` as runs over contiguous ranges of the partition `order`, each range at most
    `batch_size` partitions long. A gap of at most `max_gap` partitions between two ISBNs of `work`, all of them in
    `bridgeable` (default: none), is carried inside the range instead of starting a new run; with `max_gap=0` (as
    Dagster's backfills split) a run never touches an ISBN outside `work`. Returns each run's ISBNs of `work`; the
    run covers its first to its last."""
    position = {isbn: i for i, isbn in enumerate(order)}
    allowed = bridgeable or set()
    runs: list[list[str]] = []
    for isbn in sorted(work, key=position.__getitem__):
        last = runs[-1] if runs else None
        if last is not None and _joins(last, isbn, position, order, batch_size, max_gap, allowed):
            last.append(isbn)
        else:
            runs.append([isbn])
    return runs


def _joins(
    run: list[str], isbn: str, position: dict[str, int], order: list[str], size: int, max_gap: int, allowed: set[str]
) -> bool:
    """Whether `isbn` extends `run`: the range stays within `size` partitions and what lies between is bridgeable."""
    start, end, new = position[run[0]], position[run[-1]], position[isbn]
    if new - start + 1 > size or new - end - 1 > max_gap:
        return False
    return all(key in allowed for key in order[end + 1 : new])


def _run_pipeline(
    output_dir: str | Path | None, selected_isbns: list[str] | None, config: ArimaConfig | None
) -> dict[str, Any]:
    from arima_assets.data.nielsen import load_sales
    from arima_assets.triage import ingest_is_current, triage

    base = config or get_arima_config()
    folder = _writable_folder(Path(output_dir) if output_dir is not None else Path(base.state_dir) / "pipeline")
    config = config_for_output_dir(base, folder.resolve())
    data = load_sales(config.sales_path, absent_weeks=config.absent_weeks, max_weekly_volume=config.max_weekly_volume)
    instance = _open_instance(folder / "dagster")
    runs = _Runs(config, instance)
    try:
        if not ingest_is_current(instance, data):  # new or changed files: ingest them (adds new ISBN partitions)
            runs.materialize(["book_sales"])
        order = list(instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME))  # the partition set's order: run ranges
        isbns = _select(sorted(order), selected_isbns, data.rejected_isbns)
        store = open_model_store(config.state_dir, config.mlflow_tracking_uri)
        plan = triage(instance, store, config, data, isbns)
        outcomes: dict[str, Outcome] = dict(plan.reused)
        for batch in batches(list(plan.work), order, config.batch_size, BRIDGED_GAP, set(isbns)):
            logger.info("run for %d ISBN(s) %s..%s (%s)", len(batch), batch[0], batch[-1], plan.work[batch[0]])
            result = runs.materialize(_PER_ISBN, partitions=(batch[0], batch[-1]))
            for isbn in batch:
                outcomes[isbn] = _outcome_of(isbn, result, store)
        if runs.launched:
            runs.materialize(["retraining_report"])
        if plan.reused:
            _log_reuse(config, plan.reused)
    finally:
        instance.dispose()
    return build_report(outcomes, isbns, config.public_dict())


def _log_reuse(config: ArimaConfig, reused: dict[str, Outcome]) -> None:
    """One MLflow run for the ISBNs reused without a run: their count, the fit seconds saved, their decisions."""
    from arima_assets.triage import open_registry

    registry = open_registry(config)
    decisions = {isbn: outcome.decision for isbn, outcome in sorted(reused.items())}
    saved = sum(outcome.fit_seconds_saved for outcome in reused.values())
    registry.log_reuse_summary(
        decisions, saved, {"arima_assets/source": "python_api", "deployment": config.environment}
    )


def _writable_folder(folder: Path) -> Path:
    """`folder`, created if needed; a clear error naming it when it is a file, cannot be created or written."""
    try:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"output_dir {str(folder)!r} is a file, not a folder; pass a folder path")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"output_dir {str(folder)!r} cannot be created: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"output_dir {str(folder)!r} is not writable by this user")
    return folder


#: Seconds a process waits for another one creating the same Dagster instance.
_INSTANCE_INIT_TIMEOUT = 300


def _open_instance(folder: Path) -> dg.DagsterInstance:
    """The Dagster instance under `folder`. Its sqlite storages are created with migrations on first use, and
    several processes doing that at once corrupt them ("table ... already exists"): creation and a first
    read of each storage are serialised by a file lock beside them.

    Raises:
        ValueError: the folder or one of its sqlite files cannot be used, naming the path and why.
    """
    from filelock import Timeout
    from sqlalchemy.exc import OperationalError

    lock = folder / ".instance-init.lock"
    where = f"the Dagster instance folder {str(folder)!r} (under output_dir) cannot be used"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(lock, timeout=_INSTANCE_INIT_TIMEOUT):
            instance = dg.DagsterInstance.local_temp(tempdir=str(folder))
            instance.get_runs(limit=1)
            instance.get_dynamic_partitions(ISBN_PARTITIONS_NAME)
            instance.get_latest_materialization_event(dg.AssetKey("book_sales"))
    except Timeout as exc:  # an OSError too: said apart from an unusable path
        raise ValueError(
            f"{where}: another process has held {str(lock)!r} for {_INSTANCE_INIT_TIMEOUT} s while creating it"
        ) from exc
    except OSError as exc:
        path = str(exc.filename or folder).rstrip("/")
        why = {
            FileExistsError: f"{path!r} is a file, not a folder",
            NotADirectoryError: f"a part of {path!r} is a file, not a folder",
            PermissionError: f"{path!r} is not writable by this user",
        }.get(type(exc), f"{path!r}: {exc.strerror or exc}")
        raise ValueError(f"{where}: {why}") from exc
    except OperationalError as exc:  # sqlite could not open or create one of its databases
        raise ValueError(
            f"{where}: a sqlite database under it cannot be opened ({exc.orig}); a *.db path there is a folder, "
            "unreadable, or on a full or read-only disk"
        ) from exc
    return instance


def _select(known: list[str], selected: list[str] | None, rejected: dict[str, str] | None = None) -> list[str]:
    """The selected ISBNs (all known ones by default); an unknown one is an error naming why it is missing (its
    rows were rejected while loading, or it is in no sales file)."""
    if selected is None:
        return known
    from arima_assets.data.isbn import normalize_isbn

    wanted = [normalize_isbn(isbn) for isbn in selected]
    unknown = [isbn for isbn in wanted if isbn not in known]
    if unknown:
        rejected = rejected or {}
        why = [f"{isbn}: rejected while loading: {rejected[isbn]}" for isbn in unknown if isbn in rejected]
        absent = [isbn for isbn in unknown if isbn not in rejected]
        parts = [*why, *([f"not in the sales data: {absent}"] if absent else [])]
        raise ValueError(f"selected ISBNs cannot be modelled ({len(known)} ISBNs loaded): {'; '.join(parts)}")
    return list(dict.fromkeys(wanted))


def _root_message(error: object) -> str:
    """The message of the innermost cause of a Dagster error (the step's own exception, not Dagster's wrapper)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(getattr(error, "message", error)).strip()


def _outcome_of(isbn: str, result: dg.ExecuteInProcessResult, store: ModelStore) -> Outcome:
    """The ISBN's outcome in this run; a run that failed before the model step still counts as failed."""
    outcome = store.get_run_outcome(result.run_id, isbn)
    if outcome is not None:
        return outcome
    if result.success:
        raise RuntimeError(f"run {result.run_id} for ISBN {isbn} succeeded but recorded no model outcome")
    errors = [
        _root_message(data.error)
        for data in (event.event_specific_data for event in result.all_events)
        if getattr(data, "error", None) is not None
    ]
    error = errors[0] if errors else f"run {result.run_id} failed"
    failed = Outcome(isbn=isbn, status=StepStatus.FAILED, decision={}, run_id=result.run_id, error=error)
    store.put_outcome(failed)
    return failed
