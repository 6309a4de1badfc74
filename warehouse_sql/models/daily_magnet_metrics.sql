{{ config(order_by="(org_id, day, magnet_id, variant)", description="Visitors, views, leads, conversion rate and revenue per organization, magnet, variant and day.") }}
{#- Distinct visitors are counted on a 64-bit hash of the id: exact short of a hash
    collision (odds ~1e-8 at a million visitors a day) and several times faster. #}
SELECT
    org_id,
    toDate(ts) AS day,
    magnet_id,
    variant,
    uniqExact(cityHash64(visitor_id)) AS visitors,
    countIf(event = 'magnet_view') AS views,
    uniqExactIf(cityHash64(visitor_id), event = 'magnet_view') AS viewers,
    countIf(event = 'form_start') AS form_starts,
    countIf(event = 'lead') AS leads,
    uniqExactIf(cityHash64(visitor_id), event = 'lead') AS leading_visitors,
    if(viewers = 0, 0, leading_visitors / viewers) AS conversion_rate,
    sumIf(value, event = 'purchase') AS revenue
FROM {{ source('events') }}
WHERE magnet_id != ''
GROUP BY org_id, day, magnet_id, variant
