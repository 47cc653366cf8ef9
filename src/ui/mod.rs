//! Drawing: one module per pane, dialogs, theme and keymap. Rendering is a pure function of state.

pub mod terminal;
