"""MLflow pyfunc flavour of a kept ARIMA model: params-only JSON in, forecast frame out.

The model is logged "from code" (``_model_code.py``), so nothing is pickled: the artifact is the
``to_dict()`` JSON of an ``ArimaModel`` or an ``IntermittentModel``, and every prediction re-filters the kept
parameters on the weekly series it is given (no refit), then forecasts ``h`` weeks. Each forecast row carries
its week in the ``week_end`` column (ISO date), so the week survives MLflow serving, whose JSON answer drops the
index.

Bad input raises :class:`ModelInputError` (a ``ValueError`` and an ``MlflowException``), so a scoring server
answers HTTP 400 with the message naming what is wrong instead of MLflow's generic "unexpected error".

This module and ``arima_assets.forecasting`` (without the tuner) are the code logged with every registered
model (see ``_serving_code.py``): import nothing here beyond MLflow, pandas, NumPy, SciPy and statsmodels.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models.signature import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types.schema import AnyType, ColSpec, DataType, ParamSchema, ParamSpec, Schema

__all__ = [
    "DEFAULT_HORIZON",
    "EXAMPLE_WEEKS",
    "FORECAST_COLUMNS",
    "PAYLOAD_ARTIFACT",
    "SIGNATURE",
    "WEEK_END_COLUMN",
    "VOLUME_COLUMN",
    "ArimaForecastModel",
    "ModelInputError",
    "input_example",
    "weekly_series_from_input",
]

PAYLOAD_ARTIFACT = "arima_model"
"""Key of the params-only JSON file in the pyfunc ``artifacts`` mapping."""
WEEK_END_COLUMN = "week_end"
VOLUME_COLUMN = "volume"
DEFAULT_HORIZON = 13
WEEKLY_FREQ = "W-SAT"
FORECAST_COLUMNS = ("mean", "lo-80", "hi-80", "lo-95", "hi-95")
"""The forecast columns after :data:`WEEK_END_COLUMN` (point forecast, then the 80 % and 95 % intervals)."""
EXAMPLE_WEEKS = 52
"""Weeks of the model's own latest sales in the input example logged with it."""
SIGNATURE = ModelSignature(
    # week_end is optional when the rows are indexed by their weeks: a Series or a frame with a date index
    # in-process, or "index" (ISO dates) in a dataframe_split request; without either the answer says so.
    # volume accepts ints and floats (a "double" column would refuse an int64 frame in-process). Either way
    # weekly_series_from_input checks every row and names the bad one.
    inputs=Schema(
        [
            ColSpec(DataType.datetime, WEEK_END_COLUMN, required=False),
            ColSpec(AnyType(), VOLUME_COLUMN),
        ]
    ),
    outputs=Schema(
        [ColSpec(DataType.string, WEEK_END_COLUMN), *(ColSpec(DataType.double, c) for c in FORECAST_COLUMNS)]
    ),
    params=ParamSchema([ParamSpec("h", "long", DEFAULT_HORIZON)]),
)
"""Input ``week_end`` (Saturday dates) + ``volume``; output ``week_end`` (ISO date) + the forecast columns;
param ``h`` (weeks). The values themselves are validated by :func:`weekly_series_from_input`."""


class ModelInputError(MlflowException, ValueError):
    """Input the model cannot forecast from (the message names the column, row or param); HTTP 400 when served."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


def _indexed_by_dates(index: pd.Index) -> bool:
    """Whether a frame's index holds the weeks (dates, or date strings from a JSON request), not row numbers."""
    dated = {"string", "date", "datetime", "datetime64"}
    return isinstance(index, pd.DatetimeIndex) or (len(index) > 0 and index.inferred_type in dated)


def _weekly_index(values: pd.Series | pd.Index, where: str) -> pd.DatetimeIndex:
    try:
        index = pd.DatetimeIndex(pd.to_datetime(values))
    except (ValueError, TypeError) as exc:
        raise ModelInputError(f"{where}: week-ending dates must be dates (Saturdays), could not parse: {exc}") from exc
    if index.hasnans:
        row = int(pd.Series(index.isna()).to_numpy().argmax())
        raise ModelInputError(f"{where}: missing week-ending date at row {row}")
    not_saturday = index.dayofweek != 5
    if not_saturday.any():
        row = int(not_saturday.argmax())
        raise ModelInputError(
            f"{where}: week-ending dates must be Saturdays (W-SAT); row {row} is {index[row].date()} "
            f"({index[row].day_name()})"
        )
    duplicated = index.duplicated()
    if duplicated.any():
        row = int(duplicated.argmax())
        raise ModelInputError(f"{where}: week {index[row].date()} appears more than once (row {row})")
    return index


