{{ config(
    order_by="(org_id, day, magnet_id, device, country)",
    partition_by="day",
    description="The Overview's roll-up: every headline metric's state (partial counts and sums, sets of visitor hashes) per organization, day, magnet, device and country, over the events received before its watermark."
) }}
{#- Variables: ``states`` (app_api.metrics.state_list(): the one definition of each metric).
    Rolled up: events received before {watermark:Int64} (ms); the API reads later ones raw
    with ``tail`` and unites both, so a number is exact whenever the roll-up ran. With
    ``tail``: only events of [tail_lo, tail_hi) received at or after their day's watermark
    ({tail_days:Array(Date)} -> {tail_marks:Array(Int64)}, 0 for a day not rolled up). #}
SELECT
    org_id,
    toDate(ts) AS day,
    magnet_id,
    device,
    country,
    {{ states }},
    {% if tail is defined and tail %}toInt64(0){% else %}{watermark:Int64}{% endif %} AS watermark_ms
FROM {{ source('events') }}
{% if tail is defined and tail %}
WHERE ts >= fromUnixTimestamp64Milli({tail_lo:Int64}, 'UTC')
    AND ts < fromUnixTimestamp64Milli({tail_hi:Int64}, 'UTC')
    AND received_at >= fromUnixTimestamp64Milli({tail_min:Int64}, 'UTC')
    AND toUnixTimestamp64Milli(received_at)
        >= transform(toDate(ts), {tail_days:Array(Date)}, {tail_marks:Array(Int64)}, toInt64(0))
{% else %}
WHERE toUnixTimestamp64Milli(received_at) < {watermark:Int64}
{% endif %}
GROUP BY org_id, day, magnet_id, device, country
