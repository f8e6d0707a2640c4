/*
 * A handset dialer loop: place a 911 call during an outage and walk the attempts as they fail.
 *
 * The monitors report what phones saw in the Optus outage of November 2023: the home radio
 * network "in service" while the core behind it was dead. Here the other network is also
 * congested at first by every stranded phone. The dialer asks sosroute for one attempt at a time,
 * "makes" it (here: a scripted failure, as the outage would have it), reports the outcome, and
 * goes on until the call connects. It prints the plan's explanation before and after, as the
 * phone's log would keep it.
 *
 * Build: see Makefile (static and shared). Run: ./build/dialer-static
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sosroute.h"

/* Prints the status, its name and the thread's last error message, and exits. */
static void die(const char *what, sos_status status)
{
    char message[512];
    size_t needed = 0;
    if (sos_last_error(message, sizeof message, &needed) != SOS_OK) {
        message[0] = '\0';
    }
    fprintf(stderr, "dialer: %s: %s: %s\n", what, sos_status_name(status), message);
    exit(1);
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        sos_status status_ = (call);                                                               \
        if (status_ != SOS_OK) {                                                                   \
            die(#call, status_);                                                                   \
        }                                                                                          \
    } while (0)

/* Copies a route's name into name (long enough for any policy name). */
static void route_name(const sos_router *router, uint32_t route, char *name, size_t len)
{
    size_t needed = 0;
    TRY(sos_router_route_name(router, route, name, len, &needed));
}

static uint32_t component(const sos_router *router, const char *name)
{
    uint32_t id = 0;
    TRY(sos_router_component_id(router, name, strlen(name), &id));
    return id;
}

static const char *reason_name(uint32_t reason)
{
    switch (reason) {
    case SOS_REASON_VERIFIED: return "verified";
    case SOS_REASON_UNVERIFIED: return "unverified";
    case SOS_REASON_DEMOTED: return "demoted";
    case SOS_REASON_TRIAL: return "trial";
    case SOS_REASON_FAIL_OPEN: return "fail-open";
    default: return "?";
    }
}

/* Prints the plan's explanation, sizing the buffer with the size query. */
static void print_explanation(const sos_plan *plan)
{
    size_t needed = 0;
    sos_status status = sos_plan_explain(plan, NULL, 0, &needed);
    if (status != SOS_ERR_BUFFER_TOO_SMALL) {
        die("sos_plan_explain (size)", status);
    }
    char *text = malloc(needed);
    if (text == NULL) {
        fprintf(stderr, "dialer: out of memory\n");
        exit(1);
    }
    TRY(sos_plan_explain(plan, text, needed, &needed));
    printf("\n%s\n", text);
    free(text);
}

int main(void)
{
    printf("sosroute %s (ABI %u), header ABI %u\n", sos_version(), (unsigned)sos_abi_version(),
           (unsigned)SOSROUTE_ABI_VERSION);
    if (sos_abi_version() != SOSROUTE_ABI_VERSION) {
        fprintf(stderr, "dialer: library ABI differs from the header's\n");
        return 1;
    }

    sos_router *router = NULL;
    TRY(sos_router_new(&router));

    /* What the modem and the IMS stack report, at t = 1 s: radio fine, core not answering. */
    sos_observation seen[3];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < 3; i++) {
        seen[i].struct_size = sizeof seen[i];
        seen[i].subject = SOS_SUBJECT_COMPONENT;
        seen[i].at_ms = 1000;
    }
    seen[0].id = component(router, "home_ran");
    seen[0].fact = SOS_FACT_RADIO;
    seen[0].state = SOS_RADIO_STATE_IN_SERVICE;
    seen[0].signal = 3;
    seen[1].id = component(router, "home_core");
    seen[1].fact = SOS_FACT_PROBE;
    seen[1].flag = 0; /* the probe went unanswered */
    seen[2].id = component(router, "wifi");
    seen[2].fact = SOS_FACT_LINK;
    seen[2].flag = 1; /* the phone is on Wi-Fi */
    uint64_t epoch = 0;
    TRY(sos_router_update(router, seen, 3, &epoch));
    printf("state epoch %llu after the monitors' batch\n", (unsigned long long)epoch);

    /* The caller dials 911 at t = 2 s. */
    const char *dialled = "911";
    sos_call_request request = {
        .struct_size = sizeof request,
        .media = SOS_MEDIA_VOICE,
        .call_id = 4242,
        .dialled = dialled,
        .dialled_len = strlen(dialled),
        .capabilities = SOS_CAP_DUAL_SIM | SOS_CAP_WIFI_CALLING | SOS_CAP_SMS,
        .psap = 0,
        .now_ms = 2000,
    };
    /* What the router would do right now, before anything failed. */
    sos_plan *first = NULL;
    TRY(sos_router_plan(router, &request, &first));
    printf("plan before dialling:");
    print_explanation(first);
    sos_plan_free(first);

    sos_call *call = NULL;
    TRY(sos_router_begin(router, &request, &call));

    uint64_t now = request.now_ms;
    for (int n = 1;; n++) {
        sos_attempt attempt = {.struct_size = sizeof attempt};
        uint32_t done = 0;
        sos_status status = sos_call_next_attempt(call, now, &attempt, &done);
        if (status == SOS_DONE) {
            printf("call done at %llu ms: %s\n", (unsigned long long)now,
                   done == SOS_DONE_CONNECTED      ? "connected"
                   : done == SOS_DONE_BUDGET_SPENT ? "budget spent"
                                                   : "every route failed");
            break;
        }
        if (status != SOS_OK) {
            die("sos_call_next_attempt", status);
        }
        /* A redial of the whole list that failed fast waits out the policy's backoff first. */
        uint64_t delay_ms = 0;
        TRY(sos_call_delay_ms(call, &delay_ms));
        now += delay_ms;
        char name[128];
        route_name(router, attempt.route, name, sizeof name);
        printf("attempt %d at %6llu ms: %-14s timer %5.1f s, %s%s\n", n,
               (unsigned long long)now, name, (double)attempt.timeout_ms / 1000.0,
               reason_name(attempt.reason), attempt.needs_user_action ? ", caller must act" : "");

        /* The outage decides how the attempt ends. */
        if (attempt.kind == SOS_ROUTE_KIND_HOME_CELLULAR ||
            attempt.kind == SOS_ROUTE_KIND_WIFI_CALLING) {
            /* Both ride the dead home core: the attempt hangs until its timer. */
            now += attempt.timeout_ms;
            printf("            ... no answer (timed out)\n");
            TRY(sos_call_report(call, SOS_OUTCOME_TIMED_OUT, 0, 0, now));
        } else if (attempt.kind == SOS_ROUTE_KIND_CROSS_SIM) {
            /* The second SIM has no signal in this basement. */
            now += 1500;
            printf("            ... rejected: no signal\n");
            TRY(sos_call_report(call, SOS_OUTCOME_REJECTED, SOS_REJECT_CAUSE_NO_SIGNAL, 0, now));
        } else if (attempt.kind == SOS_ROUTE_KIND_OTHER_NETWORK && now < 20000) {
            /* Every stranded phone camps on the other network at once: congested at first. */
            now += 1500;
            printf("            ... rejected: congestion (SIP 503)\n");
            TRY(sos_call_report(call, SOS_OUTCOME_REJECTED, SOS_REJECT_CAUSE_CONGESTION, 503, now));
        } else {
            now += 4000;
            printf("            ... connected to the PSAP\n");
            TRY(sos_call_report(call, SOS_OUTCOME_CONNECTED, 0, 0, now));
        }
    }

    /* What the session would do next from here (failed routes skipped), for the phone's log. */
    sos_plan *plan = NULL;
    TRY(sos_call_plan(call, now, &plan));
    printf("\nsession plan at the end:");
    print_explanation(plan);

    sos_plan_free(plan);
    sos_call_free(call);
    sos_router_free(router);
    return 0;
}
