"""The console script: `arima-assets run` prints the summary; bad input exits 2 with the message."""

from pathlib import Path

import pytest

from arima_assets.cli import main
from arima_assets_tests.conftest import SMALL_ISBNS, small_sales_frame, write_sales


def test_run_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sales(small_sales_frame([SMALL_ISBNS[1]], weeks=120), tmp_path / "sales" / "export.csv")
    args = ["run", "--env", "testing", "--output-dir", str(tmp_path / "out"), "--sales-path", str(tmp_path / "sales")]
    assert main([*args, "--n-trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "newly_trained_models: 1" in out and "reuse_rate: 0.0" in out
    assert f"{SMALL_ISBNS[1]}  trained" in out


def test_invalid_setting_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIMA_MAX_MODEL_AGE_DAYS", "-1")
    assert main(["run", "--output-dir", str(tmp_path)]) == 2
    assert "ARIMA_MAX_MODEL_AGE_DAYS='-1' is invalid" in capsys.readouterr().err


def test_config_command_prints_effective_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--env", "testing"]) == 0
    assert '"n_trials": 3' in capsys.readouterr().out
