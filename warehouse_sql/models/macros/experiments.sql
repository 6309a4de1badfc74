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
