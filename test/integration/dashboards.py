"""dashboards.py - the PromQL queries of the committed Grafana dashboards, for
the tests that check them against real scrapes (test_metrics_scrape.sh: every
metric name a query uses is a series the services export; test_prometheus.sh:
every query, run by a real Prometheus, returns data).

  dashboards.py queries DIR WINDOW  one "title<TAB>query" line per query, Grafana's
                                    interval variables replaced by WINDOW
  dashboards.py names DIR           the metric names the queries use, one a line

Run with /usr/bin/python3 (standard library only)."""
import json
import os
import re
import sys

# Words of PromQL that look like metric names but are not.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def queries(folder):
    """(panel title, expr) of every target of every dashboard in folder."""
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name)) as f:
            dash = json.load(f)
        for panel in dash.get("panels", []):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((panel["title"], target["expr"]))
    if not out:
        sys.exit("dashboards.py: no query in %s" % folder)
    return out


def metric_names(expr):
    """The metric names expr selects: identifiers that are not a function or
    aggregation (followed by '('), a keyword, a label (inside {} or a
    by/without/on/ignoring list) or part of a string or a range."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        before = e[m.start() - 1] if m.start() else " "
        if before.isdigit() or before == ".":  # part of a number (1e3)
            continue
        if e[m.end():].lstrip().startswith("(") or m.group().lower() in KEYWORDS:
            continue
        names.add(m.group())
    return names


def main():
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "queries":
        window = sys.argv[3]
        for title, expr in queries(folder):
            for var in ("$__rate_interval", "$__interval", "$__range"):
                expr = expr.replace(var, window)
            print("%s\t%s" % (title, " ".join(expr.split())))
    elif mode == "names":
        names = set()
        for _, expr in queries(folder):
            names |= metric_names(expr)
        print("\n".join(sorted(names)))
    else:
        sys.exit("dashboards.py: unknown mode %r" % mode)


if __name__ == "__main__":
    main()
