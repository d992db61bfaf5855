#!/usr/bin/env python3
"""Sends the hostile-request corpus (tests/Strata.Tests/EndToEnd/HostileRequests) to any HTTP/1.1 servers and prints
the status each answered, one row per request, one column per target: to see another stack's decisions on the same
input (docs/security.md, "Hostile requests"; docs/load-balancing.md, "The classic stack on the same input"). Where the
corpus says the connection must be closed after the answer, a target that kept it open shows "STATUS open".

    python3 bench/hostile.py 127.0.0.100:8080 127.0.2.1:8080

The tests (HostileRequestTests) read the same files and assert Strata's answers; this script asserts nothing.
To run it against the classic stack of the same topology (stop Strata's own first, `./strata down`):

    ./strata export haproxy -o /tmp/exp && ./strata export nginx -o /tmp/exp
    .build/strata/Strata app app-1 & .build/strata/Strata app app-2 &     # the app tier behind nginx
    nginx -c /tmp/exp/nginx.conf; haproxy -f /tmp/exp/haproxy.cfg -db &
    python3 bench/hostile.py 127.0.0.100:8080 127.0.2.1:8080              # then stop them by their PIDs

Each request goes on a new connection, with a 10 s limit; a target that answers nothing shows "timeout".
"""
import os, re, socket, sys, threading

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Strata.Tests", "EndToEnd", "HostileRequests")
BODY = '{"author":"corpus","text":"x"}'


def to_bytes(text):
    """The text's bytes: \\xHH is one byte, \\\\ a backslash, the rest UTF-8 (as the C# corpus reader)."""
    out, i = bytearray(), 0
    while i < len(text):
        if text.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif text.startswith("\\x", i):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            out += text[i].encode()
            i += 1
    return bytes(out)


def cases():
    """(name, bytes, close): close says the connection must be closed after the answer."""
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".http"))
    blocks = []
    for name in ["requests.http"] + [f for f in files if f != "requests.http"]:
        with open(os.path.join(CORPUS, name)) as f:
            blocks += f.read().split("\n### ")[1:]
    for block in blocks:
        block = re.sub(r"\{repeat (\d+) ([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), block)
        lines = block.split("\n")
        name, eol, end, close, at = lines[0], "\r\n", "\r\n\r\n", False, 1
        while at < len(lines) and lines[at].startswith(("expect:", "eol:", "close:", "end:")):
            option = lines[at].split(":")[0]
            if option == "eol":
                eol, end = "\n", "\n\n"
            close |= option == "close"
            end = eol if option == "end" else end
            at += 1
        blank = lines.index("", at) if "" in lines[at:] else len(lines)
        head, body = lines[at:blank], to_bytes("\r\n".join(lines[blank + 1:]).rstrip("\r\n"))
        yield name, to_bytes(eol.join(head).replace("{length}", str(len(body))) + end) + body, close

    def named(n):
        return "" if n in ("Content-Length", "Transfer-Encoding", "Host", "Content-Type") else f"{n}: x\r\n"

    def get(headers):
        return f"GET /api/messages?limit=1 HTTP/1.1\r\nHost: www.foobar.com\r\n{headers}\r\n"

    def post(headers):
        return (f"POST /api/messages HTTP/1.1\r\nHost: www.foobar.com\r\nContent-Type: application/json\r\n"
                f"{headers}Content-Length: {len(BODY)}\r\n\r\n{BODY}")

    with open(os.path.join(CORPUS, "variants.txt")) as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    for kind, value, *_ in rows:
        values = [value]
        if ".." in value:
            first, last = value.split("..")
            values = [f"\\x{b:02X}" for b in range(int(first[2:], 16), int(last[2:], 16) + 1)]
        for v in values:
            request = {
                "connection-get": lambda: get(f"Connection: {v}\r\n{named(v)}"),
                "connection-post": lambda: post(f"Connection: {v}\r\n{named(v)}"),
                "value-get": lambda: get(f"X-A: a{v}b\r\n"),
                "value-post": lambda: post(f"X-A: a{v}b\r\n"),
                "method": lambda: f"{v} /api/messages?limit=1 HTTP/1.1\r\nHost: www.foobar.com\r\n\r\n",
            }[kind]()
            yield f"{kind} {v}", to_bytes(request), False


def send(host, port, data, close):
    """The answer's status; with close, "STATUS open" when the server kept the connection open after it."""
    try:
        with socket.create_connection((host, port), timeout=10) as s:
            # Sent beside the reads: a server may answer (413) and close before it has read a large body.
            threading.Thread(target=send_quietly, args=(s, data), daemon=True).start()
            answer = b""
            while b"\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    return "closed"
                answer += chunk
            status = answer.split(b"\r\n")[0].split(b" ")[1].decode()
            try:
                while close and s.recv(4096):
                    pass
            except socket.timeout:
                return status + " open"
            except OSError:
                pass
            return status
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return type(e).__name__


def send_quietly(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    targets = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in sys.argv[1:]]
    print(f"{'request':70} " + " ".join(f"{t:>16}" for t in sys.argv[1:]))
    for name, data, close in cases():
        print(f"{name[:70]:70} " + " ".join(f"{send(h, p, data, close):>16}" for h, p in targets))


if __name__ == "__main__":
    main()
