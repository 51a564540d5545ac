//! Garbage in project files gets a clear diagnostic, never a panic.
