package wal

import (
	"os"
)

// osFile is the log on the operating system's file system.
type osFile struct{ *os.File }

func openOSFile(path string) (File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Sync makes the written bytes durable with fdatasync where the system
// has it: the log's file keeps its size (the log writes into space it
// zero-filled before), so no metadata needs writing.
func (f osFile) Sync() error { return fdatasync(f.File) }

func (f osFile) Size() (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
