package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"permgraph/graph"
	"permgraph/queries"
)

// The PostgreSQL schema: what a Postgres-backed graph tool would keep for
// the question (integer keys, the textual node id, kinds as text, the
// provider as a column). COPY text format, one row per line.
const schemaSQL = `CREATE TABLE nodes (
	id bigint NOT NULL,
	key text NOT NULL,
	kind text NOT NULL,
	capability text,
	aws boolean GENERATED ALWAYS AS (key LIKE 'aws:%') STORED
);
CREATE TABLE edges (
	src bigint NOT NULL,
	dst bigint NOT NULL,
	kind text NOT NULL,
	conditional boolean NOT NULL
);
`

// indexSQL runs after COPY (faster than maintaining indexes while loading).
const indexSQL = `ALTER TABLE nodes ADD PRIMARY KEY (id);
CREATE INDEX edges_dst_kind ON edges (dst, kind);
CREATE INDEX nodes_capability ON nodes (capability) WHERE capability IS NOT NULL;
ANALYZE nodes;
ANALYZE edges;
`

// traversableKinds are the edge kinds a who-can path may use
// (graph.EdgeKind.Traversable), by name.
func traversableKinds() []string {
	var out []string
	for k := graph.EdgeKind(1); ; k++ {
		name := k.String()
		if strings.HasPrefix(name, "EdgeKind(") {
			break
		}
		if k.Traversable() {
			out = append(out, name)
		}
	}
	return out
}

// answerKinds are the node kinds reported as principals: every principal
// kind except cloud services (queries.reach skips graph.NodeService).
func answerKinds() []string {
	var out []string
	for k := graph.NodeKind(1); ; k++ {
		name := k.String()
		if strings.HasPrefix(name, "NodeKind(") {
			break
		}
		if k.IsPrincipal() && k != graph.NodeService {
			out = append(out, name)
		}
	}
	return out
}

func sqlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + strings.ReplaceAll(x, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// whoCanSQL is "who can deploy" as one recursive CTE: reverse reachability
// from every deploy-capability node over the traversable kinds, only
// unconditional edges, never into an AWS group along MemberOf (AWS group
// policies are already folded into the members' own Can edges, see
// queries.foldedMembership). UNION (not UNION ALL) makes PostgreSQL drop
// rows it has already produced, so cycles terminate.
func whoCanSQL() string {
	return fmt.Sprintf(`WITH RECURSIVE reach(node, aws) AS (
	SELECT id, aws FROM nodes WHERE capability = '%s'
	UNION
	SELECT s.id, s.aws
	FROM reach r
	JOIN edges e ON e.dst = r.node
	JOIN nodes s ON s.id = e.src
	WHERE e.kind IN (%s) AND NOT e.conditional AND NOT (e.kind = 'MemberOf' AND r.aws)
)
SELECT n.key FROM reach r JOIN nodes n ON n.id = r.node
WHERE n.kind IN (%s)`, queries.DeployCapability, sqlList(traversableKinds()), sqlList(answerKinds()))
}

// copyEscape escapes a value for COPY's text format.
func copyEscape(s string) string {
	if !strings.ContainsAny(s, "\\\t\n\r") {
		return s
	}
	r := strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	return r.Replace(s)
}

// writeNodes streams the view's nodes as COPY rows (id, key, kind,
// capability). Only capability nodes decode their payload.
func writeNodes(ctx context.Context, v *graph.View, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 256)
	for i := 0; i < v.NumNodes(); i++ {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return i, fmt.Errorf("export nodes: %w", err)
			}
		}
		id := graph.NodeID(i)
		kind := v.NodeKind(id)
		capability := `\N`
		if kind == graph.NodeCapability {
			if c := v.Node(id).Attrs["capability"]; c != "" {
				capability = copyEscape(c)
			}
		}
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		buf = append(buf, '\t')
		buf = append(buf, copyEscape(v.NodeIDString(id))...)
		buf = append(buf, '\t')
		buf = append(buf, kind.String()...)
		buf = append(buf, '\t')
		buf = append(buf, capability...)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return i, fmt.Errorf("export nodes: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return v.NumNodes(), fmt.Errorf("export nodes: %w", err)
	}
	return v.NumNodes(), nil
}

// writeEdges streams the view's edges as COPY rows (src, dst, kind,
// conditional).
func writeEdges(ctx context.Context, v *graph.View, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 64)
	for i := 0; i < v.NumEdges(); i++ {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return i, fmt.Errorf("export edges: %w", err)
			}
		}
		from, to, kind, cond := v.EdgeEnds(graph.EdgeID(i))
		buf = strconv.AppendInt(buf[:0], int64(from), 10)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(to), 10)
		buf = append(buf, '\t')
		buf = append(buf, kind.String()...)
		buf = append(buf, '\t')
		if cond {
			buf = append(buf, 't')
		} else {
			buf = append(buf, 'f')
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return i, fmt.Errorf("export edges: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return v.NumEdges(), fmt.Errorf("export edges: %w", err)
	}
	return v.NumEdges(), nil
}

// copyNode and copyEdge are rows read back from the COPY text (tests and
// the in-Go reference evaluation of whoCanSQL).
type copyNode struct {
	key, kind, capability string
}

type copyEdge struct {
	src, dst    int64
	kind        string
	conditional bool
}

func parseNodes(r io.Reader) (map[int64]copyNode, error) {
	out := map[int64]copyNode{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("node row %q: want 4 fields, got %d", sc.Text(), len(f))
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("node row %q: %w", sc.Text(), err)
		}
		c := f[3]
		if c == `\N` {
			c = ""
		}
		out[id] = copyNode{key: f[1], kind: f[2], capability: c}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read node rows: %w", err)
	}
	return out, nil
}

func parseEdges(r io.Reader) ([]copyEdge, error) {
	var out []copyEdge
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 || (f[3] != "t" && f[3] != "f") {
			return nil, fmt.Errorf("edge row %q: want src, dst, kind, t|f", sc.Text())
		}
		src, err1 := strconv.ParseInt(f[0], 10, 64)
		dst, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("edge row %q: bad node id", sc.Text())
		}
		out = append(out, copyEdge{src: src, dst: dst, kind: f[2], conditional: f[3] == "t"})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read edge rows: %w", err)
	}
	return out, nil
}

// referenceWhoCan evaluates whoCanSQL's rule in Go over exported rows, so a
// test can check the rule against queries.WhoCanDeploy without PostgreSQL.
func referenceWhoCan(nodes map[int64]copyNode, edges []copyEdge) []string {
	trav := map[string]bool{}
	for _, k := range traversableKinds() {
		trav[k] = true
	}
	answer := map[string]bool{}
	for _, k := range answerKinds() {
		answer[k] = true
	}
	in := map[int64][]copyEdge{}
	for _, e := range edges {
		in[e.dst] = append(in[e.dst], e)
	}
	seen := map[int64]bool{}
	var queue []int64
	for id, n := range nodes {
		if n.capability == queries.DeployCapability {
			seen[id] = true
			queue = append(queue, id)
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		curAWS := strings.HasPrefix(nodes[cur].key, "aws:")
		for _, e := range in[cur] {
			if !trav[e.kind] || e.conditional || (e.kind == "MemberOf" && curAWS) || seen[e.src] {
				continue
			}
			seen[e.src] = true
			queue = append(queue, e.src)
		}
	}
	var out []string
	for id := range seen {
		if answer[nodes[id].kind] {
			out = append(out, nodes[id].key)
		}
	}
	sort.Strings(out)
	return out
}
