package all

import "permgraph/ingest"

// The wrappers forward their parts' identities to ingest (checked at the
// consumer through this optional method).
var (
	_ interface{ CallerIdentities() []string } = (*azure)(nil)
	_ interface{ CallerIdentities() []string } = (*google)(nil)
	_ interface{ CallerIdentities() []string } = ingest.Multi(nil)
	_ interface{ CallerIdentities() []string } = (*ingest.OrgFanOut)(nil)
)
