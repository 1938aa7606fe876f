package relgraph

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// Mode is a matching mode: which keys of a Locator find the profile.
type Mode string

// The matching modes of the platform's Matching page (docs/spec.md §3).
const (
	// ModeEmail searches the profile email and email-channel subscriptions.
	ModeEmail Mode = "email"
	// ModeEmailProfile searches the profile email only.
	ModeEmailProfile Mode = "email_profile"
	// ModeEmailSub searches email-channel subscriptions only.
	ModeEmailSub Mode = "email_sub"
	// ModePhone searches profile phones and sms-channel subscriptions.
	ModePhone Mode = "phone"
	// ModePhoneSub searches sms-channel subscriptions only.
	ModePhoneSub Mode = "phone_sub"
	// ModeEmailPhone searches the profile email or its phones: Email,
	// Phone or both may be given; every profile either finds counts.
	ModeEmailPhone Mode = "email_phone"
	// ModeEmailPhoneSub searches email- and sms-channel subscriptions by
	// Email, Phone or both.
	ModeEmailPhoneSub Mode = "email_phone_sub"
	// ModeProfileID takes the profile with that id in the database. It
	// finds profiles; an import by it never creates one (RestoreProfile
	// does).
	ModeProfileID Mode = "profile_id"
	// ModePushSub searches push subscriptions by Provider and
	// SubscriptionID.
	ModePushSub Mode = "push_sub"
	// ModeCustom searches an indexed custom field; for a tags field, the
	// profiles holding all the listed tags.
	ModeCustom Mode = "custom"
	// ModeCustomSub searches the custom fields of subscriptions
	// (Subscription.Fields): FieldName and FieldValue, compared as text.
	ModeCustomSub Mode = "custom_sub"
)

// Modes lists every matching mode.
var Modes = []Mode{ModeEmail, ModeEmailProfile, ModeEmailSub, ModePhone, ModePhoneSub, ModeEmailPhone, ModeEmailPhoneSub,
	ModeProfileID, ModePushSub, ModeCustom, ModeCustomSub}

// Locator says how to find one profile in a database.
type Locator struct {
	// Matching is the mode. Empty: inferred from the first key present
	// in the order ProfileID, Email, Phone, FieldName, Provider.
	Matching   Mode
	ProfileID  string
	Email      string
	Phone      string
	FieldName  string
	FieldValue any // checked against the field's declared type
	// Provider and SubscriptionID find a push subscription (push_sub).
	Provider       string
	SubscriptionID string
	// ResourceID, when > 0, narrows the subscription side of matching
	// to subscriptions on that resource.
	ResourceID uint32
}

// IsEmpty reports whether the locator carries no key at all.
func (l Locator) IsEmpty() bool {
	return l.Matching == "" && l.ProfileID == "" && l.Email == "" && l.Phone == "" && l.FieldName == "" &&
		l.Provider == "" && l.SubscriptionID == ""
}

// mode returns the explicit or inferred mode, or a 400 error.
func (l Locator) mode() (Mode, error) {
	switch l.Matching {
	case ModeEmail, ModeEmailProfile, ModeEmailSub:
		if l.Email == "" {
			return "", invalidf("matching %q needs email", l.Matching)
		}
	case ModePhone, ModePhoneSub:
		if l.Phone == "" {
			return "", invalidf("matching %q needs phone", l.Matching)
		}
	case ModeEmailPhone, ModeEmailPhoneSub:
		if l.Email == "" && l.Phone == "" {
			return "", invalidf("matching %q needs email, phone or both", l.Matching)
		}
	case ModeProfileID:
		if l.ProfileID == "" {
			return "", invalidf("matching %q needs profile_id", l.Matching)
		}
	case ModePushSub:
		if l.Provider == "" || l.SubscriptionID == "" {
			return "", invalidf("matching %q needs provider and subscription_id", l.Matching)
		}
	case ModeCustom, ModeCustomSub:
		if l.FieldName == "" || l.FieldValue == nil {
			return "", invalidf("matching %q needs field_name and field_value", l.Matching)
		}
	case "":
		switch {
		case l.ProfileID != "":
			return ModeProfileID, nil
		case l.Email != "":
			return ModeEmail, nil
		case l.Phone != "":
			return ModePhone, nil
		case l.FieldName != "":
			if l.FieldValue == nil {
				return "", invalidf("field_name %q needs field_value", l.FieldName)
			}
			return ModeCustom, nil
		case l.Provider != "" || l.SubscriptionID != "":
			return Locator{Matching: ModePushSub, Provider: l.Provider, SubscriptionID: l.SubscriptionID}.mode()
		}
		return "", invalidf("no locator: give profile_id, email, phone, field_name + field_value, or provider + subscription_id")
	default:
		return "", invalidf("unknown matching %q (%s)", l.Matching, modeList())
	}
	return l.Matching, nil
}

