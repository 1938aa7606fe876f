package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
)

// config is the serve command's JSON config file.
type config struct {
	Tokens        []tokenConfig           `json:"tokens"`
	Databases     []relgraph.Database     `json:"databases"`
	RelationTypes []relgraph.RelationType `json:"relation_types"`
	// ChangeFeed, when present, sets the store's change feed; absent,
	// the store keeps the one it has.
	ChangeFeed *feedConfig `json:"change_feed"`
}

// feedConfig is relgraph.FeedConfig in a config file: max_age a Go
// duration such as "168h". on is required: a change_feed that only sets
// retention would otherwise turn the feed off at every start.
type feedConfig struct {
	On         *bool  `json:"on"`
	MaxChanges int64  `json:"max_changes"`
	MaxBytes   int64  `json:"max_bytes"`
	MaxAge     string `json:"max_age"`
}

func (f *feedConfig) feed() (relgraph.FeedConfig, error) {
	if f.On == nil {
		return relgraph.FeedConfig{}, fmt.Errorf("change_feed.on: required, true or false (without it the feed would be turned off at every start)")
	}
	cfg := relgraph.FeedConfig{On: *f.On, MaxChanges: f.MaxChanges, MaxBytes: f.MaxBytes}
	if f.MaxAge != "" {
		d, err := time.ParseDuration(f.MaxAge)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("change_feed.max_age: a duration such as \"168h\", not %q", f.MaxAge)
		}
		cfg.MaxAge = d
	}
	if f.MaxChanges < 0 || f.MaxBytes < 0 {
		return cfg, fmt.Errorf("change_feed: max_changes and max_bytes must not be negative")
	}
	return cfg, nil
}

type tokenConfig struct {
	Token string `json:"token"`
	Role  string `json:"role"`
}

// loadConfig reads a config file strictly: unknown keys and values of
// the wrong type are errors that name them.
func loadConfig(path string) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(b)
}

func parseConfig(b []byte) (*config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		at := position(b, errorOffset(err, dec))
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			err = fmt.Errorf("%s: a JSON %s where %s is expected", typ.Field, typ.Value, jsonKind(typ.Type))
		}
		return nil, fmt.Errorf("config: %s: %w", at, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("config: %s: data after the JSON object", position(b, dec.InputOffset()))
	}
	if c.ChangeFeed != nil {
		if _, err := c.ChangeFeed.feed(); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	for i, t := range c.Tokens {
		if t.Token == "" {
			return nil, fmt.Errorf("config: tokens[%d]: empty token", i)
		}
		if _, err := api.ParseRole(t.Role); err != nil {
			return nil, fmt.Errorf("config: tokens[%d]: %v", i, err)
		}
	}
	return &c, nil
}

// errorOffset is where in the input a decoding error lies: the offset
// the error names, or else how far the decoder had read.
func errorOffset(err error, dec *json.Decoder) int64 {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return syntax.Offset
	case errors.As(err, &typ):
		return typ.Offset
	}
	return dec.InputOffset()
}

// jsonKind names what a Go type takes in JSON.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// position is "line L, column C" of a byte offset in b (both from 1).
func position(b []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// parseEnvTokens reads RELGRAPH_TOKENS: "token:role,token:role".
func parseEnvTokens(s string) ([]tokenConfig, error) {
	var out []tokenConfig
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		tok, role, ok := strings.Cut(part, ":")
		if !ok || tok == "" {
			return nil, fmt.Errorf("RELGRAPH_TOKENS: %q is not token:role", redact(part))
		}
		if _, err := api.ParseRole(role); err != nil {
			return nil, fmt.Errorf("RELGRAPH_TOKENS: %v", err)
		}
		out = append(out, tokenConfig{tok, role})
	}
	return out, nil
}

// redact shows only the start of a secret.
func redact(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:4] + "****"
}

// apply puts the config's schema into the store in one transaction:
// all of it, or, if any part is refused, none (the error lists every
// refusal). Re-applying the same schema writes nothing.
func (c *config) apply(ctx context.Context, s *relgraph.Store) error {
	if err := s.ApplySchema(ctx, c.Databases, c.RelationTypes); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.ChangeFeed != nil {
		cfg, _ := c.ChangeFeed.feed() // checked by parseConfig
		if err := s.SetChangeFeed(ctx, cfg); err != nil {
			return fmt.Errorf("config: change_feed: %w", err)
		}
	}
	return nil
}

