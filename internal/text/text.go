// Package text holds the small string helpers relgraph's packages share
// for messages.
package text

import "unicode/utf8"

// MaxQuoted is how many bytes of a value messages quote.
const MaxQuoted = 64

// Truncate returns s cut to MaxQuoted bytes (at a rune boundary), with
// an ellipsis when cut, so that a message quoting a client's value
// stays short.
func Truncate(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
