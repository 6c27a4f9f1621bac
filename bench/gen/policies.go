package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

type policyKind uint8

const (
	pkBoundary policyKind = iota
	pkS3
	pkDynamo
	pkECSDeploy
	pkLambdaDeploy
	pkAppRunnerDeploy
	pkBatchDeploy
	pkEKSAdmin
	pkAssumeJump
	pkReadOnly
	pkGuardrail
	pkPowerUserMFA
	pkECR
	pkSecrets
	pkSelfService
	numPolicyKinds
)

var policyKindNames = [numPolicyKinds]string{
	pkBoundary: "Boundary", pkS3: "S3Access", pkDynamo: "DynamoAccess", pkECSDeploy: "ECSDeploy",
	pkLambdaDeploy: "LambdaDeploy", pkAppRunnerDeploy: "AppRunnerDeploy", pkBatchDeploy: "BatchJobs",
	pkEKSAdmin: "EKSAccess", pkAssumeJump: "AssumeJump", pkReadOnly: "ReadOnly", pkGuardrail: "Guardrail",
	pkPowerUserMFA: "PowerUserMFA", pkECR: "ECRPush", pkSecrets: "Secrets", pkSelfService: "SelfService",
}

// Weights of customer policy kinds after the fixed first few (indexes
// follow policyKind; boundaries are placed, not drawn).
var policyKindWeights = [numPolicyKinds]int{
	pkS3: 23, pkDynamo: 9, pkECSDeploy: 8, pkLambdaDeploy: 6, pkAppRunnerDeploy: 2, pkBatchDeploy: 2,
	pkEKSAdmin: 2, pkAssumeJump: 5, pkReadOnly: 14, pkGuardrail: 7, pkPowerUserMFA: 3, pkECR: 6,
	pkSecrets: 6, pkSelfService: 3,
}

// The first customer policies after the boundaries have fixed kinds so that
// even a tiny organisation exercises every path the evaluator cares about.
var fixedPolicyKinds = []policyKind{pkECSDeploy, pkLambdaDeploy, pkAssumeJump, pkReadOnly, pkS3, pkGuardrail, pkSelfService, pkAppRunnerDeploy}

func (o *Org) policyKind(p int) policyKind {
	if p < o.nBoundary {
		return pkBoundary
	}
	if k := p - o.nBoundary; k < len(fixedPolicyKinds) {
		return fixedPolicyKinds[k]
	}
	return policyKind(Weighted(unit(o.hash(domPolicyKind, p)), policyKindWeights[:]))
}

// policyTeam is the team owning customer policy p (boundaries: team 0).
func (o *Org) policyTeam(p int) int {
	if p < o.nBoundary {
		return 0
	}
	return (p - o.nBoundary) % o.nTeams
}

func (o *Org) policyPath(p int) string {
	if o.policyKind(p) == pkBoundary {
		return "/boundaries/"
	}
	if o.hash(domPolicy, p, 3)%3 == 0 {
		return "/"
	}
	return "/teams/" + o.teamDept(o.policyTeam(p)) + "/"
}

func (o *Org) policyName(p int) string {
	k := o.policyKind(p)
	if k == pkBoundary {
		if p == 0 {
			return "DeveloperBoundary"
		}
		return "WorkloadBoundary-" + strconv.Itoa(p)
	}
	return fmt.Sprintf("%s-%s-%d", o.teamName(o.policyTeam(p)), policyKindNames[k], p)
}

func (o *Org) policyARN(p int) string { return o.arn("policy", o.policyPath(p), o.policyName(p)) }

func (o *Org) policyRef(p int) AttachedPolicy {
	return AttachedPolicy{PolicyName: o.policyName(p), PolicyArn: o.policyARN(p)}
}

