#!/usr/bin/env python3
"""Measures keepalived's VIP failover on a private network of namespaces, to compare with bench/failover.py.

Usage (as root, keepalived installed: apt-get install keepalived):
    bench/keepalived_failover.py [--advert-int SECONDS] [--mode kill|term|cut] [--subnet 10.203.0.0/24] [--json]
    bench/keepalived_failover.py --all        # advert_int 1 and 0.1 x kill, term, cut: one line each

Builds namespaces ska-XXXX-br (bridge br0), ska-XXXX-ka-1 and -ka-2 (.11, .12, each with keepalived, VRRPv3,
priority 200/100, and an HTTP server on :8080), and one veth skaXXXX into the host namespace (.1/24): no NAT, no
default route. Once ka-1 holds the VIP (.100) and it answers, starts a new connection with a GET of /site.css to
VIP:8080 every 5 ms (each on its own worker, so a timed-out probe delays none) for one second, then on ka-1:
kill = SIGKILL of keepalived (parent and VRRP child, a crash), term = SIGTERM (graceful, sends priority 0),
cut = its eth0 down. After a kill ka-1 keeps the VIP and its HTTP server keeps answering: that is measured as is
(traffic moves when ka-2's gratuitous ARP reaches the host). Probes until ka-2 has served for 2 s without a failure
(8 s and 2000 probes at most), prints failed probes, the time without service as bench/failover.py counts it (first
failed probe to the first good one after the last failure), the window from the first to the last failure and when
service was back, then stops its processes by their PIDs and deletes every namespace (also on Ctrl+C or SIGTERM).
--json: one JSON object per run instead of the lines (bench/compare.py --scenarios failover reads it).
"""
from probes import Prober, outage
import json
import argparse, ipaddress, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time

KEEPALIVED = "/usr/sbin/keepalived"

def run(*cmd, check=True):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout

