package main

/*
#include <stdlib.h>
#include <string.h>
#include "trampolines.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"unsafe"

	"github.com/logos-messaging/libsds-go/core/store"
)

// hostStore adapts a host's libsds_persistence vtable to store.Store. The
// vtable is copied into C memory at creation (the host's struct is borrowed);
// user_data is kept as given.
type hostStore struct {
	m      *manager
	vt     *C.libsds_persistence
	tx     bool // begin, commit and rollback are all set
	lister bool
	due    bool // save_channel_due and channels_due are both set (a layout that has them)
	closed bool
}

// firstLayoutSize is the size of the first persistence layout (up to destroy).
const firstLayoutSize = unsafe.Offsetof(C.libsds_persistence{}.save_channel_due)

// persistenceLayoutKnown reports whether p.version names a layout this library
// can read: the first layout's 1, or a size covering at least the first
// layout (an older host's smaller struct: the fields beyond it read as unset;
// a newer host's larger one: the fields beyond ours are not read).
func persistenceLayoutKnown(p *C.libsds_persistence) bool {
	return p.version == C.LIBSDS_PERSISTENCE_VERSION || uintptr(p.version) >= firstLayoutSize
}

// newHostStore validates and copies the vtable.
func newHostStore(m *manager, p *C.libsds_persistence) (*hostStore, error) {
	if !persistenceLayoutKnown(p) {
		return nil, fmt.Errorf("%w: persistence.version is %d: neither %d nor a size of at least %d",
			errInvalidArg, p.version, C.LIBSDS_PERSISTENCE_VERSION, firstLayoutSize)
	}
	if C.sdsi_persistence_complete(p) == 0 {
		C.sdsi_call_destroy(0, p) // the struct is well-formed: its destroy is safe to call
		return nil, fmt.Errorf("%w: a required persistence method is NULL", errInvalidArg)
	}
	nTx := 0
	for _, f := range []unsafe.Pointer{unsafe.Pointer(p.begin), unsafe.Pointer(p.commit), unsafe.Pointer(p.rollback)} {
		if f != nil {
			nTx++
		}
	}
	if nTx != 0 && nTx != 3 {
		C.sdsi_call_destroy(0, p)
		return nil, fmt.Errorf("%w: set all of persistence begin, commit and rollback, or none", errInvalidArg)
	}
	vt := C.sdsi_persistence_copy(p) // reads only what p's version has
	if vt == nil {
		panic("libsds: out of memory")
	}
	nDue := 0
	for _, f := range []unsafe.Pointer{unsafe.Pointer(vt.save_channel_due), unsafe.Pointer(vt.channels_due)} {
		if f != nil {
			nDue++
		}
	}
	if nDue == 1 {
		C.sdsi_call_destroy(0, p)
		C.free(unsafe.Pointer(vt))
		return nil, fmt.Errorf("%w: set both of persistence save_channel_due and channels_due, or neither", errInvalidArg)
	}
	return &hostStore{m: m, vt: vt, tx: nTx == 3, lister: p.list_channels != nil, due: nDue == 2}, nil
}

// asStore returns the adapter with exactly the optional capabilities the host
// provided, so the engine picks the right failure policy. Due times count only
// with listing (and then mean lazy loading).
func (h *hostStore) asStore() store.Store {
	switch {
	case h.tx && h.lister && h.due:
		return struct {
			*hostStore
			txMethods
			listMethod
			dueMethods
		}{h, txMethods{h}, listMethod{h}, dueMethods{h}}
	case h.lister && h.due:
		return struct {
			*hostStore
			listMethod
			dueMethods
		}{h, listMethod{h}, dueMethods{h}}
	case h.tx && h.lister:
		return struct {
			*hostStore
			txMethods
			listMethod
		}{h, txMethods{h}, listMethod{h}}
	case h.tx:
		return struct {
			*hostStore
			txMethods
		}{h, txMethods{h}}
	case h.lister:
		return struct {
			*hostStore
			listMethod
		}{h, listMethod{h}}
	}
	return h
}

// call runs one vtable method; a non-zero status becomes an error naming it.
func (h *hostStore) call(slot C.int, name, ch, id string, rec []byte, n int64, loader *C.libsds_loader) error {
	cch := h.m.scratch.str(0, ch)
	cid := h.m.scratch.str(1, id)
	var prec *C.uint8_t
	if len(rec) > 0 {
		// pointer-free Go memory, read by C during the call only
		prec = (*C.uint8_t)(unsafe.Pointer(&rec[0]))
	}
	rc := C.sdsi_call_persist(C.uintptr_t(h.m.handle), h.vt, slot, cch, cid, prec, C.size_t(len(rec)),
		C.int64_t(n), loader)
	if rc != 0 {
		return fmt.Errorf("host persistence %s returned %d (%s)", name, int(rc), C.GoString(C.libsds_status_str(rc)))
	}
	return nil
}

// SaveLamport implements store.Store.
func (h *hostStore) SaveLamport(ch string, l int64) error {
	return h.call(C.SDSI_P_SAVE_LAMPORT, "save_lamport", ch, "", nil, l, nil)
}

// AppendLogEntry implements store.Store.
func (h *hostStore) AppendLogEntry(ch, id string, r []byte) error {
	return h.call(C.SDSI_P_APPEND_LOG, "append_log_entry", ch, id, r, 0, nil)
}

// RemoveLogEntry implements store.Store.
func (h *hostStore) RemoveLogEntry(ch, id string) error {
	return h.call(C.SDSI_P_REMOVE_LOG, "remove_log_entry", ch, id, nil, 0, nil)
}

// SetRetrievalHint implements store.Store.
func (h *hostStore) SetRetrievalHint(id string, hint []byte) error {
	return h.call(C.SDSI_P_SET_HINT, "set_retrieval_hint", "", id, hint, 0, nil)
}

// SaveOutgoing implements store.Store.
func (h *hostStore) SaveOutgoing(ch, id string, r []byte) error {
	return h.call(C.SDSI_P_SAVE_OUTGOING, "save_outgoing", ch, id, r, 0, nil)
}

// RemoveOutgoing implements store.Store.
func (h *hostStore) RemoveOutgoing(ch, id string) error {
	return h.call(C.SDSI_P_REMOVE_OUTGOING, "remove_outgoing", ch, id, nil, 0, nil)
}

// SaveIncoming implements store.Store.
func (h *hostStore) SaveIncoming(ch, id string, r []byte) error {
	return h.call(C.SDSI_P_SAVE_INCOMING, "save_incoming", ch, id, r, 0, nil)
}

// RemoveIncoming implements store.Store.
func (h *hostStore) RemoveIncoming(ch, id string) error {
	return h.call(C.SDSI_P_REMOVE_INCOMING, "remove_incoming", ch, id, nil, 0, nil)
}

// SaveOutgoingRepair implements store.Store.
func (h *hostStore) SaveOutgoingRepair(ch, id string, r []byte) error {
	return h.call(C.SDSI_P_SAVE_OUT_REPAIR, "save_outgoing_repair", ch, id, r, 0, nil)
}

// RemoveOutgoingRepair implements store.Store.
func (h *hostStore) RemoveOutgoingRepair(ch, id string) error {
	return h.call(C.SDSI_P_REMOVE_OUT_REPAIR, "remove_outgoing_repair", ch, id, nil, 0, nil)
}

// SaveIncomingRepair implements store.Store.
func (h *hostStore) SaveIncomingRepair(ch, id string, r []byte) error {
	return h.call(C.SDSI_P_SAVE_IN_REPAIR, "save_incoming_repair", ch, id, r, 0, nil)
}

// RemoveIncomingRepair implements store.Store.
func (h *hostStore) RemoveIncomingRepair(ch, id string) error {
	return h.call(C.SDSI_P_REMOVE_IN_REPAIR, "remove_incoming_repair", ch, id, nil, 0, nil)
}

// DropChannel implements store.Store.
func (h *hostStore) DropChannel(ch string) error {
	return h.call(C.SDSI_P_DROP_CHANNEL, "drop_channel", ch, "", nil, 0, nil)
}

// LoadAllForChannel implements store.Store: the host hands records to a loader.
func (h *hostStore) LoadAllForChannel(ch string) (*store.Snapshot, error) {
	l := &loader{snap: &store.Snapshot{}}
	err := withLoader(l, func(cl *C.libsds_loader) error {
		return h.call(C.SDSI_P_LOAD, "load_all_for_channel", ch, "", nil, 0, cl)
	})
	if err == nil && l.err != nil {
		err = l.err
	}
	if err != nil {
		return nil, err
	}
	return l.snap, nil
}

// Close calls the host's destroy once.
func (h *hostStore) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	C.sdsi_call_destroy(C.uintptr_t(h.m.handle), h.vt)
	C.free(unsafe.Pointer(h.vt))
	return nil
}

type txMethods struct{ h *hostStore }

// Begin implements store.Transactional.
func (t txMethods) Begin() error { return t.h.call(C.SDSI_P_BEGIN, "begin", "", "", nil, 0, nil) }

// Commit implements store.Transactional.
func (t txMethods) Commit() error { return t.h.call(C.SDSI_P_COMMIT, "commit", "", "", nil, 0, nil) }

// Rollback implements store.Transactional.
func (t txMethods) Rollback() error {
	return t.h.call(C.SDSI_P_ROLLBACK, "rollback", "", "", nil, 0, nil)
}

type listMethod struct{ h *hostStore }

// ListChannels implements store.ChannelLister.
func (l listMethod) ListChannels() ([]string, error) {
	ld := &loader{listing: true}
	err := withLoader(ld, func(cl *C.libsds_loader) error {
		return l.h.call(C.SDSI_P_LIST, "list_channels", "", "", nil, 0, cl)
	})
	if err == nil {
		err = ld.err
	}
	return ld.channels, err
}

type dueMethods struct{ h *hostStore }

// SaveChannelDue implements store.DueIndex.
func (d dueMethods) SaveChannelDue(ch string, dueMs int64) error {
	return d.h.call(C.SDSI_P_SAVE_DUE, "save_channel_due", ch, "", nil, dueMs, nil)
}

// ChannelsDue implements store.DueIndex.
func (d dueMethods) ChannelsDue(nowMs int64) ([]string, error) {
	ld := &loader{listing: true}
	err := withLoader(ld, func(cl *C.libsds_loader) error {
		return d.h.call(C.SDSI_P_DUE, "channels_due", "", "", nil, nowMs, cl)
	})
	if err == nil {
		err = ld.err
	}
	sort.Strings(ld.channels)
	return ld.channels, err
}

// loader collects what a host hands back through libsds_loader_* during one
// load_all_for_channel or list_channels call.
type loader struct {
	snap     *store.Snapshot
	listing  bool
	channels []string
	err      error
}

// liveLoaders maps the address of every loader handed to a host method in
// progress to its Go side. A loader pointer is looked up by value, never
// dereferenced, so NULL, stale and garbage pointers are all simply unknown.
var liveLoaders sync.Map // uintptr -> *loader

// withLoader gives f a C libsds_loader bound to l for the duration of f.
func withLoader(l *loader, f func(*C.libsds_loader) error) error {
	cl := (*C.libsds_loader)(C.malloc(C.size_t(unsafe.Sizeof(C.libsds_loader{}))))
	if cl == nil {
		panic("libsds: out of memory")
	}
	cl.magic = C.SDSI_LOADER_MAGIC
	key := uintptr(unsafe.Pointer(cl))
	liveLoaders.Store(key, l)
	defer func() {
		liveLoaders.Delete(key)
		C.free(unsafe.Pointer(cl))
	}()
	return f(cl)
}

// loaderOf resolves a loader pointer a host passed back, or nil.
func loaderOf(p C.uintptr_t) *loader {
	l, ok := liveLoaders.Load(uintptr(p))
	if !ok {
		return nil
	}
	return l.(*loader)
}

//export libsdsgo_loader_set_lamport
func libsdsgo_loader_set_lamport(p C.uintptr_t, lamport C.int64_t) (rc C.int) {
	defer guard(&rc)
	l := loaderOf(p)
	if l == nil || l.listing {
		return status(fmt.Errorf("%w: not a loader of load_all_for_channel", errInvalidArg))
	}
	l.snap.Lamport = int64(lamport)
	return C.LIBSDS_OK
}

//export libsdsgo_loader_add_record
func libsdsgo_loader_add_record(p C.uintptr_t, kind C.uint32_t, rec *C.uint8_t, n C.size_t) (rc C.int) {
	defer guard(&rc)
	l := loaderOf(p)
	if l == nil || l.listing {
		return status(fmt.Errorf("%w: not a loader of load_all_for_channel", errInvalidArg))
	}
	if rec == nil && n > 0 {
		return status(fmt.Errorf("%w: record is NULL but length > 0", errInvalidArg))
	}
	b := bytes.Clone(goBytes(unsafe.Pointer(rec), n))
	switch kind {
	case C.LIBSDS_RECORD_LOG:
		l.snap.Log = append(l.snap.Log, b)
	case C.LIBSDS_RECORD_OUTGOING:
		l.snap.Outgoing = append(l.snap.Outgoing, b)
	case C.LIBSDS_RECORD_INCOMING:
		l.snap.Incoming = append(l.snap.Incoming, b)
	case C.LIBSDS_RECORD_OUTGOING_REPAIR:
		l.snap.OutgoingRepairs = append(l.snap.OutgoingRepairs, b)
	case C.LIBSDS_RECORD_INCOMING_REPAIR:
		l.snap.IncomingRepairs = append(l.snap.IncomingRepairs, b)
	default:
		err := fmt.Errorf("%w: unknown record kind %d", errInvalidArg, kind)
		l.err = err
		return status(err)
	}
	return C.LIBSDS_OK
}

//export libsdsgo_loader_add_channel
func libsdsgo_loader_add_channel(p C.uintptr_t, id *C.char, n C.size_t) (rc C.int) {
	defer guard(&rc)
	l := loaderOf(p)
	if l == nil || !l.listing {
		return status(fmt.Errorf("%w: not a loader of list_channels or channels_due", errInvalidArg))
	}
	if id == nil {
		return status(fmt.Errorf("%w: channel id is NULL", errInvalidArg))
	}
	l.channels = append(l.channels, string(goBytes(unsafe.Pointer(id), n)))
	return C.LIBSDS_OK
}
