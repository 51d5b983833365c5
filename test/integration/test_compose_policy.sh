#!/usr/bin/env bash
# test_compose_policy.sh - what docker-compose.yaml and the Dockerfile promise
# a deployment, checked without a Docker engine (issue 12 item 16):
# - no service of ours (built here) restarts by itself: Compose cannot restart
#   on some exit codes only, and a service of ours that exits has met a
#   failure a restart repeats (exit 76, data deleted upstream, looped forever
#   under on-failure);
# - the Kafka UI is the maintained kafbat/kafka-ui, with its settings' names;
# - the runtime image has ca-certificates (TLS to a managed cluster verifies)
#   and every user program of the build (CMakeLists.txt's GK_USER_PROGRAMS,
#   kafka_admin included), no more, no less;
# - metrics and health (issue 17): every service of ours serves /metrics on
#   0.0.0.0:PORT inside its container (a port of its own, none published on
#   the host), and its healthcheck is its own binary's --probe readyz; the
#   producer waits for the consumers' health; the "monitoring" profile's
#   Prometheus scrapes exactly those services at those ports
#   (monitoring/prometheus.yml, which promtool validates) and its Grafana
#   gets the committed datasource and dashboards at the paths the
#   provisioning names, on a port that is not Kafka UI's.
# test_compose.sh replays the services and their healthchecks themselves;
# test_metrics_scrape.sh and test_prometheus.sh check the dashboard's
# queries against real scrapes.
# brokers: none
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import yaml' 2>/dev/null || it_fail "/usr/bin/python3 has no yaml module (Debian package python3-yaml)"
programs=$(sed -n 's/^set(GK_USER_PROGRAMS \(.*\))$/\1/p' "$GK_SOURCE/CMakeLists.txt")
[ -n "$programs" ] || it_fail "no set(GK_USER_PROGRAMS ...) in CMakeLists.txt"
/usr/bin/python3 - "$GK_SOURCE/docker-compose.yaml" "$GK_SOURCE/Dockerfile" "$programs" "$GK_SOURCE" <<'PY' >"$WORK/policy.sh" ||
import json, os, re, sys, yaml
compose, dockerfile, programs = sys.argv[1], sys.argv[2], set(sys.argv[3].split())
source = sys.argv[4]
doc = yaml.safe_load(open(compose))
bad = []
ours = [n for n, svc in doc["services"].items() if "build" in svc]
if not ours:
    bad.append("no service is built from this repository")
for name in ours:
    policy = str(doc["services"][name].get("restart", "no"))
    if policy != "no":
        bad.append("service %s: restart: %s (a permanent failure would restart forever)" % (name, policy))
ui = doc["services"].get("kafka-ui")
if ui is None:
    bad.append("no kafka-ui service")
else:
    if not re.match(r"^(ghcr\.io/)?kafbat/kafka-ui:v\d", ui.get("image", "")):
        bad.append("kafka-ui image %r is not a pinned kafbat/kafka-ui" % ui.get("image"))
    env = ui.get("environment", {})
    for k in ("KAFKA_CLUSTERS_0_NAME", "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"):
        if not env.get(k):
            bad.append("kafka-ui sets no %s" % k)
text = open(dockerfile).read()
stages = re.split(r"(?m)^FROM ", text)
runtime = [s for s in stages if re.match(r"\S+ AS runtime\b", s)]
if len(runtime) != 1:
    bad.append("Dockerfile: no single 'AS runtime' stage")
else:
    m = re.search(r"apt-get install[^\n]*\\\n((?:[^\n]*\\\n)*)", runtime[0])
    pkgs = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", m.group(1).split("&&")[0])) if m else set()
    if "ca-certificates" not in pkgs:
        bad.append("Dockerfile: the runtime stage does not install ca-certificates (installs: %s)" % " ".join(sorted(pkgs)))
m = re.search(r"--target ([\w ]+)", text)
built = set(m.group(1).split()) if m else set()
if built != programs:
    bad.append("Dockerfile builds %s; the user programs are %s" % (" ".join(sorted(built)), " ".join(sorted(programs))))
# Metrics and health of our services.
metrics = {}  # service -> port
for name in ours:
    svc = doc["services"][name]
    env = svc.get("environment", {})
    prog = svc["command"][0]
    var = "GK_%s_METRICS_ADDR" % prog.upper()
    addr = str(env.get(var, ""))
    m = re.fullmatch(r"0\.0\.0\.0:(\d+)", addr)
    if not m:
        bad.append("service %s: %s is %r, not 0.0.0.0:PORT (Prometheus scrapes it from its own container)" % (name, var, addr))
        continue
    metrics[name] = int(m.group(1))
    if "ports" in svc:
        bad.append("service %s publishes ports %s (its metrics stay on the compose network; --scale needs no host port)" % (name, svc["ports"]))
    test = svc.get("healthcheck", {}).get("test")
    if test != ["CMD", prog, "--probe", "readyz"]:
        bad.append("service %s: healthcheck %r is not [CMD, %s, --probe, readyz]" % (name, test, prog))
if len(set(metrics.values())) != len(metrics):
    bad.append("two services share a metrics port: %s" % metrics)
deps = doc["services"]["producer"].get("depends_on", {})
for c in ("db_consumer", "ack_consumer"):
    if deps.get(c, {}).get("condition") != "service_healthy":
        bad.append("producer does not wait for %s to be healthy (depends_on: %r)" % (c, deps.get(c)))
