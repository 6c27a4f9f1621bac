package read

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"
	"time"
)

// syntheticCloudTrail returns n CloudTrail records (about 1.3 KB each, the
// size of real management events) as JSON lines. 1 in 20 is a call whose
// details the rules use (RunTask with a task-role override, AddUserToGroup,
// AssumeRole), the rest are read-only describes and S3 reads by assumed roles.
func syntheticCloudTrail(n int) []byte {
	var b bytes.Buffer
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339)
		acct := fmt.Sprintf("1111%08d", i%7)
		var source, name, req, resp string
		switch {
		case i%60 == 0:
			source, name = "ecs.amazonaws.com", "RunTask"
			req = fmt.Sprintf(`{"cluster":"prod","count":1,"launchType":"FARGATE","taskDefinition":"arn:aws:ecs:us-east-1:%s:task-definition/app:%d","overrides":{"taskRoleArn":"arn:aws:iam::%s:role/admin","containerOverrides":[{"name":"app","command":["sh","-c","curl http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}`, acct, i%9, acct)
			resp = `{"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:111100000001:task/prod/0123456789abcdef"}],"failures":[]}`
		case i%60 == 20:
			source, name = "iam.amazonaws.com", "AddUserToGroup"
			req = fmt.Sprintf(`{"groupName":"deployers","userName":"user%d"}`, i%100)
			resp = "null"
		case i%60 == 40:
			source, name = "sts.amazonaws.com", "AssumeRole"
			req = fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/deploy","roleSessionName":"s%d","durationSeconds":3600}`, acct, i)
			resp = fmt.Sprintf(`{"credentials":{"accessKeyId":"ASIA%016d","sessionToken":"IQoJb3JpZ2luX2VjEKH//////////wEaCXVzLWVhc3QtMSJIMEYCIQDpLWjFwlZiDhOSv0Wy5mFb","expiration":"Mar 1, 2025, 1:00:00 PM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:s%d","arn":"arn:aws:sts::%s:assumed-role/deploy/s%d"}}`, i, i, acct, i)
		case i%3 == 0:
			source, name = "s3.amazonaws.com", "GetObject"
			req = fmt.Sprintf(`{"bucketName":"data-%d","Host":"data-%d.s3.us-east-1.amazonaws.com","key":"reports/2025/03/part-%05d.parquet"}`, i%13, i%13, i)
			resp = "null"
		default:
			source, name = "ec2.amazonaws.com", "DescribeInstances"
			req = fmt.Sprintf(`{"instancesSet":{"items":[{"instanceId":"i-%017x"}]},"filterSet":{}}`, i)
			resp = "null"
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID%04d:session-%d","arn":"arn:aws:sts::%s:assumed-role/app-role-%d/session-%d","accountId":"%s","accessKeyId":"ASIAEXAMPLE%09d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID%04d","arn":"arn:aws:iam::%s:role/service/app-role-%d","accountId":"%s","userName":"app-role-%d"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"10.%d.%d.%d","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/%s#1.0","requestParameters":%s,"responseElements":%s,"requestID":"%08x-1111-2222-3333-444455556666","eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s"}}`+"\n",
			i%50, i, acct, i%50, i, acct, i, i%50, acct, i%50, acct, i%50, ts, ts, source, name,
			i%256, (i/256)%256, i%7, name, req, resp, i, i, i%3 != 0, acct, source)
	}
	return b.Bytes()
}

func benchRead(b *testing.B, data []byte, format string, gz bool) {
	b.Helper()
	input := data
	if gz {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(data)
		_ = zw.Close()
		input = zb.Bytes()
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := NewReader(b.Context(), "bench", bytes.NewReader(input), format)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
		if s := r.Stats(); s.Unknown+s.Malformed != 0 {
			b.Fatalf("bad records: %+v", s.Problems)
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	// CPU time is what "per core" means on a loaded machine: wall time
	// includes waiting for a core.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkCloudTrailJSONL measures the reader end to end on JSON lines held
// in memory: line splitting, parsing, classification and details. Target
// (ARCHITECTURE.md §8): >= 300k events/s per core. Run with -cpu 1.
func BenchmarkCloudTrailJSONL(b *testing.B) {
	data := syntheticCloudTrail(20000)
	b.Run("cloudtrail", func(b *testing.B) { benchRead(b, data, FormatCloudTrail, false) })
	b.Run("auto", func(b *testing.B) { benchRead(b, data, FormatAuto, false) })
	b.Run("gzip", func(b *testing.B) { benchRead(b, data, FormatAuto, true) })
}

// BenchmarkCloudTrailRecordsDocument measures {"Records":[...]} trail files
// (the S3 delivery format) through the streaming document scanner.
func BenchmarkCloudTrailRecordsDocument(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(syntheticCloudTrail(20000)), []byte("\n"))
	doc := append([]byte(`{"Records":[`), bytes.Join(lines, []byte(","))...)
	doc = append(doc, "]}"...)
	benchRead(b, doc, FormatAuto, false)
}
