//! What a router publishes for its readers, as one value: the state, the policy it is read
//! with, and what the writer works out from the two once so that no decision has to — each
//! component's and route's [`Views`], and the default preference lists ranked
//! ([`Rankings`]). The planner reads only this; a reader never sees one part without the others.

use std::sync::Arc;

use crate::planner::Rankings;
use crate::policy::{ComponentSet, Policy};
use crate::route::RouteSet;
use crate::state::{Snapshot, Views};

/// The state and the policy it is read with, and what is derived from them.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) snapshot: Snapshot,
    pub(crate) policy: Arc<Policy>,
    /// What a decision asks of each component and route, computed by the writer for what a
    /// batch changed, so readers do not walk fact slots on every decision.
    pub(crate) views: Views,
    /// The latest time of any update applied.
    pub(crate) clock_ms: u64,
    /// The default preference lists ranked around `clock_ms`, so readers do not rank them; `None`
    /// for a state planned on once (a replayed decision, probation's counterfactual).
    pub(crate) rankings: Option<Rankings>,
}

impl Published {
    /// A router's published state: views and rankings made at `clock_ms`.
    pub(crate) fn new(snapshot: Snapshot, policy: Arc<Policy>, clock_ms: u64) -> Published {
        let views = Views::new(&snapshot, &policy);
        let rankings = Some(Rankings::new(&policy, &views, clock_ms));
        Published {
            snapshot,
            policy,
            views,
            clock_ms,
            rankings,
        }
    }

    /// A state to plan on once: views, no rankings (each plan ranks its routes itself).
    pub(crate) fn unranked(snapshot: Snapshot, policy: Arc<Policy>) -> Published {
        let views = Views::new(&snapshot, &policy);
        Published {
            snapshot,
            policy,
            views,
            clock_ms: 0,
            rankings: None,
        }
    }

    /// Makes this recycled buffer a copy of `current` to build the next state in, copying only
    /// what the policy uses when both are under the same policy. The rankings are left to
    /// [`Published::refresh`].
    pub(crate) fn copy_from(&mut self, current: &Published) {
        if Arc::ptr_eq(&self.policy, &current.policy) {
            self.snapshot
                .clone_used_from(&current.snapshot, &current.policy);
            self.views.copy_from(&current.views, &current.policy);
        } else {
            self.snapshot.clone_from(&current.snapshot);
            self.policy = Arc::clone(&current.policy);
            self.views.clone_from(&current.views);
        }
        self.clock_ms = current.clock_ms;
    }

    /// Brings the views of the `components` and `routes` a change touched, and the rankings, up
    /// to date with the snapshot.
    pub(crate) fn refresh(&mut self, components: ComponentSet, routes: RouteSet) {
        self.views
            .refresh(&self.snapshot, &self.policy, components, routes);
        if let Some(rankings) = &mut self.rankings {
            rankings.refresh(&self.policy, &self.views, self.clock_ms);
        }
        debug_assert!(
            self.views == Views::new(&self.snapshot, &self.policy),
            "the views of every changed component and route were refreshed"
        );
        debug_assert!(
            self.rankings
                .as_ref()
                .is_none_or(|r| *r == Rankings::new(&self.policy, &self.views, self.clock_ms)),
            "the rankings are those of the views"
        );
    }
}
