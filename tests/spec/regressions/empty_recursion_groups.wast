;; Empty recursion groups (`(rec)`) hold no type: the metadata records only the groups that
;; have types (found by the typed_refs fuzz target: the loader refused a group of size 0), and
;; the types around them keep their indices and identities.
(module
  (rec)
  (rec
    (type $a (func (param (ref null $b)) (result i32)))
    (type $b (func (result i32))))
  (rec)
  (type $c (func (result i32)))
  (func $seven (type $b) (i32.const 7))
  (func $eight (type $c) (i32.const 8))
  (table funcref (elem $seven $eight))
  (elem declare func $seven)
  (func $apply (export "apply") (type $a) (call_ref $b (local.get 0)))
  (func (export "run") (result i32)
    (call $apply (ref.func $seven)))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (type $b) (local.get 0))))

(assert_return (invoke "run") (i32.const 7))
;; $b is in a recursion group with $a, $c is not: different types.
(assert_return (invoke "indirect" (i32.const 0)) (i32.const 7))
(assert_trap (invoke "indirect" (i32.const 1)) "indirect call type mismatch")
