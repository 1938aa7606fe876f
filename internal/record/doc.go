// Package record is relgraph's on-disk format: the bytes of every value
// a store holds (the keys are package index's). The root package builds
// its values from the storage structs here and converts what it reads
// back; nothing outside the root, index and the checks imports it.
//
// Every record is msgpack, canonical (map keys sorted, each value in
// one encoding, so equal records give equal bytes), followed by a seal:
// the CRC-32C of those bytes, 4 bytes big-endian (Seal). A record that
// does not unseal, is not one well-formed msgpack value whose lengths
// fit its bytes (WellFormed), has a key its struct lacks, or holds a
// value no write produces is damage; the decoders say which.
//
// The store's format version is Version, under the meta key "format".
// Below, "str" is a msgpack string in its shortest form, "i64" the 9
// bytes of an int64 (0xd3 and 8 bytes big-endian), "u32" the 5 bytes of
// a uint32 (0xce …), "int" an integer in its shortest form, "bin" a
// bin8/bin16 in its shortest form; {…} is a map, […] an array.
//
// # Profile (keyspace profile: db ‖ pid)
//
//	{ "e": str email,            omitted when empty
//	  "p": [str phone, …],       E.164; omitted when empty
//	  "f": [{"n": str name, "v": value}, …],  sorted by name; omitted when empty
//	  "s": [subscription, …],    omitted when empty
//	  "c": i64 created,          Unix nanoseconds; 0 for none
//	  "u": i64 updated }
//
//	value:        { "k": str kind ("string", "int", "float", "bool",
//	                     "date", "tags"),
//	                "s": str,   "i": i64 (int; bool 0/1; date seconds),
//	                "n": int32 date nanoseconds, "x": float64,
//	                "t": [str tag, …] sorted set }  (each but "k" omitted when zero)
//	subscription: { "r": u32 resource, "c": str channel, "e": str, "p": str,
//	                "pv": str provider, "sid": str subscription id,
//	                "st": int status, "pr": int priority,
//	                "f": {str: str} custom fields, "cat": [str] }
//	                (e, p, pv, sid, pr, f, cat omitted when empty)
//
// For example a profile with an email and one int field:
//
//	84 a1 65 a6 61 40 78 2e 69 6f          {"e": "a@x.io",
//	   a1 66 91 82 a1 6e a1 6e              "f": [{"n": "n",
//	   a1 76 82 a1 6b a3 69 6e 74           "v": {"k": "int",
//	   a1 69 d3 00 00 00 00 00 00 00 01            "i": 1}}],
//	   a1 63 d3 00 00 00 00 00 00 00 01     "c": 1,
//	   a1 75 d3 00 00 00 00 00 00 00 02     "u": 2}
//	   12 c9 29 3b                          seal
//
// (the map's length counts the keys present; "c" and "u" always are).
// Profiles are encoded by hand (Profile.EncodeMsgpack), byte for byte
// as msgpack's struct encoding writes them, and read by reflection.
//
// # Relation (keyspace adj: rel ‖ A ‖ 0x01 ‖ B)
//
//	83 a1 63 d3 <8: created>  a1 75 d3 <8: updated>  a1 77 <map of n>
//	   then n × (str name, value)    names sorted, each declared
//	   value: d3 <8> int | cb <8> float (finite) | c3 true | c2 false | str
//	<4: seal>
//
// Read in place, byte by byte (ParseRelation), and refused unless
// exactly so.
//
// # Counter (keyspace adj: rel ‖ A ‖ 0x00)
//
//	[ i64 total,
//	  [ [str name, i64 total, i64 sum high, u64 sum low, bin float sum,
//	     bin top list], … ] ]   names sorted
//
// The int sum is 128-bit two's complement (Int128). The float sum is
// exact (FloatSum): empty for zero, else a 4-byte exponent (big-endian
// two's complement), a sign byte and the magnitude, big-endian, odd and
// without leading zeros. The top list is 0 to 2×MaxTop TopEntry values
// of 20 bytes each, strictly increasing:
//
//	<8: the value, order-preserving and inverted, so higher ranks first>
//	<12: B's profile id>
//
// # Schema declarations (keyspace meta: "db/" ‖ db, "rel/" ‖ rel)
//
//	{"id": u32, "name": str, "fields": [{"name": str, "type": str,
//	  "unindexed": true}, …]}                 a DatabaseDecl
//	{"id": u32, "name": str, "database_a": u32, "database_b": u32,
//	  "properties": [{"name": str, "type": str, "aggregate": str,
//	  "top": int}, …]}                        a RelationTypeDecl
//
// written by reflection, keys in declaration order, optional ones
// omitted when empty; sealed.
//
// # Id generator (keyspace meta: "idgen")
//
//	<4: seconds> <8: sequence>  <4: seal>     the last id handed out
package record