func modeList() string {
	s := ""
	for i, m := range Modes {
		if i > 0 {
			s += ", "
		}
		s += string(m)
	}
	return s
}

// maxCounted bounds how many matches an ambiguous lookup counts before
// it stops and reports "at least".
const maxCounted = 1000

// Match finds the one profile of database db that loc designates. No
// match: 404; several: 409 ErrAmbiguous with the count. It reads O(log n)
// index pages plus one entry per match (at most 1001). Runs in any Tx.
func (tx *Tx) Match(db uint32, loc Locator) (ProfileID, error) {
	d, err := tx.schema.db(db)
	if err != nil {
		return ProfileID{}, err
	}
	return tx.match(d, loc, "")
}

// match resolves loc in d. side ("profile_a", "profile_b" or "") names
// the request side in errors.
func (tx *Tx) match(d *Database, loc Locator, side string) (ProfileID, error) {
	// A match by id that finds its profile, the path of most writes,
	// skips the candidate list and its description (a failure takes the
	// general path, which says what is wrong).
	if mode, err := loc.mode(); err == nil && mode == ModeProfileID {
		if id, err := ParseProfileID(loc.ProfileID); err == nil {
			v, err := tx.kv.Get(index.Profiles, index.AppendProfileKey(tx.getKey(), d.ID, id))
			if err != nil {
				return ProfileID{}, withSide(side, storageErr("read profile", err))
			}
			if v != nil {
				return id, nil
			}
		}
	}
	ids, describe, err := tx.candidates(d, loc, maxCounted+1)
	if err != nil {
		return ProfileID{}, withSide(side, err)
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	what := describe()
	switch {
	case len(ids) == 0:
		return ProfileID{}, withSide(side, notFoundf("no profile in database %d with %s", d.ID, what))
	case len(ids) > maxCounted:
		return ProfileID{}, withSide(side, ambiguousf("ambiguous match: more than %d profiles in database %d have %s", maxCounted, d.ID, what))
	case len(ids) > 1:
		return ProfileID{}, withSide(side, ambiguousf("ambiguous match: %d profiles in database %d have %s", len(ids), d.ID, what))
	}
	return ids[0], nil
}

// readsProfileEmail reports whether a match in mode looks the locator's
// email up in the email index (candidates, emailCandidates with
// profile set), so that finding nothing means the index has no entry
// for it.
func readsProfileEmail(mode Mode) bool {
	return mode == ModeEmail || mode == ModeEmailProfile || mode == ModeEmailPhone
}

// withSide prefixes an *Error's message with the request side.
func withSide(side string, err error) error {
	if side == "" {
		return err
	}
	if e, ok := err.(*Error); ok {
		c := *e
		c.Msg = side + ": " + e.Msg
		return &c
	}
	return err
}

// candidates returns up to limit distinct profile ids matching loc, in
// index order, and a function describing the key for messages (called
// only on failure: formatting is not free on the hot path).
func (tx *Tx) candidates(d *Database, loc Locator, limit int) ([]ProfileID, func() string, error) {
	mode, err := loc.mode()
	if err != nil {
		return nil, nil, err
	}
	found := &idSet{limit: limit}
	switch mode {
	case ModeProfileID:
		id, err := ParseProfileID(loc.ProfileID)
		if err != nil {
			return nil, nil, err
		}
		v, err := tx.kv.Get(index.Profiles, index.ProfileKey(d.ID, id))
		if err != nil {
			return nil, nil, storageErr("read profile", err)
		}
		describe := func() string { return fmt.Sprintf("profile_id %s", id) }
		if v == nil {
			return nil, describe, nil
		}
		return []ProfileID{id}, describe, nil

	case ModeEmail, ModeEmailProfile, ModeEmailSub:
		email, err := NormalizeEmail(loc.Email)
		if err != nil {
			return nil, nil, err
		}
		if err := tx.emailCandidates(found, d, email, mode != ModeEmailSub, mode != ModeEmailProfile, loc.ResourceID); err != nil {
			return nil, nil, err
		}
		return found.ids, func() string {
			if mode == ModeEmailProfile {
				return fmt.Sprintf("email %q", email)
			}
			return fmt.Sprintf("email %q", email) + onResource(loc.ResourceID)
		}, nil

	case ModePhone, ModePhoneSub:
		phone, err := NormalizePhone(loc.Phone, d.phoneRegion(tx.region))
		if err != nil {
			return nil, nil, err
		}
		if mode == ModePhone {
			if err := tx.scanIDs(found, index.Phones, index.PhonePrefix(d.ID, phone)); err != nil {
				return nil, nil, err
			}
		}
		ch, _ := ChannelSMS.channelByte()
		if err := tx.scanSubs(found, d.ID, ch, phone, loc.ResourceID); err != nil {
			return nil, nil, err
		}
		return found.ids, func() string { return fmt.Sprintf("phone %q", phone) + onResource(loc.ResourceID) }, nil

	case ModeEmailPhone, ModeEmailPhoneSub:
		var keys []string
		if loc.Email != "" {
			email, err := NormalizeEmail(loc.Email)
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, fmt.Sprintf("email %q", email))
			if err := tx.emailCandidates(found, d, email, mode == ModeEmailPhone, mode == ModeEmailPhoneSub, loc.ResourceID); err != nil {
				return nil, nil, err
			}
		}
		if loc.Phone != "" {
			phone, err := NormalizePhone(loc.Phone, d.phoneRegion(tx.region))
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, fmt.Sprintf("phone %q", phone))
			if mode == ModeEmailPhone {
				if err := tx.scanIDs(found, index.Phones, index.PhonePrefix(d.ID, phone)); err != nil {
					return nil, nil, err
				}
			} else {
				ch, _ := ChannelSMS.channelByte()
				if err := tx.scanSubs(found, d.ID, ch, phone, loc.ResourceID); err != nil {
					return nil, nil, err
				}
			}
		}
		return found.ids, func() string {
			where := " in the profile"
			if mode == ModeEmailPhoneSub {
				where = " in subscriptions" + onResource(loc.ResourceID)
			}
			return strings.Join(keys, " or ") + where
		}, nil

	case ModePushSub:
		s := Subscription{Channel: ChannelPush, Provider: loc.Provider, SubscriptionID: loc.SubscriptionID, ResourceID: 1}
		if _, err := s.normalize(d.phoneRegion(tx.region)); err != nil {
			return nil, nil, invalidf("push_sub: provider and subscription_id: %v", err)
		}
		ch, _ := ChannelPush.channelByte()
		if err := tx.scanSubs(found, d.ID, ch, s.address(), loc.ResourceID); err != nil {
			return nil, nil, err
		}
		return found.ids, func() string {
			return fmt.Sprintf("push subscription %q/%q", loc.Provider, loc.SubscriptionID) + onResource(loc.ResourceID)
		}, nil

	case ModeCustomSub:
		value, err := subFieldText(loc.FieldName, loc.FieldValue)
		if err != nil {
			return nil, nil, err
		}
		if err := tx.scanSubs(found, d.ID, subFieldChannel, subFieldAddress(loc.FieldName, value), loc.ResourceID); err != nil {
			return nil, nil, err
		}
		return found.ids, func() string {
			return fmt.Sprintf("subscription field %s = %q", loc.FieldName, value) + onResource(loc.ResourceID)
		}, nil

	case ModeCustom:
		f, ok := d.Field(loc.FieldName)
		if !ok {
			return nil, nil, invalidf("field %q is not declared in database %d", loc.FieldName, d.ID)
		}
		if f.Unindexed {
			return nil, nil, invalidf("field %q of database %d is unindexed and cannot be matched on", f.Name, d.ID)
		}
		v, err := normalizeFieldValue(f, loc.FieldValue)
		if err != nil {
			return nil, nil, err
		}
		if tags, isTags := v.([]string); isTags {
			if len(tags) == 0 {
				return nil, nil, invalidf("field %q: no tags to match", f.Name)
			}
			if err := tx.scanAllTags(found, d.ID, f.Name, tags); err != nil {
				return nil, nil, err
			}
			return found.ids, func() string { return fmt.Sprintf("all tags %q in field %q", tags, f.Name) }, nil
		}
		if err := tx.scanIDs(found, index.Fields, index.FieldPrefix(d.ID, f.Name, v)); err != nil {
			return nil, nil, err
		}
		return found.ids, func() string { return fmt.Sprintf("%s = %s", f.Name, describeValue(v)) }, nil
	}
	return nil, nil, invalidf("unknown matching %q", mode)
}

