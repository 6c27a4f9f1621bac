package jsonscan

import (
	"strings"
	"testing"
)

// record is a typical 1.3 KB CloudTrail management event.
const record = `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID0001:session-1","arn":"arn:aws:sts::111100000001:assumed-role/app-role-1/session-1","accountId":"111100000001","accessKeyId":"ASIAEXAMPLE000000001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID0001","arn":"arn:aws:iam::111100000001:role/service/app-role-1","accountId":"111100000001","userName":"app-role-1"},"attributes":{"creationDate":"2025-03-01T12:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2025-03-01T12:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"10.1.0.1","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.0","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-00000000000000001"}]},"filterSet":{},"policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"},"responseElements":null,"requestID":"00000001-1111-2222-3333-444455556666","eventID":"00000001-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111100000001","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.amazonaws.com"}}`

func BenchmarkSkip(b *testing.B) {
	data := []byte(strings.Repeat(record, 1))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Skip(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnd(b *testing.B) {
	data := []byte(record)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := End(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}
