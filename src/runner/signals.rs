//! Ctrl-C and SIGTERM: the two ways a user or a CI job asks evalh to stop, listened to in one place.
//!
//! Why this module exists: a stop means different things at different times of `evalh run` — while requests are sent
//! it means "send nothing more, wait for the answers already paid for" (the runner), once they are journaled it means
//! "end now, `--resume` recomputes the results" (the command) — but which signals count, and how each platform
//! delivers them, is written once, here. Listening replaces the default "terminate" action of both signals for the
//! rest of the process, so every phase after the first listener must listen too.

/// Which signal asked evalh to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM: a CI job cancelled, `kill`, a container stopped.
    Terminate,
}

impl StopSignal {
    /// `interrupted` or `terminated`, as the messages say it.
    pub fn verb(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted",
            StopSignal::Terminate => "terminated",
        }
    }
}

/// The stop signals of the process, listened to from the moment this is made.
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Start listening (inside a Tokio runtime). A signal whose handler cannot be installed is never reported.
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next stop signal.
    pub async fn next(&mut self) -> StopSignal {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                let delivered = match s {
                    Some(s) => s.recv().await.is_some(),
                    None => false,
                };
                if !delivered {
                    std::future::pending::<()>().await;
                }
            }
            tokio::select! {
                _ = recv(&mut self.interrupt) => StopSignal::Interrupt,
                _ = recv(&mut self.terminate) => StopSignal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => StopSignal::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }
}
