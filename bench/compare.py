#!/usr/bin/env python3
"""Strata side by side with the classic stack (HAProxy 2.6, nginx 1.22) on this machine: docs/benchmarks.md.

Every scenario writes one topology (strata.json, loopback addresses 127.0.9.x on free ports), exports it with
`strata export haproxy|nginx` and runs both stacks from it, one at a time on the same addresses: Strata's nodes
(`strata lb|web|app NAME -f FILE`) or HAProxy and nginx in front of the same upstreams. The servers of both stacks
are pinned to the same cores (--server-cpus) with the same thread budget (HAProxy nbthread, nginx
worker_processes, .NET's processor count: all from the pinning); wrk runs on the other cores (--client-cpus).
For each number of connections, rounds alternate A/B (B/A the next round); each run reports requests/s, p50/p99
latency, errors, and per stack the CPU seconds and peak RSS of its processes. Medians go to a Markdown table of
Strata/classic ratios, beside the raw JSON, in docs/benchmarks/. Bounded: every run is --duration seconds; only
loopback addresses; every process is stopped by the PID recorded when it started.

The seed scenario runs the seed's topology (two load balancers, lb-1 holding the VIP; two web nodes; the two app
nodes both stacks share) against HAProxy in front of one nginx process per web node. The warm scenario measures what a
user feels first: each second's requests/s and p50/p99 (wrk runs of 1 s back to back) right after a cold start of a web
node and of the load balancer pair, and after lb-1 is SIGKILLed and lb-2 takes over, against the same node's steady
seconds after --warmup seconds of load (HAProxy: a second one started cold after the first is killed). Every report
gives each process's peak RSS as well as each stack's sum.

The failover scenario (not in the default list: it needs root, network namespaces and keepalived; ask for it with
--scenarios failover, alone or with others) measures the cluster issue's number instead: how long the VIP is without
service when its load balancer goes away, Strata against keepalived. It runs bench/failover.py against a two-load-
balancer Strata topology (`strata up`, on loopback: SIGKILL and SIGTERM of lb-1; under `up --netns`: those and lb-1's
link cut), and bench/keepalived_failover.py (a keepalived pair in namespaces it creates, with the same advert
interval) for the same events, --drills times each, and adds a table: time without service (median, max) and failed
probes, with the ratio of the medians. Bounded: every drill stops by itself (failover.py after 3 s, the keepalived one
after 8 s at most); `strata down` and the keepalived script remove every namespace they made.
"""
import argparse, datetime, json, os, platform, re, shlex, signal, socket, ssl, statistics, subprocess, sys, tempfile, time
import urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = {"wrk": "wrk", "haproxy": "haproxy", "nginx": "nginx", "h2load": "nghttp2-client", "openssl": "openssl"}
TICKS = os.sysconf("SC_CLK_TCK")
SEED, WARM = "seed", "warm"
SCENARIOS = ["lb", "static", "chain-static", "chain-dynamic", "https-ecdsa", "https-rsa", "app", SEED, WARM]
# warm: the seconds measured one by one after a cold start or a take-over, and again in the steady state (1 in --tiny).
WARM_SECONDS = 5
# HTTPS scenarios: the key of the VIP's certificate (openssl req -newkey ...), the same file for both stacks.
TLS_KEYS = {"https-ecdsa": ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "https-rsa": ["rsa:2048"]}
# HTTP/2 runs: streams in flight on each connection (h2load -m).
H2_STREAMS = 10
# Not in the default list: it needs root, network namespaces and keepalived (and several minutes).
FAILOVER = "failover"
FAILOVER_PACKAGES = {"keepalived": "keepalived", "arping": "iputils-arping", "ip": "iproute2"}
# Events of the failover drills: (name, what happens to the master load balancer, where Strata runs it, whether
# keepalived's drill is the same outage: a SIGKILLed keepalived leaves the VIP on a host that still serves).
FAILOVER_EVENTS = [("kill", "killed (SIGKILL)", ["loopback", "netns"], False),
                   ("term", "graceful stop (SIGTERM)", ["loopback", "netns"], True),
                   ("cut", "host cut off (link down)", ["netns"], True)]
# Private subnets of the drills' namespaces (Strata's `up --netns`, the keepalived pair): none is routed from here.
STRATA_SUBNET, KEEPALIVED_SUBNET = "10.219.0.0/24", "10.218.0.0/24"


def log(message):
    print(f"compare: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the machine

def ensure_packages(packages=PACKAGES):
    """Installs wrk, haproxy and nginx (and what else is asked) from Debian when missing (as root); the services are
    not started."""
    missing = [pkg for tool, pkg in packages.items() if not which(tool)]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"compare: needs the Debian packages {' '.join(missing)} (sudo apt-get install {' '.join(missing)})")
    log(f"installing {' '.join(missing)}")
    # policy-rc.d exit 101: apt must not start nginx's or haproxy's own service on the default ports.
    policy = "/usr/sbin/policy-rc.d"
    had_policy = os.path.exists(policy)
    if not had_policy:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)
    finally:
        if not had_policy:
            os.remove(policy)


def which(tool):
    for directory in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        path = os.path.join(directory, tool)
        if os.access(path, os.X_OK):
            return path
    return None


