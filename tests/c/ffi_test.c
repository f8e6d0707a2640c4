/*
 * The C ABI under misuse: NULL for every pointer argument of every function, enum integers out of
 * range, struct_size too small, buffers too small, free(NULL), a rejected policy load, a call
 * session used out of order, and one router shared by several threads planning and updating.
 *
 * Built by examples/c/Makefile and run by .ci/c.sh under AddressSanitizer + UBSan and valgrind.
 * Prints "N passed, 0 failed" last and exits non-zero if anything failed.
 *
 * (Using a freed handle, or freeing one twice, is undefined behaviour, as with free(): not tested.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sosroute.h"

static int passed;
static int failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

/* `call` returns `status`, printed by name when it does not. */
#define EXPECT(call, status)                                                                       \
    do {                                                                                           \
        sos_status got_ = (call);                                                                  \
        if (got_ == (status)) {                                                                    \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s gave %s, expected %s\n", __FILE__, __LINE__, #call,    \
                    sos_status_name(got_), #status);                                               \
        }                                                                                          \
    } while (0)

/* A small valid policy: two routes, one component each. */
static const char SMALL_POLICY[] =
    "name = \"small\"\n"
    "[budget]\ntotal_s = 60.0\nmax_rounds = 1\n"
    "[ttl]\nradio_s = 30.0\nservice_s = 30.0\nlink_s = 60.0\nadvisory_s = 600.0\n"
    "[breaker]\nfailure_threshold = 2\ncool_down_s = 30.0\nhold_down_s = 10.0\n"
    "demoted_timeout_pct = 50\nmin_setup_timeout_s = 2.0\n"
    "[[component]]\nname = \"cell\"\nkind = \"radio\"\n"
    "[[component]]\nname = \"core\"\nkind = \"service\"\n"
    "[[route]]\nid = 7\nname = \"home\"\nkind = \"home_cellular\"\nneeds = [\"cell\", \"core\"]\n"
    "setup_timeout_s = 10.0\n"
    "[[route]]\nid = 8\nname = \"sos_only\"\nkind = \"other_network\"\nneeds = [\"cell\"]\n"
    "setup_timeout_s = 12.0\n"
    "[preference]\nvoice = [\"home\", \"sos_only\"]\nrtt = [\"home\"]\ntext = [\"home\"]\n"
    "[guidance]\ntext = \"Use a landline.\"\nnumbers = [\"555-0100\", \"555-0199\"]\n";

static const char *const DIALLED = "911";

/* Copies the calling thread's last error message into message. */
static const char *error_into(char *message, size_t len)
{
    size_t needed = 0;
    if (sos_last_error(message, len, &needed) != SOS_OK) {
        return "(sos_last_error failed)";
    }
    return message;
}

/* The main thread's last error message (a static buffer: not for the worker threads). */
static const char *last_error(void)
{
    static char message[1024];
    return error_into(message, sizeof message);
}

static sos_call_request voice_request(uint64_t call_id, uint64_t now_ms)
{
    sos_call_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.media = SOS_MEDIA_VOICE;
    r.call_id = call_id;
    r.dialled = DIALLED;
    r.dialled_len = strlen(DIALLED);
    r.capabilities = SOS_CAP_SMS;
    r.psap = 0;
    r.now_ms = now_ms;
    return r;
}

static sos_observation radio(uint32_t component, uint32_t state, uint64_t at_ms)
{
    sos_observation o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.subject = SOS_SUBJECT_COMPONENT;
    o.id = component;
    o.fact = SOS_FACT_RADIO;
    o.state = state;
    o.signal = SOS_SIGNAL_UNKNOWN;
    o.at_ms = at_ms;
    return o;
}

/* Sentinels: out-parameters must still hold them after a failed call. */
#define BAD_ROUTER ((sos_router *)&sentinel)
#define BAD_PLAN ((sos_plan *)&sentinel)
#define BAD_CALL ((sos_call *)&sentinel)
static int sentinel;

static void test_versions(void)
{
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", SOSROUTE_VERSION_MAJOR,
             SOSROUTE_VERSION_MINOR, SOSROUTE_VERSION_PATCH);
    CHECK(strcmp(sos_version(), expected) == 0);
    CHECK(sos_abi_version() == SOSROUTE_ABI_VERSION);
    CHECK(strcmp(sos_status_name(SOS_OK), "SOS_OK") == 0);
    CHECK(strcmp(sos_status_name(SOS_ERR_PANIC), "SOS_ERR_PANIC") == 0);
    CHECK(strcmp(sos_status_name(12345), "SOS_UNKNOWN_STATUS") == 0);
    CHECK(SOS_OK == 0);
}

static void test_free_null(void)
{
    sos_router_free(NULL);
    sos_plan_free(NULL);
    sos_call_free(NULL);
    CHECK(1); /* still alive */
}

static void test_null_arguments(sos_router *router)
{
    sos_router *r = BAD_ROUTER;
    sos_plan *p = BAD_PLAN;
    sos_call *c = BAD_CALL;
    uint64_t u64 = 77;
    uint32_t u32 = 77;
    size_t size = 77;
    char buf[64] = "untouched";
    sos_call_request req = voice_request(1, 1000);
    sos_observation obs = radio(0, SOS_RADIO_STATE_IN_SERVICE, 1000);

    /* Router creation. */
    EXPECT(sos_router_new(NULL), SOS_ERR_NULL);
    CHECK(strcmp(last_error(), "argument `router_out` is NULL") == 0);
    EXPECT(sos_router_new_from_policy(NULL, 10, SOS_POLICY_FORMAT_TOML, &r), SOS_ERR_NULL);
    EXPECT(sos_router_new_from_policy(SMALL_POLICY, strlen(SMALL_POLICY), SOS_POLICY_FORMAT_TOML,
                                      NULL),
           SOS_ERR_NULL);
    CHECK(r == BAD_ROUTER);

    /* Policy. */
    EXPECT(sos_router_load_policy(NULL, SMALL_POLICY, 3, SOS_POLICY_FORMAT_TOML, &u64),
           SOS_ERR_NULL);
    EXPECT(sos_router_load_policy(router, NULL, 3, SOS_POLICY_FORMAT_TOML, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_policy_version(NULL, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_policy_version(router, NULL), SOS_ERR_NULL);
    EXPECT(sos_router_policy_name(NULL, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_router_policy_name(router, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_router_policy_name(router, buf, sizeof buf, NULL), SOS_ERR_NULL);
    CHECK(u64 == 77 && size == 77 && strcmp(buf, "untouched") == 0);

    /* Lookups. */
    EXPECT(sos_router_component_id(NULL, "home_ran", 8, &u32), SOS_ERR_NULL);
    EXPECT(sos_router_component_id(router, NULL, 8, &u32), SOS_ERR_NULL);
    EXPECT(sos_router_component_id(router, "home_ran", 8, NULL), SOS_ERR_NULL);
    EXPECT(sos_router_route_name(NULL, 1, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_router_route_name(router, 1, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_router_route_name(router, 1, buf, sizeof buf, NULL), SOS_ERR_NULL);
    CHECK(u32 == 77 && size == 77 && strcmp(buf, "untouched") == 0);

    /* Updates. */
    EXPECT(sos_router_observe(NULL, &obs, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_observe(router, NULL, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_update(NULL, &obs, 1, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_update(router, NULL, 1, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_update(router, NULL, 0, &u64), SOS_ERR_NULL);
    EXPECT(sos_router_record_outcome(NULL, 1, SOS_OUTCOME_TIMED_OUT, 0, 0, 1000, &u64),
           SOS_ERR_NULL);
    CHECK(u64 == 77);
    /* The epoch out-parameter is optional. */
    EXPECT(sos_router_observe(router, &obs, NULL), SOS_OK);

    /* Plans and calls. */
    EXPECT(sos_router_plan(NULL, &req, &p), SOS_ERR_NULL);
    EXPECT(sos_router_plan(router, NULL, &p), SOS_ERR_NULL);
    EXPECT(sos_router_plan(router, &req, NULL), SOS_ERR_NULL);
    req.dialled = NULL;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_NULL);
    CHECK(strstr(last_error(), "request->dialled") != NULL);
    EXPECT(sos_router_begin(router, &req, &c), SOS_ERR_NULL);
    req.dialled = DIALLED;
    EXPECT(sos_router_begin(NULL, &req, &c), SOS_ERR_NULL);
    EXPECT(sos_router_begin(router, NULL, &c), SOS_ERR_NULL);
    EXPECT(sos_router_begin(router, &req, NULL), SOS_ERR_NULL);
    CHECK(p == BAD_PLAN && c == BAD_CALL);

    /* Plan getters. */
    p = NULL;
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    sos_attempt a = {.struct_size = sizeof a};
    sos_left_out l = {.struct_size = sizeof l};
    sos_plan_summary s = {.struct_size = sizeof s};
    EXPECT(sos_plan_get_summary(NULL, &s), SOS_ERR_NULL);
    EXPECT(sos_plan_get_summary(p, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_attempt_count(NULL, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_attempt_count(p, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_attempt(NULL, 0, &a), SOS_ERR_NULL);
    EXPECT(sos_plan_attempt(p, 0, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_left_out_count(NULL, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_left_out_count(p, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_left_out(NULL, 0, &l), SOS_ERR_NULL);
    EXPECT(sos_plan_left_out(p, 0, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_explain(NULL, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_explain(p, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_explain(p, buf, sizeof buf, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_text(NULL, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_text(p, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_text(p, buf, sizeof buf, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_number_count(NULL, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_number_count(p, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_number(NULL, 0, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_number(p, 0, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_guidance_number(p, 0, buf, sizeof buf, NULL), SOS_ERR_NULL);
    EXPECT(sos_plan_route_name(NULL, 1, buf, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_route_name(p, 1, NULL, sizeof buf, &size), SOS_ERR_NULL);
    EXPECT(sos_plan_route_name(p, 1, buf, sizeof buf, NULL), SOS_ERR_NULL);
    CHECK(size == 77 && strcmp(buf, "untouched") == 0);
    sos_plan_free(p);

    /* Call session. */
    c = NULL;
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    p = BAD_PLAN;
    EXPECT(sos_call_next_attempt(NULL, 1000, &a, &u32), SOS_ERR_NULL);
    EXPECT(sos_call_next_attempt(c, 1000, NULL, &u32), SOS_ERR_NULL);
    EXPECT(sos_call_next_attempt(c, 1000, &a, NULL), SOS_ERR_NULL);
    EXPECT(sos_call_report(NULL, SOS_OUTCOME_TIMED_OUT, 0, 0, 1000), SOS_ERR_NULL);
    EXPECT(sos_call_plan(NULL, 1000, &p), SOS_ERR_NULL);
    EXPECT(sos_call_plan(c, 1000, NULL), SOS_ERR_NULL);
    CHECK(p == BAD_PLAN);
    /* None of that moved the session: the first attempt is still the first. */
    EXPECT(sos_call_report(c, SOS_OUTCOME_TIMED_OUT, 0, 0, 1000), SOS_ERR_SESSION);
    EXPECT(sos_call_next_attempt(c, 1000, &a, &u32), SOS_OK);
    sos_call_free(c);

    /* The error getter itself. */
    EXPECT(sos_last_error(buf, sizeof buf, NULL), SOS_ERR_NULL);
    EXPECT(sos_last_error(NULL, sizeof buf, &size), SOS_ERR_NULL);
}

static void test_bad_enums(sos_router *router)
{
    sos_plan *p = BAD_PLAN;
    uint64_t epoch = 77;
    sos_call_request req = voice_request(2, 1000);
    static const uint32_t bad_media[] = {0, 4, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad_media / sizeof bad_media[0]; i++) {
        req.media = bad_media[i];
        EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_INVALID_ARG);
    }
    CHECK(strstr(last_error(), "request->media") != NULL);
    req.media = SOS_MEDIA_VOICE;
    req.capabilities = SOS_CAP_ALL + 1;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_INVALID_ARG);
    req.capabilities = 0x80000000u;
    EXPECT(sos_router_begin(router, &req, (sos_call **)&p), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "capabilities") != NULL);
    CHECK(p == BAD_PLAN);

    /* Observations: each bad field on its own. */
    sos_observation o = radio(0, SOS_RADIO_STATE_IN_SERVICE, 1000);
    o.subject = 0;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.subject = 3;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.subject = SOS_SUBJECT_COMPONENT;
    /* A component the policy does not declare is an update refused, however large the id. */
    o.id = 70000;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_UPDATE);
    o.id = 65536;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_UPDATE);
    o.id = 65535;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_UPDATE);
    o.id = 31;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_UPDATE);
    CHECK(strstr(last_error(), "not declared") != NULL);
    o.id = 0;
    o.fact = 0;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.fact = 9;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.fact = SOS_FACT_RADIO;
    o.state = 0;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.state = 5;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.state = SOS_RADIO_STATE_IN_SERVICE;
    /* A signal level off the scale is a bad argument, whatever its size. */
    o.signal = 256;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.signal = 5;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "signal level") != NULL);
    o.signal = 2;
    o.fact = SOS_FACT_SERVICE; /* a service fact for a radio component */
    o.state = SOS_SERVICE_STATE_UP;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_UPDATE);
    o.state = 4;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.fact = SOS_FACT_LINK;
    o.flag = 2;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.subject = SOS_SUBJECT_PSAP;
    o.id = 42;
    o.fact = SOS_FACT_PSAP;
    o.state = 8;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    o.state = SOS_PSAP_STATE_NORMAL;
    o.id = 0; /* PSAP 0 means "not known", under any policy */
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    CHECK(epoch == 77);

    /* Outcomes. */
    EXPECT(sos_router_record_outcome(router, 1, 0, 0, 0, 1000, &epoch), SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_record_outcome(router, 1, 4, 0, 0, 1000, &epoch), SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_record_outcome(router, 1, SOS_OUTCOME_REJECTED, 0, 0, 1000, &epoch),
           SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_record_outcome(router, 1, SOS_OUTCOME_REJECTED, 6, 0, 1000, &epoch),
           SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_record_outcome(router, 1, SOS_OUTCOME_REJECTED,
                                     SOS_REJECT_CAUSE_CONGESTION, 70000, 1000, &epoch),
           SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_record_outcome(router, 999, SOS_OUTCOME_TIMED_OUT, 0, 0, 1000, &epoch),
           SOS_ERR_UPDATE);
    EXPECT(sos_router_record_outcome(router, 100000, SOS_OUTCOME_TIMED_OUT, 0, 0, 1000, &epoch),
           SOS_ERR_UPDATE);
    CHECK(epoch == 77);

    /* Policy formats. */
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY), 0, NULL),
           SOS_ERR_INVALID_ARG);
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY), 3, NULL),
           SOS_ERR_INVALID_ARG);
    sos_router *r = BAD_ROUTER;
    EXPECT(sos_router_new_from_policy(SMALL_POLICY, strlen(SMALL_POLICY), 99, &r),
           SOS_ERR_INVALID_ARG);
    CHECK(r == BAD_ROUTER);

    /* Session reports. */
    req = voice_request(3, 1000);
    sos_call *c = NULL;
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    sos_attempt a = {.struct_size = sizeof a};
    uint32_t done = 0;
    EXPECT(sos_call_next_attempt(c, 1000, &a, &done), SOS_OK);
    EXPECT(sos_call_report(c, 0, 0, 0, 2000), SOS_ERR_INVALID_ARG);
    EXPECT(sos_call_report(c, SOS_OUTCOME_REJECTED, 99, 0, 2000), SOS_ERR_INVALID_ARG);
    /* Still in flight: a valid report now goes through. */
    EXPECT(sos_call_report(c, SOS_OUTCOME_REJECTED, SOS_REJECT_CAUSE_OTHER, 403, 2000), SOS_OK);
    sos_call_free(c);
}

static void test_struct_size(sos_router *router)
{
    sos_plan *p = BAD_PLAN;
    sos_call_request req = voice_request(4, 1000);
    req.struct_size = 0;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_INVALID_ARG);
    req.struct_size = sizeof req - 1;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "struct_size") != NULL);
    CHECK(p == BAD_PLAN);

    /* A caller built against a newer header passes a bigger struct: accepted. */
    struct {
        sos_call_request request;
        uint64_t appended_field;
    } newer;
    newer.request = voice_request(4, 1000);
    newer.request.struct_size = sizeof newer;
    newer.appended_field = 0xdeadbeef;
    p = NULL;
    EXPECT(sos_router_plan(router, &newer.request, &p), SOS_OK);

    /* Out-structs: too small is refused and nothing is written. */
    sos_attempt a;
    memset(&a, 0xab, sizeof a);
    a.struct_size = 8;
    EXPECT(sos_plan_attempt(p, 0, &a), SOS_ERR_INVALID_ARG);
    CHECK(a.route == 0xababababu && a.struct_size == 8);
    sos_left_out l = {.struct_size = 4};
    EXPECT(sos_plan_left_out(p, 0, &l), SOS_ERR_INVALID_ARG);
    sos_plan_summary s = {.struct_size = 0};
    EXPECT(sos_plan_get_summary(p, &s), SOS_ERR_INVALID_ARG);
    /* ... and the right size works, leaving struct_size as the caller set it. */
    a.struct_size = sizeof a;
    EXPECT(sos_plan_attempt(p, 0, &a), SOS_OK);
    CHECK(a.struct_size == sizeof a && a.route != 0xababababu);
    sos_plan_free(p);

    /* A too-small attempt struct does not move a session on. */
    sos_call *c = NULL;
    sos_call_request fifth = voice_request(5, 1000);
    EXPECT(sos_router_begin(router, &fifth, &c), SOS_OK);
    uint32_t done = 0;
    sos_attempt small = {.struct_size = 3};
    EXPECT(sos_call_next_attempt(c, 1000, &small, &done), SOS_ERR_INVALID_ARG);
    sos_attempt first = {.struct_size = sizeof first};
    EXPECT(sos_call_next_attempt(c, 1000, &first, &done), SOS_OK);
    CHECK(first.route == a.route);
    sos_call_free(c);

    /* Observations, single and in a batch (all-or-nothing). */
    uint32_t cell = 0;
    EXPECT(sos_router_component_id(router, "home_ran", 8, &cell), SOS_OK);
    sos_observation o = radio(cell, SOS_RADIO_STATE_NO_SERVICE, 1000);
    o.struct_size = sizeof o - 8;
    uint64_t epoch = 77;
    EXPECT(sos_router_observe(router, &o, &epoch), SOS_ERR_INVALID_ARG);
    sos_observation batch[3] = {radio(cell, SOS_RADIO_STATE_IN_SERVICE, 1000),
                                radio(cell, SOS_RADIO_STATE_IN_SERVICE, 1001),
                                radio(cell, SOS_RADIO_STATE_IN_SERVICE, 1002)};
    batch[2].struct_size = sizeof batch[2] + 8;
    EXPECT(sos_router_update(router, batch, 3, &epoch), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "observations[2]") != NULL);
    batch[2].struct_size = sizeof batch[2];
    batch[1].state = 42;
    EXPECT(sos_router_update(router, batch, 3, &epoch), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "observations[1]") != NULL);
    CHECK(epoch == 77);
    batch[1].state = SOS_RADIO_STATE_IN_SERVICE;
    uint64_t before = 0;
    EXPECT(sos_router_update(router, batch, 3, &before), SOS_OK);
    batch[1].id = 31; /* undeclared component: the whole batch is rejected */
    EXPECT(sos_router_update(router, batch, 3, &epoch), SOS_ERR_UPDATE);
    CHECK(epoch == 77);
    batch[1].id = cell;
    EXPECT(sos_router_update(router, batch, 3, &epoch), SOS_OK);
    CHECK(epoch == before + 1); /* the rejected batch published nothing */

    /* A batch from a caller with a bigger struct: the stride is its struct_size. */
    struct bigger {
        sos_observation o;
        uint64_t appended;
    } big[2];
    big[0].o = radio(cell, SOS_RADIO_STATE_IN_SERVICE, 2000);
    big[1].o = radio(cell, SOS_RADIO_STATE_LIMITED_SERVICE, 2001);
    big[0].o.struct_size = big[1].o.struct_size = sizeof big[0];
    EXPECT(sos_router_update(router, &big[0].o, 2, &epoch), SOS_OK);
}

/* A wire-format batch (WIRE.md) built by hand: one component fact, home_ran (component 0 in the
 * default policy) in limited service with 3 bars, observed at 1000 ms. */
static const uint8_t WIRE_BATCH[] = {
    'S', 'O', 'S', 'U', 1, 0, 0, 1,                 /* magic, version 1, flags 0, 1 record */
    1, 0, 13,                                       /* type 1 (component fact), 13-byte body */
    0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8,             /* component 0, at_ms 1000 */
    1, SOS_RADIO_STATE_LIMITED_SERVICE, 3,          /* fact: radio, limited service, 3 bars */
};

static void test_wire_updates(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new(&router), SOS_OK);
    uint64_t epoch = 77;
    EXPECT(sos_router_apply_update(NULL, WIRE_BATCH, sizeof WIRE_BATCH, &epoch), SOS_ERR_NULL);
    EXPECT(sos_router_apply_update(router, NULL, sizeof WIRE_BATCH, &epoch), SOS_ERR_NULL);
    CHECK(epoch == 77);

    /* Truncated, corrupted magic, or naming an undeclared component: refused, nothing changes. */
    EXPECT(sos_router_apply_update(router, WIRE_BATCH, sizeof WIRE_BATCH - 1, &epoch), SOS_ERR_UPDATE);
    CHECK(strstr(last_error(), "record 0") != NULL);
    uint8_t bad[sizeof WIRE_BATCH];
    memcpy(bad, WIRE_BATCH, sizeof bad);
    bad[0] = 'X';
    EXPECT(sos_router_apply_update(router, bad, sizeof bad, &epoch), SOS_ERR_UPDATE);
    CHECK(strstr(last_error(), "magic") != NULL);
    memcpy(bad, WIRE_BATCH, sizeof bad);
    bad[12] = 31; /* component 31 */
    EXPECT(sos_router_apply_update(router, bad, sizeof bad, &epoch), SOS_ERR_UPDATE);
    CHECK(strstr(last_error(), "component 31") != NULL);
    CHECK(epoch == 77);

    /* The good batch applies: the home network is in limited service, so the plan leaves it. */
    EXPECT(sos_router_apply_update(router, WIRE_BATCH, sizeof WIRE_BATCH, &epoch), SOS_OK);
    CHECK(epoch == 1);
    EXPECT(sos_router_apply_update(router, WIRE_BATCH, sizeof WIRE_BATCH, NULL), SOS_OK);
    sos_call_request req = voice_request(9, 2000);
    sos_plan *p = NULL;
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    sos_attempt first = {.struct_size = sizeof first};
    EXPECT(sos_plan_attempt(p, 0, &first), SOS_OK);
    char name[64];
    size_t needed = 0;
    EXPECT(sos_router_route_name(router, first.route, name, sizeof name, &needed), SOS_OK);
    CHECK(strcmp(name, "other_network") == 0);
    sos_plan_free(p);
    sos_router_free(router);
}

static void test_buffers(sos_router *router)
{
    sos_plan *p = NULL;
    sos_call_request req = voice_request(6, 1000);
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);

    char buf[4096];
    size_t needed = 0;
    memset(buf, 'X', sizeof buf);
    EXPECT(sos_plan_explain(p, buf, 10, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 10 && needed < sizeof buf);
    int untouched = 1;
    for (size_t i = 0; i < sizeof buf; i++) {
        untouched &= buf[i] == 'X';
    }
    CHECK(untouched);
    size_t want = needed;
    EXPECT(sos_plan_explain(p, buf, want - 1, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == want && buf[0] == 'X');
    EXPECT(sos_plan_explain(p, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == want);
    EXPECT(sos_plan_explain(p, buf, want, &needed), SOS_OK);
    CHECK(strlen(buf) == want - 1 && buf[want] == 'X');
    static const char opening[] = "Call 6 (urn:service:sos, voice): try ";
    CHECK(strncmp(buf, opening, strlen(opening)) == 0);

    /* Every other text getter follows the same contract. */
    EXPECT(sos_plan_guidance_text(p, buf, 1, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 1);
    EXPECT(sos_plan_guidance_text(p, buf, needed, &needed), SOS_OK);
    EXPECT(sos_router_policy_name(router, buf, 3, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == strlen("us-handset") + 1);
    EXPECT(sos_router_policy_name(router, buf, needed, &needed), SOS_OK);
    CHECK(strcmp(buf, "us-handset") == 0);
    EXPECT(sos_router_route_name(router, 3, buf, 5, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == strlen("other_network") + 1);
    EXPECT(sos_plan_route_name(p, 3, buf, sizeof buf, &needed), SOS_OK);
    CHECK(strcmp(buf, "other_network") == 0);
    EXPECT(sos_router_route_name(router, 999, buf, sizeof buf, &needed), SOS_ERR_NOT_FOUND);
    EXPECT(sos_plan_route_name(p, 70000, buf, sizeof buf, &needed), SOS_ERR_NOT_FOUND);
    EXPECT(sos_last_error(buf, 2, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 2);

    /* Indexes past the end. */
    size_t count = 0;
    EXPECT(sos_plan_attempt_count(p, &count), SOS_OK);
    CHECK(count >= 1);
    sos_attempt a = {.struct_size = sizeof a};
    EXPECT(sos_plan_attempt(p, count, &a), SOS_ERR_INVALID_ARG);
    EXPECT(sos_plan_left_out_count(p, &count), SOS_OK);
    sos_left_out l = {.struct_size = sizeof l};
    EXPECT(sos_plan_left_out(p, count, &l), SOS_ERR_INVALID_ARG);
    EXPECT(sos_plan_guidance_number_count(p, &count), SOS_OK);
    EXPECT(sos_plan_guidance_number(p, count, buf, sizeof buf, &needed), SOS_ERR_INVALID_ARG);

    /* Lookups that find nothing. */
    uint32_t id = 77;
    EXPECT(sos_router_component_id(router, "nope", 4, &id), SOS_ERR_NOT_FOUND);
    EXPECT(sos_router_component_id(router, "\xff\xfe", 2, &id), SOS_ERR_NOT_FOUND);
    CHECK(id == 77);
    sos_plan_free(p);
}

static void test_requests(sos_router *router)
{
    sos_plan *p = BAD_PLAN;
    sos_call_request req = voice_request(7, 1000);
    req.dialled = "411";
    req.dialled_len = 3;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_NOT_EMERGENCY);
    CHECK(strstr(last_error(), "411") != NULL);
    req.dialled = "911";
    req.dialled_len = 2; /* "91" */
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_NOT_EMERGENCY);
    req.dialled = "\xff\xff\xff"; /* not UTF-8: not an emergency number either */
    req.dialled_len = 3;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_NOT_EMERGENCY);
    CHECK(p == BAD_PLAN);
    /* Not NUL-terminated is fine: the length counts. */
    static const char urn[] = {'u', 'r', 'n', ':', 's', 'e', 'r', 'v', 'i', 'c', 'e', ':', 's',
                               'o', 's', '.', 'f', 'i', 'r', 'e'};
    req.dialled = urn;
    req.dialled_len = sizeof urn;
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    sos_plan_summary s = {.struct_size = sizeof s};
    EXPECT(sos_plan_get_summary(p, &s), SOS_OK);
    CHECK(s.service == SOS_EMERGENCY_SERVICE_FIRE && s.call_id == 7 && s.made_at_ms == 1000);
    sos_plan_free(p);
}

/* What dialers really send is recognised; with the dialer's classification anything plans. */
static void test_dialled_strings(sos_router *router)
{
    static const char with_nul[] = "911"; /* sizeof counts the NUL: the sizeof slip */
    static const char *const recognised[] = {
        "\xef\xbc\x99\xef\xbc\x91\xef\xbc\x91", /* full-width 911 */
        "\xd9\xa9\xd9\xa1\xd9\xa1",             /* Arabic-Indic 911 */
        "\xe2\x80\x8b" "911",                   /* zero-width space, 911 */
        "911\xe2\x80\x8b",                      /* 911, zero-width space */
        "\xe2\x80\xaa" "112\xe2\x80\xac",       /* bidi embedding around 112 */
        " tel:911\t",
    };
    sos_call_request req = voice_request(30, 1000);
    sos_plan *p = NULL;
    sos_plan_summary s = {.struct_size = sizeof s};
    req.dialled = with_nul;
    req.dialled_len = sizeof with_nul;
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    sos_plan_free(p);
    for (size_t i = 0; i < sizeof recognised / sizeof recognised[0]; i++) {
        req.dialled = recognised[i];
        req.dialled_len = strlen(recognised[i]);
        p = NULL;
        EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
        if (p != NULL) {
            EXPECT(sos_plan_get_summary(p, &s), SOS_OK);
            CHECK(s.service == SOS_EMERGENCY_SERVICE_SOS);
        }
        sos_plan_free(p);
    }

    /* A number this library does not know, on the dialer's word: a generic emergency. */
    req.dialled = "1122";
    req.dialled_len = 4;
    p = BAD_PLAN;
    EXPECT(sos_router_plan(router, &req, &p), SOS_ERR_NOT_EMERGENCY);
    EXPECT(sos_router_plan_ex(router, &req, 0, &p), SOS_ERR_NOT_EMERGENCY);
    EXPECT(sos_router_plan_ex(router, &req, SOS_REQUEST_ALL + 1, &p), SOS_ERR_INVALID_ARG);
    CHECK(p == BAD_PLAN);
    EXPECT(sos_router_plan_ex(router, &req, SOS_REQUEST_DIALER_EMERGENCY, &p), SOS_OK);
    EXPECT(sos_plan_get_summary(p, &s), SOS_OK);
    CHECK(s.service == SOS_EMERGENCY_SERVICE_SOS);
    char text[4096];
    size_t needed = 0;
    EXPECT(sos_plan_explain(p, text, sizeof text, &needed), SOS_OK);
    CHECK(strstr(text, "the dialer classified the call") != NULL);
    size_t count = 0;
    EXPECT(sos_plan_attempt_count(p, &count), SOS_OK);
    CHECK(count >= 1);
    sos_plan_free(p);
    /* Bytes that are not UTF-8, and no string at all, the same. */
    req.dialled = "\xff\xfe";
    req.dialled_len = 2;
    sos_call *c = NULL;
    EXPECT(sos_router_begin_ex(router, &req, SOS_REQUEST_DIALER_EMERGENCY, &c), SOS_OK);
    sos_attempt a = {.struct_size = sizeof a};
    uint32_t done = 0;
    EXPECT(sos_call_next_attempt(c, 1000, &a, &done), SOS_OK);
    sos_call_free(c);
    EXPECT(sos_router_plan_ex(NULL, &req, 0, &p), SOS_ERR_NULL);
    EXPECT(sos_router_plan_ex(router, NULL, 0, &p), SOS_ERR_NULL);
    EXPECT(sos_router_plan_ex(router, &req, 0, NULL), SOS_ERR_NULL);
    EXPECT(sos_router_begin_ex(NULL, &req, 0, &c), SOS_ERR_NULL);
    EXPECT(sos_router_begin_ex(router, NULL, 0, &c), SOS_ERR_NULL);
    EXPECT(sos_router_begin_ex(router, &req, 0, NULL), SOS_ERR_NULL);
    req.dialled = NULL;
    req.dialled_len = 0;
    EXPECT(sos_router_begin(router, &req, &c), SOS_ERR_NULL);
    c = NULL;
    EXPECT(sos_router_begin_ex(router, &req, SOS_REQUEST_DIALER_EMERGENCY, &c), SOS_OK);
    sos_call_free(c);
}

/* Whether `message` was cut: the cut mark, at its end or where a quoted value was cut. */
static int was_cut(const char *message)
{
    return strstr(message, "\xe2\x80\xa6 (cut)") != NULL; /* "… (cut)" in UTF-8 */
}

/* Error messages are at most 1024 bytes, cut with a mark; a size query or a buffer too small on
 * any text getter leaves the last error as it was. */
static void test_error_text(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new_from_policy(SMALL_POLICY, strlen(SMALL_POLICY), SOS_POLICY_FORMAT_TOML,
                                      &router),
           SOS_OK);
    sos_plan *p = NULL;
    sos_call_request req = voice_request(20, 1000);
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);

    /* A 5 MB dialled string is not examined (SOS_MAX_DIALLED_LEN), and the message says so. */
    size_t huge_len = (size_t)5 << 20;
    char *huge = malloc(huge_len + 64);
    CHECK(huge != NULL);
    if (huge == NULL) {
        return;
    }
    memset(huge, '4', huge_len);
    req.dialled = huge;
    req.dialled_len = huge_len;
    sos_plan *none = BAD_PLAN;
    EXPECT(sos_router_plan(router, &req, &none), SOS_ERR_NOT_EMERGENCY);
    CHECK(none == BAD_PLAN);
    CHECK(strstr(last_error(), "MAX_DIALLED_LEN") != NULL);
    /* "Not an emergency" quotes the string: 250 control characters quote to 1.5 KB, cut. */
    memset(huge, 1, 250);
    req.dialled_len = 250;
    EXPECT(sos_router_plan(router, &req, &none), SOS_ERR_NOT_EMERGENCY);
    size_t needed = 0;
    EXPECT(sos_last_error(NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 100 && needed <= 1025);
    char message[1025];
    EXPECT(sos_last_error(message, sizeof message, &needed), SOS_OK);
    CHECK(strlen(message) <= 1024 && was_cut(message));
    CHECK(strstr(message, "\\u{1}") != NULL);

    /* A policy whose one line is 2 MB: TOML quotes the line, the message does not. */
    size_t line_len = (size_t)2 << 20;
    memcpy(huge, "name = \"", 8);
    memset(huge + 8, 'x', line_len);
    memcpy(huge + 8 + line_len, "\" oops\n", 7);
    EXPECT(sos_router_load_policy(router, huge, line_len + 15, SOS_POLICY_FORMAT_TOML, NULL),
           SOS_ERR_POLICY);
    EXPECT(sos_last_error(message, sizeof message, &needed), SOS_OK);
    CHECK(needed <= 1025 && strlen(message) <= 1024);
    free(huge);

    /* The failure an integrator is about to log ... */
    EXPECT(sos_router_load_policy(router, "name = [", 8, SOS_POLICY_FORMAT_TOML, NULL),
           SOS_ERR_POLICY);
    char before[1025];
    EXPECT(sos_last_error(before, sizeof before, &needed), SOS_OK);
    CHECK(strstr(before, "TOML") != NULL);
    /* ... survives every text getter's size query and too-small buffer. */
    char small[2];
    EXPECT(sos_plan_explain(p, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_plan_explain(p, small, sizeof small, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_plan_guidance_text(p, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_plan_guidance_number(p, 0, small, sizeof small, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_plan_route_name(p, 7, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_router_route_name(router, 8, small, sizeof small, &needed),
           SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_router_policy_name(router, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    EXPECT(sos_last_error(small, sizeof small, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(last_error(), before) == 0);
    sos_plan_free(p);
    sos_router_free(router);
}

static void test_policy_error_keeps_policy(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new(&router), SOS_OK);
    uint64_t version = 0;
    EXPECT(sos_router_policy_version(router, &version), SOS_OK);
    CHECK(version == 1);

    /* Invalid value: the message names the field; nothing changes. */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s", SMALL_POLICY);
    char *at = strstr(bad, "max_rounds = 1");
    CHECK(at != NULL);
    if (at != NULL) {
        memcpy(at, "max_rounds = 0", 14);
    }
    uint64_t out = 77;
    EXPECT(sos_router_load_policy(router, bad, strlen(bad), SOS_POLICY_FORMAT_TOML, &out),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "budget.max_rounds") != NULL);
    CHECK(out == 77);
    /* Syntax errors, JSON and TOML, and text that is not UTF-8. */
    EXPECT(sos_router_load_policy(router, "{\"name\": ", 9, SOS_POLICY_FORMAT_JSON, &out),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "JSON") != NULL);
    EXPECT(sos_router_load_policy(router, "name = [", 8, SOS_POLICY_FORMAT_TOML, &out),
           SOS_ERR_POLICY);
    EXPECT(sos_router_load_policy(router, "\xff", 1, SOS_POLICY_FORMAT_TOML, &out),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "not UTF-8") != NULL);
    /* A NUL inside a name would cut it short for every C reader: refused, naming the field. */
    const char *home = strstr(SMALL_POLICY, "name = \"home\"");
    CHECK(home != NULL);
    if (home != NULL) { /* the route's name becomes "ho<NUL>me", written as a TOML escape */
        snprintf(bad, sizeof bad, "%.*sname = \"ho\\u0000me\"%s", (int)(home - SMALL_POLICY),
                 SMALL_POLICY, home + strlen("name = \"home\""));
    }
    EXPECT(sos_router_load_policy(router, bad, strlen(bad), SOS_POLICY_FORMAT_TOML, &out),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "route[0].name") != NULL && strstr(last_error(), "NUL") != NULL);
    snprintf(bad, sizeof bad, "%s", SMALL_POLICY);
    at = strstr(bad, "max_rounds = 1");
    if (at != NULL) {
        memcpy(at, "max_rounds = 0", 14);
    }
    /* TOML given as JSON. */
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_JSON, &out),
           SOS_ERR_POLICY);
    CHECK(out == 77);

    /* The old policy is still in force. */
    EXPECT(sos_router_policy_version(router, &version), SOS_OK);
    CHECK(version == 1);
    char name[64];
    size_t needed = 0;
    EXPECT(sos_router_policy_name(router, name, sizeof name, &needed), SOS_OK);
    CHECK(strcmp(name, "us-handset") == 0);
    uint32_t id = 0;
    EXPECT(sos_router_component_id(router, "home_core", 9, &id), SOS_OK);
    sos_plan *p = NULL;
    sos_call_request req = voice_request(8, 1000);
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    sos_attempt a = {.struct_size = sizeof a};
    EXPECT(sos_plan_attempt(p, 0, &a), SOS_OK);
    CHECK(a.route == 1);
    sos_plan_free(p);

    /* A valid policy then takes over, with the next version. */
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, &out),
           SOS_OK);
    CHECK(out == 2);
    /* The version out-parameter is optional. */
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, NULL),
           SOS_OK);
    EXPECT(sos_router_policy_version(router, &version), SOS_OK);
    CHECK(version == 3);
    EXPECT(sos_router_component_id(router, "home_core", 9, &id), SOS_ERR_NOT_FOUND);
    EXPECT(sos_router_component_id(router, "core", 4, &id), SOS_OK);
    CHECK(id == 1);
    EXPECT(sos_router_plan(router, &req, &p), SOS_OK);
    EXPECT(sos_plan_attempt(p, 0, &a), SOS_OK);
    CHECK(a.route == 7);
    size_t count = 0;
    EXPECT(sos_plan_guidance_number_count(p, &count), SOS_OK);
    CHECK(count == 2);
    char number[16];
    EXPECT(sos_plan_guidance_number(p, 1, number, sizeof number, &needed), SOS_OK);
    CHECK(strcmp(number, "555-0199") == 0);
    sos_plan_free(p);
    sos_router_free(router);

    /* A router made from a bad policy is not made. */
    sos_router *r = BAD_ROUTER;
    EXPECT(sos_router_new_from_policy(bad, strlen(bad), SOS_POLICY_FORMAT_TOML, &r),
           SOS_ERR_POLICY);
    CHECK(r == BAD_ROUTER);
    r = NULL;
    EXPECT(sos_router_new_from_policy(SMALL_POLICY, strlen(SMALL_POLICY), SOS_POLICY_FORMAT_TOML,
                                      &r),
           SOS_OK);
    sos_router_free(r);
}

static void test_session_order(sos_router *router)
{
    sos_call *c = NULL;
    sos_call_request req = voice_request(9, 10000);
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    sos_attempt a = {.struct_size = sizeof a};
    uint32_t done = 77;
    EXPECT(sos_call_report(c, SOS_OUTCOME_CONNECTED, 0, 0, 10000), SOS_ERR_SESSION);
    EXPECT(sos_call_next_attempt(c, 10000, &a, &done), SOS_OK);
    uint32_t first = a.route;
    EXPECT(sos_call_next_attempt(c, 10000, &a, &done), SOS_ERR_SESSION);
    CHECK(strstr(last_error(), "in flight") != NULL);
    CHECK(done == 77 && a.route == first);
    /* Walk until done: every attempt fails; the session ends with a reason. */
    uint64_t now = 10000;
    int attempts = 1;
    sos_status status = SOS_OK;
    for (;;) {
        now += a.timeout_ms;
        EXPECT(sos_call_report(c, SOS_OUTCOME_TIMED_OUT, 0, 0, now), SOS_OK);
        status = sos_call_next_attempt(c, now, &a, &done);
        if (status != SOS_OK || attempts > 100) {
            break;
        }
        attempts++;
    }
    EXPECT(status, SOS_DONE);
    CHECK(done == SOS_DONE_EXHAUSTED || done == SOS_DONE_BUDGET_SPENT);
    CHECK(attempts >= 2);
    /* Done stays done. */
    EXPECT(sos_call_next_attempt(c, now, &a, &done), SOS_DONE);
    sos_call_free(c);

    /* Rule 10: a walk whose attempts all fail at once is redialled after the backoff, which
     * sos_call_delay_ms gives for the attempt in flight; until the budget is spent. */
    uint64_t delay = 77;
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    EXPECT(sos_call_delay_ms(c, &delay), SOS_ERR_SESSION);
    CHECK(delay == 77);
    now = 20000;
    int redials = 0;
    for (int k = 0; k < 5000; k++) {
        status = sos_call_next_attempt(c, now, &a, &done);
        if (status != SOS_OK) {
            break;
        }
        EXPECT(sos_call_delay_ms(c, NULL), SOS_ERR_NULL);
        EXPECT(sos_call_delay_ms(c, &delay), SOS_OK);
        CHECK(delay <= 60000);
        redials += delay > 0;
        now += delay;
        EXPECT(sos_call_report(c, SOS_OUTCOME_REJECTED, SOS_REJECT_CAUSE_NO_SIGNAL, 0, now), SOS_OK);
    }
    EXPECT(status, SOS_DONE);
    CHECK(done == SOS_DONE_BUDGET_SPENT);
    CHECK(redials >= 2);
    sos_call_free(c);

    /* A connected call is done with SOS_DONE_CONNECTED. */
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    EXPECT(sos_call_next_attempt(c, 10000, &a, &done), SOS_OK);
    EXPECT(sos_call_report(c, SOS_OUTCOME_CONNECTED, 0, 0, 12000), SOS_OK);
    EXPECT(sos_call_next_attempt(c, 12000, &a, &done), SOS_DONE);
    CHECK(done == SOS_DONE_CONNECTED);
    sos_call_free(c);
}

/* ---- One router, several threads. ---- */

enum { PLANNERS = 4, UPDATERS = 2, ROUNDS = 300 };

struct shared {
    sos_router *router;
    uint32_t home_ran;
    uint32_t home_core;
    int failures[PLANNERS + UPDATERS];
};

struct worker {
    struct shared *shared;
    int index;
};

/* Counts a failure in a worker thread, with the thread's own last error. */
static void fail_in_thread(const char *who, int index, const char *what, int round, int *failures)
{
    char msg[1024];
    fprintf(stderr, "%s %d: %s %d: %s\n", who, index, what, round, error_into(msg, sizeof msg));
    (*failures)++;
}

static void *planner(void *arg)
{
    struct worker *w = arg;
    sos_router *router = w->shared->router;
    int *failures = &w->shared->failures[w->index];
    char msg[1024];
    for (int i = 0; i < ROUNDS; i++) {
        sos_call_request req = voice_request((uint64_t)(w->index * ROUNDS + i), 1000 + (uint64_t)i);
        sos_plan *p = NULL;
        size_t count = 0;
        if (sos_router_plan(router, &req, &p) != SOS_OK ||
            sos_plan_attempt_count(p, &count) != SOS_OK || count == 0) {
            fail_in_thread("planner", w->index, "plan", i, failures);
        }
        char text[2048];
        size_t needed = 0;
        if (sos_plan_explain(p, text, sizeof text, &needed) != SOS_OK) {
            fail_in_thread("planner", w->index, "explain", i, failures);
        }
        sos_plan_free(p);

        sos_call *c = NULL;
        sos_attempt a = {.struct_size = sizeof a};
        uint32_t done = 0;
        if (sos_router_begin(router, &req, &c) != SOS_OK ||
            sos_call_next_attempt(c, req.now_ms, &a, &done) != SOS_OK ||
            sos_call_report(c, (i % 3) ? SOS_OUTCOME_TIMED_OUT : SOS_OUTCOME_CONNECTED, 0, 0,
                            req.now_ms + a.timeout_ms) != SOS_OK) {
            fail_in_thread("planner", w->index, "session", i, failures);
        }
        sos_call_free(c);

        /* The thread's own error message is its own, whatever the others do. */
        req.dialled = "411";
        req.dialled_len = 3;
        if (sos_router_plan(router, &req, &p) != SOS_ERR_NOT_EMERGENCY ||
            strstr(error_into(msg, sizeof msg), "411") == NULL) {
            fail_in_thread("planner", w->index, "not-emergency", i, failures);
        }
    }
    return NULL;
}

static void *updater(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->shared;
    int *failures = &s->failures[w->index];
    char msg[1024];
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t at = 1000 + (uint64_t)i;
        sos_observation batch[2];
        batch[0] = radio(s->home_ran, (i % 2) ? SOS_RADIO_STATE_IN_SERVICE
                                              : SOS_RADIO_STATE_LIMITED_SERVICE, at);
        memset(&batch[1], 0, sizeof batch[1]);
        batch[1].struct_size = sizeof batch[1];
        batch[1].subject = SOS_SUBJECT_COMPONENT;
        batch[1].id = s->home_core;
        batch[1].fact = SOS_FACT_PROBE;
        batch[1].flag = (uint32_t)(i % 2);
        batch[1].rtt_ms = 40;
        batch[1].at_ms = at;
        if (sos_router_update(s->router, batch, 2, NULL) != SOS_OK) {
            fail_in_thread("updater", w->index, "update", i, failures);
        }
        if (sos_router_record_outcome(s->router, 2, SOS_OUTCOME_REJECTED,
                                      SOS_REJECT_CAUSE_CONGESTION, 503, at, NULL) != SOS_OK) {
            fail_in_thread("updater", w->index, "outcome", i, failures);
        }
        /* A bad batch from this thread fails and changes nothing for the others. */
        batch[1].fact = 99;
        if (sos_router_update(s->router, batch, 2, NULL) != SOS_ERR_INVALID_ARG ||
            strstr(error_into(msg, sizeof msg), "observations[1].fact") == NULL) {
            fail_in_thread("updater", w->index, "bad batch", i, failures);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    struct shared s;
    memset(&s, 0, sizeof s);
    EXPECT(sos_router_new(&s.router), SOS_OK);
    EXPECT(sos_router_component_id(s.router, "home_ran", 8, &s.home_ran), SOS_OK);
    EXPECT(sos_router_component_id(s.router, "home_core", 9, &s.home_core), SOS_OK);
    pthread_t threads[PLANNERS + UPDATERS];
    struct worker workers[PLANNERS + UPDATERS];
    for (int i = 0; i < PLANNERS + UPDATERS; i++) {
        workers[i].shared = &s;
        workers[i].index = i;
        int rc = pthread_create(&threads[i], NULL, i < PLANNERS ? planner : updater, &workers[i]);
        CHECK(rc == 0);
    }
    for (int i = 0; i < PLANNERS + UPDATERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(s.failures[i] == 0);
    }
    /* Every update landed: 2 per updater round, plus nothing from the rejected batches. */
    sos_observation o = radio(s.home_ran, SOS_RADIO_STATE_IN_SERVICE, 5000);
    uint64_t epoch = 0;
    EXPECT(sos_router_observe(s.router, &o, &epoch), SOS_OK);
    CHECK(epoch >= (uint64_t)(UPDATERS * ROUNDS * 2));
    sos_router_free(s.router);
}

/* Safe policy change: the policy hash, rollback, trusted keys and signed policies.
 * SMALL_POLICY_KEY is the public key of the secret key whose seed is 32 bytes of 0x01, and
 * SMALL_POLICY_SIG that key's signature file of SMALL_POLICY's exact bytes (`sosroute keygen` /
 * `sosroute sign-policy`; see the README for the formats). */
static const uint8_t SMALL_POLICY_KEY[32] = {
    0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95,
    0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72,
    0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b,
    0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c,
};
/* The public key of the seed of 32 bytes of 0x02: a valid key that did not sign. */
static const uint8_t OTHER_KEY[32] = {
    0x81, 0x39, 0x77, 0x0e, 0xa8, 0x7d, 0x17, 0x5f,
    0x56, 0xa3, 0x54, 0x66, 0xc3, 0x4c, 0x7e, 0xcc,
    0xcb, 0x8d, 0x8a, 0x91, 0xb4, 0xee, 0x37, 0xa2,
    0x5d, 0xf6, 0x0f, 0x5b, 0x8f, 0xc9, 0xb3, 0x94,
};
static const char SMALL_POLICY_SIG[] =
    "sosroute-policy-signature-v1\n"
    "key 8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c\n"
    "sig ae9cfe3e6857cac6630dd94b2b039b59f6d2e2812a46ff74a68ced90aeb7ecf4f5e21e534191e16bb8879290ff16fe5c6d96f70f9378d22ccf4c20712120c408\n";

static void test_policy_safety(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new(&router), SOS_OK);
    if (router == NULL) {
        return;
    }

    /* The hash: 64 hex digits; a size query first; NULLs refused. */
    char shipped[65];
    size_t needed = 0;
    EXPECT(sos_router_policy_hash(router, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == 65);
    EXPECT(sos_router_policy_hash(router, shipped, 10, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    EXPECT(sos_router_policy_hash(router, shipped, sizeof shipped, &needed), SOS_OK);
    CHECK(strlen(shipped) == 64 && strspn(shipped, "0123456789abcdef") == 64);
    EXPECT(sos_router_policy_hash(NULL, shipped, sizeof shipped, &needed), SOS_ERR_NULL);
    EXPECT(sos_router_policy_hash(router, shipped, sizeof shipped, NULL), SOS_ERR_NULL);
    EXPECT(sos_router_policy_hash(router, NULL, 65, &needed), SOS_ERR_NULL);

    /* Rollback: nothing to roll back to yet; then a change and its undo. */
    uint64_t version = 77;
    EXPECT(sos_router_rollback_policy(NULL, &version), SOS_ERR_NULL);
    EXPECT(sos_router_rollback_policy(router, &version), SOS_ERR_NOT_FOUND);
    CHECK(strstr(last_error(), "no previous policy") != NULL);
    CHECK(version == 77);
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, &version),
           SOS_OK);
    CHECK(version == 2);
    char hash[65];
    EXPECT(sos_router_policy_hash(router, hash, sizeof hash, &needed), SOS_OK);
    CHECK(strcmp(hash, shipped) != 0);
    EXPECT(sos_router_rollback_policy(router, &version), SOS_OK);
    CHECK(version == 3);
    EXPECT(sos_router_policy_hash(router, hash, sizeof hash, &needed), SOS_OK);
    CHECK(strcmp(hash, shipped) == 0);
    uint32_t id = 0;
    EXPECT(sos_router_component_id(router, "home_core", 9, &id), SOS_OK);

    /* Trusted keys: NULL and bad keys refused, naming the key; nothing set then. */
    uint8_t keys[64];
    memcpy(keys, OTHER_KEY, 32);
    memcpy(keys + 32, SMALL_POLICY_KEY, 32);
    uint8_t not_a_key[64] = {0};
    memcpy(not_a_key, OTHER_KEY, 32);
    not_a_key[32] = 2; /* y = 2: on no point of the curve */
    EXPECT(sos_router_set_trusted_keys(NULL, keys, 1), SOS_ERR_NULL);
    EXPECT(sos_router_set_trusted_keys(router, NULL, 1), SOS_ERR_NULL);
    EXPECT(sos_router_set_trusted_keys(router, not_a_key, 2), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "keys[1]") != NULL);
    /* Still no keys: unsigned loading works as before. */
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, &version),
           SOS_OK);
    CHECK(version == 4);
    EXPECT(sos_router_rollback_policy(router, NULL), SOS_OK);

    /* A signed policy with no trusted keys cannot be checked: refused. */
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, SMALL_POLICY_SIG,
                                         strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "no trusted keys") != NULL);

    /* Signed by a key the router does not trust: unknown key. */
    EXPECT(sos_router_set_trusted_keys(router, OTHER_KEY, 1), SOS_OK);
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, SMALL_POLICY_SIG,
                                         strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "not one of this router's 1 trusted key(s)") != NULL);
    CHECK(version == 4);

    /* Both keys trusted from here on. */
    EXPECT(sos_router_set_trusted_keys(router, keys, 2), SOS_OK);

    /* Unsigned: refused, and the policy in force stays. */
    version = 77;
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, &version),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "no signature") != NULL);
    CHECK(version == 77);

    /* One byte tampered with: bad signature. */
    char tampered[4096];
    snprintf(tampered, sizeof tampered, "%s", SMALL_POLICY);
    char *at = strstr(tampered, "total_s = 60.0");
    CHECK(at != NULL);
    if (at != NULL) {
        at[10] = '9';
    }
    EXPECT(sos_router_load_signed_policy(router, tampered, strlen(tampered),
                                         SOS_POLICY_FORMAT_TOML, SMALL_POLICY_SIG,
                                         strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "bad signature") != NULL);

    /* A malformed signature file, and NULLs. */
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, "sig 00", 6, &version),
           SOS_ERR_POLICY);
    CHECK(strstr(last_error(), "signature") != NULL);
    EXPECT(sos_router_load_signed_policy(NULL, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, SMALL_POLICY_SIG,
                                         strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_NULL);
    EXPECT(sos_router_load_signed_policy(router, NULL, 0, SOS_POLICY_FORMAT_TOML,
                                         SMALL_POLICY_SIG, strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_NULL);
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, NULL, 0, &version),
           SOS_ERR_NULL);
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY), 99,
                                         SMALL_POLICY_SIG, strlen(SMALL_POLICY_SIG), &version),
           SOS_ERR_INVALID_ARG);
    CHECK(version == 77);
    EXPECT(sos_router_policy_hash(router, hash, sizeof hash, &needed), SOS_OK);
    CHECK(strcmp(hash, shipped) == 0);

    /* The right key and signature: loads. */
    EXPECT(sos_router_load_signed_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                         SOS_POLICY_FORMAT_TOML, SMALL_POLICY_SIG,
                                         strlen(SMALL_POLICY_SIG), &version),
           SOS_OK);
    CHECK(version > 4);
    EXPECT(sos_router_component_id(router, "core", 4, &id), SOS_OK);
    /* Rollback needs no signature: the earlier policy was accepted when it was loaded. */
    EXPECT(sos_router_rollback_policy(router, &version), SOS_OK);
    EXPECT(sos_router_policy_hash(router, hash, sizeof hash, &needed), SOS_OK);
    CHECK(strcmp(hash, shipped) == 0);

    /* No keys (count 0, keys may be NULL): unsigned policies load again. */
    EXPECT(sos_router_set_trusted_keys(router, NULL, 0), SOS_OK);
    EXPECT(sos_router_load_policy(router, SMALL_POLICY, strlen(SMALL_POLICY),
                                  SOS_POLICY_FORMAT_TOML, NULL),
           SOS_OK);
    sos_router_free(router);
}

