package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// CloudTrailConfig sizes a synthetic CloudTrail stream whose actors are the
// organisation's users and roles.
type CloudTrailConfig struct {
	Events int
	// Rate is events per second of event time (default 1000).
	Rate float64
	// AttackEvery makes one event in AttackEvery a call the detection rules
	// judge (RunTask with a task-role override, AddUserToGroup,
	// AttachUserPolicy, CreateAccessKey, UpdateFunctionCode, AssumeRole);
	// default 20. The rest are read-only describes and S3 reads.
	AttackEvery int
	Start       time.Time
	Seed        uint64
	// Actors is the number of distinct users and roles drawn from the
	// organisation (default 1000).
	Actors int
}

// WriteCloudTrail writes c.Events CloudTrail records as JSON lines (about
// 1.3 KB each, like real management events). The same organisation and
// config give the same bytes.
func (o *Org) WriteCloudTrail(w io.Writer, c CloudTrailConfig) (int64, error) {
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.AttackEvery <= 0 {
		c.AttackEvery = 20
	}
	if c.Actors <= 0 {
		c.Actors = 1000
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	acct := o.Account()
	type actor struct{ arn, principalID, typ, name string }
	var actors []actor
	r := rand.New(rand.NewPCG(c.Seed, 0xc10d7a11))
	for i := 0; i < c.Actors; i++ {
		if i%4 == 3 && o.cfg.Roles > 0 {
			role := o.Role(r.IntN(o.cfg.Roles))
			actors = append(actors, actor{
				arn:         fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/session-%d", acct, role.RoleName, i),
				principalID: role.RoleID + ":session-" + fmt.Sprint(i), typ: "AssumedRole", name: role.RoleName})
			continue
		}
		u := o.User(r.IntN(o.cfg.Users))
		actors = append(actors, actor{arn: u.Arn, principalID: u.UserID, typ: "IAMUser", name: u.UserName})
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countingWriter{w: bw}
	step := time.Duration(float64(time.Second) / c.Rate)
	for i := 0; i < c.Events; i++ {
		a := actors[r.IntN(len(actors))]
		ts := c.Start.Add(time.Duration(i) * step).Format(time.RFC3339)
		var source, name, req, resp string
		readOnly := false
		if i%c.AttackEvery == 0 {
			switch (i / c.AttackEvery) % 6 {
			case 0:
				source, name = "ecs.amazonaws.com", "RunTask"
				req = fmt.Sprintf(`{"cluster":"prod","count":1,"launchType":"FARGATE","taskDefinition":"arn:aws:ecs:us-east-1:%s:task-definition/app:%d","overrides":{"taskRoleArn":"arn:aws:iam::%s:role/admin-%d","containerOverrides":[{"name":"app","command":["sh","-c","curl http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}`, acct, i%9, acct, i%3)
				resp = fmt.Sprintf(`{"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:%s:task/prod/%016x"}],"failures":[]}`, acct, i)
			case 1:
				source, name = "iam.amazonaws.com", "AddUserToGroup"
				req = fmt.Sprintf(`{"groupName":"Administrators","userName":"%s"}`, a.name)
				resp = "null"
			case 2:
				source, name = "iam.amazonaws.com", "AttachUserPolicy"
				req = fmt.Sprintf(`{"userName":"%s","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, a.name)
				resp = "null"
			case 3:
				source, name = "iam.amazonaws.com", "CreateAccessKey"
				req = fmt.Sprintf(`{"userName":"%s"}`, actors[(i/7)%len(actors)].name)
				resp = fmt.Sprintf(`{"accessKey":{"userName":"x","accessKeyId":"AKIA%016d","status":"Active","createDate":"%s"}}`, i, ts)
			case 4:
				source, name = "lambda.amazonaws.com", "UpdateFunctionCode20150331v2"
				req = fmt.Sprintf(`{"functionName":"arn:aws:lambda:us-east-1:%s:function:app-%d","zipFile":"HIDDEN_DUE_TO_SECURITY_REASONS"}`, acct, i%17)
				resp = "null"
			default:
				source, name = "sts.amazonaws.com", "AssumeRole"
				req = fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/deploy-%d","roleSessionName":"s%d","durationSeconds":3600}`, acct, i%5, i)
				resp = fmt.Sprintf(`{"credentials":{"accessKeyId":"ASIA%016d","sessionToken":"IQoJb3JpZ2luX2VjEKH//////////wEaCXVzLWVhc3QtMSJIMEYCIQDpLWjFwlZiDhOSv0Wy5mFb","expiration":"Jan 2, 2026, 1:00:00 PM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:s%d","arn":"arn:aws:sts::%s:assumed-role/deploy-%d/s%d"}}`, i, i, acct, i%5, i)
			}
		} else if i%3 == 0 {
			source, name, readOnly = "s3.amazonaws.com", "GetObject", true
			req = fmt.Sprintf(`{"bucketName":"data-%d","Host":"data-%d.s3.us-east-1.amazonaws.com","key":"reports/2026/01/part-%05d.parquet"}`, i%13, i%13, i)
			resp = "null"
		} else {
			source, name, readOnly = "ec2.amazonaws.com", "DescribeInstances", true
			req = fmt.Sprintf(`{"instancesSet":{"items":[{"instanceId":"i-%017x"}]},"filterSet":{}}`, i)
			resp = "null"
		}
		var ident string
		if a.typ == "AssumedRole" {
			ident = fmt.Sprintf(`{"type":"AssumedRole","principalId":"%s","arn":"%s","accountId":"%s","accessKeyId":"ASIAEXAMPLE%09d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}}`,
				a.principalID, a.arn, acct, i, a.principalID, acct, a.name, acct, a.name, ts)
		} else {
			ident = fmt.Sprintf(`{"type":"IAMUser","principalId":"%s","arn":"%s","accountId":"%s","accessKeyId":"AKIAEXAMPLE%09d","userName":"%s"}`,
				a.principalID, a.arn, acct, i, a.name)
		}
		_, err := fmt.Fprintf(cw, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"10.%d.%d.%d","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/%s#1.0","requestParameters":%s,"responseElements":%s,"requestID":"%08x-1111-2222-3333-444455556666","eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s"}}`+"\n",
			ident, ts, source, name, i%256, (i/256)%256, i%7, name, req, resp, i, i, readOnly, acct, source)
		if err != nil {
			return cw.n, fmt.Errorf("write cloudtrail: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write cloudtrail: %w", err)
	}
	return cw.n, nil
}
