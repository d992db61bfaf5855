#!/usr/bin/env python3
"""Measures how long the VIP is without service when a load balancer is killed, stopped or cut off.

Usage (from the repository root, with `./strata up --detach` or `./strata up --netns --detach` running):
    bench/failover.py [NODE] [kill|term|cut] [-f strata.json] [--json]

Starts a new connection with a GET of /static/site.css to the VIP (from `strata status --json`) every 5 ms, each on
its own worker (so a probe that times out delays none: to a cut-off host a SYN just vanishes), for one second; then
SIGKILLs NODE (default: the VIP owner), SIGTERMs it (`term`, a graceful stop) or, under `up --netns`, takes its link
down (`cut`, healed again afterwards); probes two more seconds and prints the failed probes and the time without
service: from the start of the first failed probe to the start of the first good one after the last failure.
Bounded: 600 probes at most; traffic only to the topology's VIP. bench/keepalived_failover.py measures keepalived
the same way; bench/compare.py --scenarios failover runs both a few times each and reports them side by side.
--json: one JSON object instead of the line (mode, node, probes, failed, withoutServiceMs). The environment
variable STRATA is the command that runs strata [./strata of this repository].
"""
import json, os, shlex, signal, socket, subprocess, sys, time
from probes import Prober, outage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def main():
    strata = shlex.split(os.environ.get("STRATA", "")) or [os.path.join(ROOT, "strata")]
    as_json = "--json" in sys.argv
    args = [a for a in sys.argv[1:] if a not in ("-f", "--json")]
    topology = sys.argv[sys.argv.index("-f") + 1] if "-f" in sys.argv else "strata.json"
    args = [a for a in args if a != topology]
    modes = ("kill", "term", "cut")
    mode = next((a for a in args if a in modes), "kill")
    status = json.loads(subprocess.run([*strata, "status", "--json", "-f", topology], capture_output=True, text=True, check=True).stdout)
    node = next((a for a in args if a not in modes), status["vip"]["owner"])
    host, port = status["vip"]["address"].rsplit(":", 1)
    vip = (host, int(port))

    def probe():
        try:
            with socket.create_connection(vip, timeout=0.3) as s:
                s.settimeout(0.5)
                s.sendall(b"GET /static/site.css HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n")
                return s.recv(16).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    prober = Prober(probe, limit=600)
    time.sleep(1)
    # Straight from here, not through `./strata kill|cut`: starting that CLI costs a core for half a second on a
    # small machine, which would slow the node under test before it is even killed.
    target = next(n for n in status["nodes"] if n["name"] == node)
    if mode == "cut":
        subprocess.run(["ip", "-n", target["namespace"], "link", "set", "eth0", "down"], check=True)
    else:
        os.kill(target["pid"], signal.SIGKILL if mode == "kill" else signal.SIGTERM)
    time.sleep(2)
    results = prober.stop()
    if mode == "cut":
        subprocess.run([*strata, "heal", node, "-f", topology], capture_output=True, check=True)
    failed, without = outage(results)
    if as_json:
        print(json.dumps({"mode": mode, "node": node, "probes": len(results), "failed": failed, "withoutServiceMs": round(without)}))
    else:
        print(f"{mode} {node}: {len(results)} probes, {failed} failed, without service {without:.0f} ms")

if __name__ == "__main__":
    main()