// findPolicy returns a customer policy of kind k owned by team (or, when
// the team has none, any team's), starting at a pseudo-random position.
func (o *Org) findPolicy(k policyKind, team int, h uint64) (int, bool) {
	n := o.cfg.Policies
	if n == 0 {
		return 0, false
	}
	if k == pkBoundary {
		if o.nBoundary == 0 {
			return 0, false
		}
		return int(h % uint64(o.nBoundary)), true
	}
	if per := (n - o.nBoundary - team + o.nTeams - 1) / o.nTeams; per > 0 {
		start := int(h % uint64(per))
		for j := 0; j < per; j++ {
			p := o.nBoundary + team + ((start+j)%per)*o.nTeams
			if p < n && o.policyKind(p) == k {
				return p, true
			}
		}
	}
	start := int(h % uint64(n))
	for step := 0; step < min(n, 2000); step++ {
		p := (start + step) % n
		if o.policyKind(p) == k {
			return p, true
		}
	}
	return 0, false
}

// AWS managed policies every export carries (those in use). Indexes are
// referenced by the aws* constants.
const (
	awsAdmin = iota
	awsReadOnly
	awsViewOnly
	awsPowerUser
	awsECSFull
	awsLambdaFull
	awsAppRunnerFull
	awsS3ReadOnly
	awsECRPowerUser
	awsChangePassword
	awsECSTaskExecution
	awsLambdaBasic
	awsSSMCore
	awsECSServiceRole
	numAWSManaged
)

var awsManagedNames = [numAWSManaged][2]string{
	awsAdmin:            {"/", "AdministratorAccess"},
	awsReadOnly:         {"/", "ReadOnlyAccess"},
	awsViewOnly:         {"/job-function/", "ViewOnlyAccess"},
	awsPowerUser:        {"/", "PowerUserAccess"},
	awsECSFull:          {"/", "AmazonECS_FullAccess"},
	awsLambdaFull:       {"/", "AWSLambda_FullAccess"},
	awsAppRunnerFull:    {"/", "AWSAppRunnerFullAccess"},
	awsS3ReadOnly:       {"/", "AmazonS3ReadOnlyAccess"},
	awsECRPowerUser:     {"/", "AmazonEC2ContainerRegistryPowerUser"},
	awsChangePassword:   {"/", "IAMUserChangePassword"},
	awsECSTaskExecution: {"/service-role/", "AmazonECSTaskExecutionRolePolicy"},
	awsLambdaBasic:      {"/service-role/", "AWSLambdaBasicExecutionRole"},
	awsSSMCore:          {"/", "AmazonSSMManagedInstanceCore"},
	awsECSServiceRole:   {"/aws-service-role/", "AmazonECSServiceRolePolicy"},
}

func awsManagedARN(k int) string {
	return "arn:aws:iam::aws:policy" + awsManagedNames[k][0] + awsManagedNames[k][1]
}

// addAttached appends p unless it is already attached: IAM allows one
// attachment of a policy per entity.
func addAttached(list []AttachedPolicy, p AttachedPolicy) []AttachedPolicy {
	for _, x := range list {
		if x.PolicyArn == p.PolicyArn {
			return list
		}
	}
	return append(list, p)
}

func awsRef(k int) AttachedPolicy {
	return AttachedPolicy{PolicyName: awsManagedNames[k][1], PolicyArn: awsManagedARN(k)}
}

// readOnlyServices approximates the breadth of ReadOnlyAccess (the real
// document lists several hundred actions).
var readOnlyServices = []string{"acm", "apigateway", "application-autoscaling", "appsync", "athena", "autoscaling", "backup", "batch",
	"cloudformation", "cloudfront", "cloudtrail", "cloudwatch", "codebuild", "codecommit", "codedeploy", "codepipeline", "cognito-idp",
	"config", "dax", "directconnect", "dms", "ds", "dynamodb", "ec2", "ecr", "ecs", "eks", "elasticache", "elasticbeanstalk",
	"elasticfilesystem", "elasticloadbalancing", "elasticmapreduce", "es", "events", "firehose", "glacier", "glue", "guardduty", "iam",
	"inspector", "iot", "kafka", "kinesis", "kms", "lambda", "logs", "organizations", "rds", "redshift", "route53", "s3", "sagemaker",
	"secretsmanager", "securityhub", "ses", "sns", "sqs", "ssm", "states", "sts", "tag", "waf", "xray"}

