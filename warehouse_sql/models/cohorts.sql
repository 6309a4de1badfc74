{{ config(
    order_by="(org_id, cohort_week, channel, magnet_id, weeks_since)",
    description="Leads by acquisition week (Monday, UTC), first-touch channel and magnet x weeks since their opt-in: leads observed, returned and engaged, revenue and cumulative value per lead; one row per heatmap cell."
) }}
{#- A lead is a visitor's first opt-in. Week k since acquisition is [lead + 7k days,
    lead + 7(k+1) days); the grid of a cohort reaches the week holding the newest event.
    "returned": a session starting after the opt-in in that week; "engaged": an engaged
    session (GA4: 10 s, 2 page views or a key event). The cells of different channels and
    magnets are disjoint sets of leads, so they sum to coarser heatmaps. -#}
WITH
leads AS (
    SELECT cityHash64(org_id, visitor_id) AS vk, any(org_id) AS l_org,
        min(toUnixTimestamp64Milli(ts)) AS lead_ms, argMin(magnet_id, ts) AS first_magnet
    FROM {{ source('events') }}
    WHERE event = 'lead' AND visitor_id != ''
    GROUP BY vk
),
visits AS (
    -- sessions of visitors who opted in (a session with a lead marks them)
    SELECT cityHash64(org_id, visitor_id) AS vk,
        groupArray(toUnixTimestamp64Milli(session_start)) AS starts,
        groupArray(engaged) AS engaged_flags,
        argMin(channel, session_start) AS first_channel
    FROM {{ ref('sessions') }}
    WHERE vk IN (SELECT cityHash64(org_id, visitor_id) FROM {{ ref('sessions') }} WHERE leads > 0)
    GROUP BY vk
),
purchases AS (
    SELECT cityHash64(org_id, visitor_id) AS vk,
        groupArray(toUnixTimestamp64Milli(ts)) AS buy_ms, groupArray(value) AS buy_values
    FROM {{ source('events') }}
    WHERE event = 'purchase' AND visitor_id != ''
    GROUP BY vk
),
acquired AS (
    SELECT l.l_org AS org_id, l.first_magnet AS magnet_id,
        toMonday(fromUnixTimestamp64Milli(l.lead_ms, 'UTC')) AS cohort_week,
        if(v.first_channel = '', 'unassigned', v.first_channel) AS channel,
        intDiv((SELECT toUnixTimestamp64Milli(max(session_end)) FROM {{ ref('sessions') }})
               - l.lead_ms, 604800000) AS last_week,
        -- week of every later session / engaged session / purchase, relative to the opt-in
        arrayMap(x -> intDiv(x - l.lead_ms, 604800000),
                 arrayFilter(x -> x > l.lead_ms, v.starts)) AS return_weeks,
        arrayMap(x -> intDiv(x - l.lead_ms, 604800000),
                 arrayFilter((x, e) -> x > l.lead_ms AND e = 1, v.starts, v.engaged_flags))
            AS engaged_weeks,
        arrayMap(x -> intDiv(x - l.lead_ms, 604800000), p.buy_ms) AS buy_weeks,
        arrayMap((x, val) -> if(x >= l.lead_ms, val, 0), p.buy_ms, p.buy_values) AS buy_values
    FROM leads AS l
    LEFT JOIN visits AS v ON l.vk = v.vk
    LEFT JOIN purchases AS p ON l.vk = p.vk
),
grid AS (
    SELECT org_id, cohort_week, channel, magnet_id, weeks_since,
        count() AS leads_observed,
        countIf(has(return_weeks, weeks_since)) AS returned,
        countIf(has(engaged_weeks, weeks_since)) AS engaged,
        sum(arraySum((w, val) -> if(w = weeks_since, val, 0), buy_weeks, buy_values)) AS revenue
    FROM acquired
    ARRAY JOIN range(toUInt64(greatest(last_week, 0) + 1)) AS weeks_since
    GROUP BY org_id, cohort_week, channel, magnet_id, weeks_since
)
SELECT org_id, cohort_week, channel, magnet_id, toUInt16(weeks_since) AS weeks_since,
    max(leads_observed) OVER cell AS leads,
    leads_observed, returned, engaged,
    returned / leads_observed AS retention_rate,
    engaged / leads_observed AS engaged_rate,
    revenue,
    sum(revenue) OVER (cell ORDER BY weeks_since) AS cumulative_revenue,
    cumulative_revenue / leads AS cumulative_value_per_lead
FROM grid
WINDOW cell AS (PARTITION BY org_id, cohort_week, channel, magnet_id)
