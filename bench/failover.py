#!/usr/bin/env python3
"""Measures how long the VIP is without service when a load balancer is killed or stopped.

Usage (from the repository root, with `./strata up --detach` running):
    bench/failover.py [NODE] [kill|term|cut] [-f strata.json]

Probes the VIP (from strata.json) every 5 ms with a new connection and a GET of /static/site.css for one
second, sends the signal to NODE (default: the VIP owner) -- or, under `up --netns`, `cut` takes its link down
(`strata cut`, healed afterwards) -- probes two more seconds, and prints how many probes failed and the window
from the first to the last failure. Bounded: about 3 s and at most 600 probes; only to the topology's VIP.
"""
import json, socket, subprocess, sys, threading, time

def main():
    args = [a for a in sys.argv[1:] if a != "-f"]
    topology = sys.argv[sys.argv.index("-f") + 1] if "-f" in sys.argv else "strata.json"
    args = [a for a in args if a != topology]
    mode = next((a for a in args if a in ("kill", "term", "cut")), "kill")
    status = json.loads(subprocess.run(["./strata", "status", "--json", "-f", topology], capture_output=True, text=True, check=True).stdout)
    node = next((a for a in args if a not in ("kill", "term", "cut")), status["vip"]["owner"])
    host, port = status["vip"]["address"].rsplit(":", 1)
    vip = (host, int(port))

    def probe():
        try:
            with socket.create_connection(vip, timeout=0.2) as s:
                s.sendall(b"GET /static/site.css HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n")
                return s.recv(16).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    results, stop = [], threading.Event()
    def loop():
        while not stop.is_set() and len(results) < 600:
            results.append((time.monotonic(), probe()))
            time.sleep(0.005)

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(1)
    signalled = time.monotonic()
    if mode in ("kill", "cut"):
        subprocess.run(["./strata", mode, node, "-f", topology], capture_output=True, check=True)
    else:
        pid = next(n["pid"] for n in status["nodes"] if n["name"] == node)
        subprocess.run(["kill", "-TERM", str(pid)], check=True)
    time.sleep(2)
    stop.set()
    thread.join()
    if mode == "cut":
        subprocess.run(["./strata", "heal", node, "-f", topology], capture_output=True, check=True)
    failed = [t for t, ok in results if not ok]
    # Without service: from the start of the first failed probe to the start of the first good one after the
    # last failure (a probe to a cut-off host fails by its 0.2 s timeout, so counting failures alone says little).
    back = next((t for t, ok in results if ok and failed and t > max(failed)), None)
    window = ((back if back else results[-1][0]) - min(failed)) * 1000 if failed else 0
    print(f"{mode} {node}: {len(results)} probes, {len(failed)} failed, without service {window:.0f} ms")

if __name__ == "__main__":
    main()
