//! Terminal set-up and restore, including from the panic hook.

use color_eyre::eyre::Result;

pub fn install_hooks() -> Result<()> {
    color_eyre::install()
}
