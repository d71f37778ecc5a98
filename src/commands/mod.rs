//! One module per subcommand that touches the runtime or writes files; `location` finds the spec and the store,
//! `table` prints the record-reading commands' tables and JSON.

pub(crate) mod build;
pub(crate) mod lineage;
pub(crate) mod location;
pub(crate) mod models;
pub(crate) mod run;
pub(crate) mod runs;
pub(crate) mod step;
pub(crate) mod table;
