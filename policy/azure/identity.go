package azure

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// noteIdentityGrant records that assignment a lets p attach every
// user-assigned identity below its scope.
func (d *deriver) noteIdentityGrant(p string, a *assignment, ref grantRef) {
	root := isRootScope(a.scope, a.scopeARM)
	for _, u := range d.sc.uamis {
		if !root && !d.sc.within(u, a.scope) {
			continue
		}
		m := d.idGrants[p]
		if m == nil {
			m = map[string][]grantRef{}
			d.idGrants[p] = m
		}
		m[u] = append(m[u], ref)
	}
}

// miIndex maps a user-assigned identity's lower-cased ARM id to its
// service principal. The contract has no field for this link yet, so
// several spellings are accepted: `principal_id` on the identity resource
// node, or `arm_id` / `resource_id` / `alternative_names` (JSON, as Graph's
// alternativeNames lists the ARM id) on the managed-identity sp node.
func (d *deriver) miIndex() map[string]string {
	idx := map[string]string{}
	for _, sg := range d.graphs {
		for id, n := range sg.Nodes {
			if !strings.HasPrefix(id, "entra:sp:") {
				continue
			}
			for _, k := range []string{"arm_id", "resource_id"} {
				if v := strings.ToLower(n.Attrs[k]); strings.Contains(v, uamiType) {
					setFirst(idx, v, id)
				}
			}
			if alt := n.Attrs["alternative_names"]; alt != "" {
				var names []string
				if json.Unmarshal([]byte(alt), &names) == nil {
					for _, v := range names {
						if v = strings.ToLower(v); strings.Contains(v, uamiType) {
							setFirst(idx, v, id)
						}
					}
				}
			}
		}
	}
	for _, u := range d.sc.uamis {
		n := d.sc.nodes[u]
		pid := n.Attrs["principal_id"]
		if pid == "" {
			continue
		}
		sp := "entra:sp:" + pid
		if _, ok := d.node(sp); !ok {
			if _, ok := d.node("entra:sp:" + strings.ToLower(pid)); ok {
				sp = "entra:sp:" + strings.ToLower(pid)
			}
		}
		idx[d.sc.arm(u)] = sp
	}
	return idx
}

func setFirst(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok || v < m[k] {
		m[k] = v
	}
}

// identities writes CanImpersonate p -> managed identity sp when p may
// attach the identity (userAssignedIdentities/assign/action on it) and p,
// or a group p is in, can deploy a workload that carries one (a recipe with
// `identity`). The attach right alone is not an edge: Managed Identity
// Operator without any deploy right cannot run code as the identity.
func (d *deriver) identities() error {
	if len(d.idGrants) == 0 {
		return nil
	}
	idx := d.miIndex()
	principals := make([]string, 0, len(d.idGrants))
	for p := range d.idGrants {
		principals = append(principals, p)
	}
	sort.Strings(principals)
	unresolved := 0
	for _, p := range principals {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		deploys, unconditional := d.canDeploy(p)
		if !deploys {
			continue
		}
		uamis := make([]string, 0, len(d.idGrants[p]))
		for u := range d.idGrants[p] {
			uamis = append(uamis, u)
		}
		sort.Strings(uamis)
		for _, u := range uamis {
			refs := d.idGrants[p][u]
			if denied := d.deniedFor(p, d.deniesAt(u), capGrants{d.uamiKey: refs}); denied[d.uamiKey] != "" {
				continue
			}
			sp, ok := idx[d.sc.arm(u)]
			if !ok {
				unresolved++
				continue
			}
			best, _ := bestGrant(refs)
			detail := fmt.Sprintf("%s (matched %s) on %s: attach it to a workload it can deploy", d.uamiKey.name, best.pattern, d.sc.arm(u))
			if best.via != "" {
				detail += " " + best.via
			}
			e := graph.Edge{From: p, Kind: graph.EdgeCanImpersonate, To: sp, Evidence: []graph.Evidence{best.evidence(detail)},
				Attrs: map[string]string{"identity_resource": d.sc.arm(u)}}
			switch {
			case best.cond != "":
				e.Conditional, e.Condition = true, best.cond
			case !unconditional:
				e.Conditional, e.Condition = true, "only a conditional deploy right can attach it"
			}
			if err := d.addEdge(e); err != nil {
				return err
			}
		}
	}
	if unresolved > 0 {
		d.warn("%d managed-identity attach grants name a user-assigned identity whose service principal is unknown; no CanImpersonate edge written", unresolved)
	}
	return nil
}

// canDeploy reports whether p, or a group p is a transitive member of, got
// a Can edge from an identity-carrying recipe, and whether unconditionally.
func (d *deriver) canDeploy(p string) (deploys, unconditional bool) {
	check := func(id string) {
		if u, ok := d.deployers[id]; ok {
			deploys = true
			unconditional = unconditional || u
		}
	}
	check(p)
	for g := range d.mem.ancestors(p) {
		check(g)
	}
	return deploys, unconditional
}
