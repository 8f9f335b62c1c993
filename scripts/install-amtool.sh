#!/usr/bin/env bash
# Prints the path of a working amtool (Alertmanager's configuration checker); see install-debian-tool.sh.
exec "$(dirname "$0")/install-debian-tool.sh" amtool prometheus-alertmanager
