//! Regenerates BENCHMARKS.md: checks that every engine prints the same checksum for every
//! program, times every program on every engine (median of interleaved runs), measures compile
//! throughput (wasic vs wasmtime) and start-up (process start to exit of a hello world), and
//! writes the tables, the machine description and `analysis.md` to `../BENCHMARKS.md`.
//!
//! Usage (from benches/, or through `bash benches/run.sh`):
//!   cargo run --release --bin report -- [--runs N] [--wasmi-runs N] [--quick]
//!       [--engines native,wasic,...] [--programs fib,sieve,...] [--out PATH] [--wasic PATH]

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use wasic_benches::{artifact, median, time_run, Engine, Output, PROGRAMS};

struct Opts {
    runs: usize,
    wasmi_runs: usize,
    startup_runs: usize,
    compile_runs: usize,
    engines: Vec<Engine>,
    programs: Vec<String>,
    out: PathBuf,
    wasic: Option<PathBuf>,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts {
        runs: 9,
        wasmi_runs: 3,
        startup_runs: 300,
        compile_runs: 5,
        engines: Engine::ALL.to_vec(),
        programs: PROGRAMS.iter().map(|s| s.to_string()).collect(),
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md"),
        wasic: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().context("missing value");
        match a.as_str() {
            "--runs" => o.runs = val()?.parse()?,
            "--wasmi-runs" => o.wasmi_runs = val()?.parse()?,
            "--quick" => {
                o.runs = 3;
                o.wasmi_runs = 1;
                o.startup_runs = 50;
                o.compile_runs = 2;
            }
            "--engines" => {
                o.engines = val()?
                    .split(',')
                    .map(|s| Engine::from_name(s).with_context(|| format!("unknown engine {s}")))
                    .collect::<Result<_>>()?
            }
            "--programs" => o.programs = val()?.split(',').map(String::from).collect(),
            "--out" => o.out = val()?.into(),
            "--wasic" => o.wasic = Some(val()?.into()),
            _ => bail!("unknown argument {a}; see the comment at the top of src/bin/report.rs"),
        }
    }
    Ok(o)
}

fn cmd_line(prog: &str, args: &[&str]) -> String {
    Command::new(prog)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| format!("({prog} not found)"))
}