// emailCandidates adds the profile whose email is email (profile) and
// the profiles subscribed with it on the email channel (subs).
func (tx *Tx) emailCandidates(found *idSet, d *Database, email string, profile, subs bool, resource uint32) error {
	if profile {
		v, err := tx.kv.Get(index.Emails, index.EmailKey(d.ID, email))
		if err != nil {
			return storageErr("read email index", err)
		}
		if v != nil {
			if len(v) != index.IDLen {
				return corruptf("email index entry for %q holds %d bytes, not a profile id", email, len(v))
			}
			found.add(ProfileID(v))
		}
	}
	if subs {
		ch, _ := ChannelEmail.channelByte()
		return tx.scanSubs(found, d.ID, ch, email, resource)
	}
	return nil
}

// describeValue renders a normalized field value for messages.
func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(truncate(x))
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func onResource(resource uint32) string {
	if resource == 0 {
		return ""
	}
	return fmt.Sprintf(" (subscriptions on resource %d)", resource)
}

// idSet collects distinct ids in the order found, up to limit.
type idSet struct {
	ids   []ProfileID
	limit int
}

func (s *idSet) add(id ProfileID) {
	for _, have := range s.ids {
		if have == id {
			return
		}
	}
	s.ids = append(s.ids, id)
}

func (s *idSet) full() bool { return len(s.ids) >= s.limit }

