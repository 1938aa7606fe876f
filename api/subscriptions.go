package api

import (
	"context"

	"github.com/relgraph/relgraph"
)

// subscriptionsGet answers the platform's "Get profile subscription"
// (subscriptions/get): the subscription of profile_id in db_id on
// resource_id, named by channel and its address (email; phone;
// provider and subscription_id; an address alone names its channel, and
// an address of another channel is a 400). With neither, the profile's
// one subscription on the resource is answered, and several are a 400
// asking for the channel. The telegram_bot and whatsapp channels
// (cc_data) are channels relgraph does not keep: a 400 naming them. No
// such subscription, profile or database is a 404. Cost: one profile
// read.
func (h *handler) subscriptionsGet(ctx context.Context, p *params) (map[string]any, error) {
	db, err := p.uint32("db_id", true)
	if err != nil {
		return nil, err
	}
	idText, err := p.str("profile_id")
	if err != nil {
		return nil, err
	}
	if idText == "" {
		return nil, p.bad("profile_id", "required")
	}
	id, err := relgraph.ParseProfileID(idText)
	if err != nil {
		return nil, p.bad("profile_id", "%v", err)
	}
	resource, err := p.uint32("resource_id", true)
	if err != nil {
		return nil, err
	}
	var want relgraph.Subscription
	channel, err := p.str("channel")
	if err != nil {
		return nil, err
	}
	want.Channel = relgraph.Channel(channel)
	if want.Email, err = p.str("email"); err != nil {
		return nil, err
	}
	if want.Phone, err = p.str("phone"); err != nil {
		return nil, err
	}
	if want.Provider, err = p.str("provider"); err != nil {
		return nil, err
	}
	if want.SubscriptionID, err = p.str("subscription_id"); err != nil {
		return nil, err
	}
	if _, set := p.get("cc_data"); set {
		return nil, p.bad("cc_data", "addresses the telegram_bot and whatsapp channels, which relgraph does not keep")
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	// The address names its channel: given without one, the channel is
	// the address's; an address of another channel than the one given,
	// or of two channels, is refused by name.
	switch want.Channel {
	case "", relgraph.ChannelEmail, relgraph.ChannelSMS, relgraph.ChannelPush:
	default:
		return nil, p.bad("channel", "%q is not a channel relgraph keeps (email, sms, push)", truncate(channel))
	}
	for _, a := range []struct {
		param   string
		set     bool
		channel relgraph.Channel
	}{
		{"email", want.Email != "", relgraph.ChannelEmail},
		{"phone", want.Phone != "", relgraph.ChannelSMS},
		{"provider", want.Provider != "", relgraph.ChannelPush},
		{"subscription_id", want.SubscriptionID != "", relgraph.ChannelPush},
	} {
		if !a.set {
			continue
		}
		if want.Channel == "" {
			want.Channel = a.channel
		}
		if a.channel != want.Channel {
			return nil, p.bad(a.param, "addresses the %s channel, not %s", a.channel, want.Channel)
		}
	}
	switch want.Channel {
	case "":
	case relgraph.ChannelEmail:
		if want.Email == "" {
			return nil, p.bad("email", "required with channel email")
		}
		if want.Email, err = relgraph.NormalizeEmail(want.Email); err != nil {
			return nil, p.bad("email", "%v", err)
		}
	case relgraph.ChannelSMS:
		if want.Phone == "" {
			return nil, p.bad("phone", "required with channel sms")
		}
		region, err := h.store.PhoneRegion(db)
		if err != nil {
			return nil, err
		}
		if want.Phone, err = relgraph.NormalizePhone(want.Phone, region); err != nil {
			return nil, p.bad("phone", "%v", err)
		}
	case relgraph.ChannelPush:
		if want.Provider == "" || want.SubscriptionID == "" {
			return nil, p.bad("channel", "push needs provider and subscription_id")
		}
	}
	prof, err := h.store.GetProfile(ctx, db, relgraph.Locator{ProfileID: id.String()})
	if err != nil {
		return nil, err
	}
	var found []relgraph.Subscription
	for _, s := range prof.Subscriptions {
		if s.ResourceID != resource || want.Channel != "" && s.Channel != want.Channel {
			continue
		}
		switch want.Channel {
		case relgraph.ChannelEmail:
			if s.Email != want.Email {
				continue
			}
		case relgraph.ChannelSMS:
			if s.Phone != want.Phone {
				continue
			}
		case relgraph.ChannelPush:
			if s.Provider != want.Provider || s.SubscriptionID != want.SubscriptionID {
				continue
			}
		}
		found = append(found, s)
	}
	switch len(found) {
	case 0:
		return nil, notFoundf("profile %s has no such subscription on resource %d", id, resource)
	case 1:
		return map[string]any{"data": subscriptionJSON(found[0], true), "error_text": "Successful operation"}, nil
	}
	return nil, invalidf("profile %s has %d subscriptions on resource %d: name one by channel and its address", id, len(found), resource)
}
