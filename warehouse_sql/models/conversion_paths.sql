{{ config(
    order_by="(org_id, converted, visitor_id, conversion_index)",
    description="Conversion paths: the channels of a visitor's sessions in time order up to each opt-in (one row per lead event), and the paths of visitors who never opted in (identical paths counted in one row)."
) }}
{%- from 'macros/channels.sql' import channel_array %}
{#- Lead k's path runs from the session after lead k-1's session to the session holding
    lead k (that session alone when both leads share it). Sessions after a visitor's last
    lead belong to no path: a returning lead is not a journey that failed to convert.
    A session is packed as (start ms << 5 | channel code): one array sorts both. -#}
WITH
touches AS (
    SELECT cityHash64(org_id, visitor_id) AS vk, any(org_id) AS t_org,
        any(visitor_id) AS t_visitor,
        arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(session_start)), 5)
                             + indexOf({{ channel_array() }}, channel))) AS packed
    FROM {{ ref('sessions') }}
    GROUP BY vk
),
leads AS (
    SELECT cityHash64(org_id, visitor_id) AS vk,
        arraySort(groupArray(toUnixTimestamp64Milli(ts))) AS lead_ms,
        arraySort((m, t) -> t, groupArray(magnet_id), groupArray(ts)) AS lead_magnets
    FROM {{ source('events') }}
    WHERE event = 'lead' AND visitor_id != ''
    GROUP BY vk
),
visitors AS (
    SELECT t.t_org AS org_id, t.t_visitor AS visitor_id,
        arrayMap(x -> toInt64(bitShiftRight(x, 5)), t.packed) AS starts,
        arrayMap(x -> toUInt8(bitAnd(x, 31)), t.packed) AS codes,
        l.lead_ms AS lead_ms, l.lead_magnets AS lead_magnets,
        arrayMap(x -> toUInt32(arrayCount(s -> s <= x, starts)), l.lead_ms) AS last_touch,
        arrayPushFront(arrayPopBack(last_touch), toUInt32(0)) AS previous_touch
    FROM touches AS t
    LEFT JOIN leads AS l ON t.vk = l.vk
),
journeys AS (
    SELECT org_id, visitor_id, starts, codes,
        toUInt32(i) AS conversion_index,
        toUInt8(i > 0) AS converted,
        if(i = 0, '', lead_magnets[i]) AS magnet_id,
        if(i = 0, starts[-1], lead_ms[i]) AS conversion_ms,
        if(i = 0, 1, if(last_touch[i] > previous_touch[i], previous_touch[i] + 1,
                        last_touch[i])) AS first_touch,
        if(i = 0, length(starts), last_touch[i]) AS final_touch,
        arraySlice(codes, first_touch, final_touch - first_touch + 1) AS path_codes
    FROM visitors
    ARRAY JOIN if(empty(lead_ms), [0], arrayEnumerate(lead_ms)) AS i
    WHERE final_touch >= 1
)
SELECT org_id,
    if(converted = 1, visitor_id, '') AS visitor_id,
    conversion_index, converted, any(magnet_id) AS magnet_id,
    toUInt64(count()) AS journeys,
    fromUnixTimestamp64Milli(max(conversion_ms), 'UTC') AS conversion_time,
    arrayMap(c -> if(c = 0, 'unassigned', {{ channel_array() }}[c]), path_codes) AS path,
    if(converted = 1,
       arrayMap(x -> fromUnixTimestamp64Milli(x, 'UTC'),
                arraySlice(any(starts), any(first_touch), any(final_touch) - any(first_touch) + 1)),
       CAST([], 'Array(DateTime64(3, \'UTC\'))')) AS touch_times
FROM journeys
GROUP BY org_id, converted, visitor_id, conversion_index, path_codes
