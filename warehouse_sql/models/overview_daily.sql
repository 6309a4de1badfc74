{{ config(
    order_by="(org_id, day, magnet_id, device, country)",
    description="The Overview's roll-up: every headline metric's state (partial counts and sums, sets of visitor hashes) per organization, day, magnet, device and country, over the events received before its watermark."
) }}
{#- Variables: ``states`` (app_api.metrics.state_list(): the one definition of each metric).
    Rolled up: events received before {watermark:Int64} (ms); the API reads later ones raw
    with ``tail`` and unites both, so a number is exact whenever the roll-up ran. With
    ``tail``: only the events of [tail_lo, tail_hi) received at or after {tail_mark:Int64},
    the roll-up's watermark (0 without a roll-up). #}
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
    AND received_at >= fromUnixTimestamp64Milli({tail_mark:Int64}, 'UTC')
{% else %}
WHERE toUnixTimestamp64Milli(received_at) < {watermark:Int64}
{% endif %}
GROUP BY org_id, day, magnet_id, device, country