class Lab:
    def __init__(self, subnet, advert):
        net = ipaddress.ip_network(subnet)
        if not net.is_private or net.num_addresses < 128:
            raise RuntimeError(f"--subnet {subnet}: a private network of at least 128 addresses is needed (.1, .11, .12, .100)")
        self.bits = net.prefixlen
        host = lambda n: str(net.network_address + n)
        self.hex = secrets.token_hex(2)
        self.prefix, self.veth = f"ska-{self.hex}", f"ska{self.hex}"
        self.bridge, self.nodes = f"{self.prefix}-br", [f"{self.prefix}-ka-1", f"{self.prefix}-ka-2"]
        self.addresses, self.gateway, self.vip = [host(11), host(12)], host(1), host(100)
        self.advert, self.namespaces, self.procs, self.veth_made = advert, [], {}, False  # procs: name -> Popen (its PID)
        # Refuse a subnet the host already routes (other than by its default route): traffic must stay ours.
        routes = [r for r in run("ip", "-4", "route", "show", "match", self.vip).splitlines() if not r.startswith("default")]
        if routes:
            raise RuntimeError(f"the host already routes {self.vip} ({routes[0]}); choose another --subnet")
        self.tmp = tempfile.mkdtemp(prefix=f"{self.prefix}-")

    def up(self):
        for ns in [self.bridge, *self.nodes]:
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.bridge, "link", "set", "br0", "up")
        for i, (ns, address) in enumerate(zip(self.nodes, self.addresses), 1):
            run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"ka{i}", "netns", self.bridge)
            self.port(f"ka{i}")
            run("ip", "-n", ns, "addr", "add", f"{address}/{self.bits}", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
        # The one link in the host namespace; its peer lives in the bridge namespace, so `ip netns del` removes both.
        run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "host", "netns", self.bridge)
        self.veth_made = True
        self.port("host")
        run("ip", "addr", "add", f"{self.gateway}/{self.bits}", "dev", self.veth)
        run("ip", "link", "set", self.veth, "up")
        for i, ns in enumerate(self.nodes, 1):
            self.start_node(ns, i, 300 - 100 * i)

    def port(self, name):
        run("ip", "-n", self.bridge, "link", "set", name, "master", "br0")
        run("ip", "-n", self.bridge, "link", "set", name, "up")

    def start_node(self, ns, i, priority):
        d = os.path.join(self.tmp, f"ka-{i}")
        os.makedirs(os.path.join(d, "www"))
        with open(os.path.join(d, "www", "site.css"), "w") as f:
            f.write(f"/* ka-{i} */\n")
        conf = os.path.join(d, "keepalived.conf")
        with open(conf, "w") as f:
            f.write(f"global_defs {{\n  router_id ska_ka_{i}\n  vrrp_version 3\n  enable_script_security\n}}\n"
                    f"vrrp_instance VI {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority {priority}\n"
                    f"  advert_int {self.advert:g}\n  virtual_ipaddress {{\n    {self.vip}/32\n  }}\n}}\n")
        check = subprocess.run(["ip", "netns", "exec", ns, KEEPALIVED, "-t", "-f", conf], capture_output=True, text=True, timeout=10)
        if check.returncode != 0:
            raise RuntimeError(f"keepalived -t rejected {conf}: {check.stderr.strip()}")
        pid = lambda n: os.path.join(d, n)
        self.spawn(f"http-{i}", d, ["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", "8080", "--bind", "0.0.0.0", "-d", os.path.join(d, "www")])
        # -n: foreground, -P: VRRP only, -R: a killed VRRP child is not respawned (a crash stays a crash), own pid
        # files. `ip netns exec` execs keepalived: the recorded PID is keepalived's parent, leader of its own group.
        self.spawn(f"keepalived-{i}", d, ["ip", "netns", "exec", ns, KEEPALIVED, "-n", "-l", "-D", "-P", "-R", "-f", conf,
                                          "-p", pid("keepalived.pid"), "-r", pid("vrrp.pid"), "-c", pid("checkers.pid"), "-b", pid("bfd.pid")])

    def spawn(self, name, d, cmd):
        log = open(os.path.join(d, f"{name.split('-')[0]}.log"), "w")
        self.procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def holds_vip(self, i):
        return f"inet {self.vip}/32" in run("ip", "-n", self.nodes[i - 1], "-4", "addr", "show", "dev", "eth0", check=False)

    def vrrp_child(self, i):
        """The VRRP child's PID from its pid file, checked to be in the group of the keepalived we started."""
        with open(os.path.join(self.tmp, f"ka-{i}", "vrrp.pid")) as f:
            child = int(f.read())
        if pgid(child) != self.procs[f"keepalived-{i}"].pid:
            raise RuntimeError(f"VRRP child {child} is not in keepalived's process group")
        return child

    def down(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            # Each recorded PID leads its own process group (start_new_session): that group is keepalived and its
            # children only. A VRRP child can outlive its parent (it gets SIGTERM when the parent dies), so wait
            # for the group to empty, then SIGKILL what is left of it.
            for _ in range(20):
                try:
                    os.killpg(p.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        if self.veth_made:  # it would go with the bridge namespace too, but asynchronously
            run("ip", "link", "del", self.veth, check=False)
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
        for _ in range(50):  # the kernel dismantles a deleted namespace in the background: wait up to 5 s
            left = [l for l in run("ip", "netns", "list").splitlines() + run("ip", "-o", "link").splitlines() if self.hex in l]
            if not left:
                break
            time.sleep(0.1)
        else:
            print(f"warning: left behind: {left}", file=sys.stderr)

def pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None

def probe(vip):
    """(who answered with HTTP 200: ka-1 or ka-2, None on failure; why it failed)."""
    try:
        with socket.create_connection((vip, 8080), timeout=0.3) as s:
            s.settimeout(0.5)
            s.sendall(b"GET /site.css HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        m = re.search(rb"/\* (ka-\d) \*/", data)
        return (m.group(1).decode(), None) if m and re.match(rb"HTTP/1\.[01] 200 ", data) else (None, "bad answer")
    except OSError as e:
        return None, "timeout" if isinstance(e, TimeoutError) else type(e).__name__

def measure(advert, mode, subnet, as_json=False):
    lab, ok = Lab(subnet, advert), False
    try:
        lab.up()
        deadline = time.monotonic() + 15
        while not (lab.holds_vip(1) and not lab.holds_vip(2) and probe(lab.vip)[0] == "ka-1"):
            for name, p in lab.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited ({p.returncode}); logs in {lab.tmp}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"ka-1 did not hold {lab.vip} answering HTTP within 15 s; logs in {lab.tmp}")
            time.sleep(0.1)
        time.sleep(2 * advert)  # a couple of adverts from the settled master

        # A new connection every 5 ms, each on its own worker (bench/probes.py).
        prober = Prober(lambda: probe(lab.vip), limit=2000)
        results = prober.results
        try:
            time.sleep(1)
            event = time.monotonic()
            if mode == "kill":
                # The whole group (parent and VRRP child) at once, as a crash would. SIGKILL of the parent alone is
                # graceful: the child gets SIGTERM on its parent's death, sends priority 0 and removes the VIP.
                lab.vrrp_child(1)
                os.killpg(lab.procs["keepalived-1"].pid, signal.SIGKILL)
            elif mode == "term":
                os.kill(lab.procs["keepalived-1"].pid, signal.SIGTERM)
            else:
                run("ip", "-n", lab.nodes[0], "link", "set", "eth0", "down")
            while time.monotonic() - event < 8 and prober.running:
                now, after = time.monotonic(), [r for r in results if r[0] >= event]
                first_ka2 = next((t for t, who, _ in after if who == "ka-2"), None)
                if first_ka2 and now - first_ka2 >= 2 and all(who for t, who, _ in after if t >= now - 2):
                    break
                time.sleep(0.05)
        finally:
            results = prober.stop()

        failed = [t for t, who, _ in results if not who]
        _, without = outage(results)
        window = (max(failed) - min(failed)) * 1000 if failed else 0
        back = next((t for t, who, _ in results if who and failed and t > max(failed)), None)
        after = [r for r in results if r[0] >= event]
        first_ka2 = next((t for t, who, _ in after if who == "ka-2"), None)
        why = {}
        for _, _, w in results:
            if w:
                why[w] = why.get(w, 0) + 1
        summary = {"advertInt": advert, "mode": mode, "probes": len(results), "failed": len(failed), "withoutServiceMs": round(without),
                   "windowMs": round(window), "backAfterMs": round((back - event) * 1000) if back else None,
                   "standbyServedFromMs": round((first_ka2 - event) * 1000) if first_ka2 else None,
                   "oldMasterServedAfter": sum(who == "ka-1" for _, who, _ in after), "failures": why}
        if not as_json:
            print(f"keepalived advert_int={advert:g} {mode}: {len(results)} probes, {len(failed)} failed, without service {without:.0f} ms,"
              f" window {window:.0f} ms (first failure to last failure), back after "
              + (f"{(back - event) * 1000:.0f} ms" if back else ("- (no failure)" if not failed else "never"))
              + " (event to first success after the last failure); ka-2 served from "
              + (f"{(first_ka2 - event) * 1000:.0f} ms" if first_ka2 else "never")
              + f", ka-1 served {sum(who == 'ka-1' for _, who, _ in after)} probes after the event"
              + (f"; failures: {', '.join(f'{n} {w}' for w, n in why.items())}" if why else ""), flush=True)
        if mode == "kill":
            macs = {run("ip", "-n", ns, "-br", "link", "show", "eth0").split()[2]: f"ka-{i}" for i, ns in enumerate(lab.nodes, 1)}
            neigh = run("ip", "neigh", "show", lab.vip, "dev", lab.veth).split()
            mac = neigh[neigh.index("lladdr") + 1] if "lladdr" in neigh else "none"
            served = [who for _, who, _ in after if who]
            switches = sum(a != b for a, b in zip(served, served[1:]))
            summary.update({"oldMasterHoldsVip": lab.holds_vip(1), "standbyHoldsVip": lab.holds_vip(2), "hostArp": macs.get(mac, "?"),
                            "answeringNodeChanges": switches})
            if not as_json:
                print(f"  note: after SIGKILL ka-1 {'still holds' if lab.holds_vip(1) else 'no longer holds'} the VIP (stale; its HTTP"
                      f" server still answers), ka-2 holds it: {lab.holds_vip(2)}; host ARP for the VIP: {mac} ({macs.get(mac, '?')});"
                      f" answering node changed {switches} times after the event", flush=True)
        if as_json:
            print(json.dumps(summary), flush=True)
        ok = True
    finally:
        lab.down()
        if ok:
            shutil.rmtree(lab.tmp, ignore_errors=True)  # logs are kept only when something went wrong

def main():
    parser = argparse.ArgumentParser(description="keepalived VIP failover on a private namespace network")
    parser.add_argument("--advert-int", type=float, default=1)
    parser.add_argument("--mode", choices=["kill", "term", "cut"], default="kill")
    parser.add_argument("--subnet", default="10.203.0.0/24")
    parser.add_argument("--all", action="store_true", help="advert_int 1 and 0.1 x kill, term, cut")
    parser.add_argument("--json", action="store_true", help="one JSON object per run instead of the lines")
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.path.exists(KEEPALIVED):
        sys.exit("needs root and keepalived (apt-get install keepalived)")
    def on_term(signum, frame):
        raise KeyboardInterrupt  # clean up as on Ctrl+C
    signal.signal(signal.SIGTERM, on_term)
    runs = [(a, m) for a in (1, 0.1) for m in ("kill", "term", "cut")] if args.all else [(args.advert_int, args.mode)]
    try:
        for advert, mode in runs:
            measure(float(advert), mode, args.subnet, args.json)
    except KeyboardInterrupt:
        sys.exit("interrupted; cleaned up")
    except RuntimeError as e:
        sys.exit(f"error: {e}")

if __name__ == "__main__":
    main()
