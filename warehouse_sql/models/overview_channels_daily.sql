{{ config(
    order_by="(org_id, day, channel, device, country)",
    description="The Overview's channels: the headline metrics' states per organization, day a session started, GA4 channel, device and country, from sessions."
) }}
{#- The same states as app_api.metrics over the events, read from sessions' counters: a
    session's visitor is a viewer (leading visitor) when it has a magnet view (a lead). With
    ``partitioned``, only sessions starting in [start, end). #}
SELECT
    org_id,
    toDate(session_start) AS day,
    channel,
    device,
    country,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    sum(s.magnet_views) AS magnet_views,
    groupUniqArrayIf(cityHash64(visitor_id), s.magnet_views > 0) AS viewers,
    sum(s.leads) AS leads,
    groupUniqArrayIf(cityHash64(visitor_id), s.leads > 0) AS leading_visitors,
    sum(s.confirmations) AS confirmed_leads,
    sum(s.revenue) AS revenue
FROM {{ ref('sessions') }} AS s
{% if partitioned is defined and partitioned %}
WHERE session_start >= toDateTime64({start:Date}, 3, 'UTC')
    AND session_start < toDateTime64({end:Date}, 3, 'UTC')
{% endif %}
GROUP BY org_id, day, channel, device, country
