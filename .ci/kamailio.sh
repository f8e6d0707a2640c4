#!/usr/bin/env bash
# The Kamailio integration, run from the repository root: PSAP call-backs through Kamailio routed
# by sosroute against Kamailio's dispatcher failover, driven by sipp on 127.0.0.1 through five
# fault phases (examples/kamailio/README.md). Installs kamailio, kamailio-python3-modules and
# sip-tester from Debian's packages when missing. About two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/kamailio/test.sh