def machine_version(*cmd):
    """The first line a program prints about its version."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    version = machine_version
    return {
        "cpu": model, "cores": os.cpu_count(), "memoryGiB": memory, "kernel": platform.release(),
        "dotnet": version("dotnet", "--version"), "haproxy": version(which("haproxy") or "haproxy", "-v"),
        "nginx": version(which("nginx") or "nginx", "-v"), "wrk": version("wrk", "-v"),
        "h2load": version("h2load", "--version"), "openssl": version("openssl", "version"),
    }


# ---------------------------------------------------------------- processes

class Server:
    """A server process started in a session of its own, pinned with taskset; measured over its whole session
    (nginx's workers, for instance), stopped by the PID recorded here (SIGTERM, SIGKILL after 10 s)."""

    def __init__(self, name, command, cpus, log_dir, ready_url=None):
        self.name, self.ready_url = name, ready_url
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(["taskset", "-c", cpus, *command], stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.process.pid

    def _session(self):
        """PIDs of this server's session (it and every process it started)."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == self.pid:  # field 6 of stat: the session id
                    pids.append(int(entry))
        return pids

    def cpu_seconds(self):
        total = 0
        for pid in self._session():
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
        return total / TICKS

    def peak_rss_mib(self):
        total = 0
        for pid in self._session():
            try:
                total += next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmHWM"))
            except (OSError, StopIteration):
                pass
        return total / 1024

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


def wait_ready(url, server, timeout=60, ok_only=False):
    """Until url answers (with ok_only: 200), or fails when server exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}: see {server.log_path}")
        try:
            # The HTTPS scenarios' certificate is self-signed: readiness is all that is asked here.
            with urllib.request.urlopen(url, timeout=2, context=ssl._create_unverified_context()) as response:
                if response.status == 200 or not ok_only:
                    return
        except urllib.error.HTTPError as error:
            if not ok_only and error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s: see {server.log_path}")


_GIVEN_PORTS = set()


def free_port(address):
    """A port free on address now, never one given before in this run: the kernel may hand the same port to two
    binds in a row once the first socket is closed (a node's address and management port were once the same, and
    the topology, rightly, refused to load)."""
    while True:
        with socket.socket() as s:
            s.bind((address, 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


# ---------------------------------------------------------------- load generators

def client_threads(cpus, connections):
    return max(1, min(len(cpus.split(",")), connections))


def run_wrk(url, connections, duration, cpus, headers=(), script=None):
    extra = [arg for header in headers for arg in ("-H", header)] + (["-s", script] if script else [])
    out = subprocess.run(["taskset", "-c", cpus, "wrk", f"-t{client_threads(cpus, connections)}", f"-c{connections}", f"-d{duration}s",
                          "--timeout", "5s", "--latency", *extra, url], capture_output=True, text=True, timeout=duration + 60)
    text = out.stdout
    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            return None
        return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    requests = re.search(r"(\d+) requests in", text)
    # With the WRK_DONE script: wrk's histogram in microseconds, exact, with p99.9 and the maximum.
    exact = re.search(r"^strata-latency p50 (\d+) p99 (\d+) p999 (\d+) max (\d+)$", text, re.M)
    exact_latency = {"p50ms": int(exact.group(1)) / 1000, "p99ms": int(exact.group(2)) / 1000,
                     "p999ms": int(exact.group(3)) / 1000, "maxms": int(exact.group(4)) / 1000} if exact else {}
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(requests.group(1)) if requests else 0,
        "p50ms": latency(50), "p99ms": latency(99),
        "errors": (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non2xx.group(1)) if non2xx else 0),
        "raw": text if out.returncode == 0 else text + out.stderr,
        **exact_latency,
    }


def run_wrk_close(url, connections, duration, cpus):
    """A new connection per request (Connection: close): over TLS a full handshake each time, since wrk resumes no session."""
    return run_wrk(url, connections, duration, cpus, headers=["Connection: close"])


def run_h2load(url, connections, duration, cpus):
    """HTTP/2 over TLS (ALPN h2): H2_STREAMS streams in flight per connection; p50/p99 from h2load's per-request log."""
    with tempfile.NamedTemporaryFile(prefix="strata-h2load-", suffix=".tsv") as requests_log:
        out = subprocess.run(["taskset", "-c", cpus, "h2load", f"-t{client_threads(cpus, connections)}", f"-c{connections}",
                              f"-m{H2_STREAMS}", f"-D{duration}", "--warm-up-time=1", f"--log-file={requests_log.name}", url],
                             capture_output=True, text=True, timeout=duration + 60)
        times = sorted(int(cols[2]) / 1000 for cols in (line.split("\t") for line in open(requests_log.name)) if len(cols) >= 3 and cols[1] != "-1")
    text = out.stdout
    percentile = lambda p: times[min(len(times) - 1, int(len(times) * p / 100))] if times else None
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
    counts = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(counts.group(2)) if counts else 0,
        "p50ms": percentile(50), "p99ms": percentile(99),
        "errors": (int(counts.group(4)) + int(counts.group(5)) + int(counts.group(6)) if counts else 0)
                  + (int(status.group(3)) + int(status.group(4)) if status else 0),
        "raw": text if out.returncode == 0 else text + out.stderr,
    }


def probe(url, label=None, run=run_wrk):
    """What one row measures: a url, the label of its row (its path by default) and the load generator."""
    return {"url": url, "label": label or "/" + url.split("/", 3)[3], "run": run}


# ---------------------------------------------------------------- topology and stacks

def strata_command(given):
    """The command that runs strata: --strata's, else the Release build (./strata builds it when a source is newer)."""
    if given:
        return given.split()
    subprocess.run([os.path.join(ROOT, "strata"), "--help"], check=True, stdout=subprocess.DEVNULL)
    return [os.path.join(ROOT, ".build", "strata", "Strata")]


