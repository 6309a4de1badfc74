"""GA4's default channel group and source/medium inference, in SQL, on a table of cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.warehouse.lake_backend import LakeWarehouse

# (source, medium, campaign) -> channel, in GA4's rule order
CHANNEL_CASES = [
    ("(direct)", "(none)", "", "direct"),
    ("(direct)", "(not set)", "", "direct"),
    ("google", "cpc", "brand", "paid_search"),
    ("bing", "ppc", "", "paid_search"),
    ("google", "cpm", "", "paid_search"),  # a search site with a paid medium wins over display
    ("google", "organic", "", "organic_search"),
    ("google.com", "referral", "", "organic_search"),
    ("search.yahoo.com", "referral", "", "organic_search"),
    ("duckduckgo.com", "referral", "", "organic_search"),
    ("newsite", "organic", "", "organic_search"),  # medium "organic" alone
    ("mail.google.com", "referral", "", "referral"),  # webmail is not a search engine
    ("facebook", "paid_social", "", "paid_social"),
    ("linkedin", "cpc", "", "paid_social"),
    ("facebook.com", "referral", "", "organic_social"),
    ("m.facebook.com", "referral", "", "organic_social"),
    ("lnkd.in", "referral", "", "organic_social"),
    ("t.co", "referral", "", "organic_social"),
    ("x.com", "referral", "", "organic_social"),
    ("forum", "social-network", "", "organic_social"),
    ("youtube", "cpv-ads", "", "paid_video"),
    ("youtube.com", "referral", "", "organic_video"),
    ("vimeo.com", "referral", "", "organic_video"),
    ("blog", "video", "", "organic_video"),
    ("amazon", "cpc", "", "paid_shopping"),
    ("partner", "cpc", "summer-shopping", "paid_shopping"),
    ("etsy.com", "referral", "", "organic_shopping"),
    ("blog", "referral", "shop-launch", "organic_shopping"),
    ("google", "cpc", "pmax cross-network", "cross_network"),
    ("criteo", "display", "", "display"),
    ("adnetwork", "banner", "", "display"),
    ("adnetwork", "cpm", "", "display"),  # display's list is checked before paid other
    ("adnetwork", "cpc", "", "paid_other"),
    ("adnetwork", "retargeting", "", "paid_other"),
    ("blog.example", "referral", "", "referral"),
    ("app", "link", "", "referral"),
    ("newsletter", "email", "", "email"),
    ("mailchimp", "e-mail", "", "email"),
    ("email", "(not set)", "", "email"),
    ("partner", "affiliate", "", "affiliates"),
    ("spotify", "audio", "", "audio"),
    ("sms", "(not set)", "", "sms"),
    ("firebase", "notif", "", "mobile_push"),
    ("app", "web-push", "", "mobile_push"),
    ("app", "mobile-alert", "", "mobile_push"),
    ("weird", "thing", "", "unassigned"),
    ("(not set)", "(not set)", "", "unassigned"),
]

# (url, referrer, utm_source, utm_medium, utm_campaign) -> (source, medium, campaign)
SOURCE_CASES = [
    ("https://site.example/", "", "", "", "", ("(direct)", "(none)", "")),
    ("https://site.example/p", "https://site.example/", "", "", "", ("(direct)", "(none)", "")),
    ("https://www.site.example/p", "https://site.example/x", "", "", "",
     ("(direct)", "(none)", "")),
    ("https://site.example/?gclid=abc", "", "", "", "", ("google", "cpc", "")),
    ("https://site.example/?x=1&msclkid=abc", "", "", "", "", ("bing", "cpc", "")),
    ("https://site.example/", "https://www.google.com/", "", "", "",
     ("google.com", "organic", "")),
    ("https://site.example/", "https://l.facebook.com/l.php", "", "", "",
     ("facebook.com", "referral", "")),
    ("https://site.example/", "https://blog.partner.example/post", "", "", "",
     ("blog.partner.example", "referral", "")),
    ("https://site.example/", "https://www.google.com/", " Newsletter", "Email ", "Weekly",
     ("newsletter", "email", "weekly")),
    ("https://site.example/", "", "", "cpc", "", ("(not set)", "cpc", "")),
    ("https://site.example/", "", "google", "", "", ("google", "(not set)", "")),
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeWarehouse]:
    warehouse = LakeWarehouse(Path(tmp_path_factory.mktemp("lake")))
    yield warehouse
    warehouse.close()


def _values(rows: list[tuple[str, ...]]) -> str:
    def lit(s: str) -> str:
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def test_ga4_default_channel_group(wh: LakeWarehouse) -> None:
    rows = wh.query(
        "{% from 'macros/channels.sql' import channel_group %}"
        "SELECT s, m, c, {{ channel_group('s', 'm', 'c') }} AS channel "
        f"FROM values('s String, m String, c String', {_values([c[:3] for c in CHANNEL_CASES])})"
    )
    got = {(r["s"], r["m"], r["c"]): r["channel"] for r in rows}
    wrong = {case[:3]: (got[case[:3]], case[3]) for case in CHANNEL_CASES
             if got[case[:3]] != case[3]}
    assert not wrong, f"(got, expected) per case: {wrong}"


def test_traffic_source_inference(wh: LakeWarehouse) -> None:
    cases = [c[:5] for c in SOURCE_CASES]
    rows = wh.query(
        "{% from 'macros/channels.sql' import traffic_source %}"
        "SELECT u, r, us, um, uc, "
        "{{ traffic_source('u', 'r', 'us', 'um', 'uc') }} "
        "FROM values('u String, r String, us String, um String, uc String', "
        f"{_values(cases)})"
    )
    got = {(r["u"], r["r"], r["us"], r["um"], r["uc"]):
           (r["traffic_source"], r["traffic_medium"], r["traffic_campaign"]) for r in rows}
    wrong = {c[:5]: (got[c[:5]], c[5]) for c in SOURCE_CASES if got[c[:5]] != c[5]}
    assert not wrong, f"(got, expected) per case: {wrong}"
