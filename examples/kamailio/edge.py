"""What both Kamailio configurations of the PSAP call-back edge share: the ways out, the text
call-back (SIP MESSAGE to the text control centre), the audit log lines. Imported by the KEMI
scripts sosroute_kemi.py and dispatcher_kemi.py (app_python3 puts their folder on sys.path).

Every address is on 127.0.0.1; the ports can be moved with environment variables.
"""

import os
import socket
import time

import KSR

HOST = "127.0.0.1"


def _port(name, default):
    return int(os.environ.get(name, default))


# The PSAP's ways out: (route name, trunk address, whether the R-URI becomes the alternate number).
TRUNKS = {
    "carrier_trunk": (HOST, _port("SOS_PORT_CARRIER", 5071), False),
    "interconnect": (HOST, _port("SOS_PORT_INTERCONNECT", 5072), False),
    "alternate_number": (HOST, _port("SOS_PORT_LEC", 5073), True),
}
TCC = (HOST, _port("SOS_PORT_TCC", 5074))
EDGE_PORT = _port("SOS_PORT_EDGE", 5090)
# How long a call-back may ring once the caller's phone is reached (a 180/183 came back): the
# same for both configurations (tm's fr_inv_timer).
RING_MS = int(os.environ.get("SOS_RING_MS", 10000))
# The most attempts one call-back makes, whatever the router or the dispatcher list says.
MAX_ATTEMPTS = 8


def log(kind, cid, **fields):
    """One audit line: KIND cid=... key=value ..., read by test.sh."""
    parts = ["%s=%s" % (k, str(v).replace(" ", "_")) for k, v in fields.items()]
    KSR.info("%s cid=%s %s\n" % (kind, cid, " ".join(parts)))


def header(name):
    v = KSR.pv.get("$hdr(%s)" % name)
    return v.strip() if isinstance(v, str) else None


def trunk_uri(route):
    host, port, _ = TRUNKS[route]
    return "sip:%s:%d" % (host, port)


def route_of_uri(du):
    """The way out a destination URI (dispatcher's choice) stands for."""
    for name, (host, port, _) in TRUNKS.items():
        if du and ("%s:%d" % (host, port)) in du:
            return name
    return "?"


def set_target(route, number, alt_number):
    """Points the request at a trunk: $du the trunk, the R-URI user the number to call."""
    host, port, alt = TRUNKS[route]
    KSR.pv.sets("$rU", alt_number if alt and alt_number else number)
    KSR.pv.sets("$du", "sip:%s:%d" % (host, port))


def send_text(cid, number, timeout_ms):
    """Sends the text call-back: a SIP MESSAGE to the text control centre, retransmitted per
    RFC 3261 timer E, waiting at most timeout_ms (capped at 2 s: it blocks this Kamailio
    process). Returns (status code or 0, elapsed ms)."""
    wait = min(timeout_ms, 2000) / 1000.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, 0))
        lport = s.getsockname()[1]
        branch = "z9hG4bK-text-%d-%d" % (os.getpid(), time.monotonic_ns())
        body = ("PSAP 42 call-back: we lost your 911 call. Reply to this text, or call 911. "
                "[%s]" % cid)
        msg = ("MESSAGE sip:%s@%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=%s\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:psap42@%s>;tag=%s\r\n"
               "To: <sip:%s@%s>\r\n"
               "Call-ID: text-%s\r\n"
               "CSeq: 1 MESSAGE\r\n"
               "Content-Type: text/plain\r\n"
               "Content-Length: %d\r\n\r\n%s"
               % (number, TCC[0], TCC[1], HOST, lport, branch, HOST, branch[-12:], number,
                  TCC[0], cid, len(body.encode()), body)).encode()
        start = time.monotonic()
        rto = 0.5
        next_send = start
        while True:
            now = time.monotonic()
            if now - start >= wait:
                return 0, int((now - start) * 1000)
            if now >= next_send:
                try:
                    s.sendto(msg, TCC)
                except OSError:
                    pass
                next_send = now + rto
                rto = min(rto * 2, 4.0)
            s.settimeout(max(0.01, min(next_send, start + wait) - now))
            try:
                data = s.recv(65536).decode(errors="replace")
            except socket.timeout:
                continue
            except OSError:
                continue  # ICMP port unreachable: keep waiting for the timer
            if branch in data and data.startswith("SIP/2.0 "):
                code = int(data[8:11])
                if code >= 200:
                    return code, int((time.monotonic() - start) * 1000)
    finally:
        s.close()
