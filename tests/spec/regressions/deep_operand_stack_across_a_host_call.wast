;; Found by the differential fuzz target (2026-12-03, fuzz/STATUS.md session 8): a function that
;; leaves nine i64 constants, 18 null externrefs and 25 null funcrefs on the operand stack
;; around a host call, inside four nested loops, then folds i64s into global `I` with `xor`.
;; With the arguments below (parameter 3 is 0) the `if` around the loops is not taken and `I`
;; stays 0, which wasic and wasmtime 50.0.1 answer; wasmi 2.0 answered a different value on
;; every run (a bug of the oracle). Kept to pin wasic's answer.

(module $host
  (func (export "mix") (param i32 i64 f32 f64) (result i64) (i64.const 1))
  (func (export "trap_if_7") (param i32) (if (i32.eq (local.get 0) (i32.const 7)) (then unreachable))))
(register "host")

(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func (param i64)))
  (type (;2;) (func (param f32)))
  (type (;3;) (func (param f64)))
  (type (;4;) (func (param i32 f32)))
  (type (;5;) (func (param f64 f64)))
  (type (;6;) (func (param i32 i64 f32 f64) (result i64)))
  (type (;7;) (func (param i32) (result i32 f64 i64 f32)))
  (type (;8;) (func (param i64 i64 i64 i32 i32 i32 i32 i32 i32 i32 i32) (result i32 i32 i32 i32 i64)))
  (import "spectest" "print_i32" (func (;0;) (type 0) (param i32)))
  (import "spectest" "print_i64" (func (;1;) (type 1) (param i64)))
  (import "spectest" "print_i32_f32" (func (;2;) (type 4) (param i32 f32)))
  (import "spectest" "print_f64_f64" (func (;3;) (type 5) (param f64 f64)))
  (import "host" "mix" (func (;4;) (type 6) (param i32 i64 f32 f64) (result i64)))
  (import "host" "trap_if_7" (func (;5;) (type 0) (param i32)))
  (import "spectest" "global_i32" (global (;0;) i32))
  (import "spectest" "global_f64" (global (;1;) f64))
  (global (;2;) (mut i64) i64.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut i32) i32.const 0)
  (global (;5;) (mut i64) i64.const 0)
  (global (;6;) (mut i32) i32.const 50)
  (export "U" (func 0))
  (export "" (func 1))
  (export "2" (func 2))
  (export "3" (func 3))
  (export "4" (func 4))
  (export "5" (func 5))
  (export "6" (func 6))
  (export "7" (global 0))
  (export "8" (global 1))
  (export "I" (global 2))
  (export "IIIIIIIUUUUUUUUUUUUUUUUUUU" (global 3))
  (export "U11" (global 4))
  (export "12" (global 5))
  (func (;6;) (type 8) (param i64 i64 i64 i32 i32 i32 i32 i32 i32 i32 i32) (result i32 i32 i32 i32 i64)
    (local f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32)
    global.get 6
    i32.eqz
    if ;; label = @1
      unreachable
    end
    global.get 6
    i32.const 1
    i32.sub
    global.set 6
    local.get 0
    i32.const 32767
    f32.convert_i32_u
    local.get 3
    if (type 2) (param f32) ;; label = @1
      loop (type 2) (param f32) ;; label = @2
        global.get 6
        i32.eqz
        if ;; label = @3
          unreachable
        end
        global.get 6
        i32.const 1
        i32.sub
        global.set 6
        loop (type 2) (param f32) ;; label = @3
          global.get 6
          i32.eqz
          if ;; label = @4
            unreachable
          end
          global.get 6
          i32.const 1
          i32.sub
          global.set 6
          f32.neg
          loop (type 2) (param f32) ;; label = @4
            global.get 6
            i32.eqz
            if ;; label = @5
              unreachable
            end
            global.get 6
            i32.const 1
            i32.sub
            global.set 6
            loop (type 2) (param f32) ;; label = @5
              global.get 6
              i32.eqz
              if ;; label = @6
                unreachable
              end
              global.get 6
              i32.const 1
              i32.sub
              global.set 6
              f32.const -0x1.e48fe4p+102 (;=-9597740700000000000000000000000;)
              f32.sqrt
              local.tee 11
              f32.const nan (;=NaN;)
              local.get 11
              local.get 11
              f32.eq
              select
              f32.sqrt
              local.tee 12
              f32.const nan (;=NaN;)
              local.get 12
              local.get 12
              f32.eq
              select
              f32.sqrt
              local.tee 13
              f32.const nan (;=NaN;)
              local.get 13
              local.get 13
              f32.eq
              select
              f32.sqrt
              local.tee 14
              f32.const nan (;=NaN;)
              local.get 14
              local.get 14
              f32.eq
              select
              f32.sqrt
              local.tee 15
              f32.const nan (;=NaN;)
              local.get 15
              local.get 15
              f32.eq
              select
              f32.sqrt
              local.tee 16
              f32.const nan (;=NaN;)
              local.get 16
              local.get 16
              f32.eq
              select
              f32.sqrt
              local.tee 17
              f32.const nan (;=NaN;)
              local.get 17
              local.get 17
              f32.eq
              select
              f32.sqrt
              local.tee 18
              f32.const nan (;=NaN;)
              local.get 18
              local.get 18
              f32.eq
              select
              f32.sqrt
              local.tee 19
              f32.const nan (;=NaN;)
              local.get 19
              local.get 19
              f32.eq
              select
              f32.sqrt
              local.tee 20
              f32.const nan (;=NaN;)
              local.get 20
              local.get 20
              f32.eq
              select
              f32.sqrt
              local.tee 21
              f32.const nan (;=NaN;)
              local.get 21
              local.get 21
              f32.eq
              select
              f32.sqrt
              local.tee 22
              f32.const nan (;=NaN;)
              local.get 22
              local.get 22
              f32.eq
              select
              f32.sqrt
              local.tee 23
              f32.const nan (;=NaN;)
              local.get 23
              local.get 23
              f32.eq
              select
              f32.floor
              local.tee 24
              f32.const nan (;=NaN;)
              local.get 24
              local.get 24
              f32.eq
              select
              f32.floor
              local.tee 25
              f32.const nan (;=NaN;)
              local.get 25
              local.get 25
              f32.eq
              select
              f32.floor
              local.tee 26
              f32.const nan (;=NaN;)
              local.get 26
              local.get 26
              f32.eq
              select
              f32.div
              local.tee 27
              f32.const nan (;=NaN;)
              local.get 27
              local.get 27
              f32.eq
              select
              i64.trunc_sat_f32_u
              ref.null extern
              local.get 1
              ref.null extern
              local.get 2
              i64.eqz
              call 5
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null func
              ref.null extern
              local.get 1
              ref.null extern
              local.get 1
              ref.null extern
              local.get 1
              ref.null extern
              local.get 1
              ref.null extern
              local.get 1
              ref.null extern
              local.get 1
              f32.convert_i64_u
              i32.trunc_f32_u
              block (type 7) (param i32) (result i32 f64 i64 f32) ;; label = @6
                i32.extend8_s
                block (result i32) ;; label = @7
                  f64.const 0x1p-1007 (;=0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007291122019556398;)
                  i64.trunc_sat_f64_u
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  i64.const -3834029160418063670
                  ref.null extern
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  drop
                  global.get 2
                  i64.xor
                  global.set 2
                  i32.const 2048
                end
                global.get 3
                i32.xor
                global.set 3
                f64.const 0x1p-1007 (;=0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007291122019556398;)
                i64.const 72057594037927936
                f32.const 0x1.p-138 (;=0.00000000000000000000000000000000000000000287;)
              end
              i32.reinterpret_f32
              global.get 4
              i32.xor
              global.set 4
              global.get 2
              i64.xor
              global.set 2
              i64.reinterpret_f64
              global.get 5
              i64.xor
              global.set 5
              global.get 3
              i32.xor
              global.set 3
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              drop
              global.get 2
              i64.xor
              global.set 2
              drop
              global.get 2
              i64.xor
              global.set 2
            end
          end
        end
      end
    else
      i32.reinterpret_f32
      global.get 4
      i32.xor
      global.set 4
    end
    global.get 2
    i64.xor
    global.set 2
    i32.const -892679478
    i32.const 181062346
    i32.const -1073741824
    i32.const -1073741824
    i64.const 2305843009213693952
  )
)


(assert_return
  (invoke "6" (i64.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
    (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
  (i32.const -892679478) (i32.const 181062346) (i32.const -1073741824) (i32.const -1073741824)
  (i64.const 2305843009213693952))
(assert_return (get "I") (i64.const 0))
