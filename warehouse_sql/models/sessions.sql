{{ config(
    order_by="(org_id, day, visitor_id, session_start)",
    partition_by="day",
    description="One row per session: 30 minutes of inactivity or a new campaign starts a session; source, medium, campaign and GA4 default channel group of its first event."
) }}
{%- from 'macros/channels.sql' import traffic_source, channel_group %}
{#- Partitioned runs read the window [start - 1 day, end + 1 day) and keep the sessions that
    start in [start, end): exact unless a visitor keeps a session going for over a day. #}
{#- A per-event key of GA4's (source, medium, campaign) that needs no regular expression:
    GA4's rules then run once per distinct key, not once per event. -#}
{%- macro source_key() -%}
    multiIf(utm_source != '' OR utm_medium != '' OR utm_campaign != '',
                cityHash64('utm', lower(trimBoth(utm_source)), lower(trimBoth(utm_medium)),
                           lower(trimBoth(utm_campaign))),
            multiSearchFirstIndex(url, ['gclid=', 'gbraid=', 'wbraid=', 'dclid=', 'msclkid=']) > 0,
                cityHash64('click', position(url, 'msclkid=') > 0),
            referrer != '' AND domainWithoutWWW(referrer) != domainWithoutWWW(url),
                cityHash64('ref', domainWithoutWWW(referrer)),
            toUInt64(0))
{%- endmacro %}
{%- set window -%}
    {% if partitioned is defined and partitioned %}
    AND ts >= toDateTime64({start:Date}, 3, 'UTC') - INTERVAL 1 DAY
    AND ts < toDateTime64({end:Date}, 3, 'UTC') + INTERVAL 1 DAY
    {% endif %}
{%- endset %}
WITH
keyed AS (
    SELECT org_id, visitor_id, device, country, toUnixTimestamp64Milli(ts) AS t, value,
        toUInt8(indexOf(['pageview', 'magnet_view', 'form_start', 'lead', 'confirmed',
                         'purchase'], event)) AS code,
        {{ source_key() }} AS k
    FROM {{ source('events') }}
    WHERE visitor_id != '' {{ window }}
),
sources AS (
    -- GA4's rules once per key, on one representative of each kind of key: UTM tags (read
    -- from the short UTM columns), external referrers (the referrer alone) and the two
    -- click ids (constants). None of them reads the long url or visitor_id columns.
    SELECT key AS source_key, traffic_source AS source, traffic_medium AS medium,
        traffic_campaign AS campaign,
        {{ channel_group('traffic_source', 'traffic_medium', 'traffic_campaign') }} AS channel
    FROM (
        SELECT key,
            {{ traffic_source('i_url', 'i_referrer', 'i_source', 'i_medium', 'i_campaign') }}
        FROM (
            SELECT cityHash64('utm', lower(trimBoth(utm_source)), lower(trimBoth(utm_medium)),
                              lower(trimBoth(utm_campaign))) AS key,
                '' AS i_url, '' AS i_referrer, any(utm_source) AS i_source,
                any(utm_medium) AS i_medium, any(utm_campaign) AS i_campaign
            FROM {{ source('events') }}
            WHERE (utm_source != '' OR utm_medium != '' OR utm_campaign != '') {{ window }}
            GROUP BY key
            UNION ALL
            SELECT cityHash64('ref', domainWithoutWWW(referrer)) AS key, '' AS i_url,
                any(referrer) AS i_referrer, '' AS i_source, '' AS i_medium, '' AS i_campaign
            FROM {{ source('events') }}
            WHERE referrer != '' AND utm_source = '' AND utm_medium = '' AND utm_campaign = ''
                {{ window }}
            GROUP BY key
            UNION ALL
            SELECT {{ source_key() }} AS key, url AS i_url, referrer AS i_referrer,
                utm_source AS i_source, utm_medium AS i_medium, utm_campaign AS i_campaign
            FROM values('url String, referrer String, utm_source String, utm_medium String,
                         utm_campaign String',
                        ('https://click.invalid/?gclid=1', '', '', '', ''),
                        ('https://click.invalid/?msclkid=1', '', '', '', ''))
        ) AS i
    ) AS d
),
visitors AS (
    -- Grouping by a 64-bit hash of the visitor and collecting arrays of plain numbers is
    -- several times faster in ClickHouse than window functions over 10^6 partitions. Time
    -- and event code share one UInt64 (ms << 3 | code): sorting it orders the events.
    SELECT any(org_id) AS v_org, any(visitor_id) AS v_id, any(device) AS v_device,
        any(country) AS v_country,
        groupArray(bitShiftLeft(toUInt64(t), 3) + code) AS tc0,
        groupArray(k) AS k0,
        groupArrayIf((t, value), code = 6) AS buys
    FROM keyed
    GROUP BY cityHash64(org_id, visitor_id)
),
split AS (
    SELECT v_org, v_id, v_device, v_country,
        arraySort(tc0) AS tc,
        arraySort((x, y) -> y, k0, tc0) AS k,
        arrayMap(x -> toInt64(bitShiftRight(x, 3)), tc) AS t,
        arrayMap((x, i) -> i = 1 OR x - t[i - 1] > 1800000, t, arrayEnumerate(t)) AS gap,
        -- the last tagged key of the current gap-session (1 = none yet)
        arrayFill(x -> x != 0, arrayMap((kk, g) -> if(g AND kk = 0, toUInt64(1), kk), k, gap))
            AS last_key,
        arrayMap((kk, g, i) -> g OR (kk != 0 AND kk != last_key[i - 1]),
                 k, gap, arrayEnumerate(k)) AS starts,
        arraySplit((x, s) -> s, tc, starts) AS s_tc,
        arraySplit((x, s) -> s, k, starts) AS s_k,
        -- a purchase belongs to the last session started at or before it
        arrayFilter((x, s) -> s, t, starts) AS s_start,
        arrayMap(b -> arrayCount(x -> x <= b.1, s_start), buys) AS buy_session,
        arrayMap(j -> arraySum(arrayFilter((v, bs) -> bs = j, buys.2, buy_session)),
                 arrayEnumerate(s_start)) AS s_revenue
    FROM visitors
),
agg AS (
    SELECT v_org AS org_id, v_id AS visitor_id, v_device AS device, v_country AS country,
        toInt64(bitShiftRight(stc[1], 3)) AS start_ms, toInt64(bitShiftRight(stc[-1], 3)) AS end_ms,
        sk[1] AS k,
        arrayMap(x -> bitAnd(x, 7), stc) AS codes,
        length(stc) AS events,
        countEqual(codes, 1) AS pageviews,
        countEqual(codes, 2) AS magnet_views,
        countEqual(codes, 3) AS form_starts,
        countEqual(codes, 4) AS leads,
        countEqual(codes, 5) AS confirmations,
        countEqual(codes, 6) AS purchases,
        revenue
    FROM split
    ARRAY JOIN s_tc AS stc, s_k AS sk, s_revenue AS revenue
)
SELECT
    a.org_id AS org_id,
    toDate(fromUnixTimestamp64Milli(a.start_ms, 'UTC')) AS day,
    a.visitor_id AS visitor_id,
    lower(hex(cityHash64(a.org_id, a.visitor_id, a.start_ms))) AS session_id,
    fromUnixTimestamp64Milli(a.start_ms, 'UTC') AS session_start,
    fromUnixTimestamp64Milli(a.end_ms, 'UTC') AS session_end,
    (a.end_ms - a.start_ms) / 1000 AS duration_s,
    if(a.k = 0, '(direct)', d.source) AS source,
    if(a.k = 0, '(none)', d.medium) AS medium,
    if(a.k = 0, '', d.campaign) AS campaign,
    if(a.k = 0, 'direct', d.channel) AS channel,
    a.device AS device,
    a.country AS country,
    a.events AS events, a.pageviews AS pageviews, a.magnet_views AS magnet_views,
    a.form_starts AS form_starts, a.leads AS leads, a.confirmations AS confirmations,
    a.purchases AS purchases, a.revenue AS revenue,
    toUInt8(duration_s >= 10 OR a.pageviews >= 2 OR a.leads + a.purchases > 0) AS engaged
FROM agg AS a
LEFT JOIN sources AS d ON a.k = d.source_key
{% if partitioned is defined and partitioned %}
WHERE day >= {start:Date} AND day < {end:Date}
{% endif %}
