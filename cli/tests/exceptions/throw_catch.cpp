// C++ exceptions across several frames, built with the WebAssembly exception-handling proposal
// (-fwasm-exceptions; see BUILD.md next to this file for the exact toolchain and commands).
//
// Plain portable C++: the same source built natively (`c++ -O2 throw_catch.cpp`) prints the same
// lines, so the native build is an oracle for the wasm one. Every check also feeds the exit
// status: 0 when all of them hold, 1 otherwise (with a "FAILED" line naming the check).

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

static int failures = 0;

static void check(bool ok, const char* what) {
    if (!ok) {
        std::printf("FAILED: %s\n", what);
        failures++;
    }
}

// Keeps the optimizer from folding the recursion and the throws into their callers.
#define NOINLINE __attribute__((noinline))
static volatile int opaque_zero = 0;

// ---------------------------------------------------------------------------------------------
// Exception classes: a base carrying an int, a derived one adding a std::string (long enough to
// live on the heap, so copying and destroying the exception object really does work). A live
// count shows that every exception object is destroyed once its last handler exits.

static int live_errors = 0;

struct BaseError {
    int code;
    explicit BaseError(int c) : code(c) { live_errors++; }
    BaseError(const BaseError& o) : code(o.code) { live_errors++; }
    virtual ~BaseError() { live_errors--; }
    virtual const char* kind() const { return "BaseError"; }
};

struct DetailedError : BaseError {
    std::string detail;
    DetailedError(int c, std::string d) : BaseError(c), detail(std::move(d)) {}
    const char* kind() const override { return "DetailedError"; }
};

struct OtherError {
    int value;
};

// Prints when a frame is left, normally or by unwinding (the cleanup landing pads run).
struct Guard {
    const char* name;
    int level;
    Guard(const char* n, int l) : name(n), level(l) {}
    ~Guard() {
        std::printf("  ~Guard(%s %d) uncaught=%d\n", name, level, std::uncaught_exceptions());
    }
};

// ---------------------------------------------------------------------------------------------
// 1. Recursion depth 5, throw at the bottom, catch by base-class reference at the top.

NOINLINE static int dive(int level, int max) {
    Guard g("dive", level);
    if (level == max) {
        throw DetailedError(level * 100 + 7,
                            "thrown at the bottom of a recursion of depth five, after all");
    }
    return dive(level + 1, max) + 1;  // not a tail call: the Guard lives across it
}

static void test_deep_throw() {
    std::printf("test 1: throw through 5 frames, catch by base reference\n");
    try {
        int r = dive(1, 5);
        std::printf("  not reached %d\n", r);
        check(false, "dive returned");
    } catch (const BaseError& e) {
        std::printf("  caught %s code=%d\n", e.kind(), e.code);
        const DetailedError* d = dynamic_cast<const DetailedError*>(&e);
        check(d != nullptr, "dynamic_cast to DetailedError");
        if (d) std::printf("  detail=\"%s\" (%zu chars)\n", d->detail.c_str(), d->detail.size());
        check(e.code == 507, "code is 507");
        check(std::uncaught_exceptions() == 0, "no uncaught exception inside the handler");
    }
    check(live_errors == 0, "exception object destroyed after test 1");
}

// ---------------------------------------------------------------------------------------------
// 2. Rethrow with `throw;` from a catch block, caught again two frames further out; the
//    rethrown object is the same object (its address and the change made to it survive).

static const void* first_seen = nullptr;

NOINLINE static void thrower(int code) {
    Guard g("thrower", code);
    throw DetailedError(code, "rethrow me");
}

NOINLINE static void middle(int code) {
    Guard g("middle", code);
    try {
        thrower(code);
    } catch (DetailedError& e) {
        std::printf("  middle caught code=%d, rethrowing\n", e.code);
        first_seen = &e;
        e.code += 1;  // visible to the outer handler: `throw;` rethrows the same object
        throw;
    }
    check(false, "middle went on after throw;");
}

NOINLINE static void outer(int code) {
    Guard g("outer", code);
    middle(code);
}

static void test_rethrow() {
    std::printf("test 2: throw; from a catch block, caught in an outer frame\n");
    try {
        outer(20);
    } catch (const BaseError& e) {
        std::printf("  outer caught %s code=%d same_object=%d\n", e.kind(), e.code,
                    first_seen == &e ? 1 : 0);
        check(e.code == 21, "code incremented before rethrow");
        check(first_seen == &e, "rethrow keeps the same exception object");
    }
    check(live_errors == 0, "exception object destroyed after test 2");
}

// ---------------------------------------------------------------------------------------------
// 3. catch (...), and handler selection: the first non-matching handlers are skipped.

NOINLINE static void throw_int(int v) {
    if (v > opaque_zero) throw v;
}

NOINLINE static void throw_other(int v) {
    throw OtherError{v};
}

