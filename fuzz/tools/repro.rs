//! Replays one input of a fuzz target outside libFuzzer and prints what happened:
//!   repro differential FILE      a libFuzzer input of `differential` (module text, calls, outcomes)
//!   repro wasm FILE [strict]     a .wasm/.wat module: each export called once with zero-ish
//!                                arguments on wasic and wasmi (`strict`: canonical-NaN rules)
//!   repro wasi_paths FILE        a libFuzzer input of `wasi_paths` (operations and errnos)
//!   repro compile FILE           a libFuzzer input of `compile`
//! Exits 1 on a divergence / violation.
use arbitrary::Unstructured;
use wasic_fuzz::{differential, wasi_paths};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: repro differential|wasm|wasi_paths|compile FILE");
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
            println!("canonical_nans={}\n{}", g.canonical_nans, differential::wat(&g.wasm));
            if let Some(out) = args.get(3) {
                std::fs::write(out, &g.wasm).expect("write wasm");
            }
            report(differential::check(&g.wasm, g.canonical_nans, &mut u));
        }
        "wasm" => {
            let wasm = wat::parse_bytes(&data).expect("parse").into_owned();
            let strict = args.get(3).is_some_and(|a| a == "strict");
            report(differential::check(&wasm, strict, &mut Unstructured::new(&[])));
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
            if rep.stack_limits_differ { ", stopped: stack limits differ" } else { "" },
            rep.log
        ),
        Err(e) => {
            println!("DIVERGENCE: {e}");
            std::process::exit(1);
        }
    }
}
