package backend

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cnplatform/platform/components/network"
	"github.com/cnplatform/platform/components/policydoc"
	"github.com/cnplatform/platform/policy"
)

// GitHubOIDCURL is the issuer of GitHub Actions' OIDC tokens.
const GitHubOIDCURL = "https://token.actions.githubusercontent.com"

// githubClaim prefixes the claims of GitHub's tokens in IAM conditions.
const githubClaim = "token.actions.githubusercontent.com"

// ReadOnlyAccess is the AWS managed policy the preview role holds: a
// preview reads the cloud, it never changes it.
const ReadOnlyAccess = "arn:aws:iam::aws:policy/ReadOnlyAccess"

// Defaults.
const (
	DefaultNamePrefix            = "platform"
	DefaultSecretsKeyAlias       = "platform-pulumi-secrets" // + "-<environment>"
	DefaultNoncurrentVersionDays = 90
	// DefaultPlatformProject is the platform's Pulumi project name (the
	// repository's Pulumi.yaml).
	DefaultPlatformProject = "platform"
	// keyDeletionWindowDays is the longest KMS allows: the time to notice a
	// scheduled deletion and cancel it before state becomes unreadable.
	keyDeletionWindowDays = 30
)

// DefaultEnvironments get a deploy role each when GitHub is configured.
var DefaultEnvironments = []string{"dev", "staging", "prod"}

// Args configure the backend.
type Args struct {
	// Region the bucket and keys live in (the aws:region of the bootstrap
	// stack); used in the backend and secrets provider URLs. Required.
	Region string
	// BucketName of the state bucket; globally unique. Required.
	BucketName string
	// NamePrefix of key aliases and role names. Default "platform".
	NamePrefix string
	// SecretsKeyAlias, without "alias/", prefixes the secrets provider keys,
	// one per environment: stack <env> uses
	// awskms://alias/<SecretsKeyAlias>-<env>. Default
	// "platform-pulumi-secrets".
	SecretsKeyAlias string
	// NoncurrentVersionDays a superseded state file is kept before S3
	// expires it. Default 90.
	NoncurrentVersionDays int
	// GitHubRepository ("org/repo") turns on the GitHub Actions OIDC roles.
	// Default "": no roles.
	GitHubRepository string
	// GitHubOIDCProviderARN reuses an account's existing GitHub OIDC
	// provider (an account holds one per issuer URL). Default "": create one
	// when GitHubRepository is set.
	GitHubOIDCProviderARN string
	// Environments get one secrets key each and, with GitHub, one deploy
	// role each, assumable only from a workflow job bound to the GitHub
	// environment of the same name. Default dev, staging, prod.
	Environments []string
	// PreviewEnvironments are the environments pull requests preview: the
	// preview role, which any branch of the repository can assume, may
	// decrypt their secrets and read their stacks' state, and no others'.
	// Default every environment but prod (prod's change is previewed by
	// its deploy job, behind the prod environment's approval).
	PreviewEnvironments []string
	// PlatformProject is the Pulumi project whose stacks (one per
	// environment, named after it) the preview role reads in the bucket.
	// Default [DefaultPlatformProject].
	PlatformProject string
	// DeployPolicyARNs are the managed policies each deploy role holds
	// besides state access. Required when GitHubRepository is set: the
	// platform creates VPCs, EKS and IAM roles, so choose them deliberately.
	DeployPolicyARNs []string
	// Tags added to every taggable resource, beside ManagedBy. Default none.
	Tags map[string]string
}

