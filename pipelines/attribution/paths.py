"""Input validation, path aggregation and integer encoding shared by every model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

RESULT_SCHEMA: dict[str, type[pl.DataType]] = {
    "channel": pl.String,
    "conversions": pl.Float64,
    "value": pl.Float64,
}


class AttributionInputError(ValueError):
    """The paths frame cannot be attributed; ``column`` names the offending input column."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class EncodedPaths:
    """Paths as flat integer arrays: path ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.

    Every path has at least one touch; ``channels[code]`` names a code.
    """

    channels: list[str]
    codes: np.ndarray  # int64, one entry per touch
    offsets: np.ndarray  # int64, len(paths) + 1
    conversions: np.ndarray  # float64 per path
    non_conversions: np.ndarray  # float64 per path
    value: np.ndarray  # float64 per path
    touch_times: np.ndarray | None = None  # float64 seconds per touch (time_decay only)
    conversion_time: np.ndarray | None = None  # float64 seconds per path, NaN = unknown

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> np.ndarray:
        """Index of the path each touch belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)


def _numeric(df: pl.DataFrame, column: str, default: float | None) -> pl.Series:
    if column not in df.columns:
        if default is None:
            raise AttributionInputError(f"paths frame needs a '{column}' column", column=column)
        return pl.Series(column, np.full(df.height, default, dtype=np.float64))
    s = df[column]
    if not s.dtype.is_numeric():
        raise AttributionInputError(f"'{column}' must be numeric, got {s.dtype}", column=column)
    s = s.cast(pl.Float64)
    if column == "value":
        s = s.fill_null(0.0)
    if s.null_count() or s.is_nan().any() or s.is_infinite().any():
        raise AttributionInputError(f"'{column}' has null, NaN or infinite entries",
                                    column=column)
    if (s < 0).any():
        raise AttributionInputError(f"'{column}' must be >= 0", column=column)
    return s


def _path_column(df: pl.DataFrame) -> pl.Series:
    if "path" not in df.columns:
        raise AttributionInputError("paths frame needs a 'path' column", column="path")
    s = df["path"]
    if s.dtype == pl.String:
        raise AttributionInputError(
            "'path' must be a list of channels; split strings first, "
            "e.g. pl.col('path').str.split(' > ')", column="path")
    if not isinstance(s.dtype, pl.List):
        raise AttributionInputError(f"'path' must be list[str], got {s.dtype}", column="path")
    s = s.cast(pl.List(pl.String))
    if s.null_count() or s.explode(empty_as_null=False, keep_nulls=False).null_count():
        raise AttributionInputError("'path' has null paths or null channels", column="path")
    return s


def validated_frame(df: pl.DataFrame, *, with_times: bool = False) -> pl.DataFrame:
    """Return ``path, conversions, non_conversions, value`` (+ times) checked and typed.

    Rows with an empty path and no conversions are dropped; an empty path that converts
    is an error because no channel can take its credit.
    """
    if not isinstance(df, pl.DataFrame):
        raise TypeError(f"paths must be a polars DataFrame, got {type(df).__name__}")
    cols = [
        _path_column(df),
        _numeric(df, "conversions", None),
        _numeric(df, "non_conversions", 0.0),
        _numeric(df, "value", 0.0),
    ]
    if with_times:
        if "touch_times" not in df.columns:
            raise AttributionInputError("time_decay needs a 'touch_times' column",
                                        column="touch_times")
        cols.append(df["touch_times"])
        if "conversion_time" in df.columns:
            cols.append(df["conversion_time"])
    out = pl.DataFrame(cols)
    bad = out.filter((pl.col("value") > 0) & (pl.col("conversions") == 0))
    if bad.height:
        raise AttributionInputError(
            f"{bad.height} row(s) have value > 0 but no conversions", column="value")
    empty = pl.col("path").list.len() == 0
    if out.filter(empty & (pl.col("conversions") > 0)).height:
        raise AttributionInputError("a converting row has an empty path", column="path")
    return out.filter(~empty)


def _seconds(s: pl.Series, column: str) -> pl.Series:
    """Datetime (any unit / zone) or numeric seconds → float seconds."""
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.epoch("us").cast(pl.Float64) / 1e6
    if s.dtype.is_numeric():
        return s.cast(pl.Float64)
    raise AttributionInputError(
        f"'{column}' must hold datetimes or float seconds, got {s.dtype}", column=column)


def encode(df: pl.DataFrame, *, aggregate: bool = True, with_times: bool = False
           ) -> EncodedPaths:
    """Validate ``df``, optionally sum identical paths, and encode channels as integers.

    Args:
        df: the caller's paths frame (see :func:`pipelines.attribution.attribute`).
        aggregate: group identical paths first (all models except ``time_decay``).
        with_times: also decode ``touch_times``/``conversion_time``; only rows carrying
            conversions are kept, since the others take no credit.
    """
    frame = validated_frame(df, with_times=with_times)
    if aggregate and not with_times and frame.height:
        frame = frame.group_by("path", maintain_order=True).agg(
            pl.col("conversions", "non_conversions", "value").sum())
    # Every channel in the input gets a row, even one only seen on non-converting rows.
    channels = sorted(frame["path"].explode(empty_as_null=False).unique().to_list())
    times: np.ndarray | None = None
    conv_time: np.ndarray | None = None
    if with_times:
        frame = frame.filter(pl.col("conversions") > 0)
        tt = frame["touch_times"]
        if not isinstance(tt.dtype, pl.List):
            raise AttributionInputError("'touch_times' must be a list column",
                                        column="touch_times")
        if (tt.list.len() != frame["path"].list.len()).any() or tt.null_count():
            raise AttributionInputError("'touch_times' must have one time per touch",
                                        column="touch_times")
        flat_t = _seconds(tt.explode(empty_as_null=False, keep_nulls=True), "touch_times")
        if flat_t.null_count():
            raise AttributionInputError("'touch_times' has null entries", column="touch_times")
        times = flat_t.to_numpy().astype(np.float64)
        if "conversion_time" in frame.columns:
            conv_time = _seconds(frame["conversion_time"], "conversion_time").fill_null(
                float("nan")).to_numpy().astype(np.float64)
        else:
            conv_time = np.full(frame.height, np.nan)
    lengths = frame["path"].list.len().to_numpy().astype(np.int64)
    flat = frame["path"].explode(empty_as_null=False, keep_nulls=False)
    codes = flat.cast(pl.Enum(channels)).to_physical().to_numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EncodedPaths(
        channels=channels,
        codes=codes,
        offsets=offsets,
        conversions=frame["conversions"].to_numpy().astype(np.float64),
        non_conversions=frame["non_conversions"].to_numpy().astype(np.float64),
        value=frame["value"].to_numpy().astype(np.float64),
        touch_times=times,
        conversion_time=conv_time,
    )


def result_frame(channels: list[str], conversions: np.ndarray, value: np.ndarray
                 ) -> pl.DataFrame:
    """The public result: one row per channel, sorted by channel name."""
    return pl.DataFrame(
        {"channel": channels, "conversions": conversions, "value": value},
        schema=RESULT_SCHEMA,
    ).sort("channel")


def empty_result() -> pl.DataFrame:
    return pl.DataFrame(schema=RESULT_SCHEMA)
