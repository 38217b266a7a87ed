//! Shared helpers of wasic's end-to-end tests.