func (a *Args) withDefaults() Args {
	out := *a
	if out.NamePrefix == "" {
		out.NamePrefix = DefaultNamePrefix
	}
	if out.SecretsKeyAlias == "" {
		out.SecretsKeyAlias = DefaultSecretsKeyAlias
	}
	out.SecretsKeyAlias = strings.TrimPrefix(out.SecretsKeyAlias, "alias/")
	if out.NoncurrentVersionDays == 0 {
		out.NoncurrentVersionDays = DefaultNoncurrentVersionDays
	}
	if out.PlatformProject == "" {
		out.PlatformProject = DefaultPlatformProject
	}
	if len(out.Environments) == 0 {
		out.Environments = append([]string(nil), DefaultEnvironments...)
	}
	out.Environments = slices.Sorted(slices.Values(out.Environments))
	if out.PreviewEnvironments == nil {
		for _, e := range out.Environments {
			if e != "prod" {
				out.PreviewEnvironments = append(out.PreviewEnvironments, e)
			}
		}
	}
	return out
}

var (
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	aliasPattern  = regexp.MustCompile(`^[a-zA-Z0-9/_-]{1,250}$`)
	repoPattern   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	envPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)
	// projectPattern is a Pulumi project name (tokens.IsName).
	projectPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// validate returns every problem at once.
func (a *Args) validate() error {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("%s %q: %s", field, fmt.Sprint(value), allowed))
	}
	// The bootstrap writes arn:aws: ARNs too (its policies, the managed
	// policies it attaches): the platform's region rule.
	if err := network.CheckRegion(a.Region); err != nil {
		bad("aws:region", a.Region, err.Error())
	}
	if !bucketPattern.MatchString(a.BucketName) || strings.Contains(a.BucketName, "..") {
		bad("BucketName", a.BucketName, "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit")
	}
	if !prefixPattern.MatchString(a.NamePrefix) {
		bad("NamePrefix", a.NamePrefix, "a lowercase letter, then up to 30 lowercase letters, digits and hyphens")
	}
	if !aliasPattern.MatchString(a.SecretsKeyAlias) || strings.HasPrefix(a.SecretsKeyAlias, "aws/") {
		bad("SecretsKeyAlias", a.SecretsKeyAlias, "letters, digits, /, _ and -, not starting with aws/ (reserved for AWS)")
	}
	if a.NoncurrentVersionDays < 1 {
		bad("NoncurrentVersionDays", a.NoncurrentVersionDays, "1 or more days")
	}
	if !projectPattern.MatchString(a.PlatformProject) {
		bad("PlatformProject", a.PlatformProject, "a Pulumi project name: 1-100 letters, digits, _, . and -")
	}
	if a.GitHubRepository != "" || a.GitHubOIDCProviderARN != "" || len(a.DeployPolicyARNs) > 0 {
		if !repoPattern.MatchString(a.GitHubRepository) {
			bad("GitHubRepository", a.GitHubRepository, `"org/repo", required for the GitHub OIDC roles`)
		}
		if len(a.DeployPolicyARNs) == 0 {
			bad("DeployPolicyARNs", "[]", "at least one IAM policy ARN for the deploy roles")
		}
	}
	for _, p := range a.DeployPolicyARNs {
		if !strings.HasPrefix(p, "arn:aws:iam::") || !strings.Contains(p, ":policy/") {
			bad("DeployPolicyARNs", p, "an IAM policy ARN (arn:aws:iam::<account or aws>:policy/<name>)")
		}
	}
	if p := a.GitHubOIDCProviderARN; p != "" && !(strings.HasPrefix(p, "arn:aws:iam::") && strings.HasSuffix(p, ":oidc-provider/token.actions.githubusercontent.com")) {
		bad("GitHubOIDCProviderARN", p, "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com")
	}
	seen := map[string]bool{}
	for _, e := range a.Environments {
		if !envPattern.MatchString(e) || seen[e] {
			bad("Environments", e, "unique names of 1-20 lowercase letters, digits and hyphens")
		}
		seen[e] = true
	}
	for _, e := range a.PreviewEnvironments {
		if !seen[e] {
			bad("PreviewEnvironments", e, "one of Environments "+strings.Join(a.Environments, ", "))
		}
	}
	return errors.Join(errs...)
}

