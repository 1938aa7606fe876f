package relgraph

import (
	"strconv"
	"strings"

	"github.com/relgraph/relgraph/index"
)

// Channel is a subscription channel.
type Channel string

// The channels of SPEC §1.
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

// The statuses of SPEC §1, with their wire numbers.
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
	ResourceID uint32  `json:"resource_id" msgpack:"r"`
	Channel    Channel `json:"channel" msgpack:"c"`
	// Email is the address on the email channel.
	Email string `json:"email,omitempty" msgpack:"e,omitempty"`
	// Phone is the address on the sms channel.
	Phone string `json:"phone,omitempty" msgpack:"p,omitempty"`
	// Provider and SubscriptionID address the push channel.
	Provider       string    `json:"provider,omitempty" msgpack:"pv,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty" msgpack:"sid,omitempty"`
	Status         SubStatus `json:"status" msgpack:"st"`
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
func (s Subscription) normalize() (Subscription, error) {
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
		if s.Phone, err = NormalizePhone(s.Phone); err != nil {
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
