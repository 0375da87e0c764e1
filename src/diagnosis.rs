//! The vocabulary of `check`'s report: a [`Chain`] of [`Step`]s towards one target. A
//! leaf module, so that the modules that know how to test a hop (source, destination) and
//! the one that runs and prints the chains (check) do not depend on each other.

use std::time::Instant;

use serde::Serialize;

/// One step of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    pub ok: bool,
    /// What was seen: addresses, timings, algorithms, fingerprints, columns.
    pub detail: String,
    /// On failure: the likely cause and the next action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub elapsed_ms: u64,
}

impl Step {
    pub fn pass(step: &str, detail: impl Into<String>, started: Instant) -> Step {
        Step { step: step.into(), ok: true, detail: detail.into(), hint: None, elapsed_ms: elapsed(started) }
    }

    pub fn fail(step: &str, detail: impl Into<String>, hint: impl Into<String>, started: Instant) -> Step {
        Step {
            step: step.into(),
            ok: false,
            detail: detail.into(),
            hint: Some(hint.into()),
            elapsed_ms: elapsed(started),
        }
    }
}

/// Milliseconds since `started`.
pub fn elapsed(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// The steps towards one target; the first failure ends the chain.
#[derive(Debug, Serialize)]
pub struct Chain {
    pub name: String,
    pub target: String,
    pub steps: Vec<Step>,
}

impl Chain {
    pub fn new(name: String, target: String) -> Chain {
        Chain { name, target, steps: Vec::new() }
    }

    /// Records `step`; returns whether the chain may go on.
    pub fn record(&mut self, step: Step) -> bool {
        let ok = step.ok;
        self.steps.push(step);
        ok
    }

    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }
}
