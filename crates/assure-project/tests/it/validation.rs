//! One fixture and one snapshot per validation error kind.
