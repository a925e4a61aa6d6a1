#!/bin/sh
# Check a repository's ryotgen monitoring the way CI should: the committed generated/ matches the
# spec, and the real Prometheus and Alertmanager tools accept what was committed.
#
#   usage: check-monitoring.sh [SPEC] [OUT]      (defaults: specs/ryot.yaml generated)
#
# Needs on PATH: ryotgen, promtool (Debian/Ubuntu package `prometheus`) and amtool
# (package `prometheus-alertmanager`). Exits non-zero at the first failing step.
set -eu

spec=${1:-specs/ryot.yaml}
out=${2:-generated}

step() {
    printf '\n==> %s\n' "$*"
    "$@"
}

# 1. generated/ is exactly what the spec renders to (no hand edits, nothing forgotten).
step ryotgen check --spec "$spec" --out "$out"

# 2. Prometheus loads the scrape config and every rule file it points at.
step promtool check config "$out/prometheus/prometheus.yml"

# 3. The rule files on their own (syntax, templates, duplicate rules).
# shellcheck disable=SC2046  # word splitting of the sorted file list is intended
step promtool check rules $(find "$out/prometheus/rules" -name '*.rules.yml' | sort)

# 4. The generated rule unit tests: every alert fires past its threshold and stays silent inside it.
# shellcheck disable=SC2046
step promtool test rules $(find "$out/prometheus/tests" -name '*.test.yml' | sort)

# 5. Alertmanager loads the routing config (teams, receivers, escalation).
step amtool check-config "$out/alertmanager/alertmanager.yml"

printf '\nmonitoring checks passed for %s -> %s\n' "$spec" "$out"
