#!/usr/bin/env python3
"""sosrouted: the one sosroute router of a PSAP's call-back edge, for every Kamailio process.

Kamailio runs many processes (SIP workers, and the timer process that runs failure_route when a
branch times out), and one call-back's attempts are handled by whichever process gets the reply
or the timer. A call session (`sos_call`) belongs to one thread at a time and cannot be moved
between processes, and the breakers must learn from every process's outcomes. So this daemon
holds the one `sos_router` (libsosroute.so through its C ABI, with ctypes) and every call
session, and Kamailio's processes ask it over a local datagram socket (see README.md).

It also is the trunk monitor: it sends SIP OPTIONS to every trunk once a second and feeds each
reply (or its absence) to the router as a probe fact with its time and round trip, encoded in
the wire format of WIRE.md and applied with sos_router_apply_update. Any other local monitor
may send such wire batches to the same socket.

Requests (one JSON object per datagram; the reply goes back to the sender's address):
  {"op": "begin", "cid": CALL-ID, "dialled": "911", "caps": ["sms", "alt"], "psap": 42}
  {"op": "report", "cid": CALL-ID, "outcome": "rejected"|"timed_out"|"connected",
   "code": SIP-STATUS}
Replies: {"attempt": {...}, "n": N, ...}, {"done": "connected"|"exhausted"|..., "n": N}, or
{"error": MESSAGE}. "begin" also returns the plan's explanation ("explain") for the audit log.
"""

import argparse
import ctypes
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

# ---- the C ABI (include/sosroute.h) --------------------------------------------------------

SOS_OK, SOS_DONE, SOS_ERR_BUFFER_TOO_SMALL = 0, 1, 7
SOS_POLICY_FORMAT_TOML = 1
SOS_MEDIA_VOICE, SOS_MEDIA_TEXT = 1, 2
SOS_CAP_DUAL_SIM, SOS_CAP_SMS = 1, 4
SOS_OUTCOME = {"connected": 1, "rejected": 2, "timed_out": 3}
SOS_SUBJECT_PSAP = 2
SOS_FACT_PSAP_TEXT_READY = 8
DONE = {1: "connected", 2: "budget_spent", 3: "exhausted"}
MEDIA = {1: "voice", 2: "text", 3: "rtt"}
REASON = {1: "verified", 2: "unverified", 3: "demoted", 4: "trial", 5: "fail_open"}
EVIDENCE = {1: "positive", 2: "unknown", 3: "negative"}


class Attempt(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("route", ctypes.c_uint32),
                ("kind", ctypes.c_uint32), ("media", ctypes.c_uint32),
                ("timeout_ms", ctypes.c_uint64), ("reason", ctypes.c_uint32),
                ("evidence", ctypes.c_uint32), ("blamed", ctypes.c_uint32),
                ("needs_user_action", ctypes.c_bool)]


class Observation(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("subject", ctypes.c_uint32),
                ("id", ctypes.c_uint32), ("fact", ctypes.c_uint32), ("state", ctypes.c_uint32),
                ("signal", ctypes.c_uint32), ("flag", ctypes.c_uint32),
                ("rtt_ms", ctypes.c_uint32), ("at_ms", ctypes.c_uint64)]


class CallRequest(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("media", ctypes.c_uint32),
                ("call_id", ctypes.c_uint64), ("dialled", ctypes.c_char_p),
                ("dialled_len", ctypes.c_size_t), ("capabilities", ctypes.c_uint32),
                ("psap", ctypes.c_uint32), ("now_ms", ctypes.c_uint64)]


class SosError(Exception):
    pass


def now_ms():
    # CLOCK_MONOTONIC: the one clock of every time this process gives the router.
    return time.monotonic_ns() // 1_000_000


