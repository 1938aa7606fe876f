package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

// The tests of this file hold the platform's pages to their word, one
// point of issue #14 each (docs/spec.md says where each is decided).

// TestImportTakesEveryDocumentedParameter: profiles/import and
// import_batch accept skip_triggers, detect_geo, add_to_segments,
// remove_from_segments (no effect here) and skip_invalid_subscriptions
// (an invalid subscription is dropped and reported); a subscription's
// priority is stored and returned; an undocumented parameter is still
// refused by name.
func TestImportTakesEveryDocumentedParameter(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("profiles/import", map[string]any{"db_id": 1, "email": "p@x.io", "skip_triggers": true, "detect_geo": false,
		"add_to_segments": []any{1, 2}, "remove_from_segments": []any{3}, "skip_invalid_subscriptions": true,
		"data": map[string]any{"email": "p@x.io", "subscriptions": []any{
			map[string]any{"resource_id": 1, "channel": "email", "email": "p@x.io", "priority": 3},
			map[string]any{"resource_id": 2, "channel": "fax", "email": "p@x.io"},
			map[string]any{"resource_id": 3, "channel": "sms", "phone": "not a phone"},
		}}})
	e.want(r, 0)
	skipped := r.body["skipped_subscriptions"].([]any)
	if len(skipped) != 2 || scalarText(skipped[0].(map[string]any)["index"]) != "1" || !strings.Contains(scalarText(skipped[1].(map[string]any)["error_text"]), "phone") {
		t.Fatalf("skipped: %s", r.raw)
	}
	r = e.postJSON("profiles/get", map[string]any{"db_id": 1, "email": "p@x.io"})
	e.want(r, 0)
	subs := r.body["data"].(map[string]any)["subscriptions"].([]any)
	if len(subs) != 1 || scalarText(subs[0].(map[string]any)["priority"]) != "3" {
		t.Fatalf("subscriptions: %s", r.raw)
	}
	// Without skip_invalid_subscriptions an invalid one fails the import.
	before := e.digest()
	r = e.postJSON("profiles/import", map[string]any{"db_id": 1, "email": "q@x.io", "data": map[string]any{"subscriptions": []any{
		map[string]any{"resource_id": 2, "channel": "fax", "email": "q@x.io"}}}})
	e.want(r, 400)
	for _, bad := range []map[string]any{
		{"db_id": 1, "email": "q@x.io", "skip_trigers": true},
		{"db_id": 1, "email": "q@x.io", "add_to_segments": []any{"x"}},
		{"db_id": 1, "email": "q@x.io", "detect_geo": "sometimes"},
	} {
		r = e.postJSON("profiles/import", bad)
		e.want(r, 400)
	}
	if !strings.Contains(scalarText(e.postJSON("profiles/import", map[string]any{"db_id": 1, "skip_trigers": true}).body["error_text"]), "skip_trigers") {
		t.Fatal("an unknown parameter is not named")
	}
	if e.digest() != before {
		t.Fatal("a refused import wrote")
	}
}

