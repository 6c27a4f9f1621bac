package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
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
	// default 20, negative: none. The rest are read-only describes and S3
	// reads. Ignored when Mix is set.
	AttackEvery int
	Start       time.Time
	Seed        uint64
	// Actors is the number of distinct users and roles drawn from the
	// organisation (default 1000).
	Actors int
	// Mix, when not nil, replaces AttackEvery: the share of event slots
	// that start an attack of each kind (CloudTrailAttackKinds). An empty,
	// non-nil mix means no attacks. A nil Mix keeps the AttackEvery stream
	// byte for byte.
	Mix AttackMix
	// ScenarioGap is the event time between the discovery burst and the
	// deploy of a "scenario" attack (default 5 minutes; R10 correlates them
	// within 2 hours).
	ScenarioGap time.Duration
}

// ctKinds are the CloudTrail attack kinds; the first six are the single
// calls AttackEvery cycles through, in that order.
var ctKinds = []string{"run-task", "add-user-to-group", "attach-user-policy", "create-access-key", "update-function-code", "assume-role", "discovery", "scenario"}

const (
	ctKindDiscovery = 6
	ctKindScenario  = 7
)

// CloudTrailAttackKinds lists the attack kinds an AttackMix may name for
// WriteCloudTrail: the six single calls AttackEvery cycles through
// (run-task, add-user-to-group, attach-user-policy, create-access-key,
// update-function-code, assume-role), "discovery" (a burst of 12 IAM reads
// within about half a minute: R01) and "scenario" (8 IAM reads, then after
// ScenarioGap a RunTask by the same principal: R10).
func CloudTrailAttackKinds() []string { return slices.Clone(ctKinds) }

// ctActor is one user or role session of the organisation.
type ctActor struct{ arn, principalID, typ, name string }

// ctRec is one CloudTrail call; the slot it lands on gives its time and ids.
type ctRec struct {
	a                       ctActor
	source, name, req, resp string
	readOnly                bool
}

