"""attribute() on degenerate and malformed input: empty results or a clear error, no NaN."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.attribution import MODELS, AttributionInputError, attribute

FRAME = pl.DataFrame({
    "path": [["A", "B"], ["A"], ["B"]],
    "conversions": [1, 0, 1], "non_conversions": [0, 1, 1], "value": [100.0, 0.0, 60.0],
})


def rows(frame: pl.DataFrame, model: str) -> list[tuple[str, float, float]]:
    return attribute(frame, model).rows()  # type: ignore[arg-type]


@pytest.mark.parametrize("model", MODELS)
def test_empty_frame_gives_empty_result(model: str) -> None:
    empty = pl.DataFrame(schema={"path": pl.List(pl.String), "conversions": pl.Int64,
                                 "non_conversions": pl.Int64, "value": pl.Float64,
                                 "touch_times": pl.List(pl.Float64)})
    out = attribute(empty, model)  # type: ignore[arg-type]
    assert out.height == 0 and out.columns == ["channel", "conversions", "value"]


@pytest.mark.parametrize("model", MODELS)
def test_no_conversions_gives_zero_credit(model: str) -> None:
    frame = pl.DataFrame({"path": [["a", "b"], ["b"]], "conversions": [0, 0],
                          "non_conversions": [3, 1], "touch_times": [[0.0, 1.0], [0.0]]})
    out = attribute(frame, model)  # type: ignore[arg-type]
    assert out["channel"].to_list() == ["a", "b"]
    assert out["conversions"].to_list() == [0.0, 0.0] and out["value"].to_list() == [0.0, 0.0]


@pytest.mark.parametrize("model", MODELS)
def test_single_channel_takes_everything(model: str) -> None:
    frame = pl.DataFrame({"path": [["a", "a"], ["a"]], "conversions": [2, 1],
                          "non_conversions": [1, 4], "value": [9.0, 1.0],
                          "touch_times": [[0.0, 1.0], [0.0]]})
    assert rows(frame, model) == [("a", pytest.approx(3.0), pytest.approx(10.0))]


@pytest.mark.parametrize(("frame", "column"), [
    (pl.DataFrame({"conversions": [1]}), "path"),
    (pl.DataFrame({"path": [["a"]]}), "conversions"),
    (pl.DataFrame({"path": ["a > b"], "conversions": [1]}), "path"),
    (pl.DataFrame({"path": [["a", None]], "conversions": [1]}), "path"),
    (pl.DataFrame({"path": [[]], "conversions": [1]}, schema_overrides={
        "path": pl.List(pl.String)}), "path"),
    (pl.DataFrame({"path": [["a"]], "conversions": [-1]}), "conversions"),
    (pl.DataFrame({"path": [["a"]], "conversions": [None]}, schema_overrides={
        "conversions": pl.Int64}), "conversions"),
    (pl.DataFrame({"path": [["a"]], "conversions": [0], "value": [5.0]}), "value"),
])
def test_bad_input_names_the_column(frame: pl.DataFrame, column: str) -> None:
    with pytest.raises(AttributionInputError) as err:
        attribute(frame, "linear")
    assert err.value.column == column


def test_time_decay_input_errors() -> None:
    base = pl.DataFrame({"path": [["a", "b"]], "conversions": [1]})
    with pytest.raises(AttributionInputError, match="touch_times"):
        attribute(base, "time_decay")
    with pytest.raises(AttributionInputError, match="one time per touch"):
        attribute(base.with_columns(touch_times=pl.Series([[0.0]])), "time_decay")
    with pytest.raises(AttributionInputError, match="after their conversion_time"):
        attribute(base.with_columns(touch_times=pl.Series([[0.0, 10.0]]),
                                    conversion_time=pl.Series([5.0])), "time_decay")


def test_parameter_errors() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        attribute(FRAME, "u_shaped")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order"):
        attribute(FRAME, "markov", order=0)
    with pytest.raises(ValueError, match="half_life_days"):
        attribute(FRAME, "linear", half_life_days=0)
    with pytest.raises(TypeError):
        attribute(FRAME.to_dicts(), "linear")  # type: ignore[arg-type]


def test_empty_non_converting_paths_are_ignored() -> None:
    blank = pl.DataFrame({"path": [[]], "conversions": [0], "non_conversions": [7],
                          "value": [0.0]}, schema=FRAME.schema)
    for model in MODELS:
        if model != "time_decay":
            assert rows(pl.concat([FRAME, blank]), model) == rows(FRAME, model)