// TestSystemFields: every database has the platform's system fields
// without declaring them; the XML example's underscore-less names are
// read as them; computed ones are refused on write and answered by get.
func TestSystemFields(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("profiles/import", map[string]any{"db_id": 9, "email": "s@x.io", "data": map[string]any{
		"_fname": "Olly", "_lname": "Lambert", "_bdate": "1990-02-22T21:00:00Z", "_sex": 0, "_postal_code": 390000,
		"_city": "Ryazan", "_tz": "Europe/Moscow", "_status": 0, "_regdate": "2019-03-14"}})
	e.want(r, 0)
	r = e.post("profiles/import", "application/xml", `<xml><token>`+writeToken+`</token><db_id>9</db_id><email>x@x.io</email>
		<data><fname>Xml</fname><regcountry>US</regcountry><phones array='true'>+79000000000</phones></data></xml>`)
	e.want(r, 0)
	r = e.postJSON("profiles/get", map[string]any{"db_id": 9, "email": "s@x.io"})
	e.want(r, 0)
	d := r.body["data"].(map[string]any)
	if d["_fname"] != "Olly" || d["_sex"] != "0" || d["_postal_code"] != "390000" || d["_bdate"] != "1990-02-22T21:00:00Z" ||
		d["_regdate"] != "2019-03-14T00:00:00Z" || scalarText(d["_status"]) != "0" {
		t.Fatalf("system fields: %s", r.raw)
	}
	for _, computed := range []string{"_createtime", "_updatetime", "_xxh", "_md5", "_emaildomain"} {
		if _, ok := d[computed]; !ok {
			t.Errorf("get lacks %s: %s", computed, r.raw)
		}
	}
	if d["_emaildomain"] != "x.io" {
		t.Errorf("_emaildomain %v", d["_emaildomain"])
	}
	r = e.postJSON("profiles/get", map[string]any{"db_id": 9, "email": "x@x.io"})
	if d := r.body["data"].(map[string]any); d["_fname"] != "Xml" || d["_regcountry"] != "US" || len(d["phones"].([]any)) != 1 {
		t.Fatalf("XML system fields: %s", r.raw)
	}
	before := e.digest()
	for field, want := range map[string]string{"_xxh": "read-only", "_createtime": "read-only", "_nickname": "not a system field", "_bdate": "RFC 3339"} {
		r := e.postJSON("profiles/import", map[string]any{"db_id": 9, "email": "s@x.io", "data": map[string]any{field: "x"}})
		e.want(r, 400)
		if !strings.Contains(scalarText(r.body["error_text"]), want) || !strings.Contains(scalarText(r.body["error_text"]), field) {
			t.Errorf("%s: %s", field, r.raw)
		}
	}
	if e.digest() != before {
		t.Fatal("a refused write changed the store")
	}
}

// TestImportBatchSpeaksThePage: a top-level matching, and data as a
// list of profile objects each carrying its own key; results in order
// under "result"; keys that belong in each profile refused at the top.
func TestImportBatchSpeaksThePage(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("profiles/import_batch", map[string]any{"db_id": 1, "matching": "custom", "field_name": "CRM_ID", "data": []any{
		map[string]any{"CRM_ID": 7, "_fname": "Seven"},
		map[string]any{"CRM_ID": 8, "email": "eight@x.io"},
		map[string]any{"CRM_ID": 7, "_lname": "Again"},
		map[string]any{"_fname": "no key"},
	}})
	e.want(r, 0)
	res := r.body["result"].([]any)
	codes := []string{}
	for _, it := range res {
		codes = append(codes, scalarText(it.(map[string]any)["error"]))
	}
	if strings.Join(codes, ",") != "0,0,0,400" || res[0].(map[string]any)["profile_id"] != res[2].(map[string]any)["profile_id"] {
		t.Fatalf("batch: %s", r.raw)
	}
	p, err := e.store.GetProfile(ctx, 1, relgraph.Locator{FieldName: "CRM_ID", FieldValue: int64(7)})
	if err != nil || p.Fields["_fname"] != "Seven" || p.Fields["_lname"] != "Again" {
		t.Fatalf("the batch's custom matching: %+v %v", p, err)
	}
	e.want(e.postJSON("profiles/import_batch", map[string]any{"db_id": 1, "email": "a@x.io", "data": []any{}}), 400)
	e.want(e.postJSON("profiles/import_batch", map[string]any{"db_id": 1, "items": []any{}}), 400)
}