fn machine() -> String {
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
    let level = if has("avx2") && has("bmi2") && has("fma") {
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
    let mut s = String::new();
    writeln!(s, "| | |\n|---|---|").unwrap();
    writeln!(
        s,
        "| CPU | {model} ({level} features), {cores} cores available, {mem} RAM |"
    )
    .unwrap();
    writeln!(s, "| kernel | {} |", cmd_line("uname", &["-sr"])).unwrap();
    writeln!(s, "| rustc | {} |", cmd_line("rustc", &["--version"])).unwrap();
    writeln!(
        s,
        "| clang (wasm32-wasi) | {} |",
        cmd_line("clang", &["--version"])
    )
    .unwrap();
    writeln!(s, "| cc (native) | {} |", cmd_line("cc", &["--version"])).unwrap();
    writeln!(
        s,
        "| wasic | git {} (working tree) |",
        cmd_line("git", &["rev-parse", "--short", "HEAD"])
    )
    .unwrap();
    writeln!(s, "| wasmtime / wasmi | wasmtime crate 48.0.8 (Cranelift 0.135.8, the same Cranelift as wasic), wasmi crate 2.0.0 |").unwrap();
    writeln!(
        s,
        "| date | {} |",
        cmd_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    )
    .unwrap();
    writeln!(s, "| load average before the run | {} |", loadavg()).unwrap();
    s
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

/// Per program: the checksum line, and per engine the median time.
struct Row {
    program: String,
    checksum: String,
    times: Vec<Option<Duration>>,
}

fn run_programs(o: &Opts) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for p in &o.programs {
        eprintln!("== {p}");
        let mut runners = Vec::new();
        let mut checksum: Option<(Engine, Vec<u8>)> = None;
        for &e in &o.engines {
            let mut r = e
                .prepare(p)
                .with_context(|| format!("{p} on {}", e.name()))?;
            // The capture run doubles as a warm-up.
            let out = r
                .run(Output::Capture)
                .with_context(|| format!("{p} on {}", e.name()))?;
            match &checksum {
                None => checksum = Some((e, out)),
                Some((e0, c0)) if *c0 != out => bail!(
                    "checksum mismatch for {p}: {} printed {:?}, {} printed {:?}",
                    e0.name(),
                    String::from_utf8_lossy(c0),
                    e.name(),
                    String::from_utf8_lossy(&out)
                ),
                _ => {}
            }
            runners.push((e, r, Vec::new()));
        }
        // Interleave engines run by run, so load from other processes hits all of them alike.
        for i in 0..o.runs {
            for (e, r, times) in runners.iter_mut() {
                if *e == Engine::Wasmi && i >= o.wasmi_runs {
                    continue;
                }
                times.push(time_run(r.as_mut())?);
            }
        }
        let times = runners
            .iter_mut()
            .map(|(e, _, t)| {
                let m = median(t);
                eprintln!("   {:9} {:9.1} ms  (n={})", e.name(), ms(m), t.len());
                Some(m)
            })
            .collect();
        rows.push(Row {
            program: p.clone(),
            checksum: String::from_utf8_lossy(&checksum.unwrap().1)
                .trim()
                .to_string(),
            times,
        });
    }
    Ok(rows)
}

fn programs_table(o: &Opts, rows: &[Row]) -> String {
    let mut s = String::new();
    let native = o.engines.iter().position(|e| *e == Engine::Native);
    write!(s, "| program |").unwrap();
    for e in &o.engines {
        write!(s, " {} ms |", e.name()).unwrap();
        if native.is_some() && *e != Engine::Native {
            write!(s, " {} / native |", e.name()).unwrap();
        }
    }
    writeln!(s, " checksum |").unwrap();
    write!(s, "|---|").unwrap();
    for e in &o.engines {
        write!(s, "---:|").unwrap();
        if native.is_some() && *e != Engine::Native {
            write!(s, "---:|").unwrap();
        }
    }
    writeln!(s, "---|").unwrap();
    for r in rows {
        write!(s, "| {} |", r.program).unwrap();
        for (i, e) in o.engines.iter().enumerate() {
            let t = r.times[i].unwrap();
            write!(s, " {:.1} |", ms(t)).unwrap();
            if let (Some(n), true) = (native, *e != Engine::Native) {
                let base = r.times[n].unwrap();
                write!(s, " {:.2} |", t.as_secs_f64() / base.as_secs_f64()).unwrap();
            }
        }
        writeln!(s, " `{}` |", r.checksum).unwrap();
    }
    write!(s, "| **geometric mean** |").unwrap();
    for (i, e) in o.engines.iter().enumerate() {
        let g = geomean(
            &rows
                .iter()
                .map(|r| ms(r.times[i].unwrap()))
                .collect::<Vec<_>>(),
        );
        write!(s, " **{g:.1}** |").unwrap();
        if let (Some(n), true) = (native, *e != Engine::Native) {
            let ratios: Vec<f64> = rows
                .iter()
                .map(|r| r.times[i].unwrap().as_secs_f64() / r.times[n].unwrap().as_secs_f64())
                .collect();
            write!(s, " **{:.2}** |", geomean(&ratios)).unwrap();
        }
    }
    writeln!(s, " |").unwrap();
    s
}

fn engine_ratios(o: &Opts, rows: &[Row]) -> String {
    let idx = |e: Engine| o.engines.iter().position(|x| *x == e);
    let mut s = String::new();
    let ratio = |a: usize, b: usize| {
        geomean(
            &rows
                .iter()
                .map(|r| r.times[a].unwrap().as_secs_f64() / r.times[b].unwrap().as_secs_f64())
                .collect::<Vec<_>>(),
        )
    };
    if let (Some(w), Some(t)) = (idx(Engine::Wasic), idx(Engine::Wasmtime)) {
        writeln!(
            s,
            "- wasic / wasmtime time, geometric mean: **{:.2}** (below 1: wasic faster)",
            ratio(w, t)
        )
        .unwrap();
    }
    if let (Some(w), Some(i)) = (idx(Engine::Wasic), idx(Engine::Wasmi)) {
        writeln!(s, "- wasmi / wasic time, geometric mean: **{:.1}x** (how much faster wasic is than the interpreter)", ratio(i, w)).unwrap();
    }
    s
}

fn compile_throughput(o: &Opts) -> Result<String> {
    let mut s = String::from(
        "| module | size | wasic compile → object | wasic compile + load | wasmtime precompile → .cwasm bytes | wasmtime Module::new |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let engine = wasic_benches::wasmtime_engine()?;
    for (name, what) in [
        ("synth", "generated, 6000 functions"),
        ("all", "all benchmark programs linked together"),
    ] {
        let wasm = std::fs::read(artifact(&format!("{name}.wasm")))?;
        eprintln!("== compile {name}.wasm ({} bytes)", wasm.len());
        let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..o.compile_runs {
            let a = Instant::now();
            let obj = wasic_compiler::compile(&wasm, &wasic_benches::wasic_options())?;
            t[0].push(a.elapsed());
            // SAFETY: `obj` was just produced by `wasic_compiler::compile`.
            let m = unsafe { wasic_runtime::Module::from_object(&obj) }?;
            t[1].push(a.elapsed());
            drop(m);
            let a = Instant::now();
            let bytes = wasic_benches::wt(engine.precompile_module(&wasm))?;
            t[2].push(a.elapsed());
            drop(bytes);
            let a = Instant::now();
            let m = wasic_benches::wt(wasmtime::Module::new(&engine, &wasm))?;
            t[3].push(a.elapsed());
            drop(m);
        }
        let mb = wasm.len() as f64 / 1e6;
        write!(
            s,
            "| `{name}.wasm` ({what}) | {:.0} KB |",
            wasm.len() as f64 / 1e3
        )
        .unwrap();
        for v in t.iter_mut() {
            let m = median(v);
            write!(
                s,
                " {:.0} ms = **{:.2} MB/s** |",
                ms(m),
                mb / m.as_secs_f64()
            )
            .unwrap();
            eprintln!("   {:.0} ms", ms(m));
        }
        writeln!(s).unwrap();
    }
    Ok(s)
}

/// Median wall time from spawn to exit of `cmd` over `n` runs (stdout to /dev/null).
fn time_process(n: usize, prog: &std::path::Path, args: &[&str]) -> Result<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n + 5 {
        let t = Instant::now();
        let st = Command::new(prog)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {}", prog.display()))?;
        v.push(t.elapsed());
        if !st.success() {
            bail!("{} {args:?} failed: {st}", prog.display());
        }
    }
    Ok(median(&mut v[5..]))
}

fn startup(o: &Opts) -> Result<String> {
    let mut s = String::from("| what | median, process start to exit |\n|---|---:|\n");
    let tmp = std::env::temp_dir().join(format!("wasic-bench-startup-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let hello_wasm = artifact("hello.wasm");
    let native = time_process(o.startup_runs, &artifact("hello.native"), &[])?;
    writeln!(
        s,
        "| native hello (`cc -O2`, dynamically linked) | {:.3} ms |",
        ms(native)
    )
    .unwrap();

    let wasic = o.wasic.clone().or_else(|| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/wasic");
        p.exists().then_some(p)
    });
    match wasic {
        Some(w) => {
            for (flag, label) in [
                (None, "dynamically linked"),
                (Some("--static"), "`--static`"),
            ] {
                let exe = tmp.join(format!("hello-wasic-{}", flag.is_some()));
                let mut c = Command::new(&w);
                c.arg("build").arg(&hello_wasm).arg("-o").arg(&exe);
                c.args(flag);
                let st = c
                    .status()
                    .with_context(|| format!("running {}", w.display()))?;
                if !st.success() {
                    writeln!(s, "| `wasic build` {label} | build failed: {st} |").unwrap();
                    continue;
                }
                let t = time_process(o.startup_runs, &exe, &[])?;
                writeln!(s, "| `wasic build` hello, {label} | **{:.3} ms** |", ms(t)).unwrap();
            }
        }
        None => {
            eprintln!(
                "note: no wasic CLI (build it with benches/run.sh or pass --wasic); skipping"
            );
            writeln!(
                s,
                "| `wasic build` hello | skipped: no wasic CLI was built |"
            )
            .unwrap();
        }
    }
    let wt = PathBuf::from("/opt/wasmtime/bin/wasmtime");
    if wt.exists() {
        let cwasm = tmp.join("hello.cwasm");
        let st = Command::new(&wt)
            .arg("compile")
            .arg(&hello_wasm)
            .arg("-o")
            .arg(&cwasm)
            .status()?;
        if st.success() {
            let t = time_process(
                o.startup_runs,
                &wt,
                &["run", "--allow-precompiled", cwasm.to_str().unwrap()],
            )?;
            writeln!(
                s,
                "| `wasmtime run --allow-precompiled hello.cwasm` ({}) | **{:.3} ms** |",
                cmd_line(wt.to_str().unwrap(), &["--version"]),
                ms(t)
            )
            .unwrap();
        }
    } else {
        eprintln!("note: /opt/wasmtime/bin/wasmtime is absent; skipping the wasmtime CLI start-up");
        writeln!(s, "| `wasmtime run` of a `.cwasm` | skipped: no wasmtime CLI at /opt/wasmtime/bin/wasmtime |").unwrap();
    }

    // In-process: instantiate + _start of hello, the part of start-up an engine controls.
    for e in [Engine::Wasic, Engine::Wasmtime, Engine::Wasmi] {
        let mut r = e.prepare_path(&hello_wasm)?;
        r.run(Output::Discard)?;
        let mut v: Vec<Duration> = (0..o.startup_runs)
            .map(|_| time_run(r.as_mut()))
            .collect::<Result<_>>()?;
        writeln!(
            s,
            "| in-process instantiate + `_start` of hello, {} (module compiled beforehand) | {:.3} ms |",
            e.name(),
            ms(median(&mut v))
        )
        .unwrap();
    }
    std::fs::remove_dir_all(&tmp).ok();
    Ok(s)
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let machine = machine();
    let rows = run_programs(&o)?;
    let compile = compile_throughput(&o)?;
    let start = startup(&o)?;
    let analysis =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("analysis.md"))
            .unwrap_or_default();

    let mut md = String::new();
    md.push_str("# Benchmarks\n\n<!-- Generated by `bash benches/run.sh` (benches/src/bin/report.rs); edit benches/analysis.md for the text after the tables. -->\n\n");
    md.push_str("Regenerate with `bash benches/run.sh` (about 10 minutes; `bash benches/run.sh --quick` for a rough run). The programs are in `benches/programs/`; criterion benchmarks of the same work: `cd benches && cargo bench`.\n\n");
    md.push_str("## Machine\n\n");
    md.push_str(&machine);
    writeln!(md, "| load average after the run | {} |", loadavg()).unwrap();
    md.push_str("\n## Run time\n\n");
    writeln!(md, "Median wall time of one run (instantiate + `_start`; wasm compilation is outside the measurement, native is a child process) over {} interleaved runs ({} for wasmi), stdout to /dev/null. wasic and wasmtime compile for the host CPU's features. Every engine printed the checksum shown (checked before timing).\n", o.runs, o.wasmi_runs.min(o.runs)).unwrap();
    md.push_str(&programs_table(&o, &rows));
    md.push('\n');
    md.push_str(&engine_ratios(&o, &rows));
    md.push_str("\n## Compile throughput\n\nMedian of ");
    writeln!(
        md,
        "{} compilations (wasm bytes per second; both compilers use every core).\n",
        o.compile_runs
    )
    .unwrap();
    md.push_str(&compile);
    md.push_str("\n## Start-up\n\n");
    writeln!(
        md,
        "Median of {} runs of a hello world (`benches/startup/hello.c`).\n",
        o.startup_runs
    )
    .unwrap();
    md.push_str(&start);
    md.push('\n');
    md.push_str(&analysis);
    std::fs::write(&o.out, md)?;
    eprintln!("wrote {}", o.out.display());
    Ok(())
}
