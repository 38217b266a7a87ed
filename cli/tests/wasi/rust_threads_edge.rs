//! Edge cases of a `wasm32-wasip1-threads` Rust program, chosen by argv[1]:
//! `sleep`: a thread sleeps for a minute while main prints and returns (the process ends at
//! once: a sleeping thread holds up neither main's WASI calls nor the exit);
//! `stdin`: a thread blocks reading stdin while main writes to stdout and returns;
//! `exit`: a spawned thread calls `std::process::exit(5)` while main waits in `join`;
//! `panic`: a spawned thread panics and main joins it (Rust's wasm targets abort on panic, so
//! the wasm build ends with the trap; natively, `join` returns the panic).

use std::io::Read;
use std::thread;
use std::time::Duration;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("sleep") => {
            thread::spawn(|| thread::sleep(Duration::from_secs(60)));
            thread::sleep(Duration::from_millis(50));
            println!("main is done while a thread sleeps");
        }
        Some("stdin") => {
            thread::spawn(|| {
                let mut buf = [0u8; 16];
                let _ = std::io::stdin().read(&mut buf);
            });
            thread::sleep(Duration::from_millis(50));
            println!("main writes while a thread reads");
        }
        Some("exit") => {
            let h = thread::spawn(|| {
                thread::sleep(Duration::from_millis(20));
                std::process::exit(5);
            });
            h.join().unwrap();
            println!("not reached");
        }
        Some("panic") => {
            let h = thread::spawn(|| panic!("worker failed"));
            println!("joined: {}", h.join().is_err());
        }
        _ => println!("usage: sleep|stdin|exit|panic"),
    }
}
