-- The raw event table. ReplacingMergeTree on event_id (last in the sort key) plus a
-- deduplication window makes the shipper's replays idempotent; reads use FINAL.
CREATE TABLE IF NOT EXISTS events
(
    event_id UUID,
    org_id LowCardinality(String),
    site_id LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    event LowCardinality(String),
    visitor_id String,
    session_id String,
    magnet_id String,
    experiment_id String,
    variant String,
    url String,
    referrer String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_term String,
    utm_content String,
    channel LowCardinality(String),
    device LowCardinality(String),
    browser LowCardinality(String),
    os LowCardinality(String),
    country LowCardinality(String),
    value Float64,
    props String,
    flags UInt16
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (org_id, toDate(ts), event, event_id)
SETTINGS non_replicated_deduplication_window = 10000;
