"""The RSS and JSON feeds of the built site: no placeholder values, and only dates that come from
the posts' front matter, so two builds of the same sources write the same feeds (hooks/blog.py)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from pathlib import Path

from mkdocs.utils.meta import get_data

REPO = Path(__file__).resolve().parents[2]


def post_dates() -> set[dt.date]:
    dates: set[dt.date] = set()
    for path in (REPO / "blog" / "posts").rglob("*.md"):
        if path.name.startswith(("_", ".")):
            continue
        meta = get_data(path.read_text(encoding="utf-8"))[1]
        date = meta.get("date")
        for value in date.values() if isinstance(date, dict) else [date]:
            if isinstance(value, dt.date):
                dates.add(value if not isinstance(value, dt.datetime) else value.date())
    assert dates, "no dated posts"
    return dates


def test_rss_feeds_have_no_placeholders_and_only_post_dates(site_dir: Path) -> None:
    allowed = post_dates()
    for name in ("feed_rss_created.xml", "feed_rss_updated.xml"):
        text = (site_dir / name).read_text(encoding="utf-8")
        assert ">None<" not in text, name
        assert re.search(r"<image>\s*<url>https?://[^<]+\.png</url>", text), name
        found = re.findall(r"<(pubDate|lastBuildDate)>([^<]+)<", text)
        assert found, name
        for tag, value in found:
            when = email.utils.parsedate_to_datetime(value)
            assert when.date() in allowed, f"{name}: <{tag}> {value} is not a post's date (the build's clock?)"


def test_json_feeds_have_only_post_dates(site_dir: Path) -> None:
    allowed = post_dates()
    for name in ("feed_json_created.json", "feed_json_updated.json"):
        feed = json.loads((site_dir / name).read_text(encoding="utf-8"))
        assert feed.get("icon") and "None" not in json.dumps(feed.get("icon")), name
        for item in feed["items"]:
            for key in ("date_published", "date_modified"):
                if key in item:
                    when = dt.datetime.fromisoformat(item[key])
                    assert when.date() in allowed, f"{name}: {item['url']} {key} {item[key]}"
