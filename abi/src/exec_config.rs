//! The configuration `wasic build` bakes into an executable, read by the runtime's `main`
//! (`runtime/src/exec/command.rs`), and the text syntax of the grants that reach the runtime
//! either way: on the command line (`--dir`, `--env`, `--tcplisten`) and in the reserved
//! run-time variables (`WASIC_DIR*`, `WASIC_ENV*`, `WASIC_TCPLISTEN*`). Both sides parse a grant
//! with the one function here, so `wasic run` can hand its flags to a cached executable as
//! variables without either side drifting.
//!
//! The encoding is postcard, written by [`ExecConfig::encode`] (CLI) and read by
//! [`ExecConfig::decode`] (runtime). An executable carries the runtime of the wasic that built
//! it, so the two sides always come from the same build; the format needs no version of its own.

use serde::{Deserialize, Serialize};

/// Grants and limits baked into an executable at build time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecConfig {
    /// Preopened directories, in descriptor order (from 3).
    pub dirs: Vec<DirGrant>,
    /// (name, value)
    pub env: Vec<(String, String)>,
    pub inherit_env: bool,
    /// Addresses to listen on (checked by [`check_listen_addr`]); bound when the executable
    /// starts, and handed to the guest as the descriptors after all directories.
    pub tcplisten: Vec<String>,
    pub max_memory: Option<u64>,
    pub max_wasm_stack: Option<usize>,
    /// Most elements all tables of the program may hold together.
    pub max_table_elements: Option<u64>,
    /// Stop the program with an "interrupted" trap after this many milliseconds.
    pub timeout_ms: Option<u64>,
    /// CPU features the compiled code needs (`is_x86_feature_detected!` names).
    pub required_cpu: Vec<String>,
}

/// A configuration that cannot be decoded (the executable is damaged).
#[derive(Debug, thiserror::Error)]
#[error("corrupt executable configuration: {0}")]
pub struct ConfigError(#[from] postcard::Error);

impl ExecConfig {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serializing into a Vec cannot fail")
    }

    /// Decodes what [`Self::encode`] wrote; no bytes at all is the default configuration.
    pub fn decode(bytes: &[u8]) -> Result<ExecConfig, ConfigError> {
        if bytes.is_empty() {
            return Ok(ExecConfig::default());
        }
        Ok(postcard::from_bytes(bytes)?)
    }
}

/// A grant written in the wrong syntax.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("directory grant `{0}` has an empty host path (expected HOST[::GUEST][:ro])")]
    EmptyHost(String),
    #[error("directory grant `{0}` has an empty guest path (expected HOST[::GUEST][:ro])")]
    EmptyGuest(String),
    #[error("environment grant `{0}` is not of the form NAME=VALUE")]
    Env(String),
    #[error("listen address `{0}` {1} (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)")]
    Listen(String, &'static str),
}

/// A preopened directory: `HOST[::GUEST][:ro]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirGrant {
    pub host: String,
    /// The name the guest sees it under.
    pub guest: String,
    /// Read, look up and list only: nothing beneath it can be changed.
    pub read_only: bool,
}

impl DirGrant {
    /// Parses `HOST` (seen as HOST), `HOST::GUEST`, or `HOST::GUEST:ro` (read-only). The `:ro`
    /// suffix is recognised only after a GUEST, so a host path that merely ends in `:ro` is
    /// never misread: `HOST` alone is always a path.
    pub fn parse(s: &str) -> Result<DirGrant, GrantError> {
        let (host, guest, read_only) = match s.split_once("::") {
            Some((h, g)) => match g.strip_suffix(":ro") {
                Some(g) => (h, g, true),
                None => (h, g, false),
            },
            None => (s, s, false),
        };
        if host.is_empty() {
            return Err(GrantError::EmptyHost(s.into()));
        }
        if guest.is_empty() {
            return Err(GrantError::EmptyGuest(s.into()));
        }
        Ok(DirGrant {
            host: host.into(),
            guest: guest.into(),
            read_only,
        })
    }
}

/// Writes the grant back in the syntax [`DirGrant::parse`] reads (always with `::GUEST`).
impl std::fmt::Display for DirGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.host, self.guest)?;
        if self.read_only {
            f.write_str(":ro")?;
        }
        Ok(())
    }
}

/// Parses `NAME=VALUE` (VALUE may be empty and may contain `=`).
pub fn parse_env_grant(s: &str) -> Result<(String, String), GrantError> {
    match s.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
        _ => Err(GrantError::Env(s.into())),
    }
}

