//! The test command's bookkeeping (`scripts/run-tests.sh`, run by `scripts/test.sh`): every
//! test binary runs even after a failure, the exit status reports failures, and the closing
//! line counts the tests that skipped through `common::skip` as skipped, not passed. The
//! script runs here against a stand-in `cargo` that prints a recorded test log.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The name libtest gives the running test (its thread's name).
fn this_test() -> String {
    std::thread::current().name().unwrap().to_string()
}

fn this_binary() -> String {
    let exe = std::env::current_exe().unwrap();
    exe.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_skip_helper_records_the_binary_and_the_running_test() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    skip_into(Some(&log), "no such\ttool");
    skip_into(Some(&log), "another reason");
    let text = std::fs::read_to_string(&log).unwrap();
    let (binary, test) = (this_binary(), this_test());
    assert_eq!(
        text,
        format!("{binary}\t{test}\tno such tool\n{binary}\t{test}\tanother reason\n")
    );
}

/// A `cargo` that records its arguments, adds the skips of `$FAKE_SKIPS` to `$WASIC_SKIP_LOG`,
/// prints `$FAKE_OUTPUT` and fails as cargo does when a test failed.
const FAKE_CARGO: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$*" > "$FAKE_ARGS"
cat "$FAKE_SKIPS" >> "$WASIC_SKIP_LOG"
cat "$FAKE_OUTPUT"
exit 101
"#;

#[test]
fn the_closing_line_counts_recorded_skips_as_skipped_and_failures_fail_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, FAKE_CARGO).unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();

    // What a skipping test records, the way it records it; plus the skip of a test that then
    // failed, and one of a same-named test in a binary that did not run.
    let skips = dir.path().join("skips");
    skip_into(Some(&skips), "the wasm32-wasip1 target is not installed");
    let (binary, test) = (this_binary(), this_test());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&skips)
        .and_then(|mut f| {
            use std::io::Write;
            writeln!(f, "{binary}\tskipped_then_failed\twhy")?;
            writeln!(f, "other_binary-0123\t{test}\twhy")
        })
        .unwrap();
    let output = dir.path().join("output");
    std::fs::write(
        &output,
        format!(
            "   Compiling wasic-abi v0.1.0\n\
             \x20    Running unittests src/lib.rs (target/debug/deps/wasic_abi-1111)\n\n\
             running 2 tests\n\
             test trap::tests::a ... ok\n\
             test {test} ... ok\n\n\
             test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\n\
             \x20    Running tests/x.rs (/abs/target/debug/deps/{binary})\n\n\
             running 4 tests\n\
             test {test} ... ok\n\
             test passes ... ok\n\
             test skipped_then_failed ... FAILED\n\
             test left_out ... ignored\n\n\
             test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out\n\n\
             \x20    Running spec.rs (target/debug/deps/spec-2222)\n\
             wasm-v2/i32.wast: 10 passed, 0 failed, 2 skipped\n\
             10 passed, 0 failed, 2 skipped\n\
             error: 1 target failed:\n"
        ),
    )
    .unwrap();
    let args = dir.path().join("args");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run-tests.sh");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = run(
        Command::new("bash")
            .arg(&script)
            .arg("some_filter")
            .env("PATH", path)
            .env("FAKE_ARGS", &args)
            .env("FAKE_SKIPS", &skips)
            .env("FAKE_OUTPUT", &output),
        None,
    );

    assert_eq!(
        std::fs::read_to_string(&args).unwrap(),
        "test --workspace --no-fail-fast some_filter\n",
        "every test binary runs, whatever fails first"
    );
    assert_ne!(out.status, 0, "a failed test fails the command");
    // 2 + 2 + 10 passed, one of which skipped; 1 ignored and 2 spec directives skipped.
    assert_eq!(
        out.stdout.lines().last(),
        Some("total: 13 passed, 1 failed, 4 skipped"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("note: skipped_then_failed"),
        "{}",
        out.stdout
    );
}
