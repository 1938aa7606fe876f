//go:build !linux

package wal

// renameNoReplace cannot rename without replacing here: moveFile links.
func renameNoReplace(from, to string) (done bool, err error) { return false, nil }
