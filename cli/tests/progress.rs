//! The progress display of `wasic build`: on a terminal (a pseudo-terminal made by `script`),
//! a build that takes more than a second shows the functions compiled of all and then
//! "linking", and so does the first `wasic run --invoke` of one (without the link); with
//! stderr not a terminal they write nothing at all.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// A module of 30,000 small functions: several seconds of compiling for the test profile's CLI.
fn slow_module(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("(module\n");
    for i in 0..30_000 {
        text.push_str(&format!(
            "(func (param i32) (result i32) (local i32) local.get 0 i32.const {i} i32.add \
             local.tee 1 local.get 1 i32.mul local.get 0 i32.const 3 i32.rem_s i32.add)\n"
        ));
    }
    text.push_str("(func (export \"_start\")))\n");
    let path = dir.join("slow.wat");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `shell_command` (with the cache off) on a pseudo-terminal made by `script`; what the
/// terminal shows is the output's stdout.
fn on_terminal(shell_command: &str) -> Output {
    run(
        Command::new("script")
            .env("WASIC_CACHE", "off")
            .args(["-qec", shell_command, "/dev/null"]),
        None,
    )
}

#[test]
fn a_slow_build_shows_progress_on_a_terminal_and_nothing_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let wat = slow_module(t.path());
    let exe = t.path().join("slow");
    // Not a terminal: not one byte on stderr.
    let piped = build_output(&wat, &exe);
    assert_eq!((piped.status, piped.stderr.as_str()), (0, ""));

    if Command::new("script").arg("--version").output().is_err() {
        skip("`script` (util-linux) is not installed: no pseudo-terminal to test on");
        return;
    }
    let shell_command = format!(
        "{} build -o {} {}",
        wasic().display(),
        exe.display(),
        wat.display()
    );
    let tty = on_terminal(&shell_command);
    assert_eq!(tty.status, 0, "{}", tty.stdout);
    assert!(
        tty.stdout.contains("/30005 functions compiled") && tty.stdout.contains("linking"),
        "the terminal shows functions compiled of all, then linking: {:?}",
        tty.stdout
    );
    assert_run(&run_exe(&exe, &[]), 0, "");
}

#[test]
fn the_first_invoke_of_a_slow_module_shows_its_compilation_on_a_terminal() {
    let t = tempfile::tempdir().unwrap();
    let wat = slow_module(t.path());
    if Command::new("script").arg("--version").output().is_err() {
        skip("`script` (util-linux) is not installed: no pseudo-terminal to test on");
        return;
    }
    // With the cache off, every invoke compiles.
    let shell_command = format!(
        "{} run --invoke _start {}",
        wasic().display(),
        wat.display()
    );
    let tty = on_terminal(&shell_command);
    assert_eq!(tty.status, 0, "{}", tty.stdout);
    assert!(
        tty.stdout.contains("/30005 functions compiled") && !tty.stdout.contains("linking"),
        "the terminal shows the functions compiled, and no link: {:?}",
        tty.stdout
    );
    // Not a terminal: nothing on stderr.
    let piped = run(
        Command::new(wasic())
            .env("WASIC_CACHE", "off")
            .args(["run", "--invoke", "_start"])
            .arg(&wat),
        None,
    );
    assert_eq!((piped.status, piped.stderr.as_str()), (0, ""));
}
