//! The router recycles its publication buffers and copies only the used part of the state into
//! them (`Snapshot::clone_used_from`). Nothing a rejected batch wrote may survive that copy.

use sosroute::{
    ComponentId, Fact, Observation, Policy, PsapId, PsapState, RadioState, Router, SignalLevel,
};

#[test]
fn a_rejected_batch_leaves_nothing_in_recycled_buffers() {
    let router = Router::new(Policy::us_default());
    let home_ran = router.component_id("home_ran").unwrap();
    let radio = |at| {
        Observation::component(
            home_ran,
            Fact::Radio {
                state: RadioState::InService,
                signal: SignalLevel(3),
            },
            at,
        )
    };
    // Either buffer may be the one the rejected batch wrote into when the PSAP is next added.
    for (round, extra_updates) in (0..12u64).zip([0, 1, 2].into_iter().cycle()) {
        let psap = PsapId(1_000 + round as u32);
        // Adds the PSAP with a fact, then fails: the whole batch must be as if never sent.
        let rejected = router.update(&[
            Observation::psap(psap, Fact::PsapTextReady { ready: true }, round),
            Observation::component(ComponentId(99), Fact::Outage { active: true }, round),
        ]);
        assert!(rejected.is_err());
        assert!(router.snapshot().psap(psap).is_none());
        for _ in 0..extra_updates {
            router.observe(radio(round)).unwrap();
        }
        router
            .observe(Observation::psap(
                psap,
                Fact::Psap {
                    state: PsapState::Normal,
                },
                round,
            ))
            .unwrap();
        let snapshot = router.snapshot();
        let facts = snapshot.psap(psap).expect("the PSAP was just observed");
        assert_eq!(
            facts.text_ready, None,
            "round {round}: the rejected batch's text-readiness survived"
        );
        assert_eq!(facts.state, Some((PsapState::Normal, round)));
    }
}
