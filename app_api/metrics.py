"""One definition per number: every headline metric the API returns and the dashboards show.

Each metric has a name (the JSON key), a label (shown on every page), a one-line
definition (the tooltip, and the table in docs/data-model.md, which a test keeps equal to
this module) and, for the event-based ones, the ClickHouse expression over the ``events``
source that computes it. The overview routes build their SQL from these expressions, so a
number cannot be defined twice. Distinct counts (visitors, viewers, leading visitors) are
computed over the whole period or group asked for, never summed across days or groups.

Roll-ups (``warehouse_sql/models/overview_*.sql``) store, per day and dimension, each
metric's *state* (:meth:`Metric.state_sql`): a partial count or sum, or for a distinct count
the set of 64-bit visitor hashes. Re-aggregating states (:meth:`Metric.merge_sql`) gives the
same number as the metric's one expression over the raw events: sums add up and sets are
united, so a visitor of two days is still counted once. A 64-bit hash is exact short of a
collision (odds ~3e-6 among 10 million visitors); the raw expression hashes the same way, so
roll-ups never change a number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str  # "count", "ratio" (0.0931 = 9.31 %) or "money"
    definition: str
    agg: str = ""  # ClickHouse aggregate over {{ source('events') }}; '' = derived/other table
    arg: str = ""
    cond: str = "1"

    def sql(self, window: str = "1") -> str:
        """The metric's one expression, restricted to rows where ``window`` holds too."""
        args = f"{self.arg}, " if self.arg else ""
        return f"{self.agg}If({args}({self.cond}) AND ({window}))"

    def state_sql(self) -> str:
        """Its partial aggregate over a group of events, stored by the roll-ups."""
        if self.agg == "uniqExact":
            return f"groupUniqArrayIf({self.arg}, {self.cond})"
        if self.agg == "count":
            return f"countIf({self.cond})"
        return f"{self.agg}If({self.arg}, {self.cond})"

    def merge_sql(self, window: str = "1") -> str:
        """Its value re-aggregated from the states in column ``name`` of rows where ``window`` holds."""
        if self.agg == "uniqExact":
            return f"uniqExactArrayIf({self.name}, {window})"
        return f"sumIf({self.name}, {window})"


METRICS: tuple[Metric, ...] = (
    Metric("visitors", "Visitors", "count",
           "Distinct visitors with at least one tracked event in the period (counted once "
           "however many days or pages they visit).",
           "uniqExact", "cityHash64(visitor_id)", "visitor_id != ''"),
    Metric("magnet_views", "Magnet views", "count",
           "`magnet_view` events: every view of a lead magnet's landing page or form.",
           "count", "", "event = 'magnet_view'"),
    Metric("viewers", "Magnet viewers", "count",
           "Distinct visitors with at least one magnet view in the period.",
           "uniqExact", "cityHash64(visitor_id)", "event = 'magnet_view' AND visitor_id != ''"),
    Metric("leads", "Leads", "count",
           "`lead` events: opt-ins (a visitor who opts in to two magnets is two leads).",
           "count", "", "event = 'lead'"),
    Metric("leading_visitors", "Visitors who opted in", "count",
           "Distinct visitors with at least one `lead` event in the period.",
           "uniqExact", "cityHash64(visitor_id)", "event = 'lead' AND visitor_id != ''"),
    Metric("confirmed_leads", "Confirmed leads", "count",
           "`confirmed` events: opt-ins confirmed by the double opt-in e-mail.",
           "count", "", "event = 'confirmed'"),
    Metric("conversion_rate", "Conversion rate", "ratio",
           "Visitors who opted in ÷ magnet viewers, both distinct over the same period "
           "(0 when nobody viewed)."),
    Metric("revenue", "Revenue", "money",
           "Money actually paid: the sum of `purchase` event values in the period.",
           "sum", "value", "event = 'purchase'"),
    Metric("lead_value", "Lead value", "money",
           "What leads are expected to be worth: each lead × its magnet's value per lead "
           "(configured, else learned from later purchases). Not money received."),
    Metric("spend", "Ad spend", "money", "Uploaded ad spend (POST /v1/ad-spend or CSV import)."),
    Metric("cost_per_lead", "Cost per lead", "money",
           "Ad spend ÷ attributed leads (shown only where spend was uploaded)."),
    Metric("roas", "ROAS", "ratio", "Attributed lead value ÷ ad spend."),
    Metric("roi", "ROI", "ratio", "(Attributed lead value − ad spend) ÷ ad spend."),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}

#: The event-based metrics, in the order the summary returns them.
EVENT_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.agg)


def select_list(window: str = "1", suffix: str = "") -> str:
    """``expr AS name, ...`` for every event-based metric (one scan computes them all),
    over the rows where ``window`` holds, named ``<metric><suffix>``."""
    return ", ".join(f"{m.sql(window)} AS {m.name}{suffix}" for m in EVENT_METRICS)


def state_list() -> str:
    """``state AS name, ...`` for every event-based metric: the roll-ups' columns."""
    return ", ".join(f"{m.state_sql()} AS {m.name}" for m in EVENT_METRICS)


def merge_list(window: str = "1", suffix: str = "") -> str:
    """``merge AS name<suffix>, ...``: every event-based metric from roll-up states."""
    return ", ".join(f"{m.merge_sql(window)} AS {m.name}{suffix}" for m in EVENT_METRICS)


def conversion_rate(leading_visitors: float, viewers: float) -> float:
    """The conversion rate's one formula (see :data:`METRICS`)."""
    return float(leading_visitors) / float(viewers) if viewers else 0.0


def finish(row: dict[str, float]) -> dict[str, float]:
    """A row of event metrics with the derived ones added (ints stay ints)."""
    out: dict[str, float] = {m.name: row.get(m.name, 0) or 0 for m in EVENT_METRICS}
    out["revenue"] = round(float(out["revenue"]), 2)
    out["conversion_rate"] = conversion_rate(out["leading_visitors"], out["viewers"])
    return out
