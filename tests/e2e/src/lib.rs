//! Multi-process end-to-end tests
