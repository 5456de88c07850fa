//! One module per subcommand; each turns its arguments into engine calls and prints the result.

pub(crate) mod account;
pub(crate) mod cp;
pub(crate) mod ls;
pub(crate) mod objects;
pub(crate) mod serve;
pub(crate) mod sync;
pub(crate) mod transfers;
pub(crate) mod versions;
pub(crate) mod watch;
