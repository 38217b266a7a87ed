//! Replays one input of a fuzz target outside libFuzzer and prints what happened:
//!   repro differential FILE      a libFuzzer input of `differential` (module text, calls, outcomes)
//!   repro wasm FILE [strict] [v3|native] [o0]
//!                                a .wasm/.wat module: each export called once with zero-ish
//!                                arguments on wasic and wasmi (`strict`: canonical-NaN rules;
//!                                v3/native: target CPU; o0: no optimization)
//!   repro exceptions FILE [out.wasm]
//!                                a libFuzzer input of `exceptions` (module text, calls, outcomes)
//!   repro exwasm FILE [strict] [v3|native] [o0]
//!                                a .wasm/.wat module: each export called once with zero-ish
//!                                arguments on wasic and wasmtime (tags exported as `exceptions`
//!                                does; flags as for `wasm`)
//!   repro wasi_paths FILE        a libFuzzer input of `wasi_paths` (operations and errnos)
//!   repro compile FILE           a libFuzzer input of `compile`
//! Exits 1 on a divergence / violation.
use arbitrary::Unstructured;
use wasic_fuzz::{differential, exceptions, wasi_paths};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: repro differential|wasm|exceptions|exwasm|wasi_paths|compile FILE");
        std::process::exit(2);
    }
    let data = std::fs::read(&args[2]).expect("read input");
    match args[1].as_str() {
        "differential" => {
            let mut u = Unstructured::new(&data);
            let Ok(g) = differential::generate(&mut u) else {
                println!("input makes no module");
                return;
            };
            println!(
                "canonical_nans={} {:?}\n{}",
                g.canonical_nans,
                g.opts,
                differential::wat(&g.wasm)
            );
            if let Some(out) = args.get(3) {
                std::fs::write(out, &g.wasm).expect("write wasm");
            }
            report(differential::check(
                &g.wasm,
                g.canonical_nans,
                &g.opts,
                &mut u,
            ));
        }
        "exceptions" | "typed_refs" => {
            let mut u = Unstructured::new(&data);
            let Ok(g) = exceptions::generate(&mut u, args[1] == "typed_refs") else {
                println!("input makes no module");
                return;
            };
            println!(
                "canonical_nans={} {:?}\n{}",
                g.canonical_nans,
                g.opts,
                differential::wat(&g.wasm)
            );
            if let Some(out) = args.get(3) {
                std::fs::write(out, &g.wasm).expect("write wasm");
            }
            let fuel = g.fuel.as_ref().map(|(n, f)| (n.as_str(), *f));
            report_exceptions(exceptions::check(
                &g.wasm,
                g.canonical_nans,
                &g.opts,
                fuel,
                g.typed,
                &mut u,
            ));
        }
        "wasm" | "exwasm" => {
            let wasm = wat::parse_bytes(&data).expect("parse").into_owned();
            let flag = |f: &str| args[3..].iter().any(|a| a == f);
            let opts = wasic_compiler::CompileOptions {
                target_cpu: if flag("v3") {
                    wasic_compiler::TargetCpu::X86_64V3
                } else if flag("native") {
                    wasic_compiler::TargetCpu::Native
                } else {
                    wasic_compiler::TargetCpu::X86_64V2
                },
                opt_level: if flag("o0") {
                    wasic_compiler::OptLevel::None
                } else {
                    wasic_compiler::OptLevel::Speed
                },
                features: wasic_compiler::Features::Latest,
                // `noopt`: every whole-module optimization off, as the fuzzer varies them.
                optimizations: if flag("noopt") {
                    wasic_compiler::Optimizations::NAMES.iter().fold(
                        wasic_compiler::Optimizations::default(),
                        |mut o, n| {
                            o.set(&format!("{n}=off")).expect("a known optimization");
                            o
                        },
                    )
                } else {
                    wasic_compiler::Optimizations::default()
                },
            };
            let u = &mut Unstructured::new(&[]);
            if args[1] == "exwasm" {
                let (wasm, _) = exceptions::export_tags(&wasm, None).expect("export tags");
                report_exceptions(exceptions::check(&wasm, flag("strict"), &opts, None, true, u));
            } else {
                report(differential::check(&wasm, flag("strict"), &opts, u));
            }
        }
        "wasi_paths" => {
            let tree = wasi_paths::Tree::get();
            let ops = wasi_paths::ops_of(&data, tree);
            match wasi_paths::run_ops(tree, &ops) {
                Ok(trace) => println!("ok:\n  {}", trace.join("\n  ")),
                Err(e) => {
                    println!("{e}");
                    std::process::exit(1)
                }
            }
        }
        "compile" => {
            let r = wasic_compiler::compile(&data, &Default::default());
            println!("{:?}", r.map(|o| o.len()));
            wasic_fuzz::compile_one(&data);
        }
        other => panic!("unknown target {other}"),
    }
}

fn report(r: Result<differential::Report, String>) {
    match r {
        Ok(rep) => println!(
            "agree ({} calls{})\n{}",
            rep.calls,
            if rep.stack_limits_differ {
                ", stopped: stack limits differ"
            } else {
                ""
            },
            rep.log
        ),
        Err(e) => {
            println!("DIVERGENCE: {e}");
            std::process::exit(1);
        }
    }
}

fn report_exceptions(r: Result<exceptions::Report, String>) {
    match r {
        Ok(rep) => println!(
            "agree ({} calls{}; wasic held up to {} exception objects{})\n{}",
            rep.calls,
            if rep.unjudged {
                ", stopped unjudged"
            } else {
                ""
            },
            rep.max_exceptions,
            if rep.collected {
                ", its collector reclaimed some"
            } else {
                ""
            },
            rep.log
        ),
        Err(e) => {
            println!("DIVERGENCE: {e}");
            std::process::exit(1);
        }
    }
}
