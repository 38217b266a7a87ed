//! The "Garbage collection (issue #14)" section of BENCHMARKS.md: WebAssembly GC programs
//! (`benches/programs/gc_binary_trees.wat`, the hand-written binary trees, and
//! `tests/programs/gc_toolchain/kotlin_trees.wasm`, a Kotlin/Wasm WASI program that also uses
//! exceptions) as a `wasic build --target-cpu native` executable and on the wasmtime CLI
//! (precompiled `.cwasm`, GC, function references and exceptions enabled), timed run by run
//! interleaved, with each run's peak RSS from `wait4` and every run's stdout compared.

use super::{label, ms, Opts, STARTED};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wasic_benches::{bench_dir, loadavg, median, run_checked, Bench, Engine, Runner, Unavailable};

/// The proposals wasmtime needs for these modules. `wasmtime compile` and `wasmtime run` must
/// be given the same ones: wasmtime refuses a `.cwasm` compiled for another configuration.
const WASMTIME_FEATURES: &str = "gc=y,function-references=y,exceptions=y";

/// What `wasic build` gets: the host CPU like wasmtime's `.cwasm` (and `wasic run`), so that
/// the comparison is between the compilers and runtimes, not between target CPUs.
const WASIC_FLAGS: &[&str] = &["--target-cpu", "native"];

/// One row of the table: a module and its arguments.
struct GcProgram {
    /// The row heading.
    what: String,
    /// The module, `.wat` or `.wasm` (both engines take either).
    module: PathBuf,
    /// Names its artifacts in `target/bench-work/gc/`.
    name: &'static str,
    args: Vec<String>,
    runs: usize,
}

/// The rows of this run. Binary trees at depth 21 takes 20–60 s a run per engine, so it gets
/// at most 3 runs, and `--quick` drops it and times everything once.
fn gc_programs(o: &Opts) -> Vec<GcProgram> {
    let runs = if o.quick { 1 } else { o.runs.max(1) };
    let trees = bench_dir().join("programs/gc_binary_trees.wat");
    let mut depths = vec![(18, runs)];
    if !o.quick {
        depths.push((21, runs.min(3)));
    }
    let mut v: Vec<GcProgram> = depths
        .into_iter()
        .map(|(depth, runs)| GcProgram {
            what: format!("binary trees (`gc_binary_trees.wat {depth}`)"),
            module: trees.clone(),
            name: "gc_binary_trees",
            args: vec![depth.to_string()],
            runs,
        })
        .collect();
    v.push(GcProgram {
        what: "Kotlin/Wasm trees (`kotlin_trees.wasm`)".into(),
        module: bench_dir().join("../tests/programs/gc_toolchain/kotlin_trees.wasm"),
        name: "kotlin_trees",
        args: Vec::new(),
        runs,
    });
    v
}

/// The column engines, in the order of the interleaving's first round.
fn engines() -> [Engine; 2] {
    [Engine::wasic(true), Engine::Wasmtime]
}

/// `wasmtime compile -W FEATURES module -o out`. Not `Bench::cwasm`, which compiles without
/// the GC and exceptions proposals; not cached, since it takes well under a second here.
fn wasmtime_cwasm(bench: &Bench, module: &Path, out: &Path) -> Result<(), Unavailable> {
    let wt = bench.tools.wasmtime.get()?;
    run_checked(
        Command::new(wt)
            .args(["compile", "-W", WASMTIME_FEATURES])
            .arg(module)
            .arg("-o")
            .arg(out),
    )?;
    Ok(())
}

/// Builds `p` for `e`: the command line that runs it once.
fn prepare(bench: &Bench, e: &Engine, p: &GcProgram) -> Result<Runner, Unavailable> {
    if !p.module.is_file() {
        return Err(Unavailable::Failed(format!(
            "{} does not exist",
            p.module.display()
        )));
    }
    let dir = bench.work.join("gc").join(e.key());
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let args = p.args.iter().map(OsString::from);
    match e {
        Engine::Wasmtime => {
            let cwasm = dir.join(format!("{}.cwasm", p.name));
            wasmtime_cwasm(bench, &p.module, &cwasm)?;
            let mut r = Runner::new(bench.tools.wasmtime.get()?.to_path_buf());
            r.args = ["run", "--allow-precompiled", "-W", WASMTIME_FEATURES]
                .into_iter()
                .map(OsString::from)
                .chain([cwasm.into()])
                .chain(args)
                .collect();
            Ok(r)
        }
        _ => {
            let exe = dir.join(p.name);
            let flags: Vec<String> = WASIC_FLAGS.iter().map(|f| f.to_string()).collect();
            bench.wasic_build(&flags, &p.module, &exe)?;
            let mut r = Runner::new(exe);
            r.args = args.collect();
            Ok(r)
        }
    }
}

