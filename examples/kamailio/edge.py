"""What both Kamailio configurations of the PSAP call-back edge share: the ways out, the text
call-back (SIP MESSAGE to the text control centre, sent with the uac module while the INVITE
transaction is suspended), the audit log lines. Imported by the KEMI
scripts sosroute_kemi.py and dispatcher_kemi.py (app_python3 puts their folder on sys.path).

Every address is on 127.0.0.1; the ports can be moved with environment variables.
"""

import os
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


def new_callback():
    """Handles everything but a new call-back INVITE (keepalives, in-dialog requests, CANCEL,
    retransmissions, other methods) and returns False for it; for a new call-back INVITE, opens
    its transaction, records the route and returns True: the caller then routes it."""
    if KSR.maxfwd.process_maxfwd(10) < 0:
        KSR.sl.sl_send_reply(483, "Too Many Hops")
        return False
    method = KSR.pv.get("$rm")
    if method == "OPTIONS" and KSR.pv.get("$rU") is None:
        KSR.sl.sl_send_reply(200, "Keepalive")
        return False
    if KSR.siputils.has_totag() > 0:
        if KSR.rr.loose_route() > 0 or method == "ACK":
            KSR.tm.t_relay()
        else:
            KSR.sl.sl_send_reply(404, "Not here")
        return False
    if method == "CANCEL":
        if KSR.tm.t_check_trans() > 0:
            KSR.tm.t_relay()
        return False
    if method != "INVITE":
        KSR.sl.sl_send_reply(405, "Call-backs only")
        return False
    if KSR.tmx.t_precheck_trans() > 0:
        KSR.tm.t_check_trans()
        return False
    if KSR.tm.t_check_trans() == 0:
        return False
    KSR.tm.t_newtran()
    KSR.rr.record_route()
    return True


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


# The text call-back without blocking: the INVITE transaction is suspended while the uac
# module sends the MESSAGE; the uac module's reply callback (ksr_uac_reply in each KEMI script)
# hands the result to text_result() and resumes the transaction (t_continue) in the same
# process, where the script reads it with take_text_result().
_TEXT_RESULT = {}


def start_text(cid, number, route, timeout_ms):
    """Suspends the INVITE transaction and sends the text call-back. False if either failed.
    The MESSAGE waits out tm's fr_timer (3 s) at most; the suspended INVITE waits longer, so
    the MESSAGE's result always resumes it."""
    tindex, tlabel = KSR.pv.get("$T(id_index)"), KSR.pv.get("$T(id_label)")
    body = ("PSAP 42 call-back: we lost your 911 call. Reply to this text, or call 911. "
            "[%s]" % cid)
    KSR.pv.sets("$uac_req(method)", "MESSAGE")
    KSR.pv.sets("$uac_req(ruri)", "sip:%s@%s:%d" % (number, TCC[0], TCC[1]))
    KSR.pv.sets("$uac_req(furi)", "sip:psap42@%s" % HOST)
    KSR.pv.sets("$uac_req(turi)", "sip:%s@%s" % (number, TCC[0]))
    KSR.pv.sets("$uac_req(callid)", "text-%s" % cid)
    KSR.pv.sets("$uac_req(hdrs)", "Content-Type: text/plain\r\n")
    KSR.pv.sets("$uac_req(body)", body)
    KSR.pv.seti("$uac_req(evroute)", 1)
    KSR.pv.sets("$uac_req(evparam)", "%s:%s:%d:%s" % (tindex, tlabel, time.monotonic_ns()
                                                       // 1_000_000, route))
    KSR.tm.t_set_fr(timeout_ms + 2000, timeout_ms + 2000)
    if KSR.tmx.t_suspend() < 0:
        return False
    if KSR.uac.uac_req_send() < 0:
        KSR.tmx.t_continue(tindex, tlabel, "ksr_text_resume")  # resumes with no result: failed
        return True
    return True


def text_result():
    """In the uac reply callback: records the MESSAGE's result and resumes the INVITE."""
    tindex, tlabel, sent_ms, route = KSR.pv.get("$uac_req(evparam)").split(":", 3)
    code = int(KSR.pv.get("$uac_req(evcode)") or 0)
    timed_out = code in (0, 408)  # tm's own 408 when the text control centre is silent
    _TEXT_RESULT.clear()
    _TEXT_RESULT.update(code=0 if timed_out else code, route=route,
                        ms=time.monotonic_ns() // 1_000_000 - int(sent_ms))
    if KSR.tmx.t_continue(int(tindex), int(tlabel), "ksr_text_resume") < 0:
        KSR.err("text call-back %s: the INVITE transaction could not be resumed\n" % route)
    _TEXT_RESULT.clear()


def take_text_result():
    """In ksr_text_resume: (status code or 0 for no answer, route, ms)."""
    r = dict(_TEXT_RESULT)
    _TEXT_RESULT.clear()
    return r.get("code", 0), r.get("route", "text_back"), r.get("ms", 0)
