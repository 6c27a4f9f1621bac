package azurerbac

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"permgraph/graph"
)

// BenchmarkFileImport imports an az CLI export of 800 role definitions and
// 20,000 role assignments (about 16 MB); MB/s is of input JSON.
func BenchmarkFileImport(b *testing.B) {
	dir := b.TempDir()
	var size int64
	write := func(name string, n int, item func(i int) string) {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(fh)
		w.WriteString("[\n")
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteString(",\n")
			}
			w.WriteString(item(i))
		}
		w.WriteString("\n]\n")
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		st, _ := fh.Stat()
		size += st.Size()
		fh.Close()
	}
	sub := "/subscriptions/" + tSub1
	write("defs.json", 800, func(i int) string {
		return fmt.Sprintf(`{"assignableScopes":["/"],"description":"role %d","id":"%s/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-%012d","name":"00000000-0000-4000-8000-%012d","permissions":[{"actions":["Microsoft.Compute/*/read","Microsoft.Network/*","Microsoft.Storage/storageAccounts/listKeys/action"],"condition":null,"conditionVersion":null,"dataActions":["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],"notActions":["Microsoft.Network/*/delete"],"notDataActions":[]}],"roleName":"Role %d","roleType":"BuiltInRole","type":"Microsoft.Authorization/roleDefinitions"}`,
			i, sub, i, i, i)
	})
	write("assignments.json", 20000, func(i int) string {
		scope := fmt.Sprintf("%s/resourceGroups/rg-%d", sub, i%300)
		return fmt.Sprintf(`{"condition":null,"conditionVersion":null,"createdBy":"a11ce000-0000-4000-8000-000000000001","createdOn":"2023-03-01T10:00:00.000000+00:00","delegatedManagedIdentityResourceId":null,"description":null,"id":"%s/providers/Microsoft.Authorization/roleAssignments/10000000-0000-4000-8000-%012d","name":"10000000-0000-4000-8000-%012d","principalId":"20000000-0000-4000-8000-%012d","principalName":"user%d@contoso.example","principalType":"User","resourceGroup":"rg-%d","roleDefinitionId":"%s/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-%012d","roleDefinitionName":"Role %d","scope":"%s","type":"Microsoft.Authorization/roleAssignments","updatedBy":"a11ce000-0000-4000-8000-000000000001","updatedOn":"2023-03-01T10:00:00.000000+00:00"}`,
			scope, i, i, i%5000, i%5000, i%300, sub, i%800, i%800, scope)
	})
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := graph.NewCollection()
		if err := NewFile(dir, Options{Tenant: tTenant}).Collect(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
