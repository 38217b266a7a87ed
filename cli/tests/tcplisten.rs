//! `--tcplisten HOST:PORT` (wasmtime's `-S tcplisten`): a preview1 server built by wasic gets a
//! listening socket as the descriptor after its directories and serves many requests from a
//! client in the test. Baked in at build time, or passed by `wasic run` at run time; bound when
//! the executable starts (port 0: the system picks one, which the test reads from /proc, so no
//! port is ever guessed); an address that cannot be bound stops the program with one line
//! naming it. Only loopback addresses are used.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TCP ports process `pid` listens on, with whether each is IPv6, from the socket inodes
/// of its descriptors and the kernel's socket tables.
fn listening_ports(pid: u32) -> Vec<(u16, bool)> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| {
                let link = std::fs::read_link(e.ok()?.path()).ok()?;
                let l = link.to_str()?;
                Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
            })
            .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for (table, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is f[1] (HEXADDR:HEXPORT), the state f[3] (0A: LISTEN), the inode f[9].
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.push((u16::from_str_radix(port, 16).unwrap(), v6));
            }
        }
    }
    ports
}

/// Starts `cmd` and waits until it listens on `count` ports; returns them.
fn start_server(cmd: &mut Command, count: usize) -> (Child, Vec<(u16, bool)>) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ports = listening_ports(child.id());
        if ports.len() == count {
            return (child, ports);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the server exited ({status}) before listening: {err}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not listen within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (bounded) for the server to finish; returns its output.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Output {
        status: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// One client connection sending `lines` requests; checks the replies, numbered from `first`.
fn client(addr: (&str, u16), conn: usize, lines: usize, first: usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let requests: String = (0..lines)
        .map(|i| format!("connection {conn} request {i}\n"))
        .collect();
    s.write_all(requests.as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut replies = String::new();
    s.read_to_string(&mut replies).unwrap();
    let expected: String = (0..lines)
        .map(|i| format!("reply {}: connection {conn} request {i}\n", first + i))
        .collect();
    assert_eq!(replies, expected, "replies on connection {conn}");
}

#[test]
fn a_server_built_with_tcplisten_answers_many_requests_from_a_client() {
    let t = tempfile::tempdir().unwrap();
    let exe = build_c("server", t.path(), &["--tcplisten", "127.0.0.1:0"]);
    let (connections, lines) = (25, 8);
    let (child, ports) = start_server(&mut command(&exe, &["3", &connections.to_string()]), 1);
    for c in 0..connections {
        client(("127.0.0.1", ports[0].0), c, lines, c * lines);
    }
    assert_run(
        &finish(child),
        0,
        &format!(
            "served {connections} connections, {} requests\n",
            connections * lines
        ),
    );
}

#[test]
fn wasic_run_hands_listeners_over_after_the_directories_in_flag_order() {
    if let Err(e) = std::net::TcpListener::bind("[::1]:0") {
        return skip(&format!("no IPv6 loopback here ({e})"));
    }
    let wasm = compile_c("server");
    let cache = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    // fd 3 is the directory, fd 4 the first listener, fd 5 the second: the server uses fd 5.
    let (child, ports) = start_server(
        Command::new(wasic())
            .env("WASIC_CACHE_DIR", cache.path())
            .arg("run")
            .arg("--tcplisten")
            .arg("127.0.0.1:0")
            .arg("--dir")
            .arg(d.path())
            .arg("--tcplisten")
            .arg("[::1]:0")
            .arg(&wasm)
            .args(["5", "2"]),
        2,
    );
    assert!(
        ports.iter().any(|p| !p.1),
        "the first listener is IPv4: {ports:?}"
    );
    let v6 = ports
        .iter()
        .find(|p| p.1)
        .expect("the second listener is IPv6")
        .0;
    // The server answering on fd 5 over ::1 shows that fd 5 is the second listener.
    for c in 0..2 {
        client(("::1", v6), c, 3, c * 3);
    }
    assert_run(&finish(child), 0, "served 2 connections, 6 requests\n");
}

#[test]
fn a_listen_address_that_cannot_be_bound_stops_the_program_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let exe = build_c("server", t.path(), &["--tcplisten", &addr]);
    let out = run_exe(&exe, &["3", "1"]);
    assert_eq!(out.status, 1, "{out:?}");
    assert_eq!(out.stdout, "", "no wasm ran");
    let err = out.stderr.trim_end();
    assert!(
        err.starts_with(&format!("Error: cannot listen on `{addr}`: ")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The same through a run-time grant.
    let plain = build_c("server", t.path(), &[]);
    let out = run(
        command(&plain, &["3", "1"]).env("WASIC_TCPLISTEN", &addr),
        None,
    );
    assert_eq!(out.status, 1, "{out:?}");
    assert!(out.stderr.contains(&format!("`{addr}`")), "{out:?}");
}

#[test]
fn malformed_listen_addresses_are_refused_at_build_and_run_time() {
    let t = tempfile::tempdir().unwrap();
    let wasm = compile_c("server");
    for bad in ["127.0.0.1", "localhost:99999", "::1:80", ":80", "[::1]"] {
        let exe = t.path().join("out");
        let out = run(
            Command::new(wasic())
                .arg("build")
                .arg(&wasm)
                .arg("-o")
                .arg(&exe)
                .args(["--tcplisten", bad]),
            None,
        );
        out.assert_no_panic();
        assert_ne!(out.status, 0, "{bad}");
        assert!(out.stderr.starts_with("error: "), "{bad}: {}", out.stderr);
        assert!(out.stderr.contains(&format!("`{bad}`")), "{}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(!exe.exists());
    }
    let exe = build_c("server", t.path(), &[]);
    let out = run(
        command(&exe, &["3", "1"]).env("WASIC_TCPLISTEN_0", "localhost"),
        None,
    );
    assert_eq!(out.status, 1);
    assert!(
        out.stderr
            .starts_with("Error: WASIC_TCPLISTEN_0: listen address `localhost`"),
        "{out:?}"
    );
}