// WriteCloudTrail writes c.Events CloudTrail records as JSON lines (about
// 1.3 KB each, like real management events). The same organisation and
// config give the same bytes.
func (o *Org) WriteCloudTrail(w io.Writer, c CloudTrailConfig) (int64, error) {
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.AttackEvery == 0 {
		c.AttackEvery = 20
	}
	if c.Actors <= 0 {
		c.Actors = 1000
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	acct := o.Account()
	var actors []ctActor
	r := rand.New(rand.NewPCG(c.Seed, 0xc10d7a11))
	for i := 0; i < c.Actors; i++ {
		if i%4 == 3 && o.cfg.Roles > 0 {
			role := o.Role(r.IntN(o.cfg.Roles))
			actors = append(actors, ctActor{
				arn:         fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/session-%d", acct, role.RoleName, i),
				principalID: role.RoleID + ":session-" + fmt.Sprint(i), typ: "AssumedRole", name: role.RoleName})
			continue
		}
		u := o.User(r.IntN(o.cfg.Users))
		actors = append(actors, ctActor{arn: u.Arn, principalID: u.UserID, typ: "IAMUser", name: u.UserName})
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countingWriter{w: bw}
	var err error
	if c.Mix != nil || c.AttackEvery < 0 {
		err = o.writeCloudTrailMix(cw, c, r, actors)
	} else {
		step := time.Duration(float64(time.Second) / c.Rate)
		for i := 0; i < c.Events && err == nil; i++ {
			a := actors[r.IntN(len(actors))]
			ts := c.Start.Add(time.Duration(i) * step).Format(time.RFC3339)
			var rec ctRec
			if i%c.AttackEvery == 0 {
				rec = ctAttack((i/c.AttackEvery)%6, i, a, actors, acct, ts)
			} else {
				rec = ctBenign(i, a)
			}
			err = writeCTRecord(cw, &rec, i, ts, acct)
		}
	}
	if err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write cloudtrail: %w", err)
	}
	return cw.n, nil
}

// ctAttack is the single call of attack kind k (0-5) at slot i.
func ctAttack(k, i int, a ctActor, actors []ctActor, acct, ts string) ctRec {
	rec := ctRec{a: a}
	switch k {
	case 0:
		rec.source, rec.name = "ecs.amazonaws.com", "RunTask"
		rec.req = fmt.Sprintf(`{"cluster":"prod","count":1,"launchType":"FARGATE","taskDefinition":"arn:aws:ecs:us-east-1:%s:task-definition/app:%d","overrides":{"taskRoleArn":"arn:aws:iam::%s:role/admin-%d","containerOverrides":[{"name":"app","command":["sh","-c","curl http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}`, acct, i%9, acct, i%3)
		rec.resp = fmt.Sprintf(`{"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:%s:task/prod/%016x"}],"failures":[]}`, acct, i)
	case 1:
		rec.source, rec.name = "iam.amazonaws.com", "AddUserToGroup"
		rec.req = fmt.Sprintf(`{"groupName":"Administrators","userName":"%s"}`, a.name)
		rec.resp = "null"
	case 2:
		rec.source, rec.name = "iam.amazonaws.com", "AttachUserPolicy"
		rec.req = fmt.Sprintf(`{"userName":"%s","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, a.name)
		rec.resp = "null"
	case 3:
		rec.source, rec.name = "iam.amazonaws.com", "CreateAccessKey"
		rec.req = fmt.Sprintf(`{"userName":"%s"}`, actors[(i/7)%len(actors)].name)
		rec.resp = fmt.Sprintf(`{"accessKey":{"userName":"x","accessKeyId":"AKIA%016d","status":"Active","createDate":"%s"}}`, i, ts)
	case 4:
		rec.source, rec.name = "lambda.amazonaws.com", "UpdateFunctionCode20150331v2"
		rec.req = fmt.Sprintf(`{"functionName":"arn:aws:lambda:us-east-1:%s:function:app-%d","zipFile":"HIDDEN_DUE_TO_SECURITY_REASONS"}`, acct, i%17)
		rec.resp = "null"
	default:
		rec.source, rec.name = "sts.amazonaws.com", "AssumeRole"
		rec.req = fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/deploy-%d","roleSessionName":"s%d","durationSeconds":3600}`, acct, i%5, i)
		rec.resp = fmt.Sprintf(`{"credentials":{"accessKeyId":"ASIA%016d","sessionToken":"IQoJb3JpZ2luX2VjEKH//////////wEaCXVzLWVhc3QtMSJIMEYCIQDpLWjFwlZiDhOSv0Wy5mFb","expiration":"Jan 2, 2026, 1:00:00 PM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:s%d","arn":"arn:aws:sts::%s:assumed-role/deploy-%d/s%d"}}`, i, i, acct, i%5, i)
	}
	return rec
}

// ctBenign is the read-only call at slot i.
func ctBenign(i int, a ctActor) ctRec {
	if i%3 == 0 {
		return ctRec{a: a, source: "s3.amazonaws.com", name: "GetObject", readOnly: true, resp: "null",
			req: fmt.Sprintf(`{"bucketName":"data-%d","Host":"data-%d.s3.us-east-1.amazonaws.com","key":"reports/2026/01/part-%05d.parquet"}`, i%13, i%13, i)}
	}
	return ctRec{a: a, source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true, resp: "null",
		req: fmt.Sprintf(`{"instancesSet":{"items":[{"instanceId":"i-%017x"}]},"filterSet":{}}`, i)}
}

// writeCTRecord writes rec as the CloudTrail record of slot i at time ts.
func writeCTRecord(w io.Writer, rec *ctRec, i int, ts, acct string) error {
	a := rec.a
	var ident string
	if a.typ == "AssumedRole" {
		ident = fmt.Sprintf(`{"type":"AssumedRole","principalId":"%s","arn":"%s","accountId":"%s","accessKeyId":"ASIAEXAMPLE%09d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}}`,
			a.principalID, a.arn, acct, i, a.principalID, acct, a.name, acct, a.name, ts)
	} else {
		ident = fmt.Sprintf(`{"type":"IAMUser","principalId":"%s","arn":"%s","accountId":"%s","accessKeyId":"AKIAEXAMPLE%09d","userName":"%s"}`,
			a.principalID, a.arn, acct, i, a.name)
	}
	_, err := fmt.Fprintf(w, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"10.%d.%d.%d","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/%s#1.0","requestParameters":%s,"responseElements":%s,"requestID":"%08x-1111-2222-3333-444455556666","eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s"}}`+"\n",
		ident, ts, rec.source, rec.name, i%256, (i/256)%256, i%7, rec.name, rec.req, rec.resp, i, i, rec.readOnly, acct, rec.source)
	if err != nil {
		return fmt.Errorf("write cloudtrail: %w", err)
	}
	return nil
}

// writeCloudTrailMix is the stream with an attack mix (or none): each free
// slot draws its actor, then its attack kind; the later calls of discovery
// bursts and scenarios take the first slots at or after their time.
func (o *Org) writeCloudTrailMix(w io.Writer, c CloudTrailConfig, r *rand.Rand, actors []ctActor) error {
	ch, err := newChooser(ctKinds, c.Mix, c.AttackEvery)
	if err != nil {
		return fmt.Errorf("write cloudtrail: %w", err)
	}
	if c.ScenarioGap <= 0 {
		c.ScenarioGap = 5 * time.Minute
	}
	acct := o.Account()
	step := eventStep(c.Rate)
	q := &followUps[ctRec]{step: step}
	for i := 0; i < c.Events; i++ {
		ts := c.Start.Add(time.Duration(i) * step).Format(time.RFC3339)
		rec, ok := q.due(i)
		if !ok {
			a := actors[r.IntN(len(actors))]
			switch k := ch.slot(r, i, true); k {
			case -1:
				rec = ctBenign(i, a)
			case ctKindDiscovery, ctKindScenario:
				n := 12
				if k == ctKindScenario {
					n = 8
				}
				calls := o.ctDiscovery(r, a, n)
				rec = calls[0]
				var d time.Duration
				for _, call := range calls[1:] {
					d += jitter(r, 500*time.Millisecond, 4*time.Second)
					q.after(i, d, call)
				}
				if k == ctKindScenario {
					gap := c.ScenarioGap + jitter(r, 0, c.ScenarioGap/5+time.Second)
					q.after(i, gap, ctAttack(0, i, a, actors, acct, ts))
				}
			default:
				rec = ctAttack(k, i, a, actors, acct, ts)
			}
		} else {
			ch.slot(r, i, false)
		}
		if err := writeCTRecord(w, &rec, i, ts, acct); err != nil {
			return err
		}
	}
	return nil
}

// ctDiscovery is a burst of n IAM reads by a: groups of users, their
// policies, roles and policy versions (many targets, several actions).
func (o *Org) ctDiscovery(r *rand.Rand, a ctActor, n int) []ctRec {
	out := make([]ctRec, 0, n)
	for j := 0; j < n; j++ {
		rec := ctRec{a: a, source: "iam.amazonaws.com", readOnly: true, resp: "null"}
		user := o.User(r.IntN(o.cfg.Users)).UserName
		switch j % 6 {
		case 0:
			rec.name, rec.req = "ListGroupsForUser", `{"userName":"`+user+`"}`
		case 1:
			rec.name, rec.req = "ListAttachedUserPolicies", `{"userName":"`+user+`"}`
		case 2:
			rec.name, rec.req = "ListUserPolicies", `{"userName":"`+user+`"}`
		case 3:
			rec.name, rec.req = "ListRoles", `{"maxItems":1000}`
			if o.cfg.Roles > 0 {
				role := o.Role(r.IntN(o.cfg.Roles)).RoleName
				rec.name, rec.req = "ListAttachedRolePolicies", `{"roleName":"`+role+`"}`
			}
		case 4:
			p := o.ManagedPolicy(r.IntN(o.NumManagedPolicies()))
			rec.name, rec.req = "GetPolicyVersion", `{"policyArn":"`+p.Arn+`","versionId":"`+p.DefaultVersionID+`"}`
		default:
			g := o.Group(r.IntN(o.cfg.Groups))
			rec.name, rec.req = "GetGroup", `{"groupName":"`+g.GroupName+`"}`
		}
		out = append(out, rec)
	}
	return out
}