// Backend is the state and secrets backend.
type Backend struct {
	pulumi.ResourceState

	// BucketName of the state bucket.
	BucketName pulumi.StringOutput
	// BackendURL for `pulumi login` (awssdk=v2: the SDK that honours the
	// bucket's region and the runner's web-identity credentials).
	BackendURL pulumi.StringOutput
	// StateKeyARN encrypts the bucket's objects.
	StateKeyARN pulumi.StringOutput
	// SecretsKeyARNs maps an environment to the key that encrypts its
	// stack's secrets.
	SecretsKeyARNs pulumi.StringMapOutput
	// SecretsProviders maps an environment to the URL for `pulumi stack
	// init <env> --secrets-provider`.
	SecretsProviders pulumi.StringMapOutput
	// GitHubOIDCProviderARN (empty without GitHub).
	GitHubOIDCProviderARN pulumi.StringOutput
	// PreviewRoleARN is assumable from pull request workflows of the
	// repository (empty without GitHub).
	PreviewRoleARN pulumi.StringOutput
	// DeployRoleARNs maps an environment to its deploy role (empty without
	// GitHub).
	DeployRoleARNs pulumi.StringMapOutput
}

// NewBackend builds the state bucket, its key, the secrets key and, with
// GitHubRepository, the CI roles.
func NewBackend(ctx *pulumi.Context, name string, in *Args, opts ...pulumi.ResourceOption) (*Backend, error) {
	args := in.withDefaults()
	if err := args.validate(); err != nil {
		return nil, err
	}
	b := &Backend{}
	if err := ctx.RegisterComponentResource("platform:bootstrap:Backend", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	// Losing the bucket loses every stack's state; losing a key makes the
	// state or its secrets unreadable for good.
	protect := pulumi.Protect(true)

	// Keys with one job each: the state key is used by S3 on behalf of
	// whoever reads the bucket; each environment's secrets key is what its
	// stack names in awskms://, so a role that may decrypt dev's secrets
	// (the pull request preview role) cannot decrypt prod's. Key policies
	// are the AWS default (the account root, so IAM policies govern use):
	// never the * principal.
	stateKey, err := kms.NewKey(ctx, name+"-state", &kms.KeyArgs{
		Description:          pulumi.Sprintf("Pulumi state bucket %s encryption", args.BucketName),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(keyDeletionWindowDays),
		Tags:                 args.tags(name + "-state"),
	}, parent, protect)
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name+"-state", &kms.AliasArgs{
		Name:        pulumi.Sprintf("alias/%s-pulumi-state", args.NamePrefix),
		TargetKeyId: stateKey.KeyId,
	}, parent); err != nil {
		return nil, err
	}
	secretsKeys := map[string]*kms.Key{}
	keyARNs, providers := pulumi.StringMap{}, pulumi.StringMap{}
	for _, env := range args.Environments {
		key, err := kms.NewKey(ctx, name+"-secrets-"+env, &kms.KeyArgs{
			Description:          pulumi.Sprintf("Pulumi secrets provider (awskms://) of the platform's %s stack", env),
			EnableKeyRotation:    pulumi.Bool(true),
			DeletionWindowInDays: pulumi.Int(keyDeletionWindowDays),
			Tags:                 args.tags(name + "-secrets-" + env),
		}, parent, protect)
		if err != nil {
			return nil, err
		}
		// Protected too: stacks name the alias, not the key id.
		alias := args.SecretsKeyAlias + "-" + env
		if _, err := kms.NewAlias(ctx, name+"-secrets-"+env, &kms.AliasArgs{
			Name:        pulumi.String("alias/" + alias),
			TargetKeyId: key.KeyId,
		}, parent, protect); err != nil {
			return nil, err
		}
		secretsKeys[env] = key
		keyARNs[env] = key.Arn
		providers[env] = pulumi.Sprintf("awskms://alias/%s?region=%s", alias, args.Region)
	}

	bucketTags := args.tags(name + "-state")
	// Marks the bucket as a state backend for the baseline check S26.
	bucketTags[policy.StateBucketTag] = pulumi.String(policy.StateBucketPurpose)
	bucket, err := s3.NewBucketV2(ctx, name+"-state", &s3.BucketV2Args{
		Bucket:       pulumi.String(args.BucketName),
		ForceDestroy: pulumi.Bool(false),
		Tags:         bucketTags,
	}, parent, protect)
	if err != nil {
		return nil, err
	}
	bucketOpts := []pulumi.ResourceOption{parent, pulumi.DependsOn([]pulumi.Resource{bucket})}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-state", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, bucketOpts...); err != nil {
		return nil, err
	}
	publicAccess, err := s3.NewBucketPublicAccessBlock(ctx, name+"-state", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, bucketOpts...)
	if err != nil {
		return nil, err
	}
	// Versioning is the undo button for state: every update writes a new
	// version, and a bad one can be restored.
	versioning, err := s3.NewBucketVersioningV2(ctx, name+"-state", &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, bucketOpts...)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-state", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm:   pulumi.String("aws:kms"),
				KmsMasterKeyId: stateKey.Arn,
			},
			// One data key per bucket instead of a KMS call per object.
			BucketKeyEnabled: pulumi.Bool(true),
		}},
	}, bucketOpts...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-state", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-noncurrent-state"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			// Keep old versions for NoncurrentVersionDays, and always the
			// newest 10 whatever their age, so a rarely updated stack keeps
			// its history.
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays:          pulumi.Int(args.NoncurrentVersionDays),
				NewerNoncurrentVersions: pulumi.Int(10),
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(7),
			},
		}},
	}, append(bucketOpts, pulumi.DependsOn([]pulumi.Resource{versioning}))...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPolicy(ctx, name+"-state", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: policydoc.OnResource(bucket.Arn, TLSOnlyPolicy),
	}, append(bucketOpts, pulumi.DependsOn([]pulumi.Resource{publicAccess}))...); err != nil {
		return nil, err
	}

	b.BucketName = bucket.Bucket
	b.BackendURL = pulumi.Sprintf("s3://%s?region=%s&awssdk=v2", bucket.Bucket, args.Region)
	b.StateKeyARN = stateKey.Arn
	b.SecretsKeyARNs = keyARNs.ToStringMapOutput()
	b.SecretsProviders = providers.ToStringMapOutput()
	b.GitHubOIDCProviderARN = pulumi.String("").ToStringOutput()
	b.PreviewRoleARN = pulumi.String("").ToStringOutput()
	b.DeployRoleARNs = pulumi.StringMap{}.ToStringMapOutput()

	if args.GitHubRepository != "" {
		if err := b.githubRoles(ctx, name, args, bucket, stateKey, secretsKeys); err != nil {
			return nil, err
		}
	}

	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{
		"bucketName":            b.BucketName,
		"backendUrl":            b.BackendURL,
		"stateKeyArn":           b.StateKeyARN,
		"secretsKeyArns":        b.SecretsKeyARNs,
		"secretsProviders":      b.SecretsProviders,
		"githubOidcProviderArn": b.GitHubOIDCProviderARN,
		"previewRoleArn":        b.PreviewRoleARN,
		"deployRoleArns":        b.DeployRoleARNs,
	})
}