/// Checks the syntax of a `--tcplisten` address, as wasmtime's `-S tcplisten` takes it (what
/// Rust's `TcpListener::bind` accepts): `HOST:PORT` where HOST is an IPv4 address, an IPv6
/// address in brackets, or a name resolved when the listener is bound, and PORT is 0 to 65535
/// (0: the system picks a free port each time). Nothing is resolved or bound here.
pub fn check_listen_addr(s: &str) -> Result<(), GrantError> {
    let err = |why| Err(GrantError::Listen(s.into(), why));
    let Some((host, port)) = s.rsplit_once(':') else {
        return err("has no port");
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err()
    {
        return err("has no valid port (0 to 65535)");
    }
    if host.is_empty() {
        return err("has no host");
    }
    match host.strip_prefix('[') {
        Some(v6) => match v6.strip_suffix(']') {
            Some(a) if a.parse::<std::net::Ipv6Addr>().is_ok() => Ok(()),
            _ => err("has no valid IPv6 address between the brackets"),
        },
        // An unbracketed colon means an IPv6 address written without brackets: its last
        // group would be taken for the port.
        None if host.contains(':') => err("needs brackets around an IPv6 address"),
        None if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            match host.parse::<std::net::Ipv4Addr>() {
                Ok(_) => Ok(()),
                Err(_) => err("has no valid IPv4 address"),
            }
        }
        None if host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            Ok(())
        }
        None => err("has no valid host name"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_config_round_trips_and_an_empty_config_is_the_default() {
        let cfg = ExecConfig {
            dirs: vec![
                DirGrant::parse("/h::/g").unwrap(),
                DirGrant::parse("/r::/ro:ro").unwrap(),
            ],
            env: vec![("A".into(), "b".into())],
            inherit_env: true,
            tcplisten: vec!["127.0.0.1:0".into()],
            max_memory: Some(1 << 20),
            max_wasm_stack: Some(65536),
            max_table_elements: Some(1000),
            timeout_ms: Some(5),
            required_cpu: vec!["avx2".into()],
        };
        assert_eq!(ExecConfig::decode(&cfg.encode()).unwrap(), cfg);
        assert_eq!(ExecConfig::decode(&[]).unwrap(), ExecConfig::default());
        assert!(ExecConfig::decode(&[0xff, 0xff]).is_err());
    }

    #[test]
    fn dir_grants_parse_host_guest_and_a_read_only_suffix_after_the_guest_only() {
        let g = |s| DirGrant::parse(s).unwrap();
        assert_eq!(
            g("/srv"),
            DirGrant {
                host: "/srv".into(),
                guest: "/srv".into(),
                read_only: false
            }
        );
        assert_eq!(g("/srv::/data").guest, "/data");
        assert!(!g("/srv::/data").read_only);
        let ro = g("/srv::/data:ro");
        assert_eq!((ro.guest.as_str(), ro.read_only), ("/data", true));
        // Without `::`, the whole string is the path.
        assert_eq!(g("/weird:ro").host, "/weird:ro");
        assert!(!g("/weird:ro").read_only);
        for s in ["/srv::/data", "/srv::/data:ro", "a::b::c"] {
            assert_eq!(DirGrant::parse(&g(s).to_string()).unwrap(), g(s), "{s}");
        }
        assert_eq!(
            DirGrant::parse("::/g"),
            Err(GrantError::EmptyHost("::/g".into()))
        );
        assert_eq!(
            DirGrant::parse("/h::"),
            Err(GrantError::EmptyGuest("/h::".into()))
        );
        assert_eq!(
            DirGrant::parse("/h:::ro"),
            Err(GrantError::EmptyGuest("/h:::ro".into()))
        );
        assert!(DirGrant::parse("").is_err());
    }

    #[test]
    fn env_grants_need_a_name_and_keep_equals_signs_in_the_value() {
        assert_eq!(
            parse_env_grant("A=b=c").unwrap(),
            ("A".into(), "b=c".into())
        );
        assert_eq!(parse_env_grant("E=").unwrap(), ("E".into(), "".into()));
        assert!(parse_env_grant("=v").is_err());
        assert!(parse_env_grant("NOEQ").is_err());
    }

    #[test]
    fn listen_addresses_are_host_colon_port_with_ipv6_in_brackets_and_port_0_allowed() {
        for ok in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:65535",
            "[::]:80",
            "localhost:9000",
            "my-host.example:1",
        ] {
            assert_eq!(check_listen_addr(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("127.0.0.1", "no port"),
            ("127.0.0.1:", "valid port"),
            ("127.0.0.1:65536", "valid port"),
            ("127.0.0.1:-1", "valid port"),
            ("127.0.0.1:+80", "valid port"),
            (":80", "no host"),
            ("::1:80", "brackets"),
            ("[::1]", "valid port"),
            ("[1.2.3.4]:80", "IPv6"),
            ("[::1:80", "IPv6"),
            ("300.1.1.1:80", "IPv4"),
            ("a b:80", "host name"),
        ] {
            let e = check_listen_addr(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains(&format!("`{bad}`")),
                "{bad}: {e}"
            );
        }
    }
}
