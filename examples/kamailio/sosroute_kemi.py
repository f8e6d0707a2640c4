"""Kamailio KEMI (app_python3) routing of a PSAP call-back edge with sosroute.

Each call-back INVITE asks the PSAP's router (sosrouted.py, one process holding the one
sos_router and every call session; see README.md for why) for its first way out; each failed
attempt (5xx, 408, 480, a local timeout) is reported from failure_route and the next attempt
goes out from there; a 2xx reports the connection. The router's setup timer of each attempt is
the time the trunk has to reach the caller (a 180/183); once it rings, the ring allowance is
RING_MS, the same as the dispatcher baseline's.
"""

import json
import os
import socket

import KSR

import edge

SOCKET = os.environ.get("SOSROUTED_SOCKET", "@sosroute-psap")
ASK_TIMEOUT_S = 0.5


def _addr(path):
    return "\0" + path[1:] if path.startswith("@") else path


class Router:
    """This Kamailio process's line to sosrouted: one datagram socket per process."""

    def __init__(self):
        self.sock = None
        self.pid = None
        self.q = 0

    def ask(self, **req):
        if self.pid != os.getpid():  # forked since: a socket of our own
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind("\0sosroute-kamailio-%d" % os.getpid())
            self.pid = os.getpid()
        self.q += 1
        req["q"] = self.q
        try:
            self.sock.settimeout(ASK_TIMEOUT_S)
            self.sock.sendto(json.dumps(req).encode(), _addr(SOCKET))
            while True:  # skip a late answer to an earlier question
                reply = json.loads(self.sock.recv(65536))
                if reply.get("q") == self.q:
                    return reply
        except (OSError, ValueError) as e:
            return {"error": "sosrouted did not answer: %s" % e}


ROUTER = Router()

# Used only while sosrouted does not answer: psap-callback.toml's voice preference and timers.
FALLBACK = [("carrier_trunk", "voice", 3000), ("interconnect", "voice", 3000),
            ("alternate_number", "voice", 3000), ("text_back", "text", 5000)]


def mod_init():
    return kamailio()


