package record

// Version is the format of a store: written under index.FormatKey when
// the store is made, and Open refuses a store with another. Version 3
// keeps float sums exact and seals the schema's records; version 2
// (rounded float sums) and 1 (top entries as keys) are not read.
const Version = "relgraph/3"

// VersionFeed is Version for a store whose change feed is on: the same
// records, plus the feed. It is a version of its own so that a relgraph
// built before the feed, which would write without appending changes
// (a committed write without its change), refuses the store instead.
// Turning the feed off writes Version back.
const VersionFeed = "relgraph/3+feed"