# The monitoring profile: Prometheus with the committed scrape configuration.
prom, graf = doc["services"].get("prometheus"), doc["services"].get("grafana")
for n, s in (("prometheus", prom), ("grafana", graf)):
    if s is None:
        bad.append("no %s service" % n)
    elif s.get("profiles") != ["monitoring"]:
        bad.append("%s is in profiles %r, not [monitoring]" % (n, s.get("profiles")))
    elif not re.fullmatch(r"(prom/prometheus:v|grafana/grafana:)\d+\.\d+\.\d+", s.get("image", "")):
        bad.append("%s image %r is not a pinned prom/prometheus or grafana/grafana" % (n, s.get("image")))
def mounts(s):  # container path -> repository path of the bind mounts
    out = {}
    for v in s.get("volumes", []):
        host, path = str(v).split(":")[:2]
        if host.startswith("./"):
            out[path] = os.path.normpath(os.path.join(source, host))
    return out
if prom and graf:
    cfg = [a.split("=", 1)[1] for a in prom.get("command", []) if a.startswith("--config.file=")]
    pm = mounts(prom)
    if len(cfg) != 1 or cfg[0] not in pm:
        bad.append("prometheus: --config.file %r is not a mounted file of the repository" % cfg)
    else:
        pcfg = yaml.safe_load(open(pm[cfg[0]]))
        print("PROM_CONFIG=%s" % pm[cfg[0]])
        jobs = {}
        for j in pcfg.get("scrape_configs", []):
            sd = j.get("dns_sd_configs", [])
            if len(sd) != 1 or len(sd[0].get("names", [])) != 1 or sd[0].get("type") != "A":
                bad.append("prometheus job %s: not one dns_sd_config of one service name (type A: every replica)" % j["job_name"])
                continue
            if j["job_name"] != sd[0]["names"][0]:
                bad.append("prometheus job %s scrapes service %s: a job is named after its service" % (j["job_name"], sd[0]["names"][0]))
            jobs[sd[0]["names"][0]] = sd[0].get("port")
        if jobs != metrics:
            bad.append("prometheus.yml scrapes %s; the services serve metrics at %s" % (jobs, metrics))
        gm = mounts(graf)
        prov = gm.get("/etc/grafana/provisioning")
        if not prov:
            bad.append("grafana: no provisioning mounted at /etc/grafana/provisioning")
        else:
            uids = {}
            for f in sorted(os.listdir(os.path.join(prov, "datasources"))):
                for d in yaml.safe_load(open(os.path.join(prov, "datasources", f)))["datasources"]:
                    uids[d["uid"]] = d
                    url = re.fullmatch(r"http://([\w-]+):(\d+)", d["url"])
                    if not url or url.group(1) != "prometheus" or url.group(2) != "9090":
                        bad.append("grafana datasource %s: url %s is not the prometheus service's http://prometheus:9090" % (d["uid"], d["url"]))
                    if d.get("jsonData", {}).get("timeInterval") != pcfg["global"]["scrape_interval"]:
                        bad.append("grafana datasource %s: timeInterval %r, Prometheus scrapes every %s" % (d["uid"], d.get("jsonData", {}).get("timeInterval"), pcfg["global"]["scrape_interval"]))
            panels = 0
            for f in sorted(os.listdir(os.path.join(prov, "dashboards"))):
                for pr in yaml.safe_load(open(os.path.join(prov, "dashboards", f)))["providers"]:
                    path = pr["options"]["path"]
                    if path not in gm:
                        bad.append("grafana provider %s reads %s, which compose does not mount" % (pr["name"], path))
                        continue
                    print("DASHBOARDS=%s" % gm[path])
                    for dfile in sorted(os.listdir(gm[path])):
                        dash = json.load(open(os.path.join(gm[path], dfile)))
                        for p in dash["panels"]:
                            for uid in {t.get("datasource", {}).get("uid") for t in [p] + p.get("targets", [])} - set(uids):
                                bad.append("%s panel %r: datasource uid %r is not provisioned" % (dfile, p["title"], uid))
                            if not p.get("targets"):
                                bad.append("%s panel %r has no query" % (dfile, p["title"]))
                            panels += 1
            home = graf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
            if home and not os.path.isfile(os.path.join(gm.get(os.path.dirname(home), "/nonexistent"), os.path.basename(home))):
                bad.append("grafana's home dashboard %s is not a committed file" % home)
            print("PANELS=%d" % panels)
    published = {str(p).rsplit(":", 2)[-2] for s in doc["services"].values() for p in s.get("ports", [])
                 if s is not graf}
    for p in graf.get("ports", []):
        if str(p).rsplit(":", 2)[-2] in published:
            bad.append("grafana's host port %s clashes with another service's" % p)
for b in bad:
    print("compose policy: " + b, file=sys.stderr)
if bad:
    sys.exit(1)
print("compose policy: ok: no restart for %s, kafka-ui %s, runtime packages, programs %s; metrics ports %s, healthchecks by --probe, prometheus jobs and grafana provisioning agree"
      % (" ".join(ours), ui["image"], " ".join(sorted(built)), metrics), file=sys.stderr)
PY
  it_fail "docker-compose.yaml or the Dockerfile breaks a promise above"
. "$WORK/policy.sh"
it_log "ok: grafana provisioning: $PANELS panels in $DASHBOARDS"
# Debian's prometheus package ships promtool (scripts/deps.sh test).
command -v promtool >/dev/null || it_fail "promtool is not installed (Debian package prometheus)"
promtool check config "$PROM_CONFIG" >"$WORK/promtool.out" 2>&1 ||
  it_fail "promtool check config $PROM_CONFIG: $(cat "$WORK/promtool.out")"
it_log "ok: $(grep -m1 SUCCESS "$WORK/promtool.out" | sed 's/^ *//')"
it_log "PASS"
