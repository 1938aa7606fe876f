package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/relgraph/relgraph/kv"
)

// bbolt reaches its pages through a memory map and trusts what it reads:
// a page id past the end of a truncated file is a SIGBUS, a damaged
// element a wild read. This file reads bbolt's on-disk format itself,
// through plain file reads that cannot fault, so that a damaged file is
// refused at Open (its meta pages and size) and reported by CheckFile
// (its page tree) before bbolt walks it. The layout is bbolt's (v1.x,
// go.etcd.io/bbolt/internal/common), in the machine's byte order.

const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	pageHeaderSize     = 16 // id u64, flags u16, count u16, overflow u32
	elementSize        = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderSize   = 16 // root pgid u64, sequence u64
	metaChecksumOffset = 56 // the checksum covers the meta's first 56 bytes
	noFreelist         = ^uint64(0)

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01
)

var ne = binary.NativeEndian

// meta is a decoded meta page.
type meta struct {
	pageSize uint32
	root     uint64 // page of the root bucket
	freelist uint64 // page of the freelist, or noFreelist
	pgid     uint64 // high water mark: pages below it are in use or free
	txid     uint64
}

// parseMeta decodes the meta page in b (a page starting with its
// header) and says what is wrong with it, as bbolt's Validate would.
func parseMeta(b []byte) (meta, error) {
	if len(b) < pageHeaderSize+64 {
		return meta{}, errors.New("shorter than a meta page")
	}
	m := b[pageHeaderSize:]
	if ne.Uint32(m[0:]) != boltMagic {
		return meta{}, errNotBolt
	}
	if v := ne.Uint32(m[4:]); v != boltVersion {
		return meta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOffset])
	if ne.Uint64(m[metaChecksumOffset:]) != h.Sum64() {
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{pageSize: ne.Uint32(m[8:]), root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]),
		pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, nil
}

var errNotBolt = errors.New("no bbolt magic number")

// readMetas reads both meta pages of f and returns the one bbolt will
// use (the valid one of the higher transaction), with the error of each.
func readMetas(f io.ReaderAt, size int64) (use meta, err0, err1 error) {
	first := make([]byte, 4096)
	n, _ := f.ReadAt(first, 0)
	m0, err0 := parseMeta(first[:n])
	// The second meta page is one page in: its size comes from the first
	// meta, or, if that one is damaged, is tried as bbolt does.
	var m1 meta
	err1 = errNotBolt
	sizes := []int64{}
	if err0 == nil {
		sizes = append(sizes, int64(m0.pageSize))
	} else {
		for ps := int64(1024); ps <= 1<<24; ps <<= 1 {
			sizes = append(sizes, ps)
		}
	}
	buf := make([]byte, 4096)
	for _, ps := range sizes {
		if ps >= size {
			break
		}
		n, _ := f.ReadAt(buf, ps)
		if m1, err1 = parseMeta(buf[:n]); err1 == nil {
			break
		}
	}
	switch {
	case err0 == nil && (err1 != nil || m0.txid >= m1.txid):
		return m0, err0, err1
	case err1 == nil:
		return m1, err0, err1
	}
	return meta{}, err0, err1
}

// preflight checks the file at path before bbolt maps it: a missing or
// empty file is fine for a writable open (bbolt creates it); otherwise one meta page must be
// valid, its page size sane, and the file long enough to hold every page
// the meta counts. The error wraps ErrForeign for a file that is not a
// bbolt file and kv.ErrCorrupt for a damaged one, and says which.
//
// A read-only open cannot create the file: a missing file is an error
// wrapping os.ErrNotExist, an empty one ErrForeign.
func preflight(path string, readOnly bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !readOnly {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return errors.New("a directory, not a store file")
	}
	if info.Size() == 0 {
		if readOnly {
			return fmt.Errorf("%w: the file is empty", ErrForeign)
		}
		return nil
	}
	m, err0, err1 := readMetas(f, info.Size())
	if err0 != nil && err1 != nil {
		if errors.Is(err0, errNotBolt) && errors.Is(err1, errNotBolt) {
			return fmt.Errorf("%w: %v", ErrForeign, err0)
		}
		return fmt.Errorf("%w: both meta pages are damaged (page 0: %v; page 1: %v)", kv.ErrCorrupt, err0, err1)
	}
	return m.check(info.Size())
}

// check says whether a file of size bytes can hold what m describes.
func (m meta) check(size int64) error {
	if m.pageSize < 512 || m.pageSize > 1<<24 || m.pageSize&(m.pageSize-1) != 0 {
		return fmt.Errorf("%w: meta page: page size %d", kv.ErrCorrupt, m.pageSize)
	}
	if m.pgid < 3 || m.pgid > uint64(1<<62)/uint64(m.pageSize) {
		return fmt.Errorf("%w: meta page: %d pages", kv.ErrCorrupt, m.pgid)
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Errorf("%w: it is %d bytes, but its meta page counts %d pages of %d bytes (%d bytes): it was truncated", kv.ErrCorrupt, size, m.pgid, m.pageSize, need)
	}
	if m.root < 2 || m.root >= m.pgid {
		return fmt.Errorf("%w: meta page: root page %d outside pages 2 to %d", kv.ErrCorrupt, m.root, m.pgid-1)
	}
	if m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid) {
		return fmt.Errorf("%w: meta page: freelist page %d outside pages 2 to %d", kv.ErrCorrupt, m.freelist, m.pgid-1)
	}
	return nil
}

