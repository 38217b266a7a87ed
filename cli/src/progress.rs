//! The progress display of a build: on a terminal, once compiling has taken longer than
//! [`SHOW_AFTER`], a bar of the functions compiled so far, then a spinner while the system
//! linker runs. Nothing at all when stderr is not a terminal, or for builds quicker than that,
//! so scripts and logs see exactly what they saw before.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Builds quicker than this show nothing.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often the display is redrawn.
const TICK: Duration = Duration::from_millis(100);

struct Shared {
    compile: wasic_compiler::Progress,
    linking: AtomicBool,
    /// Set (and signalled) when the build is over, so the display thread stops at once.
    finished: Mutex<bool>,
    wake: Condvar,
}

/// Owns the display thread for one build; dropping it clears the display.
pub struct Reporter {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    /// Starts reporting on a build of `what` (shown before the bar).
    pub fn start(what: String) -> Reporter {
        let shared = Arc::new(Shared {
            compile: Default::default(),
            linking: AtomicBool::new(false),
            finished: Mutex::new(false),
            wake: Condvar::new(),
        });
        let thread = std::io::stderr().is_terminal().then(|| {
            let shared = shared.clone();
            std::thread::spawn(move || display(&shared, &what))
        });
        Reporter { shared, thread }
    }

    /// What the compiler counts its jobs in.
    pub fn compile(&self) -> &wasic_compiler::Progress {
        &self.shared.compile
    }

    /// Ends the display and prints the compiler's warnings, each on one line of stderr.
    pub fn finish(self, input: &std::path::Path) {
        let warnings = self.shared.compile.warnings();
        drop(self);
        for w in warnings {
            eprintln!("warning: {}: {w}", input.display());
        }
    }

    /// The compilation is over; the linker runs.
    pub fn linking(&self) {
        self.shared.linking.store(true, Ordering::Relaxed);
        // Shown at once: a link can be over before the next tick.
        let _guard = self
            .shared
            .finished
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.shared.wake.notify_all();
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        *self
            .shared
            .finished
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits up to `timeout` for the end of the build, or for linking to start when it is not
/// shown yet (`linking_shown`); whether the build ended.
fn wait(shared: &Shared, timeout: Duration, linking_shown: bool) -> bool {
    let finished = shared.finished.lock().unwrap_or_else(|p| p.into_inner());
    let (finished, _) = shared
        .wake
        .wait_timeout_while(finished, timeout, |f| {
            !*f && (linking_shown || !shared.linking.load(Ordering::Relaxed))
        })
        .unwrap_or_else(|p| p.into_inner());
    *finished
}

fn display(shared: &Shared, what: &str) {
    let start = Instant::now();
    // Nothing for builds shorter than SHOW_AFTER, linking or not.
    if wait(shared, SHOW_AFTER, true) {
        return;
    }
    let bar = ProgressBar::new(shared.compile.total() as u64);
    let compiling = ProgressStyle::with_template(
        "{prefix} [{elapsed}] [{bar:30}] {pos}/{len} functions compiled",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let linking = ProgressStyle::with_template("{prefix} [{elapsed}] {spinner} linking")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(compiling);
    bar.set_prefix(what.to_string());
    bar.set_elapsed(start.elapsed());
    let mut is_linking = false;
    loop {
        if !is_linking && shared.linking.load(Ordering::Relaxed) {
            is_linking = true;
            bar.set_style(linking.clone());
        }
        if is_linking {
            bar.tick();
        } else {
            bar.set_length(shared.compile.total() as u64);
            bar.set_position(shared.compile.done() as u64);
        }
        if wait(shared, TICK, is_linking) {
            break;
        }
    }
    bar.finish_and_clear();
}
