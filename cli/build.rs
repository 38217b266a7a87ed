//! Builds the runtime static library (`wasic-rt`) and hands its path to the CLI, which embeds it
//! with `include_bytes!` so that an installed `wasic` can link executables from any directory.
//!
//! A nested cargo invocation with its own target directory (so it does not wait on the lock of
//! the outer build) builds `wasic-rt` with the workspace's `rt` profile (release with
//! whole-program LTO, see Cargo.toml).
//!
//! The standard library is rebuilt with it (`-Z build-std`, allowed on the stable toolchain by
//! `RUSTC_BOOTSTRAP=1`, for this nested build only) without its `backtrace` feature: the
//! prebuilt std carries a DWARF symbolizer (gimli, addr2line, miniz_oxide: 178 KB of code in
//! every executable) that only a panic of wasic itself with `RUST_BACKTRACE` set would use.
//! Panics (the `rt` profile aborts on them) still print their message. It needs the toolchain's `rust-src` component
//! (rust-toolchain.toml lists it); without it the prebuilt std is used, with a warning.

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
    // The workspace manifest holds the `rt` profile; the lock file the dependencies.
    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = out.join("rt-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::var("TARGET").unwrap();
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "rt", "-p", "wasic-rt", "--target-dir"])
        .arg(&target_dir)
        .args(["--target", &target]);
    let build_std = std_sources_installed();
    if build_std {
        cmd.args(["-Zbuild-std=std,panic_abort", "-Zbuild-std-features="])
            .env("RUSTC_BOOTSTRAP", "1");
    } else {
        println!(
            "cargo:warning=the toolchain's rust-src component is not installed (`rustup component add rust-src`): \
             the runtime library links the prebuilt standard library, and executables are ~180 KB larger"
        );
    }
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
        if outer_build || (k == "RUSTC_BOOTSTRAP" && !build_std) {
            cmd.env_remove(k);
        }
    }
    // Frame pointers instead of unwind tables: nothing unwinds the runtime's frames (panics
    // abort, traps return through the entry trampoline, std's backtrace is not built), and
    // `gdb` and `perf record -g` walk frame pointers. Set after the loop above removed the
    // outer build's RUSTFLAGS; with `--target`, they reach only the library and its std.
    cmd.env(
        "RUSTFLAGS",
        "-C force-frame-pointers=yes -C force-unwind-tables=no",
    );
    // Whatever the outer build's standard input is must not reach the nested cargo either.
    cmd.stdin(std::process::Stdio::null());
    let status = cmd
        .status()
        .expect("cannot run cargo to build the wasic runtime library");
    assert!(
        status.success(),
        "building the wasic runtime library (wasic-rt) failed"
    );
    let lib = target_dir.join(&target).join("rt").join("libwasic_rt.a");
    assert!(lib.exists(), "{} was not produced", lib.display());
    println!("cargo:rustc-env=WASIC_RT_LIB={}", lib.display());
    // What executables get by default: the library without its debug information (the
    // standard library's and the runtime's), which was nine tenths of a hello world's size,
    // and without its local symbols (a fifth of what remained: long mangled Rust names; the
    // guest's functions keep theirs). `wasic build --debug` links the full one.
    let stripped = target_dir
        .join(&target)
        .join("rt")
        .join("libwasic_rt.stripped.a");
    let objcopy = std::env::var("OBJCOPY").unwrap_or_else(|_| "objcopy".into());
    let status = Command::new(&objcopy)
        .arg("--strip-unneeded")
        .arg(&lib)
        .arg(&stripped)
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{objcopy}` (install binutils): {e}"));
    assert!(
        status.success(),
        "`{objcopy} --strip-unneeded` of the runtime library failed"
    );
    println!(
        "cargo:rustc-env=WASIC_RT_LIB_STRIPPED={}",
        stripped.display()
    );
}

/// Whether the toolchain has the standard library's sources (`rust-src`), which `-Z build-std`
/// compiles.
fn std_sources_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    sysroot
        .join("lib/rustlib/src/rust/library/std/Cargo.toml")
        .exists()
}
