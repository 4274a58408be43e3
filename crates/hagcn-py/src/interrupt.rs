//! Ctrl-C while the GIL is released.
//!
//! Python's C-level SIGINT handler only sets a flag; the `KeyboardInterrupt` is raised when
//! a thread holding the GIL runs `PyErr_CheckSignals`. Long computations run with the GIL
//! released (`Python::detach`), so between their steps (a training step, a 4096-row encode
//! block, a database block of a search, a block of queries of an evaluation) they call
//! [`Interrupts::check`], which takes the GIL back for a moment, at most every
//! [`Interrupts::PERIOD`], and returns the exception a signal handler raised.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Polls Python's signal handlers from code that runs without the GIL.
pub struct Interrupts {
    last: Instant,
}

impl Interrupts {
    /// The longest time between two polls (a step longer than this is polled after it).
    pub const PERIOD: Duration = Duration::from_millis(50);

    /// A poller whose first check polls at once (on any clock a process can have).
    pub fn new() -> Self {
        let now = Instant::now();
        Interrupts { last: now.checked_sub(Self::PERIOD).unwrap_or(now) }
    }

    /// Runs Python's signal handlers if [`Interrupts::PERIOD`] has passed since the last
    /// poll; their exception (`KeyboardInterrupt` on Ctrl-C) is the error.
    pub fn check(&mut self) -> PyResult<()> {
        if self.last.elapsed() < Self::PERIOD {
            return Ok(());
        }
        self.last = Instant::now();
        Python::attach(|py| py.check_signals())
    }
}