func (o *Org) buildAWSManaged() []ManagedPolicy {
	var ro []string
	for _, s := range readOnlyServices {
		ro = append(ro, s+":Describe*", s+":Get*", s+":List*")
	}
	ro = append(ro, "s3:ListAllMyBuckets", "cloudwatch:BatchGet*", "logs:FilterLogEvents", "logs:StartQuery", "tag:Get*")
	var vo []string
	for _, s := range readOnlyServices[:40] {
		vo = append(vo, s+":List*", s+":Describe*")
	}
	docs := [numAWSManaged]*PolicyDoc{
		awsAdmin:    doc(Statement{Effect: "Allow", Action: "*", Resource: "*"}),
		awsReadOnly: doc(Statement{Sid: "ReadOnlyActions", Effect: "Allow", Action: ro, Resource: "*"}),
		awsViewOnly: doc(Statement{Effect: "Allow", Action: vo, Resource: "*"}),
		awsPowerUser: doc(
			Statement{Effect: "Allow", NotAction: []string{"iam:*", "organizations:*", "account:*"}, Resource: "*"},
			Statement{Effect: "Allow", Action: []string{"account:GetAccountInformation", "account:ListRegions", "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeOrganization"}, Resource: "*"}),
		awsECSFull: doc(
			Statement{Sid: "ECSIntegrationsManagementPolicy", Effect: "Allow", Action: []string{"application-autoscaling:*", "cloudwatch:*", "ecs:*", "elasticloadbalancing:*", "logs:CreateLogGroup", "servicediscovery:*"}, Resource: "*"},
			Statement{Sid: "PassRoleToECS", Effect: "Allow", Action: "iam:PassRole", Resource: "*", Condition: cond("StringLike", "iam:PassedToService", "ecs-tasks.amazonaws.com")},
			Statement{Sid: "ServiceLinkedRole", Effect: "Allow", Action: "iam:CreateServiceLinkedRole", Resource: "*", Condition: cond("StringLike", "iam:AWSServiceName", []string{"ecs.amazonaws.com", "autoscaling.amazonaws.com"})}),
		awsLambdaFull: doc(
			Statement{Effect: "Allow", Action: []string{"cloudformation:DescribeStacks", "cloudwatch:ListMetrics", "ec2:DescribeSubnets", "kms:ListAliases", "lambda:*", "logs:DescribeLogGroups", "states:DescribeStateMachine"}, Resource: "*"},
			Statement{Effect: "Allow", Action: "iam:PassRole", Resource: "*", Condition: cond("StringEquals", "iam:PassedToService", "lambda.amazonaws.com")}),
		awsAppRunnerFull: doc(
			Statement{Effect: "Allow", Action: "apprunner:*", Resource: "*"},
			Statement{Effect: "Allow", Action: "iam:PassRole", Resource: "*", Condition: cond("StringLike", "iam:PassedToService", "apprunner.amazonaws.com")}),
		awsS3ReadOnly: doc(Statement{Effect: "Allow", Action: []string{"s3:Get*", "s3:List*", "s3-object-lambda:Get*", "s3-object-lambda:List*"}, Resource: "*"}),
		awsECRPowerUser: doc(Statement{Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
			"ecr:GetRepositoryPolicy", "ecr:DescribeRepositories", "ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:InitiateLayerUpload",
			"ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"}, Resource: "*"}),
		awsChangePassword: doc(
			Statement{Effect: "Allow", Action: "iam:ChangePassword", Resource: "arn:aws:iam::*:user/${aws:username}"},
			Statement{Effect: "Allow", Action: "iam:GetAccountPasswordPolicy", Resource: "*"}),
		awsECSTaskExecution: doc(Statement{Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"}, Resource: "*"}),
		awsLambdaBasic:      doc(Statement{Effect: "Allow", Action: []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, Resource: "*"}),
		awsSSMCore: doc(
			Statement{Effect: "Allow", Action: []string{"ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"}, Resource: "*"},
			Statement{Effect: "Allow", Action: []string{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}, Resource: "*"},
			Statement{Effect: "Allow", Action: []string{"ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"}, Resource: "*"}),
		awsECSServiceRole: doc(
			Statement{Sid: "ECSTaskManagement", Effect: "Allow", Action: []string{"ec2:AttachNetworkInterface", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:Describe*", "elasticloadbalancing:Describe*", "elasticloadbalancing:RegisterTargets", "route53:ChangeResourceRecordSets", "servicediscovery:RegisterInstance"}, Resource: "*"},
			Statement{Sid: "ManageLogs", Effect: "Allow", Action: []string{"logs:CreateLogGroup", "logs:PutRetentionPolicy"}, Resource: "arn:aws:logs:*:*:log-group:/aws/ecs/*"}),
	}
	out := make([]ManagedPolicy, numAWSManaged)
	for k := range out {
		r := o.rng(domPolicy, -1-k, 0, 0)
		created := randTime(r, 0, 1000)
		updated := created.Add(time.Duration(100+r.IntN(1500)) * 24 * time.Hour)
		n := 1 + r.IntN(6)
		vid := "v" + strconv.Itoa(n)
		out[k] = ManagedPolicy{
			PolicyName: awsManagedNames[k][1], PolicyID: o.uniqueID("ANPA", domPolicy+50, k, 0), Arn: awsManagedARN(k),
			Path: awsManagedNames[k][0], DefaultVersionID: vid, AttachmentCount: 1 + r.IntN(500), IsAttachable: true,
			CreateDate: created.Format("2006-01-02T15:04:05Z"), UpdateDate: updated.Format("2006-01-02T15:04:05Z"),
			PolicyVersionList: []PolicyVersion{{Document: Document{Policy: docs[k]}, VersionID: vid, IsDefaultVersion: true, CreateDate: updated.Format("2006-01-02T15:04:05Z")}},
		}
	}
	return out
}

func doc(st ...Statement) *PolicyDoc { return &PolicyDoc{Version: "2012-10-17", Statement: st} }

func cond(op, key string, val any) map[string]map[string]any {
	return map[string]map[string]any{op: {key: val}}
}

func mfaCond() map[string]map[string]any {
	return cond("Bool", "aws:MultiFactorAuthPresent", "true")
}

// subset returns 1..len(list) elements of list in their order, always
// including the first `keep`.
func subset(r *rand.Rand, list []string, keep int) []string {
	out := append([]string(nil), list[:keep]...)
	for _, s := range list[keep:] {
		if r.IntN(3) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// customerPolicy is customer managed policy p at the current churn round.
func (o *Org) customerPolicy(p int) ManagedPolicy {
	_, ver := o.state(domPolicy, p, false)
	k := o.policyKind(p)
	r := o.rng(domPolicy, p, 0, 0)
	style := dateStyle(r)
	created := randTime(r, 0, 3000)
	base := 1 + r.IntN(3)
	n := base + ver
	mp := ManagedPolicy{
		PolicyName: o.policyName(p), PolicyID: o.uniqueID("ANPA", domPolicy, p, 0), Arn: o.policyARN(p), Path: o.policyPath(p),
		DefaultVersionID: "v" + strconv.Itoa(n), AttachmentCount: 1 + r.IntN(60), IsAttachable: true,
		CreateDate: created.Format(style),
	}
	if k == pkBoundary {
		mp.PermissionsBoundaryUsageCount = 1 + r.IntN(300)
	}
	enc := docEncoding(r, 2, 0)
	for v := max(1, n-4); v <= n; v++ {
		at := created.Add(time.Duration(v-1) * 41 * 24 * time.Hour)
		mp.PolicyVersionList = append(mp.PolicyVersionList, PolicyVersion{
			Document: Document{Policy: o.policyDoc(p, k, v), Encoding: enc}, VersionID: "v" + strconv.Itoa(v),
			IsDefaultVersion: v == n, CreateDate: at.Format(style),
		})
	}
	// The CLI lists the default version first.
	last := len(mp.PolicyVersionList) - 1
	mp.PolicyVersionList[0], mp.PolicyVersionList[last] = mp.PolicyVersionList[last], mp.PolicyVersionList[0]
	mp.UpdateDate = created.Add(time.Duration(n-1) * 41 * 24 * time.Hour).Format(style)
	return mp
}

// policyDoc is version v of customer policy p.
func (o *Org) policyDoc(p int, k policyKind, v int) *PolicyDoc {
	r := o.rng(domPolicyDoc, p, 0, v)
	return o.kindDoc(r, k, o.policyTeam(p), o.hash(domPolicyDoc, p))
}

// kindDoc builds a document of kind k for a team; h picks referenced roles
// stably across versions. Resources are scoped to the team; only the
// platform team (0) uses account-wide wildcards.
func (o *Org) kindDoc(r *rand.Rand, k policyKind, team int, h uint64) *PolicyDoc {
	acct := o.cfg.Account
	tname := o.teamName(team)
	platform := team == 0
	iamARN := func(rest string) string { return "arn:aws:iam::" + acct + ":" + rest }
	region := pick(r, regions)
	passRole := func(path, service string, condPct int) Statement {
		st := Statement{Sid: "PassWorkloadRole", Effect: "Allow", Action: "iam:PassRole"}
		switch x := r.IntN(10); {
		case platform && x < 5:
			st.Resource = iamARN("role" + path + "*")
		case x < 6:
			st.Resource = iamARN("role" + path + tname + "-*")
		default:
			if rr, ok := o.findRoleFor(service, team, h); ok {
				st.Resource = o.roleARN(rr)
			} else {
				st.Resource = iamARN("role" + path + tname + "-*")
			}
		}
		if r.IntN(100) < condPct {
			st.Condition = cond("StringEquals", "iam:PassedToService", service)
		}
		return st
	}
	switch k {
	case pkBoundary:
		return doc(
			Statement{Sid: "AllowMostServices", Effect: "Allow", NotAction: []string{"iam:*", "organizations:*", "account:*"}, Resource: "*"},
			Statement{Sid: "AllowIAMRead", Effect: "Allow", Action: []string{"iam:Get*", "iam:List*", "iam:PassRole"}, Resource: []string{iamARN("role/app/*"), iamARN("role/ecs/*"), iamARN("role/lambda/*")}},
			Statement{Sid: "DenyBoundaryEscape", Effect: "Deny", Action: []string{"iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"}, Resource: "*"},
		)
	case pkS3:
		bucket := fmt.Sprintf("%s-%s-%d", tname, pick(r, apps), r.IntN(1000))
		d := doc(
			Statement{Sid: "ListBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::" + bucket},
			Statement{Sid: "ObjectAccess", Effect: "Allow", Action: subset(r, []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion", "s3:PutObjectAcl"}, 1), Resource: "arn:aws:s3:::" + bucket + "/*"},
		)
		if r.IntN(5) == 0 {
			d.Statement = append(d.Statement, Statement{Sid: "HomeDirectory", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject"}, Resource: "arn:aws:s3:::home-" + acct + "/${aws:username}/*"})
		}
		if r.IntN(8) == 0 {
			d.Statement = append(d.Statement, Statement{Sid: "DenyInsecureTransport", Effect: "Deny", Action: "s3:*", Resource: []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}, Condition: cond("Bool", "aws:SecureTransport", "false")})
		}
		return d
	case pkDynamo:
		table := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s-%s", region, acct, tname, pick(r, apps))
		return doc(Statement{Effect: "Allow", Action: subset(r, []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem", "dynamodb:Scan"}, 1), Resource: []string{table, table + "/index/*"}})
	case pkECSDeploy:
		res := any("*")
		if !platform || r.IntN(3) == 0 {
			res = []string{fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s-*", region, acct, tname), fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s-*:*", region, acct, tname), fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s-*/*", region, acct, tname)}
		}
		d := doc(
			Statement{Sid: "RegisterTaskDefinitions", Effect: "Allow", Action: []string{"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition"}, Resource: "*"},
			Statement{Sid: "RunContainers", Effect: "Allow", Action: subset(r, []string{"ecs:RunTask", "ecs:StartTask", "ecs:CreateService", "ecs:UpdateService", "ecs:Describe*", "ecs:List*"}, 1), Resource: res},
		)
		if r.IntN(6) != 0 {
			d.Statement = append(d.Statement, passRole("/ecs/", "ecs-tasks.amazonaws.com", 40))
		}
		if r.IntN(5) == 0 {
			d.Statement = append(d.Statement, Statement{Sid: "NoProdWithoutMFA", Effect: "Deny", Action: []string{"ecs:RunTask", "ecs:UpdateService"}, Resource: fmt.Sprintf("arn:aws:ecs:*:%s:cluster/prod-*", acct), Condition: cond("BoolIfExists", "aws:MultiFactorAuthPresent", "false")})
		}
		if !platform && r.IntN(5) == 0 {
			// Guardrail: whatever else allows PassRole, only the team's roles.
			d.Statement = append(d.Statement, Statement{Sid: "PassOnlyTeamRoles", Effect: "Deny", Action: "iam:PassRole",
				NotResource: []string{iamARN("role/ecs/" + tname + "-*"), iamARN("role/lambda/" + tname + "-*")}})
		}
		return d
	case pkLambdaDeploy:
		res := any(fmt.Sprintf("arn:aws:lambda:*:%s:function:%s-*", acct, tname))
		if platform && r.IntN(3) == 0 {
			res = "*"
		}
		d := doc(Statement{Sid: "ManageFunctions", Effect: "Allow", Action: subset(r, []string{"lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:GetFunction", "lambda:List*", "lambda:PublishVersion"}, 1), Resource: res})
		if r.IntN(5) != 0 {
			d.Statement = append(d.Statement, passRole("/lambda/", "lambda.amazonaws.com", 60))
		}
		return d
	case pkAppRunnerDeploy:
		return doc(
			Statement{Effect: "Allow", Action: subset(r, []string{"apprunner:CreateService", "apprunner:UpdateService", "apprunner:DescribeService", "apprunner:List*"}, 1), Resource: "*"},
			passRole("/apprunner/", "tasks.apprunner.amazonaws.com", 30),
		)
	case pkBatchDeploy:
		return doc(
			Statement{Effect: "Allow", Action: []string{"batch:RegisterJobDefinition", "batch:SubmitJob", "batch:Describe*", "batch:List*"}, Resource: "*"},
			passRole("/ecs/", "ecs-tasks.amazonaws.com", 0),
		)
	case pkEKSAdmin:
		cluster := fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s-*", region, acct, tname)
		return doc(Statement{Effect: "Allow", Action: subset(r, []string{"eks:DescribeCluster", "eks:ListClusters", "eks:CreateAccessEntry", "eks:AssociateAccessPolicy"}, 1), Resource: cluster})
	case pkAssumeJump:
		res := any(iamARN("role/jump/jump-" + tname + "-*"))
		if platform && r.IntN(2) == 0 {
			res = iamARN("role/jump/*")
		} else if rr, ok := o.findTeamRole(rkJump, team, h); ok && r.IntN(2) == 0 {
			res = o.roleARN(rr)
		}
		st := Statement{Sid: "AssumeJumpRole", Effect: "Allow", Action: "sts:AssumeRole", Resource: res}
		if r.IntN(3) == 0 {
			st.Condition = mfaCond()
		}
		return doc(st)
	case pkReadOnly:
		svcs := []string{"ec2", "cloudwatch", "logs", "rds", "elasticloadbalancing", "autoscaling", "sqs", "sns"}
		var acts []string
		for _, s := range svcs {
			if r.IntN(2) == 0 {
				acts = append(acts, s+":Describe*", s+":List*")
			}
		}
		acts = append(acts, "cloudwatch:GetMetricData", "tag:GetResources")
		return doc(Statement{Sid: "ReadOnly", Effect: "Allow", Action: acts, Resource: "*"})
	case pkGuardrail:
		d := doc(
			Statement{Sid: "DenyOutsideRegions", Effect: "Deny", NotAction: []string{"iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*", "route53:*"}, Resource: "*", Condition: cond("StringNotEquals", "aws:RequestedRegion", []string{"us-east-1", "eu-west-1"})},
			Statement{Sid: "DenyIAMUserChanges", Effect: "Deny", Action: []string{"iam:CreateUser", "iam:CreateAccessKey", "iam:AttachUserPolicy", "iam:PutUserPolicy"}, Resource: "*"},
		)
		if r.IntN(5) == 0 {
			d.Statement = append(d.Statement, Statement{Sid: "DenyContainerDeploys", Effect: "Deny", Action: []string{"ecs:RunTask", "ecs:StartTask", "ecs:CreateService", "lambda:CreateFunction", "apprunner:CreateService"}, Resource: "*"})
		}
		return d
	case pkPowerUserMFA:
		return doc(
			Statement{Sid: "PowerUserWithMFA", Effect: "Allow", NotAction: []string{"iam:*", "organizations:*", "account:*"}, Resource: "*", Condition: mfaCond()},
			Statement{Sid: "IAMRead", Effect: "Allow", Action: []string{"iam:Get*", "iam:List*"}, Resource: "*"},
		)
	case pkECR:
		repo := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s/*", region, acct, tname)
		return doc(
			Statement{Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*"},
			Statement{Effect: "Allow", Action: subset(r, []string{"ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"}, 2), Resource: repo},
		)
	case pkSecrets:
		return doc(
			Statement{Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, Resource: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s/*", region, acct, tname)},
			Statement{Effect: "Allow", Action: "kms:Decrypt", Resource: fmt.Sprintf("arn:aws:kms:%s:%s:key/%08x-0000-4000-8000-%012x", region, acct, r.Uint32(), r.Uint64()&0xffffffffffff), Condition: cond("StringEquals", "kms:ViaService", "secretsmanager."+region+".amazonaws.com")},
		)
	case pkSelfService:
		d := doc(
			Statement{Sid: "ManageOwnCredentials", Effect: "Allow", Action: []string{"iam:ChangePassword", "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:GetUser"}, Resource: "arn:aws:iam::*:user/${aws:username}"},
			Statement{Sid: "ManageOwnMFA", Effect: "Allow", Action: []string{"iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ResyncMFADevice"}, Resource: []string{"arn:aws:iam::*:mfa/${aws:username}", "arn:aws:iam::*:user/${aws:username}"}},
		)
		if r.IntN(3) == 0 {
			// AWS's "force MFA" example: everything else is denied without MFA,
			// which makes every allow of its holders conditional.
			d.Statement = append(d.Statement, Statement{Sid: "DenyAllExceptListedIfNoMFA", Effect: "Deny", NotAction: []string{"iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"}, Resource: "*", Condition: cond("BoolIfExists", "aws:MultiFactorAuthPresent", "false")})
		}
		return d
	}
	panic(fmt.Sprintf("gen: policy kind %d", k))
}
