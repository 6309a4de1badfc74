{#- Which events count for an experiment: the one rule that the promotion readout
    (experiments/readout.py) and the experiment_results asset
    (pipelines/analytics/experiment_looks.py) both apply.

    An event belongs to the experiment whose key it is tagged with; an untagged event
    belongs to every experiment on its magnet, and an untagged event on no magnet (a
    purchase, a server-side event) to every experiment of the organization. Events tagged
    with another experiment, or on another magnet, belong to those.

    ``experiment_key`` and ``experiment_magnet`` are SQL expressions (a query parameter such
    as ``{exp:String}``, or an array element), never user data. -#}
{%- macro belongs(experiment_key, experiment_magnet) -%}
(experiment_id = {{ experiment_key }} OR (experiment_id = '' AND (magnet_id = '' OR magnet_id = {{ experiment_magnet }})))
{%- endmacro -%}

{#- The experiment's exposed units: each visitor's first exposure (since the ``since``
    parameter, up to ``until``) fixes their arm. Used as ``WITH exposed AS (...)`` by the
    promotion readout's arm and ratio queries (experiments/readout.py). -#}
{%- macro exposed_units() -%}
    SELECT visitor_id, argMin(variant, ts) AS variant, min(ts) AS exposed_at
    FROM {{ source('events') }}
    WHERE org_id = {org:String} AND experiment_id = {exp:String} AND event = 'exposure'
      AND ts <= {until:DateTime64(3, 'UTC')} AND ts >= {since:DateTime64(3, 'UTC')}
    GROUP BY visitor_id
{%- endmacro -%}

{#- The events of the metric (and purchases) that belong to the experiment, up to ``until``;
    joined to ``exposed`` and kept from each visitor's exposure on by the caller. -#}
{%- macro metric_events() -%}
        SELECT visitor_id, event, value, ts
        FROM {{ source('events') }}
        WHERE org_id = {org:String} AND event IN ({metric:String}, 'purchase')
          AND ts <= {until:DateTime64(3, 'UTC')}
          AND {{ belongs('{exp:String}', '{magnet:String}') }}
{%- endmacro -%}
