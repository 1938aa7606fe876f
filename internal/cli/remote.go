package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/client"
)

// The read-only tools (check, get, export, backup) work on a running
// server too, with -server URL and a read token: the store file is the
// server's while it runs. They speak through package client.

// serverFlags adds -server and -token to a tool's flags.
func serverFlags(fs *flag.FlagSet) (server, token *string) {
	server = fs.String("server", "", "base URL of a running 'relgraph serve' (http:// or https://) to read from, instead of the file")
	token = fs.String("token", "", "read token for -server (default: $RELGRAPH_TOKEN)")
	return server, token
}

// remote returns the client of -server, refusing -db beside it.
func remote(fs *flag.FlagSet, server, token string) (*client.Client, error) {
	if setFlags(fs)["db"] {
		return nil, usagef("-db and -server exclude each other: read a file, or a running server")
	}
	if token == "" {
		token = os.Getenv("RELGRAPH_TOKEN")
	}
	c, err := client.New(server, token)
	if err != nil {
		return nil, usagef("-server: %v", err)
	}
	return c, nil
}

func remoteCheck(ctx context.Context, c *client.Client, stdout io.Writer) error {
	problems, err := c.Check(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "%d violation(s)\n", len(problems))
		return errViolations
	}
	fmt.Fprintln(stdout, "ok: no violations")
	return nil
}

// remoteExport writes the server's whole store, or with db its
// profiles as import lines, read a page of profiles/list at a time.
func remoteExport(ctx context.Context, c *client.Client, db uint, stdout io.Writer) error {
	if db == 0 {
		_, err := c.Export(ctx, stdout)
		return err
	}
	enc := json.NewEncoder(stdout)
	from := ""
	for {
		ans, err := c.Call(ctx, "profiles/list", map[string]any{"db_id": db, "from_id": from, "limit": 1000})
		if err != nil {
			return err
		}
		data, _ := ans["data"].([]any)
		if len(data) == 0 {
			return nil
		}
		for _, item := range data {
			m, _ := item.(map[string]any)
			if err := enc.Encode(api.ImportLine(m)); err != nil {
				return err
			}
		}
		from, _ = ans["next_from_id"].(string)
	}
}

// remoteGet is get through the server: the profile (profiles/get), and
// for each relation type whose A side is its database its counter
// (relations/get_counter) and first shown relations (relations/get);
// and for each whose B side it is, the relations pointing to it
// (relgraph's own relations/reverse).
func remoteGet(ctx context.Context, c *client.Client, db uint32, loc relgraph.Locator, shown int, stdout io.Writer) error {
	req := map[string]any{"db_id": db}
	for k, v := range map[string]string{"matching": string(loc.Matching), "profile_id": loc.ProfileID, "email": loc.Email, "phone": loc.Phone, "field_name": loc.FieldName} {
		if v != "" {
			req[k] = v
		}
	}
	if loc.FieldValue != nil {
		req["field_value"] = loc.FieldValue
	}
	ans, err := c.Call(ctx, "profiles/get", req)
	if err != nil {
		return err
	}
	profile, _ := ans["data"].(map[string]any)
	id, _ := profile["id"].(string)
	_, rels, err := c.Schema(ctx)
	if err != nil {
		return err
	}
	out := []any{}
	for _, rt := range rels {
		if rt.DatabaseA != db {
			continue
		}
		counter, err := c.Call(ctx, "relations/get_counter", map[string]any{"rel_id": rt.ID, "profile_id": id})
		if err != nil {
			return err
		}
		cd, _ := counter["data"].(map[string]any)
		total, _ := cd["total"].(json.Number)
		n, _ := total.Int64()
		if n == 0 {
			continue
		}
		page := []any{}
		if shown > 0 {
			ans, err := c.Call(ctx, "relations/get", map[string]any{"rel_id": rt.ID, "profile_id": id, "limit": min(shown, relgraph.MaxRelationsLimit)})
			if err != nil {
				return err
			}
			page, _ = ans["data"].([]any)
		}
		out = append(out, relationsEntry(rt, "counter", cd, n, page))
	}
	profile["_relations"] = out
	to := []any{}
	for _, rt := range rels {
		if rt.DatabaseB != db {
			continue
		}
		ans, err := c.CallOwn(ctx, "relations/reverse", map[string]any{"rel_id": rt.ID, "profile_id": id, "count": true, "limit": min(max(shown, 1), relgraph.MaxRelationsLimit)})
		if err != nil {
			return err
		}
		total, _ := ans["total_count"].(json.Number)
		n, _ := total.Int64()
		if n == 0 {
			continue
		}
		page, _ := ans["data"].([]any)
		if len(page) > shown {
			page = page[:shown]
		}
		to = append(to, relationsEntry(rt, "total", total, n, page))
	}
	profile["_relations_to"] = to
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(profile)
}