class Lib:
    def __init__(self, path):
        lib = ctypes.CDLL(path)
        P, U32, U64, SZ = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
        sig = {
            "sos_abi_version": (U32, []),
            "sos_version": (ctypes.c_char_p, []),
            "sos_status_name": (ctypes.c_char_p, [U32]),
            "sos_last_error": (U32, [ctypes.c_char_p, SZ, ctypes.POINTER(SZ)]),
            "sos_router_new_from_policy": (U32, [ctypes.c_char_p, SZ, U32, ctypes.POINTER(P)]),
            "sos_router_free": (None, [P]),
            "sos_router_component_id": (U32, [P, ctypes.c_char_p, SZ, ctypes.POINTER(U32)]),
            "sos_router_route_name": (U32, [P, U32, ctypes.c_char_p, SZ, ctypes.POINTER(SZ)]),
            "sos_router_observe": (U32, [P, ctypes.POINTER(Observation), ctypes.POINTER(U64)]),
            "sos_router_apply_update": (U32, [P, ctypes.c_char_p, SZ, ctypes.POINTER(U64)]),
            "sos_router_begin": (U32, [P, ctypes.POINTER(CallRequest), ctypes.POINTER(P)]),
            "sos_call_next_attempt": (U32, [P, U64, ctypes.POINTER(Attempt),
                                            ctypes.POINTER(U32)]),
            "sos_call_report": (U32, [P, U32, U32, U32, U64]),
            "sos_call_plan": (U32, [P, U64, ctypes.POINTER(P)]),
            "sos_call_free": (None, [P]),
            "sos_plan_explain": (U32, [P, ctypes.c_char_p, SZ, ctypes.POINTER(SZ)]),
            "sos_plan_free": (None, [P]),
        }
        for name, (res, args) in sig.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.c = lib
        # ABI 2 only moved which failure status some refusals give; this daemon treats every
        # failure alike, so it speaks both.
        if lib.sos_abi_version() not in (1, 2):
            raise SosError("libsosroute ABI %d, this daemon speaks ABI 1 and 2" % lib.sos_abi_version())

    def check(self, status, what, ok=(SOS_OK,)):
        if status in ok:
            return status
        buf, needed = ctypes.create_string_buffer(1024), ctypes.c_size_t(0)
        self.c.sos_last_error(buf, len(buf), ctypes.byref(needed))
        raise SosError("%s: %s: %s" % (what, self.c.sos_status_name(status).decode(),
                                       buf.value.decode(errors="replace")))

    def text(self, getter, handle, *args):
        needed = ctypes.c_size_t(0)
        getter(handle, *args, None, 0, ctypes.byref(needed))
        buf = ctypes.create_string_buffer(needed.value or 1)
        self.check(getter(handle, *args, buf, len(buf), ctypes.byref(needed)), "text")
        return buf.value.decode()


# ---- wire format (WIRE.md) for the trunk monitor's probe facts -----------------------------

def wire_probe_batch(facts):
    """facts: [(component_id, at_ms, ok, rtt_ms)] -> one version-1 batch of probe facts."""
    out = [b"SOSU", bytes([1, 0]), struct.pack(">H", len(facts))]
    for comp, at, ok, rtt in facts:
        body = struct.pack(">HQB", comp, at, 3) + struct.pack(">BI", 1 if ok else 0, rtt)
        out.append(struct.pack(">BH", 1, len(body)) + body)
    return b"".join(out)


# ---- the daemon ----------------------------------------------------------------------------