/* One voice call on `router` at `t`: the home route (id 7) refuses it when `refused`, the other
 * route connects. At most 6 attempts. Returns the time the call ended. */
static uint64_t probation_call(sos_router *router, uint64_t id, uint64_t t, int refused)
{
    sos_call_request req = voice_request(id, t);
    sos_call *c = NULL;
    EXPECT(sos_router_begin(router, &req, &c), SOS_OK);
    for (int i = 0; c != NULL && i < 6; i++) {
        sos_attempt a = {.struct_size = sizeof a};
        uint32_t done = 0;
        if (sos_call_next_attempt(c, t, &a, &done) != SOS_OK) {
            break;
        }
        t += 3000;
        if (refused && a.route == 7) {
            EXPECT(sos_call_report(c, SOS_OUTCOME_REJECTED, SOS_REJECT_CAUSE_CONGESTION, 0, t),
                   SOS_OK);
        } else {
            EXPECT(sos_call_report(c, SOS_OUTCOME_CONNECTED, 0, 0, t), SOS_OK);
            break;
        }
    }
    sos_call_free(c);
    return t;
}

/* Probation: a policy that drops the fallback route is taken back by the router itself, and
 * the status and its reason say so. */
static void test_probation(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new_from_policy(SMALL_POLICY, strlen(SMALL_POLICY), SOS_POLICY_FORMAT_TOML,
                                      &router),
           SOS_OK);
    if (router == NULL) {
        return;
    }
    sos_probation_status s;
    memset(&s, 0xab, sizeof s);
    s.struct_size = sizeof s;
    EXPECT(sos_router_probation_status(NULL, &s), SOS_ERR_NULL);
    EXPECT(sos_router_probation_status(router, NULL), SOS_ERR_NULL);
    s.struct_size = 8;
    EXPECT(sos_router_probation_status(router, &s), SOS_ERR_INVALID_ARG);
    s.struct_size = sizeof s;
    EXPECT(sos_router_probation_status(router, &s), SOS_OK);
    CHECK(s.struct_size == sizeof s);
    CHECK(s.state == SOS_PROBATION_STATE_NONE && s.candidate_version == 0);
    char reason[1024];
    size_t needed = 0;
    EXPECT(sos_router_probation_reason(router, reason, sizeof reason, &needed), SOS_OK);
    CHECK(needed == 1 && reason[0] == '\0');
    EXPECT(sos_router_probation_reason(NULL, reason, sizeof reason, &needed), SOS_ERR_NULL);
    EXPECT(sos_router_probation_reason(router, reason, sizeof reason, NULL), SOS_ERR_NULL);

    /* A baseline: a quarter of the callers refused by home connect on the other route. */
    uint64_t t = 1000;
    uint64_t id = 1;
    for (; id <= 100; id++) {
        t = probation_call(router, id, t, id % 4 == 0) + 1000;
    }
    /* The same policy without the fallback in its voice list. */
    char bad[sizeof SMALL_POLICY];
    memcpy(bad, SMALL_POLICY, sizeof bad);
    char *fallback = strstr(bad, ", \"sos_only\"]\nrtt");
    CHECK(fallback != NULL);
    if (fallback == NULL) {
        sos_router_free(router);
        return;
    }
    memset(fallback, ' ', strlen(", \"sos_only\""));
    uint64_t version = 0;
    EXPECT(sos_router_load_policy(router, bad, strlen(bad), SOS_POLICY_FORMAT_TOML, &version),
           SOS_OK);
    CHECK(version == 2);
    EXPECT(sos_router_probation_status(router, &s), SOS_OK);
    CHECK(s.state == SOS_PROBATION_STATE_ON_PROBATION);
    CHECK(s.candidate_version == 2 && s.predecessor_version == 1);
    CHECK(s.baseline_attempts > 50 && s.baseline_failed > 0);

    for (; id <= 400 && s.state == SOS_PROBATION_STATE_ON_PROBATION; id++) {
        t = probation_call(router, id, t, id % 4 == 0) + 1000;
        EXPECT(sos_router_probation_status(router, &s), SOS_OK);
    }
    CHECK(s.state == SOS_PROBATION_STATE_ROLLED_BACK);
    CHECK(s.restored_version == 3 && s.judged_calls == 20);
    CHECK(s.judged_failed > 0 && s.judged_failed <= s.judged_calls);
    CHECK(s.decided_ms > s.since_ms && s.until_ms > s.since_ms);
    EXPECT(sos_router_policy_version(router, &version), SOS_OK);
    CHECK(version == 3);
    EXPECT(sos_router_probation_reason(router, NULL, 0, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 1 && needed <= sizeof reason);
    EXPECT(sos_router_probation_reason(router, reason, 4, &needed), SOS_ERR_BUFFER_TOO_SMALL);
    EXPECT(sos_router_probation_reason(router, reason, sizeof reason, &needed), SOS_OK);
    CHECK(strlen(reason) + 1 == needed);
    CHECK(strstr(reason, "policy v2 failed") != NULL);
    sos_router_free(router);
}