/// One program on one engine.
enum GcCell {
    /// Medians of wall time, user+system CPU time and peak RSS (bytes).
    Measured {
        wall: Duration,
        cpu: Duration,
        rss: u64,
    },
    Missing(Unavailable),
    /// Printed something other than the reference output (what it printed).
    Wrong(String),
}

impl GcCell {
    fn wall(&self) -> Option<Duration> {
        match self {
            GcCell::Measured { wall, .. } => Some(*wall),
            _ => None,
        }
    }

    /// Why there is no measurement, for a table cell (the details go under the table).
    fn why(&self) -> String {
        match self {
            GcCell::Measured { .. } => String::new(),
            GcCell::Missing(Unavailable::NotInstalled(t)) => format!("{t} not installed"),
            GcCell::Missing(Unavailable::Failed(_)) => "**failed**".into(),
            GcCell::Wrong(_) => "**wrong output**".into(),
        }
    }
}

/// One row's measurements.
struct GcRow {
    what: String,
    runs: usize,
    /// Per engine of [`engines`].
    cells: Vec<GcCell>,
    /// The last line of the reference output, or why there is none.
    output: String,
}

/// The last non-empty line of an output, for the table.
fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Times `p` on both engines, interleaved. Every run's stdout is captured (a few hundred
/// bytes, no cost beside seconds of run time) and compared: each engine must print the same
/// in every run, and wasic must print what wasmtime prints, the established engine being the
/// reference. Without wasmtime, wasic's output is only checked against itself.
fn run_row(bench: &Bench, p: &GcProgram) -> GcRow {
    let engines = engines();
    let runners: Vec<Result<Runner, Unavailable>> =
        engines.iter().map(|e| prepare(bench, e, p)).collect();
    let mut cells: Vec<GcCell> = runners
        .iter()
        .map(|r| match r {
            Ok(_) => GcCell::Measured {
                wall: Duration::ZERO,
                cpu: Duration::ZERO,
                rss: 0,
            },
            Err(u) => GcCell::Missing(u.clone()),
        })
        .collect();
    for (e, r) in engines.iter().zip(&runners) {
        if let Err(Unavailable::Failed(m)) = r {
            eprintln!("error: building {} for {}: {m}", p.name, e.key());
        }
    }
    let mut firsts: Vec<Option<Vec<u8>>> = vec![None; engines.len()];
    let (mut walls, mut cpus, mut rss) = (
        vec![Vec::new(); engines.len()],
        vec![Vec::new(); engines.len()],
        vec![Vec::new(); engines.len()],
    );
    let live: Vec<usize> = (0..engines.len()).filter(|i| runners[*i].is_ok()).collect();
    // Starting one engine later each round, as in the run-time tables, so that an order
    // effect (a warm page cache, the other engine's freed memory) hits both alike.
    for round in 0..p.runs {
        for k in 0..live.len() {
            let i = live[(round + k) % live.len()];
            if !matches!(cells[i], GcCell::Measured { .. }) {
                continue;
            }
            let r = runners[i].as_ref().unwrap();
            let out = wasic_benches::run_process(
                Command::new(&r.exe).args(&r.args).stdout(Stdio::piped()),
            );
            match out {
                Ok(run) => {
                    match &firsts[i] {
                        None => firsts[i] = Some(run.stdout.clone()),
                        Some(f) if *f != run.stdout => {
                            eprintln!(
                                "error: {} on {} printed different output in run {}",
                                p.name,
                                engines[i].key(),
                                round + 1
                            );
                            cells[i] = GcCell::Wrong(format!(
                                "run {} ended with `{}`, run 1 with `{}`",
                                round + 1,
                                last_line(&run.stdout),
                                last_line(f)
                            ));
                            continue;
                        }
                        Some(_) => {}
                    }
                    walls[i].push(run.wall);
                    cpus[i].push(run.cpu);
                    rss[i].push(run.max_rss);
                }
                Err(e) => {
                    eprintln!("error: {} on {}: {e:#}", p.name, engines[i].key());
                    cells[i] = GcCell::Missing(Unavailable::Failed(format!("{e:#}")));
                }
            }
        }
    }
    let reference = 1; // wasmtime
    if let (Some(want), Some(got)) = (&firsts[reference], &firsts[0]) {
        if want != got && matches!(cells[0], GcCell::Measured { .. }) {
            eprintln!(
                "error: {} on {} printed {:?}, wasmtime {:?}",
                p.name,
                engines[0].key(),
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want)
            );
            cells[0] = GcCell::Wrong(format!(
                "`{}` where wasmtime printed `{}`",
                String::from_utf8_lossy(got).trim().replace('\n', " / "),
                String::from_utf8_lossy(want).trim().replace('\n', " / ")
            ));
        }
    }
    let mut line = format!("   {} {}", p.name, p.args.join(" "));
    for (i, c) in cells.iter_mut().enumerate() {
        if let GcCell::Measured { .. } = c {
            rss[i].sort();
            *c = GcCell::Measured {
                wall: median(&mut walls[i]),
                cpu: median(&mut cpus[i]),
                rss: rss[i][rss[i].len() / 2],
            };
            write!(
                line,
                " {}={:.0} ms",
                engines[i].key(),
                ms(c.wall().unwrap())
            )
            .unwrap();
        }
    }
    eprintln!("{line}");
    let output = match (&firsts[reference], &firsts[0]) {
        (Some(o), _) => format!("`{}`", last_line(o)),
        (None, Some(o)) => format!("`{}` (not compared: no wasmtime output)", last_line(o)),
        (None, None) => "—".into(),
    };
    GcRow {
        what: p.what.clone(),
        runs: p.runs,
        cells,
        output,
    }
}

