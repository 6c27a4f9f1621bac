package cloudtrail_test

import (
	"fmt"
	"testing"

	"permgraph/detect/cloudtrail"
)

// BenchmarkParse measures the record parser alone (no I/O, no line
// splitting) on a typical assumed-role management event.
func BenchmarkParse(b *testing.B) {
	recs := make([][]byte, 64)
	size := 0
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:s%d","arn":"arn:aws:sts::111122223333:assumed-role/app/s%d","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE%d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/app","accountId":"111122223333","userName":"app"},"attributes":{"creationDate":"2025-03-01T12:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2025-03-01T12:00:%02dZ","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.%d","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef%d"}]},"filterSet":{}},"responseElements":null,"requestID":"req-%d","eventID":"ev-%d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}`, i, i, i, i%60, i, i%10, i, i)
		size += len(recs[i])
	}
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	p := cloudtrail.NewParser()
	i := 0
	for b.Loop() {
		if _, err := p.Parse(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