/* An audit log kept in memory by the callback. */
struct audit_log {
    char *text;
    size_t len;
    int lines;
    int bad;
};

static void audit_append(void *user, const char *line, size_t len)
{
    struct audit_log *log = user;
    /* One JSON object, NUL-terminated past `len`. */
    if (len == 0 || line[0] != '{' || line[len - 1] != '}' || line[len] != '\0') {
        log->bad++;
    }
    char *grown = realloc(log->text, log->len + len + 2);
    if (grown == NULL) {
        log->bad++;
        return;
    }
    log->text = grown;
    memcpy(log->text + log->len, line, len);
    log->len += len;
    log->text[log->len++] = '\n';
    log->text[log->len] = '\0';
    log->lines++;
}

static void test_audit(void)
{
    sos_router *router = NULL;
    EXPECT(sos_router_new(&router), SOS_OK);
    struct audit_log log = {NULL, 0, 0, 0};
    size_t written = 77;
    uint64_t dropped = 77;

    /* Bad arguments: refused, nothing attached. */
    EXPECT(sos_router_audit_attach(NULL, audit_append, &log, 4), SOS_ERR_NULL);
    EXPECT(sos_router_audit_attach(router, NULL, &log, 4), SOS_ERR_NULL);
    EXPECT(sos_router_audit_attach(router, audit_append, &log, 0), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "out of range") != NULL);
    EXPECT(sos_router_audit_drain(NULL, &written), SOS_ERR_NULL);
    EXPECT(sos_router_audit_dropped(router, NULL), SOS_ERR_NULL);
    CHECK(written == 77);
    EXPECT(sos_router_audit_drain(router, &written), SOS_OK);
    CHECK(written == 0 && log.lines == 0);

    /* A ring of 4: the checkpoint, a batch and two plans fill it; the third plan is dropped. */
    EXPECT(sos_router_audit_attach(router, audit_append, &log, 4), SOS_OK);
    uint32_t home_ran = 0;
    EXPECT(sos_router_component_id(router, "home_ran", 8, &home_ran), SOS_OK);
    sos_observation obs = radio(home_ran, SOS_RADIO_STATE_IN_SERVICE, 0);
    EXPECT(sos_router_observe(router, &obs, NULL), SOS_OK);
    for (uint64_t i = 0; i < 3; i++) {
        sos_call_request request = voice_request(i, 10 + i);
        sos_plan *plan = NULL;
        EXPECT(sos_router_plan(router, &request, &plan), SOS_OK);
        sos_plan_free(plan);
    }
    EXPECT(sos_router_audit_dropped(router, &dropped), SOS_OK);
    CHECK(dropped == 1);
    CHECK(log.lines == 0); /* nothing reaches the callback before a drain */
    EXPECT(sos_router_audit_drain(router, &written), SOS_OK);
    CHECK(written == 5); /* the four records and a `dropped` line */
    CHECK(log.lines == 5 && log.bad == 0);
    CHECK(log.text != NULL && strncmp(log.text, "{\"record\":\"checkpoint\"", 22) == 0);
    CHECK(log.text != NULL && strstr(log.text, "{\"record\":\"plan\"") != NULL);
    CHECK(log.text != NULL && strstr(log.text, "{\"record\":\"dropped\",\"dropped\":1") != NULL);

    /* The ring's size is fixed by the first attach. */
    EXPECT(sos_router_audit_attach(router, audit_append, &log, 8), SOS_ERR_INVALID_ARG);
    CHECK(strstr(last_error(), "holds 4 records") != NULL);

    /* Detached: no more records, no more calls. */
    EXPECT(sos_router_audit_detach(router), SOS_OK);
    sos_call_request request = voice_request(9, 100);
    sos_plan *plan = NULL;
    EXPECT(sos_router_plan(router, &request, &plan), SOS_OK);
    sos_plan_free(plan);
    EXPECT(sos_router_audit_drain(router, NULL), SOS_OK);
    CHECK(log.lines == 5);
    EXPECT(sos_router_audit_detach(router), SOS_OK);
    sos_router_free(router);
    free(log.text);
}

int main(void)
{
    test_versions();
    test_free_null();

    sos_router *router = NULL;
    EXPECT(sos_router_new(&router), SOS_OK);
    if (router == NULL) {
        fprintf(stderr, "cannot create a router\n");
        return 1;
    }
    test_null_arguments(router);
    test_bad_enums(router);
    test_struct_size(router);
    test_buffers(router);
    test_requests(router);
    test_dialled_strings(router);
    test_session_order(router);
    sos_router_free(router);

    test_policy_error_keeps_policy();
    test_error_text();
    test_wire_updates();
    test_threads();
    test_policy_safety();
    test_probation();
    test_audit();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
