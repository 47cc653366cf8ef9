//! Collectors: one task per target, each polling and sending samples to the UI.
