package record

// Version is the format of a store: written under index.FormatKey when
// the store is made, and Open refuses a store with another. Version 3
// keeps float sums exact and seals the schema's records; version 2
// (rounded float sums) and 1 (top entries as keys) are not read.
const Version = "relgraph/3"
