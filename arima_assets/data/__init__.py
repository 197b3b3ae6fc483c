"""Sales data: the Nielsen BookScan loader, ISBN validation, and the shipped synthetic sample.

No Dagster or MLflow here: ``load_sales`` returns a plain :class:`SalesData` that the Dagster layer wraps.
"""

from arima_assets.data.isbn import InvalidIsbnError, is_valid_isbn13, normalize_isbn
from arima_assets.data.nielsen import (
    ABSENT_WEEKS,
    DEFAULT_ABSENT_WEEKS,
    DEFAULT_MAX_WEEKLY_VOLUME,
    REQUIRED_COLUMNS,
    AbsentWeeks,
    RowProblem,
    SalesData,
    SalesDataError,
    load_sales,
)

__all__ = [
    "ABSENT_WEEKS",
    "DEFAULT_ABSENT_WEEKS",
    "DEFAULT_MAX_WEEKLY_VOLUME",
    "REQUIRED_COLUMNS",
    "AbsentWeeks",
    "InvalidIsbnError",
    "RowProblem",
    "SalesData",
    "SalesDataError",
    "is_valid_isbn13",
    "load_sales",
    "normalize_isbn",
]