static void test_catch_all_and_selection() {
    std::printf("test 3: catch (...) and handler selection\n");
    try {
        throw_other(33);
    } catch (const BaseError&) {
        check(false, "OtherError caught as BaseError");
    } catch (...) {
        std::printf("  catch (...) got an OtherError\n");
    }
    try {
        throw_int(44);
    } catch (const std::exception&) {
        check(false, "int caught as std::exception");
    } catch (const BaseError&) {
        check(false, "int caught as BaseError");
    } catch (long) {
        check(false, "int caught as long");
    } catch (int v) {
        std::printf("  catch (int) got %d\n", v);
        check(v == 44, "int value");
    } catch (...) {
        check(false, "int reached catch (...)");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. An exception escapes a noexcept(false) function (a destructor, the one kind of function
//    that is noexcept by default) and a plain noexcept(false) function pointer call.

struct ThrowingDestructor {
    int id;
    ~ThrowingDestructor() noexcept(false) {
        std::printf("  ~ThrowingDestructor(%d) throws\n", id);
        throw BaseError(id);
    }
};

NOINLINE static void leave_scope_with_throwing_destructor() {
    Guard g("scope", 4);
    ThrowingDestructor t{40};
    std::printf("  leaving the scope normally\n");
}

static void may_throw(int v) noexcept(false) {
    if (v != opaque_zero) throw DetailedError(v, "via a function pointer");
}

static void (*volatile may_throw_ptr)(int) = may_throw;

static void test_noexcept_false() {
    std::printf("test 4: exceptions escaping noexcept(false) functions\n");
    try {
        leave_scope_with_throwing_destructor();
        check(false, "destructor exception lost");
    } catch (const BaseError& e) {
        std::printf("  caught %s code=%d from a destructor\n", e.kind(), e.code);
        check(e.code == 40, "destructor exception code");
    }
    try {
        may_throw_ptr(41);
        check(false, "function pointer call returned");
    } catch (const DetailedError& e) {
        std::printf("  caught %s code=%d detail=\"%s\"\n", e.kind(), e.code, e.detail.c_str());
        check(e.code == 41, "function pointer exception code");
    }
    check(live_errors == 0, "exception objects destroyed after test 4");
}

// ---------------------------------------------------------------------------------------------
// 5. Exceptions from the standard library: std::vector::at out of range (std::out_of_range),
//    and a std::runtime_error thrown and caught as std::exception.

NOINLINE static int element(const std::vector<int>& v, size_t i) {
    Guard g("element", (int)i);
    return v.at(i);
}

static void test_standard_exceptions() {
    std::printf("test 5: standard library exceptions\n");
    std::vector<int> v{1, 2, 3};
    try {
        int x = element(v, 2);
        std::printf("  v.at(2)=%d\n", x);
        x = element(v, 3);
        std::printf("  not reached %d\n", x);
        check(false, "v.at(3) returned");
    } catch (const std::out_of_range& e) {
        std::printf("  caught std::out_of_range\n");
    }
    try {
        throw std::runtime_error("runtime error with a message");
    } catch (const std::exception& e) {
        std::printf("  caught std::exception what=\"%s\"\n", e.what());
        check(std::string(e.what()) == "runtime error with a message", "runtime_error what()");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. A throw inside a handler (nested exceptions), and std::exception_ptr.

static void test_nested_and_exception_ptr() {
    std::printf("test 6: nested exceptions and std::exception_ptr\n");
    try {
        throw BaseError(60);
    } catch (const BaseError& outer_e) {
        try {
            throw_int(61);
        } catch (int inner) {
            std::printf("  inner %d inside handler of %d\n", inner, outer_e.code);
        }
        check(outer_e.code == 60, "outer exception intact after a nested one");
    }
    std::exception_ptr saved;
    try {
        throw DetailedError(62, "saved for later");
    } catch (...) {
        saved = std::current_exception();
    }
    check(saved != nullptr, "current_exception captured");
    check(live_errors == 1, "exception_ptr keeps the object alive");
    try {
        std::rethrow_exception(saved);
    } catch (const DetailedError& e) {
        std::printf("  rethrown from exception_ptr: code=%d detail=\"%s\"\n", e.code,
                    e.detail.c_str());
        check(e.code == 62, "exception_ptr code");
    }
    saved = nullptr;
    check(live_errors == 0, "exception object destroyed after test 6");
}

// ---------------------------------------------------------------------------------------------
// 7. 1000 throws and catches in a loop, through two frames each, summing the values.

NOINLINE static void throw_value(int i) {
    if (i % 3 == 0) throw i;
    if (i % 3 == 1) throw BaseError(i);
    throw DetailedError(i, "loop");
}

NOINLINE static void relay(int i) {
    throw_value(i);
}

static void test_loop() {
    std::printf("test 7: 1000 throws in a loop\n");
    long long sum = 0;
    int ints = 0, bases = 0, detailed = 0;
    for (int i = 0; i < 1000; i++) {
        try {
            relay(i);
        } catch (int v) {
            sum += v;
            ints++;
        } catch (const DetailedError& e) {
            sum += e.code;
            detailed++;
        } catch (const BaseError& e) {
            sum += e.code;
            bases++;
        }
    }
    std::printf("  sum=%lld ints=%d bases=%d detailed=%d\n", sum, ints, bases, detailed);
    check(sum == 499500, "loop sum");
    check(ints == 334 && bases == 333 && detailed == 333, "loop counts");
    check(live_errors == 0, "exception objects destroyed after the loop");
}

int main() {
    test_deep_throw();
    test_rethrow();
    test_catch_all_and_selection();
    test_noexcept_false();
    test_standard_exceptions();
    test_nested_and_exception_ptr();
    test_loop();
    std::printf("live exception objects: %d\n", live_errors);
    if (failures) {
        std::printf("%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("all exception tests passed\n");
    return 0;
}
