//! Plans one 911 call during an "SOS only" outage of the home network and prints the plan's
//! explanation and its audit record.
//!
//! Run with `cargo run --example explain`.

use sosroute::{
    CallRequest, Capabilities, Fact, Media, Observation, Policy, PsapId, RadioState, Router,
    ServiceState, SignalLevel,
};

fn main() {
    let router = Router::new(Policy::us_default());
    let id = |name: &str| {
        router
            .component_id(name)
            .expect("the default policy declares it")
    };
    let radio = |state| Fact::Radio {
        state,
        signal: SignalLevel(3),
    };
    router
        .update(&[
            Observation::component(id("home_ran"), radio(RadioState::LimitedService), 1_000),
            Observation::component(
                id("home_core"),
                Fact::Service {
                    state: ServiceState::Up,
                },
                1_000,
            ),
            Observation::component(id("other_ran"), radio(RadioState::InService), 1_000),
            Observation::component(id("wifi"), Fact::Link { connected: true }, 1_000),
            Observation::psap(PsapId(4021), Fact::PsapTextReady { ready: true }, 1_000),
        ])
        .expect("valid observations");

    let caller = Capabilities::WIFI_CALLING.union(Capabilities::SMS);
    let request = CallRequest::new(1, "911", Media::Voice, caller, 2_000)
        .expect("911 is an emergency number")
        .with_psap(PsapId(4021));
    let plan = router.plan(&request);
    println!("{}\n", plan.explain());
    println!(
        "{}",
        serde_json::to_string(&plan.record()).expect("records serialize")
    );
}
