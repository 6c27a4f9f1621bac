package cloudtrail_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/cloudtrail"
)

// TestParserStateMatchesStateless parses a long stream with one Parser (its
// shared strings, per-field interning pauses, identity cache and per-record
// string batching all engaged) and each record again with ParseRecord (no
// state): the events must be equal. The stream repeats principals whose
// ARN stays while other identity fields change, uses a fresh access key
// and address per record (fields the parser stops interning), escapes, and
// malformed and unrecognized records between good ones.
func TestParserStateMatchesStateless(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := cloudtrail.NewParser()
	const n = 6000
	good := 0
	for i := range n {
		rec := streamRecord(rng, i)
		want, werr := cloudtrail.ParseRecord(rec)
		got, gerr := p.Parse(rec)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("record %d: stateless error %v, stateful error %v\n%s", i, werr, gerr, rec)
		}
		if werr != nil {
			continue
		}
		good++
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("record %d (-stateless +stateful):\n%s\n%s", i, diff, rec)
		}
	}
	if good < n*3/4 {
		t.Fatalf("only %d of %d records parsed: the stream does not exercise the parser", good, n)
	}
}

func streamRecord(rng *rand.Rand, i int) []byte {
	switch i % 97 {
	case 13:
		return []byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"`) // cut short
	case 41:
		return []byte(`{"hello":"world"}`)
	}
	actor := rng.IntN(300)
	var ident string
	switch actor % 5 {
	case 0, 1:
		// Same ARN, but the type and principal id change now and then:
		// a cache keyed by the ARN alone would return stale fields.
		typ, pid := "IAMUser", fmt.Sprintf("AIDA%06d", actor)
		if rng.IntN(10) == 0 {
			typ = "FederatedUser"
		}
		if rng.IntN(10) == 0 {
			pid += "X"
		}
		ident = fmt.Sprintf(`{"type":%q,"principalId":%q,"arn":"arn:aws:iam::111122223333:user/u%d","accountId":"111122223333","accessKeyId":"AKIA%016d","userName":"u%d"}`,
			typ, pid, actor, i, actor)
	case 2, 3:
		issuer := fmt.Sprintf("arn:aws:iam::111122223333:role/r%d", actor)
		if rng.IntN(10) == 0 {
			issuer = fmt.Sprintf("arn:aws:iam::111122223333:role/path/r%d", actor)
		}
		ident = fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROA%06d:s%d","arn":"arn:aws:sts::111122223333:assumed-role/r%d/s%d","accountId":"111122223333","accessKeyId":"ASIA%016d","sessionContext":{"sessionIssuer":{"type":"Role","arn":%q,"accountId":"111122223333"},"sourceIdentity":"src%d"}}`,
			actor, actor%7, actor, actor%7, i, issuer, actor%3)
	default:
		// No ARN: keyed by the principal id; an escaped user name.
		ident = fmt.Sprintf(`{"type":"AWSService","principalId":"svc%d","invokedBy":"ecs.amazonaws.com","userName":"a\u00e9%d"}`, actor, actor)
	}
	id := fmt.Sprintf("%08x-aaaa-bbbb-cccc-ddddeeeeffff", i)
	if i%50 == 0 {
		id = `\u0031` + id // escaped: not batched
	}
	call := `"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","requestParameters":{"filterSet":{}}`
	switch i % 7 {
	case 1:
		call = fmt.Sprintf(`"eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","requestParameters":{"groupName":"g%d","userName":"u%d"}`, i%5, actor)
	case 2:
		call = fmt.Sprintf(`"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/r%d","roleSessionName":"s"},"responseElements":{"credentials":{"accessKeyId":"ASIA%016d"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/r%d/s"}}`, actor, i, actor)
	case 3:
		call = `"eventSource":"ecs.amazonaws.com","eventName":"RunTask","errorCode":"AccessDenied","requestParameters":{"cluster":"prod","taskDefinition":"app:1"}`
	}
	ua := "aws-cli/2.15 Python/3.11 " + strings.Repeat("x", i%300) // some beyond the interning bound
	return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":"2026-01-02T00:%02d:%02dZ",%s,"awsRegion":"us-east-1","sourceIPAddress":"10.%d.%d.%d","userAgent":%q,"eventID":"%s","recipientAccountId":"111122223333"}`,
		ident, (i/60)%60, i%60, call, i%256, (i/256)%256, rng.IntN(256), ua, id)
}

// TestControlCharacterInUnreadDetails: the scanner accepts a raw control
// character inside a string but encoding/json does not, and such a record
// has always been reported as malformed when its details are decoded. A
// part of the details that no rule reads (the response of AddUserToGroup)
// must keep that, while the same record without it parses.
func TestControlCharacterInUnreadDetails(t *testing.T) {
	rec := func(resp string) []byte {
		return []byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},"eventTime":"2026-01-02T00:00:00Z",` +
			`"eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","requestParameters":{"groupName":"g","userName":"u"},"responseElements":` + resp + `}`)
	}
	if _, err := cloudtrail.NewParser().Parse(rec(`{"note":"a` + "\x01" + `b"}`)); err == nil {
		t.Fatal("a control character in responseElements should make the record malformed")
	}
	ev, err := cloudtrail.NewParser().Parse(rec(`{"note":"ab"}`))
	if err != nil || ev.Detail("member") != "u" || ev.Detail("group") != "g" {
		t.Fatalf("details: %v %v", ev.Details, err)
	}
}
