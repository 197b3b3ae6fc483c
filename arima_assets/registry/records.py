"""What the registry hands back: registered-model names, version info and the champion record; the names of the
artifacts and tags it keeps them under."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arima_assets.registry._inputs import check_isbn

__all__ = [
    "CHAMPION_ALIAS",
    "DECISION_FILE",
    "MODEL_NAME_PREFIX",
    "PAYLOAD_FILE",
    "PROMOTION_REASON_TAG",
    "PROMOTION_TAG",
    "RECORD_FILE",
    "RECORD_RUN_TAG",
    "ChampionRecord",
    "ModelVersionInfo",
    "model_name",
    "version_uri",
]

MODEL_NAME_PREFIX = "arima-"
CHAMPION_ALIAS = "champion"
PAYLOAD_FILE = "arima_model.json"
DECISION_FILE = "decision.json"
PROMOTION_TAG = "promotion"
PROMOTION_REASON_TAG = "promotion_reason"
#: The champion record (everything the decision engine needs) is a JSON artifact of an MLflow run; the version
#: tag `record_run_id` names the run holding the version's current record (default: the version's own run).
RECORD_FILE = "champion_record.json"
RECORD_RUN_TAG = "record_run_id"


def model_name(isbn: str) -> str:
    """Registered-model name of an ISBN: ``arima-<isbn>``.

    Raises:
        ValueError: ``isbn`` is not 1-100 letters, digits, ``_``, ``.``, ``-`` (first a letter/digit).
    """
    return f"{MODEL_NAME_PREFIX}{check_isbn(isbn)}"


def version_uri(isbn: str, version: int | str) -> str:
    """``models:/arima-<isbn>/<version>``, loadable with ``mlflow.pyfunc.load_model``."""
    return f"models:/{model_name(isbn)}/{version}"


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version of ``arima-<isbn>``."""

    isbn: str
    name: str
    version: int
    run_id: str | None
    model_id: str | None
    created: datetime
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """``models:/arima-<isbn>/<version>``, loadable with ``mlflow.pyfunc.load_model``."""
        return version_uri(self.isbn, self.version)


@dataclass(frozen=True)
class ChampionRecord:
    """The version behind the ``champion`` alias, with what the decision engine needs to judge it."""

    isbn: str
    name: str
    version: int
    run_id: str | None
    payload: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    created: datetime
