{#- GA4's default channel group, in SQL.

    ``traffic_source(...)`` infers GA4's session source / medium / campaign of one event from
    its UTM tags, click ids and referrer; ``channel_group(source, medium, campaign)`` applies
    GA4's default channel group rules, in GA4's order, to lower-cased source / medium /
    campaign expressions. Sources match GA4's source categories (search, social, video,
    shopping sites) by name with an optional www./m./l. prefix and any TLD, e.g. ``google``,
    ``google.com``, ``m.facebook.com``, ``lnkd.in``.
    https://support.google.com/analytics/answer/9756891
-#}
{%- set prefix = "^(www[.]|m[.]|l[.]|lm[.]|mobile[.]|web[.]|search[.])?(" -%}
{%- set suffix = ")([.][a-z]{2,3}){0,2}$" -%}
{%- set search_sites = "google|bing|yahoo|baidu|duckduckgo|yandex|ecosia|naver|ask|aol|seznam|qwant|startpage|brave|sogou|so|360|daum|coccoc|rambler|onet|msn|lycos|dogpile|kvasir|najdi|centrum|biglobe|goo|ekolay|mojeek|presearch" -%}
{%- set social_sites = "facebook|fb|instagram|linkedin|lnkd|twitter|t[.]co|x|pinterest|reddit|tiktok|snapchat|quora|tumblr|vk|weibo|threads|mastodon|discord|telegram|whatsapp|wechat|line|messenger|xing|medium|meetup|nextdoor|producthunt|ycombinator|slack|bsky|bluesky" -%}
{%- set video_sites = "youtube|youtu[.]be|vimeo|twitch|dailymotion|wistia|vidyard|loom|rumble|bilibili|youku|iqiyi" -%}
{%- set shopping_sites = "amazon|ebay|etsy|shopify|walmart|alibaba|aliexpress|mercadolibre|rakuten|shopping[.]google|zalando|target|bestbuy|wayfair|temu|shein|igshopping" -%}
{%- set paid = "^(.*cp.*|ppc|retargeting|paid.*)$" -%}
{#- Every value channel_group() returns, in GA4's rule order (codes are 1-based indexes). -#}
{%- set channel_ids = ["direct", "cross_network", "paid_shopping", "paid_search", "paid_social",
                       "paid_video", "display", "paid_other", "organic_shopping",
                       "organic_social", "organic_video", "organic_search", "referral",
                       "email", "affiliates", "audio", "sms", "mobile_push", "unassigned"] -%}

{%- macro channel_array() -%}
[{% for c in channel_ids %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %}]
{%- endmacro -%}
{%- set shop_campaign = "^(.*(([^a-df-z]|^)shop|shopping).*)$" -%}

{%- macro site(expr, sites) -%}
match({{ expr }}, '{{ prefix }}{{ sites }}{{ suffix }}')
{%- endmacro -%}

{%- macro channel_group(source, medium, campaign) -%}
multiIf(
    {{ source }} = '(direct)' AND {{ medium }} IN ('(not set)', '(none)', ''), 'direct',
    position({{ campaign }}, 'cross-network') > 0, 'cross_network',
    ({{ site(source, shopping_sites) }} OR match({{ campaign }}, '{{ shop_campaign }}'))
        AND match({{ medium }}, '{{ paid }}'), 'paid_shopping',
    {{ site(source, search_sites) }} AND match({{ medium }}, '{{ paid }}'), 'paid_search',
    {{ site(source, social_sites) }} AND match({{ medium }}, '{{ paid }}'), 'paid_social',
    {{ site(source, video_sites) }} AND match({{ medium }}, '{{ paid }}'), 'paid_video',
    {{ medium }} IN ('display', 'banner', 'expandable', 'interstitial', 'cpm'), 'display',
    match({{ medium }}, '{{ paid }}'), 'paid_other',
    {{ site(source, shopping_sites) }} OR match({{ campaign }}, '{{ shop_campaign }}'), 'organic_shopping',
    {{ site(source, social_sites) }}
        OR {{ medium }} IN ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media'), 'organic_social',
    {{ site(source, video_sites) }} OR match({{ medium }}, '^(.*video.*)$'), 'organic_video',
    {{ site(source, search_sites) }} OR {{ medium }} = 'organic', 'organic_search',
    {{ medium }} IN ('referral', 'app', 'link'), 'referral',
    {{ source }} IN ('email', 'e-mail', 'e_mail', 'e mail') OR {{ medium }} IN ('email', 'e-mail', 'e_mail', 'e mail'), 'email',
    {{ medium }} = 'affiliate', 'affiliates',
    {{ medium }} = 'audio', 'audio',
    {{ source }} = 'sms' OR {{ medium }} = 'sms', 'sms',
    endsWith({{ medium }}, 'push') OR position({{ medium }}, 'mobile') > 0
        OR position({{ medium }}, 'notification') > 0 OR {{ source }} = 'firebase', 'mobile_push',
    'unassigned')
{%- endmacro -%}

{#- Source / medium / campaign of one event, as GA4 would record them for a session start:
    UTM tags win; then Google / Microsoft Ads click ids (auto-tagging); then an external
    referrer (a search engine gives medium 'organic', any other site 'referral'); else direct.
    A referrer on the page's own host is internal navigation, not a source. -#}
{%- macro traffic_source(url, referrer, utm_source, utm_medium, utm_campaign) -%}
    lower(domain({{ referrer }})) AS _ref_host,
    _ref_host != '' AND replaceRegexpOne(_ref_host, '^www[.]', '')
        != replaceRegexpOne(lower(domain({{ url }})), '^www[.]', '') AS _external,
    match({{ url }}, '[?&](gclid|gbraid|wbraid|dclid)=') AS _google_click,
    match({{ url }}, '[?&]msclkid=') AS _bing_click,
    multiIf({{ utm_source }} != '', lower(trimBoth({{ utm_source }})),
            {{ utm_medium }} != '', '(not set)',
            _google_click, 'google', _bing_click, 'bing',
            _external, replaceRegexpOne(_ref_host, '^(www|m|l|lm)[.]', ''),
            '(direct)') AS traffic_source,
    multiIf({{ utm_medium }} != '', lower(trimBoth({{ utm_medium }})),
            {{ utm_source }} != '', '(not set)',
            _google_click OR _bing_click, 'cpc',
            _external AND {{ site('traffic_source', search_sites) }}, 'organic',
            _external, 'referral',
            '(none)') AS traffic_medium,
    lower(trimBoth({{ utm_campaign }})) AS traffic_campaign
{%- endmacro -%}
