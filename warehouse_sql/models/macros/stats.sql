{#- Wilson score interval of a binomial proportion x / n (95 %: z = 1.959963984540054).
    Unlike the normal approximation it stays inside [0, 1] and behaves at x = 0 or x = n;
    n = 0 gives NULL. -#}
{%- macro wilson(x, n, side, z=1.959963984540054) -%}
if({{ n }} = 0, NULL,
   (({{ x }}) / ({{ n }}) + {{ z }} * {{ z }} / (2 * ({{ n }}))
    {{ '-' if side == 'low' else '+' }} {{ z }} * sqrt(({{ x }}) / ({{ n }}) * (1 - ({{ x }}) / ({{ n }})) / ({{ n }})
        + {{ z }} * {{ z }} / (4 * ({{ n }}) * ({{ n }}))))
   / (1 + {{ z }} * {{ z }} / ({{ n }})))
{%- endmacro -%}