// scanIDs adds the trailing profile id of every key under prefix whose
// remainder is exactly an id.
func (tx *Tx) scanIDs(found *idSet, ks kv.Keyspace, prefix []byte) error {
	c, err := tx.kv.Cursor(ks)
	if err != nil {
		return storageErr("cursor", err)
	}
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && !found.full(); k, _ = c.Next() {
		if len(k) != len(prefix)+index.IDLen {
			return corruptf("%s: entry does not end in a profile id", index.Describe(ks, k))
		}
		found.add(ProfileID(k[len(prefix):]))
	}
	return cursorErr(c)
}

// scanSubs adds the profiles subscribed at address on the channel, on
// resource (or on any resource when resource is 0).
func (tx *Tx) scanSubs(found *idSet, db uint32, ch byte, address string, resource uint32) error {
	if resource != 0 {
		return tx.scanIDs(found, index.Subs, index.SubResourcePrefix(db, ch, address, resource))
	}
	prefix := index.SubPrefix(db, ch, address)
	c, err := tx.kv.Cursor(index.Subs)
	if err != nil {
		return storageErr("cursor", err)
	}
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && !found.full(); k, _ = c.Next() {
		if len(k) != len(prefix)+4+index.IDLen {
			return corruptf("%s: malformed subscription entry", index.Describe(index.Subs, k))
		}
		found.add(ProfileID(k[len(prefix)+4:]))
	}
	return cursorErr(c)
}

// scanAllTags adds the profiles holding every tag: it walks the first
// tag's entries and checks the others with point reads.
func (tx *Tx) scanAllTags(found *idSet, db uint32, field string, tags []string) error {
	prefix := index.TagPrefix(db, field, tags[0])
	c, err := tx.kv.Cursor(index.Tags)
	if err != nil {
		return storageErr("cursor", err)
	}
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && !found.full(); k, _ = c.Next() {
		if len(k) != len(prefix)+index.IDLen {
			return corruptf("%s: entry does not end in a profile id", index.Describe(index.Tags, k))
		}
		id := [index.IDLen]byte(k[len(prefix):])
		all := true
		for _, t := range tags[1:] {
			v, err := tx.kv.Get(index.Tags, index.TagKey(db, field, t, id))
			if err != nil {
				return storageErr("read tag index", err)
			}
			if v == nil {
				all = false
				break
			}
		}
		if all {
			found.add(ProfileID(id))
		}
	}
	return cursorErr(c)
}

// Match runs Tx.Match in a snapshot.
func (s *Store) Match(ctx context.Context, db uint32, loc Locator) (id ProfileID, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		id, err = tx.Match(db, loc)
		return err
	})
	return id, err
}
