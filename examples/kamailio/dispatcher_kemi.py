"""Kamailio KEMI (app_python3) routing of the same PSAP call-back edge with the dispatcher
module: the baseline that sosroute is compared with (README.md, "Against dispatcher").

Set 1 of dispatcher.list holds the three voice trunks by priority (the caller's carrier, the
interconnect, the alternate number's trunk), in the same order as the sosroute policy prefers
them. Dispatcher probes them with OPTIONS every second (ds_ping_interval) and leaves out the
ones that do not answer; a failed attempt (5xx, 408, 480, a local timeout) marks its
destination inactive-and-probing (the next good OPTIONS reply revives it) and goes on to the
next (ds_next_dst). When no voice trunk is left, the text call-back goes to the text control
centre, as with sosroute. tm's timers are the same for both: fr_timer 3 s (no reply at all) and
fr_inv_timer RING_MS (after a provisional reply).
"""

import KSR

import edge


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
        KSR.pv.sets("$avp(sos_number)", KSR.pv.get("$rU"))
        KSR.pv.sets("$avp(sos_alt)", edge.header("X-Alt-Number") or "")
        KSR.pv.seti("$avp(sos_n)", 0)
        # Algorithm 8: by priority, the highest first; inactive destinations are left out.
        if KSR.dispatcher.ds_select_dst(1, 8) > 0:
            self.relay(cid)
        else:
            self.text_back(cid)
        return 1

    def relay(self, cid):
        n = (KSR.pv.get("$avp(sos_n)") or 0) + 1
        KSR.pv.seti("$avp(sos_n)", n)
        route = edge.route_of_uri(KSR.pv.get("$du"))
        alt = KSR.pv.get("$avp(sos_alt)")
        KSR.pv.sets("$rU", alt if route == "alternate_number" and alt else
                    KSR.pv.get("$avp(sos_number)"))
        edge.log("ATTEMPT", cid, n=n, route=route, media="voice")
        KSR.tm.t_on_failure("ksr_failure_ds")
        KSR.tm.t_on_reply("ksr_onreply_ds")
        if KSR.tm.t_relay() < 0:
            KSR.tm.t_reply(500, "Relay failed")

    def text_back(self, cid):
        n = (KSR.pv.get("$avp(sos_n)") or 0) + 1
        KSR.pv.seti("$avp(sos_n)", n)
        edge.log("ATTEMPT", cid, n=n, route="text_back", media="text")
        if not edge.start_text(cid, KSR.pv.get("$avp(sos_number)"), "text_back", 5000):
            edge.log("RESULT", cid, status="failed", attempts=n)
            KSR.tm.t_reply(480, "Call-back failed on every way out")

    def ksr_uac_reply(self, msg, evname=None):
        edge.text_result()
        return 1

    def ksr_text_resume(self, msg):
        """The INVITE transaction resumed after the text call-back's MESSAGE got its answer."""
        cid = KSR.pv.get("$ci")
        code, route, ms = edge.take_text_result()
        n = KSR.pv.get("$avp(sos_n)")
        if 200 <= code < 300:
            edge.log("RESULT", cid, status="answered", route=route, attempts=n)
            KSR.hdr.append_to_reply("X-Callback-Route: %s\r\n" % route)
            KSR.tm.t_reply(380, "Alternative Service")
        else:
            edge.log("RESULT", cid, status="failed", attempts=n, code=code)
            KSR.tm.t_reply(480, "Call-back failed on every way out")
        return 1

    def ksr_onreply_ds(self, msg):
        code = KSR.pv.get("$rs")
        if KSR.pv.get("$rm") == "INVITE" and code is not None and 200 <= int(code) < 300:
            edge.log("RESULT", KSR.pv.get("$ci"), status="answered",
                     route=edge.route_of_uri("%s:%s" % (KSR.pv.get("$si"), KSR.pv.get("$sp"))),
                     attempts=KSR.pv.get("$avp(sos_n)"))
        return 1

    def ksr_failure_ds(self, msg):
        cid = KSR.pv.get("$ci")
        if KSR.tm.t_is_canceled() > 0:
            edge.log("RESULT", cid, status="canceled")
            return 1
        code = int(KSR.pv.get("$T_reply_code") or 0)
        timed_out = KSR.tm.t_branch_timeout() > 0
        edge.log("OUTCOME", cid, code=code, timed_out=int(timed_out))
        if timed_out or code >= 500 or code in (408, 480):
            KSR.dispatcher.ds_mark_dst_state("ip")
        if (KSR.pv.get("$avp(sos_n)") or 0) < edge.MAX_ATTEMPTS and KSR.dispatcher.ds_next_dst() > 0:
            self.relay(cid)
        else:
            self.text_back(cid)
        return 1
