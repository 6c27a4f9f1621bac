package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Stats is what Write produced.
type Stats struct {
	Users, Groups, Roles, Policies int
	Memberships, InlinePolicies    int
	Bytes                          int64
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write streams the organisation c as an AWS CLI style GAAD export
// (4-space indentation) to w: each element is encoded and written on its
// own, so memory stays flat whatever the size.
func Write(w io.Writer, c Config) (Stats, error) {
	o, err := NewOrg(c)
	if err != nil {
		return Stats{}, err
	}
	return o.Write(w)
}

// WriteFile writes the export to path (created or truncated).
func WriteFile(path string, c Config) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, err
	}
	st, err := Write(f, c)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("write %s: %w", path, err)
	}
	return st, nil
}

// Write streams the organisation to w.
func (o *Org) Write(w io.Writer) (Stats, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var st Stats
	var buf bytes.Buffer
	const prefix = "        "
	section := func(name string, n int, elem func(i int) any, last bool) error {
		fmt.Fprintf(bw, "    %q: [", name)
		for i := 0; i < n; i++ {
			b, err := json.Marshal(elem(i))
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			buf.Reset()
			if err := json.Indent(&buf, b, prefix, "    "); err != nil {
				return fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n" + prefix)
			bw.Write(buf.Bytes())
		}
		if n > 0 {
			bw.WriteString("\n    ")
		}
		bw.WriteString("]")
		if !last {
			bw.WriteByte(',')
		}
		_, err := bw.WriteString("\n")
		return err
	}
	bw.WriteString("{\n")
	err := section("UserDetailList", o.cfg.Users, func(i int) any {
		u := o.User(i)
		st.Users++
		st.Memberships += len(u.GroupList)
		st.InlinePolicies += len(u.UserPolicyList)
		return u
	}, false)
	if err == nil {
		err = section("GroupDetailList", o.cfg.Groups, func(i int) any {
			g := o.Group(i)
			st.Groups++
			st.InlinePolicies += len(g.GroupPolicyList)
			return g
		}, false)
	}
	if err == nil {
		err = section("RoleDetailList", o.cfg.Roles, func(i int) any {
			r := o.Role(i)
			st.Roles++
			st.InlinePolicies += len(r.RolePolicyList)
			return r
		}, false)
	}
	if err == nil {
		err = section("Policies", o.NumManagedPolicies(), func(i int) any {
			st.Policies++
			return o.ManagedPolicy(i)
		}, false)
	}
	if err != nil {
		return st, err
	}
	bw.WriteString("    \"IsTruncated\": false\n}\n")
	if err := bw.Flush(); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, nil
}
