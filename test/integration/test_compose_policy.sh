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
#   kafka_admin included), no more, no less.
# test_compose.sh replays the services themselves.
# brokers: none
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import yaml' 2>/dev/null || it_fail "/usr/bin/python3 has no yaml module (Debian package python3-yaml)"
programs=$(sed -n 's/^set(GK_USER_PROGRAMS \(.*\))$/\1/p' "$GK_SOURCE/CMakeLists.txt")
[ -n "$programs" ] || it_fail "no set(GK_USER_PROGRAMS ...) in CMakeLists.txt"
/usr/bin/python3 - "$GK_SOURCE/docker-compose.yaml" "$GK_SOURCE/Dockerfile" "$programs" <<'PY' >&2 ||
import re, sys, yaml
compose, dockerfile, programs = sys.argv[1], sys.argv[2], set(sys.argv[3].split())
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
for b in bad:
    print("compose policy: " + b)
if bad:
    sys.exit(1)
print("compose policy: ok: no restart for %s, kafka-ui %s, runtime packages, programs %s"
      % (" ".join(ours), ui["image"], " ".join(sorted(built))))
PY
  it_fail "docker-compose.yaml or the Dockerfile breaks a promise above"
it_log "PASS"
