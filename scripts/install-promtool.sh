#!/usr/bin/env bash
# Prints the path of a working promtool (Prometheus's rule checker and rule unit-test runner); see install-debian-tool.sh.
exec "$(dirname "$0")/install-debian-tool.sh" promtool prometheus