// Example mode: the set-up of the README, so the platform
// documentation's own requests (api/testdata/examples) work verbatim:
// its placeholder tokens, and the databases, fields and profiles its
// examples name.
var (
	exampleTokens = []string{"abcdefghijklmnqrstuvwxyz", "8d08f4ea57c74916909e9d324c20a6bc", "8a28168486844c8bae2673a51d4433ff",
		"bfc505684d774e52b188fa1f003cd5ed", "abcdefghklmnopqrstzxc"}
	exampleA    = "5d63dbdb439e7306b596c5d0"
	exampleB    = "5d441038439e7363f3c26539"
	exampleGetA = "669e6968ebf4ac52b623a997"
	exampleGetB = "6751b8f1c5e3db9bcb75befa"
	// exampleListed is the profile of profiles/list's example answer;
	// exampleSubscribed stands for subscriptions/get's placeholder
	// profile id (abcdefghijklmnqrstuvwxyz, which is no profile id).
	exampleListed     = "65117f62736a0e15d273faee"
	exampleSubscribed = "65117f62736a0e15d273fb00"
)

func exampleConfig() *config {
	counters := []relgraph.Field{{Name: "checks", Type: relgraph.FieldInt}, {Name: "returns", Type: relgraph.FieldInt}}
	c := &config{
		// The example keeps its last 100,000 changes: relgraph changes
		// -server shows the example's writes.
		ChangeFeed: &feedConfig{On: new(true), MaxChanges: 100_000},
		Databases: []relgraph.Database{
			{ID: 1, Name: "customers", Description: "May contain info", Fields: append([]relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags},
				{Name: "custom_id", Type: relgraph.FieldString}, {Name: "category", Type: relgraph.FieldTags}}, counters...)},
			{ID: 2, Name: "streamers", UITags: []string{"tag1", "tag2"}, Fields: []relgraph.Field{{Name: "nickname", Type: relgraph.FieldString}}},
			{ID: 5, Name: "leads"},
			{ID: 9, Name: "channels"},
			{ID: 24, Name: "accounts", Fields: counters},
		},
		RelationTypes: []relgraph.RelationType{{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
			{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
			{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
			{Name: "is_online", Type: relgraph.PropBool, Aggregate: relgraph.AggCount},
		}}, {ID: 2, Name: "watches", DatabaseA: 1, DatabaseB: 9, Properties: []relgraph.Property{
			{Name: "exr", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		}}},
	}
	for _, t := range exampleTokens {
		c.Tokens = append(c.Tokens, tokenConfig{t, "write"})
	}
	return c
}

// exampleProfiles makes sure the example profiles exist: the two of the
// documentation's edit request, the relation of its get example, and
// the profiles its functional updates change, and those of the
// profiles/list and subscriptions/get examples. Re-running it sets the
// same values again.
func exampleProfiles(ctx context.Context, s *relgraph.Store) error {
	for _, p := range []struct {
		db uint32
		id string
	}{{1, exampleA}, {2, exampleB}, {1, exampleGetA}, {9, exampleGetB},
		{24, "5a5b64a969d4265b958b9ac3"}, {1, "5a5b64a969d4265b958b9ac3"}, {1, "6613c4754a5d12bd6cc0915f"}, {1, "6613c4bf4a5d12bd6cc0916b"}} {
		id, err := relgraph.ParseProfileID(p.id)
		if err != nil {
			return err
		}
		if _, err := s.RestoreProfile(ctx, p.db, id, relgraph.ProfileData{}); err != nil {
			return err
		}
	}
	// The profile of "Get data for multiple profiles" (found by its
	// query, _city Moscow), and the one whose push subscription "Get
	// profile subscription" reads.
	for _, p := range []struct {
		id   string
		data relgraph.ProfileData
	}{
		{exampleListed, relgraph.ProfileData{
			Fields: map[string]any{"_fname": "Anna", "_lname": "Murphy", "_city": "Moscow"},
			Subscriptions: []relgraph.Subscription{{ResourceID: 5, Channel: relgraph.ChannelEmail, Email: "example@example.edu",
				Status: relgraph.StatusUnsubscribed}}}},
		{exampleSubscribed, relgraph.ProfileData{
			Subscriptions: []relgraph.Subscription{{ResourceID: 1, Channel: relgraph.ChannelPush, Provider: "Firefox",
				SubscriptionID: "abcdefghijklmnqrstuvwxyz", Priority: 10, Status: relgraph.StatusSubscribed,
				Fields:     map[string]string{"_device_type": "mob", "_os": "Android", "custom_field_1": "test value"},
				Categories: []string{"news_category", "transaction_category"}}}}},
	} {
		id, err := relgraph.ParseProfileID(p.id)
		if err != nil {
			return err
		}
		if _, err := s.RestoreProfile(ctx, 1, id, p.data); err != nil {
			return err
		}
	}
	_, err := s.Attach(ctx, relgraph.RelationRequest{RelationType: 2,
		A:       relgraph.Locator{ProfileID: exampleGetA},
		B:       relgraph.Locator{ProfileID: exampleGetB},
		Weights: map[string]any{"exr": 11323123}})
	return err
}