// githubRoles declares the GitHub OIDC provider (unless reused), a deploy
// role per environment and the pull request preview role.
func (b *Backend) githubRoles(ctx *pulumi.Context, name string, args Args, bucket *s3.BucketV2, stateKey *kms.Key, secretsKeys map[string]*kms.Key) error {
	parent := pulumi.Parent(b)
	providerARN := pulumi.String(args.GitHubOIDCProviderARN).ToStringOutput()
	if args.GitHubOIDCProviderARN == "" {
		// No thumbprint: AWS validates GitHub's certificate against its own
		// trusted CAs for this issuer.
		p, err := iam.NewOpenIdConnectProvider(ctx, name+"-github", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String(GitHubOIDCURL),
			ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
			Tags:          args.tags(name + "-github"),
		}, parent)
		if err != nil {
			return err
		}
		providerARN = p.Arn
	}
	b.GitHubOIDCProviderARN = providerARN

	// role makes a role for subject that may use the state key and the
	// secrets keys of envs.
	role := func(suffix, subject string, envs []string, managed []string, access func(bucketARN string, keyARNs []string) policydoc.Document) (*iam.Role, error) {
		r, err := iam.NewRole(ctx, name+"-"+suffix, &iam.RoleArgs{
			Name: pulumi.Sprintf("%s-%s", args.NamePrefix, suffix),
			AssumeRolePolicy: providerARN.ApplyT(func(arn string) string {
				return GitHubTrustPolicy(arn, subject)
			}).(pulumi.StringOutput),
			// A first `up` of an environment (EKS, node groups, charts)
			// runs well past the default hour.
			MaxSessionDuration: pulumi.Int(MaxSessionSeconds),
			Tags:               args.tags(name + "-" + suffix),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicy(ctx, name+"-"+suffix+"-state", &iam.RolePolicyArgs{
			Role: r.Name,
			Policy: pulumi.All(bucket.Arn, stateKey.Arn, keysOf(secretsKeys, envs)).ApplyT(func(v []any) string {
				return access(v[0].(string), append([]string{v[1].(string)}, v[2].([]string)...)).JSON()
			}).(pulumi.StringOutput),
		}, parent); err != nil {
			return nil, err
		}
		for i, p := range managed {
			if _, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-%s-%d", name, suffix, i), &iam.RolePolicyAttachmentArgs{
				Role:      r.Name,
				PolicyArn: pulumi.String(p),
			}, parent); err != nil {
				return nil, err
			}
		}
		return r, nil
	}

	deploy := pulumi.StringMap{}
	envs := append([]string(nil), args.Environments...)
	sort.Strings(envs)
	for _, env := range envs {
		r, err := role("deploy-"+env, fmt.Sprintf("repo:%s:environment:%s", args.GitHubRepository, env), []string{env}, args.DeployPolicyARNs, StateReadWritePolicy)
		if err != nil {
			return err
		}
		deploy[env] = r.Arn
	}
	b.DeployRoleARNs = deploy.ToStringMapOutput()

	previewAccess := func(bucketARN string, keyARNs []string) policydoc.Document {
		return StatePreviewPolicy(bucketARN, args.PlatformProject, args.PreviewEnvironments, keyARNs)
	}
	preview, err := role("preview", fmt.Sprintf("repo:%s:pull_request", args.GitHubRepository), args.PreviewEnvironments, []string{ReadOnlyAccess}, previewAccess)
	if err != nil {
		return err
	}
	b.PreviewRoleARN = preview.Arn
	return nil
}

