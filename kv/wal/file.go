package wal

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// File is what the log is written through: the operating system's file,
// or, in tests, one that simulates power cuts and faults. WriteAt and
// ReadAt are io.WriterAt and io.ReaderAt; Sync makes every byte written
// and the file's length durable (fdatasync); Truncate sets the length
// (growing it with zeros); Size is the length.
type File interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Size() (int64, error)
	Close() error
}

// osFile is the log on the operating system's file system.
type osFile struct{ *os.File }

// openOSFile opens the log at path; with create, making it if missing.
func openOSFile(path string, create bool) (File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if !create && (errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		f, err = os.Open(path) // a store read where it cannot be written
	}
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// moveFile renames from to to without ever replacing a file at to: an
// existing to is an error wrapping os.ErrExist. It renames in one step
// where the file system can (RENAME_NOREPLACE), else links to to and
// removes from; if that removal fails, the link is taken back, so the
// file keeps its one name.
func moveFile(from, to string) error {
	if done, err := renameNoReplace(from, to); done {
		return err
	}
	if err := os.Link(from, to); err != nil {
		return err
	}
	if err := os.Remove(from); err != nil {
		os.Remove(to)
		return err
	}
	return nil
}

// Sync makes the written bytes durable with fdatasync where the system
// has it: it also writes the file's length when that changed, and
// nothing else of its metadata.
func (f osFile) Sync() error { return fdatasync(f.File) }

func (f osFile) Size() (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// syncDir makes a directory's entries (a new or removed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
