package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the bootstrap's Pulumi project name (bootstrap/Pulumi.yaml);
// its configuration keys are `platform-bootstrap:<name>`.
const Project = "platform-bootstrap"

// KnownKeys are the configuration keys Run reads, without the project
// prefix.
var KnownKeys = []string{
	"stateBucketName", "namePrefix", "secretsKeyAlias", "noncurrentVersionDays",
	"githubRepository", "githubOidcProviderArn", "environments", "previewEnvironments", "platformProject", "deployPolicyArns", "tags",
}

// ConfigSource is where Run reads configuration (the Pulumi context, or a
// map in tests).
type ConfigSource func(key string) (string, bool)

// LoadArgs reads the bootstrap stack's configuration into Args. Lists and
// maps are JSON, as the Pulumi engine passes them.
func LoadArgs(get ConfigSource) (*Args, error) {
	var errs []error
	str := func(name string) string {
		v, _ := get(Project + ":" + name)
		return strings.TrimSpace(v)
	}
	object := func(name string, into any, what string) {
		if v := str(name); v != "" {
			if err := json.Unmarshal([]byte(v), into); err != nil {
				errs = append(errs, fmt.Errorf("%s:%s %q: %s", Project, name, v, what))
			}
		}
	}
	region, _ := get("aws:region")
	a := &Args{
		Region:                strings.TrimSpace(region),
		BucketName:            str("stateBucketName"),
		NamePrefix:            str("namePrefix"),
		SecretsKeyAlias:       str("secretsKeyAlias"),
		GitHubRepository:      str("githubRepository"),
		GitHubOIDCProviderARN: str("githubOidcProviderArn"),
		PlatformProject:       str("platformProject"),
	}
	if v := str("noncurrentVersionDays"); v != "" {
		if _, err := fmt.Sscan(v, &a.NoncurrentVersionDays); err != nil {
			errs = append(errs, fmt.Errorf("%s:noncurrentVersionDays %q: a whole number of days", Project, v))
		}
	}
	object("environments", &a.Environments, "a list of GitHub environment names")
	object("previewEnvironments", &a.PreviewEnvironments, "a list of environments pull requests preview (a subset of environments)")
	object("deployPolicyArns", &a.DeployPolicyARNs, "a list of IAM policy ARNs")
	object("tags", &a.Tags, "a map of strings")
	if a.BucketName == "" {
		errs = append(errs, fmt.Errorf("%s:stateBucketName is required: a globally unique S3 bucket name", Project))
	}
	return a, errors.Join(errs...)
}

// Run is the bootstrap program (bootstrap/main.go): it builds the backend
// and exports what `pulumi login`, `pulumi stack init` and the GitHub
// workflows need.
func Run(ctx *pulumi.Context) error {
	args, err := LoadArgs(ctx.GetConfig)
	if err != nil {
		return err
	}
	b, err := NewBackend(ctx, "backend", args)
	if err != nil {
		return err
	}
	ctx.Export("bucketName", b.BucketName)
	ctx.Export("backendUrl", b.BackendURL)
	ctx.Export("stateKeyArn", b.StateKeyARN)
	ctx.Export("secretsKeyArns", b.SecretsKeyARNs)
	ctx.Export("secretsProviders", b.SecretsProviders)
	if args.GitHubRepository != "" {
		ctx.Export("githubOidcProviderArn", b.GitHubOIDCProviderARN)
		ctx.Export("previewRoleArn", b.PreviewRoleARN)
		ctx.Export("deployRoleArns", b.DeployRoleARNs)
	}
	return nil
}
