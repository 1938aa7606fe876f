package relgraph

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// Channel is a subscription channel.
type Channel string

// The channels of docs/spec.md §1.
const (
	ChannelEmail Channel = "email" // address: the email
	ChannelSMS   Channel = "sms"   // address: the phone
	ChannelPush  Channel = "push"  // address: provider + subscription id
)

// channelByte is the channel's tag in subscription index keys.
func (c Channel) channelByte() (byte, bool) {
	switch c {
	case ChannelEmail:
		return 1, true
	case ChannelSMS:
		return 2, true
	case ChannelPush:
		return 3, true
	}
	return 0, false
}

// SubStatus is a subscription's status.
type SubStatus int

// The statuses of docs/spec.md §1, with their wire numbers.
const (
	StatusSubscribed   SubStatus = 0
	StatusUnsubscribed SubStatus = 1
	StatusComplained   SubStatus = 2
	StatusHardbounced  SubStatus = 3
	StatusUnconfirmed  SubStatus = 4
	StatusSuspended    SubStatus = 5
	StatusInvalid      SubStatus = 6
)

var statusNames = []string{"subscribed", "unsubscribed", "complained", "hardbounced", "unconfirmed", "suspended", "invalid"}

// String returns the status word.
func (s SubStatus) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Subscription is a profile's subscription to a resource on a channel.
// Its identity is (ResourceID, Channel, address); importing one with the
// same identity replaces its status.
type Subscription struct {
	ResourceID uint32  `json:"resource_id"`
	Channel    Channel `json:"channel"`
	// Email is the address on the email channel.
	Email string `json:"email,omitempty"`
	// Phone is the address on the sms channel.
	Phone string `json:"phone,omitempty"`
	// Provider and SubscriptionID address the push channel.
	Provider       string    `json:"provider,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty"`
	Status         SubStatus `json:"status"`
	// Priority is the platform's subscription priority (0 is the
	// highest): stored and returned, it orders nothing here.
	Priority int `json:"priority,omitempty"`
	// Fields are the subscription's custom fields, as text; each is
	// indexed, for custom_sub matching. At most MaxSubscriptionFields.
	Fields map[string]string `json:"custom_fields,omitempty"`
	// Categories are the resource categories subscribed to: stored and
	// returned.
	Categories []string `json:"cats,omitempty"`

	// On import, of a subscription already stored: KeepStatus and
	// KeepPriority leave its status and priority as they are (the
	// platform sends a status only to change it); nil Fields and
	// Categories leave those as they are (non-nil ones, even empty,
	// replace them). A new subscription takes what is given. Not stored.
	KeepStatus, KeepPriority bool `json:"-"`
}

// mergeInto returns s imported over the stored subscription have (of the
// same identity).
func (s Subscription) mergeInto(have Subscription) Subscription {
	if s.KeepStatus {
		s.Status = have.Status
	}
	if s.KeepPriority {
		s.Priority = have.Priority
	}
	if s.Fields == nil {
		s.Fields = have.Fields
	}
	if s.Categories == nil {
		s.Categories = have.Categories
	}
	return s.stored()
}

// record is s as stored.
func (s *Subscription) record() record.Subscription {
	return record.Subscription{ResourceID: s.ResourceID, Channel: string(s.Channel), Email: s.Email, Phone: s.Phone,
		Provider: s.Provider, SubscriptionID: s.SubscriptionID, Status: int(s.Status), Priority: s.Priority,
		Fields: s.Fields, Categories: s.Categories}
}

// subscriptionOf is a stored subscription as read.
func subscriptionOf(r *record.Subscription) Subscription {
	return Subscription{ResourceID: r.ResourceID, Channel: Channel(r.Channel), Email: r.Email, Phone: r.Phone,
		Provider: r.Provider, SubscriptionID: r.SubscriptionID, Status: SubStatus(r.Status), Priority: r.Priority,
		Fields: r.Fields, Categories: r.Categories}
}

// equal reports whether s and o are the same stored subscription.
func (s *Subscription) equal(o *Subscription) bool {
	return s.ResourceID == o.ResourceID && s.Channel == o.Channel && s.Email == o.Email && s.Phone == o.Phone &&
		s.Provider == o.Provider && s.SubscriptionID == o.SubscriptionID && s.Status == o.Status &&
		s.Priority == o.Priority && maps.Equal(s.Fields, o.Fields) && slices.Equal(s.Categories, o.Categories)
}

// stored is s as stored: no import flags, no empty optional parts.
func (s Subscription) stored() Subscription {
	s.KeepStatus, s.KeepPriority = false, false
	if len(s.Fields) == 0 {
		s.Fields = nil
	}
	if len(s.Categories) == 0 {
		s.Categories = nil
	}
	return s
}

// Limits of a subscription's optional parts.
const (
	MaxSubscriptionFields = 32
	MaxCategories         = 64
	maxCategoryBytes      = 256
)

// subFieldChannel is the channel tag, in subscription index keys, of a
// subscription's custom field: its address is lenstr(name) ‖ value.
const subFieldChannel = 4

func subFieldAddress(name, value string) string {
	return string(index.AppendLenString(nil, name)) + value
}

