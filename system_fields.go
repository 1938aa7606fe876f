package relgraph

import (
	"slices"
	"strings"
)

// SystemFields are the platform's default profile fields ("Profile data
// object"; docs/spec.md §1): every database has them without declaring
// them, by these names and types. They are not indexed, so no locator
// matches on them. The platform's pages disagree on the type of _sex
// and _postal_code (a number in one, text in another): both are text
// here, and the HTTP API stores a number sent for them as its digits.
var SystemFields = []Field{
	{Name: "_fname", Type: FieldString, Unindexed: true},
	{Name: "_lname", Type: FieldString, Unindexed: true},
	{Name: "_bdate", Type: FieldDate, Unindexed: true},
	{Name: "_sex", Type: FieldString, Unindexed: true},
	{Name: "_regdate", Type: FieldDate, Unindexed: true},
	{Name: "_regip", Type: FieldString, Unindexed: true},
	{Name: "_regcity", Type: FieldString, Unindexed: true},
	{Name: "_regcountry", Type: FieldString, Unindexed: true},
	{Name: "_regurl", Type: FieldString, Unindexed: true},
	{Name: "_ip", Type: FieldString, Unindexed: true},
	{Name: "_city", Type: FieldString, Unindexed: true},
	{Name: "_country", Type: FieldString, Unindexed: true},
	{Name: "_region", Type: FieldString, Unindexed: true},
	{Name: "_postal_code", Type: FieldString, Unindexed: true},
	{Name: "_tz", Type: FieldString, Unindexed: true},
	{Name: "_vendor", Type: FieldString, Unindexed: true},
	{Name: "_browser", Type: FieldString, Unindexed: true},
	{Name: "_status", Type: FieldInt, Unindexed: true},
}

// ReadOnlyFields are the platform's computed profile fields. A write of
// one is refused (400): the platform computes them. relgraph computes
// those a profile answer carries (package api): _createtime,
// _updatetime, _xxh, and for a profile with an email, _md5 and
// _emaildomain.
var ReadOnlyFields = []string{
	"_acid", "_click_exist", "_click_push_exist", "_click_sms_exist", "_confirm_exist", "_createtime",
	"_deliv_date", "_deliv_exist", "_deliv_push_exist", "_deliv_sms_date", "_deliv_sms_exist",
	"_domaingroup", "_emaildomain", "_is_desktop", "_is_test", "_lat", "_lon", "_md5", "_open_date",
	"_updatetime", "_xxh", "_xxm",
}

// systemField returns the system field named name.
func systemField(name string) (Field, bool) {
	i := slices.IndexFunc(SystemFields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return SystemFields[i], true
}

// undeclaredField explains why name is not a field of database d: a
// read-only system field, an unknown system name, or undeclared.
func undeclaredField(d *Database, name string) error {
	switch {
	case slices.Contains(ReadOnlyFields, name):
		return invalidf("field %q is read-only: the platform computes it", name)
	case strings.HasPrefix(name, "_"):
		return invalidf("field %q is not a system field (the system fields: %s)", truncate(name), systemFieldNames())
	}
	return invalidf("field %q is not declared in database %d", truncate(name), d.ID)
}

func systemFieldNames() string {
	names := make([]string, len(SystemFields))
	for i, f := range SystemFields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
