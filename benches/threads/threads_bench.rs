//! The threads benchmark's program (benches/threads/run.sh), built natively and for
//! `wasm32-wasip1-threads`: `work T` splits a CPU-bound computation (Collatz path lengths of
//! 1..=3,000,000, interleaved so that every thread gets the same mix) over T threads;
//! `mutex T` has T threads take one `Mutex` 2,000,000 times in all (contended when T > 1).
//! Each prints a checksum that does not depend on T.

use std::sync::{Arc, Mutex};
use std::thread;

fn collatz_len(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("work");
    let threads: u64 = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    match what {
        "work" => {
            const N: u64 = 3_000_000;
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    thread::spawn(move || {
                        (1 + t..=N)
                            .step_by(threads as usize)
                            .map(collatz_len)
                            .sum::<u64>()
                    })
                })
                .collect();
            let total: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            println!("collatz steps: {total}");
        }
        "mutex" => {
            const TOTAL: u64 = 2_000_000;
            let m = Arc::new(Mutex::new(0u64));
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let m = m.clone();
                    thread::spawn(move || {
                        for _ in 0..TOTAL / threads {
                            *m.lock().unwrap() += 1;
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            println!("increments: {}", *m.lock().unwrap());
        }
        _ => {
            eprintln!("usage: threads_bench work|mutex THREADS");
            std::process::exit(2);
        }
    }
}
