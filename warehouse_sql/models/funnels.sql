{{ config(
    order_by="(org_id, magnet_id, variant, step_index)",
    description="Funnel per magnet and variant: view, form start, lead, confirmed (double opt-in), purchase; visitors reaching each step in order, step and overall conversion rates with 95 % Wilson intervals, median time from the previous step."
) }}
{%- from 'macros/stats.sql' import wilson %}
{#- A visitor reaches a step at the first event of that step at or after the time they
    reached the previous one. The variant is the one on their first tagged magnet event.
    Purchases count for the funnel of every magnet the visitor opted in to, magnet or not. -#}
WITH
magnet_visitors AS (
    SELECT any(org_id) AS m_org, any(magnet_id) AS m_magnet, cityHash64(org_id, visitor_id) AS vk,
        argMinIf(variant, ts, variant != '') AS m_variant,
        minIf(toUnixTimestamp64Milli(ts), event = 'magnet_view') AS t1,
        groupArrayIf(toUnixTimestamp64Milli(ts), event = 'form_start') AS forms,
        groupArrayIf(toUnixTimestamp64Milli(ts), event = 'lead') AS leads,
        groupArrayIf(toUnixTimestamp64Milli(ts), event = 'confirmed') AS confirms
    FROM {{ source('events') }}
    WHERE magnet_id != '' AND visitor_id != ''
      AND event IN ('magnet_view', 'form_start', 'lead', 'confirmed')
    GROUP BY cityHash64(org_id, magnet_id, visitor_id), vk
    HAVING countIf(event = 'magnet_view') > 0
),
buyers AS (
    SELECT cityHash64(org_id, visitor_id) AS vk,
        groupArray(toUnixTimestamp64Milli(ts)) AS buys
    FROM {{ source('events') }}
    WHERE event = 'purchase' AND visitor_id != ''
    GROUP BY vk
),
reached AS (
    SELECT m.m_org AS org_id, m.m_magnet AS magnet_id, m.m_variant AS variant, m.t1 AS t1,
        arrayExists(x -> x >= t1, m.forms) AS r2,
        if(r2, arrayMin(arrayFilter(x -> x >= t1, m.forms)), 0) AS t2,
        r2 AND arrayExists(x -> x >= t2, m.leads) AS r3,
        if(r3, arrayMin(arrayFilter(x -> x >= t2, m.leads)), 0) AS t3,
        r3 AND arrayExists(x -> x >= t3, m.confirms) AS r4,
        if(r4, arrayMin(arrayFilter(x -> x >= t3, m.confirms)), 0) AS t4,
        r4 AND arrayExists(x -> x >= t4, b.buys) AS r5,
        if(r5, arrayMin(arrayFilter(x -> x >= t4, b.buys)), 0) AS t5
    FROM magnet_visitors AS m
    LEFT JOIN buyers AS b ON m.vk = b.vk
),
counts AS (
    SELECT org_id, magnet_id, variant,
        [count(), countIf(r2), countIf(r3), countIf(r4), countIf(r5)] AS reached_n,
        [CAST(NULL AS Nullable(Float64)),
         quantileExactIf(0.5)((t2 - t1) / 1000, r2),
         quantileExactIf(0.5)((t3 - t2) / 1000, r3),
         quantileExactIf(0.5)((t4 - t3) / 1000, r4),
         quantileExactIf(0.5)((t5 - t4) / 1000, r5)] AS medians
    FROM reached
    GROUP BY org_id, magnet_id, variant
)
SELECT org_id, magnet_id, variant,
    toUInt8(i) AS step_index,
    ['view', 'form_start', 'lead', 'confirmed', 'purchase'][i] AS step,
    reached_n[i] AS visitors,
    reached_n[greatest(i - 1, 1)] AS previous_visitors,
    if(previous_visitors = 0, NULL, visitors / previous_visitors) AS step_rate,
    {{ wilson('visitors', 'previous_visitors', 'low') }} AS step_ci_low,
    {{ wilson('visitors', 'previous_visitors', 'high') }} AS step_ci_high,
    if(reached_n[1] = 0, NULL, visitors / reached_n[1]) AS overall_rate,
    {{ wilson('visitors', 'reached_n[1]', 'low') }} AS overall_ci_low,
    {{ wilson('visitors', 'reached_n[1]', 'high') }} AS overall_ci_high,
    if(i = 1 OR visitors = 0, NULL, medians[i]) AS median_seconds_from_previous
FROM counts
ARRAY JOIN arrayEnumerate(reached_n) AS i