// pageWalker checks bbolt's page tree through file reads, reporting
// every page that would make bbolt read out of bounds.
type pageWalker struct {
	f        io.ReaderAt
	m        meta
	seen     map[uint64]bool
	problems []error
}

func (w *pageWalker) report(format string, args ...any) {
	w.problems = append(w.problems, fmt.Errorf(format, args...))
}

// walkFile checks the page structure of the file as meta m describes
// it: the freelist, and every branch, leaf and bucket page reachable
// from the root bucket. An empty result means bbolt can walk the tree
// without reading outside the file or past a page.
func walkFile(f io.ReaderAt, m meta) []error {
	w := &pageWalker{f: f, m: m, seen: map[uint64]bool{}}
	if m.freelist != noFreelist {
		w.walkFreelist(m.freelist)
	}
	w.walkTree(m.root, 0)
	return w.problems
}

// readPage reads page id with its overflow pages, or reports why not.
func (w *pageWalker) readPage(id uint64) []byte {
	ps := int64(w.m.pageSize)
	head := make([]byte, pageHeaderSize)
	if _, err := w.f.ReadAt(head, int64(id)*ps); err != nil {
		w.report("page %d: cannot read: %v", id, err)
		return nil
	}
	if got := ne.Uint64(head); got != id {
		w.report("page %d: its header says page %d", id, got)
		return nil
	}
	overflow := uint64(ne.Uint32(head[12:]))
	if id+overflow >= w.m.pgid {
		w.report("page %d: %d overflow pages run past the last page %d", id, overflow, w.m.pgid-1)
		return nil
	}
	b := make([]byte, (1+overflow)*uint64(ps))
	if _, err := w.f.ReadAt(b, int64(id)*ps); err != nil {
		w.report("page %d: cannot read: %v", id, err)
		return nil
	}
	return b
}

func (w *pageWalker) walkFreelist(id uint64) {
	p := w.readPage(id)
	if p == nil {
		return
	}
	if flags := ne.Uint16(p[8:]); flags != freelistPage {
		w.report("page %d: the freelist page has flags %#x", id, flags)
		return
	}
	count, first := uint64(ne.Uint16(p[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		count, first = ne.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > (uint64(len(p))-first)/8 {
		w.report("page %d: the freelist counts %d pages, more than the page holds", id, count)
		return
	}
	for i := range count {
		if free := ne.Uint64(p[first+8*i:]); free < 2 || free >= w.m.pgid {
			w.report("page %d: the freelist holds page %d, outside pages 2 to %d", id, free, w.m.pgid-1)
			return
		}
	}
}

// maxTreeDepth bounds the recursion over a damaged tree; real trees are
// a handful of levels deep, buckets nest one level here.
const maxTreeDepth = 64

// walkTree checks the tree of pages rooted at id.
func (w *pageWalker) walkTree(id uint64, depth int) {
	if depth > maxTreeDepth {
		w.report("page %d: the tree is deeper than %d levels", id, maxTreeDepth)
		return
	}
	if id < 2 || id >= w.m.pgid {
		w.report("page %d: outside pages 2 to %d", id, w.m.pgid-1)
		return
	}
	if w.seen[id] {
		w.report("page %d: reached twice", id)
		return
	}
	w.seen[id] = true
	if p := w.readPage(id); p != nil {
		w.walkPage(id, p, depth)
	}
}

// walkPage checks one branch or leaf page (p may be an inline bucket's
// page, held in its parent's value) and the pages below it.
func (w *pageWalker) walkPage(id uint64, p []byte, depth int) {
	if len(p) < pageHeaderSize {
		w.report("page %d: shorter than a page header", id)
		return
	}
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if flags != branchPage && flags != leafPage {
		w.report("page %d: flags %#x, want a branch or leaf page", id, flags)
		return
	}
	if pageHeaderSize+count*elementSize > len(p) {
		w.report("page %d: %d elements do not fit in %d bytes", id, count, len(p))
		return
	}
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := p[at : at+elementSize]
		if flags == branchPage {
			pos, ksize := uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
			if uint64(at)+pos+ksize > uint64(len(p)) {
				w.report("page %d: element %d's key runs past the page", id, i)
				return
			}
			w.walkTree(ne.Uint64(e[8:]), depth+1)
			continue
		}
		elemFlags, pos, ksize, vsize := ne.Uint32(e), uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		end := uint64(at) + pos + ksize + vsize
		if end > uint64(len(p)) {
			w.report("page %d: element %d runs past the page", id, i)
			return
		}
		if elemFlags&bucketLeaf == 0 {
			continue
		}
		value := p[uint64(at)+pos+ksize : end]
		if len(value) < bucketHeaderSize {
			w.report("page %d: element %d is a bucket of %d bytes", id, i, len(value))
			continue
		}
		if root := ne.Uint64(value); root != 0 {
			w.walkTree(root, depth+1)
		} else if depth+1 > maxTreeDepth {
			w.report("page %d: buckets nest deeper than %d levels", id, maxTreeDepth)
		} else {
			w.walkPage(id, value[bucketHeaderSize:], depth+1) // an inline bucket
		}
	}
}
