;; wasic's own test of the wast `thread` / `wait` directives with shared memories: threads
;; really run at the same time (tests/spec.rs runs each on an OS thread with its own store),
;; sharing the memory of the module they name.

;; A waiter blocks until another thread notifies it.
(module $Mem
  (memory (export "shared") 1 1 shared))

(thread $Waiter (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  ;; Only a notify (0, "ok") ends a wait without timeout.
  (assert_return (invoke "wait") (i32.const 0)))

(thread $Notifier (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "notify-none") (result i32)
      (memory.atomic.notify (i32.const 0) (i32.const 0)))
    ;; Notifies one waiter, again and again until there was one to wake.
    (func (export "notify-until-woken")
      (loop $again
        (br_if $again
          (i32.eqz (memory.atomic.notify (i32.const 0) (i32.const 1)))))))
  (assert_return (invoke "notify-none") (i32.const 0))
  (assert_return (invoke "notify-until-woken")))

(wait $Waiter)
(wait $Notifier)

;; Two threads add to one counter with atomic read-modify-writes: no update is lost.
(module $Counter
  (memory (export "shared") 1 1 shared)
  (func (export "get") (result i32) (i32.atomic.load (i32.const 64))))

(thread $A (shared (module $Counter))
  (register "c" $Counter)
  (module
    (memory (import "c" "shared") 1 1 shared)
    (func (export "add") (param $n i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (invoke "add" (i32.const 100000)))

(thread $B (shared (module $Counter))
  (register "c" $Counter)
  (module
    (memory (import "c" "shared") 1 1 shared)
    (func (export "add") (param $n i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (invoke "add" (i32.const 100000)))

(wait $A)
(wait $B)
(assert_return (invoke $Counter "get") (i32.const 200000))
