"""Sales data: the Nielsen BookScan loader, ISBN validation, and the shipped synthetic sample.

No Dagster or MLflow here: ``load_sales`` returns a plain :class:`SalesData` that the Dagster layer wraps.
"""

from arima_assets.data.isbn import InvalidIsbnError, is_valid_isbn13, normalize_isbn
from arima_assets.data.nielsen import REQUIRED_COLUMNS, RowProblem, SalesData, SalesDataError, load_sales

__all__ = [
    "REQUIRED_COLUMNS",
    "InvalidIsbnError",
    "RowProblem",
    "SalesData",
    "SalesDataError",
    "is_valid_isbn13",
    "load_sales",
    "normalize_isbn",
]