class Bench:
    """One scenario's topology, files and exports, in a temporary folder. With seed: the seed's topology, two load
    balancers (lb-1 priority 200 holds the VIP, lb-2 its backup), two web nodes and two app nodes."""

    LB, WEB, APP, VIP, DNS = "127.0.9.1", "127.0.9.11", "127.0.9.21", "127.0.9.100", "127.0.9.53"
    LB2, WEB2, APP2 = "127.0.9.2", "127.0.9.12", "127.0.9.22"

    def __init__(self, work, strata, tls_key=None, request_log="httplog", rate_limit=0, seed=False):
        self.work, self.strata, self.exported = work, strata, {}
        os.chmod(work, 0o755)  # nginx's workers run as nobody and must read the web root
        self.root = os.path.join(work, "wwwroot")
        os.makedirs(os.path.join(self.root, "static"), exist_ok=True)
        for name, size in [("1k.txt", 1024), ("100k.txt", 100 * 1024)]:
            with open(os.path.join(self.root, "static", name), "w") as f:
                f.write(("Strata benchmark file. " * (size // 23 + 1))[:size])
        port = free_port
        self.ports = {"vip": port(self.VIP), "lb": port(self.LB), "lbm": port(self.LB), "web": port(self.WEB),
                      "webm": port(self.WEB), "app": port(self.APP), "appm": port(self.APP), "dns": port(self.DNS),
                      "dnsm": port(self.DNS), "vrrp": vrrp_port(self.LB, self.LB2) if seed else port(self.LB), "tls": port(self.VIP)}
        p = self.ports
        # Every node by name: (role, host, port, management port).
        self.nodes = {"lb-1": ("lb", self.LB, p["lb"], p["lbm"]), "web-1": ("web", self.WEB, p["web"], p["webm"]),
                      "app-1": ("app", self.APP, p["app"], p["appm"])}
        if seed:
            for name, role, host in [("lb-2", "lb", self.LB2), ("web-2", "web", self.WEB2), ("app-2", "app", self.APP2)]:
                self.nodes[name] = (role, host, port(host), port(host))
        def nodes(role, **extra):
            return [{"name": name, "address": f"{host}:{node_port}", "management": f"{host}:{management}", **extra.get(name, {})}
                    for name, (kind, host, node_port, management) in self.nodes.items() if kind == role]
        self.topology = {
            "dns": {"name": "dns", "address": f"{self.DNS}:{p['dns']}", "management": f"{self.DNS}:{p['dnsm']}",
                    "zone": "foobar.com", "records": {"@": "vip", "www": "vip"}},
            "vip": {"address": f"{self.VIP}:{p['vip']}", "port": p["vrrp"]},
            "loadBalancers": {"nodes": nodes("lb", **({"lb-1": {"priority": 200}, "lb-2": {"priority": 100}} if seed else {}))},
            "web": {"root": self.root, "nodes": nodes("web")},
            "app": {"nodes": nodes("app"), "benchmarkEndpoints": True},
            "database": {"engine": "sqlite", "path": os.path.join(work, "bench.db")},
        }
        if seed:
            # As the failover scenario's pair: lb-1 takes the VIP back whenever it is up.
            self.topology["vip"].update({"advertIntervalCs": FailoverTopology.ADVERT_CS, "preempt": True})
        if tls_key:
            self.topology["vip"]["tls"] = {"port": p["tls"], "certificates": [self.certificate(tls_key)]}
        # The load balancer's request log (HAProxy's export logs the same requests with option httplog to its stdout).
        self.topology["loadBalancers"]["requestLog"] = {"format": request_log, "path": os.path.join(work, "logs", "{node}.requests.log")}
        if rate_limit:
            # Every request through a route with a per-client limit it never reaches: the limit's cost alone (HAProxy: a stick table).
            self.topology["loadBalancers"]["routes"] = [{"name": "limited", "match": {"paths": ["/"]}, "pool": "web",
                                                         "request": [{"limit": {"rate": rate_limit, "burst": rate_limit}}]}]
        self.path = os.path.join(work, "strata.json")
        with open(self.path, "w") as f:
            json.dump(self.topology, f, indent=2)
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def certificate(self, key):
        """A self-signed certificate for www.foobar.com and the VIP's address, its key made by `openssl req -newkey KEY`."""
        cert, private = os.path.join(self.work, "cert.pem"), os.path.join(self.work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", *key, "-nodes", "-keyout", private, "-out", cert, "-days", "30",
                        "-subj", "/CN=www.foobar.com", "-addext", f"subjectAltName=DNS:www.foobar.com,IP:{self.VIP}"],
                       check=True, capture_output=True)
        return {"certificate": cert, "key": private}

    def export(self, target, workers, web_node=None):
        """`strata export TARGET --workers N` into classic/: N is the thread budget (nginx worker_processes, HAProxy
        nbthread). With web_node: nginx for that web node alone (the topology without the other web nodes), into
        classic-NODE/, so each web node's address is its own nginx process, as two web servers would be."""
        path, out = self.path, os.path.join(self.work, "classic")
        if (target, workers, web_node) in self.exported:
            return self.exported[target, workers, web_node]  # the topology does not change: once is enough (each export starts a .NET CLI)
        if web_node:
            path, out = os.path.join(self.work, f"strata.{web_node}.json"), os.path.join(self.work, f"classic-{web_node}")
            topology = json.loads(json.dumps(self.topology))
            topology["web"]["nodes"] = [n for n in topology["web"]["nodes"] if n["name"] == web_node]
            with open(path, "w") as f:
                json.dump(topology, f, indent=2)
        subprocess.run([*self.strata, "export", target, "-f", path, "-o", out, "--workers", str(workers)],
                       check=True, stdout=subprocess.DEVNULL)
        self.exported[target, workers, web_node] = out
        return out

    def url(self, address_key, path):
        host = {"vip": self.VIP, "lb": self.LB, "web": self.WEB, "app": self.APP, "tls": self.VIP}[address_key]
        return f"{'https' if address_key == 'tls' else 'http'}://{host}:{self.ports[address_key]}{path}"

    def node_url(self, name, path, management=False):
        _, host, node_port, management_port = self.nodes[name]
        return f"http://{host}:{management_port if management else node_port}{path}"

    def strata_node(self, role, name, cpus, ready=False):
        # Alive is enough here (ready: /readyz): readiness (a web node's needs an app node) is the stack's target answering.
        return Server(f"strata-{name}", [*self.strata, role, name, "-f", self.path], cpus, self.logs,
                      ready_url=self.node_url(name, "/readyz" if ready else "/healthz", management=True))

    def nginx(self, name, cpus, workers, web_node=None):
        exported = self.export("nginx", workers, web_node)
        # As exported; -e: nginx opens its built-in error log before it reads the file, so keep that in the folder too.
        return Server(name, [which("nginx"), "-c", os.path.join(exported, "nginx.conf"), "-e", os.path.join(exported, "startup.log"),
                             "-g", "daemon off;"], cpus, self.logs,
                      ready_url=self.node_url(web_node, "/readyz", management=True) if web_node else None)

    def haproxy(self, cpus, threads, name="haproxy"):
        # -db: foreground.
        return Server(name, [which("haproxy"), "-db", "-f", os.path.join(self.export("haproxy", threads), "haproxy.cfg")], cpus, self.logs)

    def web_nginx(self, cpus, workers):
        """The classic web tier of the seed: one nginx process per web node, each from its own export."""
        return [self.nginx(f"nginx-{name}", cpus, workers, web_node=name) for name, node in self.nodes.items() if node[0] == "web"]

    def wait_vip(self, name, server, timeout=60, backups=()):
        """Until load balancer `name` holds the VIP and listens on it (its management address's /vip), and none of
        `backups` listens on it any more (one that held it first keeps serving a moment after it yields: the
        connections it accepted meanwhile would be closed under the load)."""
        def vip(node):
            try:
                with urllib.request.urlopen(self.node_url(node, "/vip", management=True), timeout=2) as response:
                    return json.load(response)
            except (OSError, ValueError):
                return {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}: see {server.log_path}")
            owner = vip(name)
            if owner.get("state") == "master" and owner.get("listening") and not any(vip(b).get("listening", True) for b in backups):
                return
            time.sleep(0.02)
        raise RuntimeError(f"{name} did not hold the VIP alone within {timeout} s: see {server.log_path}")


def scenario_plan(name, bench, cpus, budget):
    """The urls measured, the servers both stacks share (started once), and how to start each stack."""
    if name == "lb" or name in TLS_KEYS:
        # The same upstream for both: the web node's address is served by nginx, as a plain static server.
        upstream = lambda: [bench.nginx("upstream-nginx", cpus, budget)]
        https = bench.url("tls", "/static/1k.txt")
        return {
            "urls": [probe(https, "https /static/1k.txt"), probe(https, f"h2 ×{H2_STREAMS} /static/1k.txt", run_h2load),
                     probe(https, "handshake per request", run_wrk_close)] if name in TLS_KEYS
                    else [probe(bench.url("vip", "/static/1k.txt"))],
            "shared": upstream,
            "stacks": {"strata": lambda: [bench.strata_node("lb", "lb-1", cpus)], "classic": lambda: [bench.haproxy(cpus, budget)]},
        }
    if name == "static":
        return {
            "urls": [probe(bench.url("web", "/static/1k.txt")), probe(bench.url("web", "/static/100k.txt"))],
            "shared": lambda: [],
            "stacks": {"strata": lambda: [bench.strata_node("web", "web-1", cpus)], "classic": lambda: [bench.nginx("nginx", cpus, budget)]},
        }
    if name in ("chain-static", "chain-dynamic"):
        paths = ["/static/1k.txt"] if name == "chain-static" else ["/bench/json", "/bench/db", "/bench/fortunes"]
        return {
            "urls": [probe(bench.url("vip", p)) for p in paths],
            "shared": lambda: [bench.strata_node("app", "app-1", cpus)],
            "stacks": {
                "strata": lambda: [bench.strata_node("web", "web-1", cpus), bench.strata_node("lb", "lb-1", cpus)],
                "classic": lambda: [bench.nginx("nginx", cpus, budget), bench.haproxy(cpus, budget)],
            },
        }
    if name == SEED:
        # The topology a user starts: lb-1 (holding the VIP) and lb-2, two web nodes, and the two app nodes both
        # stacks share for anything dynamic. HAProxy runs once: the export's second load balancer is keepalived's
        # backup, which serves nothing while the first holds the VIP (and on loopback no VIP moves anyway).
        return {
            "urls": [probe(bench.url("vip", "/static/1k.txt"))],
            "shared": lambda: [bench.strata_node("app", name, cpus) for name in ("app-1", "app-2")],
            "stacks": {
                "strata": lambda: [bench.strata_node(role, name, cpus) for role, name in
                                   [("web", "web-1"), ("web", "web-2"), ("lb", "lb-1"), ("lb", "lb-2")]],
                "classic": lambda: [*bench.web_nginx(cpus, budget), bench.haproxy(cpus, budget)],
            },
            # lb-2 may hold the VIP for a moment before lb-1 (priority 200) preempts: measure once lb-1 has it.
            "ready": {"strata": lambda servers: bench.wait_vip("lb-1", servers[2], backups=["lb-2"])},
        }
    if name == "app":
        return app_plan(bench, cpus)
    raise ValueError(name)


# ---------------------------------------------------------------- warm start and takeover

# The Lua `done` script of the per-second runs: wrk's own histogram (microseconds), exact, where --latency's text
# rounds; p99.9 and the maximum, which see the slowest requests of a second that the p99 may not.
WRK_DONE = """done = function(summary, latency, requests)
  io.write(string.format("strata-latency p50 %d p99 %d p999 %d max %d\\n", latency:percentile(50), latency:percentile(99),
                         latency:percentile(99.9), latency.max))
end
"""


def run_wrk_series(url, connections, seconds, cpus, script):
    """`seconds` runs of wrk of 1 s each, back to back: requests/s and latency per second (wrk prints only totals).
    Each run opens its connections anew; a request still waiting when its second ends is not counted."""
    runs, began = [], time.monotonic()
    for _ in range(seconds):
        at = round(time.monotonic() - began, 3)  # when this second's run started: the gaps between them go unmeasured
        run = run_wrk(url, connections, 1, cpus, script=script)
        run.pop("raw")
        run["at"] = at
        if not run["requests"]:
            # Nothing answered within the second: wrk's empty histogram says 0 ms, which would read as fast.
            run.update({"p50ms": None, "p99ms": None, "p999ms": None, "maxms": None})
        runs.append(run)
    return runs


def first_answer(url, timeout=10):
    """Until a new connection to url gets a 200 (a probe every 5 ms, each with a 0.3 s connect timeout)."""
    host, rest = url.split("//", 1)[1].split("/", 1)
    address, port = host.rsplit(":", 1)
    request = f"GET /{rest} HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, int(port)), timeout=0.3) as s:
                s.settimeout(2)
                s.sendall(request)
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def warm_scenario(report, bench, args, budget):
    """Warm start and takeover: each probe, each stack, --rounds times (stacks alternating), from a cold process."""
    cpus, clients, conns = args.server_cpus, args.client_cpus, args.warm_connections
    seconds = 1 if args.tiny else WARM_SECONDS
    script = os.path.join(bench.work, "done.lua")
    with open(script, "w") as f:
        f.write(WRK_DONE)
    series = lambda url: run_wrk_series(url, conns, seconds, clients, script)
    vip, web = bench.url("vip", "/static/1k.txt"), bench.node_url("web-1", "/static/1k.txt")
    readyz = lambda name: bench.node_url(name, "/readyz", management=True)

    def strata_lb_ready(servers):
        wait_ready(readyz("lb-1"), servers[0], ok_only=True)
        bench.wait_vip("lb-1", servers[0], backups=["lb-2"])

    def strata_takeover(servers):
        os.kill(servers[0].pid, signal.SIGKILL)  # lb-1, by its recorded PID
        servers[0].process.wait(5)
        servers[0].stop()  # closes its log
        killed = time.monotonic()
        bench.wait_vip("lb-2", servers[1], timeout=10)
        vip_ms = round((time.monotonic() - killed) * 1000)
        first_answer(vip)
        return servers[1:], {"vipMs": vip_ms}

    def classic_takeover(servers):
        # HAProxy has no VIP take-over on loopback (keepalived moves an address between hosts): a second HAProxy
        # started cold from the same file after the first is killed stands in for the backup's.
        os.kill(servers[0].pid, signal.SIGKILL)
        servers[0].process.wait(5)
        servers[0].stop()
        servers.append(bench.haproxy(cpus, budget, name="haproxy-2"))
        first_answer(vip)
        return servers[1:], {}

    # probe: (url, {stack: (start, ready, take-over)}, the rows it gives). The take-over probe's first row is the
    # load balancer's cold start (lb-2 idle beside it, as in the seed), the second what follows the kill of lb-1.
    probes = {
        "web start": (web, {"strata": (lambda: [bench.strata_node("web", "web-1", cpus)],
                                       lambda servers: wait_ready(readyz("web-1"), servers[0], ok_only=True), None),
                            "classic": (lambda: [bench.nginx("nginx-web-1", cpus, budget, web_node="web-1")],
                                        lambda servers: wait_ready(readyz("web-1"), servers[0], ok_only=True), None)},
                      ["web start"]),
        "lb": (vip, {"strata": (lambda: [bench.strata_node("lb", "lb-1", cpus), bench.strata_node("lb", "lb-2", cpus)],
                                lambda servers: (wait_ready(readyz("lb-2"), servers[1], ok_only=True), strata_lb_ready(servers)),
                                strata_takeover),
                     "classic": (lambda: [bench.haproxy(cpus, budget)],
                                 lambda servers: wait_ready(readyz("lb-1"), servers[0], ok_only=True), classic_takeover)},
               ["lb start", "lb takeover"]),
    }
    runs = report.setdefault("warm", {"runs": []})["runs"]
    shared = [bench.strata_node("app", name, cpus) for name in ("app-1", "app-2")]
    try:
        for server in shared:
            wait_ready(server.ready_url, server)
        for name in probes:
            if name == "lb":
                # The load balancers' upstream, the same for both: nginx on each web node's address.
                shared += bench.web_nginx(cpus, budget)
                for server in shared[2:]:
                    wait_ready(server.ready_url, server, ok_only=True)
            url, stacks, rows = probes[name]
            for round_index in range(args.rounds):
                for stack in (["strata", "classic"] if round_index % 2 == 0 else ["classic", "strata"]):
                    for row, run in zip(rows, warm_run(url, *stacks[stack], series, args)):
                        run.update({"probe": row, "stack": stack, "round": round_index, "connections": conns})
                        when = f"answered {run['takeoverMs']:.0f} ms after the kill" if "takeoverMs" in run else f"ready {run['readyMs']:.0f} ms"
                        log(f"warm {row} {stack}: {when}, first second {run['first'][0]['rps']:.0f} req/s p99 {run['first'][0]['p99ms']} ms,"
                            f" steady {run['steadyRps']:.0f} req/s p99 {run['steadyP99ms']} ms")
                        runs.append(run)
    finally:
        for server in reversed(shared):
            server.stop()


def warm_run(url, start, ready, takeover, series, args):
    """One cold start: the first seconds, --warmup seconds of load, the same seconds again (the steady state). With
    takeover: then the first server killed and the same on the one that takes over. One result for each."""
    began = time.monotonic()
    servers = start()
    try:
        ready(servers)
        results = [{"url": url, "readyMs": round((time.monotonic() - began) * 1000)}]
        warm_measure(results[0], url, servers, series, args)
        if takeover:
            killed = time.monotonic()
            servers, seen = takeover(servers)
            results.append({"url": url, "takeoverMs": round((time.monotonic() - killed) * 1000), **seen})
            warm_measure(results[1], url, servers, series, args)
        return results
    finally:
        for server in reversed(servers):
            server.stop()


def warm_measure(result, url, servers, series, args):
    result["first"] = series(url)
    if args.warmup:
        run_wrk(url, args.warm_connections, args.warmup, args.client_cpus)
    result["steady"] = series(url)
    result["peakRssMiB"] = {s.name: round(s.peak_rss_mib(), 1) for s in servers}
    p99s = [r["p99ms"] for r in result["steady"] if r["p99ms"] is not None]
    result["steadyP99ms"] = statistics.median(p99s) if p99s else None
    result["steadyRps"] = statistics.median([r["rps"] for r in result["steady"]])
    first = result["first"][0]["p99ms"]
    result["firstToSteadyP99"] = round(first / result["steadyP99ms"], 2) if first and result["steadyP99ms"] else None


# ---------------------------------------------------------------- the app node against a plain ASP.NET app

REFERENCE = os.path.join(ROOT, "bench", "reference")
# The app scenario's "classic" column: what runs there instead of HAProxy + nginx (the report says so).
SCENARIO_NOTES = {"app": "the classic column is the reference: bench/reference, a plain ASP.NET Core minimal-API app "
                         "(TechEmpower aspnetcore style), asked directly like the Strata app node, on the same database"}


def app_plan(bench, cpus):
    """The Strata app node (`strata app app-1`) against bench/reference on the same address, database and cores, each
    asked directly (no load balancer or web node) for the TechEmpower paths."""
    paths = ["/bench/json", "/bench/db", "/bench/fortunes", "/bench/queries?queries=20", "/bench/updates?queries=20"]
    database = bench.topology["database"]["path"]
    return {
        "urls": [probe(bench.url("app", p)) for p in paths],
        "shared": lambda: app_prepare(bench, cpus),
        "stacks": {"strata": lambda: [bench.strata_node("app", "app-1", cpus)],
                   "classic": lambda: [reference_server(bench, cpus, database)]},
    }


def app_prepare(bench, cpus):
    """Once per run: publishes the reference, and lets Strata's app node create and seed the benchmark tables in the
    scenario's bench.db (its migrations), whichever stack goes first. Nothing stays running."""
    publish_reference()
    node = bench.strata_node("app", "app-1", cpus)
    try:
        wait_ready(node.ready_url.replace("/healthz", "/readyz"), node, ok_only=True)
    finally:
        node.stop()
    return []


def publish_reference():
    """`dotnet publish -c Release` of bench/reference into bench/reference/publish (ignored by git), unless that build
    is newer than every source of it."""
    binary = os.path.join(REFERENCE, "publish", "Reference")
    sources = [os.path.join(REFERENCE, f) for f in os.listdir(REFERENCE) if f.endswith((".cs", ".csproj"))]
    sources += [os.path.join(ROOT, f) for f in ("Directory.Build.props", "Directory.Packages.props")]
    if os.path.exists(binary) and all(os.path.getmtime(f) < os.path.getmtime(binary) for f in sources):
        return binary
    log("publishing bench/reference (Release)")
    out = subprocess.run(["dotnet", "publish", os.path.join(REFERENCE, "Reference.csproj"), "-c", "Release", "-o",
                          os.path.join(REFERENCE, "publish"), "--nologo", "-v", "quiet"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"dotnet publish bench/reference failed ({out.returncode}): {out.stdout}{out.stderr}")
    os.utime(binary)
    return binary


def reference_server(bench, cpus, database):
    """The reference on the app node's address, with the TechEmpower entries' DOTNET_ReadyToRun=0 (the framework's code
    jitted with profile data rather than taken precompiled); its other runtime settings are in its .csproj."""
    address = bench.url("app", "").split("//")[1]
    return Server("reference", ["env", "DOTNET_ReadyToRun=0", os.path.join(REFERENCE, "publish", "Reference"), address,
                                "--sqlite", database], cpus, bench.logs)


# ---------------------------------------------------------------- failover

class FailoverTopology:
    """Two load balancers (lb-1, priority 200, holds the VIP; lb-2, 100), a web node with static/site.css (what
    bench/failover.py asks for) and an app node, on 127.0.9.x with free ports; `up --netns` moves them to
    STRATA_SUBNET (ports stay)."""

    LB1, LB2, WEB, APP, VIP, DNS = "127.0.9.1", "127.0.9.2", "127.0.9.11", "127.0.9.21", "127.0.9.100", "127.0.9.53"
    ADVERT_CS = 10  # Strata's default advert interval; keepalived gets the same

    def __init__(self, work):
        self.path = os.path.join(work, "strata.json")
        root = os.path.join(work, "wwwroot")
        os.makedirs(os.path.join(root, "static"))
        with open(os.path.join(root, "static", "site.css"), "w") as f:
            f.write("body { margin: 0 }\n")
        def node(name, host, **extra):
            return {"name": name, "address": f"{host}:{free_port(host)}", "management": f"{host}:{free_port(host)}", **extra}
        topology = {
            "dns": {**node("dns", self.DNS), "zone": "foobar.com", "records": {"@": "vip", "www": "vip"}},
            "vip": {"address": f"{self.VIP}:{free_port(self.VIP)}", "port": vrrp_port(self.LB1, self.LB2),
                    "advertIntervalCs": self.ADVERT_CS, "preempt": True},
            "loadBalancers": {"nodes": [node("lb-1", self.LB1, priority=200), node("lb-2", self.LB2, priority=100)]},
            "web": {"root": root, "static": {"staticPrefixes": ["/static/"]}, "nodes": [node("web-1", self.WEB)]},
            "app": {"nodes": [node("app-1", self.APP)], "benchmarkEndpoints": True},
            "database": {"engine": "sqlite", "path": os.path.join(work, "failover.db")},
            "netns": {"subnet": STRATA_SUBNET},
        }
        with open(self.path, "w") as f:
            json.dump(topology, f, indent=2)


def vrrp_port(*hosts):
    """A port free for both UDP (the adverts, on loopback) and TCP (the peers' cluster connection) on every host."""
    for _ in range(50):
        port = free_port(hosts[0])
        try:
            for host in hosts:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free for VRRP on " + ", ".join(hosts))


def run_json(command, timeout, env=None):
    """Runs a drill script and returns the JSON objects it printed, one a line."""
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def strata_status(strata, path):
    out = subprocess.run([*strata, "status", "--json", "-f", path], capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout) if out.returncode == 0 else None


def wait_for_owner(strata, path, owner, timeout=60):
    """Until every node is ready and `owner` holds the VIP (after a drill lb-1 is started again and preempts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = strata_status(strata, path)
        if status and status["vip"].get("owner") == owner and all(n["state"] == "ready" for n in status["nodes"]):
            time.sleep(1)  # a few adverts from the settled master, as keepalived_failover.py waits
            return
        time.sleep(0.5)
    raise RuntimeError(f"{owner} did not hold the VIP with every node ready within {timeout} s: {strata_status(strata, path)}")


def failover_drills(strata, drills):
    """Strata on loopback and under --netns, then keepalived: every event `drills` times; one dict per drill."""
    results = []
    env = dict(os.environ, STRATA=shlex.join(strata), PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    for where in ("loopback", "netns"):
        events = [name for name, _, wheres, _ in FAILOVER_EVENTS if where in wheres]
        with tempfile.TemporaryDirectory(prefix=f"strata-bench-failover-{where}-") as work:
            topology = FailoverTopology(work)
            up = [*strata, "up", "--detach", "-f", topology.path, *(["--netns"] if where == "netns" else [])]
            try:
                out = subprocess.run(up, capture_output=True, text=True, timeout=300, env=env)
                if out.returncode != 0:
                    raise RuntimeError(f"strata up ({where}) failed ({out.returncode}): {out.stderr.strip()}")
                for event in events:
                    for drill in range(drills):
                        wait_for_owner(strata, topology.path, "lb-1")
                        result = run_json([sys.executable, os.path.join(ROOT, "bench", "failover.py"), "lb-1", event,
                                           "-f", topology.path, "--json"], timeout=120, env=env)[-1]
                        result.update({"stack": "strata", "where": where, "event": event, "drill": drill})
                        log(f"failover strata {where} {event} #{drill + 1}: {result['failed']} of {result['probes']} probes failed,"
                            f" without service {result['withoutServiceMs']} ms")
                        results.append(result)
                        if event != "cut":  # failover.py heals a cut itself
                            subprocess.run([*strata, "start", "lb-1", "-f", topology.path], capture_output=True, timeout=120, check=True, env=env)
            finally:
                down = subprocess.run([*strata, "down", "-f", topology.path], capture_output=True, text=True, timeout=120, env=env)
                if down.returncode != 0:
                    log(f"strata down ({where}) said ({down.returncode}): {down.stderr.strip()}")

    advert = FailoverTopology.ADVERT_CS / 100
    for event, _, _, _ in FAILOVER_EVENTS:
        for drill in range(drills):
            for result in run_json([sys.executable, os.path.join(ROOT, "bench", "keepalived_failover.py"), "--advert-int", f"{advert:g}",
                                    "--mode", event, "--subnet", KEEPALIVED_SUBNET, "--json"], timeout=120, env=env):
                result.update({"stack": "keepalived", "where": f"netns, advert_int {advert:g}", "event": event, "drill": drill})
                log(f"failover keepalived {event} #{drill + 1}: {result['failed']} of {result['probes']} probes failed,"
                    f" without service {result['withoutServiceMs']} ms")
                results.append(result)
    return results


def failover_table(drills):
    """Markdown rows and their summary: per event and Strata mode, Strata beside keepalived."""
    lines = ["| failover: lb-1 (the VIP's master) | Strata | Strata ms without service, median / max | keepalived ms, median / max |"
             " ratio (medians) | failed probes Strata / keepalived (of) |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    summary = []
    times = lambda runs: [r["withoutServiceMs"] for r in runs]
    for event, what, wheres, comparable in FAILOVER_EVENTS:
        ka = [d for d in drills if d["stack"] == "keepalived" and d["event"] == event]
        for where in wheres:
            st = [d for d in drills if d["stack"] == "strata" and d["event"] == event and d["where"] == where]
            if not st and not ka:
                continue
            s_med, k_med = (statistics.median(times(st)) if st else None), (statistics.median(times(ka)) if ka else None)
            ratio = s_med / k_med if s_med is not None and k_med else None
            row = {"event": event, "strata": where, "strataMedianMs": s_med, "strataMaxMs": max(times(st), default=None),
                   "keepalivedMedianMs": k_med, "keepalivedMaxMs": max(times(ka), default=None), "ratio": ratio,
                   "strataFailed": sum(d["failed"] for d in st), "strataProbes": sum(d["probes"] for d in st),
                   "keepalivedFailed": sum(d["failed"] for d in ka), "keepalivedProbes": sum(d["probes"] for d in ka),
                   "strataDrills": len(st), "keepalivedDrills": len(ka), "sameOutage": comparable}
            summary.append(row)
            fmt = lambda v: "—" if v is None else f"{v:.0f}"
            lines.append(f"| {what} | {where} | {fmt(s_med)} / {fmt(row['strataMaxMs'])} (n={len(st)}) | "
                         f"{fmt(k_med)} / {fmt(row['keepalivedMaxMs'])} (n={len(ka)}) | {'—' if ratio is None else f'{ratio:.2f}' if comparable else f'({ratio:.2f})'} | "
                         f"{row['strataFailed']} / {row['keepalivedFailed']} ({row['strataProbes']} / {row['keepalivedProbes']}) |")
    lines += ["", "Without service: from the start of the first failed probe (a new connection and GET every 5 ms) to the start of the "
              "first good one after the last failure. keepalived (advert_int as Strata's) runs in namespaces of its own; a "
              "SIGKILLed keepalived leaves the VIP on its host, which still answers, so its kill row is not an outage (its ratio "
              "is in parentheses): the comparable event for a dead load balancer is the cut-off row (docs/failover.md)."]
    return lines, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of: {', '.join(SCENARIOS + [FAILOVER])} [{','.join(SCENARIOS)}]; "
                             f"{FAILOVER} needs root, network namespaces and keepalived, and is never in --tiny")
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run [10]")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before each stack's first run [3]")
    parser.add_argument("--rounds", type=int, default=3, help="A/B alternations per row [3]")
    parser.add_argument("--server-cpus", default="1", help="cores for both stacks' servers [1]")
    parser.add_argument("--client-cpus", default="0", help="cores for wrk [0]")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks"), help="where the .json and .md go")
    parser.add_argument("--strata", help="the command that runs strata, e.g. 'dotnet /path/Strata.dll' [the Release build of ./strata]")
    parser.add_argument("--warm-connections", type=int, default=64, help=f"{WARM}: connections of its per-second runs [64; 16 with --tiny]")
    parser.add_argument("--drills", type=int, default=3, help=f"{FAILOVER}: drills per event and stack [3]")
    parser.add_argument("--request-log", default="httplog", choices=["httplog", "json", "off"],
                        help="the load balancers' request log (loadBalancers.requestLog.format; HAProxy logs with option httplog unless off) [httplog]")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="RATE",
                        help="every request through a load balancer route limited to RATE per second per client, burst RATE (to measure a limit's cost) [none]")
    parser.add_argument("--tiny", action="store_true", help="wiring check: 16 connections, 1 s runs, 1 round, no warm-up")
    args = parser.parse_args()
    if args.tiny:
        args.connections, args.duration, args.rounds, args.warmup, args.warm_connections = "16", 1, 1, 0, 16
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS + [FAILOVER]]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; the scenarios are: {', '.join(SCENARIOS + [FAILOVER])}")
    failover = FAILOVER in scenarios
    if failover and args.tiny:
        parser.error(f"--tiny is a wiring check of the throughput scenarios; {FAILOVER} has no tiny form (try --drills 1)")
    if failover and os.geteuid() != 0:
        parser.error(f"{FAILOVER} needs root (network namespaces, keepalived): sudo bench/compare.py --scenarios {FAILOVER}")
    if args.drills < 1 or args.drills > 20:
        parser.error("--drills: 1 to 20")
    scenarios = [s for s in scenarios if s != FAILOVER]

    ensure_packages({**PACKAGES, **FAILOVER_PACKAGES} if failover else PACKAGES)
    strata = strata_command(args.strata)
    budget = len(args.server_cpus.split(","))
    started = datetime.datetime.now(datetime.timezone.utc)
    report = {"started": started.isoformat(timespec="seconds"), "machine": machine(),
              "settings": {k: getattr(args, k) for k in ("connections", "duration", "warmup", "rounds", "server_cpus", "client_cpus", "request_log", "rate_limit") if scenarios},
              "runs": []}
    if args.strata:
        # A run of another build or environment (an A/B) says so in its report.
        report["settings"]["strata"] = args.strata
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix=f"strata-bench-{scenario}-") as work:
            bench = Bench(work, strata, TLS_KEYS.get(scenario), args.request_log, args.rate_limit, seed=scenario in (SEED, WARM))
            if scenario == WARM:
                report["settings"]["warm_connections"] = args.warm_connections
                warm_scenario(report, bench, args, budget)
                continue
            plan = scenario_plan(scenario, bench, args.server_cpus, budget)
            urls = plan["urls"]
            shared = plan["shared"]()
            try:
                for server in shared:
                    wait_ready(server.ready_url or bench.url("web", "/static/1k.txt"), server)
                for round_index in range(args.rounds):
                    order = ["strata", "classic"] if round_index % 2 == 0 else ["classic", "strata"]
                    for stack in order:
                        run_stack(report, scenario, stack, plan["stacks"][stack], urls, args, round_index, plan.get("ready", {}).get(stack))
            finally:
                for server in shared:
                    server.stop()

    if failover:
        report["settings"]["drills"] = args.drills
        report["machine"]["keepalived"] = machine_version(which("keepalived") or "keepalived", "-v")
        report["failover"] = {"drills": failover_drills(strata, args.drills)}
    write_report(report, args.out)


def run_stack(report, scenario, stack, start, urls, args, round_index, ready=None):
    servers = start()
    try:
        for server in servers:
            if server.ready_url:
                wait_ready(server.ready_url, server)
        if ready:
            ready(servers)
        wait_ready(urls[0]["url"], servers[-1], ok_only=True)
        if args.warmup:
            for measured in urls:
                measured["run"](measured["url"], 16, args.warmup, args.client_cpus)
        for measured in urls:
            url = measured["url"]
            for connections in [int(c) for c in args.connections.split(",")]:
                before = {s.name: s.cpu_seconds() for s in servers}
                result = measured["run"](url, connections, args.duration, args.client_cpus)
                result.update({
                    "scenario": scenario, "stack": stack, "round": round_index, "url": url, "label": measured["label"], "connections": connections,
                    "cpuSeconds": {s.name: round(s.cpu_seconds() - before[s.name], 2) for s in servers},
                    "peakRssMiB": {s.name: round(s.peak_rss_mib(), 1) for s in servers},
                })
                log(f"{scenario} {stack} {measured['label']} c={connections}: {result['rps']:.0f} req/s, p99 {result['p99ms']} ms, {result['errors']} errors")
                report["runs"].append(result)
    finally:
        for server in reversed(servers):
            server.stop()


def node_rss(runs):
    """Each process's peak RSS in MiB, the maximum over runs, by its name."""
    peaks = {}
    for run in runs:
        for name, mib in run["peakRssMiB"].items():
            peaks[name] = max(peaks.get(name, 0), mib)
    return peaks


def node_name(name):
    return name.removeprefix("strata-")


def warm_table(runs):
    """Markdown rows and their summary: per probe and stack, medians over the rounds of each second's numbers."""
    lines = ["| warm (per second) | stack | ready (or answered) ms | req/s, seconds 1–N | p99 ms, seconds 1–N | max ms, second 1 | steady req/s | steady p99 ms |"
             " first / steady p99 | peak RSS MiB per node |",
             "| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    summary = []
    med = lambda values: statistics.median(values) if values else None
    fmt = lambda v, spec=".1f": "—" if v is None else format(v, spec)
    for probe_name in dict.fromkeys(r["probe"] for r in runs):
        for stack in ("strata", "classic"):
            mine = [r for r in runs if r["probe"] == probe_name and r["stack"] == stack]
            if not mine:
                continue
            seconds = len(mine[0]["first"])
            second = lambda i, field: med([r["first"][i][field] for r in mine if r["first"][i].get(field) is not None])
            row = {"probe": probe_name, "stack": stack, "rounds": len(mine), "connections": mine[0]["connections"],
                   "readyMs": med([r["readyMs"] for r in mine if "readyMs" in r]),
                   "takeoverMs": med([r["takeoverMs"] for r in mine if "takeoverMs" in r]),
                   "vipMs": med([r["vipMs"] for r in mine if "vipMs" in r]),
                   "rps": [second(i, "rps") for i in range(seconds)], "p50ms": [second(i, "p50ms") for i in range(seconds)],
                   "p99ms": [second(i, "p99ms") for i in range(seconds)], "firstMaxMs": second(0, "maxms"),
                   "errors": sum(x["errors"] for r in mine for x in r["first"] + r["steady"]),
                   "steadyRps": med([r["steadyRps"] for r in mine]), "steadyP99ms": med([r["steadyP99ms"] for r in mine if r["steadyP99ms"]]),
                   "firstToSteadyP99": med([r["firstToSteadyP99"] for r in mine if r["firstToSteadyP99"]]),
                   "peakRssMiB": node_rss(mine)}
            summary.append(row)
            ready = f"{row['takeoverMs']:.0f} after the kill" if row["takeoverMs"] is not None else fmt(row["readyMs"], ".0f")
            ready += f" (VIP held at {row['vipMs']:.0f})" if row["vipMs"] is not None else ""
            lines.append(f"| {probe_name} | {stack} | {ready} | {' / '.join(fmt(v, '.0f') for v in row['rps'])} | "
                         f"{' / '.join(fmt(v) for v in row['p99ms'])} | {fmt(row['firstMaxMs'])} | {fmt(row['steadyRps'], '.0f')} | "
                         f"{fmt(row['steadyP99ms'])} | {fmt(row['firstToSteadyP99'], '.2f')} | "
                         f"{', '.join(f'{node_name(n)} {v:.0f}' for n, v in row['peakRssMiB'].items())} |")
    lines += ["", "Each second is its own wrk run of 1 s (new connections each time; a request still waiting when its second "
              "ends is not counted). Ready: from starting the process to /readyz (and for a Strata load balancer, /vip: it "
              "holds and listens on the VIP); takeover: from SIGKILL of the first load balancer to the first 200 on the VIP (in "
              "parentheses: to lb-2's /vip saying it holds and listens on the VIP), after which the seconds are measured (classic: a second HAProxy started cold after the first is killed, since "
              "HAProxy has no VIP take-over on loopback). Steady: the same seconds after --warmup seconds of load; first / "
              "steady p99: the first second's p99 over the steady seconds' median p99 (medians over rounds)."]
    return lines, summary


def write_report(report, out):
    rows = {}
    for run in report["runs"]:
        key = (run["scenario"], run.get("label") or "/" + run["url"].split("/", 3)[3], run["connections"])
        rows.setdefault(key, {"strata": [], "classic": []})[run["stack"]].append(run)
    median = lambda runs, field: statistics.median([r[field] for r in runs if r[field] is not None]) if runs else None
    lines = [f"# Strata vs HAProxy + nginx, {report['started']}", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()), "",
             "Settings: " + ", ".join(f"{k} {v}" for k, v in report["settings"].items()), ""]
    if rows:
        lines += ["| scenario | path | conns | Strata req/s | classic req/s | ratio | Strata p99 ms | classic p99 ms | p99 ratio | errors S/C | CPU µs/req S/C | peak RSS MiB S/C |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    summary = []
    for (scenario, path, conns), stacks in rows.items():
        s, c = stacks["strata"], stacks["classic"]
        s_rps, c_rps, s_p99, c_p99 = median(s, "rps"), median(c, "rps"), median(s, "p99ms"), median(c, "p99ms")
        # CPU per request (the stack's processes, user + system): its efficiency, whatever share of the servers' cores
        # the scheduler gave it against the upstream it shares them with.
        cpu = lambda runs: statistics.median([sum(r["cpuSeconds"].values()) * 1e6 / r["requests"] for r in runs if r["requests"]] or [0])
        rss = lambda runs: max([sum(r["peakRssMiB"].values()) for r in runs], default=0)
        ratio = s_rps / c_rps if s_rps and c_rps else None
        p99_ratio = s_p99 / c_p99 if s_p99 and c_p99 else None
        summary.append({"scenario": scenario, "path": path, "connections": conns, "strataRps": s_rps, "classicRps": c_rps,
                        "ratio": ratio, "strataP99ms": s_p99, "classicP99ms": c_p99, "p99Ratio": p99_ratio,
                        "strataCpuUsPerRequest": cpu(s), "classicCpuUsPerRequest": cpu(c),
                        "strataPeakRssMiB": node_rss(s), "classicPeakRssMiB": node_rss(c)})
        fmt = lambda v, spec: format(v, spec) if v is not None else "—"
        lines.append(f"| {scenario} | {path} | {conns} | {fmt(s_rps, '.0f')} | {fmt(c_rps, '.0f')} | {fmt(ratio, '.2f')} | "
                     f"{fmt(s_p99, '.2f')} | {fmt(c_p99, '.2f')} | {fmt(p99_ratio, '.2f')} | "
                     f"{sum(r['errors'] for r in s)}/{sum(r['errors'] for r in c)} | {cpu(s):.0f}/{cpu(c):.0f} | {rss(s):.0f}/{rss(c):.0f} |")
    report["summary"] = summary
    if rows:
        # Per node: each process's peak RSS (VmHWM, its whole session), the maximum over the scenario's runs.
        lines += ["", "| scenario | peak RSS MiB per node, Strata | classic |", "| --- | --- | --- |"]
        for scenario in dict.fromkeys(key[0] for key in rows):
            runs = [r for r in report["runs"] if r["scenario"] == scenario]
            per_node = lambda stack: ", ".join(f"{node_name(n)} {v:.0f}" for n, v in node_rss([r for r in runs if r["stack"] == stack]).items()) or "—"
            lines.append(f"| {scenario} | {per_node('strata')} | {per_node('classic')} |")
    if "warm" in report:
        table, report["warm"]["summary"] = warm_table(report["warm"]["runs"])
        lines += ([""] if rows else []) + table
    notes = {s: SCENARIO_NOTES[s] for s in sorted({key[0] for key in rows}) if s in SCENARIO_NOTES}
    if notes:
        report["notes"] = notes
        lines += [""] + [f"Scenario {s}: {note}." for s, note in notes.items()]
    if "failover" in report:
        table, report["failover"]["summary"] = failover_table(report["failover"]["drills"])
        lines += ([""] if rows else []) + table
    os.makedirs(out, exist_ok=True)
    stamp = report["started"].replace(":", "").replace("+0000", "Z")
    base = os.path.join(out, f"compare-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(report, f, indent=2)
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    log(f"wrote {base}.md and {base}.json")


if __name__ == "__main__":
    main()