// keysOf is the ARNs of the secrets keys of envs, in order.
func keysOf(keys map[string]*kms.Key, envs []string) pulumi.StringArrayOutput {
	var arns pulumi.StringArray
	for _, e := range envs {
		arns = append(arns, keys[e].Arn)
	}
	return arns.ToStringArrayOutput()
}

// MaxSessionSeconds is the deploy and preview roles' longest session; the
// workflows ask for it with role-duration-seconds.
const MaxSessionSeconds = 7200

// GitHubTrustPolicy lets exactly one GitHub Actions subject (one
// repository's environment, or its pull requests) assume a role.
func GitHubTrustPolicy(providerARN, subject string) string {
	return policydoc.New(policydoc.Statement{
		Effect:    "Allow",
		Principal: map[string]any{"Federated": providerARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]string{"StringEquals": {
			githubClaim + ":aud": "sts.amazonaws.com",
			githubClaim + ":sub": subject,
		}},
	}).JSON()
}

// TLSOnlyPolicy denies every request to the bucket that does not use TLS.
func TLSOnlyPolicy(bucketARN string) policydoc.Document {
	return policydoc.New(policydoc.Statement{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"s3:*"},
		Resource:  []string{bucketARN, bucketARN + "/*"},
		Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
	})
}

var kmsUse = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"}

