//! HTTP servers for every role
