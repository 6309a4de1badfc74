{{ config(
    order_by="(org_id, day, landing_page, magnet_id, device, country)",
    description="The Overview's landing pages: every headline metric's state per organization, day, landing page (the first page of the visitor's session that day, without query string), magnet, device and country."
) }}
{#- Variables: ``states`` (app_api.metrics.state_list()); ``partitioned`` with {start:Date}
    and {end:Date} restricts it to days [start, end) (the API's fallback before a roll-up). #}
{%- set window -%}
    {% if partitioned is defined and partitioned %}
    AND ts >= toDateTime64({start:Date}, 3, 'UTC') AND ts < toDateTime64({end:Date}, 3, 'UTC')
    {% endif %}
{%- endset %}
SELECT
    e.org_id AS org_id,
    toDate(e.ts) AS day,
    s.landing_page AS landing_page,
    e.magnet_id AS magnet_id,
    e.device AS device,
    e.country AS country,
    {{ states }}
FROM (
    SELECT org_id, ts, session_id, event, visitor_id, magnet_id, device, country, value
    FROM {{ source('events') }}
    WHERE session_id != '' {{ window }}
) AS e
INNER JOIN (
    SELECT org_id, toDate(ts) AS d, session_id,
        argMin(cutQueryStringAndFragment(url), ts) AS landing_page
    FROM {{ source('events') }}
    WHERE session_id != '' {{ window }}
    GROUP BY org_id, d, session_id
) AS s ON e.org_id = s.org_id AND toDate(e.ts) = s.d AND e.session_id = s.session_id
GROUP BY org_id, day, landing_page, magnet_id, device, country
