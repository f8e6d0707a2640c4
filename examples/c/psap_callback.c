/*
 * A PSAP call-back tool: a 911 caller was cut off during a carrier outage; decide how to call
 * them back.
 *
 * The PSAP runs its own router with its own policy (below, TOML): the ways it can reach a caller
 * are routes, and what they ride on are components. The carrier has posted an outage notice for
 * its core, so calling the caller's number back, and texting it, are doubtful; the caller left
 * an alternate number (a landline) when the call dropped. The tool plans the call-back, prints
 * the attempts, the routes left out and why, and the guidance for the call taker.
 *
 * It also shows a policy edit being rejected: the message names the field, and the policy in
 * force stays in force.
 *
 * Build: see Makefile (static and shared). Run: ./build/psap_callback-static
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sosroute.h"

/* The policy, with the call budget left as a %s so the demo can also make a bad edit of it. */
static const char POLICY_FORMAT[] =
    "name = \"psap-callback\"\n"
    "[budget]\n"
    "total_s = %s\n"
    "max_rounds = 2\n"
    "[ttl]\n"
    "radio_s = 60.0\n"
    "service_s = 60.0\n"
    "link_s = 120.0\n"
    "advisory_s = 3600.0\n"
    "[breaker]\n"
    "failure_threshold = 2\n"
    "cool_down_s = 120.0\n"
    "hold_down_s = 60.0\n"
    "demoted_timeout_pct = 50\n"
    "min_setup_timeout_s = 10.0\n"
    "[[component]]\n"
    "name = \"psap_trunk\"\n"   /* the PSAP's outbound trunks */
    "kind = \"service\"\n"
    "[[component]]\n"
    "name = \"carrier_core\"\n" /* the caller's carrier */
    "kind = \"service\"\n"
    "[[component]]\n"
    "name = \"tcc\"\n"          /* the text control centre */
    "kind = \"service\"\n"
    "[[route]]\n"
    "id = 10\n"
    "name = \"call_back_number\"\n"
    "kind = \"custom\"\n"
    "media = [\"voice\"]\n"
    "needs = [\"psap_trunk\", \"carrier_core\"]\n"
    "setup_timeout_s = 30.0\n"
    "[[route]]\n"
    "id = 11\n"
    "name = \"alternate_number\"\n"
    "kind = \"custom\"\n"
    "media = [\"voice\"]\n"
    "needs = [\"psap_trunk\"]\n"
    "requires = [\"dual_sim\"]\n" /* "the caller left a second number" */
    "setup_timeout_s = 30.0\n"
    "[[route]]\n"
    "id = 12\n"
    "name = \"text_back\"\n"
    "kind = \"text\"\n"
    "needs = [\"carrier_core\", \"tcc\"]\n"
    "setup_timeout_s = 60.0\n"
    "[preference]\n"
    "voice = [\"call_back_number\", \"alternate_number\", \"text_back\"]\n"
    "rtt = [\"call_back_number\", \"alternate_number\"]\n"
    "text = [\"text_back\", \"call_back_number\", \"alternate_number\"]\n"
    "[guidance]\n"
    "text = \"If no call-back connects, dispatch a unit to the caller's last known location.\"\n"
    "numbers = [\"+1-555-0100\"]\n";

