"""A landing page during a holdout after promotion: the holdout's visitors keep the control,
everyone else gets the winner, and exposures are recorded (so guardrails can be measured);
after the holdout the winner is served to all and no exposure is recorded."""

from __future__ import annotations

import datetime as dt

from experiments.assignment import hash_unit
from kernel.metadata.enums import ExperimentStatus
from kernel.metadata.models import Experiment
from publishing.landing import assignment_for


def test_holdout_keeps_the_control_for_its_share_and_records_exposures() -> None:
    exp = Experiment(key="hero", magnet_id="mag_1", status=ExperimentStatus.PROMOTED,
                     winner="C", holdout_share=0.05, holdout_days=30,
                     holdout_started_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
                     variants=[{"key": "A", "weight": 1 / 3}, {"key": "B", "weight": 1 / 3},
                               {"key": "C", "weight": 1 / 3}])
    served = {}
    for i in range(4_000):
        a = assignment_for(exp, f"visitor-{i}")
        assert a.records_exposure and a.experiment == "hero"
        assert a.variant == ("A" if hash_unit("hero", f"visitor-{i}") < 0.05 else "C")
        served[a.variant] = served.get(a.variant, 0) + 1
    assert set(served) == {"A", "C"} and 0.04 < served["A"] / 4_000 < 0.06
    exp.holdout_started_at = None  # the holdout ended: the winner for everyone, no exposure
    a = assignment_for(exp, "visitor-1")
    assert a.variant == "C" and not a.records_exposure
