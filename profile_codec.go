package relgraph

import (
	"github.com/vmihailenco/msgpack/v5"
)

// EncodeMsgpack writes r exactly as msgpack's struct encoding writes
// profileRecord by its tags (TestProfileCodecMatchesReflection holds it
// to that): a map of the fields present, in declaration order,
// omitempty ones left out when empty, int64, int32, uint32 and float64
// fields in their fixed sizes, int fields in their shortest form, map
// keys sorted. By hand, because every imported profile is encoded once,
// and reflection cost more than a third of preparing one (allocating as
// it checked each omitempty field). A field added to profileRecord,
// namedField, fieldValue or Subscription must be added here too:
// TestProfileCodecKnowsEveryField fails until it is.
func (r *profileRecord) EncodeMsgpack(e *msgpack.Encoder) error {
	w := fieldWriter{e: e}
	w.mapLen(present(r.Email != "", len(r.Phones) > 0, len(r.Fields) > 0, len(r.Subs) > 0, true, true))
	if r.Email != "" {
		w.str("e").str(r.Email)
	}
	if len(r.Phones) > 0 {
		w.str("p").strs(r.Phones)
	}
	if len(r.Fields) > 0 {
		w.str("f").arrayLen(len(r.Fields))
		for i := range r.Fields {
			f := &r.Fields[i]
			w.mapLen(2).str("n").str(f.Name).str("v")
			f.Value.encode(&w)
		}
	}
	if len(r.Subs) > 0 {
		w.str("s").arrayLen(len(r.Subs))
		for i := range r.Subs {
			encodeSubscription(&w, &r.Subs[i])
		}
	}
	w.str("c").int64(r.Created)
	w.str("u").int64(r.Updated)
	return w.err
}

func (fv *fieldValue) encode(w *fieldWriter) {
	w.mapLen(present(true, fv.Str != "", fv.Int != 0, fv.Nanos != 0, fv.Float != 0, len(fv.Tags) > 0))
	w.str("k").str(string(fv.Kind))
	if fv.Str != "" {
		w.str("s").str(fv.Str)
	}
	if fv.Int != 0 {
		w.str("i").int64(fv.Int)
	}
	if fv.Nanos != 0 {
		w.str("n")
		w.try(w.e.EncodeInt32(fv.Nanos))
	}
	if fv.Float != 0 {
		w.str("x")
		w.try(w.e.EncodeFloat64(fv.Float))
	}
	if len(fv.Tags) > 0 {
		w.str("t").strs(fv.Tags)
	}
}

func encodeSubscription(w *fieldWriter, s *Subscription) {
	w.mapLen(present(true, true, s.Email != "", s.Phone != "", s.Provider != "", s.SubscriptionID != "", true,
		s.Priority != 0, len(s.Fields) > 0, len(s.Categories) > 0))
	w.str("r")
	w.try(w.e.EncodeUint32(s.ResourceID))
	w.str("c").str(string(s.Channel))
	for _, f := range [...]struct{ name, v string }{{"e", s.Email}, {"p", s.Phone}, {"pv", s.Provider}, {"sid", s.SubscriptionID}} {
		if f.v != "" {
			w.str(f.name).str(f.v)
		}
	}
	w.str("st") // an int, not an int64: msgpack writes it in its shortest form
	w.try(w.e.EncodeInt(int64(s.Status)))
	if s.Priority != 0 {
		w.str("pr")
		w.try(w.e.EncodeInt(int64(s.Priority)))
	}
	if len(s.Fields) > 0 {
		w.str("f").mapLen(len(s.Fields))
		for _, k := range sortedKeys(s.Fields) {
			w.str(k).str(s.Fields[k])
		}
	}
	if len(s.Categories) > 0 {
		w.str("cat").strs(s.Categories)
	}
}

// present counts the fields that are written.
func present(fields ...bool) int {
	n := 0
	for _, p := range fields {
		if p {
			n++
		}
	}
	return n
}

// fieldWriter chains an encoder's writes and keeps the first error.
type fieldWriter struct {
	e   *msgpack.Encoder
	err error
}

func (w *fieldWriter) try(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *fieldWriter) str(s string) *fieldWriter { w.try(w.e.EncodeString(s)); return w }

func (w *fieldWriter) int64(n int64) *fieldWriter { w.try(w.e.EncodeInt64(n)); return w }

func (w *fieldWriter) mapLen(n int) *fieldWriter { w.try(w.e.EncodeMapLen(n)); return w }

func (w *fieldWriter) arrayLen(n int) *fieldWriter { w.try(w.e.EncodeArrayLen(n)); return w }

func (w *fieldWriter) strs(ss []string) *fieldWriter {
	w.arrayLen(len(ss))
	for _, s := range ss {
		w.str(s)
	}
	return w
}
