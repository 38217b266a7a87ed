;; gc_binary_trees.wat: the Computer Language Benchmarks Game "binary-trees" benchmark, written
;; by hand in WebAssembly text with the garbage-collection proposal, as a GC benchmark for wasic.
;;
;; Every tree node is a GC struct `$node` with two nullable references (`struct.new`,
;; `struct.get`); each iteration also allocates a short-lived `(array (mut i32))` of length d
;; (`array.new`, `array.set`, `array.get`, `array.len`) whose length plus last element (both d)
;; go into a side checksum printed on the last line. No linear-memory allocator: linear memory only
;; holds the output buffer, the string constants and the command-line arguments.
;;
;; Usage: one optional argument, the maximum depth N (decimal, default 21; at least 6).
;; Imports only fd_write, args_sizes_get and args_get from wasi_snapshot_preview1.
;;
;;   wasm-tools parse gc_binary_trees.wat -o gc_binary_trees.wasm   (or the `wat` crate)
;;   wasmtime run -W gc=y,function-references=y gc_binary_trees.wasm 10
;;   wasic build gc_binary_trees.wasm -o gc_binary_trees && ./gc_binary_trees 10   (once wasic has GC)
;;
;; Expected output for N=10 (the standard binary-trees output, plus the array line):
;;   stretch tree of depth 11	 check: 4095
;;   1024	 trees of depth 4	 check: 31744
;;   256	 trees of depth 6	 check: 32512
;;   64	 trees of depth 8	 check: 32704
;;   16	 trees of depth 10	 check: 32752
;;   long lived tree of depth 10	 check: 2047
;;   array checksum: 12608
;; For N=21 the array checksum is 26097408 and the tree lines are the usual ones
;; (e.g. "2097152	 trees of depth 4	 check: 65011712").
(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))
  (type $ints (array (mut i32)))

  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))

  ;; Layout: 0 iovec, 8 nwritten, 16 argc, 20 argv_buf_size, 256.. strings,
  ;; 4096..8191 output buffer, 8192.. argv pointers then argv bytes.
  (memory (export "memory") 1)
  (data (i32.const 256) "stretch tree of depth ")       ;; 22 bytes
  (data (i32.const 288) "\t check: ")                    ;; 9 bytes
  (data (i32.const 304) "\t trees of depth ")            ;; 17 bytes
  (data (i32.const 336) "long lived tree of depth ")     ;; 25 bytes
  (data (i32.const 368) "array checksum: ")              ;; 16 bytes

  (global $out_start i32 (i32.const 4096))
  (global $pos (mut i32) (i32.const 4096))

  ;; ---- output helpers -------------------------------------------------------------------

  ;; Append len bytes at ptr to the output buffer.
  (func $puts (param $ptr i32) (param $len i32)
    (memory.copy (global.get $pos) (local.get $ptr) (local.get $len))
    (global.set $pos (i32.add (global.get $pos) (local.get $len))))

  (func $putc (param $c i32)
    (i32.store8 (global.get $pos) (local.get $c))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1))))

  ;; Append the decimal form of an unsigned 64-bit integer.
  (func $putn (param $v i64)
    (local $tmp i32) (local $n i32)
    ;; digits go backwards into a scratch area ending at 64 (at most 20 bytes), then get copied
    (local.set $tmp (i32.const 64))
    (loop $digits
      (local.set $tmp (i32.sub (local.get $tmp) (i32.const 1)))
      (i32.store8 (local.get $tmp)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $v) (i64.const 0))))
    (call $puts (local.get $tmp) (i32.sub (i32.const 64) (local.get $tmp))))

  ;; Write the buffered line(s) to fd 1, looping over partial writes.
  (func $flush
    (local $p i32) (local $left i32)
    (local.set $p (global.get $out_start))
    (local.set $left (i32.sub (global.get $pos) (global.get $out_start)))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $left)))
        (i32.store (i32.const 0) (local.get $p))
        (i32.store (i32.const 4) (local.get $left))
        (br_if $done
          (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $done (i32.eqz (i32.load (i32.const 8))))
        (local.set $p (i32.add (local.get $p) (i32.load (i32.const 8))))
        (local.set $left (i32.sub (local.get $left) (i32.load (i32.const 8))))
        (br $again)))
    (global.set $pos (global.get $out_start)))

  ;; ---- command line -----------------------------------------------------------------------

  ;; The first argument as a decimal number, or $default when absent or not a number.
  (func $arg1 (param $default i32) (result i32)
    (local $argc i32) (local $bufsize i32) (local $argv i32) (local $buf i32)
    (local $need i32) (local $have i32) (local $p i32) (local $c i32) (local $v i32)
    (local $digits i32)
    (if (call $args_sizes_get (i32.const 16) (i32.const 20))
      (then (return (local.get $default))))
    (local.set $argc (i32.load (i32.const 16)))
    (local.set $bufsize (i32.load (i32.const 20)))
    (if (i32.lt_u (local.get $argc) (i32.const 2))
      (then (return (local.get $default))))
    (local.set $argv (i32.const 8192))
    (local.set $buf (i32.add (local.get $argv) (i32.shl (local.get $argc) (i32.const 2))))
    ;; grow linear memory if the arguments do not fit
    (local.set $need (i32.add (local.get $buf) (local.get $bufsize)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then (return (local.get $default))))))
    (if (call $args_get (local.get $argv) (local.get $buf))
      (then (return (local.get $default))))
    (local.set $p (i32.load offset=4 (local.get $argv)))
    (block $end
      (loop $next
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $end (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (result i32) (local.get $digits)
      (then (local.get $v))
      (else (local.get $default))))

  ;; ---- the benchmark ----------------------------------------------------------------------

  (func $bottom_up_tree (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
        (struct.new $node
          (call $bottom_up_tree (local.get $depth))
          (call $bottom_up_tree (local.get $depth))))))

  ;; Number of nodes: 1 + check(left) + check(right); a node has both children or none.
  (func $check (param $t (ref $node)) (result i32)
    (local $l (ref null $node))
    (local.set $l (struct.get $node $l (local.get $t)))
    (if (result i32) (ref.is_null (local.get $l))
      (then (i32.const 1))
      (else
        (i32.add
          (i32.add (i32.const 1) (call $check (ref.as_non_null (local.get $l))))
          (call $check (ref.as_non_null (struct.get $node $r (local.get $t))))))))

  (func $run (param $n i32)
    (local $max i32) (local $d i32) (local $iters i32) (local $i i32)
    (local $sum i64) (local $side i64)
    (local $long (ref null $node))
    (local $a (ref null $ints))
    ;; max_depth = max(min_depth + 2, n), min_depth = 4
    (local.set $max (select (local.get $n) (i32.const 6)
                      (i32.gt_s (local.get $n) (i32.const 6))))

    ;; stretch tree of depth max+1
    (call $puts (i32.const 256) (i32.const 22))
    (call $putn (i64.extend_i32_u (i32.add (local.get $max) (i32.const 1))))
    (call $puts (i32.const 288) (i32.const 9))
    (call $putn (i64.extend_i32_u
      (call $check (call $bottom_up_tree (i32.add (local.get $max) (i32.const 1))))))
    (call $putc (i32.const 10))
    (call $flush)

    ;; long-lived tree, kept alive across the loop
    (local.set $long (call $bottom_up_tree (local.get $max)))

    (local.set $d (i32.const 4))
    (loop $depths
      ;; iterations = 2^(max - d + 4)
      (local.set $iters (i32.shl (i32.const 1)
        (i32.add (i32.sub (local.get $max) (local.get $d)) (i32.const 4))))
      (local.set $sum (i64.const 0))
      (local.set $i (i32.const 0))
      (loop $iter
        (local.set $sum (i64.add (local.get $sum)
          (i64.extend_i32_u (call $check (call $bottom_up_tree (local.get $d))))))
        ;; a short-lived array of length d, filled with 1, last element set to d
        (local.set $a (array.new $ints (i32.const 1) (local.get $d)))
        (array.set $ints (local.get $a)
          (i32.sub (local.get $d) (i32.const 1)) (local.get $d))
        (local.set $side (i64.add (local.get $side)
          (i64.extend_i32_u
            (i32.add (array.len (local.get $a))
                     (array.get $ints (local.get $a) (i32.sub (local.get $d) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $iter (i32.lt_u (local.get $i) (local.get $iters))))
      ;; "<iters>\t trees of depth <d>\t check: <sum>"
      (call $putn (i64.extend_i32_u (local.get $iters)))
      (call $puts (i32.const 304) (i32.const 17))
      (call $putn (i64.extend_i32_u (local.get $d)))
      (call $puts (i32.const 288) (i32.const 9))
      (call $putn (local.get $sum))
      (call $putc (i32.const 10))
      (call $flush)
      (local.set $d (i32.add (local.get $d) (i32.const 2)))
      (br_if $depths (i32.le_s (local.get $d) (local.get $max))))

    (call $puts (i32.const 336) (i32.const 25))
    (call $putn (i64.extend_i32_u (local.get $max)))
    (call $puts (i32.const 288) (i32.const 9))
    (call $putn (i64.extend_i32_u (call $check (ref.as_non_null (local.get $long)))))
    (call $putc (i32.const 10))
    (call $puts (i32.const 368) (i32.const 16))
    (call $putn (local.get $side))
    (call $putc (i32.const 10))
    (call $flush))

  (func (export "_start")
    (call $run (call $arg1 (i32.const 21))))
)