def weekly_series_from_input(model_input: pd.DataFrame | pd.Series) -> pd.Series:
    """Weekly volume series (W-SAT DatetimeIndex, missing weeks = 0 sales) from a pyfunc input.

    Args:
        model_input: A frame with columns ``week_end`` (Saturday dates) and ``volume``, or a Series of
            volumes (or a frame with a ``volume`` column) indexed by Saturday dates. Rows may come in any
            order.

    Returns:
        Float series named ``volume``, sorted, on a complete W-SAT index.

    Raises:
        ModelInputError: (a ValueError) Wrong type, missing column or weeks, empty input, a date that is not
            a Saturday, a duplicated week, or a volume that is missing or not a number (the message names the row).
    """
    if (
        isinstance(model_input, pd.DataFrame)
        and WEEK_END_COLUMN not in model_input.columns
        and VOLUME_COLUMN in model_input.columns
    ):
        if not _indexed_by_dates(model_input.index):
            raise ModelInputError(
                f"the weeks of the sales are missing: give a {WEEK_END_COLUMN!r} column of week-ending Saturdays "
                f"(YYYY-MM-DD) beside {VOLUME_COLUMN!r}, or index the rows by those dates (a pandas Series, or "
                f'"index" in a dataframe_split request); got columns {list(model_input.columns)} and rows '
                "numbered from 0"
            )
        # a Series that went through MLflow's schema enforcement, or a request whose rows are indexed by the weeks
        model_input = model_input[VOLUME_COLUMN]
    if isinstance(model_input, pd.DataFrame):
        missing = [c for c in (WEEK_END_COLUMN, VOLUME_COLUMN) if c not in model_input.columns]
        if missing:
            raise ModelInputError(
                f"model input frame needs columns {WEEK_END_COLUMN!r} and {VOLUME_COLUMN!r}; "
                f"missing {missing}, got {list(model_input.columns)}"
            )
        index = _weekly_index(model_input[WEEK_END_COLUMN], f"column {WEEK_END_COLUMN!r}")
        raw = model_input[VOLUME_COLUMN]
        where = f"column {VOLUME_COLUMN!r}"
    elif isinstance(model_input, pd.Series):
        index = _weekly_index(model_input.index, "series index")
        raw = model_input
        where = "series values"
    else:
        raise ModelInputError(
            f"model input must be a pandas DataFrame (columns {WEEK_END_COLUMN!r}, {VOLUME_COLUMN!r}) or a "
            f"Series indexed by week-ending Saturdays, got {type(model_input).__name__}"
        )
    if len(raw) == 0:
        raise ModelInputError("model input is empty: give at least the recent weeks of sales")
    volume = pd.to_numeric(pd.Series(raw.to_numpy(), index=index), errors="coerce")
    bad = volume.isna().to_numpy()
    if bad.any():
        row = int(bad.argmax())
        raise ModelInputError(
            f"{where}: volume at row {row} ({index[row].date()}) is missing or not a number: {raw.iloc[row]!r}"
        )
    series = volume.astype(float).sort_index()
    return series.asfreq(WEEKLY_FREQ, fill_value=0.0).rename(VOLUME_COLUMN)


def input_example(payload: Mapping[str, Any], weeks: int = EXAMPLE_WEEKS) -> pd.DataFrame | None:
    """The model's input example: its last `weeks` weeks of sales (``week_end`` as ISO dates, ``volume``).

    Built from the ``y_tail`` and ``index.end`` of a model's ``to_dict()`` payload. None when the
    payload has no dated Saturday weeks to show (a payload of integer positions, or not a model), or when the
    model cannot forecast from those weeks (a random walk on weeks of zeros, say): MLflow serves the example
    when the model is logged and would only warn.
    """
    from arima_assets.forecasting import model_from_dict  # lazy: statsmodels loads only when logging a model

    try:
        index, values = payload["index"], list(payload["y_tail"])[-weeks:]
        end = pd.Timestamp(index["end"]) if index.get("kind") == "datetime" else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if end is None or not values or end.dayofweek != 5:
        return None
    weeks_end = pd.date_range(end=end, periods=len(values), freq=WEEKLY_FREQ)
    example = pd.DataFrame({WEEK_END_COLUMN: weeks_end.strftime("%Y-%m-%d"), VOLUME_COLUMN: [float(v) for v in values]})
    try:
        model_from_dict(dict(payload), refilter=False).refresh(weekly_series_from_input(example)).forecast(1)
    except Exception:  # noqa: BLE001 - any failure means: no example, the signature still describes the input
        return None
    return example


def _horizon(params: dict[str, Any] | None) -> int:
    h = (params or {}).get("h", DEFAULT_HORIZON)
    if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
        raise ModelInputError(f"param 'h' (forecast horizon in weeks) must be an integer >= 1, got {h!r}")
    return int(h)


class ArimaForecastModel(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper: ``model_from_dict(payload).refresh(y).forecast(h)`` (an ARIMA or intermittent model).

    Holds no state until ``load_context`` reads the JSON artifact, so nothing heavy is ever pickled.
    Its code travels with the registered model (see ``_serving_code.py``): loading needs only its requirements.
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Read the params-only JSON named :data:`PAYLOAD_ARTIFACT` and rebuild the model it holds."""
        from arima_assets.forecasting import model_from_dict  # lazy: statsmodels loads only when serving

        payload = json.loads(Path(context.artifacts[PAYLOAD_ARTIFACT]).read_text(encoding="utf-8"))
        self._model = model_from_dict(payload)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Forecast frame after re-filtering the input: ``h`` rows indexed by the forecast weeks, columns
        ``week_end`` (the same weeks as ISO dates, kept in a JSON answer), mean, lo-80, hi-80, lo-95, hi-95.

        Args:
            context: MLflow context (unused; the model was read in ``load_context``).
            model_input: Recent weekly sales, a frame (``week_end``, ``volume``) or a Series; see
                :func:`weekly_series_from_input`.
            params: ``{"h": weeks}``; default :data:`DEFAULT_HORIZON`.
        """
        series = weekly_series_from_input(model_input)
        forecast = self._model.refresh(series).forecast(_horizon(params))
        forecast.insert(0, WEEK_END_COLUMN, pd.DatetimeIndex(forecast.index).strftime("%Y-%m-%d"))
        return forecast