/// A duration for the table: seconds from one second up, else milliseconds.
fn fmt_time(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", ms(d))
    }
}

/// The whole section body (without its heading): one sentence on what is measured, the table,
/// the load average and any failure with its message.
pub fn gc_section(bench: &Bench, o: &Opts) -> String {
    let programs = gc_programs(o);
    progress!(
        "garbage collection ({} programs, {} runs at most)",
        programs.len(),
        programs.iter().map(|p| p.runs).max().unwrap_or(0)
    );
    let load_before = loadavg();
    let rows: Vec<GcRow> = programs.iter().map(|p| run_row(bench, p)).collect();
    let load_after = loadavg();
    let engines = engines();
    let mut s = String::new();
    writeln!(
        s,
        "WebAssembly GC programs: `benches/programs/gc_binary_trees.wat` (binary trees of GC structs plus a short-lived GC array per iteration; the argument is the maximum depth) and `tests/programs/gc_toolchain/kotlin_trees.wasm` (Kotlin/Wasm 2.4.20, GC and exceptions; see the README there), as a `wasic build {}` executable and on `wasmtime run --allow-precompiled -W {WASMTIME_FEATURES}` of a `.cwasm` from `wasmtime compile -W {WASMTIME_FEATURES}` (its default collector); each cell is the median over the row's interleaved runs of the wall time from spawn to exit (user+system CPU time in parentheses) and of the peak RSS (`wait4`'s `ru_maxrss`), and every run's stdout was compared (wasic's against wasmtime's).\n",
        WASIC_FLAGS.join(" ")
    )
    .unwrap();
    write!(s, "| program | runs |").unwrap();
    for e in &engines {
        write!(s, " {} |", label(e, &bench.tools)).unwrap();
    }
    s.push_str(" wasic / wasmtime (wall) |");
    for e in &engines {
        write!(s, " {} peak RSS |", super::short(e, &bench.tools)).unwrap();
    }
    s.push_str(" output (last line) |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for r in &rows {
        write!(s, "| {} | {} |", r.what, r.runs).unwrap();
        for c in &r.cells {
            match c {
                GcCell::Measured { wall, cpu, .. } => {
                    write!(s, " {} ({}) |", fmt_time(*wall), fmt_time(*cpu)).unwrap()
                }
                _ => write!(s, " {} |", c.why()).unwrap(),
            }
        }
        match (r.cells[0].wall(), r.cells[1].wall()) {
            (Some(a), Some(b)) => write!(s, " {:.2} |", super::ratio(a, b)).unwrap(),
            _ => {
                let why = r.cells.iter().map(GcCell::why).find(|w| !w.is_empty());
                write!(s, " {} |", why.unwrap_or_default()).unwrap()
            }
        }
        for c in &r.cells {
            match c {
                GcCell::Measured { rss, .. } => {
                    write!(s, " {:.1} MB |", *rss as f64 / 1e6).unwrap()
                }
                _ => write!(s, " {} |", c.why()).unwrap(),
            }
        }
        writeln!(s, " {} |", r.output).unwrap();
    }
    writeln!(
        s,
        "\nLoad average (1, 5, 15 min) before timing: {load_before}; after: {load_after}.\n"
    )
    .unwrap();
    let failures: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.cells
                .iter()
                .zip(&engines)
                .filter_map(move |(c, e)| match c {
                    GcCell::Missing(Unavailable::Failed(m)) => Some(format!(
                        "- {} on {}: {}",
                        r.what,
                        e.key(),
                        m.lines().next().unwrap_or("")
                    )),
                    GcCell::Wrong(m) => Some(format!("- {} on {} printed {m}", r.what, e.key())),
                    _ => None,
                })
        })
        .collect();
    if !failures.is_empty() {
        writeln!(s, "Failures:\n\n{}\n", failures.join("\n")).unwrap();
    }
    s
}