class Daemon:
    def __init__(self, args):
        self.lib = Lib(args.lib)
        c = self.lib.c
        policy = open(args.policy, "rb").read()
        router = ctypes.c_void_p()
        self.lib.check(c.sos_router_new_from_policy(policy, len(policy), SOS_POLICY_FORMAT_TOML,
                                                    ctypes.byref(router)),
                       "policy %s" % args.policy)
        self.router = router
        self.trunks = []  # (component name, component id, (host, port))
        for spec in args.trunk:
            name, addr = spec.split("=", 1)
            host, port = addr.rsplit(":", 1)
            if host != "127.0.0.1":
                raise SosError("trunk %s: this example probes 127.0.0.1 only" % spec)
            cid = ctypes.c_uint32()
            self.lib.check(c.sos_router_component_id(router, name.encode(), len(name),
                                                     ctypes.byref(cid)), "component " + name)
            self.trunks.append((name, cid.value, (host, int(port))))
        self.psap = args.psap
        # This PSAP takes texts (configuration, not a probe).
        o = Observation(struct_size=ctypes.sizeof(Observation), subject=SOS_SUBJECT_PSAP,
                        id=self.psap, fact=SOS_FACT_PSAP_TEXT_READY, flag=1, at_ms=now_ms())
        self.lib.check(c.sos_router_observe(router, ctypes.byref(o), None), "text-ready")
        self.sessions = {}  # Call-ID -> [sos_call handle, begun at ms, attempts, last route]
        self.next_call = 1
        self.interval = args.probe_interval
        self.log = sys.stderr
        self.stop = threading.Event()

    def say(self, fmt, *a):
        self.log.write("sosrouted: " + (fmt % a) + "\n")
        self.log.flush()

    def route_name(self, route):
        return self.lib.text(self.lib.c.sos_router_route_name, self.router, route)

    # -- call sessions --

    def next_attempt(self, cid, s):
        c = self.lib.c
        a, done = Attempt(struct_size=ctypes.sizeof(Attempt)), ctypes.c_uint32(0)
        st = self.lib.check(c.sos_call_next_attempt(s[0], now_ms(), ctypes.byref(a),
                                                    ctypes.byref(done)),
                            "next attempt", ok=(SOS_OK, SOS_DONE))
        if st == SOS_DONE:
            self.end(cid)
            return {"done": DONE.get(done.value, str(done.value)), "n": s[2],
                    "ms": now_ms() - s[1]}
        s[2] += 1
        s[3] = self.route_name(a.route)
        return {"attempt": {"route": s[3], "media": MEDIA.get(a.media, "?"),
                            "timeout_ms": a.timeout_ms, "reason": REASON.get(a.reason, "?"),
                            "evidence": EVIDENCE.get(a.evidence, "?")}, "n": s[2]}

    def end(self, cid):
        s = self.sessions.pop(cid, None)
        if s is not None:
            self.lib.c.sos_call_free(s[0])

    def begin(self, req):
        c, cid = self.lib.c, req["cid"]
        self.end(cid)  # a retransmitted INVITE that reached us twice starts over
        caps = 0
        for cap in req.get("caps", []):
            caps |= {"alt": SOS_CAP_DUAL_SIM, "sms": SOS_CAP_SMS}[cap]
        dialled = req.get("dialled", "911").encode()
        self.next_call += 1
        r = CallRequest(struct_size=ctypes.sizeof(CallRequest), media=SOS_MEDIA_VOICE,
                        call_id=self.next_call, dialled=dialled, dialled_len=len(dialled),
                        capabilities=caps, psap=int(req.get("psap", self.psap)),
                        now_ms=now_ms())
        call = ctypes.c_void_p()
        self.lib.check(c.sos_router_begin(self.router, ctypes.byref(r), ctypes.byref(call)),
                       "begin")
        s = [call, r.now_ms, 0, None]
        self.sessions[cid] = s
        plan = ctypes.c_void_p()
        self.lib.check(c.sos_call_plan(call, r.now_ms, ctypes.byref(plan)), "plan")
        try:
            explain = self.lib.text(c.sos_plan_explain, plan)
        finally:
            c.sos_plan_free(plan)
        reply = self.next_attempt(cid, s)
        reply["explain"] = explain
        reply["call"] = self.next_call
        return reply

    def report(self, req):
        cid = req["cid"]
        s = self.sessions.get(cid)
        if s is None:
            return {"done": "unknown_call", "n": 0}
        outcome = SOS_OUTCOME[req["outcome"]]
        code = int(req.get("code", 0))
        # Cause from the SIP status: 503 congestion, other 5xx / 404 / 480 service unavailable,
        # 403 not allowed, anything else "other".
        cause = 5
        if code == 503:
            cause = 2
        elif code >= 500 or code in (404, 480):
            cause = 3
        elif code == 403:
            cause = 4
        self.lib.check(self.lib.c.sos_call_report(s[0], outcome, cause, min(code, 65535),
                                                  now_ms()), "report")
        if outcome == SOS_OUTCOME["connected"]:
            n, ms = s[2], now_ms() - s[1]
            self.end(cid)
            return {"done": "connected", "n": n, "ms": ms}
        return self.next_attempt(cid, s)

    def handle(self, data):
        if data[:4] == b"SOSU":  # a wire batch from a local monitor
            epoch = ctypes.c_uint64()
            self.lib.check(self.lib.c.sos_router_apply_update(self.router, data, len(data),
                                                              ctypes.byref(epoch)), "wire")
            return {"epoch": epoch.value}
        req = json.loads(data)
        op = req.get("op")
        if op == "begin":
            return self.begin(req)
        if op == "report":
            return self.report(req)
        if op == "ping":
            return {"pong": True, "sessions": len(self.sessions)}
        return {"error": "unknown op %r" % op}

    def gc(self):
        # Sessions whose call-back never ended here (a CANCEL from the PSAP, a lost reply):
        # dropped after twice the policy's budget; and never more than 10000 at once.
        old = now_ms() - 120_000
        for cid in [k for k, s in self.sessions.items() if s[1] < old]:
            self.end(cid)
        while len(self.sessions) > 10_000:
            self.end(next(iter(self.sessions)))

    def serve(self, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        last_gc = time.monotonic()
        while not self.stop.is_set():
            r, _, _ = select.select([sock], [], [], 0.5)
            if time.monotonic() - last_gc > 5:
                self.gc()
                last_gc = time.monotonic()
            if not r:
                continue
            data, peer = sock.recvfrom(65536)
            try:
                reply = self.handle(data)
            except (SosError, ValueError, KeyError, TypeError) as e:
                reply = {"error": str(e)}
                self.say("request refused: %s", e)
            if isinstance(reply, dict) and data[:1] == b"{":
                try:
                    reply["q"] = json.loads(data).get("q")
                except ValueError:
                    pass
            if peer:
                try:
                    sock.sendto(json.dumps(reply).encode(), peer)
                except OSError as e:
                    self.say("reply to %r lost: %s", peer, e)

    # -- the trunk monitor --

    def probe_loop(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        lport = sock.getsockname()[1]
        seq = 0
        wait = min(0.8, self.interval * 0.8)
        while not self.stop.is_set():
            start = time.monotonic()
            seq += 1
            sent = {}
            for name, comp, addr in self.trunks:
                branch = "z9hG4bK-sosprobe-%d-%s" % (seq, name)
                msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                       "Max-Forwards: 70\r\n"
                       "From: <sip:monitor@127.0.0.1>;tag=sosprobe\r\n"
                       "To: <sip:%s:%d>\r\n"
                       "Call-ID: sosprobe-%d-%s\r\n"
                       "CSeq: %d OPTIONS\r\n"
                       "Content-Length: 0\r\n\r\n"
                       % (addr[0], addr[1], lport, branch, addr[0], addr[1], seq, name, seq))
                sent[branch] = (comp, now_ms())
                try:
                    sock.sendto(msg.encode(), addr)
                except OSError:
                    pass
            got = {}
            deadline = start + wait
            while len(got) < len(sent):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([sock], [], [], left)
                if not r:
                    break
                try:
                    data = sock.recv(65536).decode(errors="replace")
                except OSError:
                    continue  # ICMP port unreachable: that trunk is down, its probe fails
                for line in data.split("\r\n"):
                    if line.lower().startswith("via:") and "branch=" in line:
                        b = line.split("branch=", 1)[1].split(";")[0].strip()
                        if b in sent and data.startswith("SIP/2.0 2"):
                            got[b] = now_ms()
                        break
            facts = []
            for b, (comp, t0) in sent.items():
                t1 = got.get(b)
                facts.append((comp, t1 if t1 else now_ms(), t1 is not None,
                              (t1 - t0) if t1 else 0))
            batch = wire_probe_batch(facts)
            try:
                self.lib.check(self.lib.c.sos_router_apply_update(self.router, batch, len(batch),
                                                                  None), "probe batch")
            except SosError as e:
                self.say("%s", e)
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - start)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", required=True, help="path to libsosroute.so")
    p.add_argument("--policy", required=True, help="policy TOML")
    p.add_argument("--socket", default="@sosroute-psap",
                   help="datagram socket path; a leading @ means Linux's abstract namespace")
    p.add_argument("--trunk", action="append", default=[],
                   help="COMPONENT=127.0.0.1:PORT to probe with OPTIONS (repeat)")
    p.add_argument("--psap", type=int, default=42, help="this PSAP's registry id")
    p.add_argument("--probe-interval", type=float, default=1.0)
    args = p.parse_args()
    try:
        d = Daemon(args)
    except (SosError, OSError) as e:
        print("sosrouted: %s" % e, file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: d.stop.set())
    path = "\0" + args.socket[1:] if args.socket.startswith("@") else args.socket
    d.say("libsosroute %s, policy %s, %d trunks probed every %.1f s, socket %s",
          d.lib.c.sos_version().decode(), os.path.basename(args.policy), len(d.trunks),
          d.interval, args.socket)
    t = threading.Thread(target=d.probe_loop, daemon=True)
    t.start()
    try:
        d.serve(path)
    except KeyboardInterrupt:
        pass
    d.stop.set()
    t.join(2)
    for cid in list(d.sessions):
        d.end(cid)
    d.lib.c.sos_router_free(d.router)
    return 0


if __name__ == "__main__":
    sys.exit(main())
