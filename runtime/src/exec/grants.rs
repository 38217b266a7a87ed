//! The WASI context of a built executable: its baked-in grants plus, unless the executable runs
//! in secure-execution mode, the run-time grants of the reserved `WASIC_*` environment
//! variables; the listening sockets bound from both; and the argv.
//!
//! The grant syntax itself is parsed in `abi/src/exec_config.rs`, shared with the CLI.

use super::RESERVED_ENV_PREFIX;
use crate::wasi::{DirAccess, WasiCtx, WasiCtxBuilder, WasiError};
use std::os::fd::OwnedFd;
use wasic_abi::exec_config::{check_listen_addr, parse_env_grant, GrantError};
use wasic_abi::{DirGrant, ExecConfig};

/// Why the WASI context of an executable could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GrantSetupError {
    #[error("{var}: {source}")]
    Variable { var: String, source: GrantError },
    #[error("cannot open directory `{host}`: {source}")]
    Dir { host: String, source: WasiError },
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ctx(#[from] WasiError),
}

/// Whether run-time grants from the environment are honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvGrants {
    /// `WASIC_DIR*`, `WASIC_ENV*` and `WASIC_TCPLISTEN*` add to the baked-in grants.
    Honour,
    /// Only the baked-in grants count (secure-execution mode, `wasic run --invoke`).
    Ignore,
}

/// The policy of an executable: one running in secure-execution mode (started setuid, setgid
/// or with file capabilities, `AT_SECURE` set) must not let whoever starts it widen its grants
/// through the environment, just as the dynamic loader then ignores `LD_PRELOAD`.
pub fn env_grant_policy(secure_execution: bool) -> EnvGrants {
    if secure_execution {
        EnvGrants::Ignore
    } else {
        EnvGrants::Honour
    }
}

/// Whether this process runs in secure-execution mode (`getauxval(AT_SECURE)`).
pub fn secure_execution() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector; an absent entry reads as 0.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The kinds of run-time grant, by variable name (`WASIC_DIR`, `WASIC_DIR_<suffix>`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GrantVar {
    Dir,
    Env,
    Listen,
}

fn grant_var(name: &str) -> Option<(GrantVar, &str)> {
    [
        ("WASIC_DIR", GrantVar::Dir),
        ("WASIC_ENV", GrantVar::Env),
        ("WASIC_TCPLISTEN", GrantVar::Listen),
    ]
    .into_iter()
    .find_map(|(key, kind)| match name.strip_prefix(key)? {
        "" => Some((kind, "")),
        rest => Some((kind, rest.strip_prefix('_')?)),
    })
}

/// Whether the runtime reads `name` as a grant: what `wasic run` clears from the environment
/// it starts an executable with, so that only its own flags grant anything.
pub fn is_grant_variable(name: &str) -> bool {
    grant_var(name).is_some()
}

/// Orders run-time grants of one kind: the bare variable first, then numeric suffixes by value
/// (`_2` before `_10`, as `wasic run` numbers them), then other suffixes by name. The order is
/// the order of the descriptors the guest gets.
fn grant_order(suffix: &str) -> (u8, u128, &str) {
    match suffix.parse::<u128>() {
        _ if suffix.is_empty() => (0, 0, suffix),
        Ok(n) => (1, n, suffix),
        Err(_) => (2, 0, suffix),
    }
}

/// The grants a configuration and the environment add up to.
#[derive(Debug, Default, PartialEq)]
struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    tcplisten: Vec<String>,
}

fn collect_grants(
    cfg: &ExecConfig,
    env: &[(String, String)],
    policy: EnvGrants,
) -> Result<Grants, GrantSetupError> {
    let mut g = Grants {
        dirs: cfg.dirs.clone(),
        env: cfg.env.clone(),
        tcplisten: cfg.tcplisten.clone(),
    };
    if policy == EnvGrants::Ignore {
        return Ok(g);
    }
    let mut vars: Vec<(GrantVar, &str, &str, &str)> = env
        .iter()
        .filter_map(|(n, v)| {
            grant_var(n).map(|(kind, suffix)| (kind, suffix, n.as_str(), v.as_str()))
        })
        .collect();
    // A stable insertion sort: a handful of variables, and the standard library's stable
    // sort is 12 KB of code in every executable.
    for i in 1..vars.len() {
        let mut j = i;
        while j > 0 && grant_order(vars[j - 1].1) > grant_order(vars[j].1) {
            vars.swap(j - 1, j);
            j -= 1;
        }
    }
    for (kind, _, name, value) in vars {
        let var = |source| GrantSetupError::Variable {
            var: name.to_string(),
            source,
        };
        match kind {
            GrantVar::Dir => g.dirs.push(DirGrant::parse(value).map_err(var)?),
            GrantVar::Env => g.env.push(parse_env_grant(value).map_err(var)?),
            GrantVar::Listen => {
                check_listen_addr(value).map_err(var)?;
                g.tcplisten.push(value.to_string());
            }
        }
    }
    Ok(g)
}

/// Binds a `--tcplisten` address (resolving a host name as wasmtime does) into a blocking
/// listening socket.
pub fn bind_listener(addr: &str) -> Result<OwnedFd, GrantSetupError> {
    let err = |source| GrantSetupError::Listen {
        addr: addr.to_string(),
        source,
    };
    let l = std::net::TcpListener::bind(addr).map_err(err)?;
    Ok(OwnedFd::from(l))
}