// subFieldText is a custom_sub locator's value as the text it is
// stored as: a string as is, an integer in decimal, a bool as
// true/false.
func subFieldText(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	}
	return "", invalidf("subscription field %q: %T is not a text, integer or bool value", truncate(name), v)
}

// address is the channel's address as indexed: the email, the phone, or
// lenstr(provider) ‖ subscription id.
func (s *Subscription) address() string {
	switch s.Channel {
	case ChannelEmail:
		return s.Email
	case ChannelSMS:
		return s.Phone
	}
	return string(index.AppendLenString(nil, s.Provider)) + s.SubscriptionID
}

// normalize checks the subscription and returns its canonical form.
func (s Subscription) normalize(region string) (Subscription, error) {
	return s.normalizeWith(func(p string) (string, error) { return NormalizePhone(p, region) })
}

// normalizeWith is normalize with phone, the normalizer of an sms
// address.
func (s Subscription) normalizeWith(phone func(string) (string, error)) (Subscription, error) {
	if s.ResourceID == 0 {
		return s, invalidf("subscription: resource_id must be > 0")
	}
	if s.Status < 0 || int(s.Status) >= len(statusNames) {
		return s, invalidf("subscription on resource %d: status %d out of range 0 to 6", s.ResourceID, s.Status)
	}
	var err error
	switch s.Channel {
	case ChannelEmail:
		if s.Phone != "" || s.Provider != "" || s.SubscriptionID != "" {
			return s, invalidf("subscription on resource %d: channel email takes only email", s.ResourceID)
		}
		if s.Email, err = NormalizeEmail(s.Email); err != nil {
			return s, invalidf("subscription on resource %d: %v", s.ResourceID, err)
		}
	case ChannelSMS:
		if s.Email != "" || s.Provider != "" || s.SubscriptionID != "" {
			return s, invalidf("subscription on resource %d: channel sms takes only phone", s.ResourceID)
		}
		if s.Phone, err = phone(s.Phone); err != nil {
			return s, invalidf("subscription on resource %d: %v", s.ResourceID, err)
		}
	case ChannelPush:
		if s.Email != "" || s.Phone != "" {
			return s, invalidf("subscription on resource %d: channel push takes provider and subscription_id", s.ResourceID)
		}
		s.Provider, s.SubscriptionID = strings.TrimSpace(s.Provider), strings.TrimSpace(s.SubscriptionID)
		if s.Provider == "" || s.SubscriptionID == "" {
			return s, invalidf("subscription on resource %d: channel push needs provider and subscription_id", s.ResourceID)
		}
		if len(s.Provider)+len(s.SubscriptionID) > maxAddressBytes {
			return s, invalidf("subscription on resource %d: push address longer than %d bytes", s.ResourceID, maxAddressBytes)
		}
	default:
		return s, invalidf("subscription on resource %d: unknown channel %q (email, sms, push)", s.ResourceID, s.Channel)
	}
	if s.Priority < 0 {
		return s, invalidf("subscription on resource %d: priority %d is negative", s.ResourceID, s.Priority)
	}
	if len(s.Fields) > MaxSubscriptionFields {
		return s, invalidf("subscription on resource %d: %d custom fields, at most %d", s.ResourceID, len(s.Fields), MaxSubscriptionFields)
	}
	for name, v := range s.Fields {
		if err := checkNameRule("custom field", name, true); err != nil {
			return s, invalidf("subscription on resource %d: %v", s.ResourceID, err)
		}
		if len(name)+len(v) > maxAddressBytes {
			return s, invalidf("subscription on resource %d: custom field %q longer than %d bytes", s.ResourceID, name, maxAddressBytes)
		}
	}
	if len(s.Categories) > MaxCategories {
		return s, invalidf("subscription on resource %d: %d categories, at most %d", s.ResourceID, len(s.Categories), MaxCategories)
	}
	cats := make([]string, 0, len(s.Categories))
	for _, c := range s.Categories {
		if c = strings.TrimSpace(c); c == "" || len(c) > maxCategoryBytes || !utf8.ValidString(c) {
			return s, invalidf("subscription on resource %d: a category must be 1 to %d bytes of text", s.ResourceID, maxCategoryBytes)
		}
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	if s.Categories != nil {
		s.Categories = cats
	}
	return s, nil
}

// sameIdentity reports whether a and b are the same subscription.
func (s *Subscription) sameIdentity(o *Subscription) bool {
	return s.ResourceID == o.ResourceID && s.Channel == o.Channel && s.address() == o.address()
}

func compareSubscriptions(a, b Subscription) int {
	if a.ResourceID != b.ResourceID {
		if a.ResourceID < b.ResourceID {
			return -1
		}
		return 1
	}
	if c := strings.Compare(string(a.Channel), string(b.Channel)); c != 0 {
		return c
	}
	return strings.Compare(a.address(), b.address())
}

// CheckSubscription reports whether sub would be accepted by an import
// into database db (a 400 naming what is wrong if not; its sms phone is
// read in the database's phone region), without writing anything. An
// unknown database is a 404.
func (s *Store) CheckSubscription(db uint32, sub Subscription) error {
	d, err := s.schema.Load().db(db)
	if err != nil {
		return err
	}
	_, err = sub.normalize(d.phoneRegion(s.opts.PhoneRegion))
	return err
}
