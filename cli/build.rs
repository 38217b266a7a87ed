//! Builds the runtime static library (`wasic-rt`) and hands its path to the CLI, which embeds it
//! with `include_bytes!` so that an installed `wasic` can link executables from any directory.
//!
//! A nested cargo invocation with its own target directory (so it does not wait on the lock of
//! the outer build) builds `wasic-rt` with the workspace's `rt` profile (release with
//! whole-program LTO, see Cargo.toml).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["abi", "runtime", "rt"] {
        println!(
            "cargo:rerun-if-changed={}",
            root.join(dir).join("src").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            root.join(dir).join("Cargo.toml").display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = out.join("rt-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "rt", "-p", "wasic-rt", "--target-dir"])
        .arg(&target_dir);
    // Nothing of the outer build (its CARGO_* settings, rustflags, jobserver, wrappers) may leak
    // into the nested one; what locates the toolchain, the registry and certificates stays.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let outer_build = (k.starts_with("CARGO_")
            && k != "CARGO_HOME"
            && !k.starts_with("CARGO_REGISTRIES")
            && !k.starts_with("CARGO_NET")
            && !k.starts_with("CARGO_HTTP"))
            || matches!(
                k.as_str(),
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "MAKEFLAGS"
                    | "MFLAGS"
            );
        if outer_build {
            cmd.env_remove(k);
        }
    }
    // Whatever the outer build's standard input is must not reach the nested cargo either.
    cmd.stdin(std::process::Stdio::null());
    let status = cmd
        .status()
        .expect("cannot run cargo to build the wasic runtime library");
    assert!(
        status.success(),
        "building the wasic runtime library (wasic-rt) failed"
    );
    let lib = target_dir.join("rt").join("libwasic_rt.a");
    assert!(lib.exists(), "{} was not produced", lib.display());
    println!("cargo:rustc-env=WASIC_RT_LIB={}", lib.display());
    // What executables get by default: the library without its debug information (the
    // standard library's and the runtime's), which was nine tenths of a hello world's size.
    // `wasic build --debug` links the full one.
    let stripped = target_dir.join("rt").join("libwasic_rt.stripped.a");
    let objcopy = std::env::var("OBJCOPY").unwrap_or_else(|_| "objcopy".into());
    let status = Command::new(&objcopy)
        .arg("--strip-debug")
        .arg(&lib)
        .arg(&stripped)
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{objcopy}` (install binutils): {e}"));
    assert!(
        status.success(),
        "`{objcopy} --strip-debug` of the runtime library failed"
    );
    println!(
        "cargo:rustc-env=WASIC_RT_LIB_STRIPPED={}",
        stripped.display()
    );
}
