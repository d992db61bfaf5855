#!/bin/sh
# The failover table of docs/failover.md in one run (root, ~2 min): Strata on loopback and under --netns, then a
# keepalived pair with its defaults and with advert_int 0.1 (bench/keepalived_failover.py). Uses the repository's
# strata.json, so nothing else may be running from it; stops what it started, also on failure or Ctrl+C.
set -eu
cd "$(dirname "$0")/.."
trap './strata down >/dev/null 2>&1 || true' EXIT INT TERM

drill() { # MODE...: each against lb-1, which is started again after a kill or a stop
    for mode in "$@"; do
        printf '%s ' "$label"; bench/failover.py lb-1 "$mode"
        [ "$mode" = cut ] || ./strata start lb-1 >/dev/null
        sleep 2
    done
}

./strata up --detach >/dev/null
label="strata loopback"; drill kill kill kill term term
./strata down >/dev/null
./strata up --netns --detach >/dev/null
label="strata netns"; drill kill kill kill term term cut cut cut
./strata down >/dev/null
bench/keepalived_failover.py --all
