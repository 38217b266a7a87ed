//! The `wasic` command.
fn main() {}
