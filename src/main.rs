//! The agentid command-line tool.

fn main() {}
