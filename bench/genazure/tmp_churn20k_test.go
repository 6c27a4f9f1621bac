package genazure

import (
	"strings"
	"testing"
)

func TestTmpChurn20k(t *testing.T) {
	c := ForUsers(20000)
	day0, _ := write(t, c)
	c.Round = 1
	day1, _ := write(t, c)
	a, b := items(collect(t, day0)), items(collect(t, day1))
	kinds := map[string]int{}
	from := map[string]int{}
	for k := range b {
		if _, ok := a[k]; !ok {
			f := strings.Fields(k)
			kinds["+"+f[1]+" "+f[len(f)-2]]++
			if len(f) > 3 {
				from[f[1]]++
			}
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			f := strings.Fields(k)
			kinds["-"+f[1]+" "+f[len(f)-2]]++
		}
	}
	n := 0
	for k, v := range kinds {
		if v > 50 {
			t.Logf("%s %d", k, v)
		}
		n++
	}
	for k, v := range from {
		if v > 200 {
			t.Logf("from %s %d", k, v)
		}
	}
}
