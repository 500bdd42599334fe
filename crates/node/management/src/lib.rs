//! Management device logic: admission, endorsement, ordering