/// Builds the WASI context of an executable from its baked-in config, the process environment
/// (for `--inherit-env` and, under [`EnvGrants::Honour`], the run-time grants) and its argv.
/// Directories are preopened in order from descriptor 3, then the directories embedded in the
/// executable (`embedded`), except those a run-time `WASIC_DIR` grant replaces (same guest
/// path), then the listeners are bound.
pub fn wasi_ctx_for_process(
    cfg: &ExecConfig,
    args: Vec<Vec<u8>>,
    env: Vec<(String, String)>,
    policy: EnvGrants,
    embedded: Option<wasic_abi::embed::Tree<'static>>,
) -> Result<WasiCtx, GrantSetupError> {
    let grants = collect_grants(cfg, &env, policy)?;
    let mut b = WasiCtxBuilder::new().args(args);
    if cfg.inherit_env {
        for (n, v) in &env {
            if !n.starts_with(RESERVED_ENV_PREFIX) {
                b = b.env(n.as_str(), v.as_str());
            }
        }
    }
    for (n, v) in &grants.env {
        b = b.env(n.as_str(), v.as_str());
    }
    for d in &grants.dirs {
        let access = if d.read_only {
            DirAccess::ReadOnly
        } else {
            DirAccess::ReadWrite
        };
        b = b
            .preopen_dir_with(&d.host, d.guest.as_str(), access)
            .map_err(|source| GrantSetupError::Dir {
                host: d.host.clone(),
                source,
            })?;
    }
    if let Some(tree) = embedded {
        for (guest, node) in tree.roots() {
            // Guest names come from the CLI's (UTF-8) flags.
            let name = String::from_utf8_lossy(guest);
            if !grants.dirs.iter().any(|d| d.guest == name) {
                b = b.preopen_embedded(tree, node, name);
            }
        }
    }
    for addr in &grants.tcplisten {
        b = b.preopen_listener(bind_listener(addr)?);
    }
    Ok(b.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secure_execution_ignores_run_time_grants_and_keeps_baked_ones() {
        assert_eq!(env_grant_policy(true), EnvGrants::Ignore);
        assert_eq!(env_grant_policy(false), EnvGrants::Honour);
        let cfg = ExecConfig {
            dirs: vec![DirGrant::parse("/baked").unwrap()],
            env: vec![("B".into(), "1".into())],
            tcplisten: vec!["127.0.0.1:0".into()],
            ..Default::default()
        };
        let hostile = env(&[
            ("WASIC_DIR", "/"),
            ("WASIC_ENV", "X=1"),
            ("WASIC_TCPLISTEN", "0.0.0.0:0"),
        ]);
        let g = collect_grants(&cfg, &hostile, env_grant_policy(true)).unwrap();
        assert_eq!(
            g,
            Grants {
                dirs: cfg.dirs.clone(),
                env: cfg.env.clone(),
                tcplisten: cfg.tcplisten.clone(),
            }
        );
        let g = collect_grants(&cfg, &hostile, env_grant_policy(false)).unwrap();
        assert_eq!(g.dirs.len(), 2);
        assert_eq!(g.env.len(), 2);
        assert_eq!(g.tcplisten.len(), 2);
        // The process itself is not setuid: the real check says so.
        assert!(!secure_execution());
    }

    #[test]
    fn run_time_grants_come_in_suffix_order_with_numbers_by_value() {
        let vars = env(&[
            ("WASIC_DIR_10", "/ten"),
            ("WASIC_DIR_b", "/b"),
            ("WASIC_DIR_2", "/two"),
            ("WASIC_DIR", "/bare"),
            ("WASIC_DIR_a", "/a::/x:ro"),
            ("WASIC_DIRECTORY", "/not-a-grant"),
            ("WASIC_ENVX", "NOT=granted"),
            ("WASIC_TCPLISTEN_1", "[::1]:0"),
        ]);
        let g = collect_grants(&ExecConfig::default(), &vars, EnvGrants::Honour).unwrap();
        let hosts: Vec<_> = g.dirs.iter().map(|d| d.host.as_str()).collect();
        assert_eq!(hosts, ["/bare", "/two", "/ten", "/a", "/b"]);
        assert!(g.dirs[3].read_only);
        assert!(g.env.is_empty());
        assert_eq!(g.tcplisten, ["[::1]:0"]);
        assert!(is_grant_variable("WASIC_TCPLISTEN") && is_grant_variable("WASIC_ENV_x"));
        assert!(!is_grant_variable("WASIC_DIRECTORY") && !is_grant_variable("WASIC_CACHE_DIR"));
    }

    #[test]
    fn bad_run_time_grants_name_the_variable() {
        for (var, value, says) in [
            ("WASIC_ENV_3", "NOEQ", "NAME=VALUE"),
            ("WASIC_DIR", "::/g", "empty host"),
            ("WASIC_TCPLISTEN_x", "localhost", "no port"),
        ] {
            let e = collect_grants(
                &ExecConfig::default(),
                &env(&[(var, value)]),
                EnvGrants::Honour,
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with(&format!("{var}: ")) && e.contains(says),
                "{e}"
            );
        }
    }

    #[test]
    fn a_listener_that_cannot_be_bound_names_its_address() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap().to_string();
        let cfg = ExecConfig {
            tcplisten: vec![addr.clone()],
            ..Default::default()
        };
        let e = wasi_ctx_for_process(&cfg, vec![], vec![], EnvGrants::Ignore, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("cannot listen on `{addr}`: ")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
    }
}
