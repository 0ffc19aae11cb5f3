//! The state one invocation of a run shares between its controller, the providers' workers and every request task:
//! what is sent, the journal, the budget, and whether to stop.

use super::signals::StopSignal;
use crate::chat::ToolDef;
use crate::dataset::Item;
use crate::error::Error;
use crate::journal::{self, Record};
use crate::prompt::Prompter;
use crate::suite::RunSpec;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Shared by every task of a run (behind one `Arc`).
pub(super) struct RunState {
    /// The dataset.
    pub(super) items: Arc<Vec<Item>>,
    /// The compiled templates.
    pub(super) prompter: Arc<Prompter>,
    /// Tools offered with every request.
    pub(super) tools: Arc<Vec<ToolDef>>,
    /// Retries, backoff and timeouts.
    pub(super) run: RunSpec,
    /// The response cache (None = `--no-cache`).
    pub(super) cache: Option<Arc<crate::cache::Cache>>,
    /// The run directory (named in the stop message).
    pub(super) run_dir: PathBuf,
    /// The journal: request tasks append their own records (see `journal::Writer`).
    pub(super) writer: journal::Writer,
    /// The first journal write error: it stops the run and is reported.
    pub(super) write_error: Mutex<Option<Error>>,
    /// Which requests have a record (from earlier invocations, or written now): the run is incomplete without one.
    pub(super) recorded: Vec<AtomicBool>,
    /// Which requests are settled (a success, an item error, a reliability failure): what a resume need not send
    /// again, and what a batch's results must not journal twice. An unsettled failure is recorded but not settled.
    pub(super) settled: Vec<AtomicBool>,
    /// Nothing more is sent (a stop signal, the budget, a template or journal error).
    pub(super) stop: AtomicBool,
    /// A stop signal arrived.
    pub(super) interrupted: AtomicBool,
    /// Set with `stop` on a signal: wakes requests waiting for a slot or a backoff (every provider's `cancel`).
    pub(super) cancel: tokio::sync::watch::Sender<bool>,
    /// The budget that applies, USD.
    pub(super) budget: Option<f64>,
    /// micro-USD spent so far by the whole run (earlier invocations of a resumed run included).
    pub(super) spent_total: AtomicU64,
    /// Expected cost of requests sent but not finished (micro-USD): up to QUEUE_FACTOR × concurrency of them can be
    /// pending, so the budget check counts them too.
    pub(super) reserved_total: AtomicU64,
    /// The budget stopped the run.
    pub(super) budget_hit: AtomicBool,
    /// Requests sent in this invocation (not counting retries).
    pub(super) sent: AtomicU64,
    /// Batches submitted and not collected when the invocation ends (batch mode).
    pub(super) batches_waiting: AtomicU64,
    /// Requests collected batches did not settle (batch mode).
    pub(super) batch_unsettled: AtomicU64,
}

impl RunState {
    /// Whether nothing more may be sent.
    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stop sending (in-flight requests finish and are journaled).
    pub(super) fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// A stop signal: stop sending, wake every waiting request, tell the user how to resume. Requests already sent
    /// are paid for, so their answers are waited for and journaled instead of being lost and re-sent on resume.
    pub(super) fn signalled(&self, s: StopSignal) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.halt();
        let _ = self.cancel.send(true);
        eprintln!(
            "\n{}: finishing in-flight requests; resume with `evalh run --resume {}`",
            s.verb(),
            self.run_dir.display()
        );
    }

    /// Reserve the expected cost of a request against the budget; false (and the run stops) when it could exceed it.
    pub(super) fn reserve(&self, expected_micros: u64) -> bool {
        if let Some(b) = self.budget {
            let committed = self.spent_total.load(Ordering::SeqCst)
                + self.reserved_total.load(Ordering::SeqCst)
                + expected_micros;
            if committed as f64 / 1e6 > b {
                self.budget_hit.store(true, Ordering::SeqCst);
                self.halt();
                return false;
            }
        }
        self.reserved_total
            .fetch_add(expected_micros, Ordering::SeqCst);
        true
    }

    /// Append a record to the journal and mark request `slot` recorded. The first write error is kept (the run
    /// reports it) and stops sending; returns false then.
    pub(super) fn journal(&self, rec: &Record, slot: usize) -> bool {
        match self.writer.append(rec) {
            Ok(()) => {
                self.recorded[slot].store(true, Ordering::Relaxed);
                self.settled[slot].store(rec.settled(), Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.halt();
                if let Ok(mut first) = self.write_error.lock() {
                    first.get_or_insert(e);
                }
                false
            }
        }
    }
}