// StateReadWritePolicy lets a deploy role read and write stack state and
// use both keys.
func StateReadWritePolicy(bucketARN string, keyARNs []string) policydoc.Document {
	return policydoc.New(
		policydoc.Allow([]string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"}, bucketARN),
		policydoc.Allow([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, bucketARN+"/*"),
		policydoc.Allow(kmsUse, keyARNs...),
	)
}

// StatePreviewPolicy lets the preview role read what `pulumi preview` of
// project's stacks envs reads in the state bucket (diylayout.go) and use
// the keys, and denies it every other object of the bucket: other stacks'
// checkpoints (prod's), history, backups and locks, and the bootstrap's
// own state. A preview writes nothing: the DIY backend takes no lock for
// it (diylayout.go), so the role needs, and gets, no PutObject or
// DeleteObject at all.
//
// The Deny statements are what scope it: the role also holds
// ReadOnlyAccess, whose "s3:Get*" and "s3:List*" on "*" would otherwise
// read every object in the account (iann0036/iam-dataset,
// aws/managedpolicies/ReadOnlyAccess.json), and an explicit Deny overrides
// any Allow. The object Deny uses NotResource, so it also keeps the role
// from reading objects of the account's other buckets: a role any branch
// can assume should not read them, and a preview never does.
//
// Listing is denied outside the keys read (s3:prefix; a request without a
// prefix lists the bucket and is denied too). The CLI's login also lists
// .pulumi/stacks/ to warn about legacy stack files and ignores a refusal
// (pkg/backend/diy/backend.go:386-390).
func StatePreviewPolicy(bucketARN, project string, envs []string, keyARNs []string) policydoc.Document {
	keys := []string{diyMetaKey()}
	for _, env := range envs {
		keys = append(keys, previewReadKeys(project, env)...)
	}
	objects := make([]string, len(keys))
	for i, k := range keys {
		objects[i] = bucketARN + "/" + k
	}
	return policydoc.New(
		policydoc.Allow([]string{"s3:GetBucketLocation"}, bucketARN),
		policydoc.Statement{
			Sid: "ListPreviewStacks", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN},
			ConditionLists: map[string]map[string][]string{"StringLike": {"s3:prefix": keys}},
		},
		policydoc.Statement{Sid: "ReadPreviewStacks", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: objects},
		policydoc.Statement{
			Sid: "DenyListingOtherStacks", Effect: "Deny", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN},
			ConditionLists: map[string]map[string][]string{"StringNotLike": {"s3:prefix": keys}},
		},
		policydoc.Statement{
			Sid: "DenyVersionAndUploadListings", Effect: "Deny",
			Action:   []string{"s3:ListBucketVersions", "s3:ListBucketMultipartUploads"},
			Resource: []string{bucketARN},
		},
		policydoc.Statement{
			Sid: "DenyOtherObjects", Effect: "Deny",
			Action:      []string{"s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListMultipartUploadParts", "s3:RestoreObject"},
			NotResource: objects,
		},
		policydoc.Allow(kmsUse, keyARNs...),
	)
}

func (a *Args) tags(name string) pulumi.StringMap {
	m := pulumi.StringMap{"Name": pulumi.String(name), "ManagedBy": pulumi.String("pulumi"), "Project": pulumi.String("platform-bootstrap")}
	for k, v := range a.Tags {
		m[k] = pulumi.String(v)
	}
	return m
}
