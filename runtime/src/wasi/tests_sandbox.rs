//! Sandbox escape tests: every attempt to reach outside a preopen must fail and touch nothing.
