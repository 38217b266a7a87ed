//! A Rust program using std's threads, for `wasm32-wasip1-threads` and natively: every line it
//! prints is deterministic, so both builds must print exactly the same.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

thread_local! {
    static LOCAL: Cell<u64> = const { Cell::new(0) };
}

fn main() {
    // Join handles returning values; thread-local storage is per thread.
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            thread::spawn(move || {
                for k in 0..=1000 * (i + 1) {
                    LOCAL.with(|l| l.set(l.get() + k));
                }
                LOCAL.with(|l| l.get())
            })
        })
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("join: {sums:?}, main's local: {}", LOCAL.with(|l| l.get()));

    // A contended mutex.
    let counter = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || {
                for _ in 0..20_000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!("mutex: {}", *counter.lock().unwrap());

    // Atomics.
    let hits = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..50_000 {
                    hits.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    println!("atomics: {}", hits.load(Ordering::SeqCst));

    // Condvar: a consumer waits for a producer's value.
    let pair = Arc::new((Mutex::new(None::<u32>), Condvar::new()));
    let p2 = pair.clone();
    let consumer = thread::spawn(move || {
        let (lock, cv) = &*p2;
        let mut v = lock.lock().unwrap();
        while v.is_none() {
            v = cv.wait(v).unwrap();
        }
        v.unwrap() * 2
    });
    thread::sleep(Duration::from_millis(20));
    *pair.0.lock().unwrap() = Some(21);
    pair.1.notify_all();
    println!("condvar: {}", consumer.join().unwrap());

    // A condvar wait that times out.
    let (lock, cv) = (Mutex::new(()), Condvar::new());
    let start = Instant::now();
    let (_g, r) = cv
        .wait_timeout(lock.lock().unwrap(), Duration::from_millis(30))
        .unwrap();
    println!(
        "wait_timeout: timed out {}, waited enough {}",
        r.timed_out(),
        start.elapsed() >= Duration::from_millis(30)
    );

    // mpsc channels with several producers.
    let (tx, rx) = mpsc::channel();
    for id in 0..3u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for k in 0..100 {
                tx.send(id * 1000 + k).unwrap();
            }
        });
    }
    drop(tx);
    let mut got: Vec<u32> = rx.iter().collect();
    got.sort();
    println!(
        "mpsc: {} messages, sum {}, first {:?}, last {:?}",
        got.len(),
        got.iter().sum::<u32>(),
        got.first(),
        got.last()
    );

    // A sync channel of capacity 0 (rendezvous).
    let (tx, rx) = mpsc::sync_channel(0);
    let t = thread::spawn(move || (0..5).map(|_| rx.recv().unwrap()).sum::<i32>());
    for i in 1..=5 {
        tx.send(i).unwrap();
    }
    println!("sync_channel: {}", t.join().unwrap());

    // Barrier: nobody passes before everybody arrived.
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let arrived = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (b, a) = (barrier.clone(), arrived.clone());
            thread::spawn(move || {
                a.fetch_add(1, Ordering::SeqCst);
                let leader = b.wait().is_leader();
                (a.load(Ordering::SeqCst), leader)
            })
        })
        .collect();
    let seen: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    println!(
        "barrier: all saw {}: {}, leaders: {}",
        n,
        seen.iter().all(|(a, _)| *a == n),
        seen.iter().filter(|(_, l)| *l).count()
    );

    // Scoped threads borrowing the caller's data.
    let data: Vec<u64> = (1..=10_000).collect();
    let total: u64 = thread::scope(|s| {
        let hs: Vec<_> = data
            .chunks(2500)
            .map(|c| s.spawn(move || c.iter().sum::<u64>()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!("scope: {total}");

    // RwLock, thread names, and threads spawning threads.
    let table = Arc::new(RwLock::new(vec![1, 2, 3]));
    let t = {
        let table = table.clone();
        thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                let inner = thread::spawn(|| 40);
                table.write().unwrap().push(inner.join().unwrap());
                thread::current().name().map(str::to_string)
            })
            .unwrap()
    };
    println!("rwlock: name {:?}, table {:?}", t.join().unwrap(), table.read().unwrap());

    // Many short-lived threads.
    let total: usize = (0..64)
        .map(|i| thread::spawn(move || i * 2))
        .map(|h| h.join().unwrap())
        .sum();
    println!("64 threads: {total}");
}