class kamailio:
    def __init__(self):
        pass

    def child_init(self, rank):
        return 0

    def ksr_reply_route(self, msg):
        return 1

    def ksr_onsend_route(self, msg):
        return 1

    def ksr_request_route(self, msg):
        if not edge.new_callback():
            return 1
        cid = KSR.pv.get("$ci")
        number = KSR.pv.get("$rU")
        alt = edge.header("X-Alt-Number")
        caps = ["sms"] if "sms" in (edge.header("X-Caller-Caps") or "") else []
        if alt:
            caps.append("alt")
        # Kept with the transaction, for failure_route (which may run in another process).
        KSR.pv.sets("$avp(sos_number)", number)
        KSR.pv.sets("$avp(sos_alt)", alt or "")
        reply = ROUTER.ask(op="begin", cid=cid, dialled=edge.header("X-Callback-For") or "911",
                           caps=caps, psap=int(edge.header("X-PSAP") or 42))
        if "explain" in reply:
            edge.log("PLAN", cid, call=reply.get("call"))
            KSR.info("EXPLAIN cid=%s %s\n" % (cid, reply["explain"]))
        self.dispatch(cid, reply)
        return 1

    def dispatch(self, cid, reply):
        """Makes the attempt the router gave, or, when it has none, ends the call-back."""
        number = KSR.pv.get("$avp(sos_number)")
        alt = KSR.pv.get("$avp(sos_alt)") or None
        for _ in range(edge.MAX_ATTEMPTS):
            if "error" in reply:
                KSR.err("sosroute: %s; static order\n" % reply["error"])
                reply = self.fallback(alt)
            if "attempt" not in reply:
                edge.log("RESULT", cid, status="failed", why=reply.get("done"),
                         attempts=reply.get("n"))
                KSR.tm.t_reply(480, "Call-back failed on every way out")
                return
            a = reply["attempt"]
            edge.log("ATTEMPT", cid, n=reply["n"], route=a["route"], media=a["media"],
                     timeout_ms=a["timeout_ms"], reason=a["reason"], evidence=a["evidence"])
            if a["media"] == "text":
                # Sent without blocking this process; resumes in ksr_text_resume.
                if edge.start_text(cid, number, a["route"], a["timeout_ms"]):
                    return
                edge.log("OUTCOME", cid, route=a["route"], code=500, why="text_send_failed")
                reply = ROUTER.ask(op="report", cid=cid, outcome="rejected", code=500)
                continue
            edge.set_target(a["route"], number, alt)
            # The router's setup timer: no 1xx, or no 180/183 after a 100, within it -> next
            # way out. ksr_onreply_sos lifts it to the ring allowance once the caller rings.
            KSR.tm.t_set_fr(a["timeout_ms"], a["timeout_ms"])
            KSR.tm.t_on_failure("ksr_failure_sos")
            KSR.tm.t_on_reply("ksr_onreply_sos")
            if KSR.tm.t_relay() > 0:
                return
            edge.log("OUTCOME", cid, route=a["route"], code=500, why="relay_failed")
            reply = ROUTER.ask(op="report", cid=cid, outcome="rejected", code=500)
        edge.log("RESULT", cid, status="failed", why="max_attempts")
        KSR.tm.t_reply(480, "Call-back failed on every way out")

    def fallback(self, alt):
        """Without an answer from sosrouted the call-back still goes out: the policy's voice
        order, one attempt each on the policy's timers, kept in the transaction's AVPs."""
        i = KSR.pv.get("$avp(sos_fb)") or 0
        while i < len(FALLBACK) and FALLBACK[i][0] == "alternate_number" and not alt:
            i += 1
        KSR.pv.seti("$avp(sos_fb)", i + 1)
        if i >= len(FALLBACK):
            return {"done": "exhausted", "n": i}
        route, media, timeout_ms = FALLBACK[i]
        return {"attempt": {"route": route, "media": media, "timeout_ms": timeout_ms,
                            "reason": "router_unavailable", "evidence": "unknown"}, "n": i + 1}

    def ksr_uac_reply(self, msg, evname=None):
        edge.text_result()
        return 1

    def ksr_text_resume(self, msg):
        """The INVITE transaction resumed after the text call-back's MESSAGE got its answer."""
        cid = KSR.pv.get("$ci")
        code, route, ms = edge.take_text_result()
        if 200 <= code < 300:
            done = ROUTER.ask(op="report", cid=cid, outcome="connected")
            edge.log("RESULT", cid, status="answered", route=route,
                     attempts=done.get("n") or KSR.pv.get("$avp(sos_fb)"), ms=done.get("ms"))
            KSR.hdr.append_to_reply("X-Callback-Route: %s\r\n" % route)
            KSR.tm.t_reply(380, "Alternative Service")
            return 1
        edge.log("OUTCOME", cid, route=route, code=code, ms=ms)
        reply = ROUTER.ask(op="report", cid=cid, outcome="rejected" if code else "timed_out",
                           code=code)
        self.dispatch(cid, reply)
        return 1

    def ksr_onreply_sos(self, msg):
        code = KSR.pv.get("$rs")
        if KSR.pv.get("$rm") != "INVITE" or code is None:
            return 1
        code = int(code)
        if code in (180, 183):
            KSR.tm.t_set_fr(edge.RING_MS, edge.RING_MS)
        elif 200 <= code < 300:
            cid = KSR.pv.get("$ci")
            done = ROUTER.ask(op="report", cid=cid, outcome="connected")
            if "error" in done:  # answered on the static order
                done = {"done": "connected", "n": KSR.pv.get("$avp(sos_fb)")}
            if done.get("done") == "connected":  # not a retransmitted 200
                edge.log("RESULT", cid, status="answered",
                         route=edge.route_of_uri("%s:%s" % (KSR.pv.get("$si"), KSR.pv.get("$sp"))),
                         attempts=done.get("n"), ms=done.get("ms"))
        return 1

    def ksr_failure_sos(self, msg):
        cid = KSR.pv.get("$ci")
        if KSR.tm.t_is_canceled() > 0:
            edge.log("RESULT", cid, status="canceled")
            return 1
        code = int(KSR.pv.get("$T_reply_code") or 0)
        timed_out = KSR.tm.t_branch_timeout() > 0 or code == 408
        edge.log("OUTCOME", cid, code=code, timed_out=int(timed_out))
        reply = ROUTER.ask(op="report", cid=cid, outcome="timed_out" if timed_out else "rejected",
                           code=code)
        self.dispatch(cid, reply)
        return 1
