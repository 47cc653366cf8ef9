//! The console's state, pure: collected samples, focus, dialogs, the wizard, and the requests
//! the console loop performs. `App::apply` folds a message in; nothing here does I/O.

pub mod action;
pub mod collected;
pub mod dialog;
pub mod hapview;
pub mod inspectview;
pub mod keymap;
pub mod queryview;
pub mod quit;
pub mod repairview;
pub mod request;
pub mod state;
pub mod verify;
pub mod wizard;

pub use state::App;