static void fail(const char *what, sos_status status)
{
    char message[512];
    size_t needed = 0;
    if (sos_last_error(message, sizeof message, &needed) != SOS_OK) {
        message[0] = '\0';
    }
    fprintf(stderr, "psap_callback: %s: %s: %s\n", what, sos_status_name(status), message);
    exit(1);
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        sos_status status_ = (call);                                                               \
        if (status_ != SOS_OK) {                                                                   \
            fail(#call, status_);                                                                  \
        }                                                                                          \
    } while (0)

/* Fetches a text through the size query into a malloc'd string the caller frees. */
static char *plan_text(const sos_plan *plan,
                       sos_status (*get)(const sos_plan *, char *, size_t, size_t *))
{
    size_t needed = 0;
    sos_status status = get(plan, NULL, 0, &needed);
    if (status != SOS_ERR_BUFFER_TOO_SMALL) {
        fail("text size", status);
    }
    char *text = malloc(needed);
    if (text == NULL) {
        fprintf(stderr, "psap_callback: out of memory\n");
        exit(1);
    }
    TRY(get(plan, text, needed, &needed));
    return text;
}

static void observe(sos_router *router, const char *component, uint32_t fact, uint32_t state,
                    uint32_t flag, uint64_t at_ms)
{
    sos_observation o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.subject = SOS_SUBJECT_COMPONENT;
    TRY(sos_router_component_id(router, component, strlen(component), &o.id));
    o.fact = fact;
    o.state = state;
    o.flag = flag;
    o.at_ms = at_ms;
    TRY(sos_router_observe(router, &o, NULL));
}

static const char *left_out_reason(uint32_t reason)
{
    switch (reason) {
    case SOS_LEFT_OUT_REASON_MISSING_CAPABILITY: return "caller lacks a capability";
    case SOS_LEFT_OUT_REASON_PSAP_NOT_TEXT_READY: return "PSAP not known to take text";
    case SOS_LEFT_OUT_REASON_NOT_PREFERRED: return "not in the policy's list";
    case SOS_LEFT_OUT_REASON_ALREADY_FAILED: return "already failed";
    case SOS_LEFT_OUT_REASON_OVER_BUDGET: return "no budget left";
    case SOS_LEFT_OUT_REASON_UNVERIFIED: return "unverified";
    default: return "?";
    }
}

int main(void)
{
    char policy[4096];
    snprintf(policy, sizeof policy, POLICY_FORMAT, "300.0");
    sos_router *router = NULL;
    TRY(sos_router_new_from_policy(policy, strlen(policy), SOS_POLICY_FORMAT_TOML, &router));

    /* A policy edit that fails validation (a budget of minus ten seconds): rejected, the field
     * named, and the policy in force stays in force. */
    uint64_t version = 0;
    TRY(sos_router_policy_version(router, &version));
    snprintf(policy, sizeof policy, POLICY_FORMAT, "-10.0");
    sos_status status =
        sos_router_load_policy(router, policy, strlen(policy), SOS_POLICY_FORMAT_TOML, NULL);
    char message[512];
    size_t needed = 0;
    TRY(sos_last_error(message, sizeof message, &needed));
    uint64_t after = 0;
    TRY(sos_router_policy_version(router, &after));
    printf("policy edit rejected (%s): %s\npolicy version still %llu\n\n", sos_status_name(status),
           message, (unsigned long long)after);
    if (status != SOS_ERR_POLICY || after != version) {
        return 1;
    }

    /* t = 10 min: the trunks are fine; the carrier has posted an outage notice for its core. */
    const uint64_t now = 600000;
    observe(router, "psap_trunk", SOS_FACT_SERVICE, SOS_SERVICE_STATE_UP, 0, now - 5000);
    observe(router, "carrier_core", SOS_FACT_OUTAGE, 0, 1, now - 60000);
    observe(router, "tcc", SOS_FACT_SERVICE, SOS_SERVICE_STATE_UP, 0, now - 5000);
    /* This PSAP (registry id 42) takes texts. */
    sos_observation ready;
    memset(&ready, 0, sizeof ready);
    ready.struct_size = sizeof ready;
    ready.subject = SOS_SUBJECT_PSAP;
    ready.id = 42;
    ready.fact = SOS_FACT_PSAP_TEXT_READY;
    ready.flag = 1;
    ready.at_ms = now - 60000;
    TRY(sos_router_observe(router, &ready, NULL));

    /* The dropped caller: dialled 911, left an alternate number, can receive SMS. */
    const char *dialled = "911";
    sos_call_request request = {
        .struct_size = sizeof request,
        .media = SOS_MEDIA_VOICE,
        .call_id = 77001,
        .dialled = dialled,
        .dialled_len = strlen(dialled),
        .capabilities = SOS_CAP_DUAL_SIM | SOS_CAP_SMS,
        .psap = 42,
        .now_ms = now,
    };
    sos_plan *plan = NULL;
    TRY(sos_router_plan(router, &request, &plan));

    sos_plan_summary summary = {.struct_size = sizeof summary};
    TRY(sos_plan_get_summary(plan, &summary));
    printf("call-back plan for call %llu (policy v%llu, state epoch %llu)%s\n",
           (unsigned long long)summary.call_id, (unsigned long long)summary.policy_version,
           (unsigned long long)summary.epoch, summary.fail_open ? ", every route doubtful" : "");

    size_t count = 0;
    TRY(sos_plan_attempt_count(plan, &count));
    for (size_t i = 0; i < count; i++) {
        sos_attempt a = {.struct_size = sizeof a};
        TRY(sos_plan_attempt(plan, i, &a));
        char name[128];
        TRY(sos_plan_route_name(plan, a.route, name, sizeof name, &needed));
        printf("  %zu. %-17s %-5s within %3.0f s%s\n", i + 1, name,
               a.media == SOS_MEDIA_TEXT ? "text" : "voice", (double)a.timeout_ms / 1000.0,
               a.evidence == SOS_EVIDENCE_NEGATIVE ? "  (doubtful: carrier outage)" : "");
    }
    TRY(sos_plan_left_out_count(plan, &count));
    for (size_t i = 0; i < count; i++) {
        sos_left_out l = {.struct_size = sizeof l};
        TRY(sos_plan_left_out(plan, i, &l));
        char name[128];
        TRY(sos_plan_route_name(plan, l.route, name, sizeof name, &needed));
        printf("  left out: %s (%s)\n", name, left_out_reason(l.reason));
    }

    char *guidance = plan_text(plan, sos_plan_guidance_text);
    printf("guidance for the call taker: %s\n", guidance);
    free(guidance);
    TRY(sos_plan_guidance_number_count(plan, &count));
    for (size_t i = 0; i < count; i++) {
        char number[64];
        TRY(sos_plan_guidance_number(plan, i, number, sizeof number, &needed));
        printf("  carrier liaison: %s\n", number);
    }

    char *why = plan_text(plan, sos_plan_explain);
    printf("\n%s\n", why);
    free(why);

    sos_plan_free(plan);
    sos_router_free(router);
    return 0;
}
