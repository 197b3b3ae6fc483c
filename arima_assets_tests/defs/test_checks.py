"""Which trigger verdict each model check shows."""

from arima_assets.decision import Trigger, TriggerResult
from arima_assets.defs.checks import _verdict


def test_model_drift_shows_a_break_that_fired_before_drift_had_its_evidence() -> None:
    drift = TriggerResult(Trigger.DRIFT, False, "2 of 8 weeks of evidence", None, 4.0)
    broke = TriggerResult(Trigger.BREAK, True, "level CUSUM 9.1 > 5.6 after 1 week", 9.1, 5.6)
    shown = _verdict("model_drift", [drift, broke])
    assert shown.fired and shown.trigger == Trigger.BREAK and shown.observed == 9.1
    calm = TriggerResult(Trigger.BREAK, False, "level CUSUM 0.4 <= 5.6", 0.4, 5.6)
    assert _verdict("model_drift", [drift, calm]) is drift, "nothing fired: drift's verdict, first"
    assert _verdict("forecast_performance", [drift, broke]).reason == "not judged: no series or no champion"
