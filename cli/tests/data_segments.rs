//! Large data segments of an executable are mapped from the file (copy-on-write) instead of
//! copied at start-up: the bytes the program sees are the segment's at every page boundary,
//! before and after the mapped pages (a segment starting and ending inside a page), segments
//! overlapping one another keep their order, and stores into mapped pages change the
//! program's memory only, never the executable (a second run sees the original bytes).

mod common;

use common::*;

/// Byte `i` of the big segment.
fn pattern(i: usize) -> u8 {
    (i * 7 % 251) as u8 + 1
}

#[test]
fn a_large_data_segment_reads_back_exactly_and_stores_into_it_stay_in_the_process() {
    const LEN: usize = 300_000;
    const AT: usize = 1000; // not page-aligned: a head and a tail are copied
    let bytes: String = (0..LEN).map(|i| format!("\\{:02x}", pattern(i))).collect();
    // `$check` sums (byte * position) over the segment's range into an i64 and compares it
    // with the expected value; then stores 0xff at a mapped page and at the head.
    let expected: i64 = (0..LEN).map(|i| pattern(i) as i64 * (i as i64 + 1)).sum();
    let wat = format!(
        r#"(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory 8)
    (data (i32.const {AT}) "{bytes}")
    ;; A small segment after it, overlapping its last bytes: it wins.
    (data (i32.const {over}) "\00\00")
    (func (export "_start")
        (local $i i32) (local $sum i64)
        (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (i32.const {LEN})))
            (local.set $sum (i64.add (local.get $sum)
                (i64.mul (i64.load8_u offset={AT} (local.get $i))
                         (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        ;; Stores into a mapped page and into the copied head: the next run must not see them.
        (if (i32.ne (i32.load8_u (i32.const 70000)) (i32.const 0xff))
            (then (i32.store8 (i32.const 70000) (i32.const 0xff)))
            (else (call $exit (i32.const 3))))
        (i32.store8 (i32.const {AT}) (i32.const 0xff))
        (if (i64.ne (local.get $sum) (i64.const {want}))
            (then (call $exit (i32.const 2))))
        (call $exit (i32.const 0))))"#,
        over = AT + LEN - 2,
        want = expected
            - pattern(LEN - 2) as i64 * (LEN as i64 - 1)
            - pattern(LEN - 1) as i64 * LEN as i64,
    );
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("data.wat");
    std::fs::write(&src, wat).unwrap();
    let exe = build(&src, t.path(), "data", &[]);
    for run in 0..2 {
        let out = run_exe(&exe, &[]);
        assert_eq!(out.status, 0, "run {run}: {}", out.stderr);
    }
}