// TestEveryMatchingModeOfTheProfilePages: profiles/get finds a profile
// by each mode of the Matching page; profile_id matching only updates.
func TestEveryMatchingModeOfTheProfilePages(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("profiles/import", map[string]any{"db_id": 1, "email": "m@x.io", "data": map[string]any{
		"phones": []any{"+1 555 000 0101"}, "CRM_ID": 5, "subscriptions": []any{
			map[string]any{"resource_id": 1, "channel": "email", "email": "sub@x.io"},
			map[string]any{"resource_id": 1, "channel": "sms", "phone": "+1 555 000 0102"},
			map[string]any{"resource_id": 2, "channel": "push", "provider": "android-firebase", "subscription_id": "1234",
				"custom_fields": map[string]any{"_device": "pixel", "card": 42}},
		}}})
	e.want(r, 0)
	id := r.body["profile_id"]
	for _, loc := range []map[string]any{
		{"matching": "email", "email": "sub@x.io"},
		{"matching": "email_profile", "email": "M@x.io"},
		{"matching": "email_sub", "email": "sub@x.io"},
		{"matching": "phone", "phone": "+1 (555) 000-0101"},
		{"matching": "phone_sub", "phone": "+15550000102"},
		{"matching": "profile_id", "profile_id": id},
		{"matching": "push_sub", "provider": "android-firebase", "subscription_id": "1234"},
		{"matching": "custom", "field_name": "CRM_ID", "field_value": "5"},
		{"matching": "custom_sub", "field_name": "card", "field_value": 42},
		{"matching": "custom_sub", "field_name": "_device", "field_value": "pixel", "resource_id": 2},
		{"matching": "email_phone", "email": "m@x.io"},
		{"matching": "email_phone", "phone": "+15550000101"},
		{"matching": "email_phone_sub", "email": "sub@x.io", "phone": "+15550000102"},
	} {
		loc["db_id"] = 1
		r := e.postJSON("profiles/get", loc)
		if r.status != 200 || r.body["data"].(map[string]any)["id"] != id {
			t.Errorf("%v: %s", loc, r.raw)
		}
	}
	for _, loc := range []map[string]any{
		{"matching": "email_phone", "email": "sub@x.io"},         // a subscription, not the profile
		{"matching": "email_phone_sub", "phone": "+15550000101"}, // the profile, not a subscription
		{"matching": "custom_sub", "field_name": "card", "field_value": 42, "resource_id": 1},
	} {
		loc["db_id"] = 1
		e.want(e.postJSON("profiles/get", loc), 404)
	}
	// profile_id matching only updates: an import by an unknown id
	// creates nothing.
	before := e.digest()
	e.want(e.postJSON("profiles/import", map[string]any{"db_id": 1, "matching": "profile_id", "profile_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "data": map[string]any{"CRM_ID": 1}}), 404)
	if e.digest() != before {
		t.Fatal("an import by an unknown profile_id created a profile")
	}
	e.want(e.postJSON("profiles/import", map[string]any{"db_id": 1, "profile_id": id, "data": map[string]any{"CRM_ID": 6}}), 0)
}

// TestTokenAndFormatInTheURL: the platform allows the token and the
// format in the URL (and discourages the token there); neither the query
// nor the token is ever logged.
func TestTokenAndFormatInTheURL(t *testing.T) {
	var logs syncBuffer
	e := newEnvWith(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	r := e.post("relations/get_counter?token="+writeToken+"&format=xml", "application/json", `{"rel_id":3,"profile_id":"`+profileA+`"}`)
	e.want(r, 0)
	if !strings.HasPrefix(r.ctype, "application/xml") {
		t.Fatalf("format=xml answered %s", r.ctype)
	}
	r = e.post("relations/get_counter?token=wrong", "application/json", `{"rel_id":3,"profile_id":"`+profileA+`"}`)
	e.want(r, 403)
	if logged := logs.String(); strings.Contains(logged, writeToken) || strings.Contains(logged, "token=") || strings.Contains(logged, "format=") {
		t.Fatalf("the query was logged:\n%s", logged)
	}
}

// TestRelationsGetAnswersEveryRelation: without limit the answer holds
// every relation, streamed; with limit it is a page.
func TestRelationsGetAnswersEveryRelation(t *testing.T) {
	e := newEnv(t)
	const n = 2500
	items := make([]relgraph.ImportItem, n)
	res, err := e.store.ImportBatch(ctx, 2, items)
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.Update(ctx, func(tx *relgraph.Tx) error {
		for _, r := range res {
			if _, err := tx.Attach(relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: profileA},
				B: relgraph.Locator{ProfileID: r.ID.String()}, Weights: map[string]any{"user_like": 1}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.postJSON("relations/get", map[string]any{"rel_id": 3, "profile_id": profileA})
	e.want(r, 0)
	data := r.body["data"].([]any)
	if len(data) != n || scalarText(r.body["total_count"]) != fmt.Sprint(n) {
		t.Fatalf("JSON: %d items, total_count %v", len(data), r.body["total_count"])
	}
	seen := map[any]bool{}
	for _, it := range data {
		seen[it.(map[string]any)["profile_id_b"]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct relations of %d", len(seen), n)
	}
	r = e.post("relations/get", "application/xml", `<xml><token>`+writeToken+`</token><rel_id>3</rel_id><profile_id>`+profileA+`</profile_id></xml>`)
	e.want(r, 0)
	if got := len(asList(r.body["data"])); got != n || scalarText(r.body["total_count"]) != fmt.Sprint(n) {
		t.Fatalf("XML: %d items, total_count %v", got, r.body["total_count"])
	}
	r = e.postJSON("relations/get", map[string]any{"rel_id": 3, "profile_id": profileA, "limit": 100})
	e.want(r, 0)
	if len(r.body["data"].([]any)) != 100 || r.body["next_cursor"] == nil || scalarText(r.body["total_count"]) != fmt.Sprint(n) {
		t.Fatalf("a page: %d items", len(r.body["data"].([]any)))
	}
	e.want(e.postJSON("relations/get", map[string]any{"rel_id": 3, "profile_id": "aaaaaaaaaaaaaaaaaaaaaaaa"}), 404)
}

// TestPhonesAsWritten: phone numbers written as people write them, read
// by libphonenumber; without a country code they need the store's
// region; what is not a phone number is a 400 naming it.
func TestPhonesAsWritten(t *testing.T) {
	e := newEnv(t)
	for written, want := range map[string]string{
		"+49 (0)30 1234567": "+49301234567", "0049 30 1234567": "+49301234567", "+7 900 000-00-00": "+79000000000",
	} {
		r := e.postJSON("profiles/import", map[string]any{"db_id": 9, "data": map[string]any{"phones": []any{written}}})
		e.want(r, 0)
		p, err := e.store.GetProfile(ctx, 9, relgraph.Locator{ProfileID: scalarText(r.body["profile_id"])})
		if err != nil || len(p.Phones) != 1 || p.Phones[0] != want {
			t.Errorf("%q stored as %v (%v), want %s", written, p.Phones, err, want)
		}
	}
	for _, bad := range []string{"(555) 010-0001", "call me", "+1 23"} {
		r := e.postJSON("profiles/import", map[string]any{"db_id": 9, "data": map[string]any{"phones": []any{bad}}})
		e.want(r, 400)
		if !strings.Contains(scalarText(r.body["error_text"]), bad) {
			t.Errorf("%q: %s", bad, r.raw)
		}
	}
	// A store whose phones are American by default.
	engine, err := openEngine(filepath.Join(t.TempDir(), "us.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := relgraph.OpenEngine(engine, &relgraph.Options{PhoneRegion: "US"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(s, Config{Tokens: map[string]Role{writeToken: RoleWrite}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	us := &env{t: t, store: s, url: srv.URL}
	r := us.postJSON("profiles/import", map[string]any{"db_id": 1, "data": map[string]any{"phones": []any{"(555) 010-0001"}}})
	us.want(r, 0)
	r = us.postJSON("profiles/get", map[string]any{"db_id": 1, "phone": "555-010-0001"})
	us.want(r, 0)
	if phones := r.body["data"].(map[string]any)["phones"].([]any); len(phones) != 1 || phones[0] != "+15550100001" {
		t.Fatalf("US store: %s", r.raw)
	}
	if _, err := relgraph.OpenEngine(engine, &relgraph.Options{PhoneRegion: "XX"}); err == nil || !strings.Contains(err.Error(), "PhoneRegion") {
		t.Fatalf("an unknown region: %v", err)
	}
	_ = http.StatusOK
}

// TestBatchKeysAndFieldsOfTheSameName: without a matching, a profile's
// phone is its key (so importing it again updates it); a declared field
// named like a locator key stays a field unless the mode uses it.
func TestBatchKeysAndFieldsOfTheSameName(t *testing.T) {
	e := newEnv(t)
	if err := e.store.PutDatabase(ctx, relgraph.Database{ID: 4, Fields: []relgraph.Field{
		{Name: "phone", Type: relgraph.FieldString}, {Name: "provider", Type: relgraph.FieldString}, {Name: "field_value", Type: relgraph.FieldString}}}); err != nil {
		t.Fatal(err)
	}
	var ids []any
	for range 2 {
		r := e.postJSON("profiles/import_batch", map[string]any{"db_id": 2, "data": []any{map[string]any{"phone": "+79000000111", "nickname": "p"}}})
		e.want(r, 0)
		ids = append(ids, r.body["result"].([]any)[0].(map[string]any)["profile_id"])
	}
	if ids[0] != ids[1] {
		t.Fatalf("the same phone imported twice made two profiles: %v", ids)
	}
	r := e.postJSON("profiles/get", map[string]any{"db_id": 2, "phone": "+79000000111"})
	e.want(r, 0)
	r = e.postJSON("profiles/import_batch", map[string]any{"db_id": 4, "data": []any{
		map[string]any{"email": "f@x.io", "phone": "landline", "provider": "acme", "field_value": "fv"}}})
	e.want(r, 0)
	p, err := e.store.GetProfile(ctx, 4, relgraph.Locator{Email: "f@x.io"})
	if err != nil || p.Fields["phone"] != "landline" || p.Fields["provider"] != "acme" || p.Fields["field_value"] != "fv" {
		t.Fatalf("declared fields named like keys: %+v %v", p, err)
	}
}

// TestSubscriptionModesCreateWhatTheyFind: an import by a subscription
// mode creates a profile with the subscription it is found by (on the
// locator's resource), so a retry updates it; without a resource it
// cannot, and is a 404.
func TestSubscriptionModesCreateWhatTheyFind(t *testing.T) {
	e := newEnv(t)
	for _, loc := range []map[string]any{
		{"matching": "phone_sub", "phone": "+79000000777", "resource_id": 3},
		{"matching": "email_sub", "email": "s@x.io", "resource_id": 3},
		{"matching": "email_phone_sub", "phone": "+79000000778", "resource_id": 3},
		{"matching": "push_sub", "provider": "apns", "subscription_id": "dev-1", "resource_id": 3},
	} {
		var first any
		for range 3 {
			body := map[string]any{"db_id": 2, "data": map[string]any{"nickname": "n"}}
			for k, v := range loc {
				body[k] = v
			}
			r := e.postJSON("profiles/import", body)
			e.want(r, 0)
			if first == nil {
				first = r.body["profile_id"]
			} else if r.body["profile_id"] != first {
				t.Fatalf("%v: a retry made another profile: %s", loc, r.raw)
			}
		}
	}
	before := e.digest()
	for _, loc := range []map[string]any{
		{"matching": "phone_sub", "phone": "+79000000779"},
		{"matching": "custom_sub", "field_name": "card", "field_value": "1", "resource_id": 3},
	} {
		loc["db_id"], loc["data"] = 2, map[string]any{}
		e.want(e.postJSON("profiles/import", loc), 404)
	}
	if e.digest() != before {
		t.Fatal("a refused import wrote")
	}
}

// TestReviewedCorners: what a client's mistakes get (each was once
// accepted silently, or answered confusingly).
func TestReviewedCorners(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("profiles/import", map[string]any{"db_id": 1, "email": "c@x.io", "data": map[string]any{"CRM_ID": 5}})
	e.want(r, 0)
	before := e.digest()
	for _, data := range []map[string]any{
		{"CRM_ID": map[string]any{}},                 // no action
		{"_fname": map[string]any{"value": nil}},     // no action
		{"_sex": map[string]any{"action": "set"}},    // set without a value
		{"CRM_ID": map[string]any{"action": "incr"}}, // incr without a value
		{"CRM_ID": map[string]any{"action": "incr", "value": 1, "submatch": "x"}},
		{"_sex": 1.5},              // a system text field takes an integer
		{"phones": "+79000000000"}, // JSON: a list must be a list
		{"CRM_ID": "1_000"}, {"_status": "active"},
		{"phones": []any{"+49 30 1234567 ext. 12"}},
	} {
		r := e.postJSON("profiles/update", map[string]any{"db_id": 1, "email": "c@x.io", "data": data})
		e.want(r, 400)
		if text := scalarText(r.body["error_text"]); strings.Contains(text, "interface") || strings.Contains(text, "relgraph.") {
			t.Errorf("%v: a Go type in the answer: %s", data, text)
		}
	}
	if e.digest() != before {
		t.Fatal("a refused update wrote")
	}
	// XML: one <subscriptions> element is a list of one; <fname> with
	// <_fname> is ambiguous.
	x := func(inner string) response {
		return e.post("profiles/update", "application/xml", `<xml><token>`+writeToken+`</token><db_id>1</db_id><email>c@x.io</email><data>`+inner+`</data></xml>`)
	}
	e.want(x(`<subscriptions><resource_id>1</resource_id><channel>email</channel><email>c@x.io</email></subscriptions>`), 0)
	e.want(x(`<fname>A</fname><_fname>B</_fname>`), 400)
	// Authorization: the scheme in any case; another scheme carries no
	// token, so the body's counts.
	counter := `{"token":"` + writeToken + `","rel_id":3,"profile_id":"` + profileA + `"}`
	for _, header := range []string{"bearer " + writeToken, "Basic dXNlcjpwdw==", "Token " + writeToken} {
		req := mustRequest(t, e.url+Prefix+"relations/get_counter", "application/json", counter)
		req.Header.Set("Authorization", header)
		e.want(e.do(req), 0)
	}
	// format: json or xml in any case, else a 400.
	r = e.post("relations/get_counter?format=XML", "application/json", counter)
	if r.status != 200 || !strings.HasPrefix(r.ctype, "application/xml") {
		t.Fatalf("format=XML: %d %s", r.status, r.ctype)
	}
	e.want(e.post("relations/get_counter?format=yaml", "application/json", counter), 400)
	e.want(e.post("relations/get_counter", "application/json", `{"token":"`+writeToken+`","format":"yaml","rel_id":3,"profile_id":"`+profileA+`"}`), 400)
	// relations/get: limit 0 is "no limit"; an empty stream in XML still
	// writes its list.
	r = e.post("relations/get", "application/xml", `<xml><token>`+writeToken+`</token><rel_id>3</rel_id><profile_id>`+profileA+`</profile_id><limit>0</limit></xml>`)
	e.want(r, 0)
	if !strings.Contains(string(r.raw), `<data array="true"/>`) || scalarText(r.body["total_count"]) != "0" {
		t.Fatalf("an empty stream: %s", r.raw)
	}
	// A byte-order mark before JSON is not an error.
	e.want(e.post("relations/get_counter", "application/json", "\ufeff"+counter), 0)
}
